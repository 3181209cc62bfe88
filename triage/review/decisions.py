"""Decisions on measures: proposing one (with its sealed legal basis and rationale, and bounded
dates), the four-eyes approval or rejection by a supervisor, withdrawal by the proposer, and the
approvals queue. The rules themselves are ``triage.measures``; this module applies them to stored
cases.

A measure never "ends" by a background job: a decision in effect whose ``ends_on`` is before today
*is* ended, computed on read (``Decision.status_on`` / ``Decision.shown_status``)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit, measures, sealed
from ..errors import N_
from ..legal import LegalGrounds
from ..models import Case, Decision, RecipientKind, Report, User, new_id
from ..vocab import CaseStatus, DecisionStatus, MeasureTier, Role, SourceKind, Verification
from . import consent
from .cases import (
    check_version,
    clean_text,
    flush_edit,
    get_case,
    require_claim,
    require_open,
    scope_clause,
    utcnow,
)
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

#: No measure starts before this day (a typo guard: triage holds nothing older).
EARLIEST_START = date(2000, 1, 1)
#: How far ahead a measure may be planned to start.
MAX_START_AHEAD = timedelta(days=365)
#: A typo guard for measures without a legal maximum term.
MAX_TERM_WITHOUT_LIMIT = timedelta(days=5 * 365)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year + years, day=28)


def legal_end_limit(measure: measures.Measure, starts_on: date) -> date | None:
    """The latest end date the law allows for ``measure`` starting on ``starts_on``, if it sets
    one: special requirements at most one year (Code of Administrative Offences, Article 54); a
    measure with a fixed (configured) term, such as a protective order, at most that term."""
    if measure.code == "special_requirements":
        return _add_years(starts_on, 1)
    if measure.default_duration is not None:
        return starts_on + measure.default_duration
    return None


def check_dates(
    measure: measures.Measure,
    *,
    starts_on: date | None,
    ends_on: date | None,
    follow_up_on: date | None,
    today: date,
    follow_up_days: int,
) -> tuple[date, date | None, date | None]:
    """The start, end and follow-up dates of a proposal, defaulted and bounded.

    The start defaults to today; it is not before 2000 nor more than a year ahead. A measure with
    an end date must have one (a protective order defaults to its configured term; a court's
    special requirements must be given). The end is after the start and not beyond the legal
    maximum where the law sets one. The follow-up defaults to ``follow_up_days`` before the end
    and lies between the start and the end."""
    start = starts_on or today
    if start < EARLIEST_START:
        raise InvalidDecision(N_("The start date is too far in the past (before 2000)."))
    if start > today + MAX_START_AHEAD:
        raise InvalidDecision(N_("The start date may be at most a year ahead."))
    end = ends_on
    if end is None and measure.has_end_date:
        end = measures.end_date_for(measure, start)
        if end is None:
            raise InvalidDecision(N_("Give the end date this measure was (or will be) set for."))
    if end is not None:
        if end <= start:
            raise InvalidDecision(N_("The end date must be after the start date."))
        limit = legal_end_limit(measure, start)
        if limit is not None and end > limit:
            raise InvalidDecision(
                N_(
                    "The end date is beyond the longest term the law allows for this measure "
                    "(at most %(limit)s for this start date)."
                ),
                limit=limit,
            )
        if limit is None and end > start + MAX_TERM_WITHOUT_LIMIT:
            raise InvalidDecision(N_("The end date is too far ahead (at most five years)."))
    follow_up = follow_up_on
    if follow_up is None and end is not None:
        follow_up = max(start, measures.follow_up_date(end, follow_up_days))
    if follow_up is not None:
        if follow_up < start:
            raise InvalidDecision(N_("The follow-up date must not be before the start date."))
        if end is not None and follow_up > end:
            raise InvalidDecision(N_("The follow-up date must not be after the end date."))
        if end is None and follow_up > start + MAX_TERM_WITHOUT_LIMIT:
            raise InvalidDecision(N_("The follow-up date is too far ahead (at most five years)."))
    return start, end, follow_up


def _refusal(value: object, reporter: object) -> bool:
    """Whether a recorded wish is the victim's refusal. Intake records "yes" / "no" / "unknown";
    older payloads hold booleans, where ``False`` may only mean "not asked" — it counts as her
    refusal only when she reported herself."""
    if isinstance(value, str):
        return value.strip().lower() == "no"
    return value is False and reporter == "victim"


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


def wishes_refuse(code: str, payloads: Iterable[Mapping[str, Any]]) -> bool:
    """Whether one of the direct reports' payloads records that the victim refused the measure
    ``code``. ``payloads`` is read only as far as needed (each is an audited read), and not at
    all for a measure she cannot have refused."""
    key = _WISH_KEYS.get(code)
    if key is None:
        return False
    return any(_refusal(p.get(key), p.get("reporter")) for p in payloads)


def _direct_payloads(session: Session, user: User, case_: Case) -> Iterator[Mapping[str, Any]]:
    for report in session.scalars(
        select(Report).where(
            Report.case_id == case_.id, Report.source_kind == SourceKind.DIRECT.value
        )
    ):
        try:
            yield sealed.open_payload(
                session, report, actor=str(user.id), purpose="decision.check_wishes"
            )
        except sealed.PayloadShredded:
            continue


def _refused_wishes(session: Session, user: User, case_: Case, code: str) -> bool:
    """Whether a direct report on the case records that the victim refused this measure."""
    return wishes_refuse(code, _direct_payloads(session, user, case_))


@dataclass(frozen=True)
class Proposal:
    """A proposal's form, checked against the catalogue and the dates the law allows."""

    measure: measures.Measure
    rationale: str
    legal_basis: str
    grounds: list[str]
    starts_on: date
    ends_on: date | None
    follow_up_on: date | None


