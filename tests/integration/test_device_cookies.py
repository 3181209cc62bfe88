"""Device cookies: a stranger's guesses lock an account for every browser without its device
cookie, while its owner, on the browser she signed in from before, still signs in; a forged,
expired, another account's or denied cookie gets nothing past the lock; a stolen one buys a few
guesses and is then denied (audited); every failure answers the same 401."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from dataclasses import replace
from http.cookies import SimpleCookie
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from tests.conftest import PASSWORD, Account, facts
from tests.integration.test_lockout import _TOKEN, answer, browser, events, fail, row, try_sign_in
from tests.integration.test_two_step import code_at, enrol
from triage import create_app, two_step
from triage.config import Settings
from triage.models import User
from triage.vocab import Role
from triage.web import device_cookies
from triage.web.deps import uow_of

WRONG = "not the password"


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    """The sign-in limits (ten a minute per address and per account name) are not what is
    tested here, but for one test below: raised out of the way."""
    application = create_app(replace(settings, login_rate_limit="1000 per minute"))
    yield application
    uow_of(application).engine.dispose()


@pytest.fixture
def owner(accounts: dict[Role, Account]) -> Account:
    return accounts[Role.REVIEWER]


def cookie_of(client: FlaskClient) -> str | None:
    cookie = client.get_cookie(device_cookies.COOKIE, path=device_cookies.PATH)
    return None if cookie is None else cookie.value


def give(client: FlaskClient, value: str) -> FlaskClient:
    client.set_cookie(device_cookies.COOKIE, value, path=device_cookies.PATH)
    return client


def her_browser(app: Flask, account: Account) -> FlaskClient:
    """The owner's usual browser: she signed in from it before, and signed out."""
    client = browser(app)
    assert try_sign_in(client, account.username, PASSWORD).status_code == 302
    match = _TOKEN.search(client.get("/").get_data(as_text=True))
    assert match
    assert client.post("/logout", data={"csrf_token": match.group(1)}).status_code == 302
    assert cookie_of(client)
    return client


def lock(app: Flask, account: Account) -> None:
    """A stranger, from many addresses, without the cookie, locks the account."""
    fail(app, account, 5)
    locked = row(app, account.id)
    assert locked.locked_until is not None
    assert try_sign_in(browser(app), account.username, PASSWORD).status_code == 401


def signs_in(client: FlaskClient, account: Account, password: str = PASSWORD) -> bool:
    """One attempt, from a new address each time (the per-address limit is not tested here)."""
    client.environ_base["REMOTE_ADDR"] = browser(client.application).environ_base["REMOTE_ADDR"]
    response = try_sign_in(client, account.username, password)
    assert response.status_code in {302, 401}, response.status_code
    if response.status_code == 302:
        assert client.get("/").status_code == 200
    return bool(response.status_code == 302)


def sign_out(client: FlaskClient) -> None:
    match = _TOKEN.search(client.get("/").get_data(as_text=True))
    assert match
    client.post("/logout", data={"csrf_token": match.group(1)})


def token_for(app: Flask, account_id: int, username: str, issued: int) -> str:
    """A token made with the app's own key, as the server would (for an expired one)."""
    nonce = base64.urlsafe_b64encode(b"n" * 16).decode().rstrip("=")
    with app.test_request_context():
        mac = device_cookies._mac(account_id, username, nonce, issued)
    return f"{account_id}.{nonce}.{issued}.{mac}"


# -- the owner and the stranger ----------------------------------------------------------------


def test_the_owner_signs_in_on_her_browser_while_a_stranger_has_locked_the_account(app, owner):
    mine = her_browser(app, owner)
    lock(app, owner)
    assert signs_in(mine, owner), "the owner's own browser was locked out by a stranger"
    # The lock still holds for everyone else: her sign-in did not clear the stranger's count.
    still = row(app, owner.id)
    assert still.failed_logins == 5 and still.locked_until is not None
    assert not signs_in(browser(app), owner)
    login = facts(events(app, "auth.login")[-1])
    assert login["object_id"] == str(owner.id)
    assert login["details"] == {"device": "known"}


