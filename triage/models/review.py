"""Review's tables: risk assessments, decisions on preventive measures, verification steps and
case notes (free notes, follow-ups of measures, closing notes).

Whatever a reviewer writes in words — checklist answers, override reasons, corroboration notes,
rationales, rejection reasons, notes — is sealed; plain columns hold codes, dates and ids only.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base
from ..vocab import DecisionStatus, MeasureTier, RiskLevel
from .base import SealedMixin, UTCDateTime, enum_check, new_id, utcnow

__all__ = [
    "Assessment",
    "CaseNote",
    "CorroborationMethod",
    "Decision",
    "NoteKind",
    "OverrideStatus",
    "VerificationOutcome",
    "VerificationStep",
]


class OverrideStatus(StrEnum):
    """Where a lowering of a *high* level stands: it waits for a supervisor (four eyes)."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    #: A later assessment replaced it before anyone decided.
    SUPERSEDED = "superseded"


class VerificationOutcome(StrEnum):
    CORROBORATED = "corroborated"
    UNFOUNDED = "unfounded"


class CorroborationMethod(StrEnum):
    """How an unverified report was corroborated (DOMAIN.md "Verification")."""

    SECOND_SOURCE = "second_source"
    POLICE_CHECK = "police_check"
    VICTIM_CONTACT = "victim_contact"
    RECORDS = "records"


class NoteKind(StrEnum):
    NOTE = "note"
    FOLLOW_UP = "follow_up"
    CLOSING = "closing"


class Assessment(SealedMixin, Base):
    """Answers to a versioned risk checklist; the answers and any override reason are sealed."""

    __tablename__ = "assessment"
    __table_args__ = (
        enum_check("level", RiskLevel),
        enum_check("computed_level", RiskLevel),
        enum_check("override_status", OverrideStatus),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("case_file.id"), index=True)
    checklist_version: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)
    unknown_count: Mapped[int] = mapped_column(Integer, default=0)
    computed_level: Mapped[str] = mapped_column(String(16))
    #: The level the assessor set: the computed one, or a professional-judgement override.
    #: A lowering of *high* is in force only once ``override_status`` is approved.
    level: Mapped[str] = mapped_column(String(16))
    overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    assessed_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Set only when the override waits for, or got, a supervisor's decision.
    override_status: Mapped[str | None] = mapped_column(String(16), index=True)
    override_decided_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    override_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Decision(SealedMixin, Base):
    """A preventive measure chosen for a case; the legal basis, the rationale (and any reasons)
    are sealed: a free-text field is where a name could be typed."""

    __tablename__ = "decision"
    __table_args__ = (
        enum_check("status", DecisionStatus),
        enum_check("tier", MeasureTier),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("case_file.id"), index=True)
    measure: Mapped[str] = mapped_column(String(32))
    tier: Mapped[str] = mapped_column(String(16))
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    follow_up_on: Mapped[date | None] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(24), default=DecisionStatus.PROPOSED.value)
    #: Why it waits for a supervisor: ``coercive`` and/or ``no_victim_complaint``, comma-joined.
    approval_because: Mapped[str | None] = mapped_column(String(64))
    against_victim_wishes: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    proposed_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejected_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    followed_up_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    followed_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    @property
    def because(self) -> tuple[str, ...]:
        return tuple(p for p in (self.approval_because or "").split(",") if p)

    def status_on(self, today: date) -> str:
        """The status as of ``today``: a measure in effect whose end date has passed is ended.
        Computed on read, so no background job has to set it (a measure never ends on its end
        date itself: it is in force through that day)."""
        if (
            self.status == DecisionStatus.IN_EFFECT.value
            and self.ends_on is not None
            and self.ends_on < today
        ):
            return DecisionStatus.ENDED.value
        return self.status

    @property
    def shown_status(self) -> str:
        """``status_on`` today (UTC): what pages show."""
        return self.status_on(utcnow().date())

    @property
    def ended(self) -> bool:
        return self.shown_status == DecisionStatus.ENDED.value


class VerificationStep(SealedMixin, Base):
    """A case's unverified reports corroborated (how) or found unfounded; the note is sealed."""

    __tablename__ = "verification_step"
    __table_args__ = (
        enum_check("outcome", VerificationOutcome),
        enum_check("method", CorroborationMethod),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("case_file.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    #: Set for corroboration; an unfounded finding has a reason instead (sealed).
    method: Mapped[str | None] = mapped_column(String(24))
    recorded_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseNote(SealedMixin, Base):
    """A reviewer's note on a case, a measure's follow-up, or the note a case was closed with."""

    __tablename__ = "case_note"
    __table_args__ = (enum_check("kind", NoteKind),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("case_file.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default=NoteKind.NOTE.value)
    decision_id: Mapped[str | None] = mapped_column(ForeignKey("decision.id"), index=True)
    written_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    written_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
