"""Server-side sessions: the cookie carries only a random id; what the session holds lives on
the server, so ending a session on the server ends it for every copy of the cookie.

Flask-Session 0.8 does the cookie and the serialisation (``ServerSideSessionInterface``). Its own
SQL backend wants a Flask-SQLAlchemy object, which triage does not use, so the store here is
ours: the ``sessions`` table through the unit of work on the embedded default, or Redis in
production (``TRIAGE_SESSION_REDIS_URL``). Either way:

- the store is keyed by the SHA-256 of the session id, so a copy of the store cannot be
  replayed as a cookie;
- a session dies on the server ``TRIAGE_SESSION_MINUTES`` after it was last used and
  ``TRIAGE_SESSION_ABSOLUTE_HOURS`` after it began, whatever the browser keeps;
- each stored session knows its account, so every session of an account can be ended at once
  (sign-out everywhere, a password or role change, a two-step reset, an admin's "end sessions");
- it holds no personal data: ids, flags, a CSRF token, a coarse browser name; no address.

Views call ``renew`` at sign-in and on a change of privilege (a new id, the old one dead),
``end_current`` at sign-out and ``end_for_user`` when an account's sessions must end.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast

from flask import Flask, Request, current_app, request, session
from flask_session.base import (  # type: ignore[import-untyped]
    ServerSideSession,
    ServerSideSessionInterface,
)
from redis import Redis
from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT
from sqlalchemy import delete, select, update

from .. import audit
from ..config import Settings
from ..instance import StartupError
from ..models import WebSession
from ..uow import UnitOfWork
from .gate import login_manager

#: A session's last use is written at most this often when nothing in it changed: the idle
#: limit is kept to the minute without a write on every page.
TOUCH_SECONDS = 60
#: Every this many new sessions, dead rows are deleted (one indexed DELETE).
_PURGE_EVERY = 200


def store_key(sid: str) -> str:
    """What the store files a session under: never the id itself."""
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Stored:
    """A live session as the store gives it back."""

    data: bytes
    last_seen_at: datetime


@dataclass(frozen=True)
class SessionInfo:
    """One of an account's live sessions, for the page that lists them."""

    key: str
    created_at: datetime
    last_seen_at: datetime
    client: str | None


class SessionStore(Protocol):
    def load(self, key: str, now: datetime) -> Stored | None: ...

    def save(
        self,
        key: str,
        data: bytes,
        *,
        user_id: int | None,
        client: str | None,
        now: datetime,
        idle: timedelta,
        absolute: timedelta,
    ) -> None: ...

    def delete(self, key: str) -> None: ...

    def end_for_user(self, user_id: int, *, keep: str | None = None) -> int: ...

    def list_for_user(self, user_id: int, now: datetime) -> list[SessionInfo]: ...


