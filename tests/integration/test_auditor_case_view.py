"""The auditor's view of a case, on a real database (both engines): a case filled through the real
forms and services with distinctive names, phones, IINs, addresses, links and stories (a direct
report with an attachment, a media and an online report, a verification, an assessment, notes,
decisions approved and rejected, her consent, a document, hand-overs with and without her
consent) shows its code, region, level, verification, decisions and who approved them, the
documents' and hand-overs' ids and SHA-256s and its audit events, and none of those strings;
nothing sealed is opened while it renders; every view is audited; the timeline holds the case's
events and no other case's, paged; a case is looked up by code or id; other roles are refused.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select

from tests.conftest import Account, AuthActions, facts, make_user
from tests.integration.test_intake_forms import PNG
from tests.integration.test_review_services import RULES, make_case, tx, user, version_of
from triage import audit, crypto, normalise, oversight, sealed
from triage.models import AuditEvent, Case, Decision, Handover, IssuedDocument, Report
from triage.reports import file_report
from triage.review import assessments, cases, claims, consent, decisions, verification
from triage.vocab import Region, Role, SourceKind

pytestmark = pytest.mark.slow

VICTIM_IIN = "900315400017"
AGGRESSOR_IIN = "880101300010"
DIRECT_FORM = {
    "reporter": "neighbour",
    "reporter_name": "Зульфия Соседкина",
    "reporter_contact": "+7 702 111 22 33",
    "victim_name": "Гаухар Сейткалиева",
    "victim_birth_date": "1990-03-15",
    "victim_iin": VICTIM_IIN,
    "victim_phone": "+7 701 555 42 17",
    "victim_address": "Караганда, ул. Небывалая, 13",
    "aggressor_name": "Руслан Тестбеков",
    "aggressor_birth_date": "1988-01-01",
    "aggressor_iin": AGGRESSOR_IIN,
    "relationship": "spouse",
    "place": "подъезд на улице Придуманной",
    "region": "karaganda",
    "categories": ["battery", "threat"],
    "children_present": "yes",
    "may_contact": "yes",
    "safe_contact": "звонить сестре после шести",
    "consent_support_services": "unknown",
    "wishes": "хочет уехать к матери в Темиртау",
    "narrative": "Сосед слышал, как Руслан душил Гаухар и кричал, что убьёт её (выдумано).",
}
MEDIA = {
    "outlet": "Вечерний Тестовск",
    "url": "https://news-example.kz/2026/gaukhar-seitkalieva-9931",
    "headline": "Жительницу Караганды душил муж",
    "text": "Гаухар Сейткалиева рассказала, что Руслан Тестбеков угрожал ей топором.",
    "people": ["Гаухар Сейткалиева", "Руслан Тестбеков"],
}
ONLINE = {
    "platform": "telegram",
    "post_url": "https://t.me/example_channel_7781/442",
    "author_handle": "@gaukhar_sister_77",
    "captured_text": "Моя сестра снова вся в синяках, помогите кто-нибудь",
}
ATTACHMENT_NAME = "gaukhar-sinyaki-7781.png"
#: What reviewers and supervisors write, each sealed with its record.
WRITTEN = {
    "verification": "Подтвердил участковый Ахметжанов",
    "assessment": "по мнению специалиста Ахметжанова",
    "note": "Звонила сестра Айгуль Тестбекова",
    "rationale": "Гаухар опасается за жизнь детей",
    "legal_basis": "ст. 54, добавлено Ахметжановым",
    "rejection": "Руслан уже уехал в Экибастуз",
    "consent": "согласие получено у Гаухар по телефону",
    "handover": "Руслан угрожал ножом соседям по подъезду",
}

#: Every distinctive piece of a person's data above, as typed and in normal forms.
PERSONAL = [
    "Зульфия",
    "Соседкина",
    "702 111 22 33",
    "Гаухар",
    "Сейткалиева",
    VICTIM_IIN,
    "701 555 42 17",
    normalise.phone("+7 701 555 42 17"),
    "Небывалая",
    "Руслан",
    "Тестбеков",
    AGGRESSOR_IIN,
    "Придуманной",
    "звонить сестре",
    "Темиртау",
    "душил",
    "Вечерний Тестовск",
    "gaukhar-seitkalieva",
    "news-example.kz",
    "топором",
    "example_channel_7781",
    "gaukhar_sister",
    "синяках",
    ATTACHMENT_NAME,
    *WRITTEN.values(),
]


@dataclass(frozen=True)
class Filled:
    case_id: str
    code: str
    report_ids: list[str]
    approved: str
    rejected: str
    documents: dict[str, str]  # id → SHA-256, of every document issued for the case
    police_handover: str


def _signed_in(app: Flask, account: Account) -> FlaskClient:
    client = app.test_client()
    AuthActions(client).login_as(account)
    return client


def _token(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def _post(client: FlaskClient, path: str, data: dict[str, Any], form_page: str = "/cases/") -> Any:
    return client.post(path, data={"csrf_token": _token(client, form_page), **data})


@pytest.fixture
def people(app: Flask, accounts: dict[Role, Account]) -> dict[str, Account]:
    return {
        "caseworker": accounts[Role.CASEWORKER],
        "reviewer": accounts[Role.REVIEWER],
        "supervisor": accounts[Role.SUPERVISOR],
        "supervisor2": make_user(app, "supervisor.two", Role.SUPERVISOR, Region.KARAGANDA),
        "auditor": accounts[Role.AUDITOR],
        "admin": accounts[Role.ADMIN],
    }


def fill_case(app: Flask, people: dict[str, Account]) -> Filled:
    """A Karaganda case worked on from report to hand-over, through the forms where they exist."""
    caseworker = AuthActions(app.test_client())
    caseworker.login_as(people["caseworker"])
    page = caseworker.file_report(
        "direct",
        {**DIRECT_FORM, "attachments": [(io.BytesIO(PNG), ATTACHMENT_NAME)]},
    )
    direct_id = page.rstrip("/").rsplit("/", 1)[-1]
    with tx(app) as session:
        direct = session.get(Report, direct_id)
        assert direct is not None and direct.case_id is not None
        case_ = session.get(Case, direct.case_id)
        assert case_ is not None
        case_id, code = case_.id, case_.code
        more = [
            file_report(
                session,
                source_kind=kind,
                payload=payload,
                actor="system",
                region=Region.KARAGANDA,
                categories=["threat"],
                case=case_,
            ).id
            for kind, payload in ((SourceKind.MEDIA, MEDIA), (SourceKind.ONLINE, ONLINE))
        ]
    now = datetime.now(UTC)
    with tx(app) as session:
        me = user(session, people["reviewer"])
        claims.claim(session, me, case_id, now=now, rules=RULES)
        verification.record_verification(
            session,
            me,
            case_id,
            version=version_of(session, case_id),
            outcome="corroborated",
            method="police_check",
            note=WRITTEN["verification"],
            rules=RULES,
        )
    with tx(app) as session:
        me = user(session, people["reviewer"])
        assessments.record_assessment(
            session,
            me,
            case_id,
            version=version_of(session, case_id),
            answers={**dict.fromkeys(range(1, 23), "no"), 1: "yes", 2: "yes"},
            level="high",
            reason=WRITTEN["assessment"],
            rules=RULES,
        )
        cases.add_note(session, me, case_id, WRITTEN["note"], rules=RULES)
        consent.record(
            session,
            me,
            case_id,
            kind="support_service",
            answer="yes",
            method="phone",
            note=WRITTEN["consent"],
            rules=RULES,
        )

    def propose(measure: str, **extra: Any) -> str:
        with tx(app) as session:
            made = decisions.propose(
                session,
                user(session, people["reviewer"]),
                case_id,
                version=version_of(session, case_id),
                measure=measure,
                rationale=WRITTEN["rationale"],
                grounds=[g.code for g in RULES.legal.for_measure(measure)][:2],
                legal_basis=WRITTEN["legal_basis"],
                rules=RULES,
                **extra,
            )
            return made.id

    approved = propose("protective_order")
    rejected = propose("special_requirements", ends_on=now.date() + timedelta(days=180))
    with tx(app) as session:
        boss = user(session, people["supervisor"])
        found = session.get(Decision, approved)
        assert found is not None
        decisions.approve(session, boss, approved, version=found.version)
        found = session.get(Decision, rejected)
        assert found is not None
        decisions.reject(
            session, boss, rejected, version=found.version, reason=WRITTEN["rejection"]
        )

    reviewer = _signed_in(app, people["reviewer"])
    case_page = reviewer.get(f"/cases/{code}")  # decrypts, audited
    assert case_page.status_code == 200
    # The control: a page that opens the payloads shows these strings.
    shown = case_page.get_data(as_text=True)
    assert [
        v for v in ("Гаухар", VICTIM_IIN, "душил", "топором", "синяках") if v not in shown
    ] == []
    issued = _post(reviewer, f"/cases/decisions/{approved}/document", {"language": "ru"})
    assert issued.status_code == 302, issued.get_data(as_text=True)
    support = _post(
        reviewer,
        f"/cases/{code}/handover",
        {"recipient": "kar-crisis-centre", "language": "ru", "reason": ""},
    )
    assert support.status_code == 302, support.get_data(as_text=True)
    police = _post(
        reviewer,
        f"/cases/{code}/handover",
        {"recipient": "kar-police-women", "language": "kk", "reason": WRITTEN["handover"]},
    )
    assert police.status_code == 302, police.get_data(as_text=True)
    with tx(app) as session:
        waiting = session.scalars(
            select(Handover).where(Handover.status == "awaiting_approval")
        ).one()
        police_id, police_version = waiting.id, waiting.version
    second = _signed_in(app, people["supervisor2"])
    approval = _post(second, f"/handovers/{police_id}/approve", {"version": str(police_version)})
    assert approval.status_code == 302, approval.get_data(as_text=True)
    with tx(app) as session:
        docs = {
            d.id: d.sha256
            for d in session.scalars(
                select(IssuedDocument).where(IssuedDocument.case_id == case_id)
            )
        }
    assert len(docs) == 5  # the protective order's PDF, and a PDF and a JSON per hand-over
    return Filled(case_id, code, [direct_id, *more], approved, rejected, docs, police_id)


def _events(app: Flask, action: str | None = None) -> list[AuditEvent]:
    with tx(app) as session:
        query = select(AuditEvent).order_by(AuditEvent.seq)
        if action:
            query = query.where(AuditEvent.action == action)
        found = list(session.scalars(query))
        for e in found:
            session.expunge(e)
        return found


def _pages(client: FlaskClient, code: str) -> Iterator[str]:
    """Every page of the case's view, its timeline paged on."""
    first = client.get(f"/audit/cases/{code}")
    assert first.status_code == 200, first.get_data(as_text=True)
    html = first.get_data(as_text=True)
    yield html
    pages = int(re.search(r"Page 1 of (\d+)", html).group(1)) if "Page 1 of" in html else 1  # type: ignore[union-attr]
    for n in range(2, pages + 1):
        more = client.get(f"/audit/cases/{code}", query_string={"page": n})
        assert more.status_code == 200
        yield more.get_data(as_text=True)


