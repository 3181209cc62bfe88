"""Decisions on measures: proposing one (with its legal basis, sealed rationale and dates), the
four-eyes approval or rejection by a supervisor, withdrawal by the proposer, and the approvals
queue. The rules themselves are ``triage.measures``; this module applies them to stored cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit, measures, sealed
from ..models import Case, Decision, Report, User, new_id
from ..vocab import CaseStatus, DecisionStatus, MeasureTier, Role, SourceKind, Verification
from .cases import (
    check_version,
    clean_text,
    flush_edit,
    get_case,
    require_open,
    scope_clause,
    utcnow,
)
from .claims import require_claim
from .errors import (
    ApproverNotSupervisor,
    CaseNotFound,
    DecisionNotFound,
    InvalidDecision,
    NotAwaitingApproval,
    NotYourProposal,
    ReasonRequired,
    SelfApprovalRefused,
    StaleEdit,
    UnverifiedCase,
)
from .rules import ReviewRules

#: Measures whose recorded wish (a key of a direct report's payload) the victim may have refused.
_WISH_KEYS = {"contact_victim": "may_contact", "refer_support": "consent_support_services"}


@dataclass(frozen=True)
class MeasureOption:
    """A measure as the proposal form offers it for this case: allowed or not, and whether it
    would wait for a supervisor (and why)."""

    measure: measures.Measure
    refused: str | None
    approval_because: tuple[str, ...]


def options_for(case_: Case) -> list[MeasureOption]:
    """Every measure of the catalogue, checked against the case's state (no reason needed yet)."""
    found = []
    for m in measures.MEASURES.values():
        try:
            check = measures.check_proposal(
                m,
                verification=case_.verification,
                victim_complaint=case_.victim_complaint,
                against_victim_wishes=False,
                reason="-",
            )
        except measures.UnverifiedSource:
            found.append(MeasureOption(m, "unverified", ()))
            continue
        found.append(MeasureOption(m, None, check.approval_because))
    return found


def _refused_wishes(session: Session, user: User, case_: Case, code: str) -> bool:
    """Whether a direct report on the case records that the victim refused this measure."""
    key = _WISH_KEYS.get(code)
    if key is None:
        return False
    for report in session.scalars(
        select(Report).where(
            Report.case_id == case_.id, Report.source_kind == SourceKind.DIRECT.value
        )
    ):
        try:
            payload = sealed.open_payload(
                session, report, actor=str(user.id), purpose="decision.check_wishes"
            )
        except sealed.PayloadShredded:
            continue
        if payload.get(key) is False:
            return True
    return False


