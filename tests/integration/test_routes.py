"""The gate, route by route: built from the app's own URL map, so a new route is covered the day it
is added. Every route but the login page and static files sends an anonymous user to sign in;
every route refuses (403, audited) each role that ``triage.permissions`` does not grant its
declared permission; a route that declares nothing is refused to everyone; and no form is
accepted without its CSRF token.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import Rule

from tests.conftest import Account, AuthActions
from triage import audit
from triage.db import Base
from triage.models import AuditEvent
from triage.permissions import Permission, allows
from triage.vocab import Role
from triage.web.deps import uow_of
from triage.web.gate import declared_permission, public

#: Reachable without signing in. Adding a route here needs a reason: it is open to the internet.
#: Reachable without a session: the API authenticates by bearer token itself.
#: The code step of sign-in is public on purpose: it works only while a password sign-in is pending.
PUBLIC_ENDPOINTS = {
    "static",
    "auth.login",
    "auth.login_code",
    "home.language",
    "api.openapi",
    "api.create_report",
    "api.get_report",
    # The public way in (issue 11): anyone may report and follow up with a receipt.
    "public.form",
    "public.submit",
    "public.follow_up",
    "public.follow_up_read",
    "public.follow_up_add",
}
#: Routes this file must have seen, so that an empty or broken URL map cannot pass.
KNOWN_ENDPOINTS = {
    "home.index",
    "account.password",
    "auth.logout",
    "admin.user_list",
    "admin.user_new",
    "admin.user_edit",
    "admin.user_reset_password",
}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_SAMPLE = {"int": "1", "float": "1.0", "uuid": str(uuid.UUID(int=1)), "path": "x/y"}


def example_url(rule: Rule) -> str:
    """A URL that matches ``rule``; the gate decides before any view looks up the values."""
    return _ARGUMENT.sub(lambda m: _SAMPLE.get(m.group("converter") or "", "x"), rule.rule)


def routes(app: Flask) -> Iterator[tuple[Rule, str, str]]:
    """Every (rule, method, example URL) of the app, HEAD and OPTIONS aside."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule, method, example_url(rule)


def permission_of(app: Flask, endpoint: str) -> Permission | str | None:
    return declared_permission(app.view_functions[endpoint])


def is_api(url: str) -> bool:
    return url.startswith("/api/")


