"""Verification of media and online reports: an unverified case is corroborated (by what, with a
sealed note) or found unfounded (with a sealed reason; the case closes). Nothing aimed at the
alleged aggressor is allowed before corroboration (``decisions``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit, sealed
from ..errors import N_, InvalidInput
from ..models import (
    Case,
    CorroborationMethod,
    Decision,
    Report,
    User,
    VerificationOutcome,
    VerificationStep,
    new_id,
)
from ..vocab import DecisionStatus, Verification
from .cases import (
    CaseOutcome,
    check_version,
    clean_text,
    flush_edit,
    get_case,
    mark_closed,
    require_claim,
    require_open,
    utcnow,
)
from .decisions import audit_withdrawn
from .errors import AlreadyVerified
from .rules import ReviewRules


@dataclass(frozen=True)
class Finding:
    """What a reviewer found, checked: the outcome, how it was corroborated, the note."""

    outcome: VerificationOutcome
    method: CorroborationMethod | None
    note: str


def check_finding(case_: Case, *, outcome: str, method: str | None, note: str | None) -> Finding:
    """The form's finding, or the refusal: an outcome from the list, a method for a
    corroboration, a note (the reason, when unfounded), and a case not verified yet."""
    try:
        result = VerificationOutcome(outcome)
    except ValueError:
        raise InvalidInput(N_("Choose corroborated or unfounded.")) from None
    chosen: CorroborationMethod | None = None
    if result is VerificationOutcome.CORROBORATED:
        try:
            chosen = CorroborationMethod(method or "")
        except ValueError:
            raise InvalidInput(N_("Say how the report was corroborated.")) from None
        text = clean_text(note, "note on the corroboration")
    else:
        text = clean_text(note, "reason the report is unfounded")
    if case_.verification != Verification.UNVERIFIED.value:
        raise AlreadyVerified(
            N_("This case is already corroborated.")
            if case_.verification == Verification.CORROBORATED.value
            else N_("This case is already found unfounded.")
        )
    return Finding(result, chosen, text)


def add_step(
    session: Session,
    user: User,
    case_: Case,
    finding: Finding,
    *,
    now: datetime,
    flush: bool = True,
) -> VerificationStep:
    """The verification step, its note sealed (``flush`` as ``sealed.seal``)."""
    step = VerificationStep(
        id=new_id(),
        case_id=case_.id,
        outcome=finding.outcome.value,
        method=finding.method.value if finding.method else None,
        recorded_by=user.id,
        recorded_at=now,
        payload_version=1,
    )
    session.add(step)
    sealed.seal(session, step, {"note": finding.note}, flush=flush)
    return step


def mark_verified(case_: Case, reports: Iterable[Report], finding: Finding) -> None:
    """The case and its reports still unverified take the finding."""
    case_.verification = finding.outcome.value
    for report in reports:
        report.verification = finding.outcome.value


def audit_verified(
    session: Session,
    user: User,
    case_: Case,
    reports: Iterable[Report],
    step: VerificationStep,
) -> None:
    """One event per report verified, then the case's."""
    for report in reports:
        audit.append(
            session,
            actor=str(user.id),
            action="report.verified",
            object_type="report",
            object_id=report.id,
            details={
                "case_id": case_.id,
                "outcome": step.outcome,
                "method": step.method,
                "step_id": step.id,
            },
        )
    audit.append(
        session,
        actor=str(user.id),
        action="case.verified",
        object_type="case",
        object_id=case_.id,
        details={"outcome": step.outcome, "method": step.method, "step_id": step.id},
    )


def record_verification(
    session: Session,
    user: User,
    ref: str,
    *,
    version: int | None,
    outcome: str,
    method: str | None,
    note: str | None,
    now: datetime | None = None,
    rules: ReviewRules | None = None,
) -> VerificationStep:
    """Record corroboration (``method`` and a note) or an unfounded finding (a reason).

    Only an unverified case can be verified; an unfounded finding closes the case and withdraws
    any proposal still waiting for approval.
    """
    now = now or utcnow()
    found = get_case(session, user, ref)
    require_open(found)
    check_version(found, version)
    finding = check_finding(found, outcome=outcome, method=method, note=note)
    require_claim(session, user, found, now=now, rules=rules)

    step = add_step(session, user, found, finding, now=now)
    reports = session.scalars(
        select(Report).where(
            Report.case_id == found.id, Report.verification == Verification.UNVERIFIED.value
        )
    ).all()
    mark_verified(found, reports, finding)
    flush_edit(session)
    audit_verified(session, user, found, reports, step)
    if finding.outcome is VerificationOutcome.UNFOUNDED:
        for waiting in session.scalars(
            select(Decision).where(
                Decision.case_id == found.id,
                Decision.status == DecisionStatus.AWAITING_APPROVAL.value,
            )
        ):
            waiting.status = DecisionStatus.WITHDRAWN.value
            flush_edit(session)
            audit_withdrawn(session, user, waiting, "case_unfounded")
        mark_closed(session, user, found, CaseOutcome.UNFOUNDED, now=now)
    return step


__all__ = [
    "Finding",
    "add_step",
    "audit_verified",
    "check_finding",
    "mark_verified",
    "record_verification",
]
