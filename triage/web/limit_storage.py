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
    RETURNING count, expires_at

so two workers hitting one key at the same moment get two different counts (PostgreSQL locks the
row; SQLite's writer lock serialises them), and a window that ended starts again in the same
statement. Keys are stored as their SHA-256: a limit keyed on the username typed into the sign-in
form never puts that text into the database. Production uses Redis (``redis://``) instead.

A counted request costs that one statement: Flask-Limiter asks for the window (``get``,
``get_expiry``) only to write the ``X-RateLimit-*`` headers of the limit it just counted, and a
request's own hit answers those from what the upsert returned (kept in the request's WSGI
environment, so it never outlives the request or reaches another). Only a limit that is tested
without being counted (``test``, as the API's failed-authentication limit is before the token is
looked up) reads its row.
"""

from __future__ import annotations

import hashlib
import time
import weakref
from typing import Any

from flask import has_request_context, request
from limits.storage import Storage
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from ..db import READ_ONLY
from ..models import RateLimitCounter
from ..uow import UnitOfWork

#: The value of ``TRIAGE_RATELIMIT_STORAGE_URL`` that selects this storage.
SETTING = "database"
SCHEME = "triage-db"
#: Every this many hits, counters whose window ended are deleted (one indexed DELETE).
_PURGE_EVERY = 500
#: The units of work that ``storage_uri`` handed out, by token; an app's goes with the app.
_UNITS: weakref.WeakValueDictionary[str, UnitOfWork] = weakref.WeakValueDictionary()


#: Where a request keeps the counts its own hits returned: hashed key → (count, expires_at).
_COUNTED = "triage.limit_storage.counted"


def _hashed(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _counted() -> dict[str, tuple[int, float]] | None:
    """The counts this request's hits returned, or ``None`` outside a request."""
    if not has_request_context():
        return None
    counted: dict[str, tuple[int, float]] = request.environ.setdefault(_COUNTED, {})
    return counted


def _counted_window(hashed: str) -> tuple[int, float] | None:
    """The count and end of ``hashed``'s window as this request's own hit left them."""
    counted = _counted()
    return counted.get(hashed) if counted is not None else None


#: One hit: the counter's row made or bumped, a window that ended started again, in one
#: statement (the same text on both engines: SQLite and PostgreSQL share ``ON CONFLICT``).
_HIT = text(
    "INSERT INTO rate_limit (key, count, expires_at) VALUES (:key, :amount, :expires_at) "
    "ON CONFLICT (key) DO UPDATE SET "
    "count = CASE WHEN rate_limit.expires_at <= :now THEN :amount "
    "ELSE rate_limit.count + :amount END, "
    "expires_at = CASE WHEN rate_limit.expires_at <= :now THEN excluded.expires_at "
    "ELSE rate_limit.expires_at END "
    "RETURNING count, expires_at"
)
_WINDOW = text("SELECT count, expires_at FROM rate_limit WHERE key = :key AND expires_at > :now")
_PURGE = text("DELETE FROM rate_limit WHERE expires_at <= :now")


class DatabaseStorage(Storage):
    """Fixed-window counters in the ``rate_limit`` table, on the unit of work's engine.

    The counters are Flask-Limiter's, not the domain's: each hit is a transaction of its own on
    a pooled connection (``Engine.begin``: committed when the block ends, rolled back if it
    raises), with no ORM session, and a read of a window is a read-only connection (on SQLite a
    deferred transaction, which never waits for the writer). A hit costs about 0.2 ms of CPU.
    """

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
        self._engine = uow.engine
        self._reader = uow.engine.execution_options(**{READ_ONLY: True})
        self._hits = 0

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        hashed = _hashed(key)
        values = {"key": hashed, "amount": amount, "expires_at": now + expiry, "now": now}
        with self._engine.begin() as conn:
            count, expires_at = conn.execute(_HIT, values).one()
            self._hits += 1
            if self._hits % _PURGE_EVERY == 0:
                conn.execute(_PURGE, {"now": now})
        counted = _counted()
        if counted is not None:
            counted[hashed] = (int(count), float(expires_at))
        return int(count)

    def _window(self, hashed: str, now: float) -> tuple[int, float] | None:
        """The count and end of ``hashed``'s running window: this request's own hit's, or the
        table's."""
        window = _counted_window(hashed)
        if window is not None:
            return window if window[1] > now else None
        with self._reader.connect() as conn:
            row = conn.execute(_WINDOW, {"key": hashed, "now": now}).first()
        if row is None:
            return None
        count, expires_at = row
        return int(count), float(expires_at)

    def get(self, key: str) -> int:
        window = self._window(_hashed(key), time.time())
        return window[0] if window is not None else 0

    def get_expiry(self, key: str) -> float:
        now = time.time()
        window = self._window(_hashed(key), now)
        return window[1] if window is not None else now

    def check(self) -> bool:
        try:
            with self._reader.connect() as conn:
                conn.execute(select(func.count()).select_from(RateLimitCounter)).scalar()
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        counted = _counted()
        if counted is not None:
            counted.clear()
        with self._engine.begin() as conn:
            result = conn.execute(delete(RateLimitCounter))
        return int(getattr(result, "rowcount", 0) or 0)

    def clear(self, key: str) -> None:
        hashed = _hashed(key)
        counted = _counted()
        if counted is not None:
            counted.pop(hashed, None)
        with self._engine.begin() as conn:
            conn.execute(delete(RateLimitCounter).where(RateLimitCounter.key == hashed))


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
