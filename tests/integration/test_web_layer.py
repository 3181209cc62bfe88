"""What every response gets, whoever asks and whatever happens: security headers, friendly error
pages that give nothing away, a rollback of everything a failed request wrote, and a cap on the
size of a request.
"""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.conftest import Account, AuthActions
from triage import audit, create_app
from triage.config import Settings
from triage.models import AuditEvent
from triage.vocab import Role
from triage.web.deps import unit_of_work, uow_of
from triage.web.gate import actor_id, public

SECRET = "Aigerim Nurlanovna, 12 Abai street"  # stands in for a person's data in an exception
_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?\w+>")
_SAMPLE = {"int": "1", "float": "1.0", "uuid": str(uuid.UUID(int=1)), "path": "x/y"}


def signed_in(app: Flask, account: Account) -> FlaskClient:
    client = app.test_client()
    AuthActions(client).login_as(account)
    return client


def events_with_marker(app: Flask, marker: str) -> int:
    with app.app_context(), uow_of(app).begin() as session:
        query = select(func.count()).where(AuditEvent.details.contains(marker))
        return int(session.scalar(query) or 0)


def event_count(app: Flask) -> int:
    with app.app_context(), uow_of(app).begin() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def assert_secure_headers(response: Any, what: str) -> None:
    headers = response.headers
    csp = {
        name: values
        for name, *values in (
            d.split() for d in headers.get("Content-Security-Policy", "").split(";")
        )
    }
    assert csp.get("default-src") == ["'self'"], what
    assert csp.get("frame-ancestors") == ["'none'"], what
    assert csp.get("object-src") == ["'none'"], what
    for directive in ("script-src", "style-src", "default-src"):
        assert "'unsafe-inline'" not in csp.get(directive, []), what
        assert "'unsafe-eval'" not in csp.get(directive, []), what
    assert headers.get("X-Frame-Options") == "DENY", what
    assert headers.get("X-Content-Type-Options") == "nosniff", what
    assert headers.get("Referrer-Policy") == "no-referrer", what


def assert_page_headers(response: Any, what: str) -> None:
    assert_secure_headers(response, what)
    assert response.headers.get("Cache-Control") == "no-store", what


def assert_clean_html(response: Any, what: str) -> None:
    """What the CSP would block, or what would give internals away, is not in the page."""
    body = response.get_data(as_text=True)
    assert re.search(r"<script(?![^>]*\bsrc=)", body) is None, f"{what}: inline script"
    assert "<style" not in body, f"{what}: inline style element"
    assert re.search(r"\sstyle=", body) is None, f"{what}: inline style attribute"
    assert re.search(r"\son[a-z]+=", body) is None, f"{what}: inline event handler"
    assert '="None"' not in body, f"{what}: an attribute rendered as None"
    assert "Traceback" not in body, what


def get_routes(app: Flask) -> list[str]:
    """Every GET route of the app but static files, as an example URL."""
    return sorted(
        _ARGUMENT.sub(lambda m: _SAMPLE.get(m.group("converter") or "", "x"), rule.rule)
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or set()) and rule.endpoint != "static"
    )


# -- headers -----------------------------------------------------------------------------------


def test_every_page_has_the_security_headers(app, client, accounts):
    checked = 0
    for url in get_routes(app):
        response = client.get(url)
        assert_page_headers(response, f"anonymous {url}")
        checked += 1
    for role, account in accounts.items():
        signed = signed_in(app, account)
        for url in get_routes(app):
            response = signed.get(url)
            what = f"{role} {url} ({response.status_code})"
            assert_page_headers(response, what)
            if response.mimetype == "text/html":
                assert_clean_html(response, what)
            checked += 1
    assert checked >= 6 * 4


def test_error_and_redirect_responses_have_the_security_headers(app, client, accounts, auth):
    assert_page_headers(client.get("/"), "redirect to login")
    assert_page_headers(client.get("/no-such-page"), "404")
    assert_page_headers(client.post("/login"), "CSRF failure")
    auth.login_as(accounts[Role.REVIEWER])
    assert_page_headers(client.get("/admin/users"), "403")


