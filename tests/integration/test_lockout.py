"""Per-account lockout: five failures in a row lock an account for fifteen minutes, each failure
after a lock doubles the delay up to four hours; the guesser gets the same answer as for a wrong
password or an unknown user; guesses during the lock do not lengthen it; after the delay the
right password (and code) works; an admin sees the lock and lifts it, audited."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update

from tests.conftest import PASSWORD, Account
from tests.integration.test_two_step import code_at, enrol, forget_last_step
from triage import audit, lockout
from triage.models import AuditEvent, User
from triage.vocab import Role
from triage.web.deps import uow_of

RULES = lockout.LockoutRules()
_TOKEN = re.compile(r'name="[a-z_-]*csrf_token"[^>]*value="([^"]+)"')
_addresses = count(1)


# -- the rule ----------------------------------------------------------------------------------


def test_the_delay_starts_at_the_threshold_doubles_and_stops_at_the_cap():
    assert [lockout.delay(n, RULES) for n in range(5)] == [None] * 5
    minutes = [lockout.delay(n, RULES).total_seconds() / 60 for n in range(5, 11)]  # type: ignore[union-attr]
    assert minutes == [15, 30, 60, 120, 240, 240]


@given(st.integers(min_value=0, max_value=10**9))
def test_no_count_of_failures_locks_beyond_the_cap(failures: int) -> None:
    wait = lockout.delay(failures, RULES)
    assert wait is None or timedelta(minutes=15) <= wait <= RULES.cap


def test_a_threshold_of_zero_turns_lockout_off():
    assert lockout.delay(1000, lockout.LockoutRules(threshold=0)) is None


# -- helpers -----------------------------------------------------------------------------------


def browser(app: Flask) -> FlaskClient:
    """A client from an address of its own: the per-address limit is not what is tested here."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.0.{next(_addresses) % 250}.{next(_addresses) % 250}"
    return client


def try_sign_in(client: FlaskClient, username: str, password: str) -> Any:
    match = _TOKEN.search(client.get("/login").get_data(as_text=True))
    assert match
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": match.group(1)}
    )


def answer(response: Any) -> tuple[int, str]:
    """What a guesser sees, without the per-session CSRF token and the typed username."""
    text = _TOKEN.sub("", response.get_data(as_text=True))
    text = re.sub(r'name="username"[^>]*>', "", text)
    return response.status_code, text


def row(app: Flask, user_id: int) -> User:
    with app.app_context(), uow_of(app).read() as session:
        user = session.get(User, user_id)
        assert user is not None
        return user


def let_the_lock_lapse(app: Flask, user_id: int) -> None:
    """The delay passes (the clock moves on)."""
    with app.app_context(), uow_of(app).begin() as session:
        session.execute(
            update(User)
            .where(User.id == user_id)
            .values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
        )


def events(app: Flask, action: str) -> list[dict[str, Any]]:
    with app.app_context(), uow_of(app).read() as session:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        return [audit.event_fields(e) for e in session.scalars(query)]


def fail(app: Flask, account: Account, times: int) -> None:
    for _ in range(times):
        assert try_sign_in(browser(app), account.username, "not the password").status_code == 401


@pytest.fixture
def reviewer(accounts: dict[Role, Account]) -> Account:
    return accounts[Role.REVIEWER]


# -- through the sign-in page ------------------------------------------------------------------


def test_five_failures_lock_the_account_and_the_answer_gives_nothing_away(app, reviewer):
    wrong = answer(try_sign_in(browser(app), reviewer.username, "not the password"))
    unknown = answer(try_sign_in(browser(app), "nobody-here", "not the password"))
    assert wrong[0] == unknown[0] == 401
    assert wrong == unknown
    fail(app, reviewer, 4)  # five in all with the first
    locked_row = row(app, reviewer.id)
    assert locked_row.failed_logins == 5
    assert locked_row.locked_until is not None
    assert locked_row.locked_until - datetime.now(UTC) > timedelta(minutes=14)

    right_but_locked = try_sign_in(browser(app), reviewer.username, PASSWORD)
    assert answer(right_but_locked) == wrong, "a locked account answers unlike a wrong password"
    assert "lock" not in right_but_locked.get_data(as_text=True).lower()
    [locked] = events(app, "user.locked")
    assert locked["object_id"] == str(reviewer.id)
    assert {k: locked["details"][k] for k in ("failures", "minutes")} == {
        "failures": 5,
        "minutes": 15,
    }
    assert events(app, "auth.login_failed")[-1]["details"]["reason"] == "locked"


def test_guesses_during_the_lock_neither_count_nor_lengthen_it(app, reviewer):
    fail(app, reviewer, 5)
    before = row(app, reviewer.id)
    fail(app, reviewer, 3)
    after = row(app, reviewer.id)
    assert (after.failed_logins, after.locked_until) == (before.failed_logins, before.locked_until)


def test_after_the_delay_the_right_password_works_and_clears_the_count(app, reviewer):
    fail(app, reviewer, 5)
    let_the_lock_lapse(app, reviewer.id)
    client = browser(app)
    assert try_sign_in(client, reviewer.username, PASSWORD).status_code == 302
    assert client.get("/").status_code == 200
    cleared = row(app, reviewer.id)
    assert (cleared.failed_logins, cleared.locked_until) == (0, None)