def propose(
    session: Session,
    user: User,
    ref: str,
    *,
    version: int | None,
    measure: str,
    rationale: str,
    legal_basis: str | None = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
    follow_up_on: date | None = None,
    against_victim_wishes: bool = False,
    wishes_reason: str | None = None,
    today: date | None = None,
    now: datetime | None = None,
    rules: ReviewRules | None = None,
) -> Decision:
    """Propose a measure. Refused on an unverified case when it is aimed at the aggressor
    (``UnverifiedCase``); waits for a supervisor when coercive, or preventive without the
    victim's own complaint; needs a written reason when it goes against her recorded wishes
    (ticked by the reviewer, or recorded in a direct report) or when it is "no measure"."""
    now = now or utcnow()
    rules = rules or ReviewRules()
    today = today or now.date()
    found = get_case(session, user, ref)
    require_open(found)
    check_version(found, version)
    try:
        chosen = measures.get_measure(measure)
    except measures.UnknownMeasure:
        raise InvalidDecision("Choose a measure from the list.") from None
    rationale_text = clean_text(rationale, "rationale")
    basis = (legal_basis or "").strip()
    if len(basis) > 200:
        raise InvalidDecision("The legal basis is too long (at most 200 characters).")
    if chosen.aimed_at_aggressor and not basis:
        raise InvalidDecision("Give the legal basis (the article) for a measure on the aggressor.")
    require_claim(session, user, found, now=now, rules=rules)
    against = against_victim_wishes or _refused_wishes(session, user, found, chosen.code)
    reason = clean_text(wishes_reason, "reason", required=False)
    try:
        check = measures.check_proposal(
            chosen,
            verification=found.verification,
            victim_complaint=found.victim_complaint,
            against_victim_wishes=against,
            reason=reason if against else (reason or rationale_text),
        )
    except measures.UnverifiedSource:
        raise UnverifiedCase(
            "This measure is aimed at the alleged aggressor and the case is not corroborated. "
            "Record corroboration first; supportive measures for the victim are allowed now."
        ) from None
    except measures.ReasonRequired:
        raise ReasonRequired(
            "This measure goes against the victim's recorded wishes: write down why."
        ) from None

    start = starts_on or today
    end = ends_on or (measures.end_date_for(chosen, start) if chosen.has_end_date else None)
    if end is not None and end < start:
        raise InvalidDecision("The end date must not be before the start date.")
    follow_up = follow_up_on
    if follow_up is None and end is not None:
        follow_up = max(start, measures.follow_up_date(end, rules.follow_up_days))
    status = (
        DecisionStatus.AWAITING_APPROVAL if check.needs_supervisor else DecisionStatus.IN_EFFECT
    )
    decision = Decision(
        id=new_id(),
        case_id=found.id,
        measure=chosen.code,
        tier=chosen.tier.value,
        legal_basis=basis or None,
        starts_on=start,
        ends_on=end,
        follow_up_on=follow_up,
        status=status.value,
        approval_because=",".join(check.approval_because) or None,
        against_victim_wishes=against,
        proposed_by=user.id,
        proposed_at=now,
        payload_version=1,
    )
    session.add(decision)
    sealed.seal(
        session,
        decision,
        {"rationale": rationale_text, "wishes_reason": reason if against else None},
    )
    flush_edit(session)
    audit.append(
        session,
        actor=str(user.id),
        action="decision.proposed",
        object_type="decision",
        object_id=decision.id,
        details={
            "case_id": found.id,
            "measure": chosen.code,
            "tier": chosen.tier.value,
            "status": status.value,
            "approval_because": list(check.approval_because),
            "against_victim_wishes": against,
        },
    )
    return decision


def _decision(session: Session, user: User, decision_id: str) -> tuple[Decision, Case]:
    decision = session.get(Decision, decision_id) if decision_id else None
    if decision is None:
        raise DecisionNotFound()
    try:
        found = get_case(session, user, decision.case_id)
    except CaseNotFound:
        raise DecisionNotFound() from None
    return decision, found


def _approvable(
    session: Session, supervisor: User, decision_id: str, version: int | None
) -> tuple[Decision, Case]:
    decision, found = _decision(session, supervisor, decision_id)
    if decision.status != DecisionStatus.AWAITING_APPROVAL.value:
        raise NotAwaitingApproval("This proposal no longer waits for approval.")
    if version is None or int(version) != decision.version:
        raise StaleEdit("Someone else changed this proposal; reload the page.")
    try:
        measures.check_approver(decision.proposed_by, supervisor.id, supervisor.role)
    except measures.SelfApproval:
        raise SelfApprovalRefused(
            "Four eyes: another supervisor must approve your own proposal."
        ) from None
    except measures.ApproverNotSupervisor:
        raise ApproverNotSupervisor() from None
    return decision, found


