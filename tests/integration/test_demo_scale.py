"""``triage demo --reports N``: a year of synthetic reports filed and worked on through the
services, on SQLite and PostgreSQL.

One run of 300 reports per engine (a module fixture) is read by most tests: what it made is
spread across sources, regions, levels, verification states and decisions as intended; nothing
personal is stored in plaintext; the audit chain verifies; four eyes held on every approval; the
records are back-dated while the audit events are not. A second run with the same seed on a
fresh database gives the same counts; the command refuses a bad ``--reports`` clearly.
"""

from __future__ import annotations

import json
import secrets
import shutil
import sqlite3
import subprocess
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from tests.conftest import FAST_HASH, PgServer
from triage import audit, demo, demo_scale, normalise
from triage.cli import main
from triage.config import Settings
from triage.crypto import Keyring, write_keyring
from triage.demo_synth import Planned
from triage.instance import open_instance
from triage.legal import default_grounds
from triage.measures import MEASURES
from triage.models import Assessment, AuditEvent, Case, Decision, Report, User
from triage.uow import UnitOfWork
from triage.vocab import DecisionStatus, Region, ReportStatus, Role

T = TypeVar("T")

COUNT = 300
SEED = 7
#: The simulation's clock: fixed, so that two runs can be compared (and in the past, since
#: intake refuses dates in the future).
NOW = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
PG_DUMP = shutil.which("pg_dump") or "/usr/bin/pg_dump"


@dataclass
class Instance:
    """A fresh migrated database of one engine and the unit of work on it."""

    engine: str
    settings: Settings
    uow: UnitOfWork
    path: Path | None = None


def _instance(
    request: pytest.FixtureRequest, engine: str, folder: Path, keyring: Keyring
) -> Instance:
    path = None
    if engine == "sqlite":
        path = folder / "triage.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        server: PgServer = request.getfixturevalue("pg_server")
        name = f"triage_demo_{secrets.token_hex(6)}"
        url = server.create(name, template=request.getfixturevalue("pg_template"))
        request.addfinalizer(lambda: server.drop(name))
    write_keyring(folder / "keyring.json", keyring)
    settings = Settings(
        instance_path=folder,
        database_url=url,
        keyring_path=str(folder / "keyring.json"),
        testing=True,
        **FAST_HASH,  # type: ignore[arg-type]
    )
    uow = open_instance(settings)
    request.addfinalizer(uow.engine.dispose)
    return Instance(engine, settings, uow, path)


class Recording(demo_scale.Simulation):
    """The simulation, keeping every report it files, so a test can look for its words."""

    def __init__(self, uow: UnitOfWork, count: int, **options: Any) -> None:
        super().__init__(uow, count, **options)
        self.planned: list[Planned] = []

    def _file(self, session: Session, group: list[Planned]) -> None:
        self.planned.extend(group)
        super()._file(session, group)


@dataclass
class Run:
    instance: Instance
    outcome: demo_scale.Outcome
    planned: list[Planned]
    started: str
    census: demo_scale.Census = field(init=False)

    def __post_init__(self) -> None:
        with self.instance.uow.read() as session:
            self.census = demo_scale.census(session)


def _run(instance: Instance, count: int = COUNT) -> Run:
    started = audit.format_time(datetime.now(UTC))
    with instance.uow.begin() as session:
        demo.ensure_accounts(session)
        demo_scale.ensure_staff(session)
    simulation = Recording(instance.uow, count, seed=SEED, now=NOW, batch=40)
    outcome = simulation.run()
    return Run(instance, outcome, simulation.planned, started)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def ran(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, keyring: Keyring
) -> Run:
    """One demo run of ``COUNT`` reports, shared by the tests that only read what it made."""
    folder = tmp_path_factory.mktemp("demo-scale")
    return _run(_instance(request, request.param, folder, keyring))


def _read(run: Run, query: Callable[[Session], T]) -> T:
    with run.instance.uow.read() as session:
        return query(session)


# -- what a run makes ---------------------------------------------------------------------------


