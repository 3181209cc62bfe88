"""A reviewer's, a supervisor's and an auditor's working day on a tablet: Chromium at 1024 × 768,
in English, Russian and Kazakh, against ``triage serve`` on an instance with the demo at small
scale (``triage demo --reports``: a queue with overdue cases, proposals waiting for approval,
measures to follow up, an audit log of several pages).

On every page of their journeys — home, queue, a case, the forms that propose a measure, assess,
verify and note, approvals, the audit log, an audited case's view, the statistics, their
account and its *Your sessions* page (with another browser signed in, one of them ended), a page
their role may not open — nothing scrolls sideways and axe-core (the engine the
PyPI package axe-playwright-python ships) finds no serious or critical violation. Each form page
is also sent empty: its error summary then has the focus and links every message to its field.
And one long form, the direct report, is filled and sent with the keyboard alone.

Playwright drives Debian's Chromium (``scripts/install-browser``), as the other browser tests do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Instance, Server, run_triage, serving

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Chromium not installed: run scripts/install-browser"
)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright not installed: pip install -e '.[test]'"
)
axe_package = pytest.importorskip(
    "axe_playwright_python", reason="axe-playwright-python not installed: pip install -e '.[test]'"
)

from tests.e2e.test_browser_auditor import CHROMIUM_ARGS  # noqa: E402

WIDTH, HEIGHT = 1024, 768
LANGUAGES = ("en", "ru", "kk")
#: What fails a page: axe's two highest impacts.
BLOCKING = {"serious", "critical"}
#: Synthetic reports on top of the demo's own: enough for every kind of row the pages show.
REPORTS = "60"

AXE = resources.files(axe_package).joinpath("axe.min.js").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Instance:
    """This module's own instance (``tests/e2e/conftest.py``'s server serves it): the demo at
    small scale, so that the queue, approvals and the audit log have rows of every kind."""
    path = tmp_path_factory.mktemp("instance")
    init = run_triage(path, "init")
    assert init.returncode == 0, init.stderr
    demo = run_triage(path, "demo", "--reports", REPORTS)
    assert demo.returncode == 0, demo.stderr
    account = re.compile(r"^\s+(\S+)\s+(\S+)\s+(?:caseworker|reviewer|supervisor|auditor)\b", re.M)
    credentials = dict(account.findall(demo.stdout))
    assert {"caseworker", "reviewer", "supervisor", "auditor"} <= set(credentials), demo.stdout
    return Instance(path, credentials)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(instance: Instance) -> Iterator[Server]:
    """The walk signs every demo account in from two browsers in each language, all from this
    one address: more than the sign-in limit lets an address try in a minute, which is not what
    the walk is about (tests/e2e/test_shared_limits.py is)."""
    with serving(instance, {"TRIAGE_LOGIN_RATE_LIMIT": "1000 per minute"}) as found:
        yield found


# -- one person's browser ----------------------------------------------------------------------


@dataclass
class Desk:
    """A signed-in tab at 1024 × 768 in one language, and every problem its pages showed."""

    tab: Any
    language: str
    problems: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    #: Signs the same account in from another browser; returns that browser's context.
    elsewhere: Callable[[], Any] = lambda: None
    #: The account's password, which ending a session asks for again.
    password: str = ""

    def check(self, what: str) -> None:
        """The page as it is now: it fits the screen's width, axe finds nothing blocking."""
        self.checked.append(what)
        where = f"{self.language} {what} ({self.tab.url})"
        # Measured once the page has settled (loaded, its fonts in, two frames drawn): on a busy
        # machine a page caught mid-layout once measured wider than anything on it.
        self.tab.wait_for_load_state("load")
        self.tab.evaluate(_SETTLED)
        width = self.tab.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if width[0] > width[1]:
            wide = self.tab.evaluate(_WIDEST)
            self.problems.append(f"{where}: {width[0]} px wide for {width[1]}: {wide}")
        self.tab.evaluate(AXE)
        found = self.tab.evaluate("axe.run(document, {resultTypes: ['violations']})")
        for violation in found["violations"]:
            if violation["impact"] in BLOCKING:
                nodes = [node["html"][:160] for node in violation["nodes"][:3]]
                rule = f"{violation['id']} ({violation['impact']})"
                self.problems.append(f"{where}: axe {rule} {nodes}")

    def visit(self, what: str, path: str, status: int = 200) -> None:
        response = self.tab.goto(path)
        if response.status != status:
            self.problems.append(f"{self.language} {what}: {path} answered {response.status}")
        self.check(what)

    def send_empty(self, what: str, form: str) -> None:
        """Send the form ``form`` (a selector) as it is: the page comes back with its error
        summary, which has the focus and links each message to a field that is on the page."""
        self.tab.locator(f"{form} [type=submit]").first.click()
        summary = self.tab.locator(".error-summary")
        sync_api.expect(summary.first).to_be_visible()
        self.check(f"{what}, sent empty")
        where = f"{self.language} {what} sent empty"
        focused = self.tab.evaluate("document.activeElement && document.activeElement.id")
        if focused != summary.first.get_attribute("id"):
            self.problems.append(f"{where}: the focus is on {focused!r}, not the error summary")
        for target in summary.first.locator("a").evaluate_all("a => a.map(e => e.hash)"):
            if not self.tab.locator(target).count():
                self.problems.append(f"{where}: the summary links to {target}, not on the page")


