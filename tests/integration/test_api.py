"""A media-monitoring service posts reports through the JSON intake API: each source kind filed,
sealed and audited; retries made safe by the Idempotency-Key; every refusal a problem document
with the right status; tokens scoped, revocable, rate-limited; nothing half-saved."""

from __future__ import annotations

import io
import json
import logging
import re
import threading
from collections.abc import Iterator
from copy import deepcopy
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pydantic import TypeAdapter
from sqlalchemy import func, select

from tests.conftest import Account, AuthActions
from triage import audit, create_app, sealed
from triage.config import Settings
from triage.intake import api_clients, schema, service
from triage.models import ApiClient, Case, IdempotencyKey, Report, utcnow
from triage.vocab import Role
from triage.web import errors
from triage.web.api import body as api_body
from triage.web.api import limits as api_limits
from triage.web.api import openapi
from triage.web.deps import uow_of
from triage.web.extensions import limiter

URL = "/api/v1/reports"
PROBLEM = "application/problem+json"
YESTERDAY = (date.today() - timedelta(days=1)).isoformat()

DIRECT: dict[str, Any] = {
    "source_kind": "direct",
    "region": "karaganda",
    "reporter": "neighbour",
    "victim": {"name": "Салтанат Жұмабекова", "birth_date": "1988-03-14", "phone": "+77051234567"},
    "aggressor": {"name": "Ерлан Жұмабеков", "age": 41},
    "relationship": "spouse",
    "categories": ["battery", "threat"],
    "occurred_on": YESTERDAY,
    "narrative": "Соседка слышала крики; муж бил её и угрожал ножом.",
}
MEDIA: dict[str, Any] = {
    "source_kind": "media",
    "region": "almaty",
    "outlet": "Tengrinews",
    "url": "https://tengrinews.example/kazakhstan/news/12345",
    "published_on": YESTERDAY,
    "language": "ru",
    "headline": "Муж избил жену в Алматы",
    "text": "Мужчина избил свою жену и угрожал ей ножом на глазах у детей. Айгерим Сапарова "
    "госпитализирована.",
}
ONLINE: dict[str, Any] = {
    "source_kind": "online",
    "platform": "telegram",
    "post_url": "https://t.me/example_channel/4242",
    "author_handle": "@neighbour_kz",
    "captured_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
    "captured_text": "Сосед опять бьёт жену, вчера она выбежала в крови. Зовут Динара Оспанова.",
}
BODIES = {"direct": DIRECT, "media": MEDIA, "online": ONLINE}
#: A phrase of each body that must never appear outside the sealed payload.
SECRETS = {"direct": "Салтанат", "media": "Айгерим Сапарова", "online": "Динара Оспанова"}


@dataclass
class Api:
    """A machine client's view of the app: tokens, and requests with one."""

    app: Flask
    client: FlaskClient

    def token(
        self, scopes: tuple[str, ...] = ("direct", "media", "online"), name: str = "M"
    ) -> str:
        with self.app.app_context(), uow_of(self.app).begin() as session:
            _, token = api_clients.create_client(session, name=name, scopes=scopes, actor="system")
        return token

    def post(
        self,
        body: Any,
        token: str | None,
        *,
        key: str | None = None,
        raw: bytes | str | None = None,
        content_type: str = "application/json",
        **kwargs: Any,
    ) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if key is not None:
            headers["Idempotency-Key"] = key
        data = raw if raw is not None else json.dumps(body, ensure_ascii=False)
        return self.client.post(
            URL, data=data, headers=headers, content_type=content_type, **kwargs
        )

    def get(self, path: str, token: str) -> Any:
        return self.client.get(path, headers={"Authorization": f"Bearer {token}"})

    def count(self, model: Any) -> int:
        with self.app.app_context(), uow_of(self.app).read() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)

    def events(self, action: str | None = None) -> list[dict[str, Any]]:
        with self.app.app_context(), uow_of(self.app).read() as session:
            events = list(audit.iter_events(session))
        return [e for e in events if action is None or e["action"] == action]

    def stored(self) -> dict[str, int]:
        return {
            "reports": self.count(Report),
            "cases": self.count(Case),
            "keys": self.count(IdempotencyKey),
        }


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> Api:
    return Api(app, client)


