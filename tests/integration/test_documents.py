"""Documents, consent and hand-overs on a real database (both engines), through the service layer
and the pages: each document kind renders to a real PDF whose text (pdftotext) holds the case
code and the legal basis in the chosen language and none of the data it must not hold; documents
for decisions not in effect are refused; her consent gates a referral and a hand-over; a
hand-over's audit event holds the SHA-256 of the exact bytes downloaded; legacy typed legal bases
migrate to structured grounds."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import Account, AuthActions, make_user
from tests.integration.test_review_services import RULES, make_case, tx, user, version_of
from tests.integration.test_review_web import post
from triage import audit, documents, handover, legal
from triage.models import AuditEvent, Decision, Handover, IssuedDocument
from triage.review import claims, consent, decisions, verification
from triage.review.errors import ConsentRequired, SelfApprovalRefused
from triage.vocab import DecisionStatus, Region, Role, SourceKind

pytestmark = pytest.mark.slow

NEEDS_PDFTOTEXT = pytest.mark.skipif(
    shutil.which("pdftotext") is None,
    reason="pdftotext (Debian's poppler-utils) is not installed: scripts/install-browser does it",
)

VICTIM_IIN = "900315400014"
AGGRESSOR_IIN = "880101300017"
PAYLOAD = {
    "reporter": "victim",
    "victim": {
        "name": "Айгерим Тестова",
        "birth_date": "1990-03-15",
        "iin": VICTIM_IIN,
        "phone": "77015550101",
        "address": "Караганда, ул. Выдуманная, 7",
    },
    "aggressor": {
        "name": "Болат Тестов",
        "birth_date": "1988-01-01",
        "iin": AGGRESSOR_IIN,
        "address": "Караганда, ул. Придуманная, 9",
    },
    "relationship": "spouse",
    "place": "дома, на кухне",
    "narrative": "Муж ударил её по лицу и угрожал ножом (выдумано для теста).",
    "safe_contact": "звонить только днём с 12 до 14",
    "wishes": "хочет, чтобы он ушёл из дома",
    "children_present": "yes",
    "consent_support_services": "unknown",
}
NARRATIVE_WORD = "ножом"


@pytest.fixture
def people(app: Flask, accounts: dict[Role, Account]) -> dict[str, Account]:
    return {
        "reviewer": accounts[Role.REVIEWER],
        "supervisor": accounts[Role.SUPERVISOR],
        "supervisor2": make_user(app, "supervisor.two", Role.SUPERVISOR, Region.KARAGANDA),
        "outsider": make_user(app, "reviewer.shymkent", Role.REVIEWER, Region.SHYMKENT),
        "auditor": accounts[Role.AUDITOR],
    }


def corroborated_case(app: Flask, holder: Account) -> str:
    """A direct report's case in Karaganda, corroborated, claimed by ``holder``."""
    case_id = make_case(
        app, source=SourceKind.DIRECT, payload=PAYLOAD, categories=("battery", "threat")
    )
    with tx(app) as session:
        claims.claim(session, user(session, holder), case_id, now=datetime.now(UTC), rules=RULES)
    with tx(app) as session:
        verification.record_verification(
            session,
            user(session, holder),
            case_id,
            version=version_of(session, case_id),
            outcome="corroborated",
            method="police_check",
            note="checked",
            rules=RULES,
        )
    return case_id


def propose(app: Flask, who: Account, case_id: str, measure: str, **kw: Any) -> Decision:
    grounds = kw.pop("grounds", [g.code for g in RULES.legal.for_measure(measure)][:2])
    if measure == "special_requirements":
        kw.setdefault("ends_on", datetime.now(UTC).date() + timedelta(days=180))
    with tx(app) as session:
        decision = decisions.propose(
            session,
            user(session, who),
            case_id,
            version=version_of(session, case_id),
            measure=measure,
            rationale="Повторные побои, подтверждено проверкой полиции.",
            grounds=grounds,
            rules=RULES,
            **kw,
        )
        session.flush()
        session.expunge(decision)
        return decision


def approve(app: Flask, who: Account, decision: Decision) -> None:
    with tx(app) as session:
        stored = session.get(Decision, decision.id)
        assert stored is not None
        decisions.approve(session, user(session, who), decision.id, version=stored.version)


