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
from sqlalchemy import Engine, inspect

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
