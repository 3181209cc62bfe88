"""The public pages through HTTP: no cookie, no cache, no inline script; a report filed with a
receipt, read back and added to; every bad input refused with a message in the reporter's
language and nothing half-stored; a bot's honeypot quietly refused; the rate limits; the queue's
filter and badge; a reviewer's reply from the case page; and neither the receipt nor the report's
words in the raw database. Runs on SQLite and PostgreSQL (the ``app`` fixture)."""

from __future__ import annotations

import dataclasses
import io
import re
import sqlite3
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.conftest import AuthActions
from tests.integration.public_helpers import (
    EXIF_MARKER,
    NARRATIVE,
    VICTIM,
    Reporter,
    gps_of,
    photo_with_gps,
    token_of,
)
from triage import create_app
from triage.config import Settings
from triage.models import Attachment, AuditEvent, Case, PublicMessage, PublicReceipt, Report
from triage.vocab import Role
from triage.web.deps import uow_of

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    """The app with no time check (the tests send forms at once) and room under the limits; the
    rate-limit test makes its own with the shipped limits."""
    application = create_app(
        dataclasses.replace(settings, public_min_seconds=0, public_rate_limit="1000 per minute")
    )
    yield application
    uow_of(application).engine.dispose()


@pytest.fixture
def reporter(client: FlaskClient) -> Reporter:
    return Reporter(client)


def _count(app: Flask, model: type) -> int:
    with uow_of(app).read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _events(app: Flask) -> int:
    return _count(app, AuditEvent)


def _errors(page: str) -> list[str]:
    return re.findall(r'<ul class="errors"[^>]*>\s*<li>(.*?)</li>', page)


# -- what the pages are ------------------------------------------------------------------------


def test_the_public_pages_set_no_cookie_keep_nothing_and_run_no_inline_script(
    app: Flask, client: FlaskClient, reporter: Reporter
) -> None:
    responses = [
        client.get("/report"),
        client.get("/report?lang=kk"),
        client.get("/report/follow-up"),
    ]
    unknown = client.get("/report/no-such-page?lang=ru")  # no route: the app's own handler
    assert unknown.status_code == 404
    assert "Быстрый выход" in unknown.get_data(as_text=True), "the public page, in her language"
    responses.append(unknown)
    receipt = reporter.file()
    responses += [reporter.read(receipt), reporter.add(receipt, "ещё"), reporter.send(token="x")]
    for response in responses:
        assert "Set-Cookie" not in response.headers, response.request.path
        assert "no-store" in response.headers["Cache-Control"]
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        page = response.get_data(as_text=True)
        assert re.findall(r"<script(?![^>]*\ssrc=)[^>]*>", page) == []  # no inline script
        assert not re.search(r"\son[a-z]+=", page)  # no inline handler
        assert "<title>" in page and "triage" not in page.split("</title>")[0].lower()
        # The only address outside the site is the quick exit's.
        outside = set(re.findall(r'(?:src|href|action)="(https?://[^"]+)"', page))
        assert outside <= {"https://www.gismeteo.kz/"}, outside
        assert "quick-exit" in page and "/static/public.js" in page
        assert "102" in page and "112" in page
    assert client.get_cookie("triage_session") is None


def test_the_page_speaks_the_language_in_its_address(client: FlaskClient) -> None:
    assert "Быстрый выход" in client.get("/report?lang=ru").get_data(as_text=True)
    assert "Жылдам шығу" in client.get("/report?lang=kk").get_data(as_text=True)
    assert "Quick exit" in client.get("/report?lang=en").get_data(as_text=True)


# -- filing and following up -------------------------------------------------------------------


def test_a_report_is_filed_public_unverified_and_followed_up(
    app: Flask, client: FlaskClient, reporter: Reporter
) -> None:
    receipt = reporter.file(files=[(io.BytesIO(photo_with_gps()), "IMG_7788.jpg")])
    with uow_of(app).read() as session:
        report = session.scalars(select(Report)).one()
        case = session.get(Case, report.case_id)
        attachment = session.scalars(select(Attachment)).one()
        assert report.public and report.source_kind == "direct" and report.filed_by is None
        assert report.verification == "unverified" and case is not None
        assert case.victim_complaint is False and case.region == "karaganda"
    page = reporter.read(receipt.lower()).get_data(as_text=True)
    assert "Ответов пока нет" in page
    added = reporter.add(receipt, "Публичный тест: он снова пришёл ночью.")
    assert added.status_code == 200
    assert "Публичный тест: он снова пришёл ночью." in added.get_data(as_text=True)
    assert _count(app, PublicMessage) == 1
    assert attachment.media_type == "image/jpeg"


