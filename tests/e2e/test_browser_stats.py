"""The statistics page in a real browser under the app's real Content-Security-Policy: a
supervisor of the demo instance opens it from the menu; every chart is drawn (an ``<img>`` of
server-made SVG, no script, nothing loaded from elsewhere) without a single CSP complaint in the
console; each language fits a 1024-pixel screen; a table's CSV downloads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Instance, Server
from triage import stats

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Chromium not installed: run scripts/install-browser"
)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright not installed: pip install -e '.[test]'"
)

from tests.e2e.test_browser_auditor import CHROMIUM_ARGS  # noqa: E402

WIDTH = 1024


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_the_statistics_draw_under_the_csp_in_every_language(
    chromium: Any, server: Server, instance: Instance, tmp_path: Path
) -> None:
    context = chromium.new_context(
        base_url=server.base_url, viewport={"width": WIDTH, "height": 768}, accept_downloads=True
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    complaints: list[str] = []
    tab.on(
        "console", lambda m: complaints.append(m.text) if m.type in ("error", "warning") else None
    )
    tab.on("pageerror", lambda error: complaints.append(str(error)))
    outside: list[str] = []
    tab.on(
        "request",
        lambda r: None if r.url.startswith((server.base_url, "data:")) else outside.append(r.url),
    )
    try:
        tab.goto("/login")
        tab.get_by_label("Username").fill("supervisor")
        tab.get_by_label("Password").fill(instance.credentials["supervisor"])
        tab.get_by_role("button", name="Sign in").click()
        tab.get_by_role("navigation").get_by_role("link", name="Statistics").click()
        sync_api.expect(tab.get_by_role("heading", name="Statistics", exact=True)).to_be_visible()
        for locale in ("ru", "kk", "en"):
            tab.locator(f"footer button[value={locale}]").click()
            sync_api.expect(tab.locator("html")).to_have_attribute("lang", locale)
            tab.wait_for_load_state()
            charts = tab.locator("figure.chart img")
            sync_api.expect(charts).to_have_count(len(stats.TABLES))
            drawn = tab.evaluate(
                "[...document.querySelectorAll('figure.chart img')]"
                ".map(i => i.complete && i.naturalWidth > 0)"
            )
            assert drawn == [True] * len(stats.TABLES), locale
            width = tab.evaluate("document.documentElement.scrollWidth")
            assert width <= WIDTH, f"the page is {width} px wide in {locale}"
        with tab.expect_download() as download:
            tab.locator(f"#{stats.REPORTS_BY_WEEK} a[download]").click()
        saved = tmp_path / "weeks.csv"
        download.value.save_as(saved)
        assert saved.read_bytes().startswith("\ufeff".encode())
        assert "total" in saved.read_text(encoding="utf-8-sig")
    finally:
        context.close()
    assert complaints == []
    assert outside == []
