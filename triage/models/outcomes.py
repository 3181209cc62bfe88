"""What leaves triage: the victim's consent to share her data, hand-overs of a case to a named
recipient, and every document issued (for a decision, or as part of a hand-over).

A document's bytes are kept sealed under its own data key, so that what is downloaded later is
byte for byte what was issued and whose SHA-256 the audit log holds; the plain columns hold the
id, kind, language, hash and who issued it when — enough to check a printed copy, nothing about
a person.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base
from .base import SealedMixin, UTCDateTime, enum_check, new_id, utcnow

__all__ = [
    "ConsentAnswer",
    "ConsentMethod",
    "DocumentFormat",
    "Handover",
    "HandoverStatus",
    "IssuedDocument",
    "RecipientKind",
    "VictimConsent",
]


class RecipientKind(StrEnum):
    """Who a case can be handed to; each kind receives its own set of fields."""

    SUPPORT = "support_service"
    POLICE = "police"
    COURT = "court"


class ConsentAnswer(StrEnum):
    YES = "yes"
    NO = "no"


class ConsentMethod(StrEnum):
    """How the victim's answer was obtained."""

    HER_OWN_REPORT = "her_own_report"
    IN_PERSON = "in_person"
    PHONE = "phone"
    WRITTEN = "written"


class HandoverStatus(StrEnum):
    #: Without her consent, a hand-over to police or a court waits for a supervisor.
    AWAITING_APPROVAL = "awaiting_approval"
    #: Issued: its documents exist and can be downloaded.
    ISSUED = "issued"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class DocumentFormat(StrEnum):
    PDF = "pdf"
    JSON = "json"


class VictimConsent(SealedMixin, Base):
    """The victim's answer, for one kind of recipient, to sharing her data; the latest answer for
    a kind is the one in force. The note (what she said, any limits) is sealed."""

    __tablename__ = "victim_consent"
    __table_args__ = (
        enum_check("recipient_kind", RecipientKind),
        enum_check("answer", ConsentAnswer),
        enum_check("method", ConsentMethod),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("case_file.id"), index=True)
    recipient_kind: Mapped[str] = mapped_column(String(24))
    answer: Mapped[str] = mapped_column(String(8))
    method: Mapped[str] = mapped_column(String(24))
    recorded_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Handover(SealedMixin, Base):
    """One case handed to one named recipient (from the configured directory), with the fields
    that recipient's kind may receive. Without her consent, a hand-over to police or a court
    waits for a supervisor other than the requester; the written reason is sealed."""

    __tablename__ = "handover"
    __table_args__ = (
        enum_check("recipient_kind", RecipientKind),
        enum_check("status", HandoverStatus),
        Index("ix_handover_waiting", "status", "requested_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("case_file.id"), index=True)
    #: The recipient's code in the directory (``triage.handover`` recipients).
    recipient: Mapped[str] = mapped_column(String(64))
    recipient_kind: Mapped[str] = mapped_column(String(24))
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(24))
    #: Whether her recorded yes covers it; without one it needed a supervisor's approval.
    with_consent: Mapped[bool] = mapped_column(default=False)
    #: The names of the fields handed over (the recipient kind's set, at the time).
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    requested_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class IssuedDocument(SealedMixin, Base):
    """A document as issued: its bytes sealed, its id and SHA-256 in the plain columns and in
    the audit log."""

    __tablename__ = "issued_document"
    __table_args__ = (enum_check("format", DocumentFormat),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("case_file.id"), index=True)
    decision_id: Mapped[str | None] = mapped_column(ForeignKey("decision.id"), index=True)
    handover_id: Mapped[str | None] = mapped_column(ForeignKey("handover.id"), index=True)
    kind: Mapped[str] = mapped_column(String(48))
    format: Mapped[str] = mapped_column(String(8))
    language: Mapped[str] = mapped_column(String(8))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    issued_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