def check_form(
    *,
    measure: str,
    rationale: str,
    grounds: Sequence[str],
    legal_basis: str | None,
    starts_on: date | None,
    ends_on: date | None,
    follow_up_on: date | None,
    today: date,
    rules: ReviewRules,
) -> Proposal:
    """``propose``'s checks of what was typed and chosen, before the case is looked at."""
    try:
        chosen = measures.get_measure(measure)
    except measures.UnknownMeasure:
        raise InvalidDecision(N_("Choose a measure from the list.")) from None
    rationale_text = clean_text(rationale, "rationale")
    basis = (legal_basis or "").strip()
    if len(basis) > 200:
        raise InvalidDecision(N_("The legal basis is too long (at most 200 characters)."))
    codes = list(dict.fromkeys(grounds))
    wrong = rules.legal.unknown_for(chosen.code, codes)
    if wrong:
        raise InvalidDecision(
            N_("%(grounds)s is not a legal ground of this measure: choose from its list."),
            grounds=", ".join(wrong),
        )
    if chosen.aimed_at_aggressor and not codes and not basis:
        raise InvalidDecision(
            N_(
                "Choose the legal grounds of a measure on the aggressor, or type the article "
                "if it is not on the list."
            )
        )
    start, end, follow_up = check_dates(
        chosen,
        starts_on=starts_on,
        ends_on=ends_on,
        follow_up_on=follow_up_on,
        today=today,
        follow_up_days=rules.follow_up_days,
    )
    return Proposal(chosen, rationale_text, basis, codes, start, end, follow_up)


def check_on_case(
    proposal: Proposal, case_: Case, *, against: bool, wishes_reason: str | None
) -> tuple[measures.ProposalCheck, str]:
    """The measure's rules on the case as it stands (``measures.check_proposal``), and the
    reason given for going against her wishes."""
    reason = clean_text(wishes_reason, "reason", required=False)
    try:
        check = measures.check_proposal(
            proposal.measure,
            verification=case_.verification,
            victim_complaint=case_.victim_complaint,
            against_victim_wishes=against,
            reason=reason if against else (reason or proposal.rationale),
        )
    except measures.UnverifiedSource:
        raise UnverifiedCase(
            N_(
                "This measure is aimed at the alleged aggressor and the case is not corroborated. "
                "Record corroboration first; supportive measures for the victim are allowed now."
            )
        ) from None
    except measures.ReasonRequired:
        raise ReasonRequired(
            N_("This measure goes against the victim's recorded wishes: write down why.")
        ) from None
    return check, reason


