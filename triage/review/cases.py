"""Cases as reviewers see them: the queue in priority order with its filters and counts, the case
page with its timeline (where review decrypts personal data), notes, closing, and the
provisional level and deadline that every new case gets.

Every read and write here is limited to the acting user's region scope: a case outside it is
reported as not found, so its existence does not leak across regions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select, true, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .. import audit, sealed
from ..errors import N_, InvalidInput
from ..models import (
    Assessment,
    Attachment,
    Case,
    CaseNote,
    Decision,
    NoteKind,
    Report,
    User,
    VerificationStep,
    new_id,
)
from ..scoring import is_overdue, provisional_level_from_signals, response_deadline
from ..vocab import (
    CaseStatus,
    DecisionStatus,
    Region,
    RiskLevel,
    ScreeningVerdict,
    SourceKind,
    Verification,
)
from .errors import CaseClosed, CaseNotFound, ClaimRequired, PendingDecisions, StaleEdit
from .rules import ReviewRules

PAGE_SIZE = 50
VIEW_PURPOSE = "case.view"
_MAX_TEXT = 20_000


class CaseOutcome(StrEnum):
    """How a case ended. ``unfounded`` is set by verification, never chosen when closing."""

    MEASURES_TAKEN = "measures_taken"
    NO_MEASURE_NEEDED = "no_measure_needed"
    REFERRED_ELSEWHERE = "referred_elsewhere"
    VICTIM_DECLINED = "victim_declined"
    DUPLICATE = "duplicate"
    UNFOUNDED = "unfounded"


#: Outcomes a reviewer may choose when closing a case by hand.
CLOSING_OUTCOMES = tuple(o for o in CaseOutcome if o is not CaseOutcome.UNFOUNDED)

#: Incident categories (DOMAIN.md) that stand for a screening signal of the provisional level.
_CATEGORY_SIGNALS = {
    "killing": "killing",
    "serious_harm": "injury",
    "minor_harm": "injury",
    "children": "children",
    "persecution": "stalking",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def rowcount(result: Any) -> int:
    """Rows an UPDATE matched: how a compare-and-set learns whether it won."""
    return int(result.rowcount)


# -- scope, lookup and guards ------------------------------------------------------------------


def scope_clause(user: User) -> ColumnElement[bool]:
    """Cases the user may see: all for an unscoped user; else those of their region."""
    if user.region is None:
        return true()
    return Case.region == user.region


def level_rank() -> ColumnElement[int]:
    return case(
        (Case.risk_level == RiskLevel.HIGH.value, 2),
        (Case.risk_level == RiskLevel.MEDIUM.value, 1),
        else_=0,
    )


def priority_order() -> tuple[Any, ...]:
    """The queue's order, in SQL: level (high first), nearest deadline, oldest first."""
    return (level_rank().desc(), Case.deadline_at.is_(None), Case.deadline_at, Case.opened_at)


def get_case(session: Session, user: User, ref: str) -> Case:
    """The case with this id or code, if it is in the user's scope; ``CaseNotFound`` otherwise."""
    ref = (ref or "").strip()
    if not ref or len(ref) > 36:
        raise CaseNotFound()
    column = Case.code if ref.upper().startswith("C-") else Case.id
    value = ref.upper() if column is Case.code else ref
    found = session.scalar(select(Case).where(column == value, scope_clause(user)))
    if found is None:
        raise CaseNotFound()
    return found


def check_version(case_: Case, expected: int | None) -> None:
    """Optimistic locking: the form's version must be the case's current one."""
    if expected is None or int(expected) != case_.version:
        raise StaleEdit()


def require_open(case_: Case) -> None:
    if case_.status != CaseStatus.OPEN.value:
        raise CaseClosed(N_("This case is closed; nothing more can be done on it."))


def flush_edit(session: Session, message: str = "") -> None:
    """Flush, turning a lost race on a version column into ``StaleEdit``."""
    try:
        session.flush()
    except StaleDataError:
        raise StaleEdit(message) from None


