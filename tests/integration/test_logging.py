"""Logs as JSON lines with each request's id, user id and role; the id in the response, in the
audit events the request wrote and on its error page; one line per record whatever a URL holds
(JSON, the text format, and the development server's request log through a real socket); huge
or malformed numbers in URLs answer 404 or the first page, never 500.

gunicorn's own access and error lines: tests/e2e/test_log_lines.py."""

from __future__ import annotations

import io
import json
import logging
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.serving import make_server

from tests.conftest import Account, AuthActions
from triage import audit, create_app
from triage import logging as logs
from triage.config import ConfigError, Settings
from triage.models import AuditEvent
from triage.vocab import Role
from triage.web.deps import uow_of

HEX_ID = re.compile(r"^[0-9a-f]{32}$")
FORGED = "FORGED admin logged in"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Everything triage's handler writes, as JSON lines (the default format)."""
    stream = io.StringIO()
    logs.configure("INFO", "json", stream)
    try:
        yield stream
    finally:
        logs.configure("INFO", "json")


def records(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def signed_in(app: Flask, account: Account) -> FlaskClient:
    client = app.test_client()
    AuthActions(client).login_as(account)
    return client


def events_since(app: Flask, seq: int) -> list[dict[str, object]]:
    with app.app_context(), uow_of(app).read() as session:
        query = select(AuditEvent).where(AuditEvent.seq > seq).order_by(AuditEvent.seq)
        return [audit.event_fields(e) for e in session.scalars(query)]


def last_seq(app: Flask) -> int:
    with app.app_context(), uow_of(app).read() as session:
        return int(session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc())) or 0)


# -- the lines ----------------------------------------------------------------------------------


def test_each_request_writes_a_json_line_with_its_id_user_and_role(app, accounts, captured):
    reviewer = accounts[Role.REVIEWER]
    client = signed_in(app, reviewer)
    captured.truncate(0)
    captured.seek(0)

    response = client.get("/cases/")

    assert response.status_code == 200
    request_id = response.headers["X-Request-Id"]
    assert HEX_ID.match(request_id)
    lines = [r for r in records(captured) if r.get("request_id") == request_id]
    assert len(lines) == 1, captured.getvalue()
    line = lines[0]
    assert {"time", "level", "logger", "message"} <= set(line)
    assert (line["level"], line["logger"]) == ("INFO", "triage.request")
    assert (line["user_id"], line["role"]) == (reviewer.id, "reviewer")
    assert line["endpoint"] == "review.index" and line["status"] == 200
    # A second request has another id.
    assert client.get("/cases/").headers["X-Request-Id"] != request_id


def test_an_anonymous_request_has_an_id_but_no_user(app, captured):
    response = app.test_client().get("/login")
    line = next(r for r in records(captured) if r.get("request_id"))
    assert line["request_id"] == response.headers["X-Request-Id"]
    assert line["user_id"] is None and line["role"] is None


def test_the_request_id_goes_into_the_audit_events_of_the_request(app, accounts):
    client = app.test_client()
    before = last_seq(app)

    response = AuthActions(client).login(accounts[Role.AUDITOR].username)

    written = events_since(app, before)
    assert [e["action"] for e in written] == ["auth.login"]
    assert written[0]["details"]["request_id"] == response.headers["X-Request-Id"]
    with app.app_context(), uow_of(app).read() as session:
        assert audit.verify(session).ok  # part of the hashed details: the chain holds


def test_an_event_outside_a_request_has_no_request_id(app):
    before = last_seq(app)
    with app.app_context(), uow_of(app).begin() as session:
        audit.append(session, actor="system", action="auth.logout")
    (event,) = events_since(app, before)
    assert "request_id" not in event["details"]


def test_an_error_page_shows_the_reference_to_quote(app, accounts):
    client = signed_in(app, accounts[Role.REVIEWER])
    response = client.get("/cases/no-such-case")
    assert response.status_code == 404
    reference = response.headers["X-Request-Id"]
    page = response.get_data(as_text=True)
    assert f"quote this reference: {reference}" in page


def test_a_trusted_proxys_well_formed_id_is_kept_and_others_replaced(settings: Settings):
    proxied = create_app(replace(settings, trusted_proxies=1))
    direct = create_app(settings)
    try:
        kept = proxied.test_client().get("/login", headers={"X-Request-Id": "nginx-7f3a9c2b1d"})
        assert kept.headers["X-Request-Id"] == "nginx-7f3a9c2b1d"
        for bad in ("short", "x" * 65, "ab;cd-efgh-ijkl", "a b c d e f g h", "é" * 10):
            answer = proxied.test_client().get("/login", headers={"X-Request-Id": bad})
            assert HEX_ID.match(answer.headers["X-Request-Id"]), bad
        # Without a proxy, a client's own header is not believed.
        ignored = direct.test_client().get("/login", headers={"X-Request-Id": "nginx-7f3a9c2b1d"})
        assert HEX_ID.match(ignored.headers["X-Request-Id"])
    finally:
        uow_of(proxied).engine.dispose()
        uow_of(direct).engine.dispose()