class DatabaseStore:
    """The ``sessions`` table, each call a transaction of its own (the request's blocks are
    over when Flask saves the session)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self._created = 0

    def load(self, key: str, now: datetime) -> Stored | None:
        with self.uow.read() as db:
            row = db.execute(
                select(WebSession.data, WebSession.last_seen_at).where(
                    WebSession.key == key, WebSession.expires_at > now
                )
            ).first()
        return None if row is None else Stored(row.data, row.last_seen_at)

    def save(
        self,
        key: str,
        data: bytes,
        *,
        user_id: int | None,
        client: str | None,
        now: datetime,
        idle: timedelta,
        absolute: timedelta,
    ) -> None:
        with self.uow.begin() as db:
            row = db.get(WebSession, key)
            if row is None or row.expires_at <= now:
                if row is not None:
                    db.delete(row)
                    db.flush()
                row = WebSession(key=key, created_at=now)
                db.add(row)
                self._created += 1
                if self._created % _PURGE_EVERY == 0:
                    db.execute(delete(WebSession).where(WebSession.expires_at <= now))
            row.data, row.user_id, row.client, row.last_seen_at = data, user_id, client, now
            row.expires_at = min(now + idle, row.created_at + absolute)

    def delete(self, key: str) -> None:
        with self.uow.begin() as db:
            db.execute(delete(WebSession).where(WebSession.key == key))

    def end_for_user(self, user_id: int, *, keep: str | None = None) -> int:
        query = delete(WebSession).where(WebSession.user_id == user_id)
        if keep is not None:
            query = query.where(WebSession.key != keep)
        with self.uow.begin() as db:
            result = db.execute(query)
        return int(getattr(result, "rowcount", 0) or 0)

    def list_for_user(self, user_id: int, now: datetime) -> list[SessionInfo]:
        with self.uow.read() as db:
            rows = db.execute(
                select(
                    WebSession.key,
                    WebSession.created_at,
                    WebSession.last_seen_at,
                    WebSession.client,
                )
                .where(WebSession.user_id == user_id, WebSession.expires_at > now)
                .order_by(WebSession.last_seen_at.desc())
            ).all()
        return [SessionInfo(r.key, r.created_at, r.last_seen_at, r.client) for r in rows]

    def backdate(self, key: str, by: timedelta) -> None:
        """Move a session's times into the past (tests of the idle and absolute limits)."""
        with self.uow.begin() as db:
            db.execute(
                update(WebSession)
                .where(WebSession.key == key)
                .values(
                    created_at=WebSession.created_at - by,
                    last_seen_at=WebSession.last_seen_at - by,
                    expires_at=WebSession.expires_at - by,
                )
            )


class RedisStore:
    """One hash per session (``triage:session:<key>``, expiring with the session) and one set
    per account naming its sessions (``triage:user-sessions:<id>``)."""

    def __init__(self, client: Redis, prefix: str = "triage:") -> None:
        self.client = client
        self.prefix = prefix

    def _session(self, key: str) -> str:
        return f"{self.prefix}session:{key}"

    def _user(self, user_id: int) -> str:
        return f"{self.prefix}user-sessions:{user_id}"

    def load(self, key: str, now: datetime) -> Stored | None:
        fields = cast(
            list[bytes | None],
            self.client.hmget(self._session(key), ["data", "seen", "expires"]),
        )
        data, seen, expires = fields
        if data is None or seen is None or expires is None or float(expires) <= now.timestamp():
            return None
        return Stored(data, datetime.fromtimestamp(float(seen), UTC))

    def save(
        self,
        key: str,
        data: bytes,
        *,
        user_id: int | None,
        client: str | None,
        now: datetime,
        idle: timedelta,
        absolute: timedelta,
    ) -> None:
        name = self._session(key)
        created_raw = cast(bytes | None, self.client.hget(name, "created"))
        created = float(created_raw) if created_raw is not None else now.timestamp()
        expires = min(now.timestamp() + idle.total_seconds(), created + absolute.total_seconds())
        if expires <= now.timestamp():
            self.client.delete(name)
            created, expires = now.timestamp(), now.timestamp() + idle.total_seconds()
        mapping: dict[FieldT, EncodableT] = {
            "data": data,
            "created": repr(created),
            "seen": repr(now.timestamp()),
            "expires": repr(expires),
            "client": client or "",
            "user": "" if user_id is None else str(user_id),
        }
        pipe = self.client.pipeline()
        pipe.hset(name, mapping=mapping)
        pipe.expireat(name, int(expires) + 1)
        if user_id is not None:
            pipe.sadd(self._user(user_id), key)
            pipe.expire(self._user(user_id), int(absolute.total_seconds()) + 60)
        pipe.execute()

    def delete(self, key: str) -> None:
        name = self._session(key)
        user = cast(bytes | None, self.client.hget(name, "user"))
        self.client.delete(name)
        if user:
            self.client.srem(self._user(int(user)), key)

    def end_for_user(self, user_id: int, *, keep: str | None = None) -> int:
        keys = [k.decode() for k in cast(set[bytes], self.client.smembers(self._user(user_id)))]
        ending = [k for k in keys if k != keep]
        if not ending:
            return 0
        pipe = self.client.pipeline()
        for key in ending:
            pipe.delete(self._session(key))
        pipe.srem(self._user(user_id), *ending)
        results = pipe.execute()
        return int(sum(results[: len(ending)]))

    def list_for_user(self, user_id: int, now: datetime) -> list[SessionInfo]:
        found: list[SessionInfo] = []
        gone: list[str] = []
        for raw in cast(set[bytes], self.client.smembers(self._user(user_id))):
            key = raw.decode()
            created, seen, expires, client = cast(
                list[bytes | None],
                self.client.hmget(self._session(key), ["created", "seen", "expires", "client"]),
            )
            if created is None or seen is None or expires is None:
                gone.append(key)
                continue
            if float(expires) <= now.timestamp():
                continue
            found.append(
                SessionInfo(
                    key,
                    datetime.fromtimestamp(float(created), UTC),
                    datetime.fromtimestamp(float(seen), UTC),
                    client.decode() if client else None,
                )
            )
        if gone:
            self.client.srem(self._user(user_id), *gone)
        return sorted(found, key=lambda info: info.last_seen_at, reverse=True)


