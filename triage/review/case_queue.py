"""The reviewer queue: open cases in the user's scope, filtered, counted and ordered by level,
deadline and age, a page at a time, in SQL; each row holds codes and dates only."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from ..models import (
    Case,
    Decision,
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
