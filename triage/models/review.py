"""Review's tables: risk assessments, decisions on preventive measures, and (as review grows)
claims history, verification steps, case notes, approvals and follow-ups."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base
from ..vocab import DecisionStatus, MeasureTier, RiskLevel
from .base import SealedMixin, UTCDateTime, enum_check, new_id, utcnow

__all__ = ["Assessment", "Decision"]


class Assessment(SealedMixin, Base):
    """Answers to a versioned risk checklist; the answers and any override reason are sealed."""

    __tablename__ = "assessment"
    __table_args__ = (
        enum_check("level", RiskLevel),
        enum_check("computed_level", RiskLevel),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("case_file.id"), index=True)
    checklist_version: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)
    unknown_count: Mapped[int] = mapped_column(Integer, default=0)
    computed_level: Mapped[str] = mapped_column(String(16))
    #: The level in force: the computed one, or a professional-judgement override.
    level: Mapped[str] = mapped_column(String(16))
    overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    assessed_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Decision(SealedMixin, Base):
    """A preventive measure chosen for a case; the rationale is sealed."""

    __tablename__ = "decision"
    __table_args__ = (
        enum_check("status", DecisionStatus),
        enum_check("tier", MeasureTier),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("case_file.id"), index=True)
    measure: Mapped[str] = mapped_column(String(32))
    tier: Mapped[str] = mapped_column(String(16))
    legal_basis: Mapped[str | None] = mapped_column(String(200))
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    follow_up_on: Mapped[date | None] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(24), default=DecisionStatus.PROPOSED.value)
    proposed_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
