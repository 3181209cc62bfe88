"""The engine's pool: connections are reused across blocks, a reader's ``query_only`` never
reaches the next writer on the same pooled connection, and a forked process does not use its
parent's connections."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.pool import QueuePool

from tests.conftest import Database
from triage.crypto import Keyring
from triage.db import make_engine
from triage.uow import UnitOfWork


def test_one_pooled_connection_serves_a_reader_then_a_writer(database: Database) -> None:
    engine = make_engine(database.url, pool_size=1, max_overflow=0)
    try:
        assert isinstance(engine.pool, QueuePool)
        uow = UnitOfWork(engine, Keyring.generate())
        seen = set()
        for _ in range(3):
            with uow.read() as session:
                seen.add(id(session.connection().connection.dbapi_connection))
            with uow.begin() as session:  # the same connection, writable again
                seen.add(id(session.connection().connection.dbapi_connection))
                session.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS t (x INTEGER)"))
                session.execute(text("INSERT INTO t VALUES (1)"))
        assert len(seen) == 1
    finally:
        engine.dispose()


def test_a_forked_child_opens_its_own_connection(database: Database, tmp_path: Path) -> None:
    engine = make_engine(database.url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            parent = id(conn.connection.dbapi_connection)
        out = tmp_path / "child"
        pid = os.fork()
        if pid == 0:  # the child: check out, and say whether it got the parent's connection
            try:
                with engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                    out.write_text(str(id(conn.connection.dbapi_connection) == parent))
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        assert out.read_text() == "False"
        with engine.connect() as conn:  # the parent's connection still works
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()
