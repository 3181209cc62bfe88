"""Review's tables: risk assessments, decisions on preventive measures, verification steps and
case notes (free notes, follow-ups of measures, closing notes).

Whatever a reviewer writes in words — checklist answers, override reasons, corroboration notes,
rationales, rejection reasons, notes — is sealed; plain columns hold codes, dates and ids only.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, false, text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base
from ..vocab import DecisionStatus, MeasureTier, RiskLevel
from .base import SealedMixin, UTCDateTime, enum_check, new_id, utcnow

__all__ = [
    "Assessment",
    "AssessmentRescore",
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
        enum_check("prior_level", RiskLevel),
        enum_check("override_status", OverrideStatus),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("case_file.id"), index=True)
    checklist_version: Mapped[int] = mapped_column(Integer)
    #: The revision of the version's rules that computed ``computed_level``; an older one is
    #: re-scored by `triage init` (``review.rescoring``).
    checklist_revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    score: Mapped[int] = mapped_column(Integer)
    unknown_count: Mapped[int] = mapped_column(Integer, default=0)
    #: More items unknown than answered: shown as incomplete, and it lowers no level.
    incomplete: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: The case's level in force just before this assessment (``None`` on assessments from
    #: before it was recorded, until re-scoring fills it in).
    prior_level: Mapped[str | None] = mapped_column(String(16))
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

    @property
    def kept_level(self) -> bool:
        """It is incomplete and asked for less than the level before it or the level it
        computed, and that higher level stayed in force (an incomplete assessment lowers
        nothing; ``scoring.assessment_outcome``)."""
        floor = RiskLevel(self.computed_level).rank
        if self.prior_level is not None:
            floor = max(floor, RiskLevel(self.prior_level).rank)
        return (
            self.incomplete and RiskLevel(self.level).rank < floor and self.override_status is None
        )


class AssessmentRescore(Base):
    """An assessment scored again after its checklist version's rules were corrected, and what
    that changed on the case: the case's timeline shows it. Codes and dates only.

    ``level_before``/``level_after`` (and the deadlines) are set only where the case's level in
    force changed; a re-score raises a level at once but never lowers one. ``lowering_waits``:
    the assessment had lowered a high level by itself, and that lowering now waits for a
    supervisor."""

    __tablename__ = "assessment_rescore"
    __table_args__ = (
        enum_check("computed_before", RiskLevel),
        enum_check("computed_after", RiskLevel),
        enum_check("level_before", RiskLevel),
        enum_check("level_after", RiskLevel),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("case_file.id"), index=True)
    assessment_id: Mapped[str] = mapped_column(ForeignKey("assessment.id"), index=True)
    rescored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    checklist_version: Mapped[int] = mapped_column(Integer)
    revision_before: Mapped[int] = mapped_column(Integer)
    revision_after: Mapped[int] = mapped_column(Integer)
    computed_before: Mapped[str] = mapped_column(String(16))
    computed_after: Mapped[str] = mapped_column(String(16))
    incomplete: Mapped[bool] = mapped_column(Boolean, default=False)
    level_before: Mapped[str | None] = mapped_column(String(16))
    level_after: Mapped[str | None] = mapped_column(String(16))
    deadline_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deadline_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lowering_waits: Mapped[bool] = mapped_column(Boolean, default=False)


#: Measures in effect that nobody has followed up yet (migration 0015's partial index).
FOLLOW_UP_PENDING = "status = 'in_effect' AND followed_up_at IS NULL"


class Decision(SealedMixin, Base):
    """A preventive measure chosen for a case; the legal basis, the rationale (and any reasons)
    are sealed: a free-text field is where a name could be typed."""

    __tablename__ = "decision"
    __table_args__ = (
        enum_check("status", DecisionStatus),
        enum_check("tier", MeasureTier),
        # The follow-ups list starts from the few measures in effect not yet followed up.
        Index(
            "ix_decision_follow_up_pending",
            "case_id",
            sqlite_where=text(FOLLOW_UP_PENDING),
            postgresql_where=text(FOLLOW_UP_PENDING),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("case_file.id"), index=True)
    measure: Mapped[str] = mapped_column(String(32))
    tier: Mapped[str] = mapped_column(String(16))
    #: The codes of the legal grounds it was taken on (``triage.legal``): plain, counting data.
    #: ``None`` only on a decision from before the grounds were structured, until `triage init`
    #: has read its typed legal basis (``review.decisions.migrate_grounds``).
    grounds: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
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
