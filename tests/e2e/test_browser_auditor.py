"""An auditor's work in a real browser: Chromium, driven by Playwright, against ``triage serve``.

The instance is made as an operator makes it (``triage init``, ``triage demo``), the server runs
as a subprocess, and the auditor signs in through the form, reads and filters the log, verifies
the chain, downloads the public key and a signed export, checks that export offline with
``triage audit verify-export`` and again through the page, and sees a tampered copy refused.
Throughout, no page may show a person's data: the demo's direct report names a victim and an
aggressor, and its media and online reports carry the articles' text.

Playwright drives Debian's Chromium (``scripts/install-browser``), never a browser of its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TRIAGE = str(Path(sys.executable).with_name("triage"))
READY_TIMEOUT_S = 20
COMMAND_TIMEOUT_S = 60
SCREENSHOT = Path("/tmp/triage-audit.png")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Chromium not installed: run scripts/install-browser"
)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright not installed: pip install -e '.[test]'"
)

DEMO_LINE = re.compile(
    r"^  (\S+) +(\S+)  (caseworker|reviewer|supervisor|auditor|admin)(?:  region \S+)?$", re.M
)


def _article_excerpts() -> list[str]:
    """Headline and first line of each article the demo files as a media or online report."""
    excerpts = []
    for name in ("en-incident.txt", "ru-incident.txt"):
        text = resources.files("triage").joinpath("demo_data", name).read_text(encoding="utf-8")
        headline, _, body = text.partition("\n\n")
        excerpts += [headline.strip(), body.strip().splitlines()[0]]
    return excerpts


#: What the demo reports hold about people (triage/demo.py); an auditor must never see any of it.
PERSONAL_DATA = [
    "Aigerim Demo-Nurlanova",
    "Timur Demo-Nurlanov",
    "Aigerim",
    "Demo-Nurlanov",
    "+7 701 555 0101",
    "555 0101",
    "1991-04-12",
    "@sosedka_shym",
    "Invented demo story",
    "text message only, after 18:00",
    *_article_excerpts(),
]


# -- a real instance and server ----------------------------------------------------------------


def _env(instance: Path) -> dict[str, str]:
    """The caller's environment without any ``TRIAGE_*`` setting, pointed at ``instance``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env["TRIAGE_INSTANCE_PATH"] = str(instance)
    return env


def _triage(
    instance: Path, *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TRIAGE, *args],
        env=_env(instance),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class LiveServer:
    instance: Path
    base_url: str
    log: Path
    #: username -> password, as ``triage demo`` printed them.
    passwords: dict[str, str]


def _wait_for(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"triage serve exited with {process.returncode}:\n{log.read_text()}")
        with (
            contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError),
            urllib.request.urlopen(url, timeout=2) as response,  # noqa: S310 (our server)
        ):
            if response.status == 200:
                return
        time.sleep(0.2)
    pytest.fail(f"triage serve did not answer within {READY_TIMEOUT_S} s:\n{log.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the server's process group (gunicorn's arbiter and its workers), gently first."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):  # and any worker that outlived the arbiter
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    instance = tmp_path_factory.mktemp("instance")
    init = _triage(instance, "init")
    assert init.returncode == 0, init.stderr
    demo = _triage(instance, "demo")
    assert demo.returncode == 0, demo.stderr
    passwords = {user: password for user, password, _role in DEMO_LINE.findall(demo.stdout)}
    assert "auditor" in passwords, demo.stdout

    port, log = _free_port(), instance / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [TRIAGE, "serve", "--port", str(port), "--workers", "2"],
            env=_env(instance),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so that _stop ends the workers too
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_for(process, base_url + "/login", log)
        yield LiveServer(instance, base_url, log, passwords)
    finally:
        _stop(process)


# -- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Seen:
    """Every page the auditor was shown, as the browser had it, and what went wrong on the way."""

    pages: dict[str, list[str]] = field(default_factory=dict)
    navigations: list[str] = field(default_factory=list)
    statuses: list[tuple[int, str]] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def keep(self, page: Any) -> str:
        html: str = page.content()
        self.pages.setdefault(page.url, []).append(html)
        return html


def _is_error(message: Any) -> bool:
    """A console error other than a failed load, which the response statuses already show."""
    return message.type == "error" and not message.text.startswith("Failed to load resource")


@pytest.fixture
def page(chromium: Any, live_server: LiveServer) -> Iterator[tuple[Any, Seen]]:
    context = chromium.new_context(
        base_url=live_server.base_url,
        accept_downloads=True,
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(10_000)
    tab, seen = context.new_page(), Seen()
    tab.on(
        "framenavigated",
        lambda frame: seen.navigations.append(frame.url) if frame == tab.main_frame else None,
    )
    tab.on("response", lambda response: seen.statuses.append((response.status, response.url)))
    tab.on(
        "console",
        lambda message: seen.console_errors.append(message.text) if _is_error(message) else None,
    )
    tab.on("pageerror", lambda error: seen.console_errors.append(str(error)))
    yield tab, seen
    context.close()


# -- the auditor's work ------------------------------------------------------------------------


def _events(tab: Any) -> list[list[str]]:
    """The events table as rows of cell texts."""
    rows: list[list[str]] = tab.locator("#events tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells, c => c.innerText.trim()))"
    )
    return rows


def _tampered(original: Path, folder: Path) -> Path:
    """A copy of a JSON Lines export in which one sign-in was made to look like a sign-out."""
    lines = original.read_text(encoding="utf-8").splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if '"action":"auth.login"' in line)
    event = json.loads(lines[index])
    event["action"] = "auth.logout"
    lines[index] = json.dumps(event, separators=(",", ":"), ensure_ascii=False) + "\n"
    folder.mkdir()
    copy = folder / original.name
    copy.write_text("".join(lines), encoding="utf-8")
    return copy


