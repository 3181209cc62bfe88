"""SQLite's writers queue on a file lock before ``BEGIN IMMEDIATE`` (``triage.db._Writers``):
held from the write transaction's start to its end, given back after a commit, a rollback, or
a connection lost mid-way, never taken by a reader, and never waited on without end."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from triage import db
from triage.crypto import Keyring
from triage.db import make_engine
from triage.uow import UnitOfWork


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite3'}", pool_size=2, max_overflow=2)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))
    yield engine
    engine.dispose()


def _lock_path(engine: Engine) -> str:
    return f"{engine.url.database}-writers.lock"


def _held(engine: Engine) -> bool:
    """Whether some writer holds the file lock (tried from a descriptor of our own)."""
    fd = os.open(_lock_path(engine), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_a_writer_holds_the_lock_until_it_commits_or_rolls_back(engine: Engine) -> None:
    uow = UnitOfWork(engine, Keyring.generate())
    with uow.begin() as session:
        session.execute(text("UPDATE counter SET n = n + 1"))
        assert _held(engine)
    assert not _held(engine)

    with pytest.raises(RuntimeError), uow.begin() as session:
        session.execute(text("UPDATE counter SET n = n + 1"))
        assert _held(engine)
        raise RuntimeError("abandon")
    assert not _held(engine)
    with uow.read() as session:
        assert session.execute(text("SELECT n FROM counter")).scalar_one() == 1
        assert not _held(engine)  # a reader never takes it


def test_a_connection_lost_mid_transaction_gives_the_lock_back(engine: Engine) -> None:
    conn = engine.connect()
    transaction = conn.begin()
    conn.execute(text("UPDATE counter SET n = n + 1"))
    assert _held(engine)
    conn.invalidate()
    assert not _held(engine)
    transaction.rollback()
    conn.close()
    with engine.begin() as again:  # the next writer is not kept waiting
        assert again.execute(text("SELECT n FROM counter")).scalar_one() == 0


def test_concurrent_writers_lose_nothing(engine: Engine) -> None:
    uow = UnitOfWork(engine, Keyring.generate())
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(50):
                with uow.begin() as session:
                    n = session.execute(text("SELECT n FROM counter")).scalar_one()
                    time.sleep(0.0005)  # a read, some work, then the write: a lost update
                    session.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 200
    assert not _held(engine)


def test_a_stuck_holder_is_waited_for_only_as_long_as_sqlite_would(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 200)
    fd = os.open(_lock_path(engine), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a holder that never lets go (and holds no SQLite lock)
    try:
        started = time.monotonic()
        with engine.begin() as conn:
            conn.execute(text("UPDATE counter SET n = n + 1"))
        waited = time.monotonic() - started
        assert 0.2 <= waited < 5
    finally:
        os.close(fd)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 1
