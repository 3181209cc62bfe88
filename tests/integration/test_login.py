"""Signing in and out: what a user sees, what the audit log keeps, and what it must never keep.

Every sign-in failure looks the same to the person at the keyboard; only the audit log tells
them apart, by a reason code, and it never holds a typed username or password. A changed password
or an admin's change to an account ends every session the account had.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import PASSWORD, Account, AuthActions, facts, make_user
from triage import audit, create_app, users
from triage.config import Settings
from triage.models import AuditEvent, User
from triage.vocab import Region, Role
from triage.web import sessions as server_sessions
from triage.web.deps import uow_of

GENERIC_FAILURE = "The username or password is not right, or the account is disabled."
WRONG_PASSWORD = "Not-the-password-Zq81"


def audit_events(app: Flask, action: str | None = None) -> list[dict[str, Any]]:
    with app.app_context(), uow_of(app).begin() as session:
        query = select(AuditEvent).order_by(AuditEvent.seq)
        if action is not None:
            query = query.where(AuditEvent.action == action)
        return [facts(audit.event_fields(event)) for event in session.scalars(query)]


def audit_text(app: Flask) -> str:
    """Every column of every audit event, as one text to search."""
    with app.app_context(), uow_of(app).begin() as session:
        rows = session.execute(select(*AuditEvent.__table__.columns)).all()
    return "\n".join(" ".join(str(value) for value in row) for row in rows)


def user_row(app: Flask, user_id: int) -> User:
    with app.app_context(), uow_of(app).begin() as session:
        user = session.get(User, user_id)
        assert user is not None
        session.expunge(user)
        return user


def disable(app: Flask, account: Account) -> None:
    with app.app_context(), uow_of(app).begin() as session:
        user = users.get(session, account.id)
        users.update_user(
            session, user, role=user.role, region=user.region, active=False, actor="system"
        )


def csrf_from(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def post_login(client: FlaskClient, username: str, password: str, query: str = "") -> Any:
    token = csrf_from(client.get("/login" + query).get_data(as_text=True))
    return client.post(
        "/login" + query, data={"username": username, "password": password, "csrf_token": token}
    )


# -- signing in --------------------------------------------------------------------------------


def test_good_login_redirects_home_and_is_audited(app, client, accounts, auth):
    reviewer = accounts[Role.REVIEWER]
    before = len(audit_events(app, "auth.login"))

    response = auth.login(reviewer.username)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert f"Welcome, {reviewer.username}" in home.get_data(as_text=True)
    logins = audit_events(app, "auth.login")
    assert len(logins) == before + 1
    event = logins[-1]
    assert event["actor"] == str(reviewer.id)
    assert (event["object_type"], event["object_id"]) == ("user", str(reviewer.id))
    assert event["details"] == {}
    assert user_row(app, reviewer.id).last_login_at is not None


def test_username_is_matched_case_insensitively(app, client, accounts, auth):
    response = auth.login("  " + accounts[Role.AUDITOR].username.upper() + " ")
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_every_sign_in_failure_looks_the_same_and_is_audited_by_reason_only(app):
    known = make_user(app, "dana.k", Role.REVIEWER, Region.KARAGANDA)
    disabled = make_user(app, "erlan.b", Role.CASEWORKER, Region.ASTANA)
    disable(app, disabled)
    attempts = [
        ("wrong_password", known.username, WRONG_PASSWORD),
        ("unknown_user", "ghost.q7x", WRONG_PASSWORD),
        ("disabled", disabled.username, PASSWORD),  # the right password of a disabled account
    ]
    before = len(audit_events(app, "auth.login_failed"))

    pages = []
    for _reason, username, password in attempts:
        client = app.test_client()
        response = post_login(client, username, password)
        assert response.status_code == 401
        body = response.get_data(as_text=True)
        assert GENERIC_FAILURE in body
        assert password not in body, "the typed password is echoed back"
        assert client.get("/").status_code == 302, "a failed sign-in signed someone in"
        # What differs between the pages may only be what the user typed and the CSRF token.
        pages.append(body.replace(csrf_from(body), "TOKEN").replace(username, "NAME"))
    assert pages[0] == pages[1] == pages[2]

    failures = audit_events(app, "auth.login_failed")[before:]
    assert [event["details"] for event in failures] == [
        {"reason": reason} for reason, _, _ in attempts
    ]
    assert all(event["actor"] == audit.SYSTEM_ACTOR for event in failures)
    assert [event["object_id"] for event in failures] == [str(known.id), None, str(disabled.id)]
    everything = audit_text(app)
    for secret in ("dana.k", "erlan.b", "ghost.q7x", WRONG_PASSWORD, PASSWORD):
        assert secret not in everything, f"{secret!r} is in the audit log"


def test_an_empty_form_is_refused_without_signing_in(client, accounts):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": "admin", "csrf_token": token})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_a_signed_in_user_opening_login_goes_home(client, accounts, auth):
    auth.login_as(accounts[Role.ADMIN])
    response = client.get("/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


# -- signing out -------------------------------------------------------------------------------


def test_logout_is_post_only_with_csrf_and_is_audited(app, client, accounts, auth):
    admin = accounts[Role.ADMIN]
    auth.login_as(admin)

    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200, "GET /logout signed the user out"

    no_token = client.post("/logout")
    assert no_token.status_code == 400
    assert "Form expired" in no_token.get_data(as_text=True)
    assert client.get("/").status_code == 200, "a POST without CSRF token signed the user out"
    assert audit_events(app, "auth.logout") == []

    response = auth.logout()
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert "You have signed out." in client.get("/login").get_data(as_text=True)
    home = client.get("/")
    assert home.status_code == 302
    assert home.headers["Location"].startswith("/login")
    [event] = audit_events(app, "auth.logout")
    assert event["actor"] == str(admin.id)
    assert (event["object_type"], event["object_id"]) == ("user", str(admin.id))


# -- where the user goes after signing in ------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example",
        "https://evil.example/account/password",
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "https:evil.example",
        "javascript:alert(1)",
        "account/password",
    ],
)
def test_login_refuses_to_redirect_off_site(client, accounts, target):
    response = post_login(
        client, accounts[Role.REVIEWER].username, PASSWORD, "?next=" + quote(target, safe="")
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_returns_to_a_same_site_page(client, accounts):
    response = post_login(
        client, accounts[Role.REVIEWER].username, PASSWORD, "?next=%2Faccount%2Fpassword"
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/password"
    assert client.get("/account/password").status_code == 200


def test_a_protected_page_sends_anonymous_users_to_login_and_back(client, accounts):
    response = client.get("/account/password")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query) == {"next": ["/account/password"]}
    back = post_login(client, accounts[Role.AUDITOR].username, PASSWORD, "?next=/account/password")
    assert back.headers["Location"] == "/account/password"


# -- rate limit --------------------------------------------------------------------------------


@pytest.fixture
def limited_app(settings: Settings) -> Iterator[Flask]:
    application = create_app(settings.with_overrides({"login_rate_limit": "3 per minute"}))
    yield application
    uow_of(application).engine.dispose()


def test_login_posts_are_rate_limited(limited_app):
    account = make_user(limited_app, "limited.user", Role.REVIEWER, Region.ABAI)
    client = limited_app.test_client()
    for _ in range(3):
        assert post_login(client, account.username, WRONG_PASSWORD).status_code == 401

    blocked = post_login(client, account.username, PASSWORD)

    assert blocked.status_code == 429
    body = blocked.get_data(as_text=True)
    assert "Too many attempts" in body
    assert "Traceback" not in body
    assert client.get("/").status_code == 302, "a rate-limited attempt signed the user in"
    assert client.get("/login").status_code == 200, "showing the form is not limited"
    assert len(audit_events(limited_app, "auth.login_failed")) == 3
    assert audit_events(limited_app, "auth.login") == []


def test_guesses_at_one_account_are_limited_across_addresses(limited_app):
    account = make_user(limited_app, "spread.user", Role.REVIEWER, Region.ABAI)
    for n in range(3):
        client = limited_app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.0.0.{n + 1}"
        assert post_login(client, account.username, WRONG_PASSWORD).status_code == 401
    fresh = limited_app.test_client()
    fresh.environ_base["REMOTE_ADDR"] = "10.0.0.99"
    assert post_login(fresh, account.username, PASSWORD).status_code == 429
    other = make_user(limited_app, "other.user", Role.REVIEWER, Region.ABAI)
    assert post_login(fresh, other.username, PASSWORD).status_code == 302


def test_behind_a_trusted_proxy_the_client_address_counts(settings: Settings):
    application = create_app(
        settings.with_overrides({"login_rate_limit": "2 per minute", "trusted_proxies": 1})
    )
    try:
        make_user(application, "proxied.a", Role.REVIEWER, Region.ABAI)
        make_user(application, "proxied.b", Role.REVIEWER, Region.ABAI)
        client = application.test_client()
        for name in ("proxied.a", "proxied.b"):
            client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.7"
            assert post_login(client, name, WRONG_PASSWORD).status_code == 401
        # Same proxy, another client behind it: not blocked by the first client's failures.
        client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.8"
        assert post_login(client, "proxied.a", PASSWORD).status_code == 302
    finally:
        uow_of(application).engine.dispose()


# -- sessions end when the account changes -----------------------------------------------------


def signed_in(app: Flask, account: Account, password: str = PASSWORD) -> FlaskClient:
    client = app.test_client()
    AuthActions(client).login_as(
        Account(account.id, account.username, account.role, account.region, password)
    )
    assert client.get("/").status_code == 200
    return client


def assert_signed_out(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_changing_the_password_ends_every_session(app, accounts):
    reviewer = accounts[Role.REVIEWER]
    laptop = signed_in(app, reviewer)
    phone = signed_in(app, reviewer)
    new_password = "a brand new passphrase 42"
    token = csrf_from(laptop.get("/account/password").get_data(as_text=True))

    response = laptop.post(
        "/account/password",
        data={
            "current": PASSWORD,
            "new": new_password,
            "confirm": new_password,
            "csrf_token": token,
        },
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert_signed_out(phone)
    assert_signed_out(laptop)
    assert post_login(app.test_client(), reviewer.username, PASSWORD).status_code == 401
    signed_in(app, reviewer, new_password)


@pytest.mark.parametrize(
    "change",
    [
        {"role": "supervisor", "region": "karaganda", "active": "y"},
        {"role": "reviewer", "region": "astana", "active": "y"},
        {"role": "reviewer", "region": "karaganda"},  # the box unticked: disabled
    ],
    ids=["role", "region", "disabled"],
)
def test_an_admin_change_ends_the_users_sessions(app, accounts, change):
    reviewer = accounts[Role.REVIEWER]
    theirs = signed_in(app, reviewer)
    admin = signed_in(app, accounts[Role.ADMIN])
    epoch = user_row(app, reviewer.id).session_epoch
    token = csrf_from(admin.get(f"/admin/users/{reviewer.id}").get_data(as_text=True))

    response = admin.post(f"/admin/users/{reviewer.id}", data={**change, "csrf_token": token})

    assert response.status_code == 302
    assert user_row(app, reviewer.id).session_epoch == epoch + 1
    assert_signed_out(theirs)
    assert admin.get("/").status_code == 200, "the admin's own session ended too"


def test_an_admin_password_reset_ends_the_users_sessions(app, accounts):
    caseworker = accounts[Role.CASEWORKER]
    theirs = signed_in(app, caseworker)
    admin = signed_in(app, accounts[Role.ADMIN])
    token = csrf_from(admin.get(f"/admin/users/{caseworker.id}").get_data(as_text=True))

    response = admin.post(
        f"/admin/users/{caseworker.id}/password",
        data={"reset-password": "handed over in person 7", "csrf_token": token},
    )

    assert response.status_code == 302
    assert_signed_out(theirs)


def test_a_session_from_before_a_change_cannot_be_replayed(app, accounts):
    """The old cookie, kept by an attacker, stays dead even after the user signs in again."""
    auditor = accounts[Role.AUDITOR]
    client = signed_in(app, auditor)
    stolen = client.get_cookie("triage_session")
    assert stolen is not None
    with app.app_context(), uow_of(app).begin() as session:
        users.set_password(session, users.get(session, auditor.id), PASSWORD, actor="system")

    attacker = app.test_client()
    attacker.set_cookie("triage_session", stolen.value)
    assert_signed_out(attacker)


def test_an_idle_session_expires_on_the_server_too(app, client, accounts, auth, monkeypatch):
    """The cookie's expiry is only advice to the browser; the server refuses an old one itself."""
    auth.login_as(accounts[Role.SUPERVISOR])
    assert client.get("/").status_code == 200
    now = datetime.now(UTC)
    monkeypatch.setattr(server_sessions, "_now", lambda: now + timedelta(minutes=29))
    assert client.get("/").status_code == 200, "an active session expired early"
    monkeypatch.setattr(server_sessions, "_now", lambda: now + timedelta(minutes=60))
    assert_signed_out(client)