def csrf_from(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def send(client: FlaskClient, method: str, url: str, token: str | None = None) -> Any:
    if method not in UNSAFE_METHODS or token is None:
        return client.open(url, method=method)
    return client.open(
        url, method=method, data={"csrf_token": token}, headers={"X-CSRFToken": token}
    )


def signed_in(app: Flask, account: Account) -> tuple[FlaskClient, str]:
    client = app.test_client()
    AuthActions(client).login_as(account)
    return client, csrf_from(client.get("/account/password").get_data(as_text=True))


def gate_denials(app: Flask) -> list[dict[str, Any]]:
    """The ``access.denied`` events the gate wrote (views may refuse other objects themselves)."""
    with app.app_context(), uow_of(app).begin() as session:
        query = select(AuditEvent).where(
            AuditEvent.action == "access.denied", AuditEvent.object_type == "route"
        )
        return [audit.event_fields(e) for e in session.scalars(query.order_by(AuditEvent.seq))]


#: The web layer's own bookkeeping, which every request may touch: sessions (last use, a new
#: anonymous session) and rate-limit counters (a refused API request counts against its address).
BOOKKEEPING = frozenset({"sessions", "rate_limit"})


def snapshot(app: Flask) -> dict[str, list[str]]:
    """Every row of every table, to prove that a refused request changed nothing."""
    with app.app_context(), uow_of(app).begin() as session:
        return {
            table.name: sorted(repr(tuple(row)) for row in session.execute(select(table)))
            for table in Base.metadata.sorted_tables
            if table.name not in BOOKKEEPING
        }


# -- the declarations --------------------------------------------------------------------------


def test_every_route_declares_a_permission_some_role_holds(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints >= KNOWN_ENDPOINTS
    for endpoint in sorted(endpoints):
        permission = permission_of(app, endpoint)
        assert permission is not None, f"{endpoint} declares no permission: the gate refuses it"
        if permission == "public":
            assert endpoint in PUBLIC_ENDPOINTS, f"{endpoint} is public: add it on purpose"
            continue
        assert isinstance(permission, Permission), f"{endpoint}: {permission!r}"
        assert any(allows(role, permission) for role in Role), (
            f"{endpoint} needs {permission}, which no role holds"
        )


# -- anonymous ---------------------------------------------------------------------------------


def test_anonymous_users_are_refused_every_route_but_login_and_static(app, client):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    checked, failures = set(), []
    for rule, method, url in routes(app):
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        response = send(client, method, url, token)
        checked.add(rule.endpoint)
        if is_api(url):
            if response.status_code != 401:
                failures.append(f"{method} {url}: {response.status_code}, expected 401")
            continue
        location = urlsplit(response.headers.get("Location", ""))
        if response.status_code != 302 or location.path != "/login":
            failures.append(f"{method} {url}: {response.status_code} to {location.path!r}")
    assert checked >= KNOWN_ENDPOINTS
    assert failures == []


def test_the_public_routes_open_without_signing_in(app, client):
    assert client.get("/login").status_code == 200
    assert client.get("/static/style.css").status_code == 200


# -- each role ---------------------------------------------------------------------------------


def test_each_role_is_refused_every_route_its_permissions_lack(app, accounts):
    expected: list[tuple[str, str, str, str]] = []
    failures: list[str] = []
    for role, account in accounts.items():
        client, token = signed_in(app, account)
        for rule, method, url in routes(app):
            permission = permission_of(app, rule.endpoint)
            if not isinstance(permission, Permission):
                continue
            if allows(role, permission):
                if method not in UNSAFE_METHODS:
                    send(client, method, url)  # must not be refused: no access.denied event
                continue
            response = send(client, method, url, token)
            wanted = "application/problem+json" if is_api(url) else "text/html"
            if response.status_code != 403 or response.mimetype != wanted:
                failures.append(
                    f"{role} {method} {url}: {response.status_code} {response.mimetype}"
                )
            expected.append((str(account.id), rule.endpoint, permission.value, method))
    assert failures == []
    # Every role lacks some permission that a known route needs, so this is never empty.
    assert {role for role in Role} == {
        r for r, a in accounts.items() if any(actor == str(a.id) for actor, *_ in expected)
    }
    recorded = [
        (e["actor"], e["object_id"], e["details"]["permission"], e["details"]["method"])
        for e in gate_denials(app)
    ]
    assert sorted(recorded) == sorted(expected)


def test_a_refused_page_is_friendly(app, client, accounts, auth):
    auth.login_as(accounts[Role.CASEWORKER])
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    assert "Your role (Caseworker) cannot manage user accounts." in body
    assert "Traceback" not in body


# -- a route that declares nothing -------------------------------------------------------------


def test_a_route_that_declares_no_permission_is_refused_to_everyone(app, accounts, caplog):
    ran: list[str] = []

    def forgotten() -> str:
        ran.append("ran")
        return "the view ran"

    app.add_url_rule("/test-undeclared", "test_undeclared", forgotten, methods=["GET", "POST"])
    anonymous = app.test_client()
    token = csrf_from(anonymous.get("/login").get_data(as_text=True))
    clients = [(anonymous, token)] + [signed_in(app, account) for account in accounts.values()]

    for client, csrf in clients:
        assert client.get("/test-undeclared").status_code == 403
        assert send(client, "POST", "/test-undeclared", csrf).status_code == 403
    assert ran == []
    assert "test_undeclared declares no permission" in caplog.text


def test_a_declared_test_route_passes_the_gate(app, accounts):
    """The control for the test above: the same view, declared, is reachable."""
    app.add_url_rule("/test-declared", "test_declared", public(lambda: "the view ran"))
    assert app.test_client().get("/test-declared").get_data(as_text=True) == "the view ran"


# -- CSRF --------------------------------------------------------------------------------------


@pytest.fixture
def role_clients(app: Flask, accounts: dict[Role, Account]) -> Iterator[dict[Role, FlaskClient]]:
    yield {role: signed_in(app, account)[0] for role, account in accounts.items()}


def test_no_form_is_accepted_without_its_csrf_token(app, role_clients):
    anonymous = app.test_client()
    foreign_token = csrf_from(app.test_client().get("/login").get_data(as_text=True))
    checked, failures = set(), []
    for rule, method, url in routes(app):
        if method not in UNSAFE_METHODS:
            continue
        permission = permission_of(app, rule.endpoint)
        if permission == "public":
            client = anonymous
        else:
            holders = [role for role in Role if allows(role, permission)]  # type: ignore[arg-type]
            if not holders:
                continue
            client = role_clients[holders[0]]
        before = snapshot(app)
        for data in ({}, {"csrf_token": foreign_token}):
            response = client.open(url, method=method, data=data)
            body = response.get_data(as_text=True)
            if is_api(url):
                ok = response.status_code in (400, 401, 403)
            else:
                ok = response.status_code == 400 and "Form expired" in body
            if not ok:
                failures.append(f"{method} {url} with {sorted(data)}: {response.status_code}")
        if snapshot(app) != before:
            failures.append(f"{method} {url} changed the database without a CSRF token")
        checked.add(rule.endpoint)
    assert checked >= {e for e in KNOWN_ENDPOINTS if e not in {"home.index", "admin.user_list"}}
    assert failures == []
    for client in role_clients.values():
        assert client.get("/").status_code == 200, "a POST without a token signed a user out"