def assert_problem(response: Any, status: int, type_suffix: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body: dict[str, Any] = response.get_json(force=True)
    assert body["status"] == status and body["title"] and "detail" in body
    if type_suffix:
        assert body["type"] == f"urn:triage:problem:{type_suffix}"
    openapi.Problem.model_validate(body)  # the document's Problem schema is this model's
    return body


# -- filing each source kind -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["direct", "media", "online"])
def test_each_source_kind_is_filed_sealed_and_audited(api: Api, kind: str) -> None:
    token = api.token()
    response = api.post(BODIES[kind], token)

    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {
        "id",
        "case",
        "source_kind",
        "status",
        "verification",
        "provisional_level",
        "signals",
        "received_at",
    }
    assert body["source_kind"] == kind and body["verification"] == "unverified"
    assert body["case"].startswith("C-")
    assert response.headers["Location"] == f"/api/v1/reports/{body['id']}"
    text = response.get_data(as_text=True)
    assert SECRETS[kind] not in text
    if kind != "direct":
        assert "violence" in body["signals"] and body["provisional_level"] in ("medium", "high")

    with api.app.app_context(), uow_of(api.app).begin() as session:
        report = session.get(Report, body["id"])
        assert report is not None and report.source_kind == kind
        client = session.scalars(select(ApiClient)).one()
        assert report.api_client_id == client.id and client.last_used_at is not None
        assert SECRETS[kind].encode() not in (report.payload or b"")
        payload = sealed.open_payload(session, report, actor="system", purpose="test")
    original = BODIES[kind]
    sealed_text = payload.get("narrative") or payload.get("text") or payload.get("captured_text")
    assert sealed_text == (
        original.get("narrative") or original.get("text") or original.get("captured_text")
    )

    actor = f"api:{client.id}"
    filed = api.events("report.filed")
    assert [(e["actor"], e["object_id"]) for e in filed] == [(actor, body["id"])]
    assert filed[0]["details"]["source_kind"] == kind
    assert [e["actor"] for e in api.events("case.opened")] == [actor]
    everything = json.dumps(api.events(), ensure_ascii=False)
    assert SECRETS[kind] not in everything and token not in everything

    again = api.get(response.headers["Location"], token)
    assert again.status_code == 200 and again.get_json() == body


def test_html_and_script_in_text_are_stored_as_text_and_returned_nowhere(api: Api) -> None:
    token = api.token()
    script = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    body = {**MEDIA, "headline": f"Муж избил жену {script}", "text": f"{MEDIA['text']} {script}"}
    response = api.post(body, token)
    assert response.status_code == 201
    assert "<script" not in response.get_data(as_text=True)
    status = api.get(response.headers["Location"], token)
    assert "<script" not in status.get_data(as_text=True)
    with api.app.app_context(), uow_of(api.app).begin() as session:
        report = session.get(Report, response.get_json()["id"])
        assert report is not None and b"<script" not in (report.payload or b"")
        payload = sealed.open_payload(session, report, actor="system", purpose="test")
    assert payload["text"].endswith(script) and payload["headline"].endswith(script)


def test_probable_matches_neither_stop_the_api_nor_are_told_to_it(api: Api) -> None:
    """A client must not learn whether a phone, an IIN or a name and birth date is in a case on
    record: the answers are the same with a match as without one; reviewers see the match."""
    other, token = api.token(("direct",), name="other"), api.token(("direct",), name="prober")
    elsewhere = {**DIRECT, "region": "almaty", "narrative": "Другой отчёт о той же семье."}
    first = api.post(elsewhere, other).get_json()
    probe = {"phone": DIRECT["victim"]["phone"]}
    with_match = api.post({**DIRECT, "victim": probe}, token)
    without = api.post({**DIRECT, "victim": {"phone": "+77770000000"}}, token)

    assert with_match.status_code == without.status_code == 201
    matched = with_match.get_json()
    assert set(matched) == set(without.get_json())
    assert "probable_matches" not in matched and matched["case"] != first["case"]
    again = api.get(with_match.headers["Location"], token)
    assert again.get_json() == matched
    for text in (with_match.get_data(as_text=True), again.get_data(as_text=True)):
        assert first["case"] not in text and first["id"] not in text
    assert api.count(Report) == 3 and api.count(Case) == 3
    with api.app.app_context(), uow_of(api.app).read() as session:
        report = session.get(Report, matched["id"])
        assert report is not None
        staff_sees = service.matches_of(session, report)
    assert [m.case_code for m in staff_sees] == [first["case"]]


def test_a_source_url_already_reported_is_a_conflict_naming_the_first(api: Api) -> None:
    token = api.token(("media",))
    first = api.post(MEDIA, token).get_json()
    before = api.stored()
    url = "http://www.TENGRINEWS.example/kazakhstan/news/12345/?utm_source=feed"
    again = {**MEDIA, "url": url, "outlet": "X"}
    body = assert_problem(api.post(again, token), 409, "duplicate-source")
    assert body["report_id"] == first["id"] and body["case"] == first["case"]
    assert api.stored() == before


@pytest.mark.parametrize("kind", ["media", "online"])
def test_a_source_another_client_reported_is_a_conflict_naming_nothing(api: Api, kind: str) -> None:
    one, two = api.token(name="one"), api.token(name="two")
    first = api.post(BODIES[kind], one).get_json()
    before = (api.stored(), len(api.events()))
    for key in (None, "fresh-key"):
        response = api.post({**BODIES[kind], "region": "astana"}, two, key=key)
        body = assert_problem(response, 409, "duplicate-source")
        assert "report_id" not in body and "case" not in body
        text = response.get_data(as_text=True)
        assert first["id"] not in text and first["case"] not in text
    assert (api.stored(), len(api.events())) == before


# -- idempotency -------------------------------------------------------------------------------


def test_a_retry_with_the_same_key_returns_the_first_report_and_files_nothing(api: Api) -> None:
    token = api.token()
    first = api.post(MEDIA, token, key="6f1c2b9e-retry")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    # The same document serialised another way is the same request.
    reordered = json.dumps(dict(reversed(list(MEDIA.items()))), indent=2, ensure_ascii=True)
    retry = api.post(None, token, key="6f1c2b9e-retry", raw=reordered)

    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.get_json() == first.get_json()
    assert retry.headers["Location"] == first.headers["Location"]
    assert api.stored() == {"reports": 1, "cases": 1, "keys": 1}
    assert len(api.events("report.filed")) == 1


def test_the_same_key_with_another_body_is_refused(api: Api) -> None:
    token = api.token()
    assert api.post(MEDIA, token, key="k-1").status_code == 201
    before = api.stored()
    other = {**MEDIA, "url": "https://tengrinews.example/other", "headline": "Другая новость"}
    assert_problem(api.post(other, token, key="k-1"), 422, "idempotency-key-reused")
    assert api.stored() == before


def test_idempotency_keys_belong_to_one_client(api: Api) -> None:
    one, two = api.token(name="one"), api.token(name="two")
    first = api.post(DIRECT, one, key="shared")
    second = api.post(DIRECT, two, key="shared")
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert first.get_json()["id"] != second.get_json()["id"]


@pytest.mark.parametrize("key", ["", "has space", "ключ", "x" * 201])
def test_a_malformed_idempotency_key_is_refused(api: Api, key: str) -> None:
    token = api.token()
    headers = {"Idempotency-Key": key.encode().decode("latin-1")}
    response = api.post(MEDIA, token, headers=headers)
    assert_problem(response, 400, "invalid-idempotency-key")
    assert api.count(Report) == 0


@pytest.mark.parametrize("kind", ["direct", "media", "online"])
def test_a_concurrent_retry_that_loses_the_race_returns_the_winners_report(
    api: Api, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """Both requests looked the key up before either committed. For a direct report the unique
    constraint on (client, key) refuses the second, whose transaction is rolled back; for a media
    or online report the second finds the source on record (after waiting for its lock on
    PostgreSQL). Either way it is answered with the first report, never a 409."""
    token = api.token()
    first = api.post(BODIES[kind], token, key="race").get_json()
    real_standing, real_replay = api_clients._standing, api_clients._replay
    lookups: list[str] = []

    def before_the_first_committed(*args: Any, **kwargs: Any) -> Any:
        lookups.append("key")
        real_standing(*args, **kwargs)  # the use is recorded and the token checked, as ever
        return None  # but the first request's key is not seen yet

    def again(*args: Any, **kwargs: Any) -> Any:
        lookups.append("again")
        return real_replay(*args, **kwargs)

    monkeypatch.setattr(api_clients, "_standing", before_the_first_committed)
    monkeypatch.setattr(api_clients, "_replay", again)
    response = api.post(BODIES[kind], token, key="race")
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.headers["Idempotent-Replayed"] == "true"
    assert response.get_json()["id"] == first["id"] and lookups == ["key", "again"]
    assert api.stored() == {"reports": 1, "cases": 1, "keys": 1}
    assert len(api.events("report.filed")) == 1
    # The same source with the same key but another body is still a reused key, not a replay.
    other = {**BODIES[kind], "region": "astana"}
    assert_problem(api.post(other, token, key="race"), 422, "idempotency-key-reused")


@pytest.mark.parametrize("kind", ["direct", "media"])
def test_two_requests_with_one_key_at_once_file_one_report(
    api: Api, monkeypatch: pytest.MonkeyPatch, database: Any, kind: str
) -> None:
    """Two real concurrent requests (PostgreSQL: SQLite takes its write lock at the first
    statement, so two requests never overlap there): both pass the replay check before either
    commits; both get the one report."""
    if database.engine != "postgresql":
        pytest.skip("SQLite serialises whole requests")
    token = api.token()
    with api.app.app_context(), uow_of(api.app).begin() as session:
        # Used just now: neither request updates (and so locks) the client's row.
        session.scalars(select(ApiClient)).one().last_used_at = utcnow()
    real_standing = api_clients._standing
    barrier = threading.Barrier(2, timeout=20)

    def together(*args: Any, **kwargs: Any) -> Any:
        found = real_standing(*args, **kwargs)
        barrier.wait()  # neither has filed yet: both saw no key
        return found

    monkeypatch.setattr(api_clients, "_standing", together)
    results: list[Any] = [None, None]

    def send(index: int) -> None:
        results[index] = api.app.test_client().post(
            URL,
            json=BODIES[kind],
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "together"},
        )

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201, 201], [r.get_data(as_text=True) for r in results]
    assert results[0].get_json()["id"] == results[1].get_json()["id"]
    replayed = sorted(r.headers.get("Idempotent-Replayed", "") for r in results)
    assert replayed == ["", "true"]
    assert api.stored() == {"reports": 1, "cases": 1, "keys": 1}