def test_empty_and_oversized_fields_are_refused_in_her_language_and_nothing_is_stored(
    app: Flask, reporter: Reporter
) -> None:
    before = _events(app)
    empty = reporter.send({"narrative": "", "city": "", "region": "", "categories": None})
    page = empty.get_data(as_text=True)
    assert empty.status_code == 422
    assert "Расскажите, что произошло: это поле обязательно для заполнения." in page
    assert "Город, посёлок или село: это поле обязательно для заполнения." in page
    long = reporter.send({"narrative": "я" * 20_001})
    long_page = long.get_data(as_text=True)
    assert long.status_code == 422
    assert "20000" in "".join(_errors(long_page))
    assert _count(app, Report) == 0 and _events(app) == before
    assert token_of(long_page)  # a fresh form to send again, with what she wrote kept
    assert "Темиртау" in long_page


def test_a_wrong_file_type_and_too_many_files_are_refused(app: Flask, reporter: Reporter) -> None:
    pdf = reporter.send(files=[(io.BytesIO(PDF), "report.pdf")])
    assert pdf.status_code == 422
    assert "только изображения PNG, JPEG, WebP или GIF" in pdf.get_data(as_text=True)
    photos = [(io.BytesIO(photo_with_gps()), f"{n}.jpg") for n in range(4)]
    many = reporter.send(files=photos)
    assert many.status_code == 422
    assert "не более 3 фото" in many.get_data(as_text=True)
    assert _count(app, Report) == 0 and _count(app, Attachment) == 0


def test_a_file_too_large_and_a_request_too_large_are_refused_on_the_public_page(
    settings: Settings,
) -> None:
    app = create_app(
        dataclasses.replace(
            settings, public_min_seconds=0, attachment_max_bytes=400, max_request_bytes=60_000
        )
    )
    try:
        reporter = Reporter(app.test_client())
        big_photo = reporter.send(files=[(io.BytesIO(photo_with_gps()), "big.jpg")])
        assert big_photo.status_code == 422
        assert "больше" in " ".join(_errors(big_photo.get_data(as_text=True)))
        huge = reporter.send({"narrative": "я" * 40_000})
        page = huge.get_data(as_text=True)
        assert huge.status_code == 413 and "Set-Cookie" not in huge.headers
        assert "Быстрый выход" in page and "Отправленное слишком велико" in page
        assert _count(app, Report) == 0 and _count(app, Attachment) == 0
    finally:
        uow_of(app).engine.dispose()


def test_a_replayed_form_files_once(app: Flask, reporter: Reporter) -> None:
    token = reporter.form_token()
    first = reporter.send(token=token)
    again = reporter.send(token=token)
    assert first.status_code == 200 and again.status_code == 409
    assert "уже отправлена" in again.get_data(as_text=True)
    assert _count(app, Report) == 1 and _count(app, PublicReceipt) == 1


def test_a_form_not_from_this_server_is_refused(app: Flask, client: FlaskClient) -> None:
    for data in ({}, {"token": "forged.1.x"}, {"csrf_token": "x"}):
        response = client.post("/report?lang=ru", data=data)
        assert response.status_code == 400
        assert "Форма устарела" in response.get_data(as_text=True)
    assert _count(app, Report) == 0


