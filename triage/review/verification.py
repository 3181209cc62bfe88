"""Verification of media and online reports: an unverified case is corroborated (by what, with a
sealed note) or found unfounded (with a sealed reason; the case closes). Nothing aimed at the
alleged aggressor is allowed before corroboration (``decisions``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit, sealed
from ..errors import N_, InvalidInput
from ..models import (
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
from .errors import AlreadyVerified
from .rules import ReviewRules


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
    if found.verification != Verification.UNVERIFIED.value:
        raise AlreadyVerified(
            N_("This case is already corroborated.")
            if found.verification == Verification.CORROBORATED.value
            else N_("This case is already found unfounded.")
        )
    require_claim(session, user, found, now=now, rules=rules)

    step = VerificationStep(
        id=new_id(),
        case_id=found.id,
        outcome=result.value,
        method=chosen.value if chosen else None,
        recorded_by=user.id,
        recorded_at=now,
        payload_version=1,
    )
    session.add(step)
    sealed.seal(session, step, {"note": text})
    found.verification = result.value
    reports = session.scalars(
        select(Report).where(
            Report.case_id == found.id, Report.verification == Verification.UNVERIFIED.value
        )
    ).all()
    for report in reports:
        report.verification = result.value
    flush_edit(session)
    for report in reports:
        audit.append(
            session,
            actor=str(user.id),
            action="report.verified",
            object_type="report",
            object_id=report.id,
            details={
                "case_id": found.id,
                "outcome": result.value,
                "method": chosen.value if chosen else None,
                "step_id": step.id,
            },
        )
    audit.append(
        session,
        actor=str(user.id),
        action="case.verified",
        object_type="case",
        object_id=found.id,
        details={
            "outcome": result.value,
            "method": chosen.value if chosen else None,
            "step_id": step.id,
        },
    )
    if result is VerificationOutcome.UNFOUNDED:
        for waiting in session.scalars(
            select(Decision).where(
                Decision.case_id == found.id,
                Decision.status == DecisionStatus.AWAITING_APPROVAL.value,
            )
        ):
            waiting.status = DecisionStatus.WITHDRAWN.value
            flush_edit(session)
            audit.append(
                session,
                actor=str(user.id),
                action="decision.withdrawn",
                object_type="decision",
                object_id=waiting.id,
                details={"case_id": found.id, "reason": "case_unfounded"},
            )
        mark_closed(session, user, found, CaseOutcome.UNFOUNDED, now=now)
    return step


__all__ = ["record_verification"]
