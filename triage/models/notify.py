"""Alerts' tables: what fell due (an alert, raised once per kind, object and due occasion) and
how it reached each recipient (a delivery per alert, channel and recipient).

Nothing here names a person: an alert holds ids, its kind and times; a delivery holds the
recipient's account id, never the address, and its last error as a short code."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base
from .base import UTCDateTime, enum_check, new_id, utcnow

__all__ = ["Alert", "AlertKind", "Delivery", "DeliveryChannel", "DeliveryStatus"]


class AlertKind(StrEnum):
    #: A high-risk open case past its response deadline with no decision.
    DEADLINE = "deadline"
    #: A measure in effect whose follow-up date has come and that nobody has followed up.
    FOLLOW_UP = "follow_up"
    #: A proposal that has waited for a supervisor's approval too long.
    APPROVAL = "approval"


class DeliveryChannel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class DeliveryStatus(StrEnum):
    #: Not tried yet, or put back by an admin.
    PENDING = "pending"
    #: The SMTP server accepted it, or the webhook answered 2xx.
    SENT = "sent"
    #: Tried and refused or unanswered; tried again at ``next_attempt_at``.
    FAILED = "failed"
    #: Refused ``max_attempts`` times: on the dead-letter list until an admin retries it.
    DEAD = "dead"


class Alert(Base):
    """Something that fell due. ``(kind, object_id, occasion)`` is unique: the object is the case
    or the decision, the occasion the due moment (a deadline that moves is a new occasion), so
    every run of `triage notify`, on any server, raises an alert once."""

    __tablename__ = "alert"
    __table_args__ = (
        enum_check("kind", AlertKind),
        UniqueConstraint("kind", "object_id", "occasion"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[str] = mapped_column(String(36))
    occasion: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[str] = mapped_column(ForeignKey("case_file.id"), index=True)
    decision_id: Mapped[str | None] = mapped_column(ForeignKey("decision.id"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Delivery(Base):
    """One alert on one channel to one recipient (``recipient_id`` is none for the webhook).

    A sender claims a delivery for ``claimed_until`` under a ``claim_token`` before it sends, so
    that two runs at once never send it both; only the claim's holder records the outcome."""

    __tablename__ = "delivery"
    __table_args__ = (
        enum_check("channel", DeliveryChannel),
        enum_check("status", DeliveryStatus),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        UniqueConstraint("alert_id", "channel", "recipient_id"),
        Index("ix_delivery_due", "status", "next_attempt_at"),
        Index("ix_delivery_recent", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alert.id"))
    channel: Mapped[str] = mapped_column(String(16))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Why the last attempt failed, as a code (``smtp_550``, ``http_500``, ``timeout``…), never
    #: the server's words: a server may echo an address back.
    last_error: Mapped[str | None] = mapped_column(String(32))
    claim_token: Mapped[str | None] = mapped_column(String(36))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