#: What ``clean_text`` says when a text is missing or too long, by what the text is: whole
#: sentences, so that Russian and Kazakh put each in their own grammar.
_TEXT_REFUSALS = {
    "note": (N_("Write the note."), N_("The note is too long (at most %(limit)d characters).")),
    "closing note": (
        N_("Write the closing note."),
        N_("The closing note is too long (at most %(limit)d characters)."),
    ),
    "follow-up note": (
        N_("Write the follow-up note."),
        N_("The follow-up note is too long (at most %(limit)d characters)."),
    ),
    "note on the corroboration": (
        N_("Write the note on the corroboration."),
        N_("The note on the corroboration is too long (at most %(limit)d characters)."),
    ),
    "reason the report is unfounded": (
        N_("Write the reason the report is unfounded."),
        N_("The reason the report is unfounded is too long (at most %(limit)d characters)."),
    ),
    "rationale": (
        N_("Write the rationale."),
        N_("The rationale is too long (at most %(limit)d characters)."),
    ),
    "reason": (
        N_("Write the reason."),
        N_("The reason is too long (at most %(limit)d characters)."),
    ),
    "reason for the rejection": (
        N_("Write the reason for the rejection."),
        N_("The reason for the rejection is too long (at most %(limit)d characters)."),
    ),
}
_ANY_TEXT = (N_("Write the text."), N_("The text is too long (at most %(limit)d characters)."))


def clean_text(value: str | None, what: str, *, required: bool = True) -> str:
    """``value`` stripped; refused if required and empty, or too long. ``what`` names the text
    (a key of ``_TEXT_REFUSALS``) so that the refusal is a whole sentence about it."""
    missing, too_long = _TEXT_REFUSALS.get(what, _ANY_TEXT)
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(missing)
    if len(text) > _MAX_TEXT:
        raise InvalidInput(too_long, limit=_MAX_TEXT)
    return text


def set_level(case_: Case, level: RiskLevel, rules: ReviewRules, *, provisional: bool) -> None:
    """Put ``level`` in force and move the response deadline with it (counted from opening)."""
    case_.risk_level = level.value
    case_.risk_provisional = provisional
    case_.deadline_at = response_deadline(level, case_.opened_at, rules.deadlines)


# -- triage of new cases -----------------------------------------------------------------------


def provisional_level(signals: Iterable[str], categories: Iterable[str] = ()) -> RiskLevel:
    """The provisional level from screening signals and from incident categories that stand for
    them (a killing is a high signal, a stalking category a medium one, …)."""
    kinds = set(signals) | {_CATEGORY_SIGNALS.get(c, c) for c in categories}
    return provisional_level_from_signals(sorted(kinds))


def triage_case(
    session: Session, case_: Case, level: RiskLevel, rules: ReviewRules, *, actor: str
) -> None:
    """Put ``level`` in force on ``case_`` with its response deadline (``set_level``; the case
    stays provisional as long as no checklist was scored) and record ``case.triaged``.

    The one place a case's provisional triage happens: intake calls it when a report is filed or
    linked, ``triage_new_cases`` for cases opened any other way. The caller makes sure nobody
    triages the same case at once (its transaction holds the case)."""
    set_level(case_, level, rules, provisional=case_.risk_provisional)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="case.triaged",
        object_type="case",
        object_id=case_.id,
        details={"level": level.value, "provisional": case_.risk_provisional},
    )


def raise_case(
    session: Session,
    case: Case,
    provisional: RiskLevel,
    verification: Verification,
    victim_complaint: bool,
    region: Region | None,
    rules: ReviewRules,
    *,
    actor: str,
) -> None:
    """A new report can make its case more urgent, corroborated or complained of; never less.

    While the case has no assessment its level is provisional: the new report's level raises it,
    and the response deadline (configured in review's rules) moves with it.
    """
    raise_level = RiskLevel(provisional).rank > RiskLevel(case.risk_level).rank
    if case.risk_provisional and (case.deadline_at is None or raise_level):
        level = provisional if raise_level else RiskLevel(case.risk_level)
        triage_case(session, case, level, rules, actor=actor)
    if (
        verification == Verification.CORROBORATED
        and case.verification == Verification.UNVERIFIED.value
    ):
        case.verification = verification.value
    if victim_complaint:
        case.victim_complaint = True
    if case.region is None and region is not None:
        case.region = region.value


