"""`triage notify`: raise what fell due, then send every delivery that is due — new ones and
retries whose backoff is over — one at a time, each claimed, sent outside any transaction and
recorded. ``preview`` is the dry run: what a run would raise and try, read only.

Safe to run on several servers at once and as often as wanted: an alert is raised once (its key
is unique), and a delivery is sent by whichever run claims it.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select

from ..config import ConfigError
from ..models import DeliveryChannel, DeliveryStatus, User, utcnow
from ..uow import UnitOfWork
from . import channels, messages
from .deliveries import Claim, DeliveryRow, claim_next, due_for_sending, raise_alerts, record
from .due import Due, due
from .rules import NotifyConfig

log = logging.getLogger("triage.notify")

Clock = Callable[[], datetime]


@dataclass
class Summary:
    raised: int = 0
    deliveries: int = 0
    without_address: int = 0
    unheard: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    lost: int = 0
    #: Failed attempts by error code.
    errors: Counter[str] = field(default_factory=Counter)


def check_ready(config: NotifyConfig) -> None:
    """Refuse a run that could not reach anyone or could not say where to look."""
    if not config.channels:
        raise ConfigError(
            "No alert channel is configured: set TRIAGE_SMTP_HOST or TRIAGE_WEBHOOK_URL "
            "(docs/alerts.md)"
        )
    if not config.base_url:
        raise ConfigError("TRIAGE_BASE_URL must be set for the link in every alert")


def attempt(config: NotifyConfig, claim: Claim) -> str | None:
    """Try one claimed delivery; ``None`` if it was delivered, else the failure's code."""
    try:
        if claim.channel == DeliveryChannel.EMAIL:
            if config.smtp is None:
                return "not_configured"
            if claim.address is None:
                return "no_address"
            message = messages.email(
                claim.facts,
                sender=config.smtp.sender,
                to=claim.address,
                delivery_id=claim.delivery_id,
                now=datetime.now(UTC),
            )
            channels.send_email(config.smtp, message, claim.address)
        else:
            if config.webhook is None:
                return "not_configured"
            channels.post_webhook(
                config.webhook,
                messages.webhook_body(claim.facts),
                delivery_id=claim.delivery_id,
                timestamp=int(time.time()),
            )
    except channels.DeliveryFailed as exc:
        return exc.code
    except Exception as exc:  # a bug must not leave the delivery claimed, nor print its data
        log.error("delivery %s: unexpected %s", claim.delivery_id, type(exc).__name__)
        return "error"
    return None


def run(uow: UnitOfWork, config: NotifyConfig, *, clock: Clock = utcnow) -> Summary:
    """Raise what is due, then send what is due; the summary counts both."""
    check_ready(config)
    summary = Summary()
    with uow.begin() as session:
        now = clock()
        raised = raise_alerts(session, due(session, now=now, rules=config.rules), config, now=now)
    summary.raised, summary.deliveries = raised.alerts, raised.deliveries
    summary.without_address, summary.unheard = raised.without_address, raised.unheard

    tried: set[str] = set()
    while True:
        with uow.begin() as session:
            claim = claim_next(session, config, now=clock(), skip=tried)
        if claim is None:
            break
        tried.add(claim.delivery_id)
        error = attempt(config, claim)
        with uow.begin() as session:
            status = record(session, claim, error, config.rules, now=clock())
        if error is not None:
            summary.errors[error] += 1
            log.warning(
                "delivery %s (%s, attempt %d) failed: %s",
                claim.delivery_id,
                claim.channel,
                claim.attempt,
                error,
            )
        if status is None:
            summary.lost += 1
        elif status == DeliveryStatus.SENT:
            summary.sent += 1
        elif status == DeliveryStatus.DEAD:
            summary.dead += 1
        else:
            summary.failed += 1
    return summary


@dataclass(frozen=True)
class Planned:
    """An alert a run would raise, and whom it would reach."""

    due: Due
    #: Recipients who would get an e-mail (their account has an address).
    email_to: tuple[int, ...]
    #: Recipients left out of the e-mail: their account has no address.
    without_address: tuple[int, ...]
    webhook: bool


@dataclass(frozen=True)
class Preview:
    planned: list[Planned]
    #: Deliveries already raised that a run would try now.
    sending: list[DeliveryRow]


def preview(uow: UnitOfWork, config: NotifyConfig, *, clock: Clock = utcnow) -> Preview:
    """What a run would do now, changing nothing: read only, no address opened."""
    with uow.read() as session:
        now = clock()
        found = due(session, now=now, rules=config.rules)
        ids = {uid for d in found for uid in d.recipients}
        with_address = (
            set(session.scalars(select(User.id).where(User.id.in_(ids), User.has_email)))
            if ids and config.smtp
            else set()
        )
        planned = [
            Planned(
                due=d,
                email_to=tuple(u for u in d.recipients if u in with_address),
                without_address=tuple(u for u in d.recipients if u not in with_address)
                if config.smtp
                else (),
                webhook=config.webhook is not None,
            )
            for d in found
        ]
        sending = due_for_sending(session, config, now=now) if config.channels else []
    return Preview(planned=planned, sending=sending)


__all__ = ["Planned", "Preview", "Summary", "attempt", "check_ready", "preview", "run"]
