"""The public way in, in a real browser against a real server, in Russian.

A neighbour files a public report with a photo whose EXIF holds a GPS position, and gets a
receipt; no cookie is set. The demo reviewer finds the case under the queue's public filter,
claims it, downloads the photo (its location is gone) and replies from the case page. The
neighbour comes back with the receipt, reads the reply and adds a line, which the reviewer then
sees on the case's timeline. The quick exit then leaves no page of triage in the tab's history:
Back lands on the page she came from. The raw SQLite file and its WAL hold neither the receipt
nor the report's words. Last, 50 rapid submissions from one address are limited, and none of
the limited ones is stored.

The instance is ``tests/e2e/conftest.py``'s (``triage init``, ``triage demo``); the server is
started here with the quick exit pointed at a neutral address the browser answers itself, so no
request leaves the machine.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import (
    TRIAGE,
    Instance,
    Server,
    _stop,
    _wait_until_ready,
    free_port,
    instance_env,
)
from tests.integration.public_helpers import EXIF_MARKER, gps_of, photo_with_gps

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Chromium not installed: run scripts/install-browser"
)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright not installed: pip install -e '.[test]'"
)

from tests.e2e.test_browser_auditor import CHROMIUM_ARGS  # noqa: E402

EXIT_URL = "https://weather.example/"
START_URL = "https://start.example/"
NEUTRAL = "<!doctype html><title>Weather</title><p>Sunny, 21°C</p>"

NARRATIVE = "Браузерный тест: сосед кричал, что убьёт жену, она плакала за стеной."
VICTIM = "Мадина Браузерная"
REPLY = "Браузерный тест: вы сейчас в безопасности? Можно написать вам SMS?"
ADDED = "Браузерный тест: да, SMS можно, после шести вечера."


@pytest.fixture(scope="module")
def public_server(instance: Instance) -> Iterator[Server]:
    port = free_port()
    log = instance.path / "public-server.log"
    env = {
        **instance_env(instance.path),
        "TRIAGE_PUBLIC_EXIT_URL": EXIT_URL,
        "TRIAGE_PUBLIC_MIN_SECONDS": "1",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [TRIAGE, "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_ready(process, base_url + "/login", log)
        yield Server(base_url, log)
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _neutral(route: Any) -> None:
    route.fulfill(status=200, content_type="text/html; charset=utf-8", body=NEUTRAL)


def _public_tab(chromium: Any, server: Server) -> tuple[Any, Any, list[str]]:
    context = chromium.new_context(
        base_url=server.base_url, locale="ru-RU", viewport={"width": 1100, "height": 900}
    )
    context.set_default_timeout(15_000)
    context.route(EXIT_URL + "**", _neutral)
    context.route(START_URL + "**", _neutral)
    outside: list[str] = []

    def seen(request: Any) -> None:
        if not request.url.startswith((server.base_url, EXIT_URL, START_URL, "data:")):
            outside.append(request.url)

    context.on("request", seen)
    return context, context.new_page(), outside


def _sign_in(chromium: Any, server: Server, instance: Instance, username: str) -> Any:
    context = chromium.new_context(base_url=server.base_url, accept_downloads=True)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    tab.goto("/login")
    tab.get_by_label("Username").fill(username)
    tab.get_by_label("Password").fill(instance.credentials[username])
    tab.get_by_role("button", name="Sign in").click()
    sync_api.expect(tab.get_by_role("heading", name=f"Welcome, {username}")).to_be_visible()
    return tab


def _database_bytes(instance: Instance) -> bytes:
    path = instance.path / "triage.sqlite3"
    return b"".join(
        p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists()
    )


def _public_reports(instance: Instance) -> int:
    with sqlite3.connect(f"file:{instance.path / 'triage.sqlite3'}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT count(*) FROM report WHERE public").fetchone()[0])


def test_a_public_report_in_russian_from_photo_to_reply_and_quick_exit(
    chromium: Any, public_server: Server, instance: Instance, tmp_path: Path
) -> None:
    context, tab, outside = _public_tab(chromium, public_server)
    try:
        # 1. She comes from somewhere else, opens the form in Russian and files her report.
        tab.goto(START_URL)
        tab.goto("/report?lang=ru")
        assert tab.title() == "Информация"
        entries = tab.evaluate("history.length")  # the blank tab, the start page, this one
        sync_api.expect(tab.locator("#emergency")).to_contain_text("102")
        tab.get_by_label("Кто вы?").select_option("neighbour")
        tab.get_by_label("Кому грозит опасность: имя (если знаете)").fill(VICTIM)
        tab.get_by_label("Кем этот человек приходится пострадавшему (пострадавшей)").select_option(
            "spouse"
        )
        tab.get_by_label("Регион").select_option("karaganda")
        tab.get_by_label("Город, посёлок или село").fill("Караганда")
        tab.locator("input[name=categories][value=threat]").check()
        tab.get_by_label("Расскажите, что произошло").fill(NARRATIVE)
        tab.get_by_label("Фото или снимки экрана (по желанию)").set_input_files(
            {"name": "IMG_2211.jpg", "mimeType": "image/jpeg", "buffer": photo_with_gps()}
        )
        tab.wait_for_timeout(1200)  # a person takes longer than the time check's second
        tab.get_by_role("button", name="Отправить сообщение").click()
        sync_api.expect(tab.get_by_role("heading", name="Ваше сообщение получено")).to_be_visible()
        receipt = tab.locator("#receipt").inner_text().strip()
        assert re.fullmatch(r"([0-9A-Z]{4}-){8}[0-9A-Z]{4}", receipt), receipt
        assert context.cookies() == []

        # 2. The reviewer finds it under the public filter, claims it, checks the photo, replies.
        staff = _sign_in(chromium, public_server, instance, "reviewer")
        try:
            staff.goto("/cases/?public=only")
            row = staff.locator("table.queue tbody tr").filter(has_text="public report")
            sync_api.expect(row).to_have_count(1)
            row.get_by_role("link").first.click()
            staff.get_by_role("button", name="Claim this case").click()
            with staff.expect_download() as download:
                staff.locator("#timeline a[href*='/reports/attachments/']").first.click()
            photo = Path(download.value.path()).read_bytes()
            assert photo[:2] == b"\xff\xd8", "the photo is a JPEG still"
            assert gps_of(photo) == {}, "the photo came back with its location"
            assert EXIF_MARKER.encode() not in photo
            staff.get_by_label("Reply to the reporter").fill(REPLY)
            staff.get_by_role("button", name="Send the reply").click()
            sync_api.expect(staff.locator("#timeline")).to_contain_text(REPLY)
            case_url = staff.url

            # 3. She comes back with the receipt, reads the reply and adds a line.
            tab.get_by_role("link", name="Прочесть ответы или добавить сведения").click()
            tab.get_by_label("Ваша квитанция").fill(receipt.lower())
            tab.get_by_role("button", name="Открыть").click()
            sync_api.expect(tab.locator("#messages")).to_contain_text(REPLY)
            tab.get_by_label("Что вы хотите добавить").fill(ADDED)
            tab.get_by_role("button", name="Добавить").click()
            sync_api.expect(tab.locator("#added")).to_be_visible()
            sync_api.expect(tab.locator("#messages")).to_contain_text(ADDED)
            assert context.cookies() == []

            staff.goto(case_url.split("#", 1)[0])
            sync_api.expect(staff.locator("#timeline")).to_contain_text(ADDED)
        finally:
            staff.context.close()

        # 4. The quick exit: the whole visit was one history entry, and it is replaced.
        tab.get_by_role("link", name="Быстрый выход").click()
        tab.wait_for_url(EXIT_URL)
        assert tab.evaluate("history.length") == entries  # no page of the visit was added
        tab.go_back()
        tab.wait_for_url(START_URL)
        assert public_server.base_url not in tab.url
        tab.go_forward()
        tab.wait_for_url(EXIT_URL)
        assert outside == [], f"requests left for other sites: {outside}"

        # Esc twice does the same from a fresh visit.
        tab.goto("/report/follow-up?lang=ru")
        tab.keyboard.press("Escape")
        tab.keyboard.press("Escape")
        tab.wait_for_url(EXIT_URL)
        tab.go_back()
        assert public_server.base_url not in tab.url
    finally:
        context.close()

    # 5. Neither the receipt nor her words are in the database's bytes.
    raw = _database_bytes(instance)
    for secret in (receipt, receipt.replace("-", ""), NARRATIVE, VICTIM, REPLY, ADDED):
        assert secret.encode() not in raw, secret


def test_fifty_rapid_submissions_from_one_address_are_limited_and_none_limited_is_stored(
    public_server: Server, instance: Instance
) -> None:
    base = public_server.base_url
    tokens = []
    for _ in range(50):
        with urllib.request.urlopen(f"{base}/report?lang=ru", timeout=10) as response:  # noqa: S310
            page = response.read().decode()
            assert "Set-Cookie" not in response.headers
        match = re.search(r'name="token" type="hidden" value="([^"]+)"', page)
        assert match
        tokens.append(match.group(1))
    time.sleep(1.2)  # past the time check
    before = _public_reports(instance)
    statuses = []
    for token in tokens:
        body = urllib.parse.urlencode(
            [
                ("token", token),
                ("lang", "ru"),
                ("reporter", "witness"),
                ("victim_name", "Поток Тестовая"),
                ("relationship", "spouse"),
                ("region", "karaganda"),
                ("city", "Караганда"),
                ("categories", "battery"),
                ("narrative", "Поток: проверка ограничения частоты."),
            ]
        ).encode()
        request = urllib.request.Request(f"{base}/report", data=body, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                statuses.append(response.status)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
    accepted = statuses.count(200)
    assert statuses.count(429) == 50 - accepted, statuses
    assert 1 <= accepted <= 5, statuses  # the address's limit is 5 a minute
    assert _public_reports(instance) - before == accepted