# -- the session interface ---------------------------------------------------------------------


class TriageSession(ServerSideSession):  # type: ignore[misc]
    """A session that remembers when the store last saw it."""

    last_seen_at: datetime | None = None


_BROWSERS = (
    ("Edge", re.compile(r"Edg(e|A|iOS)?/")),
    ("Opera", re.compile(r"OPR/|Opera")),
    ("Firefox", re.compile(r"Firefox/|FxiOS/")),
    ("Chrome", re.compile(r"Chrome/|CriOS/")),
    ("Safari", re.compile(r"Safari/")),
)
_SYSTEMS = (
    ("Android", re.compile(r"Android")),
    ("iOS", re.compile(r"iPhone|iPad|iPod")),
    ("Windows", re.compile(r"Windows")),
    ("macOS", re.compile(r"Mac OS X|Macintosh")),
    ("Linux", re.compile(r"Linux|X11")),
)


def describe_client(user_agent: str | None) -> str | None:
    """A coarse name such as "Firefox on Windows": the browser's and the system's family, no
    version, nothing else."""
    text = user_agent or ""
    browser = next((name for name, pattern in _BROWSERS if pattern.search(text)), None)
    system = next((name for name, pattern in _SYSTEMS if pattern.search(text)), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system


def _user_id_of(data: ServerSideSession) -> int | None:
    """The account a session is signed in to: Flask-Login keeps ``"<id>:<epoch>"``."""
    value = dict.get(data, "_user_id")
    if not isinstance(value, str):
        return None
    head = value.partition(":")[0]
    return int(head) if head.isdigit() else None


class TriageSessionInterface(ServerSideSessionInterface):  # type: ignore[misc]
    """Flask-Session's server-side interface on a ``SessionStore``."""

    session_class = TriageSession
    #: The stores expire sessions themselves: no Flask-Session cleanup command or hook.
    ttl = True

    def __init__(
        self, app: Flask, store: SessionStore, *, idle: timedelta, absolute: timedelta
    ) -> None:
        super().__init__(app, key_prefix="", sid_length=32, serialization_format="msgpack")
        self.store = store
        self.idle = idle
        self.absolute = absolute

    def _get_store_id(self, sid: str) -> str:
        return store_key(sid)

    def open_session(self, app: Flask, request: Request) -> TriageSession:
        sid = request.cookies.get(app.config["SESSION_COOKIE_NAME"])
        stored = self.store.load(store_key(sid), _now()) if sid else None
        if sid and stored is not None:
            opened = self.session_class(self.serializer.decode(stored.data), sid=sid)
            opened.last_seen_at = stored.last_seen_at
            return opened
        # No cookie, or one the server no longer knows: a new, empty session with a new id.
        return self.session_class(sid=self._generate_sid(self.sid_length), permanent=self.permanent)

    def _retrieve_session_data(self, store_id: str) -> dict[str, Any] | None:
        stored = self.store.load(store_id, _now())
        if stored is None:
            return None
        decoded: dict[str, Any] = self.serializer.decode(stored.data)
        return decoded

    def _delete_session(self, store_id: str) -> None:
        self.store.delete(store_id)

    def should_set_storage(self, app: Flask, session: ServerSideSession) -> bool:
        if session.modified:
            return True
        seen = getattr(session, "last_seen_at", None)
        return seen is None or (_now() - seen).total_seconds() >= TOUCH_SECONDS

    def _upsert_session(
        self, session_lifetime: timedelta, session: ServerSideSession, store_id: str
    ) -> None:
        self.store.save(
            store_id,
            self.serializer.encode(session),
            user_id=_user_id_of(session),
            client=describe_client(request.headers.get("User-Agent")),
            now=_now(),
            idle=self.idle,
            absolute=self.absolute,
        )


def _keyed_identifier() -> str:
    """Flask-Login's session-protection mark, keyed: its own is an unkeyed SHA-512 of the
    client's address and browser, which a reader of the store could reverse by trying
    addresses. Keyed with the app's secret it says only "same client or not"."""
    seed = f"{request.remote_addr}|{request.headers.get('User-Agent', '')}"
    secret = str(current_app.secret_key).encode("utf-8")
    return hmac.new(secret, seed.encode("utf-8"), hashlib.sha256).hexdigest()


def init_app(app: Flask, settings: Settings, uow: UnitOfWork) -> None:
    """Serve ``app``'s sessions from the store ``settings`` name."""
    store: SessionStore
    if settings.session_redis_url:
        client = Redis.from_url(settings.session_redis_url, socket_connect_timeout=5)
        try:
            client.ping()
        except RedisError as exc:  # refuse to start rather than answer 500 to every page
            raise StartupError(
                f"the session store TRIAGE_SESSION_REDIS_URL cannot be reached "
                f"({type(exc).__name__}): start Redis or correct the setting"
            ) from None
        store = RedisStore(client)
    else:
        store = DatabaseStore(uow)
    app.session_interface = TriageSessionInterface(
        app, store, idle=settings.session_lifetime, absolute=settings.session_absolute_lifetime
    )
    login_manager._session_identifier_generator = _keyed_identifier


def _interface() -> TriageSessionInterface:
    return cast(TriageSessionInterface, current_app.session_interface)


def current_key() -> str:
    return store_key(cast(ServerSideSession, session).sid)


def renew() -> None:
    """A new session id for what the session holds (sign-in, a change of privilege): the old id
    is dead on the server, so a cookie taken before opens nothing after."""
    current = cast(ServerSideSession, session._get_current_object())  # type: ignore[attr-defined]
    interface = _interface()
    if current.sid:
        interface.store.delete(store_key(current.sid))
    current.sid = interface._generate_sid(interface.sid_length)
    current.modified = True


def end_current() -> None:
    """Sign-out: the session is deleted on the server and emptied in the browser."""
    current = cast(ServerSideSession, session._get_current_object())  # type: ignore[attr-defined]
    interface = _interface()
    if current.sid:
        interface.store.delete(store_key(current.sid))
    current.clear()
    current.sid = interface._generate_sid(interface.sid_length)
    current.modified = True


def end_for_user(user_id: int, *, keep_current: bool = False) -> int:
    """End every session of the account on the server (all but this request's one with
    ``keep_current``); how many ended."""
    keep = current_key() if keep_current else None
    return _interface().store.end_for_user(user_id, keep=keep)


def list_for_user(user_id: int) -> list[SessionInfo]:
    return _interface().store.list_for_user(user_id, _now())


def end_one(user_id: int, key: str) -> bool:
    """End one of the account's own sessions, named by its store key; ``False`` if the account
    has no such live session."""
    if not any(info.key == key for info in list_for_user(user_id)):
        return False
    _interface().store.delete(key)
    return True


def record_ended(db: Any, *, actor: str, user_id: int, count: int, scope: str, reason: str) -> None:
    """The audit event for sessions ended on purpose (``user.sessions_ended``)."""
    audit.append(
        db,
        actor=actor,
        action="user.sessions_ended",
        object_type="user",
        object_id=user_id,
        details={"count": count, "scope": scope, "reason": reason},
    )