def record_consent(app: Flask, who: Account, case_id: str, kind: str, answer: str) -> None:
    with tx(app) as session:
        consent.record(
            session,
            user(session, who),
            case_id,
            kind=kind,
            answer=answer,
            method="phone",
            note="asked by phone",
            rules=RULES,
        )


def text_of(pdf: bytes) -> str:
    done = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return " ".join(done.stdout.decode("utf-8").split())


def issue_via_page(client: FlaskClient, decision_id: str, language: str) -> tuple[int, Any]:
    page = post(
        client,
        f"/cases/decisions/{decision_id}/document",
        {"language": language},
    )
    return page.status_code, page


def download(client: FlaskClient, document_id: str) -> bytes:
    got = client.get(f"/documents/{document_id}/download")
    assert got.status_code == 200, got.get_data(as_text=True)
    assert got.headers["Cache-Control"] == "no-store"
    assert "attachment" in got.headers["Content-Disposition"]
    return got.data


def latest_document(app: Flask) -> IssuedDocument:
    with tx(app) as session:
        doc = session.scalars(
            select(IssuedDocument).order_by(IssuedDocument.issued_at.desc())
        ).first()
        assert doc is not None
        session.expunge(doc)
        return doc


def events(app: Flask, action: str) -> list[AuditEvent]:
    with tx(app) as session:
        found = list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        for e in found:
            session.expunge(e)
        return found


#: Each measure with a document, what its text must hold (beyond the case code and its grounds)
#: and what it must not.
KINDS = {
    "protective_order": (
        ["Болат Тестов", AGGRESSOR_IIN, "Айгерим Тестова", "Супруг"],
        [VICTIM_IIN, "77015550101", NARRATIVE_WORD, "днём"],
    ),
    "special_requirements": (
        ["Болат Тестов", AGGRESSOR_IIN],
        [VICTIM_IIN, "77015550101", NARRATIVE_WORD, "днём"],
    ),
    "compulsory_assistance": (
        ["Болат Тестов", AGGRESSOR_IIN],
        ["Айгерим", VICTIM_IIN, "77015550101", "днём"],
    ),
    "criminal_referral": (["Болат Тестов", VICTIM_IIN, NARRATIVE_WORD], ["77015550101", "днём"]),
    "refer_support": (
        ["Айгерим Тестова", "днём"],
        ["Болат", AGGRESSOR_IIN, VICTIM_IIN, NARRATIVE_WORD],
    ),
}


@NEEDS_PDFTOTEXT
@pytest.mark.parametrize("measure", list(KINDS))
def test_each_document_renders_with_its_basis_and_only_its_data(
    app: Flask, client: FlaskClient, auth: AuthActions, people: dict[str, Account], measure: str
) -> None:
    reviewer, supervisor2 = people["reviewer"], people["supervisor2"]
    case_id = corroborated_case(app, reviewer)
    if measure == "refer_support":
        record_consent(app, reviewer, case_id, "support_service", "yes")
    decision = propose(app, reviewer, case_id, measure)
    if decision.status == DecisionStatus.AWAITING_APPROVAL.value:
        auth.login_as(reviewer)
        status, _page = issue_via_page(client, decision.id, "ru")
        assert status == 409  # not approved yet: refused, nothing issued
        assert events(app, "document.issued") == []
        auth.logout()
        approve(app, supervisor2, decision)

    auth.login_as(supervisor2 if decision.approved_by is None else reviewer)
    status, page = issue_via_page(client, decision.id, "ru")
    assert status == 302, page.get_data(as_text=True)
    doc = latest_document(app)
    data = download(client, doc.id)
    assert data.startswith(b"%PDF")
    assert hashlib.sha256(data).hexdigest() == doc.sha256
    text = text_of(data)

    with tx(app) as session:
        code = session.get(Decision, decision.id).case_id  # type: ignore[union-attr]
        from triage.models import Case

        case_code = session.get(Case, code).code  # type: ignore[union-attr]
    assert case_code in text
    assert doc.id in text
    for ground in RULES.legal.known(decision.grounds or ()):
        # The citation in Russian, as the document prints it (its words may wrap).
        assert ground.title("ru").split()[0] in text
        assert f"ст. {ground.article}" in text or ground.act.title("ru") in text
    must, must_not = KINDS[measure]
    for word in must:
        assert word in text, f"{word!r} missing from the {measure} document"
    for word in must_not:
        assert word not in text, f"{word!r} must not be in the {measure} document"

    issued = events(app, "document.issued")[-1]
    details = json.loads(issued.details)
    assert details["sha256"] == doc.sha256 and details["language"] == "ru"
    assert "Айгерим" not in issued.details and AGGRESSOR_IIN not in issued.details
    reads = [json.loads(e.details)["purpose"] for e in events(app, "payload.decrypted")]
    assert f"document.{doc.kind}" in reads