# -- the session cookie ------------------------------------------------------------------------


def session_cookie(response: Any) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("triage_session=")]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    return cookies[0]


def test_session_cookie_flags(client, accounts, auth):
    response = auth.login_as(accounts[Role.REVIEWER])
    cookie = session_cookie(response)
    flags = {part.strip().split("=")[0].lower(): part for part in cookie.split(";")[1:]}
    assert "httponly" in flags
    assert flags["samesite"].strip() == "SameSite=Lax"
    assert "secure" not in flags, "the embedded default serves plain HTTP on localhost"
    expires = parsedate_to_datetime(flags["expires"].split("=", 1)[1])
    assert expires - datetime.now(UTC) <= timedelta(minutes=30, seconds=5)
    assert not any(
        c.startswith("remember_token=") for c in response.headers.getlist("Set-Cookie")
    ), "a long-lived remember-me cookie was set"


def test_secure_cookies_setting_marks_the_cookie_secure(settings):
    application = create_app(settings.with_overrides({"secure_cookies": True}))
    try:
        account = make_user(application, "secure.user", Role.AUDITOR)
        client = application.test_client()
        page = client.get("/login", base_url="https://localhost")
        assert "max-age=" in page.headers["Strict-Transport-Security"]
        token = csrf_from(page.get_data(as_text=True))
        response = client.post(
            "/login",
            base_url="https://localhost",
            data={"username": account.username, "password": PASSWORD, "csrf_token": token},
        )
        assert response.status_code == 302
        assert "Secure" in session_cookie(response).split("; ")
    finally:
        uow_of(application).engine.dispose()
