"""The screened-out items in a real browser on a 1024-pixel screen: the demo feed and a feed
with a review-band item imported by `triage import-feed`, a supervisor (no region scope) sees the
review-band badge in the queue, reads the list, a sample and one item, promotes it, and lands on
its case; each page, in English, Russian and Kazakh, fits the screen without scrolling
sideways."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Instance, Server, run_triage
from tests.integration.test_screened import pick, write_feed
from triage import screening

CHROMIUM = Path("/usr/bin/chromium")
FEED = Path(__file__).resolve().parents[2] / "triage" / "demo_data" / "feed.xml"

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


def _choose(tab: Any, locale: str) -> None:
    """Switch the interface language in the footer, and wait for the page in it."""
    tab.locator(f"footer button[value={locale}]").click()
    sync_api.expect(tab.locator("html")).to_have_attribute("lang", locale)
    tab.wait_for_load_state()


def _fits(tab: Any) -> None:
    width = tab.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"{tab.url} is {width} px wide"


def test_the_screened_pages_fit_a_1024_pixel_screen(
    chromium: Any, server: Server, instance: Instance, tmp_path: Path
) -> None:
    imported = run_triage(instance.path, "import-feed", str(FEED))
    assert imported.returncode == 0, imported.stderr
    assert "3 screened out" in imported.stdout
    borderline = write_feed(tmp_path / "feed.xml", [pick(screening.REVIEW)])
    imported = run_triage(instance.path, "import-feed", str(borderline))
    assert "1 imported on the review band" in imported.stdout, imported.stdout

    context = chromium.new_context(
        base_url=server.base_url, viewport={"width": WIDTH, "height": 768}
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    try:
        tab.goto("/login")
        tab.get_by_label("Username").fill("supervisor")
        tab.get_by_label("Password").fill(instance.credentials["supervisor"])
        tab.get_by_role("button", name="Sign in").click()
        sync_api.expect(tab.get_by_role("heading", name="Welcome, supervisor")).to_be_visible()

        tab.get_by_role("navigation").get_by_role("link", name="Queue").click()
        badge = tab.locator("table.queue .badge.review-band")
        sync_api.expect(badge).to_have_count(1)
        for locale in ("ru", "kk", "en"):
            _choose(tab, locale)
            _fits(tab)
        badge.locator("xpath=ancestor::tr").get_by_role("link").first.click()
        sync_api.expect(tab.locator(".case-head .badge.review-band")).to_be_visible()
        _fits(tab)

        tab.get_by_role("navigation").get_by_role("link", name="Screened out").click()
        sync_api.expect(tab.get_by_role("heading", name="Screened-out feed items")).to_be_visible()
        for locale in ("ru", "kk", "en"):
            _choose(tab, locale)
            _fits(tab)
        tab.get_by_role("link", name="Open a random sample of 5").click()
        sync_api.expect(tab.locator("main section.card")).to_have_count(3)
        _fits(tab)
        tab.locator("main section.card h2 a").first.click()
        sync_api.expect(tab.get_by_role("button", name="Promote to a report")).to_be_visible()
        for locale in ("ru", "kk", "en"):
            _choose(tab, locale)
            _fits(tab)
        tab.get_by_role("button", name="Promote to a report").click()
        sync_api.expect(tab.locator("main > .alert[role=status]")).to_contain_text("Promoted")
        sync_api.expect(tab.locator("#timeline")).to_contain_text("promoted from the screened")
        _fits(tab)
        tab.goto("/screened/")
        _fits(tab)
    finally:
        context.close()
