"""The queue's maintained counts (``queue_count``, kept by triggers on ``case_file``) against a
count of the cases themselves, after every kind of change a case goes through — filed, triaged,
re-scored, given another deadline, moved to another region, claimed, closed, reopened, deleted,
and rows written in bulk by hand-written SQL — one at a time and in random sequences, on both
engines; overdue read at hours on either side of midnight; the triggers in
place after the migration and after ``metadata.create_all``; and on PostgreSQL, two writers
changing the same counts in opposite orders at once, neither deadlocked."""

from __future__ import annotations

import importlib.util
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, create_engine, func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from tests.conftest import Account, Database, make_user
from triage.db import Base, make_engine
from triage.errors import DomainError
from triage.models import Case, QueueCount, User
from triage.models import queue_count as model
from triage.reports import file_report
from triage.review import case_queue, cases, claims, triaging
from triage.review.rules import ReviewRules
from triage.vocab import CaseStatus, Region, RiskLevel, Role, SourceKind
from triage.web.deps import uow_of

RULES = ReviewRules()
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
MEDIA = {"outlet": "Example news", "headline": "Invented", "text": "Invented story"}
TRIGGERS = {"queue_count_insert", "queue_count_update", "queue_count_delete"}
MIGRATION = Path(__file__).resolve().parents[2] / "migrations/versions/0014_queue_counts.py"


@contextmanager
def tx(app: Flask) -> Iterator[Session]:
    with app.app_context(), uow_of(app).begin() as session:
        yield session


Key = tuple[str, str, int, str]


def direct(connection: Connection | Session) -> dict[Key, int]:
    """Cases by status, region, rank and (for an open case) its deadline's UTC day, counted from
    ``case_file`` here in Python."""
    found: dict[Key, int] = {}
    for status, region, rank, due in connection.execute(
        select(Case.status, Case.region, Case.queue_rank, Case.deadline_at)
    ):
        day = due.date().isoformat() if due is not None and status == "open" else ""
        key = (status, region or "", int(rank), day)
        found[key] = found.get(key, 0) + 1
    return found


def maintained(connection: Connection | Session) -> dict[Key, int]:
    """The same figures from ``queue_count`` (what the queue reads), keys at zero left out."""
    columns = (QueueCount.status, QueueCount.region, QueueCount.queue_rank, QueueCount.due_day)
    rows = connection.execute(select(*columns, func.sum(QueueCount.cases)).group_by(*columns))
    return {(s, r, int(k), d): int(n) for s, r, k, d, n in rows if n}


def check(app: Flask) -> None:
    with tx(app) as session:
        assert maintained(session) == direct(session)
        pending = session.scalar(select(func.count()).where(QueueCount.pending))
        assert pending == 0, "a committed transaction left changes unfolded"
        empty = session.scalar(select(func.count()).where(QueueCount.cases == 0))
        assert empty == 0, "a key without cases was left in the table"


# -- every kind of change ----------------------------------------------------------------------


KINDS = (
    *("file", "bare", "triage", "rescore", "deadline", "region", "claim", "close", "reopen"),
    *("delete", "bulk_copy", "bulk_update"),
)


def change(app: Flask, people: dict[str, Account], kind: str, pick: int, level: RiskLevel) -> None:
    """One change of ``kind`` to the ``pick``-th case (modulo the cases there are)."""
    # A refused operation (a claim held by another, a closed case) rolled back whole.
    with suppress(DomainError), tx(app) as session:
        actor = session.get(User, people["national"].id)
        assert actor is not None
        ids = session.scalars(select(Case.id).order_by(Case.code)).all()
        target = session.get(Case, ids[pick % len(ids)]) if ids else None
        regions: list[str | None] = [Region.KARAGANDA.value, Region.ATYRAU.value, None]
        if kind == "file" or target is None:
            report = file_report(
                session,
                source_kind=SourceKind.MEDIA,
                payload=MEDIA,
                actor="system",
                region=Region.KARAGANDA if pick % 2 else None,
            )
            if pick % 3 == 0:
                found = session.get(Case, report.case_id)
                assert found is not None
                triaging.triage_case(session, found, level, RULES, actor="system")
        elif kind == "bare":  # opened outside intake (an import): no report, no deadline
            session.add(Case(code=f"C-{secrets.token_hex(4)}", region=regions[pick % 3]))
        elif kind == "triage":
            triaging.triage_new_cases(session, rules=RULES, now=NOW)
        elif kind == "rescore":
            triaging.set_level(target, level, RULES, provisional=False)
        elif kind == "deadline":  # a day and more earlier, same level: only the day moves
            target.deadline_at = (target.deadline_at or NOW) - timedelta(hours=30)
        elif kind == "region":  # the next region of the three, so it always moves
            target.region = regions[(regions.index(target.region) + 1) % 3]
        elif kind == "claim":
            claims.claim(session, actor, target.id, now=NOW, rules=RULES)
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
        elif kind == "reopen":
            target.status, target.closed_at, target.outcome = CaseStatus.OPEN.value, None, None
        elif kind == "delete":
            bare = session.scalars(select(Case).where(~Case.reports.any()).limit(1)).first()
            if bare is not None:
                session.delete(bare)
        elif kind == "bulk_copy":  # many rows in one statement, as the benchmark copies them
            session.execute(
                text(
                    "INSERT INTO case_file (id, code, region, status, risk_level,"
                    " risk_provisional, verification, victim_complaint, opened_at, deadline_at,"
                    " version) SELECT substr(id, 1, 24) || :k, substr(id, 1, 8) || :k,"
                    " region, status, risk_level, risk_provisional, verification,"
                    " victim_complaint, opened_at, deadline_at, 1 FROM case_file"
                    " WHERE id NOT LIKE '%q%' ORDER BY code LIMIT 5"
                ),
                {"k": f"q{secrets.token_hex(3)}"},  # copies' ids hold a q, new ids never
            )
        elif kind == "bulk_update":  # many rows in one statement, in two directions at once
            session.execute(
                text(
                    "UPDATE case_file SET risk_level = CASE risk_level WHEN 'high' THEN 'standard'"
                    " ELSE 'high' END, version = version + 1 WHERE status = 'open'"
                )
            )