# -- validation --------------------------------------------------------------------------------


def test_validation_errors_name_each_field_and_store_nothing(api: Api) -> None:
    token = api.token()
    before = (api.stored(), len(api.events()))
    bad = deepcopy(DIRECT)
    bad["victim"]["birth_date"] = (date.today() + timedelta(days=3)).isoformat()
    bad["victim"]["iin"] = "880314400999"
    bad["narrative"] = ""
    bad["colour"] = "red"
    body = assert_problem(api.post(bad, token), 422, "validation-failed")
    fields = {e["field"]: e["message"] for e in body["errors"]}
    assert fields["victim.birth_date"] == "cannot be in the future"
    assert "IIN" in fields["victim.iin"]
    assert fields["narrative"] == "is required"
    assert fields["colour"] == "is not a field of this source kind"
    assert "880314400999" not in json.dumps(body) and "Салтанат" not in json.dumps(body)
    assert (api.stored(), len(api.events())) == before


@pytest.mark.parametrize(
    ("raw", "status", "kind"),
    [
        ("{", 400, "malformed-json"),
        ("", 400, "malformed-json"),
        ('{"source_kind": NaN}', 400, "malformed-json"),
        (b'{"source_kind": "\xff"}', 400, "malformed-json"),
        ("[1, 2]", 422, "validation-failed"),
        ('"media"', 422, "validation-failed"),
        ('{"source_kind": "telepathy"}', 422, "validation-failed"),
        ("[" * 100_000 + "]" * 100_000, 400, "malformed-json"),
        ('{"victim": ' + '{"a": ' * 900 + "1" + "}" * 901, 422, "validation-failed"),
    ],
)
def test_bodies_that_are_not_a_report_object(api: Api, raw: Any, status: int, kind: str) -> None:
    token = api.token()
    body = assert_problem(api.post(None, token, raw=raw), status, kind)
    if kind == "validation-failed":
        assert body["errors"] and all({"field", "message"} <= set(e) for e in body["errors"])
    assert api.count(Report) == 0


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"],
)
def test_only_json_is_accepted(api: Api, content_type: str) -> None:
    token = api.token()
    response = api.post(MEDIA, token, content_type=content_type)
    assert_problem(response, 415, "unsupported-media-type")