def triage_new_cases(
    session: Session, *, now: datetime | None = None, rules: ReviewRules | None = None
) -> int:
    """Give every open case that has no deadline yet its provisional level and deadline.

    Intake triages the cases it opens as it files them; this is the fallback for cases opened
    outside intake (imports, demo data, older rows). It is idempotent and safe to run from
    several processes at once: on PostgreSQL the cases are locked with ``FOR UPDATE SKIP
    LOCKED`` (a case another process is triaging is left to it, and a case it finished no longer
    matches), and on SQLite the transaction holds the write lock from ``BEGIN IMMEDIATE``.
    """
    rules = rules or ReviewRules()
    query = select(Case).where(Case.status == CaseStatus.OPEN.value, Case.deadline_at.is_(None))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    pending = session.scalars(
        query.order_by(Case.opened_at, Case.id).execution_options(populate_existing=True)
    ).all()
    done = 0
    for found in pending:
        if found.deadline_at is not None:
            continue
        reports = session.scalars(select(Report).where(Report.case_id == found.id)).all()
        signals = [s for r in reports for s in (r.signals or [])]
        categories = [c for r in reports for c in (r.categories or [])]
        level = provisional_level(signals, categories) if found.risk_provisional else None
        level = level or RiskLevel(found.risk_level)
        triage_case(session, found, level, rules, actor=audit.SYSTEM_ACTOR)
        done += 1
    return done


# -- the queue ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilter:
    region: str | None = None
    source: str | None = None
    level: str | None = None
    verification: str | None = None
    overdue: bool = False
    mine: bool = False
    unclaimed: bool = False
    closed: bool = False
    page: int = 1


@dataclass(frozen=True)
class QueueRow:
    id: str
    code: str
    region: str | None
    sources: tuple[str, ...]
    level: str
    provisional: bool
    verification: str
    status: str
    opened_at: datetime
    age: timedelta
    deadline_at: datetime | None
    time_left: timedelta | None
    overdue: bool
    holder: str | None
    held_by_me: bool
    claim_expires_at: datetime | None
    awaiting_approval: int
    #: Every report of the case came from a feed on screening's review band: a reviewer reads it
    #: and decides whether it is about domestic violence at all.
    review_band: bool = False


@dataclass(frozen=True)
class QueueCounts:
    open: int = 0
    high: int = 0
    medium: int = 0
    standard: int = 0
    overdue: int = 0
    unclaimed: int = 0
    mine: int = 0


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    total: int
    page: int
    pages: int
    counts: QueueCounts
    now: datetime
    filters: QueueFilter = field(default_factory=QueueFilter)


def _claim_active(now: datetime) -> ColumnElement[bool]:
    return and_(Case.claimed_by.is_not(None), Case.claim_expires_at > now)


def _filtered(user: User, filters: QueueFilter, now: datetime) -> list[ColumnElement[bool]]:
    status = CaseStatus.CLOSED if filters.closed else CaseStatus.OPEN
    where: list[ColumnElement[bool]] = [scope_clause(user), Case.status == status.value]
    if filters.region:
        where.append(Case.region == filters.region)
    if filters.level:
        where.append(Case.risk_level == filters.level)
    if filters.verification:
        where.append(Case.verification == filters.verification)
    if filters.source:
        where.append(
            Case.id.in_(select(Report.case_id).where(Report.source_kind == filters.source))
        )
    if filters.overdue:
        where.append(Case.deadline_at < now)
    if filters.mine:
        where.append(and_(Case.claimed_by == user.id, Case.claim_expires_at > now))
    if filters.unclaimed:
        where.append(~_claim_active(now))
    return where


def counts(session: Session, user: User, now: datetime) -> QueueCounts:
    """Open cases in the user's scope, by level, overdue, unclaimed and held by the user."""
    active = _claim_active(now)
    row = session.execute(
        select(
            func.count(),
            func.sum(case((Case.risk_level == RiskLevel.HIGH.value, 1), else_=0)),
            func.sum(case((Case.risk_level == RiskLevel.MEDIUM.value, 1), else_=0)),
            func.sum(case((Case.risk_level == RiskLevel.STANDARD.value, 1), else_=0)),
            func.sum(case((Case.deadline_at < now, 1), else_=0)),
            func.sum(case((active, 0), else_=1)),
            func.sum(case((and_(active, Case.claimed_by == user.id), 1), else_=0)),
        ).where(scope_clause(user), Case.status == CaseStatus.OPEN.value)
    ).one()
    values = [int(v or 0) for v in row]
    return QueueCounts(*values)


