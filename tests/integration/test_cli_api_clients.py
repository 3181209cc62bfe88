"""``triage api-clients create|list|revoke``: an operator scripts tokens; each write is the same
audit event as the admin page's, the token works on the API once made and never after revoking,
and bad input is one clear line with nothing written."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from triage import audit
from triage.cli import main
from triage.config import Settings
from triage.models import ApiClient
from triage.web.deps import uow_of


def _env(settings: Settings) -> dict[str, str]:
    return {
        "TRIAGE_INSTANCE_PATH": str(settings.instance_path),
        "TRIAGE_DATABASE_URL": settings.database_url,
        "TRIAGE_KEYRING_PATH": settings.keyring_path,
    }


def _events(app: Flask, action: str) -> list[dict[str, Any]]:
    with app.app_context(), uow_of(app).read() as session:
        return [e for e in audit.iter_events(session) if e["action"] == action]


def _clients(app: Flask) -> list[ApiClient]:
    with app.app_context(), uow_of(app).read() as session:
        found = session.scalars(select(ApiClient)).all()
        session.expunge_all()
        return list(found)


def test_create_list_revoke_audited_like_the_admin_page(app: Flask, settings: Settings) -> None:
    runner = CliRunner()
    made = runner.invoke(
        main,
        ["api-clients", "create", "News feed", "--scope", "online", "--scope", "media"],
        env=_env(settings),
    )
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    assert token.startswith("trg_") and "\n" not in token
    assert token not in made.stderr
    [client] = _clients(app)
    assert client.name == "News feed" and sorted(client.scopes) == ["media", "online"]
    [created] = _events(app, "token.created")
    assert created["actor"] == "system" and created["object_id"] == str(client.id)
    assert created["details"]["token_prefix"] == token[:12] == client.token_prefix
    assert created["details"]["scopes"] == client.scopes
    assert token not in str(created)

    # The token is the client's: the API takes it.
    api = app.test_client()
    answer = api.get("/api/v1/reports/none", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 404

    listed = runner.invoke(main, ["api-clients", "list"], env=_env(settings))
    assert listed.exit_code == 0, listed.output
    assert "News feed" in listed.output and client.token_prefix in listed.output
    assert token not in listed.output

    revoked = runner.invoke(main, ["api-clients", "revoke", str(client.id)], env=_env(settings))
    assert revoked.exit_code == 0 and "Revoked" in revoked.output
    [event] = _events(app, "token.revoked")
    assert event["actor"] == "system" and event["details"]["token_prefix"] == client.token_prefix
    again = runner.invoke(main, ["api-clients", "revoke", str(client.id)], env=_env(settings))
    assert again.exit_code == 0 and "already" in again.output
    assert len(_events(app, "token.revoked")) == 1
    answer = api.get("/api/v1/reports/none", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401


def test_bad_input_is_refused_in_one_line_with_nothing_written(
    app: Flask, settings: Settings
) -> None:
    runner = CliRunner()
    for args in (
        ["api-clients", "create", "   ", "--scope", "media"],
        ["api-clients", "create", "x" * 101, "--scope", "media"],
        ["api-clients", "create", "Feed", "--scope", "rumour"],
        ["api-clients", "create", "Feed"],
        ["api-clients", "revoke", "999"],
    ):
        result = runner.invoke(main, args, env=_env(settings))
        assert result.exit_code != 0, args
        assert "Traceback" not in result.output
        assert result.output.strip(), args
    assert _clients(app) == []
    assert _events(app, "token.created") == []