def test_a_10_mb_body_is_refused_before_it_is_read(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*args: Any) -> Any:
        raise AssertionError("the body was parsed")

    monkeypatch.setattr(api_body, "json_object", never)
    token = api.token()
    big = b'{"text": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    assert_problem(api.post(None, token, raw=big), 413, "body-too-large")
    assert api.count(Report) == 0


def test_a_body_without_a_length_is_cut_at_the_limit(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A streamed (chunked) body declares no length: reading stops one byte past the limit."""
    monkeypatch.setattr(api_body, "json_object", lambda data: pytest.fail("the body was parsed"))
    token = api.token()
    stream = io.BytesIO(b"[" + b" " * (2 * 1024 * 1024) + b"]")
    response = api.client.post(
        URL,
        input_stream=stream,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert_problem(response, 413, "body-too-large")
    assert stream.tell() <= 1024 * 1024 + 1


# -- tokens ------------------------------------------------------------------------------------


def test_no_token_is_401_with_a_challenge_and_no_event(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    before = len(api.events())
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer "}):
        with caplog.at_level(logging.WARNING, logger="triage"):
            response = api.client.post(URL, json=MEDIA, headers=headers)
        assert_problem(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="triage"'
    assert len(api.events()) == before and api.count(Report) == 0
    refused = [r for r in caplog.records if r.name == "triage" and "missing_token" in r.message]
    assert len(refused) == 3 and all(r.levelno == logging.WARNING for r in refused)
    assert all("dXNlcjpwYXNz" not in r.message for r in caplog.records)


@pytest.mark.parametrize(
    ("token", "reason"),
    [("not-a-token", "malformed_token"), ("trg_" + "A" * 43, "unknown_token")],
)
def test_a_wrong_token_is_401_logged_and_never_audited(
    api: Api, caplog: pytest.LogCaptureFixture, token: str, reason: str
) -> None:
    """Anyone can send a made-up token: it must not be able to append to the permanent audit
    chain. A warning in the log names the address and the reason, never the token."""
    before = len(api.events())
    with caplog.at_level(logging.WARNING, logger="triage"):
        response = api.post(MEDIA, token)
        assert_problem(api.get(f"{URL}/anything", token), 401, "unauthorized")
    assert_problem(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="triage", error="invalid_token"'
    assert len(api.events()) == before and api.events("api.rejected") == []
    assert api.count(Report) == 0
    [posted, got] = [r for r in caplog.records if r.name == "triage"]
    for record, endpoint in ((posted, "api.create_report"), (got, "api.get_report")):
        assert record.levelno == logging.WARNING
        assert reason in record.message and "127.0.0.1" in record.message
        assert endpoint in record.message
    assert all(
        token not in r.getMessage() and token[:12] not in r.getMessage() for r in caplog.records
    )


def test_a_revoked_token_is_401_and_audited(api: Api) -> None:
    token = api.token()
    with api.app.app_context(), uow_of(api.app).begin() as session:
        client = session.scalars(select(ApiClient)).one()
        api_clients.revoke(session, client, actor="system")
        client_id = client.id
    response = api.post(MEDIA, token)
    assert_problem(response, 401, "unauthorized")
    [event] = api.events("api.rejected")
    assert event["details"]["reason"] == "revoked"
    assert event["object_id"] == str(client_id) and event["actor"] == f"api:{client_id}"
    assert event["details"]["token_prefix"] == token[:12] and token not in json.dumps(event)
    assert api.get(f"{URL}/anything", token).status_code == 401


def test_a_token_revoked_while_a_worker_remembers_it_stops_at_the_next_request(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker remembers the tokens it verified (``api_clients.verify``) and does not look
    them up again, but each request's own block reads the client's row: a token revoked
    elsewhere (another worker, the CLI) is refused by the very next request, nothing filed."""
    token = api.token(("media", "online"))
    assert api.post(MEDIA, token).status_code == 201
    looked_up: list[str] = []
    real_authenticate = api_clients.authenticate

    def authenticate(*args: Any, **kwargs: Any) -> Any:
        looked_up.append("token")
        return real_authenticate(*args, **kwargs)

    monkeypatch.setattr(api_clients, "authenticate", authenticate)
    assert api.post(ONLINE, token).status_code == 201
    assert looked_up == []  # remembered: no lookup of the token
    with api.app.app_context(), uow_of(api.app).begin() as session:
        client = session.scalars(select(ApiClient)).one()
        api_clients.revoke(session, client, actor="system")
    # Out of its scopes too: the revocation is what it is told, before the scope.
    assert_problem(api.post(DIRECT, token), 401, "unauthorized")
    assert api.count(Report) == 2
    [event] = api.events("api.rejected")
    assert event["details"]["reason"] == "revoked"
    assert api.get(f"{URL}/anything", token).status_code == 401
    assert looked_up == ["token"]  # forgotten once refused: looked up (and refused) again


def test_only_valid_tokens_are_remembered(api: Api) -> None:
    """Unknown tokens are looked up every time, never kept: guessing cannot fill a worker's
    memory; a valid token is kept once."""
    token = api.token()
    for _ in range(5):
        assert_problem(api.post(MEDIA, api_clients.new_token()), 401, "unauthorized")
    with api.app.app_context():
        cache = api_clients._cache(uow_of(api.app))
        assert len(cache) == 0
        assert api.post(MEDIA, token).status_code == 201
        assert len(cache) == 1


def test_a_token_may_post_only_its_source_kinds(api: Api) -> None:
    token = api.token(("media",))
    for kind in ("direct", "online"):
        response = api.post(BODIES[kind], token)
        body = assert_problem(response, 403, "out-of-scope")
        assert kind in body["detail"]
        assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    events = api.events("api.rejected")
    assert [e["details"]["reason"] for e in events] == ["out_of_scope", "out_of_scope"]
    assert [e["details"]["source_kind"] for e in events] == ["direct", "online"]
    assert api.count(Report) == 0
    assert api.post(MEDIA, token).status_code == 201


def test_a_report_is_visible_to_the_client_that_posted_it_only(api: Api) -> None:
    one, two = api.token(name="one"), api.token(name="two")
    location = api.post(ONLINE, one).headers["Location"]
    assert api.get(location, one).status_code == 200
    assert_problem(api.get(location, two), 404)
    assert_problem(api.get(f"{URL}/00000000-0000-0000-0000-000000000000", one), 404)


def test_a_signed_in_session_is_not_a_token(
    api: Api, auth: AuthActions, accounts: dict[Role, Account]
) -> None:
    """CSRF is off for the API because a cookie never authenticates it."""
    auth.login_as(accounts[Role.ADMIN])
    assert_problem(api.client.post(URL, json=MEDIA), 401)
    assert api.count(Report) == 0


# -- rate limits -------------------------------------------------------------------------------


def test_answers_carry_the_clients_rate_limit(api: Api) -> None:
    token = api.token()
    first = api.post(MEDIA, token)
    assert first.status_code == 201 and first.headers["X-RateLimit-Limit"] == "120"
    remaining = int(first.headers["X-RateLimit-Remaining"])
    status = api.get(first.headers["Location"], token)
    assert int(status.headers["X-RateLimit-Remaining"]) == remaining - 1
    assert int(status.headers["X-RateLimit-Reset"]) > 0


@pytest.fixture
def limited(settings: Settings) -> Iterator[Api]:
    app = create_app(replace(settings, api_rate_limit="3 per minute"))
    yield Api(app, app.test_client())
    uow_of(app).engine.dispose()


def test_each_client_has_its_own_rate_limit(limited: Api) -> None:
    one, two = limited.token(name="one"), limited.token(name="two")
    statuses = [limited.post({"source_kind": "media"}, one).status_code for _ in range(3)]
    assert statuses == [422, 422, 422]
    response = limited.post(MEDIA, one)
    assert_problem(response, 429, "rate-limited")
    assert int(response.headers["Retry-After"]) > 0
    assert limited.count(Report) == 0
    assert limited.post(MEDIA, two).status_code == 201


def test_a_tokens_public_prefix_cannot_use_up_its_limit(limited: Api) -> None:
    """The prefix is shown in lists and audit events: requests with forged tokens sharing it
    count only as failed authentications of their own address, never against the client."""
    token = limited.token()
    for fake in (token[:12] + c * (len(token) - 12) for c in "ABCD"):
        assert_problem(limited.post(MEDIA, fake), 401, "unauthorized")
    response = limited.post(MEDIA, token)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.headers["X-RateLimit-Remaining"] == "2"


def test_failed_authentications_are_limited_per_address(api: Api) -> None:
    limit = int(api_limits.AUTH_FAILURE_LIMIT.split()[0])
    for _ in range(limit):
        assert api.post(MEDIA, "trg_" + "B" * 43).status_code == 401
    events = len(api.events())
    response = api.post(MEDIA, "trg_" + "C" * 43)
    assert_problem(response, 429, "rate-limited")
    assert int(response.headers["Retry-After"]) > 0
    assert len(api.events()) == events  # refused before any lookup or event


def test_the_failure_limit_is_per_address_and_kept_by_flask_limiter(api: Api) -> None:
    """Past the limit, an address is refused before its token is looked at, even a good one;
    another address is not; the counters live in the shared Flask-Limiter's storage."""
    token, limit = api.token(), int(api_limits.AUTH_FAILURE_LIMIT.split()[0])
    here, there = {"REMOTE_ADDR": "10.0.0.1"}, {"REMOTE_ADDR": "10.0.0.2"}
    remaining = []
    for _ in range(limit):
        refused = api.post(MEDIA, "trg_" + "B" * 43, environ_base=here)
        assert refused.status_code == 401
        remaining.append(int(refused.headers["X-RateLimit-Remaining"]))
    assert remaining == list(range(limit - 1, -1, -1))  # a 401 shows what is left of it
    blocked = assert_problem(api.post(MEDIA, token, environ_base=here), 429, "rate-limited")
    assert blocked["title"] == "Too many failed authentications"
    assert api.get(f"{URL}/anything", token).status_code == 404  # 127.0.0.1 is not blocked
    elsewhere = api.post(MEDIA, token, environ_base=there)
    assert elsewhere.status_code == 201, elsewhere.get_data(as_text=True)
    assert elsewhere.headers["X-RateLimit-Limit"] == "120"  # the client's limit, once verified
    limiter.reset()
    again = api.post({**MEDIA, "url": "https://tengrinews.example/2"}, token, environ_base=here)
    assert again.status_code == 201


def test_the_client_limit_is_shared_by_both_routes(limited: Api) -> None:
    token = limited.token()
    location = limited.post(MEDIA, token).headers["Location"]
    assert limited.get(location, token).status_code == 200
    assert limited.get(location, token).headers["X-RateLimit-Remaining"] == "0"
    for response in (limited.get(location, token), limited.post(MEDIA, token)):
        body = assert_problem(response, 429, "rate-limited")
        assert body["title"] == "Too many requests" and "this client" in body["detail"]
        assert int(response.headers["Retry-After"]) > 0
    assert limited.stored()["reports"] == 1
    limiter.reset()
    assert limited.get(location, token).status_code == 200


# -- the document ------------------------------------------------------------------------------


def test_the_openapi_document_is_public_and_complete(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    doc = response.get_json()
    assert doc["openapi"].startswith("3.1")
    post = doc["paths"]["/api/v1/reports"]["post"]
    assert set(post["responses"]) == {
        "201",
        "400",
        "401",
        "403",
        "409",
        "413",
        "415",
        "422",
        "429",
    }
    assert post["security"] == [{"bearerAuth": []}]
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert doc["components"]["parameters"]["IdempotencyKey"]["in"] == "header"
    schemas = doc["components"]["schemas"]
    assert {"DirectReport", "MediaReport", "OnlineReport", "Problem", "ReportState"} <= set(schemas)
    refs = {m["$ref"] for m in schemas["IncomingReport"]["oneOf"]}
    assert refs == {f"#/components/schemas/{k}Report" for k in ("Direct", "Media", "Online")}
    assert "$defs" not in json.dumps(doc)
    assert "probable_matches" not in json.dumps(doc)
    assert "probable_matches" not in schemas["ReportState"]["properties"]


MODELS: list[tuple[Any, str]] = [
    (schema.DirectReport, "validation"),
    (schema.MediaReport, "validation"),
    (schema.OnlineReport, "validation"),
    (schema.Person, "validation"),
    (api_clients.ReportState, "serialization"),
    (openapi.Problem, "serialization"),
    (openapi.FieldError, "serialization"),
]


@pytest.mark.parametrize(("model", "mode"), MODELS, ids=[m.__name__ for m, _ in MODELS])
def test_the_documents_schemas_are_the_pydantic_models_own(model: Any, mode: Any) -> None:
    """Generated, not written: each schema (and everything it refers to) is exactly what pydantic
    makes of the model that validates the request or makes the answer."""
    schemas = openapi.document()["components"]["schemas"]
    own = model.model_json_schema(ref_template=openapi.REF_TEMPLATE, mode=mode)
    for name, definition in own.pop("$defs", {}).items():
        assert schemas[name] == definition, name
    assert schemas[model.__name__] == own


def test_the_document_refers_only_to_schemas_it_holds() -> None:
    doc = openapi.document()
    union = TypeAdapter(schema.IncomingReport).json_schema(ref_template=openapi.REF_TEMPLATE)
    union.pop("$defs")
    incoming = dict(doc["components"]["schemas"]["IncomingReport"])
    assert incoming.pop("description") and incoming == union
    refs = set(re.findall(r'"\$ref": "#/components/(\w+)/(\w+)"', json.dumps(doc)))
    assert refs and all(name in doc["components"][kind] for kind, name in refs)
    for name, example in openapi.EXAMPLES.items():
        assert schema.parse(example["value"]).source_kind == name


def test_every_problem_type_is_documented() -> None:
    """Each problem type the API can answer with is in docs/api.md's table."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    source = (Path(api_body.__file__)).read_text(encoding="utf-8")
    codes = set(errors.API_PROBLEM_CODES.values()) | set(errors.API_HTTP_CODES.values())
    codes |= set(re.findall(r'"([a-z]+(?:-[a-z]+)+)"', source))  # the ApiProblems of the body
    assert {"malformed-json", "body-too-large", "unsupported-media-type"} <= codes
    missing = sorted(c for c in codes if f"`urn:triage:problem:{c}`" not in docs)
    assert missing == []
