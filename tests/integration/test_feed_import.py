"""Feed import and the screen command, as an operator runs them: the sample feed imports its
candidates once, however often it runs, from a file or over HTTP; bad feeds fail clearly."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from triage import audit, sealed
from triage.cli import main
from triage.config import Settings
from triage.models import Report
from triage.web.deps import uow_of

DATA = Path(__file__).resolve().parents[2] / "triage" / "demo_data"
FEED = DATA / "feed.xml"


def _env(settings: Settings) -> dict[str, str]:
    return {
        "TRIAGE_INSTANCE_PATH": str(settings.instance_path),
        "TRIAGE_DATABASE_URL": settings.database_url,
        "TRIAGE_KEYRING_PATH": settings.keyring_path,
    }


def _reports(app: Flask) -> list[Report]:
    with app.app_context(), uow_of(app).read() as session:
        return list(session.scalars(select(Report).order_by(Report.received_at)))


def test_the_sample_feed_imports_once(app: Flask, settings: Settings) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["import-feed", str(FEED)], env=_env(settings))
    assert first.exit_code == 0, first.output
    assert (
        "6 items: 3 imported, 0 imported on the review band, "
        "3 screened out (kept for reviewers), 0 already seen, 0 failed."
    ) in first.output
    second = runner.invoke(main, ["import-feed", str(FEED)], env=_env(settings))
    assert second.exit_code == 0, second.output
    assert "0 imported, 0 imported on the review band, 0 screened out" in second.output
    assert "6 already seen" in second.output

    reports = _reports(app)
    assert len(reports) == 3
    assert {r.source_kind for r in reports} == {"media"}
    assert {r.verification for r in reports} == {"unverified"}
    assert all({"violence", "family"} <= set(r.signals) for r in reports)
    with app.app_context(), uow_of(app).begin() as session:
        payloads = [
            sealed.open_payload(session, r, actor="system", purpose="test") for r in reports
        ]
        events = [e for e in audit.iter_events(session) if e["action"] == "feed.imported"]
    urls = sorted(p["url"] for p in payloads)
    assert urls == sorted(
        f"https://news.example.kz/2026/11/0{n}/{k}-incident"
        for n, k in ((1, "en"), (2, "ru"), (3, "kk"))
    )
    assert {p["outlet"] for p in payloads} == {"Example regional news"}
    assert all("<" not in p["text"] for p in payloads)
    assert [e["details"]["imported"] for e in events] == [3, 0]
    assert [e["details"]["screened_out"] for e in events] == [3, 0]
    assert [e["details"]["already_seen"] for e in events] == [0, 6]


@pytest.fixture
def served_feed() -> Iterator[str]:
    body = FEED.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    server.shutdown()
    server.server_close()


def test_a_feed_is_fetched_over_http(app: Flask, settings: Settings, served_feed: str) -> None:
    result = CliRunner().invoke(main, ["import-feed", served_feed], env=_env(settings))
    assert result.exit_code == 0, result.output
    assert "3 imported" in result.output
    assert len(_reports(app)) == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read"), (b"this is not xml at all <<<", "not an RSS or Atom feed")],
)
def test_a_bad_feed_fails_clearly(
    app: Flask, settings: Settings, tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "feed.xml"
    if content is not None:
        path.write_bytes(content)
    result = CliRunner().invoke(main, ["import-feed", str(path)], env=_env(settings))
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert _reports(app) == []


def test_an_item_with_a_bad_link_is_counted_as_failed(
    app: Flask, settings: Settings, tmp_path: Path
) -> None:
    feed = FEED.read_text(encoding="utf-8").replace(
        "<link>https://news.example.kz/2026/11/01/en-incident</link>",
        "<link>javascript:alert(1)</link>",
    )
    path = tmp_path / "feed.xml"
    path.write_text(feed, encoding="utf-8")
    result = CliRunner().invoke(main, ["import-feed", str(path)], env=_env(settings))
    assert result.exit_code == 1
    assert "2 imported" in result.output and "1 failed" in result.output
    assert "item 1: url not valid" in result.output
    assert len(_reports(app)) == 2


@pytest.mark.parametrize(
    ("name", "candidate"),
    [
        (f"{lang}-{kind}.txt", kind == "incident")
        for lang in ("en", "ru", "kk")
        for kind in ("incident", "unrelated")
    ],
)
def test_screen_reads_stdin_and_prints_json(name: str, candidate: bool) -> None:
    result = CliRunner().invoke(main, ["screen"], input=(DATA / name).read_text(encoding="utf-8"))
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.output)
    assert verdict["candidate"] is candidate
    assert verdict["verdict"] == ("candidate" if candidate else "not_candidate")
    assert 0.0 <= verdict["probability"] <= 1.0
    assert verdict["language"] == name[:2]
    assert isinstance(verdict["score"], float)
    assert all({"kind", "term", "start", "end"} <= set(s) for s in verdict["signals"])
    # One verdict: a text that is not a candidate has no provisional level.
    expected = {"standard", "medium", "high"} if candidate else {None}
    assert verdict["provisional_level"] in expected
