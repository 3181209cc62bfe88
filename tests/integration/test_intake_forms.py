"""A caseworker files reports of each source kind through the web forms: validation messages next
to the field, probable matches confirmed by hand, a repeated source refused, attachments sealed
and typed by content, and everything stored sealed, audited, and readable by permitted users
only."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.conftest import Account, AuthActions, facts, make_user
from triage import audit, sealed
from triage.models import Attachment, Case, Report
from triage.vocab import Region, Role
from triage.web.deps import uow_of

PNG = (
    bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489") + b"\0" * 64
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ARTICLE = (
    Path(__file__).resolve().parents[2] / "triage" / "demo_data" / "ru-incident.txt"
).read_text()

DIRECT = {
    "reporter": "neighbour",
    "reporter_name": "Гүлнар Әбенова",
    "victim_name": "Салтанат Жұмабекова",
    "victim_birth_date": "1988-03-14",
    "victim_phone": "+7 705 123 45 67",
    "aggressor_name": "Ерлан Жұмабеков",
    "aggressor_age": "41",
    "relationship": "spouse",
    "region": "karaganda",
    "occurred_on": (date.today() - timedelta(days=1)).isoformat(),
    "categories": ["battery", "threat"],
    "place": "пр. Бухар-Жырау, 12",
    "children_present": "yes",
    "narrative": "Соседка слышала крики; муж бил её и угрожал ножом. <script>alert(1)</script>",
    "may_contact": "yes",
    "safe_contact": "только SMS после 18:00",
}


def _file(client: FlaskClient, auth: AuthActions, kind: str, data: dict, files: dict | None = None):
    token = auth.csrf_token(f"/reports/new/{kind}")
    payload = {"csrf_token": token, **data}
    if files:
        payload.update(files)
    return client.post(f"/reports/new/{kind}", data=payload, content_type="multipart/form-data")


def _count(app: Flask, model) -> int:
    with app.app_context(), uow_of(app).read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _actions(app: Flask) -> list[str]:
    with app.app_context(), uow_of(app).read() as session:
        return [e["action"] for e in audit.iter_events(session)]


def test_direct_report_is_filed_sealed_and_shown_back(app, client, accounts, auth) -> None:
    auth.login_as(accounts[Role.CASEWORKER])
    response = _file(
        client, auth, "direct", DIRECT, {"attachments": [(io.BytesIO(PNG), "photo.png")]}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Салтанат Жұмабекова" in html and "только SMS после 18:00" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "image/png" in html

    with app.app_context(), uow_of(app).read() as session:
        report = session.scalars(select(Report)).one()
        case = session.get(Case, report.case_id)
        assert report.region == "karaganda" and report.categories == ["battery", "threat"]
        assert report.verification == "unverified"  # a neighbour, not the victim herself
        assert case is not None and case.deadline_at is not None
        assert b"Salt" not in (report.payload or b"") and "Салтанат".encode() not in (
            report.payload or b""
        )
    actions = _actions(app)
    assert {"case.opened", "report.filed", "attachment.added", "payload.decrypted"} <= set(actions)

    listing = client.get("/reports/").get_data(as_text=True)
    assert case.code in listing
    assert "Салтанат" not in listing  # lists show no personal data


def test_validation_messages_sit_next_to_the_field_and_nothing_is_stored(
    app, client, accounts, auth
) -> None:
    auth.login_as(accounts[Role.CASEWORKER])
    bad = {
        **DIRECT,
        "victim_birth_date": (date.today() + timedelta(days=3)).isoformat(),
        "victim_iin": "123456789012",
        "narrative": "",
        "categories": [],
    }
    response = _file(client, auth, "direct", bad)
    assert response.status_code in (400, 422)
    html = response.get_data(as_text=True)
    assert re.search(r'id="victim_birth_date-errors".*?cannot be in the future', html, re.S)
    assert re.search(r'id="victim_iin-errors".*?not a valid IIN', html, re.S)
    assert 'id="narrative-errors"' in html
    assert _count(app, Report) == 0 and _count(app, Case) == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("url", "javascript:alert(1)", "http:// or https://"),
        ("url", "ftp://news.example.kz/x", "http:// or https://"),
        ("published_on", "2999-01-01", "cannot be in the future"),
        ("headline", "x" * 501, "at most 500"),
        ("language", "klingon", "Language: choose one of the options offered."),
    ],
)
def test_media_field_rules(
    app, client, accounts, auth, field: str, value: str, message: str
) -> None:
    auth.login_as(accounts[Role.CASEWORKER])
    data = {
        "outlet": "Example news",
        "url": "https://news.example.kz/2026/11/02/ru-incident",
        "language": "ru",
        "headline": "В Шымкенте мужчина избил беременную сожительницу",
        "text": ARTICLE,
        field: value,
    }
    response = _file(client, auth, "media", data)
    assert response.status_code in (400, 422)
    assert message in response.get_data(as_text=True)
    assert _count(app, Report) == 0


def test_media_report_is_screened_and_a_repeated_source_is_refused(
    app, client, accounts, auth
) -> None:
    auth.login_as(accounts[Role.CASEWORKER])
    data = {
        "outlet": "Example news",
        "url": "https://news.example.kz/2026/11/02/ru-incident",
        "language": "ru",
        "headline": "В Шымкенте мужчина избил беременную сожительницу",
        "text": ARTICLE,
        "people": "сожительница (29)\nжитель Шымкента",
        "region": "karaganda",
    }
    first = _file(client, auth, "media", data)
    assert first.status_code == 302
    with app.app_context(), uow_of(app).read() as session:
        report = session.scalars(select(Report)).one()
        assert report.verification == "unverified"
        assert {"violence", "family", "pregnancy"} <= set(report.signals)
        assert report.risk_level == "high"  # strangulation / threat in the article
        first_id = report.id

    again = _file(
        client,
        auth,
        "media",
        {**data, "url": "http://www.news.example.kz/2026/11/02/ru-incident/?utm_source=tg"},
    )
    assert again.status_code == 409
    html = again.get_data(as_text=True)
    assert "already on record" in html and f"/reports/{first_id}" in html
    assert "report.refused" in _actions(app)
    assert _count(app, Report) == 1


def test_online_report_with_a_screenshot(app, client, accounts, auth) -> None:
    auth.login_as(accounts[Role.CASEWORKER])
    data = {
        "platform": "telegram",
        "post_url": "https://t.me/example/991",
        "author_handle": "@witness_krg",
        "captured_at": "2026-11-20T14:30",
        "captured_text": "сосед опять избил жену, она кричала всю ночь 😢",
        "region": "karaganda",
    }
    response = _file(
        client, auth, "online", data, {"attachments": [(io.BytesIO(PNG), "screen.png")]}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert _count(app, Attachment) == 1
    with app.app_context(), uow_of(app).read() as session:
        attachment = session.scalars(select(Attachment)).one()
        assert attachment.media_type == "image/png"
        assert PNG[:16] not in attachment.content  # sealed


def test_attachment_type_is_checked_by_content(app, client, accounts, auth) -> None:
    auth.login_as(accounts[Role.CASEWORKER])
    data = {**DIRECT}
    fake = (io.BytesIO(b"MZ\x90\x00 this is a windows program"), "photo.png")
    response = _file(client, auth, "direct", data, {"attachments": [fake]})
    assert response.status_code == 422
    assert "only PNG, JPEG, WebP or GIF images and PDF documents" in response.get_data(as_text=True)
    assert _count(app, Report) == 0 and _count(app, Attachment) == 0


def test_attachment_size_is_limited(app, client, accounts, auth) -> None:
    auth.login_as(accounts[Role.CASEWORKER])
    app.extensions["triage.settings"] = app.extensions["triage.settings"].with_overrides(
        {"attachment_max_bytes": 1000}
    )
    big = (io.BytesIO(PDF + b"0" * 2000), "big.pdf")
    response = _file(client, auth, "direct", DIRECT, {"attachments": [big]})
    assert response.status_code == 422
    assert "larger than" in response.get_data(as_text=True)
    assert _count(app, Report) == 0


def test_a_probable_match_is_linked_on_confirmation(app, client, accounts, auth) -> None:
    auth.login_as(accounts[Role.CASEWORKER])
    assert _file(client, auth, "direct", DIRECT).status_code == 302
    # Same victim written in Latin letters, and the same phone typed differently.
    second = {
        **DIRECT,
        "reporter": "relative",
        "victim_name": "Saltanat Zhumabekova",
        "victim_phone": "8 (705) 123-45-67",
        "narrative": "Her sister says it happened again.",
    }
    asked = _file(client, auth, "direct", second)
    assert asked.status_code == 409
    html = asked.get_data(as_text=True)
    assert 'id="probable-match"' in html
    with app.app_context(), uow_of(app).read() as session:
        case = session.scalars(select(Case)).one()
    assert case.code in html
    assert _count(app, Report) == 1

    linked = _file(client, auth, "direct", {**second, "link_to": case.id})
    assert linked.status_code == 302
    with app.app_context(), uow_of(app).read() as session:
        reports = session.scalars(select(Report).order_by(Report.received_at)).all()
        assert [r.case_id for r in reports] == [case.id, case.id]
        assert reports[1].status == "linked"
    assert "report.linked" in _actions(app)

    separate = _file(
        client, auth, "direct", {**second, "narrative": "another time", "link_to": "new"}
    )
    assert separate.status_code == 302
    assert _count(app, Case) == 2


def test_a_report_can_be_moved_to_a_matching_case_later(app, client, accounts, auth) -> None:
    auth.login_as(accounts[Role.CASEWORKER])
    assert _file(client, auth, "direct", DIRECT).status_code == 302
    other = {**DIRECT, "reporter": "witness", "narrative": "seen from the street", "link_to": "new"}
    response = _file(client, auth, "direct", other)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="probable-match"' in page
    case_id = re.search(r'name="case_id" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    report_id = response.headers["Location"].rsplit("/", 1)[-1]
    token = auth.csrf_token(f"/reports/{report_id}")
    moved = client.post(
        f"/reports/{report_id}/link", data={"csrf_token": token, "case_id": case_id}
    )
    assert moved.status_code == 302
    with app.app_context(), uow_of(app).read() as session:
        cases = session.scalars(select(Case).order_by(Case.opened_at)).all()
        assert [c.status for c in cases] == ["open", "closed"] and cases[1].outcome == "duplicate"


def test_add_information_and_download_an_attachment(app, client, accounts, auth) -> None:
    auth.login_as(accounts[Role.CASEWORKER])
    response = _file(client, auth, "direct", DIRECT)
    report_path = response.headers["Location"]
    token = auth.csrf_token(report_path)
    added = client.post(
        f"{report_path}/information",
        data={
            "csrf_token": token,
            "text": "Она позвонила снова в 22:10.",
            "attachments": [(io.BytesIO(PDF), "справка.pdf")],
        },
        content_type="multipart/form-data",
    )
    assert added.status_code == 302
    page = client.get(report_path).get_data(as_text=True)
    assert "Она позвонила снова в 22:10." in page
    link = re.search(r'href="(/reports/attachments/[^"]+)"', page).group(1)  # type: ignore[union-attr]
    download = client.get(link)
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in download.headers["Content-Security-Policy"]
    actions = _actions(app)
    assert "report.amended" in actions and "attachment.downloaded" in actions


def test_other_people_cannot_read_a_caseworkers_report(app, client, accounts, auth) -> None:
    auth.login_as(accounts[Role.CASEWORKER])
    response = _file(client, auth, "direct", DIRECT, {"attachments": [(io.BytesIO(PNG), "p.png")]})
    report_path = response.headers["Location"]
    page = client.get(report_path).get_data(as_text=True)
    attachment = re.search(r'href="(/reports/attachments/[^"]+)"', page).group(1)  # type: ignore[union-attr]
    auth.logout()

    colleague = make_user(app, "other.caseworker", Role.CASEWORKER, Region.KARAGANDA)
    auth.login_as(colleague)
    assert client.get(report_path).status_code == 404
    assert client.get(attachment).status_code == 404
    auth.logout()

    outsider = make_user(app, "shymkent.reviewer", Role.REVIEWER, Region.SHYMKENT)
    auth.login_as(outsider)
    assert client.get(attachment).status_code == 404
    auth.logout()

    auth.login_as(accounts[Role.REVIEWER])  # Karaganda: in scope
    assert client.get(attachment).status_code == 200
    auth.logout()

    auth.login_as(accounts[Role.AUDITOR])
    assert client.get(attachment).status_code == 403
    assert client.get(report_path).status_code == 403


def test_a_tampered_report_gives_an_integrity_error_page(app, client, accounts, auth) -> None:
    auth.login_as(accounts[Role.CASEWORKER])
    response = _file(client, auth, "direct", DIRECT)
    report_id = response.headers["Location"].rsplit("/", 1)[-1]
    with app.app_context(), uow_of(app).begin() as session:
        report = session.get(Report, report_id)
        blob = bytearray(report.payload)
        blob[40] ^= 1
        report.payload = bytes(blob)
    page = client.get(response.headers["Location"])
    assert page.status_code == 500
    html = page.get_data(as_text=True)
    assert "Integrity check failed" in html and "Traceback" not in html and "Салтанат" not in html


def test_anonymous_and_wrong_roles_are_refused(app, client, accounts, auth) -> None:
    assert client.get("/reports/new/direct").status_code == 302
    auth.login_as(accounts[Role.REVIEWER])
    assert client.get("/reports/new/direct").status_code == 403
    assert client.get("/reports/").status_code == 403


def test_the_sealed_store_reads_what_the_form_wrote(
    app, client, accounts: dict[Role, Account], auth
) -> None:
    auth.login_as(accounts[Role.CASEWORKER])
    _file(client, auth, "direct", DIRECT)
    with app.app_context(), uow_of(app).begin() as session:
        report = session.scalars(select(Report)).one()
        payload = sealed.open_payload(session, report, actor="system", purpose="test")
    assert payload["victim"]["name"] == "Салтанат Жұмабекова"
    assert payload["victim"]["phone"] == "+7 705 123 45 67"
    assert "region" not in payload and "categories" not in payload  # plain columns


def test_the_reviewer_finds_the_attachment_on_the_case_page(app, client, accounts, auth) -> None:
    auth.login_as(accounts[Role.CASEWORKER])
    _file(client, auth, "direct", DIRECT, {"attachments": [(io.BytesIO(PDF), "note.pdf")]})
    auth.logout()
    with app.app_context(), uow_of(app).read() as session:
        code = session.scalars(select(Case)).one().code
    auth.login_as(accounts[Role.REVIEWER])
    page = client.get(f"/cases/{code}").get_data(as_text=True)
    link = re.search(r'href="(/reports/attachments/[^"]+)"', page)
    assert link, "the case page does not list the attachment"
    assert client.get(link.group(1)).data == PDF


def test_linking_is_only_into_a_match_and_never_out_of_a_case_in_work(
    app, client, accounts, auth
) -> None:
    from triage.review import claims
    from triage.review.rules import ReviewRules

    auth.login_as(accounts[Role.CASEWORKER])
    first = _file(client, auth, "direct", {**DIRECT, "victim_complaint": "y"})
    unrelated = _file(
        client,
        auth,
        "media",
        {
            "outlet": "X",
            "url": "https://example.kz/unrelated",
            "language": "en",
            "headline": "Husband beat wife",
            "text": "A man beat his wife.",
        },
    )
    second = _file(
        client,
        auth,
        "direct",
        {**DIRECT, "reporter": "witness", "narrative": "seen", "link_to": "new"},
    )
    report_id = second.headers["Location"].rsplit("/", 1)[-1]
    with app.app_context(), uow_of(app).read() as session:
        first_case = session.get(
            Case, session.get(Report, first.headers["Location"].rsplit("/", 1)[-1]).case_id
        )
        other_case = session.get(
            Case, session.get(Report, unrelated.headers["Location"].rsplit("/", 1)[-1]).case_id
        )
        own_case_id = session.get(Report, report_id).case_id
    token = auth.csrf_token(second.headers["Location"])

    # Not a match: refused, as if the case did not exist.
    assert (
        client.post(
            f"/reports/{report_id}/link", data={"csrf_token": token, "case_id": other_case.id}
        ).status_code
        == 404
    )

    # The report's own case is claimed by a reviewer: a caseworker does not merge it away.
    with app.app_context(), uow_of(app).begin() as session:
        from triage.models import User

        reviewer = session.get(User, accounts[Role.REVIEWER].id)
        claims.claim(session, reviewer, own_case_id, rules=ReviewRules())
    refused = client.post(
        f"/reports/{report_id}/link", data={"csrf_token": token, "case_id": first_case.id}
    )
    assert refused.status_code == 409
    assert "being worked on" in refused.get_data(as_text=True)
    with app.app_context(), uow_of(app).read() as session:
        assert session.get(Report, report_id).case_id == own_case_id
        assert session.get(Case, own_case_id).status == "open"


def test_a_duplicate_from_elsewhere_names_nothing(app, client, accounts, auth) -> None:
    data = {
        "outlet": "Example",
        "url": "https://example.kz/shared",
        "language": "en",
        "headline": "Husband beat wife",
        "text": "A man beat his wife.",
        "region": "karaganda",
    }
    auth.login_as(accounts[Role.CASEWORKER])
    assert _file(client, auth, "media", data).status_code == 302
    with app.app_context(), uow_of(app).read() as session:
        code = session.scalars(select(Case)).one().code
    auth.logout()
    outsider = make_user(app, "shymkent.caseworker", Role.CASEWORKER, Region.SHYMKENT)
    auth.login_as(outsider)
    again = _file(client, auth, "media", {**data, "region": "shymkent"})
    html = again.get_data(as_text=True)
    assert again.status_code == 409 and "already on record" in html
    assert code not in html
    assert "Open the first report" not in html


def test_checking_for_matches_is_recorded(app, client, accounts, auth) -> None:
    auth.login_as(accounts[Role.CASEWORKER])
    _file(client, auth, "direct", DIRECT)
    asked = _file(client, auth, "direct", {**DIRECT, "narrative": "again"})
    assert asked.status_code == 409
    with app.app_context(), uow_of(app).read() as session:
        events = [e for e in audit.iter_events(session) if e["action"] == "report.match_checked"]
    assert len(events) == 1
    assert facts(events[0])["details"] == {
        "matches": 1,
        "kinds": "phone,victim",
        "source_kind": "direct",
    }
    assert _count(app, Report) == 1