def test_static_files_get_the_headers_but_may_be_cached(client):
    response = client.get("/static/style.css")
    assert response.status_code == 200
    assert_secure_headers(response, "static")
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_no_hsts_while_cookies_are_not_secure(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers


# -- error pages -------------------------------------------------------------------------------


def test_404_is_a_friendly_page(client, accounts, auth):
    for who in ("anonymous", "signed in"):
        if who == "signed in":
            auth.login_as(accounts[Role.CASEWORKER])
        response = client.get("/reports/../../etc/passwd-no-such-page")
        assert response.status_code == 404, who
        assert response.mimetype == "text/html"
        body = response.get_data(as_text=True)
        assert "There is no such page." in body
        assert "Back to the start page" in body
        assert_clean_html(response, who)


def test_403_is_a_friendly_page(client, accounts, auth):
    auth.login_as(accounts[Role.AUDITOR])
    response = client.get("/admin/users/new")
    assert response.status_code == 403
    assert response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    assert "Your role (Auditor) cannot manage user accounts." in body
    assert "admin.user_new" not in body and "user.manage" not in body
    assert_clean_html(response, "403")


def test_405_is_a_friendly_page(client, accounts, auth):
    auth.login_as(accounts[Role.ADMIN])
    response = client.get("/logout")
    assert response.status_code == 405
    assert "That action is not available here." in response.get_data(as_text=True)


# -- an unexpected exception -------------------------------------------------------------------


@pytest.fixture
def failing_app(app: Flask) -> Flask:
    """The app with two public routes that write an audit event and then fail."""

    def write_then_fail(marker: str) -> str:
        with unit_of_work().begin() as session:
            audit.append(
                session,
                actor=actor_id(),
                action="audit.verified",
                details={"marker": marker},
            )
            session.flush()
            raise RuntimeError(f"failed while handling {SECRET}")

    app.add_url_rule("/test-boom", "test_boom", public(lambda: write_then_fail("page-boom")))
    app.add_url_rule("/api/test-boom", "test_api_boom", public(lambda: write_then_fail("api-boom")))
    return app


def test_an_unexpected_exception_gives_a_500_page_and_rolls_back(failing_app, caplog):
    caplog.set_level(logging.ERROR, logger="triage")

    response = failing_app.test_client().get("/test-boom")

    assert response.status_code == 500
    assert response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    assert "Something went wrong" in body
    assert "nothing was saved" in body
    for leak in (SECRET, "RuntimeError", "Traceback", "write_then_fail", "test_web_layer"):
        assert leak not in body, leak
    assert_page_headers(response, "500")
    assert events_with_marker(failing_app, "page-boom") == 0, "the failed request's write remains"
    assert "unhandled RuntimeError on GET test_boom" in caplog.text
    assert SECRET not in caplog.text, "the exception's message was logged"


def test_an_unexpected_exception_under_api_is_problem_json(failing_app):
    response = failing_app.test_client().get("/api/test-boom")

    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    problem = json.loads(response.get_data(as_text=True))
    assert problem["status"] == 500
    assert set(problem) == {"type", "title", "status", "detail"}
    assert SECRET not in response.get_data(as_text=True)
    assert "RuntimeError" not in response.get_data(as_text=True)
    assert events_with_marker(failing_app, "api-boom") == 0


# -- request size ------------------------------------------------------------------------------


@pytest.fixture
def small_app(settings: Settings) -> Iterator[Flask]:
    application = create_app(settings.with_overrides({"max_request_bytes": 4096}))
    yield application
    uow_of(application).engine.dispose()


def test_an_oversize_request_body_is_refused_with_413(small_app):
    client = small_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token
    before = event_count(small_app)

    response = client.post(
        "/login",
        data={"username": "x" * 8192, "password": "y", "csrf_token": token.group(1)},
    )

    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "The request is too large." in response.get_data(as_text=True)
    assert_page_headers(response, "413")
    assert event_count(small_app) == before, "the oversize sign-in was processed"
    small = client.post(
        "/login", data={"username": "x", "password": "y", "csrf_token": token.group(1)}
    )
    assert small.status_code == 401, "a request under the limit is refused too"


def test_an_oversize_upload_is_refused_with_413(small_app):
    client = small_app.test_client()
    response = client.post(
        "/login",
        data={"file": (io.BytesIO(b"z" * 10_000), "big.bin")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413


def test_the_pager_links_the_pages_around_this_one(app: Flask) -> None:
    from types import SimpleNamespace

    with app.test_request_context("/cases/"):
        pager = app.jinja_env.get_template("_macros.html").module.pager  # type: ignore[attr-defined]
        middle = str(pager(SimpleNamespace(page=2, pages=3), "review.index", {"level": "high"}))
        only = str(pager(SimpleNamespace(page=1, pages=1), "review.index", {}))
    assert 'href="/cases/?page=1&amp;level=high"' in middle
    assert 'href="/cases/?page=3&amp;level=high"' in middle
    assert "Page 2 of 3" in middle
    assert "pager" not in only
