"""Filing many reports in one transaction (``intake.bulk.file_many``) stores what filing them one
by one (``service.file``) stores — sealed, blind-indexed, triaged, the same audit events in the
same order — finds matches and repeated sources within the batch as well as on record, and
refuses as ``file`` refuses, leaving nothing behind."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import FAST_HASH, Database, PgServer, _sqlite_database
from triage import audit, create_app, sealed
from triage.config import Settings
from triage.errors import InvalidInput
from triage.intake import bulk, schema, service
from triage.models import AuditEvent, Case, Report, ReportIndex
from triage.web.deps import uow_of

VICTIM = {"name": "Айгерим Серікқызы", "birth_date": "1990-04-02", "phone": "+7 701 123 45 67"}
DIRECT: dict[str, Any] = {
    "source_kind": "direct",
    "region": "karaganda",
    "reporter": "victim",
    "victim": VICTIM,
    "relationship": "spouse",
    "categories": ["battery"],
    "victim_complaint": True,
    "narrative": "My husband strangled me last night and said he would kill me with a knife.",
}
MEDIA: dict[str, Any] = {
    "source_kind": "media",
    "region": "almaty",
    "categories": ["threat"],
    "outlet": "Example News",
    "url": "https://news.example.kz/2026/11/28/incident-1",
    "published_on": "2026-11-28",
    "language": "en",
    "headline": "Man threatens his wife",
    "text": "A man threatened his wife with a knife in Almaty, police said.",
}
ONLINE: dict[str, Any] = {
    "source_kind": "online",
    "region": "astana",
    "categories": ["psychological"],
    "platform": "telegram",
    "post_url": "https://t.me/astana_chat_demo/1001",
    "author_handle": "@someone",
    "captured_at": "2026-11-28T10:00:00",
    "captured_text": "Neighbours hear shouting every night, she is afraid of him.",
}


def _items(*raws: dict[str, Any], **options: Any) -> list[bulk.Item]:
    return [
        bulk.Item(schema.parse(r), "7", attested=r["source_kind"] == "direct", **options)
        for r in raws
    ]


def _facts(session: Session) -> dict[str, Any]:
    """What was stored, without ids and times: plain columns, tokens, events."""
    reports = session.execute(
        select(Report.source_kind, Report.status, Report.verification, Report.risk_level,
               Report.signals, Report.categories).order_by(Report.source_kind)
    ).all()  # fmt: skip
    cases = session.execute(
        select(Case.region, Case.risk_level, Case.risk_provisional, Case.verification,
               Case.victim_complaint, Case.deadline_at.is_not(None)).order_by(Case.region)
    ).all()  # fmt: skip
    tokens = session.scalars(select(ReportIndex.token).order_by(ReportIndex.token)).all()
    events = session.execute(
        select(AuditEvent.actor, AuditEvent.action, AuditEvent.object_type).order_by(AuditEvent.seq)
    ).all()
    return {"reports": reports, "cases": cases, "tokens": tokens, "events": events}


def test_a_batch_stores_what_filing_one_by_one_stores(
    app: Flask, request: pytest.FixtureRequest
) -> None:
    uow = uow_of(app)
    with app.app_context(), uow.begin() as session:
        filed = bulk.file_many(session, _items(DIRECT, MEDIA, ONLINE))
        assert [f.linked for f in filed] == [False, False, False]
        payloads = [
            sealed.open_payload(session, f.report, actor="system", purpose="test") for f in filed
        ]
    assert payloads[0]["victim"]["phone"] == VICTIM["phone"]
    assert payloads[1]["text"] == MEDIA["text"]
    with app.app_context(), uow.read() as session:
        in_batch = _facts(session)
        assert audit.verify(session).ok
    # The same three reports filed one by one, in a fresh database of the same engine.
    other: Flask = request.getfixturevalue("another_app")
    with other.app_context(), uow_of(other).begin() as session:
        for item in _items(DIRECT, MEDIA, ONLINE):
            service.file(session, item.incoming, actor=item.actor, attested=item.attested)
        for f in session.scalars(select(Report).order_by(Report.source_kind)):
            sealed.open_payload(session, f, actor="system", purpose="test")
    with other.app_context(), uow_of(other).read() as session:
        one_by_one = _facts(session)
    assert in_batch["reports"] == one_by_one["reports"]
    assert in_batch["cases"] == one_by_one["cases"]
    assert in_batch["tokens"] == one_by_one["tokens"]  # the keyring is the same
    assert [e.action for e in in_batch["events"]][1:] == [
        *("case.opened", "report.filed", "case.triaged") * 3,
        *("payload.decrypted",) * 3,
    ]
    assert sorted(in_batch["events"]) == sorted(one_by_one["events"])


@pytest.fixture
def another_app(
    database: Database, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Flask:
    """A second app on a fresh database of the same engine and the same keyring."""
    folder = tmp_path_factory.mktemp("other")
    if database.engine == "sqlite":
        url = _sqlite_database(request.getfixturevalue("sqlite_template"), folder).url
    else:
        server: PgServer = request.getfixturevalue("pg_server")
        name = f"triage_bulk_{secrets.token_hex(6)}"
        url = server.create(name, template=request.getfixturevalue("pg_template"))
        request.addfinalizer(lambda: server.drop(name))
    settings: Settings = request.getfixturevalue("settings")
    other = create_app(
        Settings(
            instance_path=folder,
            database_url=url,
            keyring_path=settings.keyring_path,
            testing=True,
            **FAST_HASH,  # type: ignore[arg-type]
        )
    )
    request.addfinalizer(uow_of(other).engine.dispose)
    return other


def _count(app: Flask, model: type) -> int:
    with app.app_context(), uow_of(app).read() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_report_matches_one_filed_before_it_in_the_same_batch(app: Flask) -> None:
    again = {**DIRECT, "victim": {"name": "Aigerim", "phone": "8 (701) 123-45-67"}}
    with pytest.raises(service.ConfirmLink), app.app_context(), uow_of(app).begin() as session:
        bulk.file_many(session, _items(DIRECT, again))
    assert _count(app, Report) == 0  # nothing of the batch was kept
    with app.app_context(), uow_of(app).begin() as session:
        first, second = bulk.file_many(session, _items(DIRECT, again), on_match="link")
        assert second.linked and second.case.id == first.case.id
        assert second.matches[0].kinds == ("phone",)
        (third,) = bulk.file_many(session, _items(again), on_match="new")
        assert not third.linked and third.matches[0].case_id == first.case.id
    with app.app_context(), uow_of(app).read() as session:
        linked = session.scalar(
            select(AuditEvent.details).where(AuditEvent.action == "report.linked")
        )
        assert '"matched":"phone"' in (linked or "")
        assert audit.verify(session).ok
    assert _count(app, Case) == 2


@pytest.mark.parametrize("on_record", [True, False])
def test_a_repeated_source_is_refused_and_nothing_is_kept(app: Flask, on_record: bool) -> None:
    if on_record:
        with app.app_context(), uow_of(app).begin() as session:
            bulk.file_many(session, _items(MEDIA))
    before = _count(app, Report), _count(app, AuditEvent)
    repeated = {**MEDIA, "url": MEDIA["url"] + "?utm_source=x"}
    batch = (ONLINE, repeated) if on_record else (MEDIA, ONLINE, repeated)
    with (
        pytest.raises(service.DuplicateSource),
        app.app_context(),
        uow_of(app).begin() as session,
    ):
        bulk.file_many(session, _items(*batch))
    assert (_count(app, Report), _count(app, AuditEvent)) == before


def test_reports_can_be_back_dated_but_not_dated_in_the_future(app: Flask) -> None:
    earlier = datetime(2026, 11, 28, 21, 30, tzinfo=UTC)
    with app.app_context(), uow_of(app).begin() as session:
        (filed,) = bulk.file_many(session, _items(DIRECT, received_at=earlier))
        assert filed.report.received_at == earlier == filed.case.opened_at
        # The response deadline counts from the back-dated opening (high: a day).
        assert filed.case.deadline_at == earlier + timedelta(hours=24)
    later = datetime.now(UTC) + timedelta(hours=1)
    with pytest.raises(InvalidInput), app.app_context(), uow_of(app).begin() as session:
        bulk.file_many(session, _items(MEDIA, received_at=later))
    assert _count(app, Report) == 1
