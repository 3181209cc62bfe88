"""Deliveries: raising the alerts that fell due (each once, with a delivery per channel and
recipient), claiming one to send, recording what came of it — sent, failed and to be retried
after a backoff, or dead after the last attempt — and the admin's dead-letter list and retry.

Sending happens outside any transaction (a slow server must not hold the database), so a sender
first *claims* a delivery in one short transaction (``claim_next``: the row locked with ``FOR
UPDATE SKIP LOCKED`` on PostgreSQL, under SQLite's write lock otherwise, and given a claim token
and a time limit), sends, and records the outcome in a second one that only the claim's holder
can write (``record``). Two senders at once never send the same delivery; a sender that dies
leaves its claim to run out, after which the delivery is tried again.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .. import audit, users
from ..errors import N_, Conflict, NotFound
from ..models import (
    Alert,
    Case,
    Delivery,
    DeliveryChannel,
    DeliveryStatus,
    User,
    new_id,
)
from .due import Due
from .messages import AlertFacts
from .rules import NotifyConfig, NotifyRules

log = logging.getLogger("triage.notify")

#: The purpose named in the audit event when an alert opens its recipient's sealed address.
ADDRESS_PURPOSE = "notify.address"
_OPEN = (DeliveryStatus.PENDING.value, DeliveryStatus.FAILED.value)


class DeliveryNotFound(NotFound):
    title = N_("There is no such delivery.")


class NotDeadLetter(Conflict):
    title = N_("This delivery is not on the dead-letter list.")


# -- raising -----------------------------------------------------------------------------------


@dataclass
class Raised:
    alerts: int = 0
    deliveries: int = 0
    #: Recipients left out of an e-mail because their account has no address.
    without_address: int = 0
    #: Alerts that had nobody to reach at all (no address among the recipients and no webhook).
    unheard: int = 0


def _insert_alert(session: Session, found: Due, *, now: datetime) -> str | None:
    """Insert the alert unless its key is taken; its id if this insert made it."""
    alert_id = new_id()
    values = {
        "id": alert_id,
        "kind": found.kind,
        "object_id": found.object_id,
        "occasion": found.occasion,
        "case_id": found.case_id,
        "decision_id": found.decision_id,
        "due_at": found.due_at,
        "raised_at": now,
    }
    table = Alert.metadata.tables[Alert.__tablename__]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["kind", "object_id", "occasion"])
        .returning(table.c.id)
    )
    made = session.execute(statement).scalar_one_or_none()
    return alert_id if made == alert_id else None


def raise_alerts(
    session: Session, found: Sequence[Due], config: NotifyConfig, *, now: datetime
) -> Raised:
    """Raise each finding not raised yet, with its deliveries on the configured channels: an
    e-mail to each recipient whose account has an address, and one webhook call."""
    outcome = Raised()
    wanted = {uid for d in found for uid in d.recipients}
    with_address = (
        set(session.scalars(select(User.id).where(User.id.in_(wanted), User.has_email)))
        if wanted and config.smtp
        else set()
    )
    for item in found:
        alert_id = _insert_alert(session, item, now=now)
        if alert_id is None:
            continue  # raised meanwhile, by another run
        outcome.alerts += 1
        made = 0
        if config.smtp:
            for uid in item.recipients:
                if uid not in with_address:
                    outcome.without_address += 1
                    continue
                session.add(_delivery(alert_id, DeliveryChannel.EMAIL, uid, now))
                made += 1
        if config.webhook:
            session.add(_delivery(alert_id, DeliveryChannel.WEBHOOK, None, now))
            made += 1
        if not made:
            outcome.unheard += 1
            log.warning("alert %s (%s, case %s) reaches nobody", alert_id, item.kind, item.case_id)
        outcome.deliveries += made
    session.flush()
    return outcome


def _delivery(alert_id: str, channel: DeliveryChannel, uid: int | None, now: datetime) -> Delivery:
    return Delivery(
        id=new_id(),
        alert_id=alert_id,
        channel=channel.value,
        recipient_id=uid,
        status=DeliveryStatus.PENDING.value,
        attempts=0,
        created_at=now,
    )


# -- claiming and recording --------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A delivery claimed for one attempt, with all the attempt needs."""

    delivery_id: str
    token: str
    channel: str
    attempt: int
    facts: AlertFacts
    case_id: str
    recipient_id: int | None
    #: The recipient's address, opened for this attempt (e-mail only); ``None`` if the account
    #: has none any more, or was disabled.
    address: str | None = field(default=None, repr=False)


