"""Two-step sign-in (TOTP): setting it up, signing in with a password and then a code, turning it
off, an admin's reset for a lost phone, and the setting that makes it compulsory.

The secret lives only in the account's sealed payload: never in plaintext in the database, the
session cookie, the audit log or a log line. A code works once, and a half-finished sign-in lapses
after five minutes. Tests run the TOTP clock by hand (``clock``), so no code depends on where in
its thirty seconds the real clock happens to be.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text, update

from tests.conftest import PASSWORD, Account, Database, facts, make_user
from triage import audit, two_step, users
from triage.config import Settings
from triage.models import AuditEvent, DataKey, User
from triage.vocab import Region, Role
from triage.web.deps import uow_of
from triage.web.views import login as login_view

WRONG_CODE_MESSAGE = "The code is not right."
_SECRET_ON_PAGE = re.compile(r'id="two-step-secret">([A-Z2-7 ]+)<')


class Clock:
    """The clock triage checks codes and pending sign-ins against, moved by hand."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fixed = Clock(1_800_000_000 + 5)  # five seconds into a time step
    monkeypatch.setattr(two_step, "clock", fixed)
    return fixed


def code_at(secret: str, at: float) -> str:
    return pyotp.TOTP(secret).at(at)


def next_code(secret: str, clock: Clock) -> str:
    """The code of the next time step: the one before it may have been used already."""
    clock.advance(30)
    return code_at(secret, clock.now)


# -- helpers other test files use too ---------------------------------------------------------