def approve(
    session: Session,
    supervisor: User,
    decision_id: str,
    *,
    version: int | None,
    now: datetime | None = None,
) -> Decision:
    """A supervisor other than the proposer approves: the measure takes effect. Refused when
    the case was closed or lost its corroboration meanwhile."""
    now = now or utcnow()
    decision, found = _approvable(session, supervisor, decision_id, version)
    if found.status != CaseStatus.OPEN.value:
        raise NotAwaitingApproval("The case is closed.")
    tier = MeasureTier(decision.tier)
    if tier in measures.AIMED_AT_AGGRESSOR and found.verification != Verification.CORROBORATED:
        raise UnverifiedCase("The case is no longer corroborated; this measure cannot be approved.")
    decision.status = DecisionStatus.IN_EFFECT.value
    decision.approved_by = supervisor.id
    decision.approved_at = now
    flush_edit(session, "Someone else changed this proposal; reload the page.")
    audit.append(
        session,
        actor=str(supervisor.id),
        action="decision.approved",
        object_type="decision",
        object_id=decision.id,
        details={"case_id": found.id, "measure": decision.measure},
    )
    return decision


def reject(
    session: Session,
    supervisor: User,
    decision_id: str,
    *,
    version: int | None,
    reason: str,
    now: datetime | None = None,
) -> Decision:
    """A supervisor other than the proposer rejects, with a written (sealed) reason."""
    now = now or utcnow()
    text = clean_text(reason, "reason for the rejection")
    decision, found = _approvable(session, supervisor, decision_id, version)
    payload = sealed.open_payload(
        session, decision, actor=str(supervisor.id), purpose="decision.reject"
    )
    sealed.seal(session, decision, {**payload, "rejection_reason": text})
    decision.status = DecisionStatus.REJECTED.value
    decision.rejected_by = supervisor.id
    decision.rejected_at = now
    flush_edit(session, "Someone else changed this proposal; reload the page.")
    audit.append(
        session,
        actor=str(supervisor.id),
        action="decision.rejected",
        object_type="decision",
        object_id=decision.id,
        details={"case_id": found.id, "measure": decision.measure},
    )
    return decision


def withdraw(session: Session, user: User, decision_id: str, *, version: int | None) -> Decision:
    """The proposer takes back a proposal that still waits for approval."""
    decision, found = _decision(session, user, decision_id)
    if decision.proposed_by != user.id:
        raise NotYourProposal()
    if decision.status != DecisionStatus.AWAITING_APPROVAL.value:
        raise NotAwaitingApproval("Only a proposal that waits for approval can be withdrawn.")
    if version is None or int(version) != decision.version:
        raise StaleEdit("Someone else changed this proposal; reload the page.")
    decision.status = DecisionStatus.WITHDRAWN.value
    flush_edit(session, "Someone else changed this proposal; reload the page.")
    audit.append(
        session,
        actor=str(user.id),
        action="decision.withdrawn",
        object_type="decision",
        object_id=decision.id,
        details={"case_id": found.id, "reason": "by_proposer"},
    )
    return decision


@dataclass(frozen=True)
class ApprovalItem:
    decision: Decision
    case: Case
    proposer: str
    own: bool


def awaiting_approval(session: Session, supervisor: User) -> Sequence[ApprovalItem]:
    """Proposals in the supervisor's scope that wait for approval, oldest first; ``own`` marks
    the supervisor's own, which someone else must decide."""
    rows = session.execute(
        select(Decision, Case, User.username)
        .join(Case, Case.id == Decision.case_id)
        .join(User, User.id == Decision.proposed_by)
        .where(Decision.status == DecisionStatus.AWAITING_APPROVAL.value, scope_clause(supervisor))
        .order_by(Decision.proposed_at, Decision.id)
    ).all()
    return [ApprovalItem(d, c, name, d.proposed_by == supervisor.id) for d, c, name in rows]


def can_decide(user: User, decision: Decision) -> bool:
    return (
        decision.status == DecisionStatus.AWAITING_APPROVAL.value
        and user.role == Role.SUPERVISOR.value
        and measures.can_approve(decision.proposed_by, user.id, user.role)
    )


__all__ = [
    "ApprovalItem",
    "MeasureOption",
    "approve",
    "awaiting_approval",
    "can_decide",
    "options_for",
    "propose",
    "reject",
    "withdraw",
]