def queue(
    session: Session, user: User, filters: QueueFilter | None = None, *, now: datetime | None = None
) -> QueuePage:
    """One page of the queue in priority order, with the counts of the whole scope."""
    filters = filters or QueueFilter()
    now = now or utcnow()
    where = _filtered(user, filters, now)
    total = int(session.scalar(select(func.count()).select_from(Case).where(*where)) or 0)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, filters.page), pages)
    order = (Case.closed_at.desc(),) if filters.closed else priority_order()
    found = session.execute(
        select(Case, User.username)
        .outerjoin(User, User.id == Case.claimed_by)
        .where(*where)
        .order_by(*order, Case.id)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    ids = [c.id for c, _ in found]
    sources: dict[str, set[str]] = {i: set() for i in ids}
    verdicts: dict[str, set[str | None]] = {i: set() for i in ids}
    awaiting: dict[str, int] = {}
    if ids:
        for case_id, kind, verdict in session.execute(
            select(Report.case_id, Report.source_kind, Report.screening_verdict)
            .where(Report.case_id.in_(ids))
            .distinct()
        ):
            if case_id in sources:
                sources[case_id].add(kind)
                verdicts[case_id].add(verdict)
        for case_id, n in session.execute(
            select(Decision.case_id, func.count())
            .where(
                Decision.case_id.in_(ids),
                Decision.status == DecisionStatus.AWAITING_APPROVAL.value,
            )
            .group_by(Decision.case_id)
        ):
            awaiting[case_id] = int(n)
    rows = [
        _row(c, username, user, now, sources[c.id], awaiting.get(c.id, 0), verdicts[c.id])
        for c, username in found
    ]
    return QueuePage(
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        counts=counts(session, user, now),
        now=now,
        filters=filters,
    )


def _source_order(kinds: Iterable[str]) -> tuple[str, ...]:
    order = [k.value for k in SourceKind]
    return tuple(sorted(kinds, key=lambda k: order.index(k) if k in order else len(order)))


def holder_is_active(case_: Case, now: datetime) -> bool:
    return (
        case_.claimed_by is not None
        and case_.claim_expires_at is not None
        and case_.claim_expires_at > now
    )


def on_review_band(verdicts: Iterable[str | None]) -> bool:
    """A case is on the review band while every report of it came in on the band."""
    found = set(verdicts)
    return bool(found) and found == {ScreeningVerdict.REVIEW.value}


def _row(
    c: Case,
    username: str | None,
    user: User,
    now: datetime,
    kinds: set[str],
    awaiting: int,
    verdicts: Iterable[str | None] = (),
) -> QueueRow:
    active = holder_is_active(c, now)
    is_open = c.status == CaseStatus.OPEN.value
    return QueueRow(
        id=c.id,
        code=c.code,
        region=c.region,
        sources=_source_order(kinds),
        level=c.risk_level,
        provisional=c.risk_provisional,
        verification=c.verification,
        status=c.status,
        opened_at=c.opened_at,
        age=now - c.opened_at,
        deadline_at=c.deadline_at,
        time_left=(c.deadline_at - now) if c.deadline_at and is_open else None,
        overdue=bool(is_open and c.deadline_at and is_overdue(c.deadline_at, now)),
        holder=username if active else None,
        held_by_me=active and c.claimed_by == user.id,
        claim_expires_at=c.claim_expires_at if active else None,
        awaiting_approval=awaiting,
        review_band=on_review_band(verdicts),
    )


def row_of(session: Session, user: User, case_: Case, now: datetime | None = None) -> QueueRow:
    """The queue row of one case (the case page's header shows the same facts)."""
    now = now or utcnow()
    reports = session.execute(
        select(Report.source_kind, Report.screening_verdict).where(Report.case_id == case_.id)
    ).all()
    kinds = {kind for kind, _ in reports}
    holder = session.get(User, case_.claimed_by) if case_.claimed_by else None
    awaiting = int(
        session.scalar(
            select(func.count()).where(
                Decision.case_id == case_.id,
                Decision.status == DecisionStatus.AWAITING_APPROVAL.value,
            )
        )
        or 0
    )
    return _row(
        case_,
        holder.username if holder else None,
        user,
        now,
        kinds,
        awaiting,
        (verdict for _, verdict in reports),
    )


# -- the case page -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened on a case; ``payload`` is its decrypted content (``None`` when
    its key was destroyed)."""

    at: datetime
    kind: str
    record: Any
    payload: Mapping[str, Any] | None
    by: str | None = None


@dataclass(frozen=True)
class CaseView:
    case: Case
    row: QueueRow
    timeline: list[TimelineEntry]
    reports: list[TimelineEntry]
    assessments: list[Assessment]
    decisions: list[Decision]
    current_assessment: Assessment | None
    #: Each report's attachments (downloading one is audited on its own).
    attachments: Mapping[str, list[Attachment]] = field(default_factory=dict)
    #: Each decision's decrypted payload (legal basis, rationale, reasons), by decision id.
    decision_payloads: Mapping[str, Mapping[str, Any] | None] = field(default_factory=dict)


def _open(session: Session, record: Any, actor: str, purpose: str) -> Mapping[str, Any] | None:
    try:
        return sealed.open_payload(session, record, actor=actor, purpose=purpose)
    except sealed.PayloadShredded:
        return None


def _attachments(session: Session, report_ids: list[str]) -> dict[str, list[Attachment]]:
    found: dict[str, list[Attachment]] = {}
    if report_ids:
        for a in session.scalars(
            select(Attachment)
            .where(Attachment.report_id.in_(report_ids))
            .order_by(Attachment.uploaded_at)
        ):
            found.setdefault(a.report_id, []).append(a)
    return found


def case_view(session: Session, user: User, ref: str, *, now: datetime | None = None) -> CaseView:
    """The case and everything recorded on it, oldest first, decrypted for ``user``.

    Each decryption is a ``payload.decrypted`` audit event with purpose ``case.view``.
    """
    found = get_case(session, user, ref)
    actor = str(user.id)
    names = user_names(session)
    entries: list[TimelineEntry] = []
    reports = []
    for r in session.scalars(
        select(Report).where(Report.case_id == found.id).order_by(Report.received_at, Report.id)
    ):
        entry = TimelineEntry(r.received_at, "report", r, _open(session, r, actor, VIEW_PURPOSE))
        entries.append(entry)
        reports.append(entry)
    assessments = list(
        session.scalars(
            select(Assessment)
            .where(Assessment.case_id == found.id)
            .order_by(Assessment.assessed_at, Assessment.id)
        )
    )
    for a in assessments:
        entries.append(
            TimelineEntry(
                a.assessed_at,
                "assessment",
                a,
                _open(session, a, actor, VIEW_PURPOSE),
                names.get(a.assessed_by),
            )
        )
    for v in session.scalars(select(VerificationStep).where(VerificationStep.case_id == found.id)):
        entries.append(
            TimelineEntry(
                v.recorded_at,
                "verification",
                v,
                _open(session, v, actor, VIEW_PURPOSE),
                names.get(v.recorded_by),
            )
        )
    decisions = list(
        session.scalars(
            select(Decision)
            .where(Decision.case_id == found.id)
            .order_by(Decision.proposed_at, Decision.id)
        )
    )
    decision_payloads: dict[str, Mapping[str, Any] | None] = {}
    for d in decisions:
        decision_payloads[d.id] = _open(session, d, actor, VIEW_PURPOSE)
        entries.append(
            TimelineEntry(
                d.proposed_at, "decision", d, decision_payloads[d.id], names.get(d.proposed_by)
            )
        )
    for n in session.scalars(select(CaseNote).where(CaseNote.case_id == found.id)):
        entries.append(
            TimelineEntry(
                n.written_at,
                n.kind,
                n,
                _open(session, n, actor, VIEW_PURPOSE),
                names.get(n.written_by),
            )
        )
    entries.sort(key=lambda e: e.at)
    return CaseView(
        case=found,
        row=row_of(session, user, found, now),
        timeline=entries,
        reports=reports,
        assessments=assessments,
        decisions=decisions,
        current_assessment=assessments[-1] if assessments else None,
        attachments=_attachments(session, [entry.record.id for entry in reports]),
        decision_payloads=decision_payloads,
    )


def user_names(session: Session) -> dict[int, str]:
    return {uid: name for uid, name in session.execute(select(User.id, User.username))}


# -- notes and closing -------------------------------------------------------------------------


def write_note(
    session: Session,
    user: User,
    case_: Case,
    kind: NoteKind,
    text: str,
    *,
    decision_id: str | None = None,
    now: datetime | None = None,
) -> CaseNote:
    note = CaseNote(
        id=new_id(),
        case_id=case_.id,
        kind=kind.value,
        decision_id=decision_id,
        written_by=user.id,
        written_at=now or utcnow(),
        payload_version=1,
    )
    session.add(note)
    sealed.seal(session, note, {"text": text})
    return note


def require_claim(
    session: Session,
    user: User,
    case_: Case,
    *,
    now: datetime | None = None,
    rules: ReviewRules | None = None,
) -> None:
    """Work on a case needs the user's claim on it; the work renews the claim.

    A claim past its expiry that nobody else took is still the user's: it is renewed. The
    renewal is itself a compare-and-set, so a reviewer who just took the case over wins.
    """
    now = now or utcnow()
    rules = rules or ReviewRules()
    result = session.execute(
        update(Case)
        .where(and_(Case.id == case_.id, Case.claimed_by == user.id))
        .values(claim_expires_at=now + rules.claim_for)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        raise ClaimRequired(N_("Claim this case before working on it."))
    # Keep the loaded object in step without a version bump: claims are not edits.
    session.refresh(case_, attribute_names=["claimed_by", "claim_expires_at"])


def add_note(
    session: Session,
    user: User,
    ref: str,
    text: str,
    *,
    now: datetime | None = None,
    rules: ReviewRules | None = None,
) -> CaseNote:
    """A reviewer's note on the case (sealed). Needs the claim, like all work on a case."""
    now = now or utcnow()
    found = get_case(session, user, ref)
    require_open(found)
    require_claim(session, user, found, now=now, rules=rules)
    note = write_note(session, user, found, NoteKind.NOTE, clean_text(text, "note"), now=now)
    session.flush()
    audit.append(
        session,
        actor=str(user.id),
        action="case.note_added",
        object_type="case",
        object_id=found.id,
        details={"note_id": note.id, "kind": NoteKind.NOTE.value},
    )
    return note