#: The elements that stick out furthest on the right, to say what made a page too wide.
_SETTLED = """() => document.fonts.ready.then(() => new Promise(
  done => requestAnimationFrame(() => requestAnimationFrame(done))))"""
_WIDEST = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5 && e.children.length < 2)
  .slice(0, 5)
  .map(e => `${e.tagName.toLowerCase()}.${e.className} ${e.textContent.trim().slice(0, 40)}`)"""


def _signed_in_elsewhere(chromium: Any, server: Server, instance: Instance, who: str) -> Any:
    """Another browser of the same person (her phone, say), signed in; its context."""
    context = chromium.new_context(base_url=server.base_url)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    tab.goto("/login")
    tab.get_by_label("Username").fill(who)
    tab.get_by_label("Password").fill(instance.credentials[who])
    tab.get_by_role("button", name="Sign in").click()
    sync_api.expect(tab.get_by_role("heading", name=f"Welcome, {who}")).to_be_visible()
    return context


def _sign_in(chromium: Any, server: Server, instance: Instance, who: str, language: str) -> Desk:
    context = chromium.new_context(
        base_url=server.base_url, viewport={"width": WIDTH, "height": HEIGHT}
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    desk = Desk(tab, language)
    desk.elsewhere = lambda: _signed_in_elsewhere(chromium, server, instance, who)
    desk.password = instance.credentials[who]
    tab.on(
        "console",
        lambda m: (
            desk.console_errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    tab.on("pageerror", lambda error: desk.console_errors.append(str(error)))
    tab.on(
        "response",
        lambda r: desk.server_errors.append(f"{r.status} {r.url}") if r.status >= 500 else None,
    )
    tab.goto("/login")
    desk.check("sign-in page")
    tab.get_by_label("Username").fill(who)
    tab.get_by_label("Password").fill(instance.credentials[who])
    tab.get_by_role("button", name="Sign in").click()
    sync_api.expect(tab.get_by_role("heading", name=f"Welcome, {who}")).to_be_visible()
    if language != "en":
        tab.locator(f"footer button[value={language}]").click()
        sync_api.expect(tab.locator("html")).to_have_attribute("lang", language)
    return desk


def _first_case(desk: Desk) -> str:
    """The most urgent unverified case of the queue, opened from it."""
    desk.visit("queue", "/cases/")
    desk.visit("queue, unverified cases", "/cases/?state=unverified")
    link = desk.tab.locator("table.queue tbody tr td:first-child > a").first
    code = link.inner_text().strip()
    link.click()
    sync_api.expect(desk.tab.locator(".case-head h1")).to_have_text(code)
    desk.check("case page")
    return code


def _your_sessions(desk: Desk) -> None:
    """*Your sessions* with another browser signed in too (so the page has its form to end a
    session), sent without the password (the error summary), then with it: one ended."""
    other = desk.elsewhere()
    try:
        desk.visit("your sessions", "/account/sessions")
        end = desk.tab.locator("main form select[name=session]")
        if not end.count():
            desk.problems.append(f"{desk.language} your sessions: no other session to end")
            return
        desk.send_empty("your sessions", "main form")  # no password: the summary says so
        desk.tab.locator("main form input[name=password]").fill(desk.password)
        desk.tab.locator("main form button[type=submit]").click()
        sync_api.expect(desk.tab.locator("main > .alert[role=status]")).to_be_visible()
        desk.check("your sessions, one ended")
    finally:
        other.close()


# -- the journeys ------------------------------------------------------------------------------


def _reviewer(desk: Desk) -> None:
    desk.visit("home", "/")
    desk.tab.locator("details.account > summary").click()
    desk.check("home, account menu open")
    code = _first_case(desk)
    desk.visit("queue, filtered", "/cases/?level=high&overdue=y")
    desk.visit("propose a measure", f"/cases/{code}/decide")
    desk.send_empty("propose a measure", "form[action$='/decide']")
    desk.visit("assess", f"/cases/{code}/assess")
    desk.visit("verify", f"/cases/{code}/verify")
    desk.send_empty("verify", "form[action$='/verify']")
    desk.visit("note", f"/cases/{code}/note")
    desk.send_empty("note", "form[action$='/note']")
    desk.visit("screened out", "/screened/")
    desk.visit("password", "/account/password")
    desk.send_empty("password", "main form")
    desk.visit("two-step sign-in", "/account/two-step")
    _your_sessions(desk)
    desk.visit("refused: the audit log", "/audit/", status=403)


def _supervisor(desk: Desk) -> None:
    desk.visit("home", "/")
    code = _first_case(desk)
    desk.visit("approvals", "/cases/approvals")
    desk.visit("propose a measure", f"/cases/{code}/decide")
    desk.send_empty("propose a measure", "form[action$='/decide']")
    desk.visit("statistics", "/stats/")
    desk.visit("password", "/account/password")
    _your_sessions(desk)
    desk.visit("refused: the audit log", "/audit/", status=403)


def _auditor(desk: Desk) -> None:
    desk.visit("home", "/")
    desk.visit("audit log", "/audit/")
    desk.tab.locator("#export-tools > summary").click()
    desk.check("audit log, export tools open")
    desk.tab.locator("#older").click()
    desk.check("audit log, older events")
    desk.visit("audit log, filtered", "/audit/?action=auth.login")
    desk.visit("audit log, a wrong filter", "/audit/?since=yesterday", status=400)
    desk.visit("audit log, one kind of event", "/audit/?object_type=case")
    case_link = desk.tab.locator("a[href*='/audit/cases/']").first
    case_path = case_link.get_attribute("href")
    desk.visit("look a case up", "/audit/cases/")
    desk.send_empty("look a case up", "main form")
    desk.visit("a case as the audit sees it", case_path)
    if desk.tab.locator(".pager a").count():
        desk.tab.locator(".pager a").last.click()
        desk.check("a case as the audit sees it, older events")
    desk.visit("statistics", "/stats/")
    desk.visit("password", "/account/password")
    _your_sessions(desk)
    desk.visit("refused: the queue", "/cases/", status=403)


JOURNEYS: dict[str, Callable[[Desk], None]] = {
    "reviewer": _reviewer,
    "supervisor": _supervisor,
    "auditor": _auditor,
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("who", list(JOURNEYS))
def test_every_page_of_the_day_fits_a_tablet_and_passes_axe(
    chromium: Any, server: Server, instance: Instance, who: str, language: str
) -> None:
    desk = _sign_in(chromium, server, instance, who, language)
    try:
        JOURNEYS[who](desk)
    finally:
        desk.tab.context.close()
    assert len(desk.checked) >= 8, desk.checked
    assert {"your sessions", "your sessions, one ended"} <= set(desk.checked), desk.checked
    assert not desk.problems, "\n".join(desk.problems)
    assert not desk.console_errors, desk.console_errors
    assert not desk.server_errors, desk.server_errors


# -- the keyboard alone ------------------------------------------------------------------------


def _tab_to(tab: Any, selector: str, limit: int = 250) -> None:
    """Press Tab until the focus is on ``selector``, as someone without a mouse goes down a page."""
    for _ in range(limit):
        if tab.evaluate("s => document.activeElement.matches(s)", selector):
            return
        tab.keyboard.press("Tab")
    pytest.fail(f"{selector} cannot be reached with Tab")


def _arrow_to(tab: Any, value: str, key: str = "ArrowDown", limit: int = 40) -> None:
    """Move the focused list (a select, a group of radio buttons) to ``value`` with arrow keys."""
    for _ in range(limit):
        if tab.evaluate("() => document.activeElement.value") == value:
            return
        tab.keyboard.press(key)
    pytest.fail(f"{value} cannot be chosen with {key}")


def _outlined(tab: Any) -> bool:
    """Whether the focused element shows where the focus is."""
    style = tab.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth, s.boxShadow]; }"
    )
    return (style[0] != "none" and style[1] != "0px") or style[2] != "none"


def test_a_caseworker_files_a_direct_report_with_the_keyboard_alone(
    chromium: Any, server: Server, instance: Instance
) -> None:
    desk = _sign_in(chromium, server, instance, "caseworker", "en")
    tab, keys = desk.tab, desk.tab.keyboard
    try:
        tab.goto("/reports/new/direct")
        _tab_to(tab, "#reporter")
        assert _outlined(tab), "the focus does not show"
        _arrow_to(tab, "neighbour")
        _tab_to(tab, "#victim_name")
        keys.type("Keyboard Test-Victim")
        _tab_to(tab, "#relationship")
        _arrow_to(tab, "spouse")
        _tab_to(tab, "#categories-0")
        keys.press("Space")
        _tab_to(tab, "[name=children_present]")  # the group's checked button: "not known"
        _arrow_to(tab, "no", key="ArrowRight")
        # What happened is left empty; the form is sent from its button.
        _tab_to(tab, "form.report-form button[type=submit]")
        keys.press("Enter")

        summary = tab.locator(".error-summary")
        sync_api.expect(summary).to_be_visible()
        assert tab.evaluate("() => document.activeElement.id") == "error-summary"
        sync_api.expect(summary).to_contain_text(
            "What happened, in the reporter's words: this field is required."
        )
        sync_api.expect(tab.locator("#narrative-errors")).to_contain_text("this field is required")
        assert tab.locator("#narrative").get_attribute("aria-invalid") == "true"
        # From the summary, its link leads to the field; what was typed is still there.
        keys.press("Tab")
        assert tab.evaluate("() => document.activeElement.getAttribute('href')") == "#narrative"
        keys.press("Enter")
        assert tab.evaluate("() => document.activeElement.id") == "narrative"
        keys.type("Keyboard test: a neighbour heard shouting through the wall.")
        sync_api.expect(tab.locator("#victim_name")).to_have_value("Keyboard Test-Victim")
        assert tab.locator("#categories-0").is_checked()
        _tab_to(tab, "form.report-form button[type=submit]")
        keys.press("Enter")

        flash = tab.locator("main > .alert[role=status]")
        sync_api.expect(flash).to_contain_text(re.compile(r"Report filed as case C-\S+\."))
    finally:
        tab.context.close()
    assert not desk.problems, desk.problems
    assert not desk.console_errors, desk.console_errors