def due_clause(now: datetime, channels: Collection[str]) -> list[object]:
    return [
        Delivery.status.in_(_OPEN),
        Delivery.channel.in_(list(channels)),
        or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
        or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
    ]


def _due_query(now: datetime, channels: Collection[str]) -> Select[Delivery, Alert, str]:
    return (
        select(Delivery, Alert, Case.code)
        .join(Alert, Alert.id == Delivery.alert_id)
        .join(Case, Case.id == Alert.case_id)
        .where(*due_clause(now, channels))  # type: ignore[arg-type]
        .order_by(
            Delivery.next_attempt_at.is_not(None),
            Delivery.next_attempt_at,
            Delivery.created_at,
            Delivery.id,
        )
    )


def claim_next(
    session: Session,
    config: NotifyConfig,
    *,
    now: datetime,
    skip: Collection[str] = (),
    actor: str = audit.SYSTEM_ACTOR,
) -> Claim | None:
    """Claim the delivery due soonest on a configured channel (``skip``: ids this run has
    tried already), or ``None`` if none is due. Opens the recipient's address (audited)."""
    query = _due_query(now, config.channels)
    if skip:
        query = query.where(Delivery.id.not_in(list(skip)))
    row = session.execute(query.limit(1).with_for_update(skip_locked=True, of=Delivery)).first()
    if row is None:
        return None
    delivery, alert, code = row
    token = new_id()
    delivery.claim_token = token
    delivery.claimed_until = now + config.rules.claim_for
    delivery.attempts += 1
    delivery.last_attempt_at = now
    session.flush()
    address = None
    if delivery.channel == DeliveryChannel.EMAIL and delivery.recipient_id is not None:
        recipient = session.get(User, delivery.recipient_id)
        if recipient is not None and recipient.active:
            address = users.email_of(session, recipient, actor=actor, purpose=ADDRESS_PURPOSE)
    return Claim(
        delivery_id=delivery.id,
        token=token,
        channel=delivery.channel,
        attempt=delivery.attempts,
        facts=AlertFacts(
            alert_id=alert.id,
            kind=alert.kind,
            case_code=code,
            link=config.link(code),
            due_at=alert.due_at,
        ),
        case_id=alert.case_id,
        recipient_id=delivery.recipient_id,
        address=address,
    )


def record(
    session: Session,
    claim: Claim,
    error: str | None,
    rules: NotifyRules,
    *,
    now: datetime,
    actor: str = audit.SYSTEM_ACTOR,
) -> str | None:
    """Record the attempt's outcome (``error`` ``None``: delivered) and audit it. Returns the
    delivery's new status, or ``None`` if the claim was lost (it ran out and another sender took
    the delivery over): then the other sender records it."""
    delivery = session.scalar(
        select(Delivery)
        .where(Delivery.id == claim.delivery_id, Delivery.claim_token == claim.token)
        .with_for_update()
    )
    if delivery is None:
        log.warning("delivery %s: claim lost before its outcome was recorded", claim.delivery_id)
        return None
    delivery.claim_token = None
    delivery.claimed_until = None
    details: dict[str, str | int | None] = {
        "alert_id": claim.facts.alert_id,
        "kind": claim.facts.kind,
        "channel": claim.channel,
        "case_id": claim.case_id,
        "recipient_id": claim.recipient_id,
        "attempt": delivery.attempts,
    }
    if error is None:
        delivery.status = DeliveryStatus.SENT.value
        delivery.sent_at = now
        delivery.next_attempt_at = None
        delivery.last_error = None
        action = "alert.sent"
    elif delivery.attempts >= rules.max_attempts:
        delivery.status = DeliveryStatus.DEAD.value
        delivery.next_attempt_at = None
        delivery.last_error = error[:32]
        details["error"] = delivery.last_error
        action = "alert.dead"
    else:
        delivery.status = DeliveryStatus.FAILED.value
        delivery.next_attempt_at = now + rules.next_wait(delivery.attempts)
        delivery.last_error = error[:32]
        details["error"] = delivery.last_error
        details["next_attempt_at"] = audit.format_time(delivery.next_attempt_at)
        action = "alert.failed"
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=action,
        object_type="delivery",
        object_id=delivery.id,
        details=details,
    )
    return delivery.status


