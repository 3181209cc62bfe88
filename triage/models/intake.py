"""Intake's tables: attachments sealed with their report's key, API clients with hashed tokens,
and idempotency keys that make a retried API request return the first report."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base
from .base import UTCDateTime, new_id, utcnow

__all__ = ["ApiClient", "Attachment", "IdempotencyKey"]


class Attachment(Base):
    """A screenshot, photo or document. Its bytes and its file name are sealed with the
    report's data key (associated data: table ``attachment``, this id), so shredding the report
    shreds its attachments too."""

    __tablename__ = "attachment"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    report_id: Mapped[str] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    #: Detected from the content, never from the name the uploader gave.
    media_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    #: Sealed JSON: the original file name.
    meta: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiClient(Base):
    """A media-monitoring service or platform allowed to post reports, with one token.

    Only the SHA-256 of the token is stored; the token is shown once, when it is made.
    """

    __tablename__ = "api_client"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    #: First characters of the token, to tell tokens apart in lists and logs.
    token_prefix: Mapped[str] = mapped_column(String(16), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: Source kinds this client may post.
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IdempotencyKey(Base):
    """The first outcome of an API request sent with an ``Idempotency-Key`` header."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("client_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("api_client.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    #: SHA-256 of the request body, so the same key with another body is refused.
    request_hash: Mapped[str] = mapped_column(String(64))
    report_id: Mapped[str] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