@NEEDS_PDFTOTEXT
@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("kk", ["Қорғау нұсқамасы", "бап"]),
        ("en", ["Protective order", "Art."]),
    ],
)
def test_a_document_speaks_the_language_chosen(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    people: dict[str, Account],
    language: str,
    words: list[str],
) -> None:
    case_id = corroborated_case(app, people["reviewer"])
    decision = propose(app, people["reviewer"], case_id, "protective_order")
    approve(app, people["supervisor2"], decision)
    auth.login_as(people["supervisor2"])
    status, _ = issue_via_page(client, decision.id, language)
    assert status == 302
    text = text_of(download(client, latest_document(app).id))
    for word in words:
        assert word in text


def test_documents_for_decisions_not_in_effect_are_refused(app, people):
    case_id = corroborated_case(app, people["reviewer"])
    waiting = propose(app, people["reviewer"], case_id, "protective_order")
    with tx(app) as session, pytest.raises(documents.DocumentRefused):
        documents.prepare_for_decision(
            session,
            user(session, people["supervisor"]),
            waiting.id,
            language="ru",
            legal=RULES.legal,
        )
    with tx(app) as session:
        stored = session.get(Decision, waiting.id)
        decisions.withdraw(
            session,
            user(session, people["reviewer"]),
            waiting.id,
            version=stored.version,  # type: ignore[union-attr]
        )
    with tx(app) as session, pytest.raises(documents.DocumentRefused):
        documents.prepare_for_decision(
            session,
            user(session, people["supervisor"]),
            waiting.id,
            language="ru",
            legal=RULES.legal,
        )
    plan = propose(app, people["reviewer"], case_id, "safety_plan", grounds=[])
    with tx(app) as session, pytest.raises(documents.DocumentRefused):
        documents.prepare_for_decision(
            session, user(session, people["reviewer"]), plan.id, language="ru", legal=RULES.legal
        )
    assert events(app, "document.issued") == []


def test_a_decision_out_of_scope_has_no_document(app, client, auth, people):
    case_id = corroborated_case(app, people["reviewer"])
    decision = propose(app, people["reviewer"], case_id, "protective_order")
    approve(app, people["supervisor2"], decision)
    auth.login_as(people["outsider"])
    status, page = issue_via_page(client, decision.id, "ru")
    assert status == 404
    assert "Болат" not in page.get_data(as_text=True)
    assert events(app, "document.issued") == []


def test_a_referral_without_her_yes_is_refused(app, people):
    reviewer = people["reviewer"]
    case_id = corroborated_case(app, reviewer)
    with pytest.raises(ConsentRequired):
        propose(app, reviewer, case_id, "refer_support")
    record_consent(app, reviewer, case_id, "support_service", "no")
    with pytest.raises(ConsentRequired):
        propose(app, reviewer, case_id, "refer_support")
    # A yes for the police is not a yes for a support service.
    record_consent(app, reviewer, case_id, "police", "yes")
    with pytest.raises(ConsentRequired):
        propose(app, reviewer, case_id, "refer_support")
    record_consent(app, reviewer, case_id, "support_service", "yes")
    assert propose(app, reviewer, case_id, "refer_support").status == "in_effect"
    recorded = [json.loads(e.details) for e in events(app, "consent.recorded")]
    assert [r["answer"] for r in recorded] == ["no", "yes", "yes"]
    assert all("asked" not in json.dumps(r) for r in recorded)  # the note is sealed


def test_her_own_reports_yes_counts_but_a_witnesss_does_not(app, people):
    reviewer = people["reviewer"]
    hers = make_case(
        app,
        source=SourceKind.DIRECT,
        payload={**PAYLOAD, "consent_support_services": "yes"},
    )
    witness = make_case(
        app,
        source=SourceKind.DIRECT,
        payload={**PAYLOAD, "reporter": "neighbour", "consent_support_services": "yes"},
    )
    with tx(app) as session:
        me = user(session, reviewer)
        from triage.models import Case, RecipientKind

        state = consent.in_force(session, me, session.get(Case, hers), RecipientKind.SUPPORT)  # type: ignore[arg-type]
        assert state.given and state.method is not None and state.method.value == "her_own_report"
        other = consent.in_force(session, me, session.get(Case, witness), RecipientKind.SUPPORT)  # type: ignore[arg-type]
        assert not other.given


