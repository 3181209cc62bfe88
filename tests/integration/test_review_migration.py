"""Migration 0005 (the legal basis moves into the sealed payload), on both engines: it drops the
plain column, refuses with a clear message while a decision still holds a value there, and the
downgrade adds the column back empty."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text

from triage.db import make_engine
from triage.instance import current_revision, migrate


@pytest.fixture(params=["sqlite", "postgresql"])
def engine_at_0004(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
        migrate(engine, "0004")
        yield engine
        engine.dispose()
        return
    server = request.getfixturevalue("pg_server")
    name = f"triage_m5_{secrets.token_hex(5)}"
    engine = make_engine(server.create(name))
    migrate(engine, "0004")
    yield engine
    engine.dispose()
    server.drop(name)


def _decision(engine: Engine, legal_basis: str | None) -> None:
    now = "2026-11-25 12:00:00"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO user_account (id, username, password_hash, role, active, "
                "session_epoch, created_at) VALUES (1, 'r', 'x', 'reviewer', true, 0, :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO case_file (id, code, status, risk_level, risk_provisional, "
                "verification, victim_complaint, opened_at, version) VALUES ('c1', 'C-1', "
                "'open', 'standard', true, 'corroborated', false, :now, 1)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO decision (id, case_id, measure, tier, legal_basis, status, "
                "proposed_by, proposed_at, version, payload_version, against_victim_wishes) "
                "VALUES ('d1', 'c1', 'safety_plan', 'supportive', :basis, 'in_effect', 1, :now, "
                "1, 1, false)"
            ),
            {"basis": legal_basis, "now": now},
        )


def _columns(engine: Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("decision")}


def test_the_upgrade_refuses_while_a_decision_holds_a_plain_legal_basis(engine_at_0004):
    _decision(engine_at_0004, "Art. 54")
    with pytest.raises(Exception, match="Migration 0005 refused: 1 decision"):
        migrate(engine_at_0004)
    assert current_revision(engine_at_0004) == "0004"
    assert "legal_basis" in _columns(engine_at_0004)
    with engine_at_0004.begin() as conn:
        conn.execute(text("UPDATE decision SET legal_basis = NULL"))
    migrate(engine_at_0004, "0005")
    assert current_revision(engine_at_0004) == "0005"
    assert "legal_basis" not in _columns(engine_at_0004)
    with engine_at_0004.connect() as conn:
        assert conn.execute(text("SELECT id FROM decision")).scalars().all() == ["d1"]


def test_decisions_without_a_plain_legal_basis_survive_up_and_down(engine_at_0004):
    _decision(engine_at_0004, None)
    migrate(engine_at_0004)
    assert "legal_basis" not in _columns(engine_at_0004)
    migrate(engine_at_0004, "0004", downgrade=True)
    assert "legal_basis" in _columns(engine_at_0004)
    with engine_at_0004.connect() as conn:
        rows = conn.execute(text("SELECT id, legal_basis FROM decision")).all()
    assert [tuple(r) for r in rows] == [("d1", None)]
