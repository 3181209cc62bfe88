"""An admin makes an API client for a media-monitoring service, hands over its token (shown
once), sees it in the list without the token, and revokes it; every step audited, the token
never stored or logged, and no other role let in."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import Account, AuthActions
from triage import audit
from triage.errors import InvalidInput
from triage.intake import api_clients
from triage.intake.api_clients import TokenRejected
from triage.models import ApiClient, Report
from triage.vocab import Role
from triage.web.deps import uow_of

MEDIA = {
    "source_kind": "media",
    "outlet": "Example News",
    "url": "https://news.example.kz/1",
    "language": "ru",
    "headline": "Муж избил жену",
    "text": "Мужчина избил жену.",
}


def _create(client: FlaskClient, auth: AuthActions, data: dict[str, Any]) -> Any:
    token = auth.csrf_token("/admin/api-clients/new")
    return client.post("/admin/api-clients/new", data={"csrf_token": token, **data})


def _token_on(page: str) -> str:
    match = re.search(r'id="token"[^>]*value="(trg_[A-Za-z0-9_-]{43})"', page)
    assert match, "no token on the page"
    return match.group(1)


def _events(app: Flask, action: str) -> list[dict[str, Any]]:
    with app.app_context(), uow_of(app).read() as session:
        return [e for e in audit.iter_events(session) if e["action"] == action]


def test_an_admin_creates_a_client_and_sees_its_token_once(
    app: Flask, client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]
) -> None:
    auth.login_as(accounts[Role.ADMIN])
    assert "API clients" in client.get("/").get_data(as_text=True)
    response = _create(client, auth, {"name": "Media Monitor KZ", "scopes": ["media", "online"]})
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    token = _token_on(page)
    assert "shown only this once" in page
    assert response.headers["Cache-Control"] == "no-store"

    with app.app_context(), uow_of(app).read() as session:
        stored = session.scalars(select(ApiClient)).one()
        row = json.dumps([getattr(stored, c.key) for c in ApiClient.__table__.columns], default=str)
    assert token not in row
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert stored.token_prefix == token[:12] and stored.scopes == ["media", "online"]
    assert stored.created_by == accounts[Role.ADMIN].id

    [event] = _events(app, "token.created")
    assert event["details"]["client_id"] == stored.id
    assert event["details"]["scopes"] == ["media", "online"]
    assert event["actor"] == str(accounts[Role.ADMIN].id) and token not in json.dumps(event)

    listing = client.get("/admin/api-clients/").get_data(as_text=True)
    assert "Media Monitor KZ" in listing and stored.token_prefix in listing
    assert token not in listing

    api = client.post("/api/v1/reports", json=MEDIA, headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 201
    assert "never" not in client.get("/admin/api-clients/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "No scopes"}, "Choose at least one source kind."),
        ({"name": "", "scopes": ["media"]}, "Name: this field is required."),
        ({"name": "Bad scope", "scopes": ["telepathy"]}, "Source kinds it may post: choose one"),
        ({"name": "x" * 101, "scopes": ["media"]}, "Name: write at most 100 characters."),
    ],
)
def test_a_client_needs_a_name_and_known_scopes(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    accounts: dict[Role, Account],
    data: dict[str, Any],
    message: str,
) -> None:
    auth.login_as(accounts[Role.ADMIN])
    response = _create(client, auth, data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context(), uow_of(app).read() as session:
        assert session.scalars(select(ApiClient)).all() == []
    assert _events(app, "token.created") == []


def test_an_admin_revokes_a_token_after_confirming(
    app: Flask, client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account]
) -> None:
    auth.login_as(accounts[Role.ADMIN])
    token = _token_on(_create(client, auth, {"name": "M", "scopes": ["media"]}).get_data(True))
    with app.app_context(), uow_of(app).read() as session:
        client_id = session.scalars(select(ApiClient.id)).one()
    url = f"/admin/api-clients/{client_id}/revoke"

    page = client.get(url)
    assert page.status_code == 200 and "cannot be undone" in page.get_data(as_text=True)
    csrf = auth.csrf_token(url)
    unconfirmed = client.post(url, data={"csrf_token": csrf})
    assert unconfirmed.status_code == 400
    assert "Tick the box to confirm." in unconfirmed.get_data(as_text=True)
    assert _events(app, "token.revoked") == []

    done = client.post(url, data={"csrf_token": csrf, "confirm": "y"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/api-clients/")
    [event] = _events(app, "token.revoked")
    assert event["details"]["client_id"] == client_id and event["details"]["scopes"] == ["media"]
    assert token not in json.dumps(event)
    assert "revoked" in client.get("/admin/api-clients/").get_data(as_text=True)

    refused = client.post(
        "/api/v1/reports", json=MEDIA, headers={"Authorization": f"Bearer {token}"}
    )
    assert refused.status_code == 401
    again = client.post(url, data={"csrf_token": csrf, "confirm": "y"})
    assert again.status_code == 200 and "was revoked on" in again.get_data(as_text=True)
    assert len(_events(app, "token.revoked")) == 1
    assert client.get("/admin/api-clients/999/revoke").status_code == 404


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMIN])
def test_only_admins_manage_api_clients(
    client: FlaskClient, auth: AuthActions, accounts: dict[Role, Account], role: Role
) -> None:
    auth.login_as(accounts[role])
    assert client.get("/admin/api-clients/").status_code == 403
    assert client.get("/admin/api-clients/new").status_code == 403
    assert "API clients" not in client.get("/").get_data(as_text=True)


# -- the service -------------------------------------------------------------------------------


def test_tokens_are_random_hashed_and_recognised(app: Flask) -> None:
    with app.app_context(), uow_of(app).begin() as session:
        first, token = api_clients.create_client(
            session, name="  Media   Monitor ", scopes=["online", "media"], actor="system"
        )
        _, other = api_clients.create_client(session, name="B", scopes=["direct"], actor="system")
        assert first.name == "Media Monitor" and first.scopes == ["media", "online"]
        assert token != other and re.fullmatch(r"trg_[A-Za-z0-9_-]{43}", token)
        assert api_clients.authenticate(session, token).id == first.id

        reasons = {}
        for candidate in (None, "", "abc", token[:-1] + ("A" if token[-1] != "A" else "B")):
            with pytest.raises(TokenRejected) as refused:
                api_clients.authenticate(session, candidate)
            reasons[candidate] = refused.value.reason
        assert list(reasons.values()) == [
            "missing_token",
            "missing_token",
            "malformed_token",
            "unknown_token",
        ]
        assert api_clients.revoke(session, first, actor="system") is True
        assert api_clients.revoke(session, first, actor="system") is False
        with pytest.raises(TokenRejected) as revoked:
            api_clients.authenticate(session, token)
        assert revoked.value.reason == "revoked" and revoked.value.client_id == first.id

        for scopes in ([], ["media", "telepathy"]):
            with pytest.raises(InvalidInput):
                api_clients.create_client(session, name="C", scopes=scopes, actor="system")


def test_the_service_files_in_its_own_block_and_refuses_a_token_revoked_meanwhile(
    app: Flask,
) -> None:
    """Outside any request (no Flask): authentication only reads; the filing's block records the
    use and refuses a token revoked since; the refusal goes on record in a block of its own."""
    uow = uow_of(app)
    with uow.begin() as session:
        _, token = api_clients.create_client(session, name="M", scopes=["media"], actor="system")
    with uow.read() as session:  # a write here would fail
        client = api_clients.authenticate(session, token)
    filed = api_clients.submit(uow, client, MEDIA, idempotency_key="k")
    assert not filed.replayed and filed.state.source_kind == "media"
    assert api_clients.submit(uow, client, MEDIA, idempotency_key="k").replayed
    with uow.begin() as session:
        api_clients.revoke(session, api_clients.get(session, client.id), actor="system")
        assert session.get(ApiClient, client.id).last_used_at is not None  # type: ignore[union-attr]

    with pytest.raises(TokenRejected) as refused:
        api_clients.submit(uow, client, {**MEDIA, "url": "https://news.example.kz/2"})
    assert refused.value.reason == "revoked" and refused.value.client_id == client.id
    api_clients.refuse(uow, refused.value, endpoint="test", method="POST", address="10.0.0.1")
    [event] = _events(app, "api.rejected")
    assert event["actor"] == f"api:{client.id}" and event["details"]["reason"] == "revoked"
    with uow.read() as session:
        assert len(session.scalars(select(Report)).all()) == 1
