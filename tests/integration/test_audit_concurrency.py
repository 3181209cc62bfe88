"""The audit chain under concurrent writers, on both engines: appends from many threads, each in
its own transaction, make one unbroken chain — no gap, no fork — and a rolled-back transaction
leaves neither an event nor a hole."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from triage import audit
from triage.models import AuditEvent
from triage.web.deps import uow_of

THREADS = 8
APPENDS_PER_THREAD = 25


class Abandoned(Exception):
    """Raised inside a transaction to make it roll back."""


def _seqs(session: Session) -> list[int]:
    return list(session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))


def _existing(app: Flask) -> int:
    with uow_of(app).begin() as session:
        seqs = _seqs(session)
    assert seqs == list(range(1, len(seqs) + 1))
    return len(seqs)


def test_concurrent_appends_make_one_unbroken_chain(app: Flask) -> None:
    start = _existing(app)
    barrier = threading.Barrier(THREADS)

    def writer(worker: int) -> int:
        barrier.wait()
        committed = 0
        for i in range(APPENDS_PER_THREAD):
            abandon = i % 5 == 4  # every fifth transaction rolls back after appending
            try:
                with uow_of(app).begin() as session:
                    audit.append(
                        session,
                        actor=str(worker),
                        action="audit.verified",
                        details={"worker": worker, "i": i},
                    )
                    if abandon:
                        raise Abandoned
            except Abandoned:
                continue
            committed += 1
        return committed

    with ThreadPoolExecutor(THREADS) as pool:
        committed = sum(pool.map(writer, range(THREADS)))

    assert committed == THREADS * APPENDS_PER_THREAD * 4 // 5
    total = start + committed
    with uow_of(app).begin() as session:
        assert _seqs(session) == list(range(1, total + 1))
        prev_hashes = session.scalar(select(func.count(func.distinct(AuditEvent.prev_hash))))
        assert prev_hashes == total, "two events link to one predecessor: the chain forked"
        verdict = audit.verify(session)
        assert verdict.ok, str(verdict)
        assert verdict.count == total
        per_worker = session.execute(
            select(AuditEvent.actor, func.count())
            .where(AuditEvent.action == "audit.verified")
            .group_by(AuditEvent.actor)
        ).all()
        assert dict(per_worker) == {str(w): committed // THREADS for w in range(THREADS)}


def test_a_rolled_back_append_leaves_no_event_and_no_gap(app: Flask) -> None:
    start = _existing(app)

    with pytest.raises(Abandoned), uow_of(app).begin() as session:
        event = audit.append(session, actor="system", action="audit.verified")
        assert event.seq == start + 1
        raise Abandoned

    with uow_of(app).begin() as session:
        assert _seqs(session) == list(range(1, start + 1))
        event = audit.append(session, actor="system", action="audit.exported")
        assert event.seq == start + 1

    with uow_of(app).begin() as session:
        last = session.get_one(AuditEvent, start + 1)
        assert last.action == "audit.exported"
        assert last.prev_hash == session.get_one(AuditEvent, start).hash
        verdict = audit.verify(session)
        assert verdict.ok, str(verdict)
        assert verdict.count == start + 1


def test_an_event_exists_only_with_the_change_it_records(app: Flask) -> None:
    """A failure after the append rolls back the event with everything else in the block."""
    start = _existing(app)
    with pytest.raises(Abandoned), uow_of(app).begin() as session:
        for _ in range(3):
            audit.append(session, actor="system", action="audit.verified")
        raise Abandoned
    assert _existing(app) == start