def test_a_wrong_log_format_is_one_clear_refusal(settings: Settings):
    with pytest.raises(ConfigError, match="TRIAGE_LOG_FORMAT"):
        create_app(replace(settings, log_format="xml"))


# -- one record, one line -----------------------------------------------------------------------

NASTY = [
    f"x\n{FORGED}",
    f"x\r\n{FORGED}",
    f"x\x00{FORGED}",
    f"x\u2028{FORGED}",
    f"x\x85{FORGED}",
    f"x\x1b[2K\r{FORGED}",
]


@pytest.mark.parametrize("fmt", ["json", "text"])
@pytest.mark.parametrize("message", NASTY)
def test_a_record_with_control_characters_stays_on_one_line(fmt, message):
    record = logging.LogRecord("triage", logging.WARNING, __file__, 1, "%s", (message,), None)
    line = logs.formatter(fmt).format(record)
    assert len(line.splitlines()) == 1, line
    assert not any(ch in line for ch in "\n\r\x00\x85\u2028\x1b")
    if fmt == "json":
        assert json.loads(line)["message"] == message  # escaped, not lost


def test_a_traceback_in_text_is_one_line_too():
    try:
        raise ValueError("boom\nFORGED")
    except ValueError:
        import sys

        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    assert len(logs.formatter("text").format(record).splitlines()) == 1
    assert len(logs.formatter("json").format(record).splitlines()) == 1


def _raw_get(port: int, path: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
        )
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_an_encoded_newline_in_a_url_leaves_one_line_in_the_server_log(app, fmt):
    """Flask's development server (werkzeug) logs each request line through triage's handler."""
    stream = io.StringIO()
    logs.configure("INFO", fmt, stream)
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        answers = [
            _raw_get(server.port, "/login%0a" + FORGED.replace(" ", "%20")),
            _raw_get(server.port, "/login%0d%0a" + FORGED.replace(" ", "%20") + "%00"),
            _raw_get(server.port, "/cases/%00%1b%5b2K"),
        ]
    finally:
        server.shutdown()
        thread.join(10)
        logs.configure("INFO", "json")
    for answer in answers:
        status = int(answer.split(b" ", 2)[1])
        assert status in (302, 400, 404), answer[:200]
    lines = stream.getvalue().splitlines()
    assert not any(line.startswith(FORGED) for line in lines), lines
    forged = [line for line in lines if "FORGED" in line]
    # werkzeug's request line and triage's own line for each of the two requests that said it.
    assert 2 <= len(forged) <= 4, lines
    if fmt == "json":
        for line in lines:
            json.loads(line)


# -- numbers beyond 64 bits ---------------------------------------------------------------------

HUGE = ["99999999999999999999999", str(2**63), str(2**64 + 1), "-1", "1e9", "%00", "%0a", "١٢"]


def test_a_huge_or_malformed_id_in_a_path_is_404(app, accounts):
    admin = signed_in(app, accounts[Role.ADMIN])
    reviewer = signed_in(app, accounts[Role.REVIEWER])
    for value in HUGE:
        for path in (f"/admin/users/{value}", f"/admin/api-clients/{value}/revoke"):
            response = admin.get(path)
            assert response.status_code == 404, (path, response.status_code)
        assert reviewer.get(f"/cases/{value}").status_code == 404, value


def test_a_huge_or_malformed_paging_value_shows_the_first_page(app, accounts):
    auditor = signed_in(app, accounts[Role.AUDITOR])
    reviewer = signed_in(app, accounts[Role.REVIEWER])
    for value in (v for v in HUGE if v != "%00"):
        assert auditor.get(f"/audit/?before={value}").status_code == 200, value
        assert auditor.get(f"/audit/cases/C-0000-0000?page={value}").status_code in (200, 404)
        assert reviewer.get(f"/cases/?page={value}").status_code == 200, value
        assert reviewer.get(f"/screened/?page={value}").status_code in (200, 403), value


def test_a_nul_in_a_query_or_a_form_is_refused_before_any_view(app, accounts):
    """PostgreSQL refuses NUL in text: without this check it was a 500 wherever it reached SQL."""
    auditor = signed_in(app, accounts[Role.AUDITOR])
    assert auditor.get("/audit/?actor=%00").status_code == 400
    assert auditor.get("/audit/?actor=ok").status_code == 200
    client = app.test_client()
    token = AuthActions(client).csrf_token()
    refused = client.post(
        "/login", data={"csrf_token": token, "username": "a\x00b", "password": "x"}
    )
    assert refused.status_code == 400
    assert "Traceback" not in refused.get_data(as_text=True)
