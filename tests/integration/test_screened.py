"""Nothing silently dropped: feed import files candidates, files review-band items marked as
such, and keeps screened-out items, sealed, in the reviewers' list; promoting one files a report
through the normal intake path (sealed, audited, triaged); importing again adds nothing; and an
item nobody promoted is crypto-shredded by `triage purge` when its time is up.

The feed is written here, and each item's verdict is checked with ``screening.screen`` first:
the texts are picked from a few for each role, so a retrained model that reads one of them
differently picks another instead of breaking the test's premise silently."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.conftest import Account, AuthActions, Database, make_user
from tests.integration.test_plaintext_scan import _pg_dump, _sqlite_bytes
from triage import audit, normalise, screening, sealed
from triage.cli import main
from triage.config import Settings
from triage.intake import feeds
from triage.models import AuditEvent, Case, DataKey, Report, ScreenedItem, utcnow
from triage.vocab import Region, Role
from triage.web.deps import uow_of

FEED_TITLE = "Quuxbridge Evening Courier"


@dataclass(frozen=True)
class Entry:
    title: str
    text: str
    slug: str

    @property
    def link(self) -> str:
        return f"https://news.example.kz/2026/12/{self.slug}"

    @property
    def screened(self) -> str:
        """The text feed import screens: title, a blank line, the item's text."""
        return f"{self.title}\n\n{self.text}"


#: For each role, texts to pick from: the first that screening reads as wanted is used.
CHOICES: dict[str, list[Entry]] = {
    screening.CANDIDATE: [
        Entry(
            "Husband detained after attack on his wife",
            "A man beat his wife with a belt and threatened to kill her with a knife; neighbours "
            "called the police to the flat, and she was taken to hospital with a broken arm.",
            "wife-attacked-5521",
        ),
        Entry(
            "Муж избил жену",
            "Мужчина избил жену и угрожал убить её ножом, соседи вызвали полицию.",
            "zhena-5522",
        ),
    ],
    screening.REVIEW: [
        Entry(
            "Man detained after fight",
            "A man was detained after a fight at home, police said. A woman was taken to hospital.",
            "fight-at-home-7731",
        ),
        Entry(
            "Podcast hosts joke about marriage",
            "My husband will kill me if I am late again, she joked on the podcast.",
            "podcast-joke-7732",
        ),
        Entry(
            "A night of noise",
            "Neighbours heard screams and blows through the wall late at night; the police came.",
            "night-noise-7733",
        ),
    ],
    screening.NOT_CANDIDATE: [
        Entry(
            "Quuxbridge council approves road budget",
            "The Quuxbridge council approved a new budget for road repairs on Tuesday; "
            "Zorblatt Avenue will be resurfaced first.",
            "quuxbridge-budget-4417",
        ),
        Entry(
            "Quuxbridge Rovers lose at home",
            "The Quuxbridge Rovers lost 3-0 on Sunday; coach Zorblatt blamed the weather.",
            "quuxbridge-football-4418",
        ),
    ],
}
#: What of the screened-out item must never be stored in plain text.
NEGATIVE_PLAINTEXTS = ("Quuxbridge council", "Zorblatt", "quuxbridge-budget", "quuxbridge-football")


def pick(verdict: str, skip: int = 0) -> Entry:
    found = [e for e in CHOICES[verdict] if screening.screen(e.screened).verdict == verdict]
    assert len(found) > skip, f"no text of the test reads as {verdict}: add one"
    return found[skip]


def write_feed(path: Path, entries: list[Entry]) -> Path:
    items = "".join(
        f"<item><title>{escape(e.title)}</title><link>{e.link}</link><guid>{e.link}</guid>"
        f"<pubDate>Mon, 07 Dec 2026 09:00:00 +0500</pubDate>"
        f"<description>{escape(e.text)}</description></item>"
        for e in entries
    )
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{FEED_TITLE}</title><link>https://news.example.kz/</link>"
        f"<description>test</description><language>en</language>{items}</channel></rss>",
        encoding="utf-8",
    )
    return path


def env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        "TRIAGE_INSTANCE_PATH": str(settings.instance_path),
        "TRIAGE_DATABASE_URL": settings.database_url,
        "TRIAGE_KEYRING_PATH": settings.keyring_path,
        **extra,
    }


def run(settings: Settings, *args: str, **extra: str) -> str:
    result = CliRunner().invoke(main, list(args), env=env(settings, **extra))
    assert result.exit_code == 0, result.output
    return result.output


def line(imported: int, review: int, out: int, already: int, failed: int = 0) -> str:
    return (
        f"{imported + review + out + already + failed} items: {imported} imported, "
        f"{review} imported on the review band, {out} screened out (kept for reviewers), "
        f"{already} already seen, {failed} failed."
    )