def add_decision(
    session: Session,
    user: User,
    case_: Case,
    proposal: Proposal,
    check: measures.ProposalCheck,
    *,
    against: bool,
    reason: str,
    now: datetime,
    flush: bool = True,
) -> Decision:
    """The proposed decision, its rationale, legal basis and reason sealed (``flush`` as
    ``sealed.seal``)."""
    chosen = proposal.measure
    status = (
        DecisionStatus.AWAITING_APPROVAL if check.needs_supervisor else DecisionStatus.IN_EFFECT
    )
    decision = Decision(
        id=new_id(),
        case_id=case_.id,
        measure=chosen.code,
        tier=chosen.tier.value,
        grounds=proposal.grounds,
        starts_on=proposal.starts_on,
        ends_on=proposal.ends_on,
        follow_up_on=proposal.follow_up_on,
        status=status.value,
        approval_because=",".join(check.approval_because) or None,
        against_victim_wishes=against,
        proposed_by=user.id,
        proposed_at=now,
        version=1,
        payload_version=1,
    )
    session.add(decision)
    sealed.seal(
        session,
        decision,
        {
            "rationale": proposal.rationale,
            "legal_basis": proposal.legal_basis or None,
            "wishes_reason": reason if against else None,
        },
        flush=flush,
    )
    return decision


def audit_proposed(
    session: Session, user: User, decision: Decision, check: measures.ProposalCheck
) -> None:
    audit.append(
        session,
        actor=str(user.id),
        action="decision.proposed",
        object_type="decision",
        object_id=decision.id,
        details={
            "case_id": decision.case_id,
            "measure": decision.measure,
            "tier": decision.tier,
            "grounds": list(decision.grounds or ()),
            "status": decision.status,
            "approval_because": list(check.approval_because),
            "against_victim_wishes": decision.against_victim_wishes,
        },
    )


def audit_decided(session: Session, actor: User, action: str, decision: Decision) -> None:
    """``decision.approved`` or ``decision.rejected``."""
    audit.append(
        session,
        actor=str(actor.id),
        action=action,
        object_type="decision",
        object_id=decision.id,
        details={"case_id": decision.case_id, "measure": decision.measure},
    )


def audit_withdrawn(session: Session, user: User, decision: Decision, reason: str) -> None:
    """``reason``: ``by_proposer``, or ``case_unfounded`` (verification withdrew it)."""
    audit.append(
        session,
        actor=str(user.id),
        action="decision.withdrawn",
        object_type="decision",
        object_id=decision.id,
        details={"case_id": decision.case_id, "reason": reason},
    )


