"""Staff accounts through the admin pages, and a user's own password through the account page.

An admin creates, edits, disables and resets accounts; every change is audited with facts only
(role, region, flags), never a username or password; a refused change saves nothing; and no one
but an admin reaches any of it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.conftest import PASSWORD, Account, AuthActions, facts
from triage import audit
from triage.models import AuditEvent, User
from triage.vocab import Role
from triage.web.deps import uow_of

NEW_PASSWORD = "a long and new passphrase"


def csrf_from(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def audit_events(app: Flask, action: str) -> list[dict[str, Any]]:
    with app.app_context(), uow_of(app).begin() as session:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        return [facts(audit.event_fields(event)) for event in session.scalars(query)]


def audit_text(app: Flask) -> str:
    with app.app_context(), uow_of(app).begin() as session:
        rows = session.execute(select(*AuditEvent.__table__.columns)).all()
    return "\n".join(" ".join(str(value) for value in row) for row in rows)


def user_by_name(app: Flask, username: str) -> User | None:
    with app.app_context(), uow_of(app).begin() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is not None:
            session.expunge(user)
        return user


def user_by_id(app: Flask, user_id: int) -> User:
    with app.app_context(), uow_of(app).begin() as session:
        user = session.get(User, user_id)
        assert user is not None
        session.expunge(user)
        return user


def user_count(app: Flask) -> int:
    with app.app_context(), uow_of(app).begin() as session:
        return int(session.scalar(select(func.count()).select_from(User)) or 0)


def signed_in(app: Flask, account: Account) -> FlaskClient:
    client = app.test_client()
    AuthActions(client).login_as(account)
    return client


def can_sign_in(app: Flask, username: str, password: str) -> bool:
    client = app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
    return response.status_code == 302


@pytest.fixture
def admin(app: Flask, accounts: dict[Role, Account]) -> FlaskClient:
    return signed_in(app, accounts[Role.ADMIN])


def submit(client: FlaskClient, path: str, data: dict[str, str], form_page: str = "") -> Any:
    token = csrf_from(client.get(form_page or path).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


def new_user_form(**overrides: str) -> dict[str, str]:
    data = {
        "username": "aigerim.s",
        "password": NEW_PASSWORD,
        "role": "reviewer",
        "region": "karaganda",
        "active": "y",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def alert_before_form(body: str) -> str:
    """The text of the error box that the form macros put above the form."""
    match = re.search(
        r'<div class="alert alert-error error-summary"[^>]*>(.*?)</div>\s*<form', body, re.S
    )
    assert match, "no error message above the form"
    return match.group(1)


# -- creating ----------------------------------------------------------------------------------


def test_admin_creates_a_user(app, accounts, admin):
    page = admin.get("/admin/users/new")
    assert page.status_code == 200

    response = submit(admin, "/admin/users/new", new_user_form())

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"
    listing = admin.get("/admin/users").get_data(as_text=True)
    assert "Account aigerim.s created." in listing
    assert "aigerim.s" in listing
    user = user_by_name(app, "aigerim.s")
    assert user is not None
    assert (user.role, user.region, user.active) == ("reviewer", "karaganda", True)
    assert user.password_hash.startswith("$argon2id$")
    PasswordHasher().verify(user.password_hash, NEW_PASSWORD)
    [event] = audit_events(app, "user.created")[-1:]
    assert event["actor"] == str(accounts[Role.ADMIN].id)
    assert (event["object_type"], event["object_id"]) == ("user", str(user.id))
    assert event["details"] == {"role": "reviewer", "region": "karaganda"}
    everything = audit_text(app)
    assert "aigerim.s" not in everything
    assert NEW_PASSWORD not in everything
    assert can_sign_in(app, "Aigerim.S", NEW_PASSWORD)


def test_admin_creates_a_disabled_unscoped_user(app, admin):
    response = submit(
        admin, "/admin/users/new", new_user_form(role="auditor", region="", active=None)
    )

    assert response.status_code == 302
    user = user_by_name(app, "aigerim.s")
    assert user is not None
    assert (user.role, user.region, user.active) == ("auditor", None, False)
    assert audit_events(app, "user.created")[-1]["details"] == {"role": "auditor", "region": None}
    assert audit_events(app, "user.updated")[-1]["details"] == {"active": False}
    assert not can_sign_in(app, "aigerim.s", NEW_PASSWORD)


def test_a_taken_username_is_refused_next_to_the_form(app, accounts, admin):
    count, created = user_count(app), len(audit_events(app, "user.created"))

    response = submit(admin, "/admin/users/new", new_user_form(username="Reviewer"))

    assert response.status_code == 409
    assert "That username is taken." in alert_before_form(response.get_data(as_text=True))
    assert user_count(app) == count
    assert len(audit_events(app, "user.created")) == created
    assert can_sign_in(app, "reviewer", PASSWORD), "the existing account was touched"


def test_a_short_password_is_refused_and_nothing_is_saved(app, admin):
    count = user_count(app)

    response = submit(admin, "/admin/users/new", new_user_form(password="short pw"))

    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert re.search(r'id="password-errors">\s*<li>[^<]*between 12 and', body)
    assert "short pw" not in body
    assert user_count(app) == count
    assert user_by_name(app, "aigerim.s") is None


@pytest.mark.parametrize(
    "username", ["a", "has space", "семья", "x" * 65, "-leading.dash", "semi;colon"]
)
def test_a_malformed_username_is_refused(app, admin, username):
    count = user_count(app)
    response = submit(admin, "/admin/users/new", new_user_form(username=username))
    assert response.status_code in (400, 422)
    assert user_count(app) == count


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_a_region_scope_is_refused_for_roles_without_cases(app, admin, role):
    count = user_count(app)

    response = submit(admin, "/admin/users/new", new_user_form(role=role, region="astana"))

    assert response.status_code == 422
    assert "Only caseworkers, reviewers and supervisors have a region scope." in alert_before_form(
        response.get_data(as_text=True)
    )
    assert user_count(app) == count
    assert user_by_name(app, "aigerim.s") is None


def test_an_unknown_role_or_region_is_refused(app, admin):
    count = user_count(app)
    assert submit(admin, "/admin/users/new", new_user_form(role="root")).status_code == 400
    assert submit(admin, "/admin/users/new", new_user_form(region="atlantis")).status_code == 400
    assert user_count(app) == count


# -- editing -----------------------------------------------------------------------------------


def test_admin_edits_role_region_and_active(app, accounts, admin):
    reviewer = accounts[Role.REVIEWER]
    before = user_by_id(app, reviewer.id)
    edit = f"/admin/users/{reviewer.id}"
    page = admin.get(edit).get_data(as_text=True)
    assert '<option selected value="reviewer">' in page

    response = submit(admin, edit, {"role": "supervisor", "region": "", "active": "y"})

    assert response.status_code == 302
    after = user_by_id(app, reviewer.id)
    assert (after.role, after.region, after.active) == ("supervisor", None, True)
    assert after.session_epoch == before.session_epoch + 1
    event = audit_events(app, "user.updated")[-1]
    assert event["actor"] == str(accounts[Role.ADMIN].id)
    assert event["object_id"] == str(reviewer.id)
    assert event["details"] == {
        "role_from": "reviewer",
        "role_to": "supervisor",
        "region_from": "karaganda",
        "region_to": None,
    }

    response = submit(admin, edit, {"role": "supervisor", "region": ""})  # active unticked

    assert response.status_code == 302
    assert user_by_id(app, reviewer.id).active is False
    assert audit_events(app, "user.updated")[-1]["details"] == {"active": False}
    assert not can_sign_in(app, reviewer.username, PASSWORD)
    assert "disabled" in admin.get("/admin/users").get_data(as_text=True)


def test_saving_without_changes_is_not_audited_and_keeps_sessions(app, accounts, admin):
    caseworker = accounts[Role.CASEWORKER]
    theirs = signed_in(app, caseworker)
    updates = len(audit_events(app, "user.updated"))

    response = submit(
        admin,
        f"/admin/users/{caseworker.id}",
        {"role": "caseworker", "region": "karaganda", "active": "y"},
    )

    assert response.status_code == 302
    assert len(audit_events(app, "user.updated")) == updates
    assert theirs.get("/").status_code == 200


def test_a_region_scope_on_an_auditor_is_refused_on_edit(app, accounts, admin):
    auditor = accounts[Role.AUDITOR]
    before = user_by_id(app, auditor.id)

    response = submit(
        admin, f"/admin/users/{auditor.id}", {"role": "auditor", "region": "almaty", "active": "y"}
    )

    assert response.status_code == 422
    assert "region scope" in alert_before_form(response.get_data(as_text=True))
    after = user_by_id(app, auditor.id)
    assert (after.region, after.session_epoch) == (None, before.session_epoch)


@pytest.mark.parametrize(
    "change",
    [{"role": "admin"}, {"role": "supervisor", "active": "y"}],
    ids=["disable", "change-role"],
)
def test_an_admin_cannot_disable_or_demote_themself(app, accounts, admin, change):
    me = accounts[Role.ADMIN]
    updates = len(audit_events(app, "user.updated"))

    response = submit(admin, f"/admin/users/{me.id}", {"region": "", **change})

    assert response.status_code == 422
    assert "You cannot disable your own account or change your own role." in alert_before_form(
        response.get_data(as_text=True)
    )
    after = user_by_id(app, me.id)
    assert (after.role, after.active) == ("admin", True)
    assert len(audit_events(app, "user.updated")) == updates
    assert admin.get("/admin/users").status_code == 200


def test_editing_a_missing_user_is_404(admin):
    assert admin.get("/admin/users/999999").status_code == 404


# -- resetting a password ----------------------------------------------------------------------


def test_admin_resets_a_password(app, accounts, admin):
    caseworker = accounts[Role.CASEWORKER]

    response = submit(
        admin,
        f"/admin/users/{caseworker.id}/password",
        {"reset-password": NEW_PASSWORD},
        form_page=f"/admin/users/{caseworker.id}",
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/users/{caseworker.id}"
    assert "their sessions have ended" in admin.get(response.headers["Location"]).get_data(
        as_text=True
    )
    assert can_sign_in(app, caseworker.username, NEW_PASSWORD)
    assert not can_sign_in(app, caseworker.username, PASSWORD)
    event = audit_events(app, "user.password_changed")[-1]
    assert event["actor"] == str(accounts[Role.ADMIN].id)
    assert event["object_id"] == str(caseworker.id)
    assert event["details"] == {"by_self": False}
    assert NEW_PASSWORD not in audit_text(app)


def test_a_short_reset_password_is_refused(app, accounts, admin):
    caseworker = accounts[Role.CASEWORKER]
    before = user_by_id(app, caseworker.id)

    response = submit(
        admin,
        f"/admin/users/{caseworker.id}/password",
        {"reset-password": "too short"},
        form_page=f"/admin/users/{caseworker.id}",
    )

    assert response.status_code == 400
    assert re.search(r'id="reset-password-errors">\s*<li>', response.get_data(as_text=True))
    assert user_by_id(app, caseworker.id).password_hash == before.password_hash
    assert can_sign_in(app, caseworker.username, PASSWORD)


def test_a_refused_reset_still_shows_the_accounts_settings(app, accounts, admin):
    """Else the admin's next "Save" on that page would write the blank form over the account."""
    reviewer = accounts[Role.REVIEWER]

    response = submit(
        admin,
        f"/admin/users/{reviewer.id}/password",
        {"reset-password": "too short"},
        form_page=f"/admin/users/{reviewer.id}",
    )

    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert '<option selected value="reviewer">' in body
    assert '<option selected value="karaganda">' in body
    assert re.search(r'<input checked id="active"', body)


