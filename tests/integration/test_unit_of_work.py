"""The unit of work on both engines: a block commits when it ends, rolls back on any exception,
and a read block cannot write; the sessions it opens carry the instance's keyring."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from triage import audit, sealed
from triage.models import AuditEvent
from triage.uow import keyring_of, passwords_of
from triage.web.deps import uow_of


def _events(app: Flask) -> int:
    with uow_of(app).read() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def _append(session, marker: str) -> None:  # type: ignore[no-untyped-def]
    audit.append(session, actor="system", action="audit.verified", details={"marker": marker})


def test_a_block_commits_when_it_ends(app: Flask) -> None:
    before = _events(app)
    with uow_of(app).begin() as session:
        _append(session, "kept")
    assert _events(app) == before + 1


def test_an_exception_rolls_the_whole_block_back(app: Flask) -> None:
    before = _events(app)
    with pytest.raises(RuntimeError), uow_of(app).begin() as session:
        _append(session, "first")
        session.flush()
        _append(session, "second")
        raise RuntimeError("refused")
    assert _events(app) == before


def test_a_read_block_cannot_write(app: Flask) -> None:
    before = _events(app)
    with pytest.raises(DBAPIError), uow_of(app).read() as session:
        _append(session, "sneaked")
        session.flush()
    assert _events(app) == before


def test_a_read_block_leaves_the_next_block_writable(app: Flask) -> None:
    with uow_of(app).read() as session:
        session.scalar(select(func.count()).select_from(AuditEvent))
    with uow_of(app).begin() as session:
        _append(session, "after a read")
    assert _events(app) >= 1


def test_sessions_carry_the_instances_keyring_and_hasher(app: Flask) -> None:
    uow = uow_of(app)
    with uow.read() as session:
        assert keyring_of(session) is uow.keyring
        assert sealed.keyring(session) is uow.keyring.current
        assert passwords_of(session) is uow.passwords