def test_the_cookie_names_no_one_and_is_for_the_sign_in_pages_only(app, owner):
    client = browser(app)
    response = try_sign_in(client, owner.username, PASSWORD)
    header = next(h for h in response.headers.getlist("Set-Cookie") if "triage_device=" in h)
    morsel = SimpleCookie(header)[device_cookies.COOKIE]
    assert owner.username not in header
    assert morsel["httponly"] and morsel["path"] == "/login"
    assert morsel["samesite"] == "Strict"
    assert int(morsel["max-age"]) == 30 * 86400
    assert not morsel["secure"], "plain HTTP here: a Secure cookie would never come back"
    account, nonce, issued, mac = morsel.value.split(".")
    assert account == str(owner.id) and len(nonce) == 22 and len(mac) == 43
    assert abs(int(issued) - time.time()) < 60
    over_https = browser(app)
    header = next(
        h
        for h in try_sign_in_over_https(over_https, owner).headers.getlist("Set-Cookie")
        if "triage_device=" in h
    )
    assert SimpleCookie(header)[device_cookies.COOKIE]["secure"]


def try_sign_in_over_https(client: FlaskClient, account: Account) -> Any:
    match = _TOKEN.search(client.get("/login", base_url="https://localhost").get_data(True))
    assert match
    response = client.post(
        "/login",
        base_url="https://localhost",
        data={"username": account.username, "password": PASSWORD, "csrf_token": match.group(1)},
    )
    assert response.status_code == 302
    return response


def test_every_failure_answers_alike_and_sets_no_cookie(app, owner):
    mine = her_browser(app, owner)
    before = cookie_of(mine)
    with_cookie = try_sign_in(mine, owner.username, WRONG)
    without = try_sign_in(browser(app), owner.username, WRONG)
    unknown = try_sign_in(browser(app), "nobody-here", WRONG)
    assert answer(with_cookie) == answer(without) == answer(unknown)
    assert answer(with_cookie)[0] == 401
    assert not [h for h in with_cookie.headers.getlist("Set-Cookie") if "triage_device" in h]
    assert cookie_of(mine) == before


# -- cookies that get nothing past the lock -----------------------------------------------------


def test_a_forged_cookie_does_not_pass_the_lock(app, owner):
    mine = her_browser(app, owner)
    real = cookie_of(mine)
    assert real
    lock(app, owner)
    account, nonce, issued, mac = real.split(".")
    flipped = ("A" if mac[0] != "A" else "B") + mac[1:]
    forgeries = [
        f"{account}.{nonce}.{issued}.{flipped}",  # a wrong MAC
        f"{account}.{nonce}.{int(issued) + 1}.{mac}",  # issued later than it was
        f"{account}.{'x' * 22}.{issued}.{mac}",  # another nonce
        "garbage",
        "~".join(["garbage"] * 50),
    ]
    for forged in forgeries:
        assert not signs_in(give(browser(app), forged), owner), forged
    assert signs_in(give(browser(app), real), owner), "the control: the real cookie passes"


def test_an_expired_cookie_does_not_pass_the_lock(app, owner):
    lock(app, owner)
    month_ago = int(time.time()) - 30 * 86400 - 60
    expired = token_for(app, owner.id, owner.username, month_ago)
    assert not signs_in(give(browser(app), expired), owner)
    future = token_for(app, owner.id, owner.username, int(time.time()) + 3600)
    assert not signs_in(give(browser(app), future), owner)
    fresh = token_for(app, owner.id, owner.username, int(time.time()) - 60)
    assert signs_in(give(browser(app), fresh), owner), "the control: a fresh one passes"


def test_another_accounts_cookie_does_not_pass_the_lock(app, accounts, owner):
    other = accounts[Role.CASEWORKER]
    theirs = her_browser(app, other)
    owners = cookie_of(her_browser(app, owner))
    lock(app, owner)
    assert not signs_in(theirs, owner)
    # Nor does a token naming the owner's id but made for the other's username, or the reverse.
    crossed = token_for(app, owner.id, other.username, int(time.time()))
    assert not signs_in(give(browser(app), crossed), owner)
    crossed = token_for(app, other.id, owner.username, int(time.time()))
    assert not signs_in(give(browser(app), crossed), owner)
    # A browser shared by both keeps a token for each: the owner's still passes.
    assert signs_in(theirs, other)
    sign_out(theirs)
    shared = give(theirs, f"{cookie_of(theirs)}~{owners}")
    assert signs_in(shared, owner)


# -- the device's own limit --------------------------------------------------------------------


