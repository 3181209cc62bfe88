"""The reviewer queue: open cases in the user's scope, filtered, counted and ordered by level,
deadline and age, a page at a time, in SQL; each row holds codes and dates only."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from ..models import (
    Case,
    Decision,
    QueueCount,
    Report,
    User,
)
from ..scoring import is_overdue
from ..vocab import (
    CaseStatus,
    DecisionStatus,
    RiskLevel,
    SourceKind,
)
from .cases import holder_is_active, on_review_band, priority_order, scope_clause, utcnow

PAGE_SIZE = 50

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
    #: ``only``: the cases that only public reports describe; ``hide``: every other case.
    public: str | None = None
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
    #: Only public reports describe the case (``triage.public``): unverified, no account behind.
    public: bool = False


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


#: The ``queue_rank`` values of each level: the even one with a deadline, the odd one without.
_LEVEL_RANKS = {RiskLevel.HIGH.value: 0, RiskLevel.MEDIUM.value: 2, RiskLevel.STANDARD.value: 4}


def _claim_active(now: datetime) -> ColumnElement[bool]:
    return and_(Case.claimed_by.is_not(None), Case.claim_expires_at > now)


def _level_clause(level: str) -> ColumnElement[bool]:
    """The level as a range of ``queue_rank``, so that the queue's index still seeks and orders."""
    low = _LEVEL_RANKS.get(level)
    if low is None:
        return Case.risk_level == level
    return Case.queue_rank.between(low, low + 1)


def _scope(user: User, filters: QueueFilter) -> list[ColumnElement[bool]]:
    status = CaseStatus.CLOSED if filters.closed else CaseStatus.OPEN
    where: list[ColumnElement[bool]] = [scope_clause(user), Case.status == status.value]
    if filters.region:
        where.append(Case.region == filters.region)
    return where


def _filtered(user: User, filters: QueueFilter, now: datetime) -> list[ColumnElement[bool]]:
    where = _scope(user, filters)
    if filters.level:
        where.append(_level_clause(filters.level))
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
    if filters.public in ("only", "hide"):
        not_public = Case.id.in_(select(Report.case_id).where(Report.public.is_(False)))
        where.append(~not_public if filters.public == "only" else not_public)
    return where


def _public_only(session: Session, ids: list[str]) -> set[str]:
    """Which of the cases ``ids`` only public reports describe."""
    if not ids:
        return set()
    mixed = select(Report.case_id).where(Report.case_id.in_(ids), Report.public.is_(False))
    return set(ids) - set(session.scalars(mixed))


@dataclass(frozen=True)
class _Tally:
    """The maintained counts of one scope: cases by ``queue_rank``, and of those the cases whose
    deadline falls on a day after ``today`` (still on time whatever the hour)."""

    ranks: dict[int, int]
    later: int = 0


def _tally(
    session: Session,
    user: User,
    status: CaseStatus,
    region: str | None = None,
    *,
    today: str,
) -> _Tally:
    """Cases of ``status`` in the user's scope (and ``region``, if given): a sum of the
    maintained counts (``models.queue_count``), a row per region, rank and deadline day that has
    cases, never a count of the cases."""
    regions = {r for r in (user.region, region) if r}
    if len(regions) > 1:  # a region outside the user's scope holds nothing she may see
        return _Tally({})
    later = case((QueueCount.due_day > today, QueueCount.cases), else_=0)
    query = select(QueueCount.queue_rank, func.sum(QueueCount.cases), func.sum(later)).where(
        QueueCount.status == status.value
    )
    if regions:
        query = query.where(QueueCount.region == regions.pop())
    ranks: dict[int, int] = {}
    after = 0
    for rank, n, on_later_days in session.execute(query.group_by(QueueCount.queue_rank)):
        if n:
            ranks[int(rank)] = int(n)
            after += int(on_later_days or 0)
    return _Tally(ranks, after)


def _level_total(ranks: dict[int, int], level: str | None) -> int:
    if level is None:
        return sum(ranks.values())
    low = _LEVEL_RANKS.get(level)
    return 0 if low is None else ranks.get(low, 0) + ranks.get(low + 1, 0)


def _count(session: Session, where: list[ColumnElement[bool]]) -> int:
    return int(session.scalar(select(func.count()).select_from(Case).where(*where)) or 0)