def test_a_bot_that_fills_the_honeypot_is_refused_quietly(app: Flask, reporter: Reporter) -> None:
    before = _events(app)
    response = reporter.client.post(
        "/report",
        data={"token": reporter.form_token(), "lang": "ru", "website": "http://spam.example"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="receipt"' in page  # looks like success
    assert _count(app, Report) == 0 and _count(app, PublicReceipt) == 0
    assert _events(app) == before


def test_a_wrong_receipt_gets_a_clear_message(app: Flask, reporter: Reporter) -> None:
    reporter.file()
    for typed in ("AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH-JJJJ", "что-то не то"):
        response = reporter.read(typed)
        assert response.status_code == 404
        assert "Такой квитанции нет" in " ".join(_errors(response.get_data(as_text=True)))
    assert _count(app, PublicMessage) == 0


def test_the_receipt_never_goes_in_an_address(reporter: Reporter) -> None:
    receipt = reporter.file()
    page = reporter.read(receipt).get_data(as_text=True)
    forms = re.findall(r"<form[^>]*>", page)
    assert forms and all('method="post"' in f for f in forms)
    assert all(receipt not in href for href in re.findall(r'href="([^"]*)"', page))


# -- limits ------------------------------------------------------------------------------------


def test_rapid_submissions_from_one_address_are_limited_and_none_limited_is_stored(
    settings: Settings,
) -> None:
    app = create_app(dataclasses.replace(settings, public_min_seconds=0))  # shipped limits
    try:
        reporter = Reporter(app.test_client())
        # Sending a form back to be corrected costs her nothing.
        assert {reporter.send({"narrative": ""}).status_code for _ in range(6)} == {422}
        tokens = [reporter.form_token() for _ in range(50)]
        answers = [reporter.send(token=t).status_code for t in tokens]
        accepted = answers.count(200)
        assert answers.count(429) == 50 - accepted and accepted == 5
        assert _count(app, Report) == accepted and _count(app, PublicReceipt) == accepted
        limited = reporter.send()
        assert "Слишком много сообщений" in limited.get_data(as_text=True)
        assert "Set-Cookie" not in limited.headers
    finally:
        uow_of(app).engine.dispose()


# -- the reviewers' side -----------------------------------------------------------------------


def test_reviewers_filter_the_queue_by_public_reports_and_reply_from_the_case_page(
    app: Flask, accounts, reporter: Reporter
) -> None:
    receipt = reporter.file()
    staff = app.test_client()
    AuthActions(staff).login_as(accounts[Role.REVIEWER])
    only = staff.get("/cases/?public=only").get_data(as_text=True)
    hidden = staff.get("/cases/?public=hide").get_data(as_text=True)
    with uow_of(app).read() as session:
        report = session.scalars(select(Report)).one()
        case = session.get(Case, report.case_id)
        assert case is not None
    assert case.code in only and "public-report" in only
    assert case.code not in hidden
    # The reply form is the holder's: claim first.
    page = staff.get(f"/cases/{case.code}").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token
    staff.post(f"/cases/{case.code}/claim", data={"csrf_token": token.group(1)})
    page = staff.get(f"/cases/{case.code}").get_data(as_text=True)
    assert f'id="reply-{report.id}"' in page
    sent = staff.post(
        f"/cases/{case.code}/reports/{report.id}/reply",
        data={"csrf_token": token.group(1), "text": "Публичный тест: вам сейчас безопасно?"},
    )
    assert sent.status_code == 302
    timeline = staff.get(f"/cases/{case.code}").get_data(as_text=True)
    assert "Публичный тест: вам сейчас безопасно?" in timeline
    assert "Публичный тест: вам сейчас безопасно?" in reporter.read(receipt).get_data(as_text=True)
    reporter.add(receipt, "Публичный тест: да, я у сестры.")
    assert "Публичный тест: да, я у сестры." in staff.get(f"/cases/{case.code}").get_data(
        as_text=True
    )


def test_the_photo_comes_back_without_its_location(
    app: Flask, accounts, reporter: Reporter
) -> None:
    reporter.file(files=[(io.BytesIO(photo_with_gps()), "IMG_7788.jpg")])
    staff = app.test_client()
    AuthActions(staff).login_as(accounts[Role.REVIEWER])
    with uow_of(app).read() as session:
        attachment = session.scalars(select(Attachment)).one()
    data = staff.get(f"/reports/attachments/{attachment.id}").get_data()
    assert data[:2] == b"\xff\xd8" and gps_of(data) == {}
    assert EXIF_MARKER.encode() not in data


# -- at rest -----------------------------------------------------------------------------------


def test_the_raw_database_holds_neither_the_receipt_nor_the_report(
    app: Flask, database, reporter: Reporter
) -> None:
    if database.engine != "sqlite":
        pytest.skip("the raw file scan is SQLite's (test_plaintext_scan dumps PostgreSQL)")
    receipt = reporter.file()
    reporter.add(receipt, "Публичный тест: дополнение в файле")
    path = database.path
    assert path is not None
    raw = b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())
    for secret in (
        receipt,
        receipt.replace("-", ""),
        NARRATIVE,
        "Публичный тест",
        VICTIM,
        "Темиртау",
        "только SMS",
    ):
        assert secret.encode() not in raw, secret
        assert secret.encode("utf-16-le") not in raw, secret
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert receipt.replace("-", "").encode() not in path.read_bytes()