def _refuse(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("the auditor's view of a case must never decrypt")


def test_the_view_shows_the_cases_facts_and_no_personal_data(app, people, monkeypatch):
    filled = fill_case(app, people)
    auditor = _signed_in(app, people["auditor"])
    decrypted = len(_events(app, "payload.decrypted"))
    assert decrypted > 0  # the reviewer's page and the documents did open payloads, audited
    monkeypatch.setattr(sealed, "open_payload", _refuse)
    monkeypatch.setattr(sealed, "open_beside", _refuse)
    for name in ("open", "open_bytes", "_unwrap"):
        monkeypatch.setattr(crypto.Keyring, name, _refuse)

    pages = list(_pages(auditor, filled.code))
    html = "\n".join(pages)

    leaked = [value for value in PERSONAL if value in html]
    assert leaked == []
    assert len(_events(app, "payload.decrypted")) == decrypted
    first = pages[0]
    # The case's plain facts.
    assert filled.code in first and filled.case_id in first
    for shown in ("Karaganda Region", "Corroborated", "High", "Direct: 1", "Media: 1", "Online: 1"):
        assert shown in first, shown
    assert ATTACHMENT_NAME not in first and ">1<" in first  # the attachment counted, not named
    # Decisions: measures, grounds' codes and citations, who proposed, approved and rejected.
    assert "Protective order" in first and "Special requirements" in first
    for decision in (filled.approved, filled.rejected):
        assert decision in first
        with tx(app) as session:
            found = session.get(Decision, decision)
            assert found is not None and found.grounds
            for code in found.grounds:
                assert code in first
                ground = RULES.legal.get(code)
                assert ground is not None and str(escape(ground.short_citation("en"))) in first
    for name in (people["reviewer"].username, people["supervisor"].username, "supervisor.two"):
        assert name in first
    assert "Approved" in first and "Rejected" in first
    # Consent, documents and hand-overs: codes, ids and whole SHA-256s.
    assert "kar-crisis-centre" in first and "kar-police-women" in first
    assert "with her consent" in first and "without her consent" in first
    for document_id, digest in filled.documents.items():
        assert document_id in first
        assert f"{digest[:32]}<br>{digest[32:]}" in first
    # The timeline: the case's events, from its opening to the hand-overs.
    actions = set(re.findall(r'class="mono small action" title="([a-z_.]+)"', html))
    assert {
        "case.opened",
        "report.filed",
        "attachment.added",
        "case.claimed",
        "case.verified",
        "assessment.recorded",
        "case.note_added",
        "consent.recorded",
        "decision.proposed",
        "decision.approved",
        "decision.rejected",
        "payload.decrypted",
        "document.issued",
        "handover.requested",
        "handover.approved",
        "case.handed_over",
    } <= actions


def test_each_view_is_audited_and_shows_in_the_next(app, client, auth, accounts):
    case_id = make_case(app)
    with tx(app) as session:
        code = session.get(Case, case_id).code  # type: ignore[union-attr]
    auth.login_as(accounts[Role.AUDITOR])
    assert _events(app, "audit.case_viewed") == []
    first = client.get(f"/audit/cases/{code}").get_data(as_text=True)
    assert "audit.case_viewed" not in first
    viewed = _events(app, "audit.case_viewed")
    assert [(e.actor, e.object_type, e.object_id) for e in viewed] == [
        (str(accounts[Role.AUDITOR].id), "case", case_id)
    ]
    assert facts(audit.event_fields(viewed[0]))["details"] == {"case_id": case_id, "page": 1}
    second = client.get(f"/audit/cases/{case_id}").get_data(as_text=True)  # by id, as the log
    assert 'title="audit.case_viewed"' in second
    assert len(_events(app, "audit.case_viewed")) == 2


def test_the_timeline_holds_this_cases_events_only_and_pages_on(app, client, auth, accounts):
    mine, other = make_case(app), make_case(app)
    with tx(app) as session:
        code = session.get(Case, mine).code  # type: ignore[union-attr]
        report = session.scalars(select(Report.id).where(Report.case_id == mine)).one()
        for n in range(60):
            audit.append(
                session,
                actor="system",
                action="case.claimed",
                object_type="case",
                object_id=mine,
                details={"n": n},
            )
        for delivery, about in (("7", mine), ("8", other)):  # named in the details only
            audit.append(
                session,
                actor="system",
                action="alert.sent",
                object_type="delivery",
                object_id=delivery,
                details={"case_id": about},
            )
        ours = {
            e.seq
            for e in session.scalars(select(AuditEvent))
            if e.object_id in (mine, report) or mine in e.details
        }
        theirs = {
            e.seq
            for e in session.scalars(select(AuditEvent))
            if other in f"{e.object_id}{e.details}"
        }
    assert len(ours) > oversight.PAGE_SIZE and theirs
    auth.login_as(accounts[Role.AUDITOR])

    def seqs(page: object) -> list[int]:
        got = client.get(f"/audit/cases/{code}", query_string={"page": page})
        assert got.status_code == 200
        return [int(s) for s in re.findall(r"<tr>\s*<td>(\d+)</td>", got.get_data(as_text=True))]

    first, second = seqs(1), seqs(2)
    assert len(first) == oversight.PAGE_SIZE and first == sorted(first)
    assert second == sorted(second) and max(first) < min(second)
    shown = set(first) | set(second)
    views = {e.seq for e in _events(app, "audit.case_viewed")}
    assert ours <= shown and shown - ours <= views  # and the first view, on the second page
    assert not theirs & shown
    assert seqs("nonsense") == first and seqs(0) == first
    assert seqs(999)[: len(second)] == second  # the last page, grown by the views since


def test_a_case_is_looked_up_by_its_code_or_id(app, client, auth, accounts):
    case_id = make_case(app)
    with tx(app) as session:
        code = session.get(Case, case_id).code  # type: ignore[union-attr]
    auth.login_as(accounts[Role.AUDITOR])

    def look_up(text: str) -> Any:
        return _post(client, "/audit/cases/", {"ref": text}, form_page="/audit/cases/")

    for typed in (code, code.lower(), code.replace("-", "").lower(), code[2:], f" {case_id} "):
        found = look_up(typed)
        assert found.status_code == 302, typed
        assert found.headers["Location"] == f"/audit/cases/{code}"
    name = "Гаухар Сейткалиева"
    wrong = look_up(name)
    assert wrong.status_code == 422
    page = wrong.get_data(as_text=True)
    assert "Write the case&#39;s code" in page and name not in page
    unknown = look_up("C-0000-0000")
    assert unknown.status_code == 404 and "There is no such case" in unknown.get_data(as_text=True)
    empty = look_up("")
    assert empty.status_code == 400 and "this field is required" in empty.get_data(as_text=True)
    assert client.get("/audit/cases/C-0000-0000").status_code == 404
    assert _events(app, "audit.case_viewed") == []


@pytest.mark.parametrize("role", [Role.CASEWORKER, Role.REVIEWER, Role.SUPERVISOR, Role.ADMIN])
def test_other_roles_are_refused(app, client, auth, accounts, role):
    case_id = make_case(app)
    with tx(app) as session:
        code = session.get(Case, case_id).code  # type: ignore[union-attr]
    auth.login_as(accounts[role])
    refused = client.get(f"/audit/cases/{code}")
    assert refused.status_code == 403
    assert 'id="facts"' not in refused.get_data(as_text=True)
    assert client.get("/audit/cases/").status_code == 403
    assert _events(app, "audit.case_viewed") == []


def test_the_audit_log_and_the_menu_lead_to_the_view(app, client, auth, accounts):
    case_id = make_case(app)
    auth.login_as(accounts[Role.AUDITOR])
    home = client.get("/").get_data(as_text=True)
    assert 'href="/audit/cases/"' in home
    log = client.get("/audit/", query_string={"object_type": "case"}).get_data(as_text=True)
    assert f'href="/audit/cases/{case_id}"' in log