def _running_claims(session: Session, user: User, now: datetime) -> tuple[int, int]:
    """Claims running now in the user's scope, and the user's own. They are few (a reviewer holds
    a handful of cases), so they are read from ``ix_case_file_claim`` alone and the scope is
    applied to them here: a region in the query would make the planner walk the region's cases."""
    rows = session.execute(
        select(Case.region, Case.claimed_by).where(
            Case.status == CaseStatus.OPEN.value, _claim_active(now)
        )
    ).all()
    scoped = [holder for region, holder in rows if user.region is None or region == user.region]
    return len(scoped), sum(holder == user.id for holder in scoped)


def _today(now: datetime) -> tuple[str, datetime]:
    """The UTC day of ``now`` as ``queue_count.due_day`` writes it, and the next midnight."""
    day = now.astimezone(UTC).date()
    return day.isoformat(), datetime.combine(day + timedelta(days=1), time(), UTC)


def counts(
    session: Session, user: User, now: datetime, *, tally: _Tally | None = None
) -> QueueCounts:
    """Open cases in the user's scope, by level, overdue, unclaimed and held by the user.

    No figure counts the scope's cases. By rank (the levels, and which cases have a deadline)
    is a sum of the maintained counts. Overdue depends on the clock, which no trigger sees: it
    is the cases with a deadline less those still on time, which are the counts of the days
    after today (a few days: no deadline lies further ahead than the longest response time)
    and today's cases due from now to midnight, counted on the queue's index. Unclaimed is the
    rest of the claims running now, which are few and read from their own index. ``tally``
    passes in the scope's counts when the caller has them.
    """
    today, midnight = _today(now)
    if tally is None:
        tally = _tally(session, user, CaseStatus.OPEN, today=today)
    by_rank = tally.ranks
    dated = sum(n for rank, n in by_rank.items() if rank % 2 == 0)
    due_today = [
        scope_clause(user),
        Case.status == CaseStatus.OPEN.value,
        Case.queue_rank.in_([0, 2, 4]),
        Case.deadline_at >= now,
        Case.deadline_at < midnight,
    ]
    on_time = tally.later + _count(session, due_today)
    held, mine = _running_claims(session, user, now)
    total = sum(by_rank.values())
    return QueueCounts(
        open=total,
        high=_level_total(by_rank, RiskLevel.HIGH.value),
        medium=_level_total(by_rank, RiskLevel.MEDIUM.value),
        standard=_level_total(by_rank, RiskLevel.STANDARD.value),
        overdue=dated - on_time,
        unclaimed=total - held,
        mine=mine,
    )


def queue(
    session: Session, user: User, filters: QueueFilter | None = None, *, now: datetime | None = None
) -> QueuePage:
    """One page of the queue in priority order, with the counts of the whole scope.

    The page is the first rows of an index scan in the queue's order (``priority_order``), and
    the figures are the maintained counts and short index ranges (``counts``): no query reads
    every case of the scope. A filter beyond status, region and level is counted with its
    condition.
    """
    filters = filters or QueueFilter()
    now = now or utcnow()
    where = _filtered(user, filters, now)
    scope: _Tally | None = None
    plain = not (
        filters.verification
        or filters.source
        or filters.overdue
        or filters.mine
        or filters.unclaimed
        or filters.public
    )
    if plain:
        status = CaseStatus.CLOSED if filters.closed else CaseStatus.OPEN
        tally = _tally(session, user, status, filters.region, today=_today(now)[0])
        total = _level_total(tally.ranks, filters.level)
        if not filters.closed and (not filters.region or filters.region == user.region):
            scope = tally
    else:
        total = _count(session, where)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, filters.page), pages)
    order = (Case.closed_at.desc(), Case.id) if filters.closed else priority_order()
    found = session.execute(
        select(Case, User.username)
        .outerjoin(User, User.id == Case.claimed_by)
        .where(*where)
        .order_by(*order)
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
    public = _public_only(session, ids)
    rows = [replace(r, public=r.id in public) for r in rows]
    return QueuePage(
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        counts=counts(session, user, now, tally=scope),
        now=now,
        filters=filters,
    )


def _source_order(kinds: Iterable[str]) -> tuple[str, ...]:
    order = [k.value for k in SourceKind]
    return tuple(sorted(kinds, key=lambda k: order.index(k) if k in order else len(order)))


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
    row = _row(
        case_,
        holder.username if holder else None,
        user,
        now,
        kinds,
        awaiting,
        (verdict for _, verdict in reports),
    )
    return replace(row, public=bool(_public_only(session, [case_.id])))
