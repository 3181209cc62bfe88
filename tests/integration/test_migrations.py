"""Migrations: from empty to head and one step down and back, on both engines, with no drift
between the migrated schema and the models."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from triage.db import Base, make_engine
from triage.instance import alembic_config, current_revision, head_revision, migrate


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
        yield engine
        engine.dispose()
        return
    server = request.getfixturevalue("pg_server")
    name = f"triage_mig_{secrets.token_hex(5)}"
    engine = make_engine(server.create(name))
    yield engine
    engine.dispose()
    server.drop(name)


def _drift(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_upgrade_from_empty_matches_the_models(empty_engine: Engine) -> None:
    assert current_revision(empty_engine) is None
    migrate(empty_engine)
    assert current_revision(empty_engine) == head_revision()
    assert _drift(empty_engine) == []


def test_one_step_down_and_back_up(empty_engine: Engine) -> None:
    migrate(empty_engine)
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_revision(head_revision())
    previous = head.down_revision
    migrate(empty_engine, "-1", downgrade=True)
    assert current_revision(empty_engine) == previous
    migrate(empty_engine)
    assert current_revision(empty_engine) == head_revision()
    assert _drift(empty_engine) == []


def test_downgrade_to_empty_removes_every_table(empty_engine: Engine) -> None:
    migrate(empty_engine)
    migrate(empty_engine, "base", downgrade=True)
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}


def test_the_chain_is_linear() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1
    assert len(script.get_bases()) == 1


def test_0014_counts_the_cases_there_are_and_its_triggers_keep_counting(
    empty_engine: Engine,
) -> None:
    """Upgraded over existing cases, the queue's counts are those cases' counts; the triggers
    then follow new changes; downgraded, the table and the triggers are gone."""
    migrate(empty_engine, "0013")
    opened = "2026-11-01 12:00:00"  # the same UTC day in any server's time zone
    row = (
        "INSERT INTO case_file (id, code, region, status, risk_level, risk_provisional,"
        " verification, victim_complaint, opened_at, deadline_at, version) VALUES"
        " (:id, :id, :region, :status, :level, false, 'unverified', false, :opened, :due, 1)"
    )
    with empty_engine.begin() as conn:
        for n, (region, status, level, due) in enumerate(
            [
                ("atyrau", "open", "high", opened),
                ("atyrau", "open", "high", opened),
                (None, "open", "standard", None),
                ("abai", "closed", "medium", opened),
            ]
        ):
            conn.execute(
                text(row),
                {
                    "id": f"C-{n}",
                    "region": region,
                    "status": status,
                    "level": level,
                    "opened": opened,
                    "due": due,
                },
            )
    migrate(empty_engine, "0014")
    counts = (  # one row per key that has cases: none at zero, none pending
        "SELECT status, region, queue_rank, due_day, cases FROM queue_count"
        " ORDER BY status, region, queue_rank, due_day"
    )
    with empty_engine.begin() as conn:
        assert conn.execute(text(counts)).all() == [
            ("closed", "abai", 2, "", 1),
            ("open", "", 5, "", 1),
            ("open", "atyrau", 0, "2026-11-01", 2),
        ]
        if empty_engine.dialect.name == "postgresql":  # vacuumed after a thousand dead rows
            options = "SELECT reloptions FROM pg_class WHERE relname = 'queue_count'"
            assert set(conn.execute(text(options)).scalar_one()) == {
                "autovacuum_vacuum_scale_factor=0",
                "autovacuum_vacuum_threshold=1000",
            }
        conn.execute(text("UPDATE case_file SET status = 'closed' WHERE id = 'C-0'"))
        conn.execute(text("DELETE FROM case_file WHERE id = 'C-2'"))
    with empty_engine.begin() as conn:
        assert conn.execute(text(counts)).all() == [
            ("closed", "abai", 2, "", 1),
            ("closed", "atyrau", 0, "", 1),
            ("open", "atyrau", 0, "2026-11-01", 1),
        ]
    migrate(empty_engine, "0013", downgrade=True)
    assert "queue_count" not in inspect(empty_engine).get_table_names()
    with empty_engine.begin() as conn:  # no trigger left behind to write to a missing table
        conn.execute(text("UPDATE case_file SET region = 'abai'"))
        conn.execute(text("DELETE FROM case_file"))