def csrf_from(page: str) -> str:
    match = re.search(r'name="[a-z_-]*csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def enrol(app: Flask, account: Account) -> str:
    """Turn two-step sign-in on for ``account`` as its owner would; returns the secret.

    The step of the confirming code is forgotten, so the current code works once more.
    """
    with app.app_context(), uow_of(app).begin() as session:
        user = users.get(session, account.id)
        users.start_two_step(session, user, actor=str(user.id))
        secret = two_step.totp_secret(session, user, actor=str(user.id), purpose="test")
        users.enable_two_step(session, user, code_at(secret, two_step.clock()), actor=str(user.id))
    forget_last_step(app, account)
    return secret


def forget_last_step(app: Flask, account: Account) -> None:
    """Let the current code be used again (tests that run on the real clock)."""
    with app.app_context(), uow_of(app).begin() as session:
        session.execute(update(User).where(User.id == account.id).values(totp_last_step=None))


def post_password(client: FlaskClient, account: Account, query: str = "") -> Any:
    token = csrf_from(client.get("/login" + query).get_data(as_text=True))
    return client.post(
        "/login" + query,
        data={"username": account.username, "password": account.password, "csrf_token": token},
    )


def post_code(client: FlaskClient, code: str, query: str = "") -> Any:
    page = client.get("/login/code" + query)
    assert page.status_code == 200, page.headers.get("Location")
    token = csrf_from(page.get_data(as_text=True))
    return client.post("/login/code" + query, data={"code": code, "csrf_token": token})


def sign_in_with_code(client: FlaskClient, account: Account, code: str) -> Any:
    first = post_password(client, account)
    assert first.status_code == 302
    assert first.headers["Location"] == "/login/code"
    return post_code(client, code)


# -- local helpers -----------------------------------------------------------------------------


def audit_events(app: Flask, action: str) -> list[dict[str, Any]]:
    with app.app_context(), uow_of(app).begin() as session:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        return [facts(audit.event_fields(event)) for event in session.scalars(query)]


def audit_text(app: Flask) -> str:
    with app.app_context(), uow_of(app).begin() as session:
        rows = session.execute(select(*AuditEvent.__table__.columns)).all()
    return "\n".join(" ".join(str(value) for value in row) for row in rows)


def user_row(app: Flask, user_id: int) -> User:
    with app.app_context(), uow_of(app).begin() as session:
        user = session.get(User, user_id)
        assert user is not None
        session.expunge(user)
        return user


def signed_in(app: Flask, account: Account) -> FlaskClient:
    client = app.test_client()
    assert post_password(client, account).status_code == 302
    assert client.get("/").status_code == 200
    return client


def assert_signed_out(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def secret_on_page(client: FlaskClient) -> str:
    page = client.get("/account/two-step")
    assert page.status_code == 200
    match = _SECRET_ON_PAGE.search(page.get_data(as_text=True))
    assert match, "the enrolment page shows no secret"
    return match.group(1).replace(" ", "")


def post_form(client: FlaskClient, path: str, form_page: str, data: dict[str, str]) -> Any:
    token = csrf_from(client.get(form_page).get_data(as_text=True))
    prefix = {
        "/account/two-step/start": "start-",
        "/account/two-step/confirm": "confirm-",
        "/account/two-step/disable": "disable-",
    }.get(path, "two_step-" if path.endswith("/two-step") else "")
    return client.post(path, data={f"{prefix}csrf_token": token, **data})


@pytest.fixture
def reviewer(accounts: dict[Role, Account]) -> Account:
    return accounts[Role.REVIEWER]


# -- setting it up -----------------------------------------------------------------------------


def test_enrolment_needs_a_right_code_and_ends_other_sessions(app, clock, reviewer):
    laptop = signed_in(app, reviewer)
    phone = signed_in(app, reviewer)
    page = laptop.get("/account/two-step").get_data(as_text=True)
    assert "Two-step sign-in is off" in page

    started = post_form(laptop, "/account/two-step/start", "/account/two-step", {})
    assert started.status_code == 302
    secret = secret_on_page(laptop)
    assert len(secret) == 32
    page = laptop.get("/account/two-step").get_data(as_text=True)
    assert f"otpauth://totp/triage:{reviewer.username}?secret={secret}" in page
    assert " ".join(secret[i : i + 4] for i in range(0, 32, 4)) in page
    assert not user_row(app, reviewer.id).totp_enabled

    wrong = post_form(
        laptop, "/account/two-step/confirm", "/account/two-step", {"confirm-code": "000000"}
    )
    assert wrong.status_code == 422
    assert "That code is not right" in wrong.get_data(as_text=True)
    assert not user_row(app, reviewer.id).totp_enabled
    assert audit_events(app, "user.totp_enabled") == []

    right = post_form(
        laptop,
        "/account/two-step/confirm",
        "/account/two-step",
        {"confirm-code": code_at(secret, clock.now)},
    )
    assert right.status_code == 302
    row = user_row(app, reviewer.id)
    assert row.totp_enabled
    assert row.totp_last_step == int(clock.now // 30)
    [event] = audit_events(app, "user.totp_enabled")
    assert event["actor"] == str(reviewer.id)
    assert (event["object_type"], event["object_id"]) == ("user", str(reviewer.id))
    assert len(audit_events(app, "user.totp_enrolment_started")) == 1
    assert laptop.get("/").status_code == 200, "the session that enrolled was signed out"
    assert_signed_out(phone)
    assert "Two-step sign-in is on" in laptop.get("/account/two-step").get_data(as_text=True)


def test_starting_again_replaces_the_pending_secret(app, clock, reviewer):
    client = signed_in(app, reviewer)
    post_form(client, "/account/two-step/start", "/account/two-step", {})
    first = secret_on_page(client)
    first_key = user_row(app, reviewer.id).data_key_id
    post_form(client, "/account/two-step/start", "/account/two-step", {})
    second = secret_on_page(client)
    assert first != second
    with app.app_context(), uow_of(app).begin() as session:
        assert session.get(DataKey, first_key) is None, "the old secret's key was not shredded"
    stale = post_form(
        client,
        "/account/two-step/confirm",
        "/account/two-step",
        {"confirm-code": code_at(first, clock.now)},
    )
    assert stale.status_code == 422


# -- signing in --------------------------------------------------------------------------------


def test_sign_in_asks_for_the_code_after_the_password(app, client, clock, reviewer):
    secret = enrol(app, reviewer)

    first = post_password(client, reviewer, "?next=%2Faccount%2Fpassword")

    assert first.status_code == 302
    assert first.headers["Location"] == "/login/code?next=/account/password"
    assert_signed_out(client)
    with client.session_transaction() as state:
        assert "_user_id" not in state
        assert set(state[login_view.PENDING_KEY]) == {"user", "epoch", "at"}
    assert audit_events(app, "auth.login") == []
    [asked] = audit_events(app, "auth.code_requested")
    assert asked["object_id"] == str(reviewer.id)

    response = post_code(client, next_code(secret, clock), "?next=%2Faccount%2Fpassword")

    assert response.status_code == 302
    assert response.headers["Location"] == "/account/password"
    assert client.get("/").status_code == 200
    [login] = audit_events(app, "auth.login")
    assert login["actor"] == str(reviewer.id)
    assert user_row(app, reviewer.id).totp_last_step == int(clock.now // 30)
    with client.session_transaction() as state:
        assert login_view.PENDING_KEY not in state


def test_a_code_from_the_step_before_or_after_is_accepted(app, clock, reviewer):
    secret = enrol(app, reviewer)
    clock.advance(60)
    client = app.test_client()
    assert sign_in_with_code(client, reviewer, code_at(secret, clock.now - 30)).status_code == 302
    other = app.test_client()
    assert sign_in_with_code(other, reviewer, code_at(secret, clock.now + 30)).status_code == 302
    late = app.test_client()
    assert sign_in_with_code(late, reviewer, code_at(secret, clock.now + 60)).status_code == 401


def test_a_wrong_code_looks_generic_and_is_audited_without_the_code(app, client, clock, reviewer):
    secret = enrol(app, reviewer)
    right = next_code(secret, clock)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    response = sign_in_with_code(client, reviewer, wrong)

    assert response.status_code == 401
    body = response.get_data(as_text=True)
    assert WRONG_CODE_MESSAGE in body
    assert wrong not in body
    assert_signed_out(client)
    [failure] = audit_events(app, "auth.login_failed")
    assert failure["details"] == {"reason": "wrong_code"}
    assert failure["actor"] == audit.SYSTEM_ACTOR
    assert failure["object_id"] == str(reviewer.id)
    assert audit_events(app, "auth.login") == []
    # The pending sign-in survives one typo: the right code still works.
    assert post_code(client, right).status_code == 302
    assert client.get("/").status_code == 200


def test_a_used_code_is_refused(app, clock, reviewer):
    secret = enrol(app, reviewer)
    code = next_code(secret, clock)
    first = app.test_client()
    assert sign_in_with_code(first, reviewer, code).status_code == 302

    replay = app.test_client()
    response = sign_in_with_code(replay, reviewer, code)

    assert response.status_code == 401
    assert WRONG_CODE_MESSAGE in response.get_data(as_text=True)
    assert_signed_out(replay)
    assert [e["details"] for e in audit_events(app, "auth.login_failed")] == [
        {"reason": "wrong_code"}
    ]
    assert sign_in_with_code(replay, reviewer, next_code(secret, clock)).status_code == 302


def test_a_pending_sign_in_lapses_after_five_minutes(app, client, clock, reviewer):
    secret = enrol(app, reviewer)
    assert post_password(client, reviewer).status_code == 302
    token = csrf_from(client.get("/login/code").get_data(as_text=True))
    clock.advance(5 * 60 + 1)

    response = client.post(
        "/login/code", data={"code": code_at(secret, clock.now), "csrf_token": token}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert_signed_out(client)
    assert client.get("/login/code").headers["Location"] == "/login"
    assert audit_events(app, "auth.login") == []


def test_the_code_page_needs_a_pending_sign_in(app, client, clock, reviewer):
    assert client.get("/login/code").status_code == 302
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login/code", data={"code": "123456", "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert_signed_out(client)
    # A forged pending marker for an account without two-step sign-in does not sign it in.
    with client.session_transaction() as state:
        state[login_view.PENDING_KEY] = {"user": reviewer.id, "epoch": 0, "at": int(clock.now)}
    assert client.get("/login/code").headers["Location"] == "/login"
    assert_signed_out(client)


def test_an_account_without_two_step_signs_in_with_the_password_alone(app, client, reviewer):
    response = post_password(client, reviewer)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert audit_events(app, "auth.code_requested") == []


def test_a_wrong_password_never_reaches_the_code_step(app, client, clock, reviewer):
    enrol(app, reviewer)
    wrong = Account(reviewer.id, reviewer.username, reviewer.role, reviewer.region, "nope nope")
    response = post_password(client, wrong)
    assert response.status_code == 401
    assert client.get("/login/code").headers["Location"] == "/login"
    assert audit_events(app, "auth.code_requested") == []


# -- turning it off ----------------------------------------------------------------------------


def test_turning_it_off_needs_the_password_and_a_code(app, clock, reviewer):
    secret = enrol(app, reviewer)
    client = app.test_client()
    assert sign_in_with_code(client, reviewer, next_code(secret, clock)).status_code == 302
    other = app.test_client()
    assert sign_in_with_code(other, reviewer, next_code(secret, clock)).status_code == 302
    key_id = user_row(app, reviewer.id).data_key_id

    no_password = post_form(
        client,
        "/account/two-step/disable",
        "/account/two-step",
        {"disable-password": "not my password", "disable-code": next_code(secret, clock)},
    )
    assert no_password.status_code == 400
    wrong_code = post_form(
        client,
        "/account/two-step/disable",
        "/account/two-step",
        {"disable-password": PASSWORD, "disable-code": "000000"},
    )
    assert wrong_code.status_code == 422
    assert user_row(app, reviewer.id).totp_enabled
    assert audit_events(app, "user.totp_disabled") == []

    response = post_form(
        client,
        "/account/two-step/disable",
        "/account/two-step",
        {"disable-password": PASSWORD, "disable-code": next_code(secret, clock)},
    )

    assert response.status_code == 302
    row = user_row(app, reviewer.id)
    assert (row.totp_enabled, row.payload, row.data_key_id, row.totp_last_step) == (
        False,
        None,
        None,
        None,
    )
    with app.app_context(), uow_of(app).begin() as session:
        assert session.get(DataKey, key_id) is None, "the secret's data key survived"
    [event] = audit_events(app, "user.totp_disabled")
    assert event["actor"] == str(reviewer.id)
    assert client.get("/").status_code == 200
    assert_signed_out(other)
    fresh = app.test_client()
    assert post_password(fresh, reviewer).headers["Location"] == "/"


# -- the admin's reset (a lost phone) ----------------------------------------------------------


def test_an_admin_reset_removes_it_and_ends_the_users_sessions(app, clock, accounts, reviewer):
    secret = enrol(app, reviewer)
    theirs = app.test_client()
    assert sign_in_with_code(theirs, reviewer, next_code(secret, clock)).status_code == 302
    admin = signed_in(app, accounts[Role.ADMIN])
    page = admin.get(f"/admin/users/{reviewer.id}").get_data(as_text=True)
    assert "Reset two-step sign-in" in page
    epoch = user_row(app, reviewer.id).session_epoch
    before_reads = len(audit_events(app, "payload.decrypted"))

    response = post_form(
        admin, f"/admin/users/{reviewer.id}/two-step", f"/admin/users/{reviewer.id}", {}
    )

    assert response.status_code == 302
    row = user_row(app, reviewer.id)
    assert (row.totp_enabled, row.payload, row.session_epoch) == (False, None, epoch + 1)
    assert_signed_out(theirs)
    assert admin.get("/").status_code == 200, "the admin's own session ended too"
    [event] = audit_events(app, "user.totp_reset")
    assert event["actor"] == str(accounts[Role.ADMIN].id)
    assert event["object_id"] == str(reviewer.id)
    assert event["details"] == {"was_enabled": True}
    assert len(audit_events(app, "payload.decrypted")) == before_reads, "the admin read a secret"
    fresh = app.test_client()
    assert post_password(fresh, reviewer).headers["Location"] == "/"


def test_an_admin_cannot_reset_their_own_or_a_missing_two_step(app, clock, accounts):
    admin_account = accounts[Role.ADMIN]
    secret = enrol(app, admin_account)
    admin = app.test_client()
    assert sign_in_with_code(admin, admin_account, next_code(secret, clock)).status_code == 302
    own = post_form(
        admin,
        f"/admin/users/{admin_account.id}/two-step",
        f"/admin/users/{admin_account.id}",
        {},
    )
    assert own.status_code == 422
    assert user_row(app, admin_account.id).totp_enabled
    target = accounts[Role.AUDITOR].id
    missing = post_form(admin, f"/admin/users/{target}/two-step", f"/admin/users/{target}", {})
    assert missing.status_code == 409
    assert audit_events(app, "user.totp_reset") == []


def test_the_user_list_shows_who_has_two_step(app, accounts, reviewer):
    enrol(app, reviewer)
    admin = signed_in(app, accounts[Role.ADMIN])
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "Two-step" in page
    row = re.search(rf"<td>{reviewer.username}</td>.*?</tr>", page, re.S)
    assert row and "<td>on</td>" in row.group(0)


# -- the setting that makes it compulsory ------------------------------------------------------


@pytest.fixture
def strict_app(settings: Settings) -> Iterator[Flask]:
    application = create_app_with(settings, require_two_step=True)
    yield application
    uow_of(application).engine.dispose()


def create_app_with(settings: Settings, **overrides: Any) -> Flask:
    from triage import create_app

    return create_app(settings.with_overrides(overrides))


def test_required_two_step_sends_users_to_set_it_up(strict_app, clock):
    account = make_user(strict_app, "strict.user", Role.SUPERVISOR, Region.ASTANA)
    client = strict_app.test_client()
    assert post_password(client, account).status_code == 302

    for path in ("/", "/admin/users", "/account/password"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"] == "/account/two-step", path
    assert client.get("/account/two-step").status_code == 200
    assert client.get("/static/style.css").status_code == 200

    post_form(client, "/account/two-step/start", "/account/two-step", {})
    secret = secret_on_page(client)
    confirmed = post_form(
        client,
        "/account/two-step/confirm",
        "/account/two-step",
        {"confirm-code": code_at(secret, clock.now)},
    )
    assert confirmed.status_code == 302
    assert client.get("/").status_code == 200
    token = csrf_from(client.get("/").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302


def test_required_two_step_still_lets_a_user_sign_out(strict_app):
    account = make_user(strict_app, "leaving.user", Role.AUDITOR)
    client = strict_app.test_client()
    post_password(client, account)
    token = csrf_from(client.get("/account/two-step").get_data(as_text=True))
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert_signed_out(client)


# -- rate limit --------------------------------------------------------------------------------


def test_codes_are_rate_limited_like_passwords(settings, clock):
    application = create_app_with(settings, login_rate_limit="3 per minute")
    try:
        account = make_user(application, "limited.code", Role.REVIEWER, Region.ABAI)
        secret = enrol(application, account)
        client = application.test_client()
        assert post_password(client, account).status_code == 302
        for _ in range(3):
            assert post_code(client, "000000").status_code == 401

        blocked = post_code(client, next_code(secret, clock))

        assert blocked.status_code == 429
        assert "Too many attempts" in blocked.get_data(as_text=True)
        assert_signed_out(client)
        assert len(audit_events(application, "auth.login_failed")) == 3
        # Another address does not help: the account's own limit holds.
        elsewhere = application.test_client()
        elsewhere.environ_base["REMOTE_ADDR"] = "10.0.0.77"
        assert post_password(elsewhere, account).status_code == 302
        assert post_code(elsewhere, next_code(secret, clock)).status_code == 429
    finally:
        uow_of(application).engine.dispose()


# -- the secret stays secret -------------------------------------------------------------------


def test_the_secret_is_never_stored_or_logged_in_plaintext(
    app, clock, reviewer, database: Database, caplog
):
    caplog.set_level(logging.DEBUG)
    client = signed_in(app, reviewer)
    post_form(client, "/account/two-step/start", "/account/two-step", {})
    secret = secret_on_page(client)
    cookie = client.get_cookie("triage_session")
    assert cookie is not None and secret not in cookie.value
    code = code_at(secret, clock.now)
    post_form(client, "/account/two-step/confirm", "/account/two-step", {"confirm-code": code})
    assert user_row(app, reviewer.id).totp_enabled
    signing_in = app.test_client()
    later = next_code(secret, clock)
    sign_in_with_code(signing_in, reviewer, "999999" if later != "999999" else "111111")
    assert sign_in_with_code(signing_in, reviewer, later).status_code == 302

    with app.app_context(), uow_of(app).begin() as session:
        row = session.execute(
            text("SELECT * FROM user_account WHERE id = :id"), {"id": reviewer.id}
        ).one()
    raw = b"".join(
        bytes(value) if isinstance(value, (bytes, memoryview)) else str(value).encode()
        for value in tuple(row)
    )
    assert row.payload is not None
    for form in (secret, " ".join(secret[i : i + 4] for i in range(0, 32, 4))):
        assert form.encode() not in raw, "the secret is in the user_account row"
        assert form not in audit_text(app), "the secret is in the audit log"
        assert form not in caplog.text, "the secret is in a log line"
    if database.path is not None:
        assert secret.encode() not in database.path.read_bytes()
        wal = database.path.with_name(database.path.name + "-wal")
        if wal.exists():
            assert secret.encode() not in wal.read_bytes()
    with app.app_context(), uow_of(app).begin() as session:
        details = [event.details for event in session.scalars(select(AuditEvent))]
    assert not any(code in d or later in d for d in details), "a code is in an audit event"
