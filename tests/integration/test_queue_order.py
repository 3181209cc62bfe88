"""The queue's stored order (``case_file.queue_rank`` and the queue's indexes) against the order
the queue used to compute on every load — level, then deadline (none last), then age — and its
counts against a count of the cases themselves, after random sequences of the writes that change
what the queue shows: filing, triage, a level put in force, claims, take-next, reassigning,
verification and closing. On both engines."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from tests.conftest import Account, Database
from triage.errors import DomainError
from triage.models import Case, User
from triage.reports import file_report
from triage.review import case_queue, cases, claims, triaging, verification
from triage.review.rules import ReviewRules
from triage.vocab import CaseStatus, Region, RiskLevel, Role, SourceKind
from triage.web.deps import uow_of

RULES = ReviewRules()
#: Deadlines an operator lengthened: cases triaged under each then interleave by deadline.
LONGER = ReviewRules(deadlines={level: span * 3 for level, span in RULES.deadlines.items()})
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
MEDIA = {"outlet": "Example news", "headline": "Invented", "text": "Invented story"}
LEVEL_RANK = {RiskLevel.HIGH.value: 2, RiskLevel.MEDIUM.value: 1, RiskLevel.STANDARD.value: 0}
WORKERS = ("reviewer", "supervisor", "national")


@contextmanager
def tx(app: Flask) -> Iterator[Session]:
    with app.app_context(), uow_of(app).begin() as session:
        yield session


def old_order(c: Case) -> tuple[object, ...]:
    """The order the queue computed before it was stored (``cases.priority_order`` until 0013)."""
    far = datetime.max.replace(tzinfo=UTC)
    return (-LEVEL_RANK[c.risk_level], c.deadline_at is None, c.deadline_at or far, c.opened_at)


def expected_counts(found: list[Case], me: int) -> case_queue.QueueCounts:
    active = [c for c in found if c.claimed_by and c.claim_expires_at and c.claim_expires_at > NOW]
    return case_queue.QueueCounts(
        open=len(found),
        high=sum(c.risk_level == RiskLevel.HIGH.value for c in found),
        medium=sum(c.risk_level == RiskLevel.MEDIUM.value for c in found),
        standard=sum(c.risk_level == RiskLevel.STANDARD.value for c in found),
        overdue=sum(bool(c.deadline_at and c.deadline_at < NOW) for c in found),
        unclaimed=len(found) - len(active),
        mine=sum(c.claimed_by == me for c in active),
    )


def check(app: Flask, people: dict[str, Account]) -> None:
    with tx(app) as session:
        everything = session.scalars(select(Case)).all()
        for c in everything:  # the stored rank is the expression of the level and deadline
            rank = {2: 0, 1: 2, 0: 4}[LEVEL_RANK[c.risk_level]] + (c.deadline_at is None)
            assert c.queue_rank == rank, c.code
        open_cases = [c for c in everything if c.status == CaseStatus.OPEN.value]
        stored = session.scalars(
            select(Case.id)
            .where(Case.status == CaseStatus.OPEN.value)
            .order_by(*cases.priority_order())
        ).all()
        assert list(stored) == [c.id for c in sorted(open_cases, key=old_order)]
        for name in WORKERS:
            me = session.get(User, people[name].id)
            assert me is not None
            scope = [c for c in open_cases if me.region is None or c.region == me.region]
            page = case_queue.queue(session, me, now=NOW)
            assert [r.id for r in page.rows] == [c.id for c in sorted(scope, key=old_order)][:50]
            assert page.total == len(scope)
            assert page.counts == expected_counts(scope, me.id)
            for level in LEVEL_RANK:
                filtered = case_queue.queue(
                    session, me, case_queue.QueueFilter(level=level), now=NOW
                )
                assert filtered.total == sum(c.risk_level == level for c in scope)


@st.composite
def operations(draw: st.DrawFn) -> list[tuple[object, ...]]:
    ops: list[tuple[object, ...]] = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(
            st.sampled_from(
                [
                    *("file", "file", "triage", "level", "claim", "release", "take"),
                    *("reassign", "verify", "close"),
                ]
            )
        )
        ops.append(
            (
                kind,
                draw(st.integers(0, 50)),  # which case, modulo the cases there are
                draw(st.sampled_from(WORKERS)),
                draw(st.sampled_from([RiskLevel.HIGH, RiskLevel.MEDIUM, RiskLevel.STANDARD])),
                draw(st.sampled_from([Region.KARAGANDA, Region.ATYRAU, None])),
                draw(st.integers(0, 400)),  # hours before NOW the case was opened
                draw(st.booleans()),  # triaged when filed
                draw(st.sampled_from([RULES, LONGER])),
            )
        )
    return ops


def apply(app: Flask, people: dict[str, Account], op: tuple[object, ...]) -> None:
    # A refused operation (a claim held by another, a closed case) rolled back whole.
    with suppress(DomainError):
        _apply(app, people, op)


def _apply(app: Flask, people: dict[str, Account], op: tuple[object, ...]) -> None:
    kind, pick, who, level, region, hours, triaged, rules = op
    assert isinstance(pick, int) and isinstance(who, str) and isinstance(level, RiskLevel)
    assert isinstance(rules, ReviewRules)
    with tx(app) as session:
        actor = session.get(User, people[who].id)
        assert actor is not None
        ids = session.scalars(select(Case.id).order_by(Case.code)).all()
        target = session.get(Case, ids[pick % len(ids)]) if ids else None
        if kind == "file" or target is None:
            report = file_report(
                session,
                source_kind=SourceKind.MEDIA,
                payload=MEDIA,
                actor="system",
                region=region if isinstance(region, Region) else None,
            )
            found = session.get(Case, report.case_id)
            assert found is not None and isinstance(hours, int)
            # Distinct openings: the order never falls back to the id.
            found.opened_at = NOW - timedelta(hours=hours, microseconds=len(ids))
            session.flush()
            if triaged:
                triaging.triage_case(session, found, level, rules, actor="system")
        elif kind == "triage":
            triaging.triage_new_cases(session, rules=rules, now=NOW)
        elif kind == "level" and target.status == CaseStatus.OPEN.value:
            triaging.set_level(target, level, rules, provisional=False)
        elif kind in ("claim", "release", "take", "reassign", "verify", "close"):
            run(session, actor, people, kind, target, level)


def run(
    session: Session,
    actor: User,
    people: dict[str, Account],
    kind: object,
    target: Case,
    level: RiskLevel,
) -> None:
    # Claims last two hours: some are running at NOW, some have run out.
    now = NOW - timedelta(hours=3) if level is RiskLevel.STANDARD else NOW
    if kind == "claim":
        claims.claim(session, actor, target.id, now=now, rules=RULES)
    elif kind == "release":
        claims.release(session, actor, target.id, now=now)
    elif kind == "take":
        claims.take_next(session, actor, now=now, rules=RULES)
    elif kind == "reassign":
        supervisor = session.get(User, people["national"].id)
        assert supervisor is not None
        claims.reassign(session, supervisor, target.id, actor.id, now=now, rules=RULES)
    elif kind == "verify":
        claims.claim(session, actor, target.id, now=NOW, rules=RULES)
        verification.record_verification(
            session,
            actor,
            target.id,
            version=target.version,
            outcome="unfounded" if level is RiskLevel.STANDARD else "corroborated",
            method="police_check",
            note="Checked.",
            now=NOW,
            rules=RULES,
        )
    elif kind == "close":
        claims.claim(session, actor, target.id, now=NOW, rules=RULES)
        cases.close_case(
            session,
            actor,
            target.id,
            version=target.version,
            outcome=cases.CaseOutcome.NO_MEASURE_NEEDED.value,
            now=NOW,
            rules=RULES,
        )


@pytest.fixture
def people(app: Flask, accounts: dict[Role, Account]) -> dict[str, Account]:
    from tests.conftest import make_user

    return {
        "reviewer": accounts[Role.REVIEWER],
        "supervisor": accounts[Role.SUPERVISOR],
        "national": make_user(app, "national.supervisor", Role.SUPERVISOR),
    }


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations())
# A case triaged under longer deadlines comes after a younger one triaged under the usual ones;
# a case never triaged comes after both.
@example(
    ops=[
        ("file", 0, "reviewer", RiskLevel.HIGH, Region.KARAGANDA, 10, True, LONGER),
        ("file", 0, "reviewer", RiskLevel.HIGH, Region.KARAGANDA, 5, True, RULES),
        ("file", 0, "reviewer", RiskLevel.HIGH, Region.KARAGANDA, 20, False, RULES),
        ("take", 0, "reviewer", RiskLevel.HIGH, None, 0, False, RULES),
    ]
)
def test_the_stored_order_and_counts_follow_every_write(
    app: Flask, people: dict[str, Account], ops: list[tuple[object, ...]]
) -> None:
    # Examples add to the same database: later ones start from what earlier ones left.
    for op in ops:
        apply(app, people, op)
        check(app, people)


def test_the_queue_reads_beside_a_writer_and_writes_nothing(
    app: Flask, people: dict[str, Account], database: Database
) -> None:
    """A queue load writes nothing and, on SQLite, never waits for the write lock: it reads
    while another process holds it (WAL)."""
    for hours in (1, 30, 300):
        apply(
            app,
            people,
            ("file", 0, "reviewer", RiskLevel.HIGH, Region.KARAGANDA, hours, True, RULES),
        )
    apply(app, people, ("file", 0, "reviewer", RiskLevel.HIGH, None, 5, False, RULES))
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    engine = uow_of(app).engine
    writer = sqlite3.connect(database.path, isolation_level=None) if database.path else None
    if writer is not None:
        writer.execute("BEGIN IMMEDIATE")  # another process holds the write lock meanwhile
    event.listen(engine, "before_cursor_execute", record)
    try:
        with app.app_context(), uow_of(app).read() as session:
            for name in WORKERS:
                me = session.get(User, people[name].id)
                assert me is not None
                page = case_queue.queue(session, me, now=NOW)
                assert page.rows and page.counts.open == page.total
                case_queue.queue(session, me, case_queue.QueueFilter(overdue=True), now=NOW)
    finally:
        event.remove(engine, "before_cursor_execute", record)
        if writer is not None:
            writer.rollback()
            writer.close()
    assert any(s.lstrip().upper().startswith("SELECT") for s in sent)
    assert [s for s in sent if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))] == []
