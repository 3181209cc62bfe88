"""A case's whole journey in a real browser, through the pages only, as the people would do it.

The demo caseworker (Karaganda) files a neighbour's direct report about a knife threat with a
screenshot, then a second report about the same woman — her name in Cyrillic, her phone typed
another way — which the probable-match panel lets her add to the first case. The demo reviewer
claims the case, is refused a protective order while the case is unverified, corroborates it by a
police check, scores the risk checklist (high), and proposes the order, which waits for a
supervisor. The demo supervisor, working in Russian, approves it from Approvals (four eyes: she
did not propose it) and issues the order's document, a PDF in Russian that she downloads and
whose text holds the case code, its legal basis and the man it is issued to, and not her phone or
how to reach her. The auditor then finds every step of it in the log, and never a word of what the
reports say.

The instance and server are the shared ones of ``tests/e2e/conftest.py`` (``triage init``,
``triage demo``, ``triage serve``); Chromium is Debian's, launched as the auditor's browser test
launches it. No database access and no API call: every step is a click or a keystroke.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from babel.dates import format_date

from tests.e2e.conftest import Instance, Server

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Chromium not installed: run scripts/install-browser"
)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright not installed: pip install -e '.[test]'"
)

# Launched exactly as the auditor's browser test launches it.
from tests.e2e.test_browser_auditor import CHROMIUM_ARGS  # noqa: E402

SHOTS = Path("/tmp")

#: A 1×1 PNG, as a caseworker's screenshot would be one (only its bytes matter to triage).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)

TODAY = datetime.now(UTC).date()
YESTERDAY = TODAY - timedelta(days=1)

VICTIM = "Dana Zhaksylykova"
VICTIM_CYRILLIC = "Дана Жаксылыкова"
VICTIM_BORN = "1988-09-23"
#: How the report page shows that date to an English reader (the reader's locale, not ISO).
VICTIM_BORN_SHOWN = "Sep 23, 1988"
PHONE = "+7 702 555 0199"
PHONE_OTHERWISE = "8 (702) 555-01-99"
AGGRESSOR = "Arman Zhaksylykov"
NARRATIVE = (
    "Journey test story: the neighbour heard him shout that he would cut her with a kitchen knife; "
    "the two children were in the flat."
)
NARRATIVE_2 = "Journey test story: a witness saw him wait at her door with a knife in his hand."
SAFE_CONTACT = "journey test: call her sister first, weekdays only"
RATIONALE = "Journey test rationale: knife threat corroborated at the address."
VERIFY_NOTE = "Journey test note: the district inspector visited the flat."

#: What the auditor must never be shown, in any form it was typed or stored.
PERSONAL_DATA = [
    VICTIM,
    VICTIM_CYRILLIC,
    "Zhaksylyk",
    "Жаксылык",
    AGGRESSOR,
    VICTIM_BORN,
    PHONE,
    PHONE_OTHERWISE,
    "555 0199",
    "77025550199",
    "Journey test",
    "journey test",
    "kitchen knife",
    SAFE_CONTACT,
    "journey-screenshot.png",
]


# -- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Desk:
    """One person's browser: their own context (cookies), tab, and what went wrong on the way."""

    tab: Any
    statuses: list[tuple[int, str, str]] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    pages: list[tuple[str, str]] = field(default_factory=list)

    def keep(self) -> str:
        html: str = self.tab.content()
        self.pages.append((self.tab.url, html))
        return html


