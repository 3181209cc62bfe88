"""Feed import: RSS and Atom items screened; nothing is dropped.

Each item is screened (``triage.screening``) and handled in a transaction of its own:

- a **candidate** is filed as an unverified media report;
- an item on the **review band** is filed too, its report marked as such
  (``Report.screening_verdict``), so the queue and the case page show a reviewer to decide;
- an item that is **not a candidate** is kept, sealed, in the reviewers' list of screened-out
  items (``triage.intake.screened``) until it expires, for them to sample and promote.

An item whose link is already on record — a report from an earlier run or any other source, or
an item kept before — is skipped, so importing the same feed twice adds nothing.
"""

from __future__ import annotations

import html
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import feedparser  # type: ignore[import-untyped]
from sqlalchemy.orm import Session

from .. import audit, screening
from ..errors import DomainError
from ..models import utcnow
from ..review.rules import ReviewRules
from ..sealed import keyring
from ..uow import UnitOfWork
from . import schema, screened, service

MAX_FEED_BYTES = 20 * 1024 * 1024
FETCH_TIMEOUT_S = 30
USER_AGENT = "triage-feed-import/1"


class FeedError(Exception):
    """The feed could not be fetched or read; the message says why."""


class _Text(HTMLParser):
    """The text of an HTML fragment (feed summaries are HTML), paragraphs kept apart."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"p", "br", "div", "li"}:
            self.parts.append("\n")


def plain_text(fragment: str) -> str:
    parser = _Text()
    parser.feed(fragment)
    parser.close()
    lines = (" ".join(line.split()) for line in html.unescape("".join(parser.parts)).splitlines())
    return "\n".join(line for line in lines if line)


def read_source(source: str) -> bytes:
    """The feed's bytes from an http(s) URL or a local file, size-limited."""
    if source.startswith(("http://", "https://")):
        request = urllib.request.Request(source, headers={"User-Agent": USER_AGENT})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as response:  # noqa: S310
                data: bytes = response.read(MAX_FEED_BYTES + 1)
        except OSError as exc:
            raise FeedError(f"cannot fetch {source}: {exc}") from None
    else:
        path = Path(source)
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_FEED_BYTES + 1)
        except OSError as exc:
            raise FeedError(f"cannot read {source}: {exc.strerror}") from None
    if len(data) > MAX_FEED_BYTES:
        raise FeedError(f"{source} is larger than {MAX_FEED_BYTES // (1024 * 1024)} MB")
    return data


@dataclass(frozen=True)
class Item:
    number: int
    link: str
    title: str
    text: str
    published_on: date | None
    language: str


def items(data: bytes) -> tuple[str, list[Item]]:
    """The feed's title and its items."""
    parsed: Any = feedparser.parse(data)
    if parsed.bozo and not parsed.entries:
        raise FeedError(f"not an RSS or Atom feed ({type(parsed.bozo_exception).__name__})")
    feed_language = str(parsed.feed.get("language", "")).split("-")[0].lower()
    result = []
    for number, entry in enumerate(parsed.entries, start=1):
        body = ""
        if entry.get("content"):
            body = " ".join(str(c.get("value", "")) for c in entry.content)
        body = body or str(entry.get("summary", ""))
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        published = datetime(*stamp[:6]).replace(tzinfo=UTC).date() if stamp else None
        result.append(
            Item(
                number=number,
                link=str(entry.get("link", "")).strip(),
                title=plain_text(str(entry.get("title", ""))),
                text=plain_text(body),
                published_on=published,
                language=feed_language,
            )
        )
    return plain_text(str(parsed.feed.get("title", ""))) or "Feed", result


#: Days a screened-out item waits for a reviewer by default (TRIAGE_SCREENED_RETENTION_DAYS).
SCREENED_DAYS = 30

IMPORTED, REVIEW_BAND, SCREENED_OUT, ALREADY = "imported", "review_band", "screened_out", "already"