def token(client: FlaskClient, path: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(path).get_data(True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def events(app: Flask, first_seq: int = 1) -> list[dict[str, Any]]:
    with app.app_context(), uow_of(app).read() as session:
        return list(audit.iter_events(session, first_seq=first_seq))


def last_seq(app: Flask) -> int:
    with app.app_context(), uow_of(app).read() as session:
        return int(session.scalar(select(func.max(AuditEvent.seq))) or 0)


def items(app: Flask) -> list[ScreenedItem]:
    with app.app_context(), uow_of(app).read() as session:
        return list(session.scalars(select(ScreenedItem).order_by(ScreenedItem.screened_at)))


def reports(app: Flask) -> list[Report]:
    with app.app_context(), uow_of(app).read() as session:
        return list(session.scalars(select(Report).order_by(Report.received_at)))


@pytest.fixture
def reviewer(app: Flask) -> Account:
    """A reviewer without a region scope: feed items have no region, so only she may open them."""
    return make_user(app, "reviewer.everywhere", Role.REVIEWER)


def signed_in(app: Flask, account: Account) -> FlaskClient:
    client = app.test_client()
    AuthActions(client).login_as(account)
    return client


# -- import, the review band, the reviewers' list, promotion -------------------------------------


def test_nothing_is_dropped_and_a_promoted_item_is_a_report_like_any_other(
    app: Flask, settings: Settings, tmp_path: Path, reviewer: Account
) -> None:
    candidate, borderline, negative = (
        pick(screening.CANDIDATE),
        pick(screening.REVIEW),
        pick(screening.NOT_CANDIDATE),
    )
    feed = write_feed(tmp_path / "feed.xml", [candidate, borderline, negative])

    assert line(1, 1, 1, 0) in run(settings, "import-feed", str(feed))

    filed = reports(app)
    assert sorted(r.screening_verdict or "" for r in filed) == ["candidate", "review"]
    assert {r.verification for r in filed} == {"unverified"}
    kept = items(app)
    assert len(kept) == 1
    item = kept[0]
    assert (item.feed, item.verdict, item.status) == (FEED_TITLE, "not_candidate", "waiting")
    assert item.probability is not None and item.probability < screening.MODEL_REVIEW
    assert item.data_key_id is not None and item.report_id is None
    assert timedelta(days=29) < item.expires_at - utcnow() <= timedelta(days=30)
    imported = [e for e in events(app) if e["action"] == "feed.imported"]
    assert imported[-1]["details"] == {
        "total": 3,
        "imported": 1,
        "review_band": 1,
        "screened_out": 1,
        "already_seen": 0,
        "failed": 0,
    }

    # The queue and the case page mark the review-band case.
    client = signed_in(app, reviewer)
    with app.app_context(), uow_of(app).read() as session:
        review_case = session.scalar(
            select(Case.code).join(Report).where(Report.screening_verdict == "review")
        )
        candidate_case = session.scalar(
            select(Case.code).join(Report).where(Report.screening_verdict == "candidate")
        )
    queue = client.get("/cases/").get_data(as_text=True)
    row_of = {
        code: queue[queue.index(f">{code}</a>") : queue.index("</tr>", queue.index(code))]
        for code in (review_case, candidate_case)
    }
    assert "review band" in row_of[review_case]
    assert "review band" not in row_of[candidate_case]
    assert "review band" in client.get(f"/cases/{review_case}").get_data(as_text=True)

    # The list decrypts nothing: counts per feed, the waiting item's plain columns.
    before = last_seq(app)
    listing = client.get("/screened/")
    assert listing.status_code == 200
    html = listing.get_data(as_text=True)
    assert FEED_TITLE in html and f"/screened/{item.id}" in html and "not a candidate" in html
    assert negative.title not in html
    assert [e for e in events(app, before + 1) if e["action"] == "payload.decrypted"] == []

    # Sampling and opening an item are audited decryptions.
    before = last_seq(app)
    sample = client.get("/screened/sample").get_data(as_text=True)
    assert escape(negative.title) in sample
    page = client.get(f"/screened/{item.id}").get_data(as_text=True)
    assert escape(negative.title) in page and escape(negative.text) in page
    opened = [
        (e["object_type"], e["object_id"], e["details"]["purpose"])
        for e in events(app, before + 1)
        if e["action"] == "payload.decrypted"
    ]
    assert opened == [
        ("screened_item", item.id, "screened.sample"),
        ("screened_item", item.id, "screened.view"),
    ]

    # Promoting files it through intake: sealed, audited, triaged.
    before = last_seq(app)
    promoted = client.post(
        f"/screened/{item.id}/promote", data={"csrf_token": token(client, f"/screened/{item.id}")}
    )
    assert promoted.status_code == 302 and "/cases/" in promoted.headers["Location"]
    actions = [e["action"] for e in events(app, before + 1)]
    for wanted in ("payload.decrypted", "case.opened", "report.filed", "case.triaged"):
        assert wanted in actions
    assert actions[-2:] == ["screened.promoted", "record.purged"]
    with app.app_context(), uow_of(app).begin() as session:
        done = session.get(ScreenedItem, item.id)
        assert done is not None and done.status == "promoted" and done.data_key_id is None
        report = session.get(Report, done.report_id)
        assert report is not None
        assert (report.source_kind, report.verification) == ("media", "unverified")
        assert (report.screening_verdict, report.filed_by) == ("not_candidate", reviewer.id)
        case = session.get(Case, report.case_id)
        assert case is not None and case.deadline_at is not None and case.status == "open"
        payload = sealed.open_payload(session, report, actor="system", purpose="test")
        assert payload["url"] == negative.link and payload["outlet"] == FEED_TITLE
        assert payload["headline"] == negative.title and payload["text"] == negative.text
        with pytest.raises(sealed.PayloadShredded):
            sealed.open_payload(session, done, actor="system", purpose="test")
    promoted_event = [e for e in events(app, before + 1) if e["action"] == "screened.promoted"]
    assert promoted_event[0]["details"]["report_id"] == report.id
    assert case.code in client.get(promoted.headers["Location"]).get_data(as_text=True)

    # A second promotion is refused, clearly, and changes nothing.
    before = last_seq(app)
    again = client.post(
        f"/screened/{item.id}/promote", data={"csrf_token": token(client, "/screened/")}
    )
    assert again.status_code == 409
    assert f"promoted to a report already: it is in case {case.code}" in again.get_data(True)
    assert len(reports(app)) == 3
    assert last_seq(app) == before

    # The feed imported again adds nothing: no report, no item.
    assert line(0, 0, 0, 3) in run(settings, "import-feed", str(feed))
    assert len(reports(app)) == 3 and len(items(app)) == 1
    counts = client.get("/screened/").get_data(as_text=True)
    assert "Nothing is waiting." in counts


def test_stored_bytes_hold_nothing_of_a_screened_or_promoted_item(
    app: Flask, settings: Settings, database: Database, tmp_path: Path, reviewer: Account
) -> None:
    first, second = pick(screening.NOT_CANDIDATE), pick(screening.NOT_CANDIDATE, skip=1)
    run(settings, "import-feed", str(write_feed(tmp_path / "feed.xml", [first, second])))
    to_promote = items(app)[0]
    client = signed_in(app, reviewer)
    done = client.post(
        f"/screened/{to_promote.id}/promote", data={"csrf_token": token(client, "/screened/")}
    )
    assert done.status_code == 302

    if database.engine == "sqlite":
        assert database.path is not None
        with sqlite3.connect(database.path) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        data = _sqlite_bytes(database.path)
    else:
        data = _pg_dump(database.url)
    assert FEED_TITLE.encode() in data  # the control: the feed's name is a plain column
    for plain in (*NEGATIVE_PLAINTEXTS, normalise.url(first.link), normalise.url(second.link)):
        for form in {plain, plain.casefold()}:
            assert form.encode() not in data, f"{form!r} stored in plain text"
            assert form.encode().hex().encode() not in data, f"{form!r} stored as hex"


# -- who may open them ---------------------------------------------------------------------------


def test_a_scoped_reviewer_sees_the_counts_but_opens_nothing(
    app: Flask, settings: Settings, tmp_path: Path, accounts: dict[Role, Account]
) -> None:
    negative = pick(screening.NOT_CANDIDATE)
    run(settings, "import-feed", str(write_feed(tmp_path / "feed.xml", [negative])))
    item = items(app)[0]
    client = signed_in(app, accounts[Role.REVIEWER])  # scoped to Karaganda
    listing = client.get("/screened/").get_data(as_text=True)
    assert FEED_TITLE in listing and "only reviewers and supervisors without a region" in listing
    assert f"/screened/{item.id}" not in listing
    before = last_seq(app)
    assert client.get(f"/screened/{item.id}").status_code == 403
    assert client.get("/screened/sample").status_code == 403
    refused = client.post(
        f"/screened/{item.id}/promote", data={"csrf_token": token(client, "/screened/")}
    )
    assert refused.status_code == 403
    assert last_seq(app) == before
    assert items(app)[0].status == "waiting" and reports(app) == []


def test_unknown_items_are_not_found(app: Flask, reviewer: Account) -> None:
    client = signed_in(app, reviewer)
    assert client.get("/screened/no-such-item").status_code == 404
    assert (
        client.post(
            "/screened/no-such-item/promote", data={"csrf_token": token(client, "/screened/")}
        ).status_code
        == 404
    )
    assert "Nothing is waiting." in client.get("/screened/sample").get_data(as_text=True)


# -- retention -------------------------------------------------------------------------------------


def test_purge_shreds_the_items_whose_time_is_up(
    app: Flask, settings: Settings, tmp_path: Path, reviewer: Account
) -> None:
    old, recent = pick(screening.NOT_CANDIDATE), pick(screening.NOT_CANDIDATE, skip=1)
    feed = write_feed(tmp_path / "feed.xml", [old, recent])
    run(settings, "import-feed", str(feed), TRIAGE_SCREENED_RETENTION_DAYS="10")
    with app.app_context(), uow_of(app).begin() as session:
        by_link = {}
        for item in session.scalars(select(ScreenedItem)):
            by_link[sealed.open_payload(session, item, actor="system", purpose="test")["link"]] = (
                item.id
            )
            assert timedelta(days=9) < item.expires_at - utcnow() <= timedelta(days=10)
        expiring = session.get(ScreenedItem, by_link[old.link])
        assert expiring is not None
        expiring.expires_at = utcnow() - timedelta(minutes=1)
        keys_before = int(session.scalar(select(func.count()).select_from(DataKey)) or 0)

    dry = run(settings, "purge", "--dry-run")
    assert "Screened-out items past their time: 1" in dry
    assert items(app)[0].data_key_id is not None and items(app)[1].data_key_id is not None
    done = run(settings, "purge", "--yes")
    assert "Expired 1 screened-out items (their keys destroyed)." in done

    with app.app_context(), uow_of(app).begin() as session:
        gone = session.get(ScreenedItem, by_link[old.link])
        kept = session.get(ScreenedItem, by_link[recent.link])
        assert gone is not None and kept is not None
        assert (gone.status, gone.data_key_id) == ("expired", None)
        assert gone.shredded_at is not None
        with pytest.raises(sealed.PayloadShredded):
            sealed.open_payload(session, gone, actor="system", purpose="test")
        assert kept.status == "waiting"
        assert sealed.open_payload(session, kept, actor="system", purpose="test")["link"] == (
            recent.link
        )
        assert session.scalar(select(func.count()).select_from(DataKey)) == keys_before - 1
    purged = [e for e in events(app) if e["action"] == "record.purged"]
    assert [(e["object_type"], e["object_id"], e["details"]) for e in purged] == [
        ("screened_item", gone.id, {"reason": "retention"})
    ]

    client = signed_in(app, reviewer)
    page = client.get(f"/screened/{gone.id}").get_data(as_text=True)
    assert "Expired" in page and escape(old.title) not in page
    late = client.post(
        f"/screened/{gone.id}/promote", data={"csrf_token": token(client, "/screened/")}
    )
    assert late.status_code == 410
    assert reports(app) == []
    # Its link's token stays: the feed imported again does not bring it back.
    assert line(0, 0, 0, 2) in run(settings, "import-feed", str(feed))
    assert "Screened-out items past their time: 0" in run(settings, "purge", "--yes")


def test_an_erasure_request_leaves_screened_items_alone(
    app: Flask, settings: Settings, tmp_path: Path
) -> None:
    run(settings, "import-feed", str(write_feed(tmp_path / "f.xml", [pick("not_candidate")])))
    with app.app_context(), uow_of(app).begin() as session:
        item = session.scalars(select(ScreenedItem)).one()
        item.expires_at = utcnow() - timedelta(days=1)
    result = CliRunner().invoke(
        main, ["purge", "--case", "C-0000-0000", "--yes"], env=env(settings)
    )
    assert result.exit_code == 1 and "There is no case" in result.output
    assert items(app)[0].data_key_id is not None


def test_the_outcome_counts_add_up() -> None:
    outcome = feeds.Outcome(total=5)
    for what in (feeds.IMPORTED, feeds.REVIEW_BAND, feeds.SCREENED_OUT, feeds.ALREADY):
        outcome.count(what)
    outcome.failed += 1
    details = outcome.as_details()
    assert details["total"] == sum(v for k, v in details.items() if k != "total")


def test_the_region_rule_is_the_permissions_one() -> None:
    from triage.intake import screened
    from triage.models import User

    assert screened.may_open(User(region=None))
    assert not screened.may_open(User(region=Region.KARAGANDA.value))