def test_every_report_is_filed_and_some_repeat_reports_are_linked(ran: Run) -> None:
    assert ran.outcome.reports == COUNT == ran.census.reports["all"]
    repeats = [p for p in ran.planned if p.repeat]
    assert repeats, "the synthetic families are never reported twice"
    linked = _read(
        ran,
        lambda s: s.scalar(select(func.count()).where(Report.status == ReportStatus.LINKED.value)),
    )
    assert linked == ran.outcome.linked
    # Some repeat reports link to their family's case; not all can (a vague report, a closed case).
    assert 0 < ran.outcome.linked < len(repeats)
    assert ran.census.cases["all"] == COUNT - ran.outcome.linked


def test_reports_are_spread_across_sources_regions_and_languages(ran: Run) -> None:
    reports = ran.census.reports
    shares = {k: reports[f"source.{k}"] / COUNT for k in ("direct", "media", "online")}
    assert 0.30 < shares["direct"] < 0.55, shares
    assert 0.12 < shares["media"] < 0.35, shares
    assert 0.25 < shares["online"] < 0.48, shares
    regions = Counter({r.value: reports[f"region.{r.value}"] for r in Region})
    assert len(+regions) >= 16, regions  # most of the twenty, even in 300 reports
    # Weighted by population: the big cities and Turkistan lead, Ulytau trails.
    assert regions["ulytau"] < regions["almaty"] and regions["ulytau"] < regions["turkistan"]
    languages = Counter(p.language for p in ran.planned)
    assert {"ru", "kk", "en", "mixed"} <= set(languages), languages
    assert languages["ru"] > languages["kk"] > languages["en"]


def test_no_step_of_the_work_was_refused(ran: Run) -> None:
    """The simulation survives a refused step (rules change); here, none may be refused."""
    assert ran.outcome.refused == {}


def test_cases_have_every_level_verification_state_and_decision(ran: Run) -> None:
    cases = ran.census.cases
    for level in ("high", "medium", "standard"):
        assert cases[f"level.{level}"] >= COUNT // 20, cases
    for state in ("unverified", "corroborated", "unfounded"):
        assert cases[f"verification.{state}"] >= COUNT // 30, cases
    assert 0 < cases["status.closed"] < cases["all"], cases
    found = ran.census.decisions
    assert found["status.in_effect"] > found["status.rejected"] > 0, found
    assert found["status.withdrawn"] > 0, found
    measures = {k for k in found if k.startswith("measure.")}
    assert len(measures) >= 8, measures  # many measures, not one or two
    work = ran.outcome.work
    assert work["assessed"] > 0 and work["followed_up"] > 0 and work["approved"] > 0, work


def test_every_approval_had_four_eyes_and_every_rejection_a_supervisor(ran: Run) -> None:
    def decided(session: Session) -> list[tuple[str, int, int | None, int | None, str]]:
        rows = session.execute(
            select(
                Decision.status,
                Decision.proposed_by,
                Decision.approved_by,
                Decision.rejected_by,
                User.role,
            ).join(User, User.id == Decision.proposed_by)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]

    supervisor = _read(
        ran, lambda s: s.scalar(select(User.id).where(User.username == "supervisor"))
    )
    rows = _read(ran, decided)
    assert isinstance(rows, list)
    approved = [r for r in rows if r[2] is not None]
    assert approved
    assert all(r[2] == supervisor != r[1] for r in approved)
    assert all(r[3] == supervisor for r in rows if r[0] == DecisionStatus.REJECTED.value)
    assert {r[4] for r in rows} == {Role.REVIEWER.value}  # proposals come from reviewers


def test_every_decision_carries_legal_grounds_from_its_measures_list(ran: Run) -> None:
    """As the decision form offers them: a measure's grounds from ``grounds.toml``, the
    measure's own article among them; a referral to investigators cites the Criminal Code."""
    legal = default_grounds()
    rows = _read(ran, lambda s: s.execute(select(Decision.measure, Decision.grounds)).all())
    assert isinstance(rows, list) and rows
    cited: Counter[str] = Counter()
    for measure, grounds in rows:
        offered = {g.code for g in legal.for_measure(measure)}
        assert bool(grounds) == bool(offered), (measure, grounds)
        assert set(grounds or ()) <= offered, (measure, grounds)
        if MEASURES[measure].aimed_at_aggressor and measure != "criminal_referral":
            assert any(len(legal.grounds[c].measures) == 1 for c in grounds), (measure, grounds)
        cited.update(grounds or ())
    referrals = [g for m, g in rows if m == "criminal_referral"]
    assert referrals and all(c.startswith("cc.") for g in referrals for c in g)
    assert {"ldv.20", "ldv.17", "ldv.6"} <= set(cited), cited


