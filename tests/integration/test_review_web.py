"""The reviewer's pages, used as a reviewer and a supervisor would: the queue, take-next, the case
page (decrypted and audited only here, only in scope), forms with their refusals, and approvals."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from tests.conftest import Account, AuthActions, make_user
from tests.integration.test_review_services import make_case, tx
from triage.models import AuditEvent, Case, Decision
from triage.reports import file_report
from triage.vocab import Region, Role, SourceKind, Verification
from triage.web.deps import uow_of

SECRET = "Zhanna Secretova"
PAYLOAD = {
    "outlet": "Example news",
    "headline": "Invented <script>alert(1)</script>",
    "text": f"{SECRET} was threatened by her husband.",
    "people": ["the woman (36)", {"role": "husband", "age": 41}],
}


def token(client: FlaskClient, path: str = "/cases/") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post(client: FlaskClient, path: str, data: dict[str, object] | None = None, **kw: object):
    return client.post(path, data={"csrf_token": token(client), **(data or {})}, **kw)


def code_of(app: Flask, case_id: str) -> str:
    with tx(app) as session:
        found = session.get(Case, case_id)
        assert found is not None
        return found.code


def version_of(app: Flask, case_id: str) -> int:
    with tx(app) as session:
        found = session.get(Case, case_id)
        assert found is not None
        return found.version


def decrypt_events(app: Flask) -> list[tuple[str, str]]:
    with tx(app) as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "payload.decrypted")
        ).all()
        return [(e.actor, e.details) for e in events]


def signed_in(app: Flask, account: Account) -> FlaskClient:
    client = app.test_client()
    AuthActions(client).login_as(account)
    return client


@pytest.fixture
def reviewer(app: Flask, accounts: dict[Role, Account]) -> FlaskClient:
    return signed_in(app, accounts[Role.REVIEWER])


def test_the_queue_shows_cases_in_priority_order_with_the_overdue_flag(app, accounts, reviewer):
    now = datetime.now(UTC)
    late = make_case(app, opened_at=now - timedelta(days=8))
    urgent = make_case(app, categories=("killing",))
    elsewhere = make_case(app, region=Region.SHYMKENT, categories=("killing",))
    page = reviewer.get("/cases/").get_data(as_text=True)
    assert page.index(code_of(app, urgent)) < page.index(code_of(app, late))
    assert code_of(app, elsewhere) not in page
    assert page.count("Overdue by") == 1 and "High" in page and "provisional" in page
    overdue_only = reviewer.get("/cases/?overdue=y").get_data(as_text=True)
    assert code_of(app, late) in overdue_only and code_of(app, urgent) not in overdue_only
    assert decrypt_events(app) == []  # the queue shows no personal data


def test_take_next_opens_the_most_urgent_case_and_the_page_decrypts_it_audited(
    app, accounts, reviewer
):
    make_case(app)
    urgent = make_case(app, categories=("killing",), payload=PAYLOAD)
    response = post(reviewer, "/cases/take-next")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/cases/{code_of(app, urgent)}")
    page = reviewer.get(response.headers["Location"]).get_data(as_text=True)
    assert SECRET in page and "You now hold case" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "<dt>Role</dt>" in page and "<dd>husband</dd>" in page  # nested values, listed
    events = decrypt_events(app)
    assert events and all('"purpose":"case.view"' in d for _, d in events)
    assert {actor for actor, _ in events} == {str(accounts[Role.REVIEWER].id)}
    with tx(app) as session:
        urls = " ".join(session.scalars(select(AuditEvent.details)))
    assert SECRET not in urls


def test_a_reviewer_outside_the_region_gets_404_and_nothing_is_decrypted(app, accounts):
    case_id = make_case(app, payload=PAYLOAD)
    outsider = signed_in(app, make_user(app, "reviewer.shym", Role.REVIEWER, Region.SHYMKENT))
    code = code_of(app, case_id)
    for path in (f"/cases/{code}", f"/cases/{case_id}", f"/cases/{code}/assess"):
        response = outsider.get(path)
        assert response.status_code == 404
        assert SECRET not in response.get_data(as_text=True)
    assert post(outsider, f"/cases/{code}/claim").status_code == 302  # refused, flashed
    with tx(app) as session:
        found = session.get(Case, case_id)
        assert found is not None and found.claimed_by is None
    assert decrypt_events(app) == []


def test_a_claimed_case_is_read_only_to_others(app, accounts, reviewer):
    case_id = make_case(app)
    code = code_of(app, case_id)
    post(reviewer, f"/cases/{code}/claim")
    other = signed_in(app, make_user(app, "reviewer.b", Role.REVIEWER, Region.KARAGANDA))
    page = other.get(f"/cases/{code}").get_data(as_text=True)
    assert "holds this case" in page
    refused = post(other, f"/cases/{code}/claim", follow_redirects=True)
    assert "Another reviewer holds this case" in refused.get_data(as_text=True)
    note = post(other, f"/cases/{code}/note", {"text": "mine"})
    assert note.status_code == 409 and "Claim this case" in note.get_data(as_text=True)


def test_coercive_measure_on_unverified_case_is_refused_then_approved_by_another_supervisor(
    app, accounts
):
    supervisor = signed_in(app, accounts[Role.SUPERVISOR])
    case_id = make_case(app)
    code = code_of(app, case_id)
    post(supervisor, f"/cases/{code}/claim")
    form = supervisor.get(f"/cases/{code}/decide").get_data(as_text=True)
    assert "Refused until the case is corroborated" in form
    measure = {
        "measure": "protective_order",
        "legal_basis": "CoAO Article 54",
        "rationale": "Threats with a knife reported.",
    }
    refused = post(
        supervisor, f"/cases/{code}/decide", {"version": version_of(app, case_id), **measure}
    )
    assert refused.status_code == 409
    assert "not corroborated" in refused.get_data(as_text=True)
    verified = post(
        supervisor,
        f"/cases/{code}/verify",
        {
            "version": version_of(app, case_id),
            "outcome": "corroborated",
            "method": "police_check",
            "note": "Police confirmed.",
        },
    )
    assert verified.status_code == 302
    proposed = post(
        supervisor, f"/cases/{code}/decide", {"version": version_of(app, case_id), **measure}
    )
    assert proposed.status_code == 302
    with tx(app) as session:
        decision = session.scalars(select(Decision).where(Decision.case_id == case_id)).one()
        decision_id, dv = decision.id, decision.version
        assert decision.status == "awaiting_approval"
    own = post(supervisor, f"/cases/decisions/{decision_id}/approve", {"version": dv})
    assert own.status_code == 302
    assert "another supervisor must approve" in supervisor.get("/cases/").get_data(as_text=True)
    second = signed_in(app, make_user(app, "supervisor.b", Role.SUPERVISOR, Region.KARAGANDA))
    queue = second.get("/cases/approvals").get_data(as_text=True)
    assert code in queue and "Review and decide" in queue
    assert "Overdue" not in queue
    assert "CoAO Article 54" not in queue  # the legal basis is sealed: only the case page shows it
    with tx(app) as session:  # the deadline passes while the proposal waits
        waiting = session.get(Case, case_id)
        waiting.deadline_at = waiting.opened_at - timedelta(minutes=1)
    assert "Overdue" in second.get("/cases/approvals").get_data(as_text=True)
    case_page = second.get(f"/cases/{code}").get_data(as_text=True)
    assert "Threats with a knife reported." in case_page and "Approve" in case_page
    assert case_page.count("CoAO Article 54") == 2  # the decisions table and the timeline
    assert (
        post(second, f"/cases/decisions/{decision_id}/approve", {"version": dv}).status_code == 302
    )
    with tx(app) as session:
        stored = session.get(Decision, decision_id)
        assert stored is not None and stored.status == "in_effect"
        assert stored.approved_by != accounts[Role.SUPERVISOR].id


def test_a_stale_form_gets_a_clear_conflict_and_changes_nothing(app, accounts, reviewer):
    case_id = make_case(app)
    code = code_of(app, case_id)
    post(reviewer, f"/cases/{code}/claim")
    page = reviewer.get(f"/cases/{code}/verify").get_data(as_text=True)
    stale = int(re.search(r'name="version"[^>]*value="(\d+)"', page).group(1))  # type: ignore[union-attr]
    assessed = post(
        reviewer, f"/cases/{code}/assess", {"version": stale, "item_1": "yes", "item_2": "yes"}
    )
    assert assessed.status_code == 302
    response = post(
        reviewer,
        f"/cases/{code}/verify",
        {"version": stale, "outcome": "unfounded", "note": "A hoax."},
    )
    assert response.status_code == 409
    assert "Someone else changed this case; reload" in response.get_data(as_text=True)
    with tx(app) as session:
        found = session.get(Case, case_id)
        assert found is not None and found.status == "open" and found.verification == "unverified"
        assert found.risk_level == "high"


def test_forms_refuse_missing_reasons_with_the_reason_why(app, accounts, reviewer):
    case_id = make_case(
        app,
        source=SourceKind.DIRECT,
        verification_state=Verification.CORROBORATED,
        victim_complaint=True,
    )
    code = code_of(app, case_id)
    post(reviewer, f"/cases/{code}/claim")
    override = post(
        reviewer,
        f"/cases/{code}/assess",
        {"version": version_of(app, case_id), "level": "high", "reason": ""},
    )
    assert override.status_code == 422 and "write down the reason" in override.get_data(
        as_text=True
    )
    wishes = post(
        reviewer,
        f"/cases/{code}/decide",
        {
            "version": version_of(app, case_id),
            "measure": "safety_plan",
            "rationale": "Plan.",
            "against_victim_wishes": "y",
        },
    )
    assert wishes.status_code == 422 and "victim's recorded wishes" in wishes.get_data(as_text=True)


def test_pages_render_for_reviewers_and_supervisors(app, accounts):
    case_id = make_case(app)
    code = code_of(app, case_id)
    for role in (Role.REVIEWER, Role.SUPERVISOR):
        client = signed_in(app, accounts[role])
        post(client, f"/cases/{code}/claim")
        for path in (
            "/cases/",
            "/cases/?closed=y",
            f"/cases/{code}",
            f"/cases/{code}/assess",
            f"/cases/{code}/decide",
            f"/cases/{code}/verify",
            f"/cases/{code}/note",
            f"/cases/{code}/close",
        ):
            response = client.get(path)
            assert response.status_code == 200, (role, path)
        post(client, f"/cases/{code}/release")
    supervisor = signed_in(app, accounts[Role.SUPERVISOR])
    assert supervisor.get("/cases/approvals").status_code == 200
    assert supervisor.get(f"/cases/{code}/reassign").status_code == 200
    home = supervisor.get("/").get_data(as_text=True)
    assert "/cases/approvals" in home and "Queue" in home


def test_a_measure_past_its_end_shows_as_ended_on_the_case_page_and_the_queue(
    app, accounts, reviewer
):
    case_id = make_case(app, verification_state=Verification.CORROBORATED)
    code = code_of(app, case_id)
    post(reviewer, f"/cases/{code}/claim")
    today = datetime.now(UTC).date()
    proposed = post(
        reviewer,
        f"/cases/{code}/decide",
        {
            "version": version_of(app, case_id),
            "measure": "safety_plan",
            "rationale": "Plan.",
            "ends_on": (today + timedelta(days=3)).isoformat(),
        },
    )
    assert proposed.status_code == 302
    page = reviewer.get(f"/cases/{code}").get_data(as_text=True)
    assert "In effect" in page and "Ended" not in page
    with tx(app) as session:  # time passes: the end date is two days ago
        decision = session.scalars(select(Decision).where(Decision.case_id == case_id)).one()
        decision.starts_on = today - timedelta(days=9)
        decision.ends_on = today - timedelta(days=2)
        decision.follow_up_on = today - timedelta(days=7)
    page = reviewer.get(f"/cases/{code}").get_data(as_text=True)
    assert "Ended" in page and "In effect" not in page
    queue = reviewer.get("/cases/").get_data(as_text=True)
    assert "Ended 2 days ago" in queue


def test_the_holder_sees_probable_matches_and_moves_a_report(app, accounts, reviewer):
    from tests.integration.test_review_services import file_about

    older, _ = file_about(app, "+7 701 555 6677")
    newer, report_id = file_about(app, "+7 701 555 6677")
    code, older_code = code_of(app, newer), code_of(app, older)
    page = reviewer.get(f"/cases/{code}").get_data(as_text=True)
    assert "Probable matches" not in page  # only for the holder
    post(reviewer, f"/cases/{code}/claim")
    page = reviewer.get(f"/cases/{code}").get_data(as_text=True)
    assert "Probable matches" in page and f"Move this report to case {older_code}" in page
    path = f"/cases/{code}/reports/{report_id}/move"
    stale = post(reviewer, path, {"version": 0, "target": older_code})
    assert stale.status_code == 302 and code_of(app, newer) == code
    with tx(app) as session:
        assert session.get(Case, newer).status == "open"
    moved = post(reviewer, path, {"version": version_of(app, newer), "target": older_code})
    assert moved.status_code == 302
    with tx(app) as session:
        assert session.get(Case, newer).status == "closed"
        assert session.get(Case, newer).outcome == "duplicate"
    assert older_code in reviewer.get(f"/cases/{code}").get_data(as_text=True)


def test_the_reassign_form_is_a_compare_and_set_on_the_claim_it_showed(app, accounts):
    case_id = make_case(app)
    code = code_of(app, case_id)
    supervisor = signed_in(app, accounts[Role.SUPERVISOR])
    page = supervisor.get(f"/cases/{code}/reassign").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    seen = dict(re.findall(r'name="(seen_holder|seen_expiry)"[^>]*value="([^"]*)"', page))
    assert seen == {"seen_holder": "", "seen_expiry": ""}
    other = make_user(app, "reviewer.c", Role.REVIEWER, Region.KARAGANDA)
    post(signed_in(app, accounts[Role.REVIEWER]), f"/cases/{code}/claim")  # claimed meanwhile
    late = supervisor.post(
        f"/cases/{code}/reassign", data={"csrf_token": csrf, "to_user": str(other.id), **seen}
    )
    assert late.status_code == 409 and "meanwhile" in late.get_data(as_text=True)
    with tx(app) as session:
        assert session.get(Case, case_id).claimed_by == accounts[Role.REVIEWER].id


# -- the unit of work: reads write nothing, refusals keep nothing ------------------------------

WRITES = ("INSERT", "UPDATE", "DELETE")


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the app's engine sends while the block runs."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    engine = uow_of(app).engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def writes(sent: list[str]) -> list[str]:
    return [s for s in sent if s.lstrip().upper().startswith(WRITES)]


def test_the_queue_page_makes_no_write(app, accounts):
    supervisor = signed_in(app, accounts[Role.SUPERVISOR])
    make_case(app, categories=("killing",))
    with tx(app) as session:  # opened outside intake and never triaged: the queue leaves it be
        untriaged = file_report(
            session,
            source_kind=SourceKind.MEDIA,
            payload=PAYLOAD,
            actor="system",
            region=Region.KARAGANDA,
        ).case_id
    with statements(app) as sent:
        for path in ("/cases/", "/cases/?level=high&overdue=y", "/cases/?closed=y&page=2"):
            response = supervisor.get(path)
            assert response.status_code == 200, path
        assert supervisor.get("/cases/approvals").status_code == 200
    assert any(s.lstrip().upper().startswith("SELECT") for s in sent)
    assert writes(sent) == []
    with tx(app) as session:
        found = session.get(Case, untriaged)
        assert found is not None and found.deadline_at is None
    assert code_of(app, untriaged) in supervisor.get("/cases/").get_data(as_text=True)


def state(app: Flask, case_id: str) -> tuple[object, ...]:
    """What a refused action must leave as it was: the case's claim and version, the audit log
    and the decisions."""
    with tx(app) as session:
        found = session.get(Case, case_id)
        assert found is not None
        return (
            found.claimed_by,
            found.claim_expires_at,
            found.version,
            found.status,
            session.scalar(select(func.max(AuditEvent.seq))),
            session.scalar(select(func.count()).select_from(Decision)),
        )


def test_a_refused_action_leaves_nothing_half_written(app, accounts, reviewer):
    # A direct report from the victim, who said no to being contacted.
    case_id = make_case(
        app,
        source=SourceKind.DIRECT,
        verification_state=Verification.CORROBORATED,
        victim_complaint=True,
    )
    code = code_of(app, case_id)
    post(reviewer, f"/cases/{code}/claim")
    other = signed_in(app, make_user(app, "reviewer.b", Role.REVIEWER, Region.KARAGANDA))

    before = state(app, case_id)
    assert post(other, f"/cases/{code}/claim").status_code == 302
    assert state(app, case_id) == before
    assert "Another reviewer holds this case" in other.get("/cases/").get_data(as_text=True)

    # Proposing to contact her renews the holder's claim and decrypts her report (an audited
    # read) before the missing reason refuses it: all of that is rolled back with the refusal.
    proposal = {"version": version_of(app, case_id), "measure": "contact_victim", "rationale": "."}
    with statements(app) as sent:
        response = post(reviewer, f"/cases/{code}/decide", proposal)
    assert response.status_code == 422
    assert "victim's recorded wishes" in response.get_data(as_text=True)
    assert writes(sent), "the refused block wrote nothing: the test proves nothing"
    assert state(app, case_id) == before


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("ru", "Прежде чем работать с делом, возьмите его в работу."),
        ("kk", "Іспен жұмыс істемес бұрын оны өзіңізге алыңыз."),
    ],
)
def test_a_refusal_is_shown_in_the_readers_language(app, accounts, reviewer, language, message):
    code = code_of(app, make_case(app))
    post(reviewer, f"/cases/{code}/claim")
    other = signed_in(app, make_user(app, "reviewer.b", Role.REVIEWER, Region.KARAGANDA))
    refused = post(
        other, f"/cases/{code}/note", {"text": "mine"}, headers={"Accept-Language": language}
    )
    assert refused.status_code == 409
    assert message in refused.get_data(as_text=True)