def handover_files(app: Flask, handover_id: str) -> list[IssuedDocument]:
    with tx(app) as session:
        found = list(
            session.scalars(select(IssuedDocument).where(IssuedDocument.handover_id == handover_id))
        )
        for d in found:
            session.expunge(d)
        return found


def test_a_handover_with_her_consent_holds_only_its_fields_and_the_hash_of_its_bytes(
    app, client, auth, people
):
    reviewer = people["reviewer"]
    case_id = corroborated_case(app, reviewer)
    record_consent(app, reviewer, case_id, "support_service", "yes")
    auth.login_as(reviewer)
    with tx(app) as session:
        from triage.models import Case

        code = session.get(Case, case_id).code  # type: ignore[union-attr]
    page = post(
        client,
        f"/cases/{code}/handover",
        {"recipient": "kar-crisis-centre", "language": "ru", "reason": ""},
    )
    assert page.status_code == 302, page.get_data(as_text=True)
    with tx(app) as session:
        made = session.scalars(select(Handover)).one()
        assert made.status == "issued" and made.with_consent
        handover_id = made.id
    files = {d.format: d for d in handover_files(app, handover_id)}
    assert set(files) == {"pdf", "json"}
    pdf, body = download(client, files["pdf"].id), download(client, files["json"].id)
    handed = events(app, "case.handed_over")
    assert len(handed) == 1
    details = json.loads(handed[0].details)
    assert details["recipient"] == "kar-crisis-centre"
    assert details["recipient_kind"] == "support_service"
    assert details["fields"] == list(handover.RECEIVES[handover.RecipientKind.SUPPORT])
    assert details["pdf_sha256"] == hashlib.sha256(pdf).hexdigest()
    assert details["json_sha256"] == hashlib.sha256(body).hexdigest()
    held = json.loads(body)
    assert held["case"]["code"] == code
    assert set(held["fields"]) == set(details["fields"])
    assert held["fields"]["victim.name"] == "Айгерим Тестова"
    flat = json.dumps(held, ensure_ascii=False)
    for absent in ("Болат", AGGRESSOR_IIN, VICTIM_IIN, NARRATIVE_WORD, "77015550101"):
        assert absent not in flat
    if shutil.which("pdftotext"):
        text = text_of(pdf)
        assert code in text and "Айгерим Тестова" in text and "Болат" not in text
    assert "Айгерим" not in handed[0].details


def test_a_handover_to_police_without_consent_needs_a_reason_and_another_supervisor(
    app, client, auth, people
):
    supervisor, supervisor2 = people["supervisor"], people["supervisor2"]
    case_id = corroborated_case(app, supervisor)
    with tx(app) as session, pytest.raises(ConsentRequired):
        handover.request(
            session,
            user(session, supervisor),
            case_id,
            recipient="kar-police-women",
            language="ru",
            reason="",
            directory=RULES.recipients,
        )
    with tx(app) as session, pytest.raises(ConsentRequired):
        handover.request(
            session,
            user(session, supervisor),
            case_id,
            recipient="kar-crisis-centre",
            language="ru",
            reason="She is in danger",
            directory=RULES.recipients,
        )
    with tx(app) as session:
        made = handover.request(
            session,
            user(session, supervisor),
            case_id,
            recipient="kar-police-women",
            language="kk",
            reason="Угроза ножом, она боится подать заявление.",
            directory=RULES.recipients,
        )
        assert made.status == "awaiting_approval" and not made.with_consent
        handover_id, version = made.id, made.version
    with tx(app) as session, pytest.raises(SelfApprovalRefused):
        handover.approve(session, user(session, supervisor), handover_id, version=version)
    assert handover_files(app, handover_id) == []
    auth.login_as(supervisor2)
    with tx(app) as session:
        from triage.models import Case

        code = session.get(Case, case_id).code  # type: ignore[union-attr]
    approved = post(
        client,
        f"/handovers/{handover_id}/approve",
        {"version": str(version)},
        headers={"Referer": f"/cases/{code}"},
    )
    assert approved.status_code == 302
    files = {d.format: d for d in handover_files(app, handover_id)}
    body = json.loads(download(client, files["json"].id))
    assert body["with_consent"] is False
    assert body["reason_without_consent"].startswith("Угроза")
    assert body["fields"]["aggressor.iin"] == AGGRESSOR_IIN
    assert body["fields"]["victim.phone"] == "77015550101"
    assert "victim.safe_contact" not in body["fields"]
    assert [e.action for e in events(app, "handover.approved")] == ["handover.approved"]