def test_records_are_back_dated_and_the_audit_events_are_not(ran: Run) -> None:
    def dates(session: Session) -> tuple[datetime, datetime, int, str, int]:
        first, last = session.execute(
            select(func.min(Report.received_at), func.max(Report.received_at))
        ).one()
        mismatched = session.scalar(
            select(func.count())
            .select_from(Case)
            .join(Report, Report.case_id == Case.id)
            .where(Report.status != ReportStatus.LINKED.value, Report.received_at != Case.opened_at)
        )
        earliest_event = session.scalar(
            select(func.min(AuditEvent.at)).where(AuditEvent.action == "report.filed")
        )
        later = session.scalar(select(func.count()).where(Decision.proposed_at > NOW))
        return first, last, mismatched or 0, earliest_event or "", later or 0

    first, last, mismatched, earliest_event, later = _read(ran, dates)
    assert NOW - timedelta(days=367) <= first < NOW - timedelta(days=200)
    assert NOW - timedelta(days=10) < last <= NOW
    assert mismatched == 0  # a case opens when its first report arrives
    assert earliest_event >= ran.started  # the chain records when the demo ran, truthfully
    assert later == 0  # nothing happens after the simulation's "now"


def test_the_audit_chain_verifies_and_records_every_report(ran: Run) -> None:
    def check(session: Session) -> tuple[audit.Verdict, int]:
        filed = session.scalar(select(func.count()).where(AuditEvent.action == "report.filed"))
        return audit.verify(session), filed or 0

    verdict, filed = _read(ran, check)
    assert verdict.ok, str(verdict)
    assert verdict.count == ran.census.events
    assert filed == COUNT


def _stored_bytes(instance: Instance) -> bytes:
    if instance.path is not None:
        data = b""
        for suffix in ("", "-wal"):
            part = Path(f"{instance.path}{suffix}")
            if part.exists():
                data += part.read_bytes()
        with sqlite3.connect(instance.path) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return data + instance.path.read_bytes()
    url = make_url(instance.settings.database_url)
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    done = subprocess.run([PG_DUMP, "--no-owner", libpq], capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def _personal_values(planned: list[Planned]) -> set[str]:
    """What the reports say about people, as typed and in the blind index's normal forms."""
    found: set[str] = set()
    for p in planned:
        raw = p.raw
        for key in ("narrative", "text", "headline", "captured_text", "wishes", "safe_contact"):
            if key in raw:
                found.add(raw[key][:40])
        for key in ("url", "post_url", "author_handle", "reporter_name", "reporter_contact"):
            if key in raw:
                found.add(raw[key])
        for person in (raw.get("victim", {}), raw.get("aggressor", {})):
            if "name" in person and len(person["name"]) >= 6:
                found.update({person["name"], normalise.name(person["name"])})
            if "phone" in person:
                found.update({person["phone"], normalise.phone(person["phone"])})
            if "iin" in person:
                found.add(normalise.iin(person["iin"]))
            if "address" in person:
                found.add(person["address"])
    return found


def test_nothing_personal_is_stored_in_plaintext(ran: Run) -> None:
    stored = _stored_bytes(ran.instance)
    # Controls: the plain columns are there to be found, so the scan sees what is stored.
    assert b"karaganda" in stored and b"corroborated" in stored
    values = sorted(_personal_values(ran.planned))
    assert len(values) > COUNT
    leaked = [v for v in values if v.encode() in stored or v.encode().hex().encode() in stored]
    assert leaked == []


# -- the same seed, the same demo --------------------------------------------------------------


@pytest.fixture
def another(ran: Run, request: pytest.FixtureRequest, tmp_path: Path, keyring: Keyring) -> Instance:
    """A fresh database of the engine ``ran`` used."""
    return _instance(request, ran.instance.engine, tmp_path, keyring)


def test_the_same_seed_gives_the_same_demo(ran: Run, another: Instance) -> None:
    again = _run(another)
    assert [p.raw for p in again.planned] == [p.raw for p in ran.planned]
    assert again.census == ran.census
    assert again.outcome.work == ran.outcome.work


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path, keyring: Keyring) -> Instance:
    return _instance(request, request.param, tmp_path, keyring)