@dataclass
class Office:
    """Everyone's desks in one journey, so that the test can check them all at the end."""

    browser: Any
    server: Server
    instance: Instance
    desks: dict[str, Desk] = field(default_factory=dict)

    def sign_in(self, username: str) -> Desk:
        context = self.browser.new_context(
            base_url=self.server.base_url,
            accept_downloads=True,
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(10_000)
        tab = context.new_page()
        desk = Desk(tab)
        tab.on(
            "response",
            lambda r: desk.statuses.append((r.status, r.request.method, r.url)),
        )
        tab.on(
            "console",
            lambda m: (
                desk.console_errors.append(m.text)
                if m.type == "error" and not m.text.startswith("Failed to load resource")
                else None
            ),
        )
        tab.on("pageerror", lambda error: desk.console_errors.append(str(error)))
        self.desks[username] = desk

        tab.goto("/login")
        tab.get_by_label("Username").fill(username)
        tab.get_by_label("Password").fill(self.instance.credentials[username])
        tab.get_by_role("button", name="Sign in").click()
        sync_api.expect(tab.get_by_role("heading", name=f"Welcome, {username}")).to_be_visible()
        return desk

    def close(self) -> None:
        for desk in self.desks.values():
            desk.tab.context.close()


@pytest.fixture
def office(chromium: Any, server: Server, instance: Instance) -> Iterator[Office]:
    found = Office(chromium, server, instance)
    try:
        yield found
    finally:
        found.close()


def _nav(tab: Any, name: str) -> None:
    tab.get_by_role("navigation").get_by_role("link", name=name, exact=True).click()


def _flash(tab: Any) -> Any:
    return tab.locator("main > .alert[role=status]")


def _events(tab: Any) -> list[list[str]]:
    """The audit table as rows of cell texts (seq, time, actor, action, object, details, hash)."""
    rows: list[list[str]] = tab.locator("#events tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells, c => c.innerText.trim()))"
    )
    return [row for row in rows if len(row) == 7]


# -- the journey -------------------------------------------------------------------------------


def test_a_report_becomes_an_approved_protective_order(office: Office, tmp_path: Path) -> None:
    expect = sync_api.expect
    # The auditor's "From" filter starts here, after everything ``triage demo`` did.
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")

    # 1. The caseworker files the neighbour's direct report, with a screenshot.
    caseworker = office.sign_in("caseworker")
    tab = caseworker.tab
    _nav(tab, "File a report")
    expect(tab.get_by_role("heading", name="File a report")).to_be_visible()
    tab.get_by_role("link", name="Direct").click()
    expect(tab.get_by_role("heading", name="Direct report")).to_be_visible()

    tab.get_by_label("Who is reporting").select_option(label="A neighbour")
    tab.get_by_label("Reporter's name (if not the victim)").fill("A neighbour from flat 12")
    tab.get_by_label("Victim: full name").fill(VICTIM)
    tab.get_by_label("Victim: date of birth").fill(VICTIM_BORN)
    tab.get_by_label("Victim: phone").fill(PHONE)
    tab.get_by_label("Alleged aggressor: full name").fill(AGGRESSOR)
    tab.get_by_label("The alleged aggressor is the victim's").select_option(label="Spouse")
    tab.get_by_label("Region").select_option(label="Karaganda Region")
    tab.get_by_label("Date of the incident").fill(YESTERDAY.isoformat())
    tab.get_by_label("Battery (beatings)").check()
    tab.get_by_label("Threat (to kill, to harm, with a weapon)").check()
    tab.locator("#children_present").get_by_label("Yes", exact=True).check()
    tab.get_by_label("What happened, in the reporter's words").fill(NARRATIVE)
    tab.locator("#may_contact").get_by_label("Yes", exact=True).check()
    tab.get_by_label("How to contact her safely").fill(SAFE_CONTACT)
    tab.get_by_label("Attachments (screenshots, photos, PDF documents)").set_input_files(
        {"name": "journey-screenshot.png", "mimeType": "image/png", "buffer": PNG}
    )
    tab.screenshot(path=str(SHOTS / "journey-direct-form.png"), full_page=True)
    tab.get_by_role("button", name="File the report").click()

    flash = _flash(tab)
    expect(flash).to_contain_text(re.compile(r"Report filed as case C-\S+\."))
    code = re.search(r"case (C-\S+)\.", flash.inner_text())
    assert code, flash.inner_text()
    case_code = code.group(1)
    expect(tab.get_by_role("heading", level=1)).to_contain_text(case_code)

    # Her report page: what she typed, decrypted for her, and the screenshot.
    said = tab.locator("section.card", has=tab.get_by_role("heading", name="What the report says"))
    shown = (VICTIM, VICTIM_BORN_SHOWN, PHONE, AGGRESSOR, NARRATIVE, SAFE_CONTACT, "A neighbour")
    for value in shown:
        expect(said).to_contain_text(value)
    facts = tab.locator("dl.facts")
    expect(facts).to_contain_text("Karaganda Region")
    expect(facts).to_contain_text("Battery (beatings); Threat (to kill, to harm, with a weapon)")
    expect(facts).to_contain_text("Unverified")
    files = tab.locator("section.card", has=tab.get_by_role("heading", name="Attachments"))
    expect(files.get_by_role("link")).to_have_count(1)
    with tab.expect_download() as download:
        files.get_by_role("link", name="image/png").click()
    saved = tmp_path / "screenshot.png"
    download.value.save_as(saved)
    assert saved.read_bytes() == PNG
    assert download.value.suggested_filename == "journey-screenshot.png"
    caseworker.keep()

    # 2. A witness calls about the same woman: her name in Cyrillic, her phone typed otherwise.
    _nav(tab, "File a report")
    tab.get_by_role("link", name="Direct").click()
    tab.get_by_label("Who is reporting").select_option(label="A witness")
    tab.get_by_label("Victim: full name").fill(VICTIM_CYRILLIC)
    tab.get_by_label("Victim: date of birth").fill(VICTIM_BORN)
    tab.get_by_label("Victim: phone").fill(PHONE_OTHERWISE)
    tab.get_by_label("The alleged aggressor is the victim's").select_option(label="Spouse")
    tab.get_by_label("Region").select_option(label="Karaganda Region")
    tab.get_by_label("Threat (to kill, to harm, with a weapon)").check()
    tab.get_by_label("What happened, in the reporter's words").fill(NARRATIVE_2)
    tab.get_by_role("button", name="File the report").click()

    panel = tab.locator("#probable-match")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("This report probably concerns a case already on record")
    expect(panel).to_contain_text(f"Add to case {case_code}")
    expect(panel).to_contain_text("phone")
    expect(panel).to_contain_text("victim")
    # What she typed is still there; nothing was stored yet.
    expect(tab.get_by_label("Victim: full name")).to_have_value(VICTIM_CYRILLIC)
    add = panel.get_by_label(f"Add to case {case_code}")
    case_id = add.get_attribute("value")
    assert case_id, "the match offers no case to add to"
    add.check()
    tab.screenshot(path=str(SHOTS / "journey-probable-match.png"), full_page=True)
    tab.get_by_role("button", name="File the report").click()
    expect(_flash(tab)).to_have_text(f"Report filed and added to case {case_code}.")
    expect(tab.get_by_role("heading", level=1)).to_contain_text(case_code)
    expect(tab.locator("dl.facts")).to_contain_text("Linked to a case")
    caseworker.keep()

    # Both reports are hers, in the same case.
    _nav(tab, "My reports")
    expect(tab.locator("main").get_by_text(case_code, exact=True)).to_have_count(2)

    # 3. The reviewer finds the case in the queue and claims it.
    reviewer = office.sign_in("reviewer")
    tab = reviewer.tab
    _nav(tab, "Queue")
    expect(tab.get_by_role("heading", name="Case queue")).to_be_visible()
    row = tab.locator("table.queue tbody tr", has=tab.get_by_role("link", name=case_code))
    expect(row).to_have_count(1)
    expect(
        row.locator(".badge.level-standard, .badge.level-medium, .badge.level-high")
    ).to_have_count(1)
    expect(row).to_contain_text("provisional")
    expect(row).to_contain_text("Unverified")
    expect(row).to_contain_text("Direct")
    expect(row).to_contain_text("nobody")
    row.get_by_role("link", name=case_code).click()
    expect(tab.get_by_role("heading", name=case_code)).to_be_visible()
    tab.get_by_role("button", name="Claim this case").click()
    expect(_flash(tab)).to_have_text(f"You now hold case {case_code}.")
    expect(tab.locator(".case-head")).to_contain_text("You")
    # The reviewer reads both reports, decrypted for this page.
    timeline = tab.locator("#timeline")
    expect(timeline).to_contain_text(VICTIM)
    expect(timeline).to_contain_text(VICTIM_CYRILLIC)
    expect(timeline).to_contain_text(NARRATIVE)
    expect(timeline.get_by_role("link", name="image/png")).to_have_count(1)
    reviewer.keep()

    # A protective order is refused while nobody has corroborated the reports, and the form
    # says so before anything is sent: the order cannot be chosen, a supportive measure can.
    tab.get_by_role("link", name="Propose a measure").click()
    order = tab.locator("table.measures tbody tr", has_text="Protective order")
    expect(order).to_contain_text("Refused until the case is corroborated")
    expect(order.get_by_role("link", name="Choose")).to_have_count(0)
    propose = tab.locator("form", has=tab.get_by_role("button", name="Propose"))
    measure = propose.get_by_label("Measure")
    expect(measure.locator("option[value=protective_order]")).to_be_disabled()
    expect(measure.locator("option[value=protective_order]")).to_contain_text(
        "refused until the case is corroborated"
    )
    expect(measure.locator("option[value=safety_plan]")).to_be_enabled()
    reviewer.keep()

    # Corroborated by a police check at the address.
    tab.get_by_role("link", name="Back to the case").click()
    tab.get_by_role("link", name="Verify", exact=True).click()
    tab.get_by_label("Corroborated", exact=True).check()
    tab.get_by_label("Corroborated by").select_option(label="A police check at the address")
    tab.get_by_label("Note (what was checked)").fill(VERIFY_NOTE)
    tab.get_by_role("button", name="Record").click()
    expect(_flash(tab)).to_have_text("Corroboration recorded.")
    expect(tab.locator(".case-head .badge.verification-corroborated")).to_have_text("Corroborated")
    expect(tab.get_by_role("link", name="Verify", exact=True)).to_have_count(0)
    expect(timeline).to_contain_text("A police check at the address")

    # The risk checklist: a threat to kill, with a knife, in front of the children.
    tab.get_by_role("link", name="Assess risk").click()
    for item in (
        "The aggressor has threatened to kill the victim",
        "A weapon (knife, firearm, other object) was used or threatened",
        "Children were present, hurt or threatened",
    ):
        tab.get_by_role("group", name=item).get_by_label("Yes", exact=True).check()
    tab.get_by_role("group", name="The police have been called to this family before").get_by_label(
        "No", exact=True
    ).check()
    tab.get_by_role("button", name="Record assessment").click()
    # Four items answered, 18 unknown: incomplete (it could lower nothing), high by rule anyway.
    expect(_flash(tab)).to_have_text(
        "Assessment recorded. It is incomplete: more items unknown than answered."
    )
    head_level = tab.locator(".case-head .badge.level-high")
    expect(head_level).to_have_text("High")
    expect(tab.locator("#assessment")).to_contain_text("score 7, computed level High")
    expect(tab.locator("#assessment-incomplete")).to_contain_text("Incomplete")
    reviewer.keep()

    # Now the protective order can be proposed; it waits for a supervisor.
    tab.get_by_role("link", name="Propose a measure").click()
    expect(order).to_contain_text("Waits for a supervisor")
    propose.get_by_label("Measure", exact=True).select_option("protective_order")
    propose.get_by_label("Domestic Violence Law, Art. 20 — Protective order").check()
    propose.get_by_label("Rationale").fill(RATIONALE)
    ends = TODAY + timedelta(days=29)
    propose.get_by_label("Starts on").fill(TODAY.isoformat())
    propose.get_by_label("Ends on").fill(ends.isoformat())
    propose.get_by_role("button", name="Propose").click()
    expect(_flash(tab)).to_have_text("Proposed. It takes effect once a supervisor approves it.")
    decision_row = tab.locator("#decisions tbody tr", has_text="Protective order")
    expect(decision_row).to_have_count(1)
    expect(decision_row).to_contain_text("Awaiting approval")
    expect(decision_row).to_contain_text("coercive measure")
    period = [format_date(day, "medium", locale="en") for day in (TODAY, ends)]
    expect(decision_row).to_contain_text(" – ".join(period))
    expect(decision_row.get_by_role("button", name="Withdraw")).to_be_visible()
    expect(decision_row.get_by_role("button", name="Approve")).to_have_count(0)
    decision_id = (decision_row.get_attribute("id") or "").removeprefix("decision-")
    assert decision_id, "the decision row has no id"
    reviewer.keep()

    # 4. The supervisor, who did not propose it, works in Russian: she approves the order from
    #    Approvals and issues its document, a PDF in Russian, which she downloads.
    supervisor = office.sign_in("supervisor")
    tab = supervisor.tab
    tab.locator("footer").get_by_role("button", name="Русский").click()
    expect(tab.locator("html")).to_have_attribute("lang", "ru")
    _nav(tab, "Согласование")
    expect(tab.get_by_role("heading", name="Согласование", exact=True)).to_be_visible()
    waiting = tab.locator("table.approvals tbody tr", has=tab.get_by_role("link", name=case_code))
    expect(waiting).to_have_count(1)
    expect(waiting).to_contain_text("Защитное предписание")
    expect(waiting).to_contain_text("reviewer")
    expect(waiting).to_contain_text("Высокий")
    expect(waiting).to_contain_text("Подтверждено")
    tab.screenshot(path=str(SHOTS / "journey-approvals.png"), full_page=True)
    supervisor.keep()
    waiting.get_by_role("link", name="Рассмотреть и принять решение").click()
    expect(tab.get_by_role("heading", name=case_code)).to_be_visible()
    expect(tab.locator("#timeline")).to_contain_text(RATIONALE)
    to_decide = tab.locator(f"#decision-{decision_id}")
    to_decide.get_by_role("button", name="Согласовать").click()
    expect(_flash(tab)).to_have_text("Согласовано; мера вступила в силу.")
    expect(to_decide).to_contain_text("Действует")
    expect(to_decide.get_by_role("button")).to_have_count(0)
    # Its legal basis, in Russian, from the configured grounds.
    expect(to_decide).to_contain_text("Закон о профилактике бытового насилия, ст. 20")
    tab.screenshot(path=str(SHOTS / "journey-case-approved.png"), full_page=True)
    supervisor.keep()
    # She does not hold the case, so she is not offered work on it (a follow-up) either.
    expect(tab.get_by_text("Дело в работе у пользователя reviewer", exact=False)).to_be_visible()
    expect(to_decide.get_by_role("link", name="Провести контроль")).to_have_count(0)

    # The order's document: she chooses Russian and issues it; it opens as a PDF download.
    to_decide.get_by_role("link", name="Оформить документ").click()
    expect(tab.get_by_role("heading", level=1)).to_contain_text(case_code)
    expect(tab.locator("main")).to_contain_text("Защитное предписание")
    tab.get_by_label("Русский").check()
    tab.get_by_role("button", name="Оформить PDF").click()
    expect(_flash(tab)).to_contain_text("Документ оформлен")
    sha256 = tab.locator("code.hash").inner_text().strip()
    with tab.expect_download() as download:
        tab.get_by_role("link", name="Скачать").click()
    pdf = tmp_path / "order.pdf"
    download.value.save_as(pdf)
    assert download.value.suggested_filename.endswith(".pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    assert hashlib.sha256(data).hexdigest() == sha256
    if shutil.which("pdftotext"):
        text = " ".join(
            subprocess.run(
                ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True, text=True
            ).stdout.split()
        )
        assert case_code in text
        assert "ЗАЩИТНОЕ ПРЕДПИСАНИЕ" in text.upper()
        assert "ст. 20" in text and "Защитное предписание" in text
        assert AGGRESSOR in text  # issued to him
        for absent in (PHONE, "555 0199", SAFE_CONTACT, "kitchen knife"):
            assert absent not in text, absent
    supervisor.keep()
    _nav(tab, "Согласование")
    expect(tab.locator("table.approvals tbody tr", has_text=case_code)).to_have_count(0)

    # The reviewer, who still holds the case, sees the order in effect and can follow it up.
    tab = reviewer.tab
    tab.reload()
    in_effect = tab.locator(f"#decision-{decision_id}")
    expect(in_effect).to_contain_text("In effect")
    expect(in_effect.get_by_role("link", name="Follow up")).to_be_visible()
    expect(in_effect.get_by_role("button", name="Withdraw")).to_have_count(0)

    # 5. The auditor follows the journey in the log without seeing anything of the people.
    auditor = office.sign_in("auditor")
    tab = auditor.tab
    auditor.keep()
    _nav(tab, "Audit log")
    filters = tab.locator("details.panel")

    def search(shot: str | None = None, **fields: str) -> list[list[str]]:
        tab.get_by_role("link", name="Clear").click()
        for label, value in fields.items():
            filters.get_by_label(label, exact=True).fill(value)
        filters.get_by_role("button", name="Apply").click()
        expect(tab.get_by_role("heading", name="Audit log", exact=True)).to_be_visible()
        auditor.keep()
        if shot:
            tab.screenshot(path=str(SHOTS / shot), full_page=True)
        rows = _events(tab)
        while tab.locator("#older").count():
            tab.locator("#older").click()
            auditor.keep()
            rows += _events(tab)
        return rows

    # The case itself: opened, triaged, claimed, verified, assessed.
    on_case = search(**{"Object id": case_id})
    case_actions = {row[3] for row in on_case}
    assert {
        "case.opened",
        "case.triaged",
        "case.claimed",
        "case.verified",
        "assessment.recorded",
    } <= case_actions, case_actions
    assert all(row[4] == f"case {case_id}" for row in on_case), on_case

    # The decision: proposed by a reviewer, approved by a supervisor, its rationale read.
    on_decision = search(**{"Object id": decision_id})
    by_action = {row[3]: row for row in on_decision}
    assert {"decision.proposed", "decision.approved", "payload.decrypted"} <= set(by_action)
    assert "Reviewer" in by_action["decision.proposed"][2]
    assert "Supervisor" in by_action["decision.approved"][2]
    assert by_action["decision.proposed"][2] != by_action["decision.approved"][2]

    # Everything since the journey began, with the case's id in the details where not the object.
    journey = search("journey-audit.png", **{"From (UTC)": started})
    about_case = [row for row in journey if case_id in row[4] or case_id in row[5]]
    actions = {row[3] for row in journey}
    expected = {
        "auth.login",
        "case.opened",
        "report.filed",
        "attachment.added",
        "attachment.downloaded",
        "payload.decrypted",
        "report.linked",
        "case.claimed",
        "report.verified",
        "case.verified",
        "assessment.recorded",
        "decision.proposed",
        "decision.approved",
        "document.issued",
        "document.downloaded",
    }
    assert expected <= actions, expected - actions
    assert "user.created" not in actions, "the demo's own events are older than the journey"
    filed = [row for row in about_case if row[3] == "report.filed"]
    assert len(filed) == 2, filed
    assert len([row for row in about_case if row[3] == "report.verified"]) == 2
    assert [row for row in about_case if row[3] == "report.linked"], about_case

    # Nothing the auditor was shown holds a person's data.
    shown = sorted(
        {(url, needle) for url, html in auditor.pages for needle in PERSONAL_DATA if needle in html}
    )
    assert not shown, f"personal data on the auditor's pages: {shown}"
    # …while the same needles were on the caseworker's and the reviewer's pages (the check bites).
    for desk in (caseworker, reviewer):
        assert any(VICTIM in html for _, html in desk.pages)

    # Every request answered as the journey expects, and no browser saw an error (CSP included).
    expected_refusals = {
        ("caseworker", 409, "POST", "/reports/new/direct"),  # the probable-match panel
    }
    seen_refusals = set()
    for name, desk in office.desks.items():
        for status, method, url in desk.statuses:
            path = url.removeprefix(office.server.base_url)
            if status >= 400 and path != "/favicon.ico":
                seen_refusals.add((name, status, method, path))
        assert not desk.console_errors, (name, desk.console_errors)
    assert seen_refusals == expected_refusals, office.server.log.read_text()[-4000:]