def test_a_stolen_cookie_buys_a_few_guesses_then_is_denied_and_audited(app, owner):
    mine = her_browser(app, owner)
    lock(app, owner)
    thief = give(browser(app), cookie_of(mine) or "")
    for _ in range(5):  # TRIAGE_DEVICE_COOKIE_FAILURES
        assert not signs_in(thief, owner, WRONG)
    assert row(app, owner.id).failed_logins == 5, "the device's failures counted on the account"
    [denied] = events(app, "user.device_locked")
    assert denied["object_id"] == str(owner.id)
    assert facts(denied)["details"] == {"failures": 5}
    # Denied: the cookie is now like none, for the thief and for every copy of it.
    assert not signs_in(thief, owner)
    assert not signs_in(mine, owner)
    assert not signs_in(thief, owner, WRONG)
    assert row(app, owner.id).failed_logins == 5, "a guess during the lock counted"
    assert len(events(app, "user.device_locked")) == 1


def test_the_per_device_limit_holds_and_a_sign_in_starts_it_anew(app, owner):
    mine = her_browser(app, owner)
    for _ in range(4):
        assert not signs_in(mine, owner, WRONG)
    untouched = row(app, owner.id)
    assert (untouched.failed_logins, untouched.locked_until) == (0, None)
    first = cookie_of(mine)
    assert signs_in(mine, owner)
    assert cookie_of(mine) != first, "a sign-in gives a fresh token"
    sign_out(mine)
    for _ in range(5):
        assert not signs_in(mine, owner, WRONG)
    assert row(app, owner.id).failed_logins == 0
    # The fresh token's fifth failure denied it: the next failures count on the account.
    assert not signs_in(mine, owner, WRONG)
    assert row(app, owner.id).failed_logins == 1
    # And the first token, though four failures in, was left at four: one more denies it.
    assert len(events(app, "user.device_locked")) == 1


def test_the_owner_with_two_step_sign_in_passes_the_lock_with_her_code(app, owner):
    secret = enrol(app, owner)
    mine = browser(app)
    assert try_sign_in(mine, owner.username, PASSWORD).status_code == 302
    assert post_code(mine, code_at(secret, two_step.clock())).status_code == 302
    sign_out(mine)
    lock(app, owner)
    with app.app_context(), uow_of(app).begin() as session:
        session.execute(update(User).where(User.id == owner.id).values(totp_last_step=None))
    assert try_sign_in(mine, owner.username, PASSWORD).status_code == 302
    assert post_code(mine, "000000").status_code == 401  # a wrong code: counted on the device
    assert row(app, owner.id).failed_logins == 5
    assert post_code(mine, code_at(secret, two_step.clock())).status_code == 302
    assert mine.get("/").status_code == 200


def post_code(client: FlaskClient, code: str) -> Any:
    match = _TOKEN.search(client.get("/login/code").get_data(as_text=True))
    assert match
    return client.post("/login/code", data={"code": code, "csrf_token": match.group(1)})


# -- settings ----------------------------------------------------------------------------------


@pytest.fixture
def tight_app(settings: Settings) -> Iterator[Flask]:
    """A per-account sign-in limit of three a minute, and device cookies of one failure."""
    app = create_app(replace(settings, login_rate_limit="3 per minute", device_cookie_failures=1))
    yield app
    uow_of(app).engine.dispose()


def test_a_stranger_using_up_the_accounts_sign_in_limit_does_not_keep_the_owner_out(tight_app):
    from tests.conftest import make_user

    owner = make_user(tight_app, "owner", Role.REVIEWER)
    mine = her_browser(tight_app, owner)
    for _ in range(3):
        try_sign_in(browser(tight_app), owner.username, WRONG)
    assert try_sign_in(browser(tight_app), owner.username, PASSWORD).status_code == 429
    assert signs_in(mine, owner)
    sign_out(mine)
    assert not signs_in(mine, owner, WRONG)  # one failure denies the cookie here
    assert [facts(e)["details"] for e in events(tight_app, "user.device_locked")] == [
        {"failures": 1}
    ]


@pytest.fixture
def cookieless_app(settings: Settings) -> Iterator[Flask]:
    app = create_app(replace(settings, device_cookie_days=0))
    yield app
    uow_of(app).engine.dispose()


def test_no_device_cookies_when_turned_off(cookieless_app):
    from tests.conftest import make_user

    owner = make_user(cookieless_app, "owner", Role.REVIEWER)
    client = browser(cookieless_app)
    assert try_sign_in(client, owner.username, PASSWORD).status_code == 302
    assert cookie_of(client) is None
    lock(cookieless_app, owner)
    fresh = token_for(cookieless_app, owner.id, owner.username, int(time.time()))
    assert not signs_in(give(browser(cookieless_app), fresh), owner)
