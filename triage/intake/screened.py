"""Screened-out feed items: kept instead of dropped, for reviewers to count, sample, read and
promote into a report through the normal intake path.

Feed import keeps each item that screening read as *not a candidate* (``keep``): its title,
link, publication date, language and text sealed under a data key of its own, its link as a
blind-index token so that the feed imported again keeps nothing twice. Reviewers see the counts
per feed and the waiting items with their plain columns only (``counts``, ``waiting``: nothing is
decrypted); opening one (``open_item``, ``sample``) is an audited decryption. ``promote`` files
the item as an unverified media report with ``service.file`` — sealed, audited, triaged like any
other — marks the item promoted (``screened.promoted``) and destroys the item's own key, so the
text lives on in the report alone. Items nobody promoted expire under the retention rules
(``triage.retention.expire_screened``).

Screened-out items have no region, so — as for any record without one — only reviewers and
supervisors without a region scope may open or promote them (``permissions.in_scope``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import audit, normalise, retention, screening
from ..crypto import Keyring
from ..errors import N_, Conflict, Erased, Forbidden, NotFound
from ..models import Case, Report, ScreenedItem, User, new_id, utcnow
from ..permissions import in_scope
from ..review.rules import ReviewRules
from ..sealed import keyring, open_payload, seal
from ..vocab import ScreenedStatus
from . import schema, service

PAGE_SIZE = 50
SAMPLE_SIZE = 5
VIEW_PURPOSE = "screened.view"
SAMPLE_PURPOSE = "screened.sample"
PROMOTE_PURPOSE = "screened.promote"


class AlreadyPromoted(Conflict):
    """The item was promoted before: promoting it again would file the same text twice."""

    title = N_("Already promoted")

    def __init__(self, *, case_code: str | None) -> None:
        self.case_code = case_code
        if case_code:
            super().__init__(
                N_("This item was promoted to a report already: it is in case %(code)s."),
                code=case_code,
            )
        else:
            super().__init__(N_("This item was promoted to a report already."))


class ItemExpired(Erased):
    """The item's time in the list ran out and its key was destroyed."""


def token_of(ring: Keyring, link: str) -> str:
    """The blind-index token of an item's link, the same a report of that URL is indexed by."""
    return ring.blind_index("url", normalise.url(link))


def is_kept(session: Session, ring: Keyring, link: str) -> bool:
    """Whether an item of this link was screened out and kept before (whatever became of it)."""
    found = session.scalar(
        select(ScreenedItem.id).where(ScreenedItem.url_token == token_of(ring, link)).limit(1)
    )
    return found is not None


def payload_of(incoming: schema.MediaReport) -> dict[str, Any]:
    """What is sealed of an item: its title, link, publication date, language and text."""
    payload: dict[str, Any] = {
        "title": incoming.headline,
        "link": incoming.url,
        "language": str(incoming.language),
        "text": incoming.text,
    }
    if incoming.published_on:
        payload["published_on"] = incoming.published_on.isoformat()
    return payload


def keep(
    session: Session,
    feed: str,
    incoming: schema.MediaReport,
    found: screening.Screening,
    *,
    expires_at: datetime,
    now: datetime | None = None,
    ring: Keyring | None = None,
) -> ScreenedItem:
    """Keep a screened-out item, sealed, waiting in the reviewers' list until ``expires_at``."""
    ring = ring or keyring(session)
    item = ScreenedItem(
        id=new_id(),
        feed=feed[:200],
        url_token=token_of(ring, incoming.url),
        verdict=found.verdict,
        probability=found.probability,
        screened_at=now or utcnow(),
        expires_at=expires_at,
        status=ScreenedStatus.WAITING.value,
    )
    session.add(item)
    seal(session, item, payload_of(incoming), ring=ring)
    session.flush()
    return item


# -- the reviewers' list: plain columns only -----------------------------------------------------


@dataclass(frozen=True)
class FeedCounts:
    feed: str
    waiting: int = 0
    promoted: int = 0
    expired: int = 0


def counts(session: Session) -> list[FeedCounts]:
    """Items per feed and status, feeds by name."""
    found: dict[str, dict[str, int]] = {}
    for feed, status, n in session.execute(
        select(ScreenedItem.feed, ScreenedItem.status, func.count()).group_by(
            ScreenedItem.feed, ScreenedItem.status
        )
    ):
        found.setdefault(feed, {})[status] = int(n)
    return [FeedCounts(feed, **by_status) for feed, by_status in sorted(found.items())]


@dataclass(frozen=True)
class Row:
    """A waiting item as the list shows it: nothing sealed."""

    id: str
    feed: str
    screened_at: datetime
    expires_at: datetime
    verdict: str
    probability: float | None


@dataclass(frozen=True)
class Listing:
    rows: list[Row]
    total: int
    page: int
    pages: int
    feed: str | None = None


