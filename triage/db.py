"""The engine, the declarative ``Base``, and one session (one transaction) per request.

SQLite is the embedded default and gets the pragmas that make it safe to share between several
server processes: ``busy_timeout`` first, foreign keys on, and every transaction opened with
``BEGIN IMMEDIATE`` so that a request that reads and then writes cannot fail halfway with
"database is locked" when another process wrote in between. WAL mode is switched on once, at
init (see ``prepare_sqlite_file``), not per connection.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 15_000
#: Execution option marking a connection that only reads (long exports, chain verification):
#: on SQLite it begins a deferred transaction instead of taking the write lock.
READ_ONLY = "triage_read_only"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Python's sqlite3 would open transactions itself; let the "begin" hook below do it.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA secure_delete = ON")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")  # a reader; WAL lets it run beside the writer
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with triage's connection settings for that backend."""
    if url.startswith("sqlite"):
        engine = create_engine(url, poolclass=NullPool, **kwargs)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def prepare_sqlite_file(engine: Engine) -> None:
    """Settings stored in an SQLite file itself, applied once at init.

    Full auto-vacuum (with ``secure_delete`` on every connection) makes sure a deleted data key's
    bytes are overwritten rather than left in a free page; WAL lets several processes read while
    one writes. Both are set here, outside any transaction, because they cannot be set inside one.
    """
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        if engine.url.database and engine.url.database != ":memory:":
            # Only the instance's owner may read it (the WAL and shared-memory files follow).
            os.chmod(engine.url.database, 0o600)
        cursor = raw.cursor()
        (auto_vacuum,) = cursor.execute("PRAGMA auto_vacuum").fetchone()
        if auto_vacuum != 1:  # 1 is FULL; changing it on an existing file takes a VACUUM
            cursor.execute("PRAGMA auto_vacuum = FULL")
            cursor.execute("VACUUM")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()
    finally:
        raw.close()


def init_app(app: Flask, engine: Engine) -> None:
    app.extensions["triage.engine"] = engine
    app.extensions["triage.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def engine() -> Engine:
    return engine_of(current_app)


def engine_of(app: Flask) -> Engine:
    result: Engine = app.extensions["triage.engine"]
    return result


def session() -> Session:
    """The session of the current request or command; its transaction is committed by the caller
    that opened the request (``commit_request``), never by business code."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["triage.sessionmaker"]()
    result: Session = g.db_session
    return result


def has_session() -> bool:
    return "db_session" in g


def commit_request() -> None:
    if "db_session" in g:
        g.db_session.commit()


def rollback_request() -> None:
    if "db_session" in g:
        g.db_session.rollback()


def _close_session(_exc: BaseException | None) -> None:
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.rollback()
        db_session.close()


@contextmanager
def read_only(app: Flask) -> Iterator[Session]:
    """A session for a long read that must not hold SQLite's write lock (exports, verify)."""
    bound = engine_of(app).execution_options(**{READ_ONLY: True})
    with Session(bound, expire_on_commit=False) as db_session, db_session.begin():
        yield db_session


@contextmanager
def transaction(app: Flask) -> Iterator[Session]:
    """One transaction for a command or a background job: committed if the block ends normally."""
    maker: sessionmaker[Session] = app.extensions["triage.sessionmaker"]
    with maker() as db_session, db_session.begin():
        yield db_session
