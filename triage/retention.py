"""Retention and erasure by crypto-shredding: a closed case's data keys are destroyed, so every
sealed payload and attachment of the case becomes unreadable for ever, while the plain counting
columns (source kind, region, dates, levels, outcome) stay for statistics.

Purging is refused for open cases. Each destroyed key is an audit event (``record.purged``).

Feed items that screening read as not a candidate are kept, sealed, for reviewers
(``triage.intake.screened``) until their ``expires_at`` (``TRIAGE_SCREENED_RETENTION_DAYS``);
``expire_screened`` then destroys their keys and marks them expired. A promoted item's key is
destroyed as it is promoted (``shred_screened``): its content lives on in the report alone.
On PostgreSQL the old row versions of ``data_key`` linger until vacuumed, so ``vacuum_keys``
runs ``VACUUM`` on the table after the purge commits; on SQLite ``secure_delete`` and full
auto-vacuum overwrite the freed bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select, text
from sqlalchemy.orm import Session

from . import audit, sealed
from .db import Base
from .errors import N_, Conflict, NotFound
from .models import (
    Case,
    IdempotencyKey,
    Report,
    ReportIndex,
    ScreenedItem,
    SealedMixin,
    utcnow,
)
from .vocab import CaseStatus, ScreenedStatus


@dataclass(frozen=True)
class Purged:
    cases: int
    records: int


def _sealed_tables() -> list[type[SealedMixin]]:
    """Every mapped table with a sealed payload and a ``case_id`` (reports, assessments, …)."""
    found = []
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        if issubclass(cls, SealedMixin) and "case_id" in mapper.columns:
            found.append(cls)
    return sorted(found, key=lambda c: c.__tablename__)


def due(session: Session, *, older_than: timedelta, now: datetime | None = None) -> list[Case]:
    """Closed cases whose retention period has passed and that still hold a data key."""
    cutoff = (now or utcnow()) - older_than
    cases = session.scalars(
        select(Case)
        .where(Case.status == CaseStatus.CLOSED.value, Case.closed_at < cutoff)
        .order_by(Case.closed_at)
    ).all()
    return [c for c in cases if _records(session, c)]


def _records(session: Session, case: Case) -> list[SealedMixin]:
    records: list[SealedMixin] = []
    for cls in _sealed_tables():
        column = getattr(cls, "case_id")  # noqa: B009 (checked to exist above)
        records.extend(
            session.scalars(
                select(cls).where(column == case.id, cls.data_key_id.is_not(None))
            ).all()
        )
    return records


def purge_case(session: Session, case: Case, *, actor: str, reason: str) -> int:
    """Shred every sealed record of a closed case; returns how many keys were destroyed."""
    if case.status != CaseStatus.CLOSED.value:
        raise Conflict(
            N_("Case %(code)s is open: close it before its data is erased."), code=case.code
        )
    records = _records(session, case)
    for record in records:
        audit.append(
            session,
            actor=actor,
            action="record.purged",
            object_type=record.__tablename__,
            object_id=record.id,
            details={"case_id": case.id, "reason": reason},
        )
        sealed.shred(session, record)
    # What could still tell that these people were reported: their blind-index tokens, and the
    # hashes of the API bodies that carried them.
    report_ids = select(Report.id).where(Report.case_id == case.id)
    session.execute(delete(ReportIndex).where(ReportIndex.report_id.in_(report_ids)))
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.report_id.in_(report_ids)))
    session.flush()
    return len(records)


def purge(session: Session, cases: list[Case], *, actor: str, reason: str) -> Purged:
    return Purged(
        len(cases), sum(purge_case(session, c, actor=actor, reason=reason) for c in cases)
    )


def find_case(session: Session, code: str) -> Case:
    case = session.scalar(select(Case).where(Case.code == code.strip().upper()))
    if case is None:
        raise NotFound(N_("There is no case %(code)s."), code=code)
    return case


def shred_screened(
    session: Session, item: ScreenedItem, *, actor: str, reason: str, now: datetime | None = None
) -> None:
    """Destroy a screened-out item's data key (``record.purged``, with the reason); its plain
    columns stay for the counts, its URL token so that the feed does not bring it back."""
    if item.data_key_id is None:
        return
    audit.append(
        session,
        actor=actor,
        action="record.purged",
        object_type=item.__tablename__,
        object_id=item.id,
        details={"reason": reason},
    )
    sealed.shred(session, item)
    item.shredded_at = now or utcnow()


def screened_due(session: Session, *, now: datetime | None = None) -> list[ScreenedItem]:
    """Screened-out items still waiting whose time in the reviewers' list is over."""
    return list(
        session.scalars(
            select(ScreenedItem)
            .where(
                ScreenedItem.status == ScreenedStatus.WAITING.value,
                ScreenedItem.expires_at <= (now or utcnow()),
            )
            .order_by(ScreenedItem.expires_at, ScreenedItem.id)
        )
    )


def expire_screened(
    session: Session, items: list[ScreenedItem], *, actor: str, now: datetime | None = None
) -> int:
    """Shred each item's key and mark it expired; returns how many."""
    moment = now or utcnow()
    for item in items:
        shred_screened(session, item, actor=actor, reason="retention", now=moment)
        item.status = ScreenedStatus.EXPIRED.value
    session.flush()
    return len(items)


def vacuum_keys(engine: Engine) -> None:
    """Make PostgreSQL drop the dead row versions that still hold destroyed keys."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM data_key"))