@pytest.fixture
def people(app: Flask, accounts: dict[Role, Account]) -> dict[str, Account]:
    return {
        "reviewer": accounts[Role.REVIEWER],
        "national": make_user(app, "national.supervisor", Role.SUPERVISOR),
    }


@pytest.mark.parametrize("kind", KINDS)
def test_the_counts_follow_each_kind_of_change(
    app: Flask, people: dict[str, Account], kind: str
) -> None:
    for pick in range(4):
        change(app, people, "file", pick, RiskLevel.HIGH)
    change(app, people, "bare", 0, RiskLevel.HIGH)
    change(app, people, "close", 1, RiskLevel.HIGH)
    check(app)
    before = direct_of(app)
    for pick in range(3):
        change(app, people, kind, pick, RiskLevel.MEDIUM)
        check(app)
    if kind not in ("claim",):  # a claim changes nothing the counts hold
        assert direct_of(app) != before, f"{kind} changed nothing: the test proves nothing"


def direct_of(app: Flask) -> dict[Key, int]:
    with tx(app) as session:
        return direct(session)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(["file", "file", *KINDS]),
            st.integers(0, 30),
            st.sampled_from([RiskLevel.HIGH, RiskLevel.MEDIUM, RiskLevel.STANDARD]),
        ),
        min_size=1,
        max_size=10,
    )
)
def test_the_counts_follow_random_sequences_of_changes(
    app: Flask, people: dict[str, Account], ops: list[tuple[str, int, RiskLevel]]
) -> None:
    # Examples add to the same database: later ones start from what earlier ones left.
    for kind, pick, level in ops:
        change(app, people, kind, pick, level)
        check(app)
    with tx(app) as session:  # and the queue's figures are the counts of its cases
        for name in ("reviewer", "national"):
            me = session.get(User, people[name].id)
            assert me is not None
            scope = [
                c
                for c in session.scalars(select(Case).where(Case.status == "open"))
                if me.region is None or c.region == me.region
            ]
            got = case_queue.queue(session, me, now=NOW)
            assert got.total == got.counts.open == len(scope)
            assert got.counts.high == sum(c.risk_level == RiskLevel.HIGH.value for c in scope)
            overdue = sum(bool(c.deadline_at and c.deadline_at < NOW) for c in scope)
            assert got.counts.overdue == overdue
            closed = case_queue.queue(session, me, case_queue.QueueFilter(closed=True), now=NOW)
            assert closed.total == session.scalar(
                select(func.count())
                .select_from(Case)
                .where(Case.status == "closed", cases.scope_clause(me))
            )


def test_a_transaction_reads_its_own_changes(app: Flask, people: dict[str, Account]) -> None:
    """Before it commits, a writer's counts include its changes (on PostgreSQL, its pending
    rows), and another transaction's do not."""
    change(app, people, "file", 0, RiskLevel.HIGH)
    with tx(app) as session:
        me = session.get(User, people["national"].id)
        assert me is not None
        before = case_queue.queue(session, me, now=NOW).counts.open
        session.add(Case(code="C-own-change"))
        session.flush()
        assert case_queue.queue(session, me, now=NOW).counts.open == before + 1
        assert maintained(session) == direct(session)


# -- the triggers ------------------------------------------------------------------------------


def triggers(session: Session) -> set[str]:
    if session.get_bind().dialect.name == "postgresql":
        query = "SELECT tgname FROM pg_trigger WHERE tgrelid = 'case_file'::regclass"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'case_file'"
    return set(session.execute(text(query)).scalars()) & TRIGGERS