def test_a_failure_after_a_lock_doubles_the_delay(app, reviewer):
    fail(app, reviewer, 5)
    let_the_lock_lapse(app, reviewer.id)
    fail(app, reviewer, 1)
    again = row(app, reviewer.id)
    assert again.failed_logins == 6
    assert again.locked_until is not None
    left = again.locked_until - datetime.now(UTC)
    assert timedelta(minutes=29) < left <= timedelta(minutes=30)
    assert [e["details"]["minutes"] for e in events(app, "user.locked")] == [15, 30]


def test_no_one_outside_can_lock_an_account_beyond_the_cap(app, reviewer):
    """Fifty failures, spread over many addresses: the lock still ends within four hours, and
    then the right password works."""
    with app.app_context(), uow_of(app).begin() as session:
        session.execute(update(User).where(User.id == reviewer.id).values(failed_logins=49))
    fail(app, reviewer, 1)
    capped = row(app, reviewer.id)
    assert capped.locked_until is not None
    assert capped.locked_until - datetime.now(UTC) <= timedelta(hours=4)
    let_the_lock_lapse(app, reviewer.id)
    assert try_sign_in(browser(app), reviewer.username, PASSWORD).status_code == 302


def test_wrong_codes_count_towards_the_lock(app, reviewer):
    secret = enrol(app, reviewer)
    forget_last_step(app, reviewer)
    client = browser(app)
    for _ in range(5):
        assert try_sign_in(client, reviewer.username, PASSWORD).status_code == 302
        match = _TOKEN.search(client.get("/login/code").get_data(as_text=True))
        assert match
        wrong = client.post("/login/code", data={"code": "000000", "csrf_token": match.group(1)})
        assert wrong.status_code == 401
    assert row(app, reviewer.id).locked_until is not None
    # The right password and the right code, while locked: refused as a wrong password is.
    refused = try_sign_in(browser(app), reviewer.username, PASSWORD)
    assert refused.status_code == 401
    let_the_lock_lapse(app, reviewer.id)
    client = browser(app)
    assert try_sign_in(client, reviewer.username, PASSWORD).status_code == 302
    match = _TOKEN.search(client.get("/login/code").get_data(as_text=True))
    assert match
    code = code_at(secret, time.time())
    signed = client.post("/login/code", data={"code": code, "csrf_token": match.group(1)})
    assert signed.status_code == 302, signed.get_data(as_text=True)
    assert row(app, reviewer.id).failed_logins == 0


def admin_client(app: Flask, admin: Account) -> FlaskClient:
    client = browser(app)
    assert try_sign_in(client, admin.username, PASSWORD).status_code == 302
    return client


def test_an_admin_sees_the_lock_and_lifts_it(app, accounts, reviewer):
    fail(app, reviewer, 5)
    admin = accounts[Role.ADMIN]
    boss = admin_client(app, admin)
    listing = boss.get("/admin/users").get_data(as_text=True)
    assert "locked" in listing
    page = boss.get(f"/admin/users/{reviewer.id}").get_data(as_text=True)
    assert "Locked after 5 failed sign-ins" in page
    match = re.search(r'name="unlock-csrf_token"[^>]*value="([^"]+)"', page)
    assert match
    lifted = boss.post(
        f"/admin/users/{reviewer.id}/unlock", data={"unlock-csrf_token": match.group(1)}
    )
    assert lifted.status_code == 302
    cleared = row(app, reviewer.id)
    assert (cleared.failed_logins, cleared.locked_until) == (0, None)
    [event] = events(app, "user.unlocked")
    assert (event["actor"], event["object_id"]) == (str(admin.id), str(reviewer.id))
    assert event["details"]["failures"] == 5
    assert try_sign_in(browser(app), reviewer.username, PASSWORD).status_code == 302


def test_lifting_needs_the_csrf_token_and_the_admin_role(app, accounts, reviewer):
    fail(app, reviewer, 5)
    boss = admin_client(app, accounts[Role.ADMIN])
    assert boss.post(f"/admin/users/{reviewer.id}/unlock").status_code == 400
    supervisor = admin_client(app, accounts[Role.SUPERVISOR])
    assert supervisor.post(f"/admin/users/{reviewer.id}/unlock").status_code in {400, 403}
    assert row(app, reviewer.id).locked_until is not None
    assert events(app, "user.unlocked") == []


@pytest.fixture
def no_lockout_app(settings: Any) -> Iterator[Flask]:
    from dataclasses import replace

    from triage import create_app

    app = create_app(replace(settings, lockout_threshold=0))
    yield app
    uow_of(app).engine.dispose()


def test_the_threshold_setting_is_obeyed(no_lockout_app):
    from tests.conftest import make_user

    account = make_user(no_lockout_app, "no-lock", Role.REVIEWER)
    fail(no_lockout_app, account, 6)
    assert row(no_lockout_app, account.id).locked_until is None