def test_an_unknown_recipient_gets_a_clear_message(app, client, auth, people):
    case_id = corroborated_case(app, people["reviewer"])
    auth.login_as(people["reviewer"])
    with tx(app) as session:
        from triage.models import Case

        code = session.get(Case, case_id).code  # type: ignore[union-attr]
    page = post(client, f"/cases/{code}/handover", {"recipient": "nobody", "language": "ru"})
    assert page.status_code == 422
    assert "Choose the recipient from the list." in page.get_data(as_text=True)
    page = post(
        client, f"/cases/{code}/handover", {"recipient": "shy-police-women", "language": "ru"}
    )
    assert page.status_code == 422
    assert "does not serve the case" in page.get_data(as_text=True)
    assert events(app, "handover.requested") == []


def test_a_file_is_checked_against_the_issued_documents(app, client, auth, people):
    case_id = corroborated_case(app, people["reviewer"])
    decision = propose(app, people["reviewer"], case_id, "protective_order")
    approve(app, people["supervisor2"], decision)
    auth.login_as(people["supervisor2"])
    issue_via_page(client, decision.id, "ru")
    data = download(client, latest_document(app).id)
    auth.logout()
    auth.login_as(people["auditor"])
    for body, expected in ((data, "Yes: this is a document"), (data + b"\n", "No: no document")):
        page = post(
            client,
            "/documents/check",
            {"file": (io.BytesIO(body), "order.pdf")},
            content_type="multipart/form-data",
        )
        assert page.status_code == 200
        assert expected in page.get_data(as_text=True)
    found = [json.loads(e.details)["found"] for e in events(app, "document.checked")]
    assert found == [True, False]


def test_grounds_must_belong_to_the_measure(app, people):
    case_id = corroborated_case(app, people["reviewer"])
    with pytest.raises(decisions.InvalidDecision, match="not a legal ground"):
        propose(app, people["reviewer"], case_id, "protective_order", grounds=["cc.120"])
    with pytest.raises(decisions.InvalidDecision, match="Choose the legal grounds"):
        propose(app, people["reviewer"], case_id, "protective_order", grounds=[])
    typed = propose(
        app,
        people["reviewer"],
        case_id,
        "protective_order",
        grounds=[],
        legal_basis="Уголовный кодекс, ст. 110",
    )
    assert typed.grounds == []


def test_typed_legal_bases_of_old_decisions_become_grounds(app, people):
    case_id = corroborated_case(app, people["reviewer"])
    proposal = propose(
        app,
        people["reviewer"],
        case_id,
        "protective_order",
        grounds=[],
        legal_basis="КоАП РК, статья 461; Закон о профилактике бытового насилия, ст. 20",
    )
    with tx(app) as session:
        stored = session.get(Decision, proposal.id)
        stored.grounds = None  # type: ignore[union-attr]  # as migration 0009 leaves it
    with tx(app) as session:
        assert decisions.migrate_grounds(session, RULES.legal) == 1
    with tx(app) as session:
        assert session.get(Decision, proposal.id).grounds == ["ldv.20", "coao.461"]  # type: ignore[union-attr]
        assert decisions.migrate_grounds(session, RULES.legal) == 0
    migrated = events(app, "decision.grounds_migrated")
    assert json.loads(migrated[0].details)["grounds"] == ["ldv.20", "coao.461"]


def test_a_broken_grounds_file_is_refused_with_its_problem(tmp_path):
    bad = tmp_path / "grounds.toml"
    bad.write_text('[acts.x]\nen = "X"\nru = "X"\nkk = "X"\n[[grounds]]\ncode = "x.1"\nact = "y"\n')
    with pytest.raises(legal.LegalGroundsError, match="names an act that is not under"):
        legal.load(bad)
    with pytest.raises(legal.LegalGroundsError, match="cannot read"):
        legal.load(tmp_path / "missing.toml")
    assert audit.ACTIONS["case.handed_over"]
