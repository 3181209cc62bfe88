"""The public way in: receipts that let an anonymous reporter come back, the messages between
reviewers and that reporter, and the single-use tokens of the public form.

A receipt is never stored: only its Argon2id hash, and a keyed lookup (an HMAC of the receipt's
random id part under the keyring's index key), so finding a receipt does not scan them all and
a copy of the database cannot be searched for one. A message's body is sealed with its report's
data key (associated data: table ``public_message``, its id), so shredding the report shreds its
messages too; plain columns hold ids, a direction and dates.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base
from .base import UTCDateTime, enum_check, new_id, utcnow

__all__ = ["MessageDirection", "PublicFormToken", "PublicMessage", "PublicReceipt"]


class MessageDirection(StrEnum):
    #: A reviewer's reply, meant for the reporter.
    TO_REPORTER = "to_reporter"
    #: Information the reporter added with her receipt.
    FROM_REPORTER = "from_reporter"


class PublicReceipt(Base):
    """The receipt of one public report: its lookup key and the slow hash of the whole receipt."""

    __tablename__ = "public_receipt"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    report_id: Mapped[str] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), unique=True)
    #: HMAC-SHA256 (the keyring's index key) of the receipt's random id part, truncated.
    lookup: Mapped[str] = mapped_column(String(32), unique=True)
    #: Argon2id hash of the whole receipt (``triage.passwords``).
    secret_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PublicMessage(Base):
    """A reply to the reporter of a public report, or information she added with her receipt."""

    __tablename__ = "public_message"
    __table_args__ = (enum_check("direction", MessageDirection),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    report_id: Mapped[str] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(16))
    #: The reviewer who wrote a reply; ``None`` for the reporter's own messages.
    written_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    written_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Sealed JSON ``{"text": …}`` under the report's data key.
    body: Mapped[bytes] = mapped_column(LargeBinary)


class PublicFormToken(Base):
    """A public form token that was used: a second submission with it is a replay."""

    __tablename__ = "public_form_token"

    #: The token's random nonce (not secret once used; it identifies nothing).
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: After this the token is refused as expired anyway, and the row may be deleted.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
