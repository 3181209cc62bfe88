"""Appending many audit events in one step (``audit.append_many``, ``audit.batched``) makes the
chain that appending them one by one makes — the same fields, the same hashes — that
``verify`` accepts, and in which a tampered event of a batch is found at its sequence number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, text

from triage import audit
from triage.web.deps import uow_of

ENTRIES = [
    audit.Entry("system", "case.opened", "case", "c-1"),
    audit.Entry("7", "report.filed", "report", "r-1", {"case_id": "c-1", "indexes": 2}),
    audit.Entry("7", "case.triaged", "case", "c-1", {"level": "high", "provisional": True}),
    audit.Entry("7", "report.linked", "report", 42, {"matched": "phone,victim", "how": None}),
    audit.Entry("system", "audit.verified", details={"ok": True, "kinds": ["a", "b"]}),
]


class _Clock:
    """``datetime`` for ``triage.audit``: the same instants, one microsecond apart, in every
    run, so that two chains made the two ways can be compared hash for hash."""

    def __init__(self) -> None:
        self._next = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def now(self, tz: Any = None) -> datetime:
        moment, self._next = self._next, self._next + timedelta(microseconds=1)
        return moment


def _chain(app: Flask) -> list[dict[str, Any]]:
    with app.app_context(), uow_of(app).read() as session:
        return list(audit.iter_events(session))


def _one_by_one(app: Flask) -> None:
    with app.app_context(), uow_of(app).begin() as session:
        for e in ENTRIES:
            audit.append(
                session,
                actor=e.actor,
                action=e.action,
                object_type=e.object_type,
                object_id=e.object_id,
                details=e.details,
            )


def _in_one_step(app: Flask) -> list[dict[str, Any]]:
    with app.app_context(), uow_of(app).begin() as session:
        return audit.append_many(session, ENTRIES)


def _batched(app: Flask) -> None:
    with app.app_context(), uow_of(app).begin() as session, audit.batched(session):
        for e in ENTRIES:
            audit.append(
                session,
                actor=e.actor,
                action=e.action,
                object_type=e.object_type,
                object_id=e.object_id,
                details=e.details,
            )


def _reset(app: Flask) -> None:
    """Back to the one ``instance.initialised`` event, around the append-only triggers."""
    engine = uow_of(app).engine
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_event_no_delete"))
        conn.execute(text("DELETE FROM audit_event WHERE seq > 1"))


def test_one_step_and_one_by_one_make_the_same_chain(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit, "datetime", _Clock())
    _one_by_one(app)
    one_by_one = _chain(app)
    for write in (_in_one_step, _batched):
        _reset(app)
        monkeypatch.setattr(audit, "datetime", _Clock())  # the same instants again
        write(app)
        assert _chain(app) == one_by_one, write.__name__
    assert [e["action"] for e in one_by_one[1:]] == [e.action for e in ENTRIES]
    assert one_by_one[4]["object_id"] == "42" and one_by_one[4]["details"]["how"] is None
    with app.app_context(), uow_of(app).read() as session:
        assert audit.verify(session).ok


def test_events_appended_after_a_batch_link_to_it(app: Flask) -> None:
    with app.app_context(), uow_of(app).begin() as session:
        rows = audit.append_many(session, ENTRIES)
        after = audit.append(session, actor="system", action="audit.verified", details={"n": 1})
        assert after.prev_hash == rows[-1]["hash"] and after.seq == rows[-1]["seq"] + 1
    with app.app_context(), uow_of(app).begin() as session:
        again = audit.append_many(session, ENTRIES[:2])
    assert again[0]["prev_hash"] == after.hash
    chain = _chain(app)
    assert len(chain) == 1 + len(ENTRIES) + 1 + 2
    assert [e["seq"] for e in chain] == list(range(1, len(chain) + 1))
    with app.app_context(), uow_of(app).read() as session:
        assert str(audit.verify(session)).startswith(f"OK: {len(chain)} events")


def test_a_tampered_event_of_a_batch_is_found(app: Flask) -> None:
    _in_one_step(app)
    chain = _chain(app)
    tampered = [dict(e) for e in chain]
    tampered[3]["details"] = {**tampered[3]["details"], "level": "standard"}
    verdict = audit.verify_stream(tampered)
    assert not verdict.ok and verdict.broken_seq == chain[3]["seq"]
    assert "altered" in verdict.reason
    # And in the database itself, where the owner could go around the triggers.
    engine = uow_of(app).engine
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_event_no_update"))
        conn.execute(
            text("UPDATE audit_event SET actor = 'someone' WHERE seq = :seq"),
            {"seq": chain[2]["seq"]},
        )
    with app.app_context(), uow_of(app).read() as session:
        verdict = audit.verify(session)
    assert not verdict.ok and verdict.broken_seq == chain[2]["seq"]


def test_a_bad_entry_leaves_the_chain_as_it_was(app: Flask) -> None:
    before = _chain(app)
    bad = [*ENTRIES[:2], audit.Entry("system", "Not An Action")]
    with (
        pytest.raises(audit.AuditError, match="lower-case dotted name"),
        app.app_context(),
        uow_of(app).begin() as session,
    ):
        audit.append_many(session, bad)
    assert _chain(app) == before
    with app.app_context(), uow_of(app).begin() as session:
        assert audit.append_many(session, []) == []
    assert _chain(app) == before


def test_a_batch_inside_a_savepoint_goes_with_its_rollback(app: Flask) -> None:
    def note(session: Any, n: int) -> None:
        audit.append(session, actor="system", action="audit.verified", details={"n": n})

    with app.app_context(), uow_of(app).begin() as session:
        note(session, 1)
        with pytest.raises(RuntimeError), session.begin_nested(), audit.batched(session):
            note(session, 2)
            note(session, 3)
            raise RuntimeError("refused")
        with session.begin_nested(), audit.batched(session):
            note(session, 4)
            note(session, 5)
        note(session, 6)
        with (
            pytest.raises(audit.AuditError, match="savepoint"),
            audit.batched(session),
            session.begin_nested(),
        ):
            note(session, 7)
    chain = _chain(app)
    assert [e["details"].get("n") for e in chain[1:]] == [1, 4, 5, 6]
    with app.app_context(), uow_of(app).read() as session:
        assert audit.verify(session).ok


def test_after_a_released_savepoint_the_head_is_known_without_a_query(app: Flask) -> None:
    def note(session: Any, n: int) -> None:
        audit.append(session, actor="system", action="audit.verified", details={"n": n})

    looked: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM audit_event" in statement:
            looked.append(statement)

    engine = uow_of(app).engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        with app.app_context(), uow_of(app).begin() as session:
            note(session, 1)  # the head is read once, here
            with audit.savepoint(session):
                note(session, 2)
                note(session, 3)
            note(session, 4)
            with pytest.raises(RuntimeError), audit.savepoint(session):
                note(session, 5)
                raise RuntimeError("refused")
            note(session, 6)  # after a rollback the head is read again
            with audit.savepoint(session):
                note(session, 7)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(looked) == 2
    chain = _chain(app)
    assert [e["details"].get("n") for e in chain[1:]] == [1, 2, 3, 4, 6, 7]
    with app.app_context(), uow_of(app).read() as session:
        assert audit.verify(session).ok