@dataclass
class Outcome:
    """What an import did, in counts that add up to ``total``; ``problems`` name items by number
    and field only."""

    total: int = 0
    #: Candidates filed as reports.
    imported: int = 0
    #: Items on the review band, filed as reports marked for a reviewer to decide.
    review_band: int = 0
    #: Not candidates: kept, sealed, in the reviewers' list of screened-out items.
    screened_out: int = 0
    #: Links already on record (a report, or an item kept before).
    already: int = 0
    failed: int = 0
    problems: list[str] = field(default_factory=list)

    def as_details(self) -> dict[str, int]:
        return {
            "total": self.total,
            "imported": self.imported,
            "review_band": self.review_band,
            "screened_out": self.screened_out,
            "already_seen": self.already,
            "failed": self.failed,
        }

    def count(self, what: str) -> None:
        if what == IMPORTED:
            self.imported += 1
        elif what == REVIEW_BAND:
            self.review_band += 1
        elif what == SCREENED_OUT:
            self.screened_out += 1
        else:
            self.already += 1


def _language(item: Item, detected: str) -> str:
    for value in (item.language, detected):
        if value in {"ru", "kk", "en"}:
            return value
    return "other"


def _incoming(outlet: str, item: Item, found: screening.Screening) -> schema.MediaReport:
    """The item as a media report, validated (a bad link or an empty item fails here)."""
    incoming = schema.parse(
        {
            "source_kind": "media",
            "outlet": outlet[:200],
            "url": item.link,
            "published_on": item.published_on
            if item.published_on and item.published_on <= date.today()
            else None,
            "language": _language(item, found.language),
            "headline": item.title[:500] or item.link[:500],
            "text": item.text or item.title,
        }
    )
    assert isinstance(incoming, schema.MediaReport)
    return incoming


def _take_item(
    session: Session,
    outlet: str,
    item: Item,
    found: screening.Screening,
    rules: ReviewRules | None,
    expires_at: datetime,
) -> str:
    """File, mark or keep one item; which of them it was (``ALREADY`` when its link is on
    record)."""
    incoming = _incoming(outlet, item, found)
    ring = keyring(session)
    if service.find_source(session, ring, incoming.url) is not None or screened.is_kept(
        session, ring, incoming.url
    ):
        return ALREADY
    if not found.reaches_reviewer:
        screened.keep(session, outlet, incoming, found, expires_at=expires_at, ring=ring)
        return SCREENED_OUT
    filed = service.file(
        session, incoming, actor=audit.SYSTEM_ACTOR, new_case=True, rules=rules, ring=ring
    )
    filed.report.screening_verdict = found.verdict
    return REVIEW_BAND if found.review else IMPORTED


def import_feed(
    uow: UnitOfWork,
    source: str,
    *,
    rules: ReviewRules | None = None,
    screened_days: int = SCREENED_DAYS,
    progress: Callable[[Iterator[Item]], Iterator[Item]] | None = None,
) -> Outcome:
    """Import ``source``: every item in a transaction of its own, then one summary event.
    Screened-out items are kept for ``screened_days``."""
    outlet, entries = items(read_source(source))
    outcome = Outcome(total=len(entries))
    expires_at = utcnow() + timedelta(days=screened_days)
    walk = progress(iter(entries)) if progress else iter(entries)
    for item in walk:
        found = screening.screen(f"{item.title}\n\n{item.text}")
        try:
            with uow.begin() as session:
                taken = _take_item(session, outlet, item, found, rules, expires_at)
        except schema.InvalidReport as exc:
            outcome.failed += 1
            outcome.problems.append(
                f"item {item.number}: {', '.join(sorted(exc.errors))} not valid"
            )
            continue
        except DomainError as exc:
            outcome.failed += 1
            outcome.problems.append(f"item {item.number}: {type(exc).__name__}")
            continue
        outcome.count(taken)
    with uow.begin() as session:
        audit.append(
            session,
            actor=audit.SYSTEM_ACTOR,
            action="feed.imported",
            object_type="feed",
            details=outcome.as_details(),
        )
    return outcome
