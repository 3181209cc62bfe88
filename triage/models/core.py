"""The foundation's tables: instance facts, users, data keys, cases, reports and their blind
indexes, assessments, decisions and the audit chain."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from ..vocab import (
    CaseStatus,
    Region,
    ReportStatus,
    RiskLevel,
    Role,
    ScreeningVerdict,
    SourceKind,
    Verification,
)
from .base import SealedMixin, UTCDateTime, enum_check, new_id, utcnow


class InstanceMeta(Base):
    """Facts about this instance that must survive restarts, such as the keyring's fingerprint."""

    __tablename__ = "instance_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class User(SealedMixin, Base):
    """A staff account. Its sealed payload holds the TOTP secret of two-step sign-in
    (``{"totp_secret": …}``): pending while ``totp_enabled`` is false, in force once it is true;
    and the address alerts are e-mailed to (``{"email": …}``). The flags beside it say which of
    the two it holds, so that no page has to open it to know."""

    __tablename__ = "user_account"
    __table_args__ = (enum_check("role", Role), enum_check("region", Region))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # type: ignore[assignment]
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    #: Region scope for case roles; ``None`` means every region.
    region: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Bumped on password change or deactivation: every earlier session stops working.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Whether sign-in asks for a code from the authenticator app after the password.
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: The last TOTP time step accepted: a code of this step or an earlier one is refused, so an
    #: overheard code cannot be replayed.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    #: The payload holds a TOTP secret that its owner has not confirmed yet.
    totp_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: The payload holds an e-mail address for alerts (``triage.notify``).
    has_email: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Sign-in failures since the last successful sign-in (``triage.lockout``).
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Sign-in is refused, whatever the password, until then (a growing, capped delay).
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    # Flask-Login's protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_epoch}"


class DataKey(Base):
    """A record's data key, wrapped. Deleting the row shreds every value sealed under it."""

    __tablename__ = "data_key"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kek_id: Mapped[str] = mapped_column(String(64), index=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


#: The queue's first sort key, 0 the most urgent: high before medium before standard, and in
#: each level the cases with a deadline before those still without one (the deadline itself,
#: the opening and the id come next). Even ranks have a deadline, odd ones none, so one index
#: orders the queue on both engines whatever their order of NULLs.
QUEUE_RANK_SQL = (
    "CASE risk_level WHEN 'high' THEN 0 WHEN 'medium' THEN 2 ELSE 4 END"
    " + CASE WHEN deadline_at IS NULL THEN 1 ELSE 0 END"
)


class Case(Base):
    """The situation one or more reports describe; the queue holds cases."""

    __tablename__ = "case_file"
    __table_args__ = (
        enum_check("status", CaseStatus),
        enum_check("region", Region),
        enum_check("risk_level", RiskLevel),
        enum_check("verification", Verification),
        # The queue reads its top rows from these (``review.case_queue``): the whole scope, and
        # a region's; ``queue_rank`` then the deadline, the opening and the id are its order.
        Index("ix_case_file_queue", "status", "queue_rank", "deadline_at", "opened_at", "id"),
        Index(
            "ix_case_file_queue_region",
            "status",
            "region",
            "queue_rank",
            "deadline_at",
            "opened_at",
            "id",
        ),
        Index("ix_case_file_claim", "status", "claim_expires_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    #: Pseudonymous code shown in lists and exports; never derived from a person's data.
    code: Mapped[str] = mapped_column(String(16), unique=True)
    region: Mapped[str | None] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default=CaseStatus.OPEN.value)
    risk_level: Mapped[str] = mapped_column(String(16), default=RiskLevel.STANDARD.value)
    risk_score: Mapped[int | None] = mapped_column(Integer)
    risk_provisional: Mapped[bool] = mapped_column(Boolean, default=True)
    verification: Mapped[str] = mapped_column(String(16), default=Verification.UNVERIFIED.value)
    #: Whether the victim has filed a complaint herself (drives the four-eyes rule).
    victim_complaint: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(32))
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: The queue's order before the deadline (``QUEUE_RANK_SQL``): computed by the database
    #: from the level and whether there is a deadline, so no writer can leave it stale.
    queue_rank: Mapped[int] = mapped_column(SmallInteger, Computed(QUEUE_RANK_SQL, persisted=True))

    reports: Mapped[list[Report]] = relationship(back_populates="case")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Report(SealedMixin, Base):
    """One incoming account from one source."""

    __tablename__ = "report"
    __table_args__ = (
        enum_check("source_kind", SourceKind),
        enum_check("region", Region),
        enum_check("status", ReportStatus),
        enum_check("verification", Verification),
        enum_check("risk_level", RiskLevel),
        enum_check("screening_verdict", ScreeningVerdict),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("case_file.id"), index=True)
    source_kind: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    occurred_on: Mapped[date | None] = mapped_column(Date)
    region: Mapped[str | None] = mapped_column(String(32), index=True)
    #: Incident category codes (DOMAIN.md); counting data, not personal.
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    risk_level: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=ReportStatus.RECEIVED.value)
    verification: Mapped[str] = mapped_column(String(16), default=Verification.UNVERIFIED.value)
    filed_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    #: The API client that posted it, for reports that came through the intake API.
    api_client_id: Mapped[int | None] = mapped_column(ForeignKey("api_client.id"), index=True)
    #: Screening signal kinds (violence, weapon, …) of a media or online text; counting data.
    signals: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    #: What feed import's screening made of it (``review``: the review band, a reviewer decides;
    #: ``not_candidate``: screened out, then promoted by a reviewer); none for other reports.
    screening_verdict: Mapped[str | None] = mapped_column(String(16))
    #: Filed through the public form (``triage.public``): unverified, never the victim's own
    #: complaint or consent, whoever the reporter says she is.
    public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    case: Mapped[Case | None] = relationship(back_populates="reports")


class ReportIndex(Base):
    """Blind-index tokens of a report's identifying values, for exact-match linking."""

    __tablename__ = "report_index"
    __table_args__ = (UniqueConstraint("report_id", "kind", "token"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[str] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    token: Mapped[str] = mapped_column(String(32), index=True)


class AuditEvent(Base):
    """One link of the audit chain. Its fields are the public export format (docs/audit.md).

    ``at`` and ``details`` are stored as the exact text that was hashed, so verification never
    depends on how an engine round-trips timestamps or JSON.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_object", "object_type", "object_id"),
        CheckConstraint("seq >= 1", name="seq_positive"),
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    at: Mapped[str] = mapped_column(String(32), index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