def test_an_auditor_reads_verifies_exports_and_checks_the_log(
    page: tuple[Any, Seen], live_server: LiveServer, tmp_path: Path
) -> None:
    tab, seen = page
    expect = sync_api.expect

    # Sign in through the form.
    tab.goto("/login")
    seen.keep(tab)
    tab.get_by_label("Username").fill("auditor")
    tab.get_by_label("Password").fill(live_server.passwords["auditor"])
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_role("heading", name="Welcome, auditor")).to_be_visible()
    seen.keep(tab)

    # The audit log, from the navigation: ids and actions, newest first.
    tab.get_by_role("navigation").get_by_role("link", name="Audit log").click()
    expect(tab.get_by_role("heading", name="Audit log", exact=True)).to_be_visible()
    seen.keep(tab)
    rows = _events(tab)
    assert len(rows) > 5, rows
    seqs = [int(row[0]) for row in rows]
    assert seqs == sorted(seqs, reverse=True)
    actions = {row[3] for row in rows}
    assert {"instance.initialised", "user.created", "report.filed", "auth.login"} <= actions
    assert all(re.fullmatch(r"[a-z][a-z0-9_.]+", action) for action in actions), actions
    tab.screenshot(path=str(SCREENSHOT), full_page=True)

    # Filter by action: only sign-ins remain (the auditor's own, at least).
    filters = tab.locator("details.panel")
    filters.get_by_label("Action").select_option("auth.login")
    filters.get_by_role("button", name="Apply").click()
    expect(tab).to_have_url(re.compile(r"action=auth\.login"))
    seen.keep(tab)
    filtered = _events(tab)
    assert filtered, "no auth.login rows after filtering"
    assert {row[3] for row in filtered} == {"auth.login"}, filtered
    assert any("Auditor" in row[2] for row in filtered), filtered

    # Verify the chain.
    tab.get_by_role("button", name="Verify chain").click()
    verdict = tab.locator("#verdict")
    expect(verdict).to_contain_text("OK:")
    expect(verdict).to_contain_text("the chain is intact")
    seen.keep(tab)
    tab.get_by_role("link", name="Back to the audit log").click()
    expect(tab.get_by_role("heading", name="Audit log", exact=True)).to_be_visible()
    seen.keep(tab)

    # Download the public key, then export everything as JSON Lines.
    with tab.expect_download() as key_download:
        tab.get_by_role("link", name="Download public key").click()
    key = tmp_path / "key.pem"
    key_download.value.save_as(key)
    assert key.read_text().startswith("-----BEGIN PUBLIC KEY-----")

    tab.locator("#export-tools > summary").click()  # the export tools are folded away
    export = tab.locator("#export")
    export.get_by_label("Format").select_option(label="JSON Lines")
    with tab.expect_download() as zip_download:
        export.get_by_role("button", name="Export").click()
    assert re.fullmatch(r"triage-audit-1-\d+\.zip", zip_download.value.suggested_filename)
    archive = tmp_path / zip_download.value.suggested_filename
    zip_download.value.save_as(archive)
    with zipfile.ZipFile(archive) as unzipped:
        assert sorted(unzipped.namelist()) == ["events.jsonl", "manifest.json"]
        unzipped.extractall(tmp_path / "export")
    events, manifest = tmp_path / "export" / "events.jsonl", tmp_path / "export" / "manifest.json"

    # Offline, as the auditor would on their own machine.
    offline = _triage(
        live_server.instance,
        *("audit", "verify-export", "events.jsonl", "--manifest", "manifest.json"),
        *("--public-key", str(key)),
        cwd=events.parent,
    )
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert offline.stdout.startswith("OK"), offline.stdout

    # And through the page: the export is valid, a tampered copy is refused.
    check = tab.locator("#check-export")
    check.get_by_label("Export file").set_input_files(events)
    check.get_by_label("Its manifest").set_input_files(manifest)
    check.get_by_role("button", name="Check").click()
    expect(tab.locator("#verdict")).to_contain_text("Valid:")
    seen.keep(tab)

    tab.goto("/audit/")
    seen.keep(tab)
    tab.locator("#export-tools > summary").click()
    check.get_by_label("Export file").set_input_files(_tampered(events, tmp_path / "tampered"))
    check.get_by_label("Its manifest").set_input_files(manifest)
    check.get_by_role("button", name="Check").click()
    refused = tab.locator("#verdict")
    expect(refused).to_contain_text("Refused:")
    expect(refused.locator("li")).not_to_have_count(0)
    seen.keep(tab)

    # Nothing the auditor saw, or took away, holds a person's data.
    assert set(seen.navigations) <= set(seen.pages), "a page was shown but not kept"
    shown = {
        (url, needle)
        for url, versions in seen.pages.items()
        for html in versions
        for needle in PERSONAL_DATA
        if needle in html
    }
    assert not shown, f"personal data on the auditor's pages: {sorted(shown)}"
    exported = events.read_text(encoding="utf-8")
    assert not [needle for needle in PERSONAL_DATA if needle in exported]

    # Every request answered as expected (the tampered export's 422, and no favicon is served),
    # and the browser reported no error: a CSP violation would be one.
    refusal = (422, f"{live_server.base_url}/audit/verify-export")
    no_icon = (404, f"{live_server.base_url}/favicon.ico")
    assert refusal in seen.statuses
    unexpected = [r for r in seen.statuses if r[0] >= 400 and r not in (refusal, no_icon)]
    assert not unexpected, f"{unexpected}\n{live_server.log.read_text()}"
    assert not seen.console_errors, seen.console_errors
