"""What a person reads when a form fails or a page is refused, through the pages as a reviewer,
a caseworker and an auditor use them: an error summary at the top that links every message to
its field, messages that name their field in whole sentences (in Russian and Kazakh too), the
decision form that shows refused measures as unavailable before anything is sent, the direct
form that says which reports start corroborated, a refused page that says what the role may not
do and leads back, and an audit log that reads as pairs and short identifiers, not JSON."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import Flask, request
from flask.testing import FlaskClient
from markupsafe import escape

from tests.conftest import Account, AuthActions
from tests.integration.test_review_services import make_case
from tests.integration.test_review_web import code_of, post, signed_in, version_of
from triage.vocab import Role, Verification
from triage.web.forms.audit import ExportForm
from triage.web.forms.base import REQUIRED
from triage.web.forms.intake import OnlineForm
from triage.web.forms.stats import StatsFilterForm

TRANSLATIONS = Path(__file__).parents[2] / "triage" / "translations"


def translated(locale: str, message: str) -> str:
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        found = read_po(handle, locale=locale).get(message)
    assert found is not None and found.string, f"{message!r} has no {locale} translation"
    return str(found.string)


def choose_language(client: FlaskClient, locale: str) -> None:
    """As a person does it, in the footer."""
    token = AuthActions(client).csrf_token("/")
    assert client.post("/language", data={"csrf_token": token, "locale": locale}).status_code == 302


def summary_of(page: str) -> str:
    """The error summary at the top of a form page."""
    found = re.search(r'<div class="alert alert-error error-summary"[^>]*>.*?</div>', page, re.S)
    assert found, "no error summary on the page"
    return found.group(0)


def field_errors(page: str, field_id: str) -> list[str]:
    found = re.search(rf'<ul class="errors" id="{field_id}-errors">(.*?)</ul>', page, re.S)
    assert found, f"no errors beside {field_id}"
    return [html.unescape(m) for m in re.findall(r"<li>(.*?)</li>", found.group(1), re.S)]


def tag_of(page: str, field_id: str) -> str:
    """The opening tag of the form control ``field_id``."""
    found = re.search(rf'<(?:input|select|textarea)\b[^>]*\bid="{field_id}"[^>]*>', page)
    assert found, f"no control {field_id}"
    return found.group(0)


@pytest.fixture
def reviewer(app: Flask, accounts: dict[Role, Account]) -> FlaskClient:
    return signed_in(app, accounts[Role.REVIEWER])


# -- the error summary and the field messages ---------------------------------------------------


def test_a_failed_decision_form_sums_up_its_errors_and_names_each_field(app, reviewer) -> None:
    code = code_of(app, make_case(app))

    page = post(reviewer, f"/cases/{code}/decide", {"version": "1"})

    assert page.status_code == 400
    body = page.get_data(as_text=True)
    summary = summary_of(body)
    assert 'role="alert"' in summary and "autofocus" in summary and 'tabindex="-1"' in summary
    assert "There is a problem" in summary
    links = dict(re.findall(r'<a href="#([\w-]+)">(.*?)</a>', summary))
    assert links == {
        "measure": "Measure: this field is required.",
        "rationale": "Rationale: this field is required.",
    }
    # Beside each field, the same sentence; the field says it is in error and what describes it.
    assert field_errors(body, "rationale") == ["Rationale: this field is required."]
    rationale = tag_of(body, "rationale")
    assert 'aria-invalid="true"' in rationale
    assert 'aria-describedby="rationale-hint rationale-errors"' in rationale
    assert "This field is required." not in body
    # The summary comes before the form, and before the case's header.
    form = body.index(f'<form method="post" novalidate action="/cases/{code}/decide"')
    assert body.index("error-summary") < body.index('class="case-head') < form


@pytest.mark.parametrize("locale", ["ru", "kk"])
def test_field_messages_read_as_sentences_in_russian_and_kazakh(app, reviewer, locale) -> None:
    code = code_of(app, make_case(app))
    choose_language(reviewer, locale)

    body = post(reviewer, f"/cases/{code}/decide", {"version": "1"}).get_data(as_text=True)

    label = translated(locale, "Rationale")
    assert field_errors(body, "rationale") == [translated(locale, REQUIRED) % {"field": label}]
    assert translated(locale, "There is a problem") in summary_of(body)
    assert "this field is required" not in body


def test_the_direct_form_names_every_field_the_rules_refuse(app, client, accounts, auth) -> None:
    auth.login_as(accounts[Role.CASEWORKER])
    token = auth.csrf_token("/reports/new/direct")

    page = client.post("/reports/new/direct", data={"csrf_token": token, "victim_iin": "123"})

    assert page.status_code == 422
    body = page.get_data(as_text=True)
    assert field_errors(body, "narrative") == [
        "What happened, in the reporter's words: this field is required."
    ]
    assert field_errors(body, "victim_iin") == [
        "Victim: IIN: is not a valid IIN (12 digits with a correct check digit)."
    ]
    # A list of boxes: the summary links to its first box, and the group names itself.
    summary = summary_of(body)
    # The summary lists the messages in the order the page shows the fields.
    linked = re.findall(r'<a href="#([\w-]+)">', summary)
    assert linked == [
        "reporter",
        "victim_iin",
        "relationship",
        "region",
        "categories-0",
        "narrative",
    ]
    assert '<a href="#categories-0">What happened: this field is required.</a>' in summary
    assert re.search(r'<fieldset class="field group has-error"[^>]*>\s*<legend>What happened', body)
    # No message is the schema's bare fragment; an optional date left empty is no problem.
    assert not re.search(r"<li>\s*is required", body)
    assert 'id="occurred_on-errors"' not in body


def test_a_length_a_number_and_an_unreadable_value_say_which_field(app) -> None:
    with app.test_request_context(
        "/audit/export", method="POST", data={"export-from_seq": "0", "export-to_seq": "ten"}
    ):
        form = ExportForm(prefix="export", meta={"csrf": False})
        assert not form.validate()
        assert form.from_seq.errors == ["From sequence number: enter a number of at least 1."]
        assert form.to_seq.errors == ["To sequence number: enter a whole number."]
    with app.test_request_context("/stats/", query_string={"start": "yesterday"}):
        period = StatsFilterForm(request.args)
        assert not period.validate()
        assert period.start.errors == ["From: enter a valid date."]
    with app.test_request_context(
        "/reports/new/online", method="POST", data={"captured_at": "soon"}
    ):
        online = OnlineForm(meta={"csrf": False})
        assert not online.validate()
        assert online.captured_at.errors == ["Captured at (UTC): enter a valid date and time."]


def test_a_note_too_long_says_how_long_it_may_be(app, reviewer) -> None:
    code = code_of(app, make_case(app))

    page = post(reviewer, f"/cases/{code}/note", {"text": "x" * 10_001})

    assert page.status_code == 400
    assert field_errors(page.get_data(as_text=True), "text") == [
        "Note: write at most 10000 characters."
    ]


# -- measures refused on the case, before anything is sent --------------------------------------


def options_of(page: str) -> dict[str, str]:
    """The decision form's measures: value → the option's whole tag and text."""
    select = re.search(r'<select[^>]*id="measure".*?</select>', page, re.S)
    assert select, "no list of measures"
    return {
        value: tag
        for tag, value in re.findall(r'(<option[^>]*value="([^"]*)"[^>]*>[^<]*)', select.group(0))
    }


def test_an_unverified_case_offers_its_coercive_measures_as_unavailable(app, reviewer) -> None:
    code = code_of(app, make_case(app))

    body = reviewer.get(f"/cases/{code}/decide").get_data(as_text=True)

    options = options_of(body)
    assert next(iter(options)) == "", "a measure is chosen for the reviewer"
    assert "disabled" in options["protective_order"]
    assert "refused until the case is corroborated" in options["protective_order"]
    for supportive in ("contact_victim", "refer_support", "safety_plan"):
        assert "disabled" not in options[supportive], supportive
    assert 'id="unavailable"' in body
    # Nothing can be chosen from the table for a refused measure, a supportive one can.
    assert f"/cases/{code}/decide?measure=protective_order" not in body
    assert f"/cases/{code}/decide?measure=safety_plan" in body


def test_a_corroborated_case_offers_every_measure(app, reviewer) -> None:
    case_id = make_case(app, verification_state=Verification.CORROBORATED)
    code = code_of(app, case_id)

    body = reviewer.get(f"/cases/{code}/decide").get_data(as_text=True)

    assert not [tag for tag in options_of(body).values() if "disabled" in tag]
    assert 'id="unavailable"' not in body


def test_a_refused_measure_posted_anyway_is_still_refused_by_the_rule(app, accounts) -> None:
    supervisor = signed_in(app, accounts[Role.SUPERVISOR])
    case_id = make_case(app)
    code = code_of(app, case_id)
    post(supervisor, f"/cases/{code}/claim")

    refused = post(
        supervisor,
        f"/cases/{code}/decide",
        {
            "version": version_of(app, case_id),
            "measure": "protective_order",
            "legal_basis": "CoAO Article 54",
            "rationale": "Threats with a knife reported.",
        },
    )

    assert refused.status_code == 409
    assert "not corroborated" in summary_of(refused.get_data(as_text=True))


# -- the direct form says how a report starts -------------------------------------------------


def test_the_direct_form_says_the_victims_own_report_starts_corroborated(client, accounts, auth):
    auth.login_as(accounts[Role.CASEWORKER])

    body = client.get("/reports/new/direct").get_data(as_text=True)

    assert "A report by the victim herself starts as corroborated." in body
    hint = "The victim's own report starts as corroborated; anyone else's starts as unverified."
    assert f'<p class="hint" id="reporter-hint">{hint}</p>' in html.unescape(body)
    assert 'aria-describedby="reporter-hint"' in tag_of(body, "reporter")


# -- a refused page ----------------------------------------------------------------------------


def test_a_refused_page_says_what_the_role_may_not_do_and_leads_home(app, reviewer) -> None:
    page = reviewer.get("/audit/")

    assert page.status_code == 403
    body = page.get_data(as_text=True)
    assert "<h1>Not open to your role</h1>" in body
    assert "Your role (Reviewer) cannot open the audit log." in body
    assert re.search(r'<a class="button primary" id="back-home" href="/">', body)
    assert "audit.read" not in body and "audit.index" not in body


def test_a_refused_action_says_what_the_role_may_not_do(app, reviewer) -> None:
    page = post(reviewer, "/cases/decisions/no-such-decision/approve")

    assert page.status_code == 403
    assert "Your role (Reviewer) cannot approve or reject proposed measures." in page.get_data(
        as_text=True
    )


@pytest.mark.parametrize("locale", ["ru", "kk"])
def test_a_refused_page_reads_in_russian_and_kazakh(app, reviewer, locale) -> None:
    choose_language(reviewer, locale)

    body = reviewer.get("/audit/").get_data(as_text=True)

    role = translated(locale, "Reviewer")
    message = translated(locale, "Your role (%(role)s) cannot open the audit log.")
    assert str(escape(message % {"role": role})) in body
    assert translated(locale, "Not open to your role") in body
    assert translated(locale, "Back to the start page") in body


def test_a_page_nobody_may_open_says_so_without_a_role(app) -> None:
    app.add_url_rule("/test-undeclared", "test_undeclared", lambda: "the view ran")

    page = app.test_client().get("/test-undeclared")

    assert page.status_code == 403
    assert "This page is not open to anyone." in page.get_data(as_text=True)


# -- the audit log ------------------------------------------------------------------------------


def test_the_audit_log_shows_details_as_pairs_and_shortens_identifiers(
    app, client, accounts, auth
) -> None:
    case_id = make_case(app)
    auth.login_as(accounts[Role.AUDITOR])

    page = client.get("/audit/", query_string={"action": "case.triaged"})

    body = page.get_data(as_text=True)

    events = body[body.index('id="events"') :]
    assert "{&#34;" not in events and '{"' not in events, "raw JSON in the log"
    assert re.search(r"<dt>level</dt> <dd>\w+</dd>", events)
    link = f'<a class="ident mono long" href="/audit/?object_id={case_id}" title="{case_id}">'
    assert f"{link}{case_id}</a>" in events
    # The export tools are near the top, folded; the filters come first.
    assert body.index('id="filters"') < body.index('id="export-tools"') < body.index('id="events"')
