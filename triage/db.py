"""The engine and the declarative ``Base``. Transactions are opened by the unit of work
(``triage.uow``), never here.

SQLite is the embedded default and gets the pragmas that make it safe to share between several
server processes: ``busy_timeout`` first, foreign keys on, and every transaction opened with
``BEGIN IMMEDIATE`` so that a request that reads and then writes cannot fail halfway with
"database is locked" when another process wrote in between; before it, triage's writers queue on
a file lock beside the database (``<file>-writers.lock``, ``_Writers``), so a waiting writer
starts within a millisecond of the other's commit instead of sleeping in SQLite's busy handler.
WAL mode is switched on once, at init (see ``prepare_sqlite_file``), not per connection.

Both engines keep a pool of open connections (``QueuePool``) instead of opening one per
request: a connection's setup (the pragmas, PostgreSQL's authentication) is paid once, and a
connection returned to the pool is rolled back and, on SQLite, made writable again (``uow.read``
puts it in ``query_only``). A pool never crosses a fork: a worker process that inherits one
opens connections of its own (``_not_inherited``).
"""

from __future__ import annotations

import fcntl
import os
import time
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


#: Where a connection that holds the writers' file lock keeps its descriptor (the connection
#: record's ``info``, which lives as long as the DBAPI connection).
_WRITER_FD = "triage.writer_fd"


class _Writers:
    """The writers of one SQLite file queue on a file lock (``flock``) before ``BEGIN
    IMMEDIATE``, and give it back right after their ``COMMIT`` or ``ROLLBACK``.

    SQLite's own busy handler waits for the write lock by sleeping — 1, 2, 5, 10, 15, 20, 25 …
    100 ms — so a writer that finds it taken sleeps well past the moment the other one commits:
    with two server processes filing at once, each spent most of its time asleep. Here a waiter
    tries the file lock again within a millisecond of its release (sleeps from 50 µs doubling
    to 1 ms), and reaches ``BEGIN IMMEDIATE`` when no other triage writer holds SQLite's lock.
    After ``SQLITE_BUSY_TIMEOUT_MS`` without the file lock it goes on to ``BEGIN IMMEDIATE``
    anyway, so a stuck holder costs what it cost before (SQLite's busy timeout and its error),
    never a wait without end. Processes that do not use it (``sqlite3`` in a shell, a backup)
    are still kept out by SQLite's lock: the file lock only orders triage's own writers.
    Closing the descriptor releases the lock, so a connection that is closed, invalidated or
    dies with its process never leaves it held.
    """

    def __init__(self, database: str) -> None:
        self.path = f"{database}-writers.lock"

    def acquire(self, info: dict[str, Any]) -> None:
        if _WRITER_FD in info:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        pause = 0.00005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    return
                time.sleep(pause)
                pause = min(pause * 2, 0.001)
            else:
                info[_WRITER_FD] = fd
                return

    @staticmethod
    def release(info: dict[str, Any]) -> None:
        fd = info.pop(_WRITER_FD, None)
        if fd is not None:
            os.close(fd)

    def listen(self, engine: Engine) -> None:
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", self._commit)
        event.listen(engine, "rollback", self._rollback)
        for name in ("checkin", "close"):
            event.listen(engine.pool, name, self._dropped)
        for name in ("reset", "invalidate", "soft_invalidate"):
            event.listen(engine.pool, name, self._dropped_with)

    def _begin(self, connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            _sqlite_begin(connection)
            return
        info = connection.connection.info
        self.acquire(info)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self.release(info)
            raise

    def _commit(self, connection: Any) -> None:
        # The COMMIT is issued here, so that the lock is given back right after it; the
        # driver's own commit then finds no transaction open and does nothing.
        self._end(connection, "COMMIT")

    def _rollback(self, connection: Any) -> None:
        self._end(connection, "ROLLBACK")

    def _end(self, connection: Any, statement: str) -> None:
        if connection.invalidated:
            return  # the pool's invalidate gave the lock back with the connection
        raw = connection.connection
        try:
            if raw.dbapi_connection is not None and raw.dbapi_connection.in_transaction:
                raw.dbapi_connection.execute(statement)
        finally:
            self.release(raw.info)

    def _dropped(self, _dbapi_connection: Any, record: Any) -> None:
        self.release(record.info)

    def _dropped_with(self, _dbapi_connection: Any, record: Any, _why: Any) -> None:
        self.release(record.info)


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
        if memory or not engine.url.database:
            event.listen(engine, "begin", _sqlite_begin)
        else:
            _Writers(engine.url.database).listen(engine)
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