def propose(
    session: Session,
    user: User,
    ref: str,
    *,
    version: int | None,
    measure: str,
    rationale: str,
    grounds: Sequence[str] = (),
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
    """Propose a measure on the legal ``grounds`` (codes of ``rules.legal`` offered for it) and a
    typed ``legal_basis`` addition for an article the list does not have; a measure aimed at the
    aggressor needs one or the other. Refused on an unverified case when it is aimed at the
    aggressor (``UnverifiedCase``), and when it shares the victim's data without her recorded yes
    (``ConsentRequired``); waits for a supervisor when coercive, or preventive without the
    victim's own complaint; needs a written reason when it goes against her recorded wishes
    (ticked by the reviewer, or recorded in a direct report) or when it is "no measure"."""
    now = now or utcnow()
    rules = rules or ReviewRules()
    today = today or now.date()
    found = get_case(session, user, ref)
    require_open(found)
    check_version(found, version)
    proposal = check_form(
        measure=measure,
        rationale=rationale,
        grounds=grounds,
        legal_basis=legal_basis,
        starts_on=starts_on,
        ends_on=ends_on,
        follow_up_on=follow_up_on,
        today=today,
        rules=rules,
    )
    require_claim(session, user, found, now=now, rules=rules)
    if proposal.measure.needs_victim_consent:
        consent.require(session, user, found, RecipientKind.SUPPORT)
    against = against_victim_wishes or _refused_wishes(session, user, found, proposal.measure.code)
    check, reason = check_on_case(proposal, found, against=against, wishes_reason=wishes_reason)
    decision = add_decision(
        session, user, found, proposal, check, against=against, reason=reason, now=now
    )
    flush_edit(session)
    audit_proposed(session, user, decision, check)
    return decision


def get_for(session: Session, user: User, decision_id: str) -> tuple[Decision, Case]:
    """The decision with this id and its case, if the case is in the user's scope;
    ``DecisionNotFound`` otherwise (a decision in another region looks like none at all)."""
    decision = session.get(Decision, decision_id) if decision_id else None
    if decision is None:
        raise DecisionNotFound()
    try:
        found = get_case(session, user, decision.case_id)
    except CaseNotFound:
        raise DecisionNotFound() from None
    return decision, found


def awaiting_for(session: Session, supervisor: User, decision_id: str) -> tuple[Decision, Case]:
    """A proposal in the supervisor's scope that waits for approval, and its case;
    ``DecisionNotFound`` otherwise."""
    decision, found = get_for(session, supervisor, decision_id)
    if decision.status != DecisionStatus.AWAITING_APPROVAL.value:
        raise DecisionNotFound(N_("No proposal waits for your decision here."))
    return decision, found


_STALE = N_("Someone else changed this proposal; reload the page.")


def check_decidable(supervisor: User, decision: Decision, version: int | None) -> None:
    """What approving and rejecting both need: a proposal still waiting, as the supervisor saw
    it, and four eyes (a supervisor other than the proposer)."""
    if decision.status != DecisionStatus.AWAITING_APPROVAL.value:
        raise NotAwaitingApproval(N_("This proposal no longer waits for approval."))
    if version is None or int(version) != decision.version:
        raise StaleEdit(_STALE)
    try:
        measures.check_approver(decision.proposed_by, supervisor.id, supervisor.role)
    except measures.SelfApproval:
        raise SelfApprovalRefused(
            N_("Four eyes: another supervisor must approve your own proposal.")
        ) from None
    except measures.ApproverNotSupervisor:
        raise ApproverNotSupervisor() from None


def check_approvable(decision: Decision, case_: Case, today: date) -> None:
    """What approving needs besides: the case open, corroborated for a measure on the
    aggressor, and the measure's end date not past."""
    if case_.status != CaseStatus.OPEN.value:
        raise NotAwaitingApproval(N_("The case is closed."))
    tier = MeasureTier(decision.tier)
    if tier in measures.AIMED_AT_AGGRESSOR and case_.verification != Verification.CORROBORATED:
        raise UnverifiedCase(
            N_("The case is no longer corroborated; this measure cannot be approved.")
        )
    if decision.ends_on is not None and decision.ends_on < today:
        raise NotAwaitingApproval(
            N_("This measure's end date has passed; propose it again with new dates.")
        )


def set_approved(decision: Decision, supervisor: User, now: datetime) -> None:
    decision.status = DecisionStatus.IN_EFFECT.value
    decision.approved_by = supervisor.id
    decision.approved_at = now


def seal_rejection(session: Session, supervisor: User, decision: Decision, reason: str) -> None:
    """The rejection's reason sealed beside the proposal's payload (an audited read), and the
    decision's columns set."""
    payload = sealed.open_payload(
        session, decision, actor=str(supervisor.id), purpose="decision.reject"
    )
    sealed.seal(session, decision, {**payload, "rejection_reason": reason})


def set_rejected(decision: Decision, supervisor: User, now: datetime) -> None:
    decision.status = DecisionStatus.REJECTED.value
    decision.rejected_by = supervisor.id
    decision.rejected_at = now


def check_withdrawable(user: User, decision: Decision, version: int | None) -> None:
    """Only the proposer takes back a proposal, while it waits, as she saw it."""
    if decision.proposed_by != user.id:
        raise NotYourProposal()
    if decision.status != DecisionStatus.AWAITING_APPROVAL.value:
        raise NotAwaitingApproval(N_("Only a proposal that waits for approval can be withdrawn."))
    if version is None or int(version) != decision.version:
        raise StaleEdit(_STALE)


def _approvable(
    session: Session, supervisor: User, decision_id: str, version: int | None
) -> tuple[Decision, Case]:
    decision, found = get_for(session, supervisor, decision_id)
    check_decidable(supervisor, decision, version)
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
    check_approvable(decision, found, now.date())
    set_approved(decision, supervisor, now)
    flush_edit(session, _STALE)
    audit_decided(session, supervisor, "decision.approved", decision)
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
    decision, _ = _approvable(session, supervisor, decision_id, version)
    seal_rejection(session, supervisor, decision, text)
    set_rejected(decision, supervisor, now)
    flush_edit(session, _STALE)
    audit_decided(session, supervisor, "decision.rejected", decision)
    return decision


def withdraw(session: Session, user: User, decision_id: str, *, version: int | None) -> Decision:
    """The proposer takes back a proposal that still waits for approval."""
    decision, _ = get_for(session, user, decision_id)
    check_withdrawable(user, decision, version)
    decision.status = DecisionStatus.WITHDRAWN.value
    flush_edit(session, _STALE)
    audit_withdrawn(session, user, decision, "by_proposer")
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
    "Proposal",
    "add_decision",
    "approve",
    "audit_decided",
    "audit_proposed",
    "audit_withdrawn",
    "awaiting_approval",
    "awaiting_for",
    "can_decide",
    "check_approvable",
    "check_dates",
    "check_decidable",
    "check_form",
    "check_on_case",
    "check_withdrawable",
    "get_for",
    "grounds_in_text",
    "legal_end_limit",
    "migrate_grounds",
    "options_for",
    "propose",
    "reject",
    "seal_rejection",
    "set_approved",
    "set_rejected",
    "wishes_refuse",
    "withdraw",
]