# -- only admins -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN])
def test_non_admins_are_refused_all_of_it(app, accounts, role):
    client = signed_in(app, accounts[role])
    token = csrf_from(client.get("/account/password").get_data(as_text=True))
    target = (
        accounts[Role.CASEWORKER].id if role is not Role.CASEWORKER else accounts[Role.ADMIN].id
    )
    before = user_by_id(app, target)
    count = user_count(app)

    for path in ("/admin/users", "/admin/users/new", f"/admin/users/{target}"):
        assert client.get(path).status_code == 403, path
    posts = {
        "/admin/users/new": new_user_form(role="admin", region=""),
        f"/admin/users/{target}": {"role": "admin", "region": ""},
        f"/admin/users/{target}/password": {"reset-password": NEW_PASSWORD},
    }
    for path, data in posts.items():
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 403, path

    after = user_by_id(app, target)
    assert (after.role, after.active, after.password_hash) == (
        before.role,
        before.active,
        before.password_hash,
    )
    assert user_count(app) == count
    assert 'href="/admin/users"' not in client.get("/").get_data(as_text=True), "nav offers admin"


# -- the account page --------------------------------------------------------------------------


def change_password(client: FlaskClient, current: str, new: str, confirm: str | None = None) -> Any:
    return submit(
        client,
        "/account/password",
        {"current": current, "new": new, "confirm": new if confirm is None else confirm},
    )