def waiting(session: Session, *, feed: str | None = None, page: int = 1) -> Listing:
    """One page of the waiting items, newest first, optionally of one feed."""
    where = [ScreenedItem.status == ScreenedStatus.WAITING.value]
    if feed:
        where.append(ScreenedItem.feed == feed)
    total = int(session.scalar(select(func.count()).select_from(ScreenedItem).where(*where)) or 0)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = session.execute(
        select(
            ScreenedItem.id,
            ScreenedItem.feed,
            ScreenedItem.screened_at,
            ScreenedItem.expires_at,
            ScreenedItem.verdict,
            ScreenedItem.probability,
        )
        .where(*where)
        .order_by(ScreenedItem.screened_at.desc(), ScreenedItem.id)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    return Listing([Row(*row) for row in rows], total, page, pages, feed or None)


# -- opening and promoting: audited, for reviewers without a region scope -----------------------


def may_open(user: User) -> bool:
    """Items have no region: like any record without one, only unscoped users open them."""
    return in_scope(user.region, None)


def _require_scope(user: User) -> None:
    if not may_open(user):
        raise Forbidden(
            N_(
                "Screened-out items have no region yet, so only reviewers and supervisors "
                "without a region scope may open or promote them."
            )
        )


@dataclass(frozen=True)
class Opened:
    """An item with its decrypted payload (``None`` once its key was destroyed) and, once
    promoted, the code of the case its report is in."""

    item: ScreenedItem
    payload: dict[str, Any] | None
    case_code: str | None = None


def _case_code(session: Session, item: ScreenedItem) -> str | None:
    if item.report_id is None:
        return None
    return session.scalar(
        select(Case.code).join(Report, Report.case_id == Case.id).where(Report.id == item.report_id)
    )


def _open(session: Session, user: User, item: ScreenedItem, purpose: str) -> Opened:
    payload = None
    if item.data_key_id is not None and item.payload is not None:
        payload = open_payload(session, item, actor=str(user.id), purpose=purpose)
    return Opened(item, payload, _case_code(session, item))


def _get(session: Session, item_id: str, *, for_update: bool = False) -> ScreenedItem:
    item = session.get(ScreenedItem, item_id, with_for_update=True if for_update else None)
    if item is None:
        raise NotFound(N_("There is no such screened-out item."))
    return item


def open_item(session: Session, user: User, item_id: str) -> Opened:
    """One item, decrypted for ``user`` (a ``payload.decrypted`` event, purpose
    ``screened.view``)."""
    _require_scope(user)
    return _open(session, user, _get(session, item_id), VIEW_PURPOSE)


def sample(
    session: Session, user: User, *, feed: str | None = None, size: int = SAMPLE_SIZE
) -> list[Opened]:
    """A few waiting items picked at random (of one feed, if given), each decrypted for ``user``
    and audited (purpose ``screened.sample``): how reviewers check what screening leaves out."""
    _require_scope(user)
    query = select(ScreenedItem).where(
        ScreenedItem.status == ScreenedStatus.WAITING.value,
        ScreenedItem.data_key_id.is_not(None),
    )
    if feed:
        query = query.where(ScreenedItem.feed == feed)
    picked = session.scalars(query.order_by(func.random()).limit(size)).all()
    return [_open(session, user, item, SAMPLE_PURPOSE) for item in picked]


def promote(
    session: Session,
    user: User,
    item_id: str,
    *,
    rules: ReviewRules | None = None,
    now: datetime | None = None,
) -> service.Filed:
    """File the item as an unverified media report through ``service.file`` (sealed, audited,
    triaged), mark it promoted and destroy its own key. Promoting it again is refused
    (``AlreadyPromoted``, 409), as is an expired item (``ItemExpired``, 410)."""
    _require_scope(user)
    item = _get(session, item_id, for_update=True)  # two reviewers at once: the second waits
    if item.status == ScreenedStatus.PROMOTED.value:
        raise AlreadyPromoted(case_code=_case_code(session, item))
    if item.status == ScreenedStatus.EXPIRED.value or item.data_key_id is None:
        raise ItemExpired(
            N_("This item expired: its content was destroyed under the retention rules.")
        )
    actor = str(user.id)
    payload = open_payload(session, item, actor=actor, purpose=PROMOTE_PURPOSE)
    incoming = schema.parse(
        {
            "source_kind": "media",
            "outlet": item.feed,
            "url": payload["link"],
            "published_on": payload.get("published_on"),
            "language": payload["language"],
            "headline": payload["title"],
            "text": payload["text"],
        }
    )
    filed = service.file(
        session,
        incoming,
        actor=actor,
        filed_by=user.id,
        user_region=user.region,
        new_case=True,
        attested=False,
        rules=rules,
    )
    moment = now or utcnow()
    filed.report.screening_verdict = item.verdict
    item.status = ScreenedStatus.PROMOTED.value
    item.report_id = filed.report.id
    item.promoted_by = user.id
    item.promoted_at = moment
    audit.append(
        session,
        actor=actor,
        action="screened.promoted",
        object_type=item.__tablename__,
        object_id=item.id,
        details={"report_id": filed.report.id, "case_id": filed.case.id, "verdict": item.verdict},
    )
    retention.shred_screened(session, item, actor=actor, reason="promoted", now=moment)
    session.flush()
    return filed
