"""The public way in, at the service: receipts kept only as a lookup key and an Argon2id hash,
form tokens that are signed, timed and single-use, photos stripped of their EXIF location, and a
public report that starts unverified and never counts as the victim's complaint or consent.
Each test runs on SQLite and on PostgreSQL (the ``app`` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.integration.public_helpers import EXIF_MARKER, gps_of, photo_with_gps
from triage import audit
from triage.errors import InvalidInput
from triage.intake import schema
from triage.intake.attachments import Upload
from triage.models import (
    Attachment,
    AuditEvent,
    Case,
    MessageDirection,
    PublicFormToken,
    PublicMessage,
    PublicReceipt,
    RecipientKind,
    Report,
    User,
)
from triage.public import form_tokens, images, receipts
from triage.public import service as public
from triage.review import claims, consent
from triage.review.errors import ClaimRequired
from triage.review.rules import ReviewRules
from triage.sealed import keyring
from triage.uow import passwords_of
from triage.vocab import Role
from triage.web.deps import uow_of

SECRET = b"k" * 32
LIMITS = public.Limits(min_age=timedelta(seconds=3), max_age=timedelta(minutes=120))
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _incoming(**changes: object) -> schema.DirectReport:
    data = {
        "source_kind": "direct",
        "reporter": "victim",
        "victim": {"name": "Жанар Сервисная", "phone": "+7 701 555 12 34"},
        "relationship": "spouse",
        "region": "karaganda",
        "categories": ["battery"],
        "narrative": "Сервисный тест: муж избил меня вчера вечером.",
        "victim_complaint": True,
        "consent_support_services": "yes",
        **changes,
    }
    incoming = schema.parse(data)
    assert isinstance(incoming, schema.DirectReport)
    return incoming


def _checked(now: datetime = NOW) -> form_tokens.Checked:
    token = form_tokens.issue(SECRET, now=now - timedelta(seconds=10))
    return form_tokens.check(SECRET, token, now=now, min_age=LIMITS.min_age, max_age=LIMITS.max_age)


def _file(app: Flask, **kwargs: object) -> public.PublicFiled:
    filing = {"danger_now": False, "uploads": (), "checked": _checked(), **kwargs}
    return public.submit(
        uow_of(app),
        kwargs.pop("incoming", None) or _incoming(),  # type: ignore[arg-type]
        limits=LIMITS,
        rules=ReviewRules(),
        now=NOW,
        **{k: v for k, v in filing.items() if k != "incoming"},  # type: ignore[arg-type]
    )


def _count(app: Flask, model: type) -> int:
    with uow_of(app).read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


# -- receipts ----------------------------------------------------------------------------------


def test_a_receipt_is_kept_only_as_a_keyed_lookup_and_an_argon2_hash(app: Flask) -> None:
    filed = _file(app)
    text = filed.receipt.text
    assert len(text.replace("-", "")) == 36 and text.count("-") == 8
    with uow_of(app).begin() as session:
        row = session.scalars(select(PublicReceipt)).one()
        assert row.report_id == filed.report_id
        assert row.secret_hash.startswith("$argon2id$")
        assert filed.receipt.normalised not in row.secret_hash
        assert filed.receipt.id_part not in row.lookup  # keyed, not the id part itself
        assert row.lookup == keyring(session).blind_index("public_receipt", filed.receipt.id_part)
        passwords = passwords_of(session)
        ring = keyring(session)
        # As typed by a person: lower case, spaces, O for 0.
        typed = text.lower().replace("-", " ").replace("0", "o")
        assert receipts.find(session, typed, ring=ring, passwords=passwords) is not None
        wrong_secret = filed.receipt.id_part + ("0" * receipts.SECRET_CHARS)
        assert receipts.find(session, wrong_secret, ring=ring, passwords=passwords) is None
        assert receipts.find(session, "not a receipt", ring=ring, passwords=passwords) is None


def test_a_wrong_receipt_reads_nothing_and_is_on_record(app: Flask) -> None:
    filed = _file(app)
    other = receipts.new_receipt().text
    with pytest.raises(public.WrongReceipt):
        public.thread(uow_of(app), other)
    with pytest.raises(public.WrongReceipt):
        public.add_information(
            uow_of(app), other, "ничего", uploads=(), checked=_checked(), limits=LIMITS, now=NOW
        )
    assert _count(app, PublicMessage) == 0
    assert _count(app, PublicFormToken) == 1  # only the filing's: the refused add used none
    with uow_of(app).read() as session:
        refused = session.scalar(
            select(func.count()).where(AuditEvent.action == "public.receipt_refused")
        )
    assert refused == 2
    assert public.thread(uow_of(app), filed.receipt.text).messages == []


# -- form tokens -------------------------------------------------------------------------------


def test_a_form_token_is_signed_timed_and_single_use(app: Flask) -> None:
    token = form_tokens.issue(SECRET, now=NOW)
    check = {"min_age": LIMITS.min_age, "max_age": LIMITS.max_age}
    with pytest.raises(form_tokens.TooFast):
        form_tokens.check(SECRET, token, now=NOW + timedelta(seconds=1), **check)
    with pytest.raises(form_tokens.Expired):
        form_tokens.check(SECRET, token, now=NOW + timedelta(hours=3), **check)
    with pytest.raises(form_tokens.BadToken):
        form_tokens.check(b"x" * 32, token, now=NOW + timedelta(seconds=5), **check)
    nonce, issued, mac = token.split(".")
    with pytest.raises(form_tokens.BadToken):  # an older time under the same MAC
        form_tokens.check(SECRET, f"{nonce}.{int(issued) - 60}.{mac}", now=NOW, **check)
    for broken in (None, "", "a.b", "a.b.c", "x" * 300):
        with pytest.raises(form_tokens.BadToken):
            form_tokens.check(SECRET, broken, now=NOW, **check)

    checked = _checked()
    first = _file(app, checked=checked)
    with pytest.raises(form_tokens.Replayed):
        _file(app, checked=checked)
    with uow_of(app).read() as session:
        assert session.scalar(select(func.count()).select_from(Report)) == 1
        assert session.scalars(select(Report.id)).one() == first.report_id


# -- photos ------------------------------------------------------------------------------------


def test_a_photo_loses_its_exif_location_before_it_is_sealed(app: Flask) -> None:
    raw = photo_with_gps()
    assert gps_of(raw) and EXIF_MARKER.encode() in raw
    cleaned = images.clean(Upload("IMG_0001 Жанар.jpg", raw))
    assert gps_of(cleaned.data) == {}
    assert EXIF_MARKER.encode() not in cleaned.data
    assert cleaned.filename == "photo.jpg"  # the name she gave it may say who she is
    filed = _file(app, uploads=[cleaned])
    with uow_of(app).begin() as session:
        attachment = session.scalars(select(Attachment)).one()
        assert attachment.report_id == filed.report_id
        assert EXIF_MARKER.encode() not in attachment.content


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n", b"GIF89a not really", b"\x00" * 64],
)
def test_what_is_not_a_readable_image_is_refused(data: bytes) -> None:
    with pytest.raises(InvalidInput):
        images.clean(Upload("x", data))


# -- what a public report may and may not do ---------------------------------------------------


def test_a_public_report_starts_unverified_without_her_complaint_or_consent(
    app: Flask, accounts
) -> None:
    """She says she is the victim, that she complained and that she consents: nobody answers for
    who sent it, so none of it counts."""
    filed = _file(app)
    with uow_of(app).begin() as session:
        report = session.get(Report, filed.report_id)
        case = session.get(Case, filed.case_id)
        assert report is not None and case is not None
        assert report.public and report.filed_by is None
        assert report.verification == "unverified" and case.verification == "unverified"
        assert case.victim_complaint is False
        reviewer = session.get(User, accounts[Role.REVIEWER].id)
        assert reviewer is not None
        state = consent.in_force(session, reviewer, case, RecipientKind.SUPPORT)
        assert state.answer is None
        events = [
            audit.event_fields(e)
            for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
        ]
    filed_events = [e for e in events if e["action"] == "public.report_filed"]
    assert filed_events and filed_events[0]["actor"] == "public"
    assert filed_events[0]["object_id"] == filed.report_id


def test_the_consent_guard_is_what_refuses_a_public_report_s_answer(app: Flask, accounts) -> None:
    """The control for the test above: the same report, not public, gives her consent."""
    filed = _file(app)
    with uow_of(app).begin() as session:
        report = session.get(Report, filed.report_id)
        case = session.get(Case, filed.case_id)
        reviewer = session.get(User, accounts[Role.REVIEWER].id)
        assert report is not None and case is not None and reviewer is not None
        report.public = False
        session.flush()
        assert consent.in_force(session, reviewer, case, RecipientKind.SUPPORT).given


def test_danger_now_makes_the_case_high(app: Flask) -> None:
    calm = _file(app, incoming=_incoming(narrative="Сервисный тест: он кричит по ночам."))
    urgent = _file(
        app,
        danger_now=True,
        incoming=_incoming(
            narrative="Сервисный тест: он кричит по ночам.", victim={"name": "Другая Женщина"}
        ),
    )
    with uow_of(app).read() as session:
        assert session.get(Case, calm.case_id).risk_level != "high"  # type: ignore[union-attr]
        assert session.get(Case, urgent.case_id).risk_level == "high"  # type: ignore[union-attr]


def test_a_flood_about_the_same_people_fills_one_case(app: Flask) -> None:
    cases = {_file(app).case_id for _ in range(4)}
    assert len(cases) == 1
    with uow_of(app).read() as session:
        assert session.scalar(select(func.count()).select_from(Report)) == 4
        assert session.scalar(select(func.count()).select_from(Case)) == 1


def test_the_holder_replies_and_the_receipt_reads_it(app: Flask, accounts) -> None:
    filed = _file(app)
    reviewer = accounts[Role.REVIEWER]
    with uow_of(app).begin() as session:
        user = session.get(User, reviewer.id)
        case = session.get(Case, filed.case_id)
        assert user is not None and case is not None
        with pytest.raises(ClaimRequired):
            public.reply(session, user, case.code, filed.report_id, "Ответ", rules=ReviewRules())
    with uow_of(app).begin() as session:
        user = session.get(User, reviewer.id)
        case = session.get(Case, filed.case_id)
        assert user is not None and case is not None
        claims.claim(session, user, case.code, rules=ReviewRules())
    with uow_of(app).begin() as session:
        user = session.get(User, reviewer.id)
        case = session.get(Case, filed.case_id)
        assert user is not None and case is not None
        with pytest.raises(InvalidInput):
            public.reply(session, user, case.code, filed.report_id, "  ", rules=ReviewRules())
    with uow_of(app).begin() as session:
        user = session.get(User, reviewer.id)
        case = session.get(Case, filed.case_id)
        assert user is not None and case is not None
        public.reply(
            session,
            user,
            case.code,
            filed.report_id,
            "Сервисный ответ: вы в безопасности?",
            rules=ReviewRules(),
        )
    public.add_information(
        uow_of(app),
        filed.receipt.text,
        "Сервисное дополнение",
        uploads=(),
        checked=_checked(),
        limits=LIMITS,
        now=NOW,
    )
    thread = public.thread(uow_of(app), filed.receipt.text)
    assert [(m.direction, m.text) for m in thread.messages] == [
        (MessageDirection.TO_REPORTER.value, "Сервисный ответ: вы в безопасности?"),
        (MessageDirection.FROM_REPORTER.value, "Сервисное дополнение"),
    ]
    with uow_of(app).read() as session:
        bodies = [m.body for m in session.scalars(select(PublicMessage))]
    assert all("Сервисн".encode() not in b for b in bodies)


def test_what_the_reporter_adds_has_limits_and_nothing_is_half_stored(app: Flask) -> None:
    filed = _file(app)
    add = {"uploads": (), "limits": LIMITS, "now": NOW}
    with pytest.raises(InvalidInput):
        public.add_information(uow_of(app), filed.receipt.text, "   ", checked=_checked(), **add)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        public.add_information(
            uow_of(app),
            filed.receipt.text,
            "я" * 5001,
            checked=_checked(),
            **add,  # type: ignore[arg-type]
        )
    assert _count(app, PublicMessage) == 0
    assert _count(app, PublicFormToken) == 1
