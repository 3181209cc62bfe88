"""Flask-Limiter's counters in the database, for the embedded default: every worker and server
that shares the database counts the same guesses, with nothing else to run.

A ``limits`` storage (``limits.storage.Storage``) for the fixed-window strategy, registered under
the scheme ``triage-db://``. Each hit is one statement, atomic on both engines::

    INSERT INTO rate_limit (key, count, expires_at) VALUES (:key, :amount, :now + :expiry)
    ON CONFLICT (key) DO UPDATE SET
        count = CASE WHEN rate_limit.expires_at <= :now THEN :amount
                     ELSE rate_limit.count + :amount END,
        expires_at = CASE WHEN rate_limit.expires_at <= :now THEN excluded.expires_at
                          ELSE rate_limit.expires_at END
    RETURNING count

so two workers hitting one key at the same moment get two different counts (PostgreSQL locks the
row; SQLite's writer lock serialises them), and a window that ended starts again in the same
statement. Keys are stored as their SHA-256: a limit keyed on the username typed into the sign-in
form never puts that text into the database. Production uses Redis (``redis://``) instead.
"""

from __future__ import annotations

import hashlib
import time
import weakref
from typing import Any, cast

from limits.storage import Storage
from sqlalchemy import Table, case, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from ..models import RateLimitCounter
from ..uow import UnitOfWork

#: The value of ``TRIAGE_RATELIMIT_STORAGE_URL`` that selects this storage.
SETTING = "database"
SCHEME = "triage-db"
#: Every this many hits, counters whose window ended are deleted (one indexed DELETE).
_PURGE_EVERY = 500
#: The units of work that ``storage_uri`` handed out, by token; an app's goes with the app.
_UNITS: weakref.WeakValueDictionary[str, UnitOfWork] = weakref.WeakValueDictionary()


def _hashed(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class DatabaseStorage(Storage):
    """Fixed-window counters in the ``rate_limit`` table, written through the unit of work."""

    STORAGE_SCHEME = [SCHEME]  # noqa: RUF012 (the ``limits`` registry reads a list)

    def __init__(
        self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any
    ) -> None:
        token = (uri or "").partition("://")[2]
        uow = _UNITS.get(token)
        if uow is None:
            raise ValueError(f"no unit of work is registered for the limit storage {uri!r}")
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        self.uow = uow
        self._hits = 0

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        table = cast(Table, RateLimitCounter.__table__)
        values = {"key": _hashed(key), "count": amount, "expires_at": now + expiry}
        dialect = self.uow.engine.dialect.name
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
        ended = table.c.expires_at <= now
        statement = insert.values(**values).on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "count": case((ended, amount), else_=table.c.count + amount),
                "expires_at": case((ended, insert.excluded.expires_at), else_=table.c.expires_at),
            },
        )
        with self.uow.begin() as session:
            count = session.execute(statement.returning(table.c.count)).scalar_one()
            self._hits += 1
            if self._hits % _PURGE_EVERY == 0:
                session.execute(delete(RateLimitCounter).where(RateLimitCounter.expires_at <= now))
        return int(count)

    def get(self, key: str) -> int:
        with self.uow.read() as session:
            count = session.scalar(
                select(RateLimitCounter.count).where(
                    RateLimitCounter.key == _hashed(key),
                    RateLimitCounter.expires_at > time.time(),
                )
            )
        return int(count or 0)

    def get_expiry(self, key: str) -> float:
        now = time.time()
        with self.uow.read() as session:
            expires = session.scalar(
                select(RateLimitCounter.expires_at).where(
                    RateLimitCounter.key == _hashed(key), RateLimitCounter.expires_at > now
                )
            )
        return float(expires) if expires is not None else now

    def check(self) -> bool:
        try:
            with self.uow.read() as session:
                session.scalar(select(func.count()).select_from(RateLimitCounter))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self.uow.begin() as session:
            result = session.execute(delete(RateLimitCounter))
        return int(getattr(result, "rowcount", 0) or 0)

    def clear(self, key: str) -> None:
        with self.uow.begin() as session:
            session.execute(delete(RateLimitCounter).where(RateLimitCounter.key == _hashed(key)))


def storage_uri(setting: str, uow: UnitOfWork) -> str:
    """Flask-Limiter's ``RATELIMIT_STORAGE_URI`` for ``TRIAGE_RATELIMIT_STORAGE_URL``.

    ``database`` means this storage on ``uow``'s engine: the URI names ``uow`` by a token, since
    Flask-Limiter builds the storage from a URI (its storage options outlive one app on the shared
    ``limiter``). Any other value is a ``limits`` storage URI (``redis://…``, ``memory://``).
    """
    if setting.strip().lower() != SETTING:
        return setting
    token = f"uow-{id(uow):x}"
    _UNITS[token] = uow
    return f"{SCHEME}://{token}"
