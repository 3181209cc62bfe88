"""Feed import: RSS and Atom items screened, candidates filed as unverified media reports.

Each item is screened (``triage.screening``); a candidate becomes a media report in its own
transaction, the rest are counted and dropped. An item whose link is already on record — from an
earlier run or any other source — is skipped, so importing the same feed twice files nothing new.
"""

from __future__ import annotations

import html
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import feedparser  # type: ignore[import-untyped]
from sqlalchemy.orm import Session

from .. import audit, screening
from ..errors import DomainError
from ..review.rules import ReviewRules
from ..sealed import keyring
from ..uow import UnitOfWork
from . import schema, service

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


@dataclass
class Outcome:
    """What an import did, in counts; ``problems`` name items by number and field only."""

    total: int = 0
    candidates: int = 0
    imported: int = 0
    already: int = 0
    dropped: int = 0
    failed: int = 0
    problems: list[str] = field(default_factory=list)

    def as_details(self) -> dict[str, int]:
        return {
            "total": self.total,
            "candidates": self.candidates,
            "imported": self.imported,
            "already_imported": self.already,
            "dropped": self.dropped,
            "failed": self.failed,
        }


def _language(item: Item, detected: str) -> str:
    for value in (item.language, detected):
        if value in {"ru", "kk", "en"}:
            return value
    return "other"


def _file_item(
    session: Session,
    outlet: str,
    item: Item,
    found: screening.Screening,
    rules: ReviewRules | None,
) -> bool:
    """File one candidate; False when its link is already on record."""
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
    if service.find_source(session, keyring(session), item.link) is not None:
        return False
    service.file(session, incoming, actor=audit.SYSTEM_ACTOR, new_case=True, rules=rules)
    return True


def import_feed(
    uow: UnitOfWork,
    source: str,
    *,
    rules: ReviewRules | None = None,
    progress: Callable[[Iterator[Item]], Iterator[Item]] | None = None,
) -> Outcome:
    """Import ``source``; every candidate in a transaction of its own, then one summary event."""
    outlet, entries = items(read_source(source))
    outcome = Outcome(total=len(entries))
    walk = progress(iter(entries)) if progress else iter(entries)
    for item in walk:
        found = screening.screen(f"{item.title}\n\n{item.text}")
        if not found.candidate:
            outcome.dropped += 1
            continue
        outcome.candidates += 1
        try:
            with uow.begin() as session:
                filed = _file_item(session, outlet, item, found, rules)
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
        if filed:
            outcome.imported += 1
        else:
            outcome.already += 1
    with uow.begin() as session:
        audit.append(
            session,
            actor=audit.SYSTEM_ACTOR,
            action="feed.imported",
            object_type="feed",
            details=outcome.as_details(),
        )
    return outcome