def test_a_second_run_adds_other_people_and_sources(fresh: Instance) -> None:
    first = _run(fresh, count=40)
    second = _run(fresh, count=40)  # the same seed: a source filed twice would be refused
    assert second.census.reports["all"] == 80
    assert [p.raw for p in second.planned] != [p.raw for p in first.planned]


class Reckless(demo_scale.Simulation):
    """A reviewer who asks for a talk with the aggressor before anything is corroborated: the
    rules refuse it, in the middle of her session on the case."""

    def _measures(self, case: Case, track: demo_scale.Track) -> list[str]:
        chosen = super()._measures(case, track)
        return ["preventive_talk", *chosen] if case.verification == "unverified" else chosen


def test_a_step_the_rules_refuse_writes_nothing_and_the_run_goes_on(fresh: Instance) -> None:
    with fresh.uow.begin() as session:
        demo.ensure_accounts(session)
        demo_scale.ensure_staff(session)
    outcome = Reckless(fresh.uow, 80, seed=SEED, now=NOW, batch=40).run()
    assert outcome.reports == 80
    assert outcome.refused.get("UnverifiedCase", 0) > 0

    def state(session: Session) -> tuple[audit.Verdict, int, int, int]:
        held = session.scalar(select(func.count()).where(Case.claimed_by.is_not(None)))
        assessed = session.scalar(select(func.count()).select_from(Assessment))
        on_unverified = session.scalar(
            select(func.count())
            .select_from(Decision)
            .join(Case, Case.id == Decision.case_id)
            .where(Decision.measure == "preventive_talk", Case.verification == "unverified")
        )
        return audit.verify(session), held or 0, assessed or 0, on_unverified or 0

    with fresh.uow.read() as session:
        verdict, held, assessed, on_unverified = state(session)
    assert verdict.ok, str(verdict)
    assert on_unverified == 0  # the refused proposals left nothing
    # What the reviewer did before the refusal stands, as her earlier requests would: her
    # assessment, and her claim (the session on the case ends there, so nobody releases it).
    assert assessed == outcome.work["assessed"]
    assert held == outcome.refused["UnverifiedCase"]


def test_a_step_rolled_back_to_its_savepoint_leaves_the_chain_whole(fresh: Instance) -> None:
    """Each step of the demo's work runs in a savepoint; the chain's last link, which a
    transaction remembers once it has appended, must not outlive a savepoint rolled back."""

    def note(session: Session, n: int) -> None:
        audit.append(session, actor="system", action="audit.verified", details={"count": n})

    with fresh.uow.begin() as session:
        note(session, 1)
        with pytest.raises(RuntimeError), session.begin_nested():
            note(session, 2)
            raise RuntimeError("refused")
        note(session, 3)
        with session.begin_nested():
            note(session, 4)
        note(session, 5)
    with fresh.uow.read() as session:
        verdict = audit.verify(session)
        kept = session.scalars(
            select(AuditEvent.details).where(AuditEvent.action == "audit.verified")
        ).all()
    assert verdict.ok, str(verdict)
    assert [json.loads(d)["count"] for d in kept] == [1, 3, 4, 5]


# -- the command ---------------------------------------------------------------------------------


def _env(settings: Settings) -> dict[str, str]:
    return {
        "TRIAGE_INSTANCE_PATH": str(settings.instance_path),
        "TRIAGE_DATABASE_URL": settings.database_url,
        "TRIAGE_KEYRING_PATH": settings.keyring_path,
        **{f"TRIAGE_{k.upper()}": str(v) for k, v in FAST_HASH.items()},
    }