def close_case(
    session: Session,
    user: User,
    ref: str,
    *,
    version: int | None,
    outcome: str,
    note: str | None = None,
    now: datetime | None = None,
    rules: ReviewRules | None = None,
) -> Case:
    """Close the case with an outcome, releasing its claim.

    Refused while a proposal waits for approval: withdraw it or have it decided first, so that
    no measure takes effect on a closed case.
    """
    now = now or utcnow()
    found = get_case(session, user, ref)
    require_open(found)
    check_version(found, version)
    try:
        chosen = CaseOutcome(outcome)
    except ValueError:
        raise InvalidInput(N_("Choose how the case ended.")) from None
    if chosen not in CLOSING_OUTCOMES:
        raise InvalidInput(N_("An unfounded report is recorded through verification."))
    require_claim(session, user, found, now=now, rules=rules)
    waiting = session.scalar(
        select(func.count()).where(
            Decision.case_id == found.id,
            Decision.status == DecisionStatus.AWAITING_APPROVAL.value,
        )
    )
    if waiting:
        raise PendingDecisions(
            N_(
                "Proposals on this case still wait for approval: withdraw them or have them "
                "decided before closing."
            )
        )
    text = clean_text(note, "closing note", required=False)
    if text:
        write_note(session, user, found, NoteKind.CLOSING, text, now=now)
    mark_closed(session, user, found, chosen, now=now)
    return found


def mark_closed(
    session: Session, user: User, found: Case, outcome: CaseOutcome, *, now: datetime
) -> None:
    found.status = CaseStatus.CLOSED.value
    found.outcome = outcome.value
    found.closed_at = now
    found.claimed_by = None
    found.claim_expires_at = None
    flush_edit(session)
    audit.append(
        session,
        actor=str(user.id),
        action="case.closed",
        object_type="case",
        object_id=found.id,
        details={"outcome": outcome.value},
    )


def eligible_holders(session: Session, case_: Case) -> Sequence[User]:
    """Active reviewers and supervisors whose scope covers the case: who may be given it."""
    from ..vocab import Role

    where: list[ColumnElement[bool]] = [
        User.active.is_(True),
        User.role.in_([Role.REVIEWER.value, Role.SUPERVISOR.value]),
    ]
    where.append(or_(User.region.is_(None), User.region == case_.region))
    return session.scalars(select(User).where(*where).order_by(User.username)).all()