def test_a_user_changes_their_own_password(app, accounts):
    auditor = accounts[Role.AUDITOR]
    client = signed_in(app, auditor)

    response = change_password(client, PASSWORD, NEW_PASSWORD)

    assert response.status_code == 302
    assert "Your password was changed." in client.get("/login").get_data(as_text=True)
    assert can_sign_in(app, auditor.username, NEW_PASSWORD)
    assert not can_sign_in(app, auditor.username, PASSWORD)
    event = audit_events(app, "user.password_changed")[-1]
    assert (event["actor"], event["object_id"]) == (str(auditor.id), str(auditor.id))
    assert event["details"] == {"by_self": True}


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        ("not my password at all", NEW_PASSWORD, None, "That is not your current password."),
        (PASSWORD, "short", None, "between 12 and"),
        (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "!", "The two entries differ."),
    ],
    ids=["wrong-current", "too-short", "mismatch"],
)
def test_a_refused_password_change_changes_nothing(app, accounts, current, new, confirm, message):
    reviewer = accounts[Role.REVIEWER]
    client = signed_in(app, reviewer)
    before = user_by_id(app, reviewer.id)
    changes = len(audit_events(app, "user.password_changed"))

    response = change_password(client, current, new, confirm)

    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert message in body
    for typed in (current, new):
        assert f'value="{typed}"' not in body, "a typed password is echoed back"
    after = user_by_id(app, reviewer.id)
    assert (after.password_hash, after.session_epoch) == (
        before.password_hash,
        before.session_epoch,
    )
    assert len(audit_events(app, "user.password_changed")) == changes
    assert client.get("/").status_code == 200, "a refused change ended the session"