@pytest.mark.parametrize("value", ["abc", "0", "-5", "2.5", "10000001"])
def test_a_bad_number_of_reports_is_refused_clearly(value: str) -> None:
    result = CliRunner().invoke(main, ["demo", "--reports", value])
    assert result.exit_code == 2
    assert "Invalid value for '--reports'" in result.output
    assert "Traceback" not in result.output


def test_the_command_files_the_reports_and_says_what_it_made(fresh: Instance) -> None:
    result = CliRunner().invoke(
        main, ["demo", "--reports", "30", "--seed", "3"], env=_env(fresh.settings)
    )
    assert result.exit_code == 0, result.output
    assert "reviewer.almaty" in result.output  # the regional reviewers, with their passwords
    assert "Demo reports filed now: 5." in result.output
    assert "Synthetic reports filed: 30 " in result.output
    assert "Audit events: " in result.output
    # Not a terminal: the progress bar says its label once and draws nothing.
    assert result.output.count("Synthetic reports") == 2
    with fresh.uow.read() as session:
        assert session.scalar(select(func.count()).select_from(Report)) == 35


# -- the batch desk writes what the services write ---------------------------------------------


def _stored(instance: Instance) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the demo's work writes, by table, in key order — without what is random by
    design (ciphertexts, wrapped keys) or dated by the clock of the run (the audit events' time
    and so their hashes; the data keys' creation)."""
    from sqlalchemy import LargeBinary

    from triage.db import Base
    from triage.models.queue_count import QueueCount

    skipped = {"user_account", "alembic_version"}
    found: dict[str, list[tuple[Any, ...]]] = {}
    with instance.uow.read() as session:
        for table in Base.metadata.sorted_tables:
            if table.name in skipped:
                continue
            columns = [
                c
                for c in table.columns
                if not isinstance(c.type, LargeBinary)
                and (table.name, c.name)
                not in {
                    ("audit_event", "at"),
                    ("audit_event", "prev_hash"),
                    ("audit_event", "hash"),
                    ("data_key", "created_at"),
                }
            ]
            query = select(*columns).order_by(*table.primary_key.columns)
            found[table.name] = [tuple(row) for row in session.execute(query)]
        # The queue's counts are kept by triggers on every write of a case: their rows' ids and
        # the keys that fell back to zero tell how often the cases were written, not what they
        # hold.
        counted = select(
            QueueCount.status, QueueCount.region, QueueCount.queue_rank, QueueCount.cases
        )
        found["queue_count"] = sorted(tuple(row) for row in session.execute(counted) if row.cases)
    return found


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_the_batch_desk_stores_what_the_services_store_one_by_one(
    engine: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    keyring: Keyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same demo run twice — its work through ``review.batch.Batch``, then through the
    review services one call at a time (``OneByOne``) — with the same ids and case codes, stores
    the same rows, versions and audit events (all but the run's own clock)."""
    import uuid

    from triage.intake import bulk
    from triage.review.batch import Batch, OneByOne

    stored = {}
    for name, desk in (("batch", Batch), ("one_by_one", OneByOne)):
        (tmp_path / name).mkdir()
        instance = _instance(request, engine, tmp_path / name, keyring)
        serial = iter(range(1, 10**9))
        monkeypatch.setattr(uuid, "uuid4", lambda s=serial: uuid.UUID(int=next(s)))
        codes = iter(range(1, 10**9))
        monkeypatch.setattr(bulk, "new_case_code", lambda c=codes: f"C-{next(c):09d}")
        with instance.uow.begin() as session:
            demo.ensure_accounts(session)
            demo_scale.ensure_staff(session)
        outcome = demo_scale.Simulation(
            instance.uow, 120, seed=SEED, now=NOW, batch=40, desk=desk
        ).run()
        assert outcome.refused == {}
        stored[name] = _stored(instance)
    batch, one_by_one = stored["batch"], stored["one_by_one"]
    assert batch.keys() == one_by_one.keys()
    for table in batch:
        assert batch[table] == one_by_one[table], table
    assert len(batch["decision"]) > 10 and len(batch["audit_event"]) > 1000
    versions = Counter(row[-1] for row in batch["case_file"])  # not all at 1: edits bumped them
    assert len(versions) > 2, versions
