"""The engine and the declarative ``Base``. Transactions are opened by the unit of work
(``triage.uow``), never here.

SQLite is the embedded default and gets the pragmas that make it safe to share between several
server processes: ``busy_timeout`` first, foreign keys on, and every transaction opened with
``BEGIN IMMEDIATE`` so that a request that reads and then writes cannot fail halfway with
"database is locked" when another process wrote in between. WAL mode is switched on once, at
init (see ``prepare_sqlite_file``), not per connection.

Both engines keep a pool of open connections (``QueuePool``) instead of opening one per
request: a connection's setup (the pragmas, PostgreSQL's authentication) is paid once, and a
connection returned to the pool is rolled back and, on SQLite, made writable again (``uow.read``
puts it in ``query_only``). A pool never crosses a fork: a worker process that inherits one
opens connections of its own (``_not_inherited``).
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event, exc
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import QueuePool

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


def _sqlite_checkin(dbapi_connection: Any, _record: Any) -> None:
    # A reader's block (``uow.read``) switched the connection to query_only; the next block that
    # checks it out may write.
    if dbapi_connection is not None:
        dbapi_connection.execute("PRAGMA query_only = OFF")


def _remember_pid(_dbapi_connection: Any, record: Any) -> None:
    record.info["pid"] = os.getpid()


def _not_inherited(_dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """A connection opened before a fork (gunicorn's master, a test's parent) is dropped in the
    child rather than shared with the parent (SQLAlchemy's "pools and multiprocessing")."""
    pid = os.getpid()
    if record.info.get("pid") != pid:
        record.dbapi_connection = proxy.dbapi_connection = None
        raise exc.DisconnectionError(
            f"connection record belongs to pid {record.info.get('pid')}, attempting to check out "
            f"in pid {pid}"
        )


def make_engine(
    url: str,
    *,
    pool_size: int = 5,
    max_overflow: int = 10,
    statement_timeout_ms: int = 0,
    **kwargs: Any,
) -> Engine:
    """An engine for ``url`` with triage's connection settings for that backend.

    ``pool_size`` connections stay open per process, ``max_overflow`` more are opened at a burst
    and closed after it. On PostgreSQL a connection is checked before use (``pool_pre_ping``: a
    database restart costs one reconnect, not an error page) and ``statement_timeout_ms``, when
    set, makes the server cancel any statement that runs longer.
    """
    pool: dict[str, Any] = {"pool_size": pool_size, "max_overflow": max_overflow}
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in url
        engine = create_engine(
            url, **({} if memory else {"poolclass": QueuePool, **pool}), **kwargs
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        event.listen(engine, "checkin", _sqlite_checkin)
    else:
        if statement_timeout_ms > 0:
            options = f"-c statement_timeout={int(statement_timeout_ms)}"
            kwargs.setdefault("connect_args", {})["options"] = options
        engine = create_engine(url, pool_pre_ping=True, pool_recycle=3600, **pool, **kwargs)
    event.listen(engine, "connect", _remember_pid)
    event.listen(engine, "checkout", _not_inherited)
    return engine


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