# -- decisions from before the grounds were structured -------------------------------------------

#: An article number as a typed legal basis cites it: "Article 54", "Art. 73", "ст. 461",
#: "статья 115-1", "54-бап", "54 бабы".
_ARTICLE = re.compile(
    r"(?:\b(?:article|art\.?|статья|статьи|статье|ст\.?)\s*(\d{1,4}(?:-\d{1,2})?))"
    r"|(?:\b(\d{1,4}(?:-\d{1,2})?)[\s-]*(?:бап|бабы|бабына)\b)",
    re.IGNORECASE,
)
#: How a typed basis names an act, by the act's code in the shipped grounds file.
_ACT_NAMES = {
    "coao": re.compile(r"administrative|коап|административн|әкімшілік|әқбтк", re.IGNORECASE),
    "cc": re.compile(r"criminal|\bук\b|уголовн|қылмыстық|\bқк\b", re.IGNORECASE),
    "ldv": re.compile(r"\blaw\b|закон|заң|бытового насилия|тұрмыстық", re.IGNORECASE),
}


def grounds_in_text(text: str, measure: str, legal: LegalGrounds) -> list[str]:
    """The grounds of ``measure`` that a typed legal basis cites, in the list's order: an article
    number that only one of the measure's grounds has, or, where several acts have it, the one
    whose act the text names."""
    articles = {a or b for a, b in _ARTICLE.findall(text)}
    named = {act for act, pattern in _ACT_NAMES.items() if pattern.search(text)}
    found = []
    for article in articles:
        candidates = [
            g for g in legal.for_measure(measure, include_retired=True) if g.article == article
        ]
        if len(candidates) > 1:
            candidates = [g for g in candidates if g.act.code in named]
        if len(candidates) == 1:
            found.append(candidates[0].code)
    order = list(legal.grounds)
    return sorted(found, key=order.index)


def migrate_grounds(session: Session, legal: LegalGrounds) -> int:
    """Give every decision from before the grounds were structured (``grounds`` is NULL) the
    grounds its typed legal basis cites (``grounds_in_text``); the typed text stays as the
    addition. Each decision read and changed is audited. Idempotent: returns how many changed."""
    changed = 0
    for decision in session.scalars(
        select(Decision).where(Decision.grounds.is_(None)).order_by(Decision.proposed_at)
    ):
        try:
            payload = sealed.open_payload(
                session, decision, actor=audit.SYSTEM_ACTOR, purpose="decision.migrate_grounds"
            )
        except sealed.PayloadShredded:
            payload = {}
        codes = grounds_in_text(str(payload.get("legal_basis") or ""), decision.measure, legal)
        decision.grounds = codes
        session.flush()
        audit.append(
            session,
            actor=audit.SYSTEM_ACTOR,
            action="decision.grounds_migrated",
            object_type="decision",
            object_id=decision.id,
            details={
                "case_id": decision.case_id,
                "measure": decision.measure,
                "grounds": list(codes),
            },
        )
        changed += 1
    return changed
