"""Server-side sessions: a session cookie copied before sign-out, a password change, a role
change, a two-step reset, an admin's "end sessions", an idle spell or the absolute lifetime opens
nothing afterwards; sign-in and a change of privilege give a new session id; a user sees and ends
her own sessions. On the database store (SQLite and PostgreSQL) and on Redis when reachable.

Each replay also checks that the session is gone from the store itself: a password or role
change would stop an old session through the account's epoch as well, and the test must fail
if the server-side destruction is taken out.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_login.utils import _create_identifier
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select

from tests.conftest import PASSWORD, Account, AuthActions, make_user
from tests.integration.test_two_step import (
    code_at,
    enrol,
    forget_last_step,
    post_code,
    post_password,
)
from triage import audit
from triage.config import Settings
from triage.models import AuditEvent, WebSession
from triage.vocab import Region, Role
from triage.web import sessions as server_sessions
from triage.web.deps import uow_of

COOKIE = "triage_session"
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0"
NEW_PASSWORD = "a brand new passphrase for the shelter desk"
_TOKEN = re.compile(r'name="[a-z_-]*csrf_token"[^>]*value="([^"]+)"')


# -- helpers -----------------------------------------------------------------------------------


def token_from(client: FlaskClient, page: str = "/") -> str:
    match = _TOKEN.search(client.get(page).get_data(as_text=True))
    assert match, f"no CSRF token on {page}"
    return match.group(1)


def signed_in(app: Flask, account: Account, user_agent: str = FIREFOX) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    AuthActions(client).login_as(account)
    assert client.get("/").status_code == 200
    return client


def cookie_of(client: FlaskClient) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None, "no session cookie"
    return cookie.value


def thief_with(app: Flask, value: str) -> FlaskClient:
    """Another browser holding a copy of the cookie."""
    thief = app.test_client()
    thief.environ_base["HTTP_USER_AGENT"] = FIREFOX
    thief.set_cookie(COOKIE, value)
    return thief


def assert_sign_in_page(client: FlaskClient, path: str = "/") -> None:
    response = client.get(path)
    assert response.status_code == 302, f"{path} answered {response.status_code}"
    assert response.headers["Location"].startswith("/login")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="password"' in page


def stored(app: Flask, value: str) -> bool:
    """Whether the store still holds the session this cookie value names."""
    key = server_sessions.store_key(value)
    with app.app_context():
        store = app.session_interface.store  # type: ignore[attr-defined]
        return store.load(key, datetime.now(UTC)) is not None


def live_sessions(app: Flask, user_id: int) -> int:
    with app.app_context():
        store = app.session_interface.store  # type: ignore[attr-defined]
        return len(store.list_for_user(user_id, datetime.now(UTC)))


def audit_events(app: Flask, action: str) -> list[dict[str, Any]]:
    with app.app_context(), uow_of(app).read() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == action))
        return [audit.event_fields(row) for row in rows]


def post(
    client: FlaskClient, path: str, data: dict[str, str], *, page: str, prefix: str = ""
) -> Any:
    return client.post(path, data={f"{prefix}csrf_token": token_from(client, page), **data})


# -- the replays, on whichever store the app has ------------------------------------------------


def replay_after_sign_out(app: Flask, account: Account) -> None:
    client = signed_in(app, account)
    copied = cookie_of(client)
    assert stored(app, copied)
    response = post(client, "/logout", {}, page="/")
    assert response.status_code == 302
    assert not stored(app, copied), "sign-out left the session on the server"
    assert_sign_in_page(thief_with(app, copied))


def replay_after_admin_ends_sessions(app: Flask, account: Account, admin: Account) -> None:
    first, second = signed_in(app, account), signed_in(app, account)
    copies = [cookie_of(first), cookie_of(second)]
    assert live_sessions(app, account.id) == 2
    boss = signed_in(app, admin)
    page = f"/admin/users/{account.id}"
    response = post(boss, f"{page}/sessions/end", {}, page=page, prefix="sessions-")
    assert response.status_code == 302
    assert live_sessions(app, account.id) == 0
    for copied in copies:
        assert not stored(app, copied)
        assert_sign_in_page(thief_with(app, copied))
    assert boss.get("/").status_code == 200, "the admin's own session ended too"
    [event] = audit_events(app, "user.sessions_ended")
    assert (event["actor"], event["object_id"]) == (str(admin.id), str(account.id))
    assert {k: event["details"][k] for k in ("count", "scope", "reason")} == {
        "count": 2,
        "scope": "all",
        "reason": "by_admin",
    }


def replay_after_idle(app: Flask, account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    client = signed_in(app, account)
    copied = cookie_of(client)
    start = datetime.now(UTC)
    monkeypatch.setattr(server_sessions, "_now", lambda: start + timedelta(minutes=29))
    assert client.get("/").status_code == 200, "an active session expired early"
    monkeypatch.setattr(server_sessions, "_now", lambda: start + timedelta(minutes=29 + 31))
    assert_sign_in_page(thief_with(app, copied))
    assert_sign_in_page(client)


# -- the database store (SQLite and PostgreSQL) ------------------------------------------------


def test_a_cookie_copied_before_sign_out_opens_nothing(app, accounts):
    replay_after_sign_out(app, accounts[Role.REVIEWER])


def test_a_password_change_ends_every_session_of_the_account(app, accounts):
    """All of them, this one too: the user signs in again with the new password (the page says
    so), and a session that began under the old password does not outlive it."""
    reviewer = accounts[Role.REVIEWER]
    mine, other = signed_in(app, reviewer), signed_in(app, reviewer)
    copies = [cookie_of(mine), cookie_of(other)]
    response = post(
        mine,
        "/account/password",
        {"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        page="/account/password",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert live_sessions(app, reviewer.id) == 0
    for copied in copies:
        assert not stored(app, copied)
        assert_sign_in_page(thief_with(app, copied))
    assert_sign_in_page(mine)


def test_a_role_change_ends_the_users_sessions(app, accounts):
    reviewer, admin = accounts[Role.REVIEWER], accounts[Role.ADMIN]
    theirs = signed_in(app, reviewer)
    copied = cookie_of(theirs)
    boss = signed_in(app, admin)
    page = f"/admin/users/{reviewer.id}"
    response = post(
        boss, page, {"role": "supervisor", "region": "karaganda", "active": "y"}, page=page
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert not stored(app, copied)
    assert live_sessions(app, reviewer.id) == 0
    assert_sign_in_page(thief_with(app, copied))


def test_a_two_step_reset_ends_the_users_sessions(app, accounts):
    reviewer, admin = accounts[Role.REVIEWER], accounts[Role.ADMIN]
    secret = enrol(app, reviewer)
    forget_last_step(app, reviewer)
    theirs = app.test_client()
    assert post_password(theirs, reviewer).status_code == 302
    assert post_code(theirs, code_at(secret, time.time())).status_code == 302
    assert theirs.get("/").status_code == 200
    copied = cookie_of(theirs)
    boss = signed_in(app, admin)
    page = f"/admin/users/{reviewer.id}"
    response = post(boss, f"{page}/two-step", {}, page=page, prefix="two_step-")
    assert response.status_code == 302
    assert not stored(app, copied)
    assert live_sessions(app, reviewer.id) == 0
    assert_sign_in_page(thief_with(app, copied))


def test_an_admin_ends_a_users_sessions(app, accounts):
    replay_after_admin_ends_sessions(app, accounts[Role.CASEWORKER], accounts[Role.ADMIN])


def test_an_idle_session_ends_on_the_server(app, accounts, monkeypatch):
    replay_after_idle(app, accounts[Role.SUPERVISOR], monkeypatch)


def test_an_active_session_ends_at_its_absolute_lifetime(settings: Settings, monkeypatch):
    """Used every twenty minutes, never idle, and still over an hour after sign-in."""
    app = create_short_lived_app(settings)
    try:
        account = make_user(app, "night-shift", Role.REVIEWER, Region.KARAGANDA)
        client = signed_in(app, account)
        copied = cookie_of(client)
        start = datetime.now(UTC)
        for minutes in (20, 40, 59):
            monkeypatch.setattr(
                server_sessions, "_now", lambda m=minutes: start + timedelta(minutes=m)
            )
            assert client.get("/").status_code == 200, f"ended early, at {minutes} minutes"
        monkeypatch.setattr(server_sessions, "_now", lambda: start + timedelta(minutes=61))
        assert_sign_in_page(thief_with(app, copied))
        assert_sign_in_page(client)
    finally:
        uow_of(app).engine.dispose()


def create_short_lived_app(settings: Settings) -> Flask:
    from triage import create_app

    return create_app(replace(settings, session_absolute_hours=1))


def test_sign_in_gives_a_new_session_id(app, accounts):
    """A cookie planted before sign-in (session fixation) is not the one signed in."""
    client = app.test_client()
    token = token_from(client, "/login")
    before = cookie_of(client)
    reviewer = accounts[Role.REVIEWER]
    response = client.post(
        "/login",
        data={"username": reviewer.username, "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    after = cookie_of(client)
    assert after != before
    assert not stored(app, before)
    assert_sign_in_page(thief_with(app, before))
    assert client.get("/").status_code == 200


def test_turning_two_step_on_gives_a_new_id_and_ends_the_other_sessions(app, accounts):
    reviewer = accounts[Role.REVIEWER]
    mine, other = signed_in(app, reviewer), signed_in(app, reviewer)
    before, others = cookie_of(mine), cookie_of(other)
    post(mine, "/account/two-step/start", {}, page="/account/two-step", prefix="start-")
    page = mine.get("/account/two-step").get_data(as_text=True)
    match = re.search(r'id="two-step-secret">([A-Z2-7 ]+)<', page)
    assert match
    code = code_at(match.group(1).replace(" ", ""), time.time())
    response = post(
        mine,
        "/account/two-step/confirm",
        {"confirm-code": code},
        page="/account/two-step",
        prefix="confirm-",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    after = cookie_of(mine)
    assert after != before
    assert not stored(app, before) and not stored(app, others)
    assert_sign_in_page(thief_with(app, before))
    assert_sign_in_page(other)
    assert mine.get("/").status_code == 200
    assert live_sessions(app, reviewer.id) == 1


def test_a_user_sees_and_ends_her_own_sessions(app, accounts):
    reviewer = accounts[Role.REVIEWER]
    desk = signed_in(app, reviewer)
    phone = signed_in(app, reviewer, user_agent="Mozilla/5.0 (Linux; Android 14) Chrome/120.0")
    page = desk.get("/account/sessions").get_data(as_text=True)
    assert "Firefox on Windows" in page and "Chrome on Android" in page
    assert "This session" in page
    assert "127.0.0.1" not in page
    phone_key = server_sessions.store_key(cookie_of(phone))
    assert phone_key in page
    copied = cookie_of(phone)
    response = post(
        desk,
        "/account/sessions/end",
        {"session": phone_key, "password": PASSWORD},
        page="/account/sessions",
    )
    assert response.status_code == 302
    assert not stored(app, copied)
    assert_sign_in_page(thief_with(app, copied))
    assert desk.get("/").status_code == 200
    [event] = audit_events(app, "user.sessions_ended")
    assert (event["actor"], event["object_id"]) == (str(reviewer.id), str(reviewer.id))
    assert event["details"]["scope"] == "one" and event["details"]["reason"] == "by_user"


def test_ending_a_session_asks_for_the_password_again(app, accounts):
    """Whoever sits at a browser left signed in cannot end her other sessions (ASVS V3.3.4):
    without the password, or with a wrong one, nothing ends and nothing is audited."""
    reviewer = accounts[Role.REVIEWER]
    desk, phone = signed_in(app, reviewer), signed_in(app, reviewer)
    page = desk.get("/account/sessions").get_data(as_text=True)
    assert 'name="password"' in page and 'autocomplete="current-password"' in page
    for password in ("", "not her password"):
        response = post(
            desk,
            "/account/sessions/end",
            {"session": "others", "password": password},
            page="/account/sessions",
        )
        assert response.status_code == 400
        assert "password" in response.get_data(as_text=True).lower()
    assert phone.get("/").status_code == 200
    assert live_sessions(app, reviewer.id) == 2
    assert audit_events(app, "user.sessions_ended") == []


def test_a_user_cannot_end_someone_elses_session(app, accounts):
    reviewer, supervisor = accounts[Role.REVIEWER], accounts[Role.SUPERVISOR]
    theirs = signed_in(app, supervisor)
    key = server_sessions.store_key(cookie_of(theirs))
    mine = signed_in(app, reviewer)
    ends = {"session": key, "password": PASSWORD}
    response = post(mine, "/account/sessions/end", ends, page="/account/sessions")
    assert response.status_code == 404
    assert theirs.get("/").status_code == 200
    assert audit_events(app, "user.sessions_ended") == []


def test_ending_all_other_sessions_keeps_this_one(app, accounts):
    reviewer = accounts[Role.REVIEWER]
    desk, laptop, phone = (signed_in(app, reviewer) for _ in range(3))
    response = post(
        desk,
        "/account/sessions/end",
        {"session": "others", "password": PASSWORD},
        page="/account/sessions",
    )
    assert response.status_code == 302
    assert desk.get("/").status_code == 200
    assert_sign_in_page(laptop)
    assert_sign_in_page(phone)
    assert live_sessions(app, reviewer.id) == 1


def test_a_bad_session_choice_is_refused_without_a_trace(app, accounts):
    desk = signed_in(app, accounts[Role.REVIEWER])
    for value in ("", "x" * 65, "../../etc", "0" * 63 + "\n"):
        response = post(
            desk,
            "/account/sessions/end",
            {"session": value, "password": PASSWORD},
            page="/account/sessions",
        )
        assert response.status_code == 400, value
    assert desk.get("/").status_code == 200


def test_the_stored_session_holds_no_personal_data(app, accounts, database):
    """No username, no address, no browser string: ids, flags, a CSRF token, a coarse name."""
    reviewer = accounts[Role.REVIEWER]
    client = signed_in(app, reviewer)
    value = cookie_of(client)
    with app.app_context(), uow_of(app).read() as session:
        rows = session.scalars(select(WebSession)).all()
    assert rows
    for row in rows:
        blob = bytes(row.data)
        assert reviewer.username.encode() not in blob
        assert b"127.0.0.1" not in blob
        assert b"Gecko" not in blob
        assert value.encode() not in blob and row.key != value
        assert row.client in {None, "Firefox on Windows"}
    # Flask-Login's own client mark is an unkeyed SHA-512 of address and browser, which anyone
    # holding the store could match against every address; triage keys it.
    [signed] = [r for r in rows if r.user_id == reviewer.id]
    mark = msgspec.msgpack.decode(bytes(signed.data))["_id"]
    headers = {"User-Agent": FIREFOX}
    with app.test_request_context("/", headers=headers, environ_base={"REMOTE_ADDR": "127.0.0.1"}):
        assert mark != _create_identifier()
    if database.path is not None:
        raw = database.path.read_bytes() + _wal(database.path)
        assert value.encode() not in raw, "the cookie's session id is in the database file"


def _wal(path: Any) -> bytes:
    wal = path.with_name(path.name + "-wal")
    return wal.read_bytes() if wal.exists() else b""


def test_no_remember_me_cookie(app, accounts):
    client = app.test_client()
    response = AuthActions(client).login_as(accounts[Role.REVIEWER])
    cookies = response.headers.getlist("Set-Cookie")
    assert not any(c.startswith("remember_token=") for c in cookies)


def test_describe_client_is_coarse():
    assert server_sessions.describe_client(FIREFOX) == "Firefox on Windows"
    assert server_sessions.describe_client(None) is None
    assert server_sessions.describe_client("curl/8.0") is None


# -- Redis -------------------------------------------------------------------------------------


def _redis_url() -> str | None:
    return os.environ.get("TRIAGE_TEST_REDIS_URL") or None


@pytest.fixture
def redis_app(settings: Settings, database: Any) -> Iterator[Flask]:
    url = _redis_url()
    if url is None:
        pytest.skip("TRIAGE_TEST_REDIS_URL is not set: Redis session tests skipped")
    if database.engine != "sqlite":
        pytest.skip("the Redis store does not depend on the database engine: run once")
    try:
        Redis.from_url(url, socket_connect_timeout=1).ping()
    except RedisError as exc:
        pytest.skip(f"Redis at TRIAGE_TEST_REDIS_URL is unreachable: {type(exc).__name__}")
    from triage import create_app

    app = create_app(replace(settings, session_redis_url=url))
    store = app.session_interface.store  # type: ignore[attr-defined]
    assert isinstance(store, server_sessions.RedisStore)
    store.prefix = f"triage-test-{secrets.token_hex(4)}:"  # tests share the server
    yield app
    for key in store.client.scan_iter(f"{store.prefix}*"):
        store.client.delete(key)
    uow_of(app).engine.dispose()


def test_redis_store_ends_sessions_on_sign_out_admin_and_idle(redis_app, monkeypatch):
    reviewer = make_user(redis_app, "reviewer", Role.REVIEWER, Region.KARAGANDA)
    caseworker = make_user(redis_app, "caseworker", Role.CASEWORKER, Region.KARAGANDA)
    admin = make_user(redis_app, "admin", Role.ADMIN)
    replay_after_sign_out(redis_app, reviewer)
    replay_after_admin_ends_sessions(redis_app, caseworker, admin)
    replay_after_idle(redis_app, reviewer, monkeypatch)
    with redis_app.app_context(), uow_of(redis_app).read() as session:
        assert session.scalars(select(WebSession)).all() == [], "Redis sessions reached the db"


def test_an_unreachable_redis_stops_the_app_with_one_clear_message(settings: Settings):
    from triage import create_app
    from triage.instance import StartupError

    with pytest.raises(StartupError, match="TRIAGE_SESSION_REDIS_URL cannot be reached"):
        create_app(replace(settings, session_redis_url="redis://127.0.0.1:1/0"))