@pytest.mark.parametrize(
    ("dropped", "kind"),
    [
        ("queue_count_insert", "bare"),
        ("queue_count_update", "region"),
        ("queue_count_delete", "delete"),
    ],
)
def test_without_a_trigger_the_counts_go_wrong(
    app: Flask, people: dict[str, Account], database: Database, dropped: str, kind: str
) -> None:
    """The check above fails when a trigger is missing: the counts are the triggers' work."""
    with tx(app) as session:
        assert triggers(session) == TRIGGERS
    change(app, people, "bare", 0, RiskLevel.HIGH)
    change(app, people, "bare", 1, RiskLevel.HIGH)
    check(app)
    on = " ON case_file" if database.engine == "postgresql" else ""
    with tx(app) as session:
        session.execute(text(f"DROP TRIGGER {dropped}{on}"))
    change(app, people, kind, 0, RiskLevel.HIGH)
    with pytest.raises(AssertionError):
        check(app)


def test_the_migration_creates_the_models_triggers() -> None:
    spec = importlib.util.spec_from_file_location("migration_0014", MIGRATION)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert model.trigger_ddl("sqlite") == migration.SQLITE_TRIGGERS
    assert model.trigger_ddl("postgresql") == migration.POSTGRESQL_TRIGGERS


@pytest.fixture(params=["sqlite", "postgresql"])
def created(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A database made by ``metadata.create_all``, not by the migrations."""
    if request.param == "sqlite":
        engine = create_engine("sqlite://", poolclass=StaticPool)
        Base.metadata.create_all(engine)
        yield engine
        engine.dispose()
        return
    server = request.getfixturevalue("pg_server")
    name = f"triage_ca_{secrets.token_hex(5)}"
    engine = make_engine(server.create(name))
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()
    server.drop(name)


def test_create_all_makes_the_triggers_too(created: Engine) -> None:
    with Session(created) as session, session.begin():
        assert triggers(session) == TRIGGERS
        session.add_all(
            [Case(code=f"C-{n}", region=Region.ATYRAU.value if n % 2 else None) for n in range(5)]
        )
    with Session(created) as session, session.begin():
        first = session.scalars(select(Case).order_by(Case.code)).first()
        assert first is not None
        triaging.set_level(first, RiskLevel.HIGH, RULES, provisional=False)
        first.status = CaseStatus.CLOSED.value
    with Session(created) as session, session.begin():
        assert maintained(session) == direct(session)
        assert direct(session)[(CaseStatus.CLOSED.value, "", 0, "")] == 1


# -- writers side by side (PostgreSQL) ---------------------------------------------------------


def test_two_writers_in_opposite_orders_do_not_deadlock(app: Flask, database: Database) -> None:
    """Each adds a case to one region, waits for the other to do the same, then adds one to the
    other's region: counts updated in place would now wait for each other (a deadlock); pending
    changes folded at commit in key order let both commit."""
    if database.engine != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    engine = uow_of(app).engine
    barrier = threading.Barrier(2)
    failures: list[BaseException] = []
    regions = [Region.ABAI.value, Region.ALMATY.value]

    def write(first: str, second: str) -> None:
        try:
            with Session(engine) as session, session.begin():
                session.add(Case(code=f"C-{secrets.token_hex(4)}", region=first))
                session.flush()
                barrier.wait(timeout=10)
                session.add(Case(code=f"C-{secrets.token_hex(4)}", region=second))
                session.flush()
                barrier.wait(timeout=10)
        except BaseException as exc:  # reported by the test below
            failures.append(exc)

    threads = [threading.Thread(target=write, args=order) for order in (regions, regions[::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    with tx(app) as session:
        assert maintained(session) == direct(session)
        assert direct(session)[(CaseStatus.OPEN.value, regions[0], 5, "")] == 2


def test_overdue_is_the_dated_cases_less_those_still_on_time(
    app: Flask, people: dict[str, Account], database: Database
) -> None:
    """Deadlines yesterday, today before and after now, at midnight and in the days ahead, read
    at hours on either side of midnight: overdue is the cases past their deadline, whatever the
    mix. On PostgreSQL the deadlines are written by a session in Almaty's time zone: the counts'
    days are UTC days all the same."""
    for pick in range(8):
        change(app, people, "file", pick, RiskLevel.HIGH)
    offsets = (-25, -15, -5, 0, 5, 12, 15, 25)  # hours from NOW (noon): 12 is midnight
    with tx(app) as session:
        if database.engine == "postgresql":
            session.execute(text("SET LOCAL TIME ZONE 'Asia/Almaty'"))
        found = session.scalars(select(Case).order_by(Case.code)).all()
        for hours, one in zip(offsets, found, strict=True):
            one.deadline_at = NOW + timedelta(hours=hours)
    check(app)
    deadlines = [NOW + timedelta(hours=h) for h in offsets]
    with tx(app) as session:
        me = session.get(User, people["national"].id)
        assert me is not None
        for hours in (-30, -12, -1, 0, 1, 6, 11, 12, 13, 20, 30):
            now = NOW + timedelta(hours=hours)
            got = case_queue.queue(session, me, now=now).counts
            assert got.open == 8
            assert got.overdue == sum(now > due for due in deadlines), f"at {now}"