# -- the admin's view --------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryRow:
    id: str
    alert_id: str
    kind: str
    case_code: str
    channel: str
    #: The recipient's account and username (staff), never the address; none for the webhook.
    recipient_id: int | None
    recipient: str | None
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    sent_at: datetime | None


def _rows(session: Session, *where: object, limit: int) -> list[DeliveryRow]:
    found = session.execute(
        select(Delivery, Alert.kind, Case.code, User.username)
        .join(Alert, Alert.id == Delivery.alert_id)
        .join(Case, Case.id == Alert.case_id)
        .outerjoin(User, User.id == Delivery.recipient_id)
        .where(*where)  # type: ignore[arg-type]
        .order_by(Delivery.created_at.desc(), Delivery.id)
        .limit(limit)
    ).all()
    return [
        DeliveryRow(
            id=d.id,
            alert_id=d.alert_id,
            kind=kind,
            case_code=code,
            channel=d.channel,
            recipient_id=d.recipient_id,
            recipient=username,
            status=d.status,
            attempts=d.attempts,
            last_error=d.last_error,
            created_at=d.created_at,
            last_attempt_at=d.last_attempt_at,
            next_attempt_at=d.next_attempt_at,
            sent_at=d.sent_at,
        )
        for d, kind, code, username in found
    ]


def dead_letters(session: Session, *, limit: int = 200) -> list[DeliveryRow]:
    """Deliveries that failed their last allowed attempt, newest first."""
    return _rows(session, Delivery.status == DeliveryStatus.DEAD.value, limit=limit)


def recent(session: Session, *, limit: int = 50) -> list[DeliveryRow]:
    """The latest deliveries of every status."""
    return _rows(session, limit=limit)


def counts(session: Session) -> dict[str, int]:
    """Deliveries by status; every status is there, if only with 0."""
    found = dict(
        session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
    )
    return {s.value: int(found.get(s.value, 0)) for s in DeliveryStatus}


def due_for_sending(session: Session, config: NotifyConfig, *, now: datetime) -> list[DeliveryRow]:
    """Deliveries a run would try now (new ones and retries whose wait is over), soonest first."""
    ids = [d.id for d, _, _ in session.execute(_due_query(now, config.channels)).all()]
    if not ids:
        return []
    rows = {r.id: r for r in _rows(session, Delivery.id.in_(ids), limit=len(ids))}
    return [rows[i] for i in ids if i in rows]


def retry(session: Session, delivery_id: str, *, actor: str, now: datetime) -> Delivery:
    """Put a dead letter back: the next run of `triage notify` tries it again, with all its
    attempts. Sending is left to that run, so that the page never waits on a mail server."""
    delivery = session.scalar(
        select(Delivery).where(Delivery.id == (delivery_id or "")[:36]).with_for_update()
    )
    if delivery is None:
        raise DeliveryNotFound()
    if delivery.status != DeliveryStatus.DEAD.value:
        raise NotDeadLetter()
    alert = session.get(Alert, delivery.alert_id)
    assert alert is not None
    attempts = delivery.attempts
    delivery.status = DeliveryStatus.PENDING.value
    delivery.attempts = 0
    delivery.next_attempt_at = now
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="alert.retried",
        object_type="delivery",
        object_id=delivery.id,
        details={
            "alert_id": alert.id,
            "kind": alert.kind,
            "channel": delivery.channel,
            "case_id": alert.case_id,
            "recipient_id": delivery.recipient_id,
            "attempts_before": attempts,
        },
    )
    return delivery


__all__ = [
    "ADDRESS_PURPOSE",
    "Claim",
    "DeliveryNotFound",
    "DeliveryRow",
    "NotDeadLetter",
    "Raised",
    "claim_next",
    "counts",
    "dead_letters",
    "due_for_sending",
    "raise_alerts",
    "recent",
    "record",
    "retry",
]
