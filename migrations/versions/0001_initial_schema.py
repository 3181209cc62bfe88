"""Initial schema: users, data keys, cases, reports and their blind indexes, assessments,
decisions, and the audit chain.

Sealed columns are plain LargeBinary; timestamps are timezone-aware. Every constraint is named by
the metadata's naming convention, so later revisions can alter them on both engines.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 11:32:59.876482
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=True),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_audit_event_seq_positive")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_event")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_event_hash")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_audit_event_prev_hash")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_actor"), ["actor"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_at"), ["at"], unique=False)
        batch_op.create_index("ix_audit_event_object", ["object_type", "object_id"], unique=False)

    op.create_table(
        "data_key",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kek_id", sa.String(length=64), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_key")),
    )
    with op.batch_alter_table("data_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_key_kek_id"), ["kek_id"], unique=False)

    op.create_table(
        "instance_meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_instance_meta")),
    )
    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("session_epoch", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "region IN ('abai', 'akmola', 'aktobe', 'almaty_region', 'atyrau', 'east_kazakhstan', 'jambyl', 'jetisu', 'karaganda', 'kostanay', 'kyzylorda', 'mangystau', 'north_kazakhstan', 'pavlodar', 'turkistan', 'ulytau', 'west_kazakhstan', 'astana', 'almaty', 'shymkent')",
            name=op.f("ck_user_account_region_valid"),
        ),
        sa.CheckConstraint(
            "role IN ('caseworker', 'reviewer', 'supervisor', 'auditor', 'admin')",
            name=op.f("ck_user_account_role_valid"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account")),
        sa.UniqueConstraint("username", name=op.f("uq_user_account_username")),
    )
    op.create_table(
        "case_file",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("risk_level", sa.String(length=16), nullable=False),
        sa.Column("risk_score", sa.Integer(), nullable=True),
        sa.Column("risk_provisional", sa.Boolean(), nullable=False),
        sa.Column("verification", sa.String(length=16), nullable=False),
        sa.Column("victim_complaint", sa.Boolean(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("claimed_by", sa.Integer(), nullable=True),
        sa.Column("claim_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "region IN ('abai', 'akmola', 'aktobe', 'almaty_region', 'atyrau', 'east_kazakhstan', 'jambyl', 'jetisu', 'karaganda', 'kostanay', 'kyzylorda', 'mangystau', 'north_kazakhstan', 'pavlodar', 'turkistan', 'ulytau', 'west_kazakhstan', 'astana', 'almaty', 'shymkent')",
            name=op.f("ck_case_file_region_valid"),
        ),
        sa.CheckConstraint(
            "risk_level IN ('standard', 'medium', 'high')",
            name=op.f("ck_case_file_risk_level_valid"),
        ),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_case_file_status_valid")),
        sa.CheckConstraint(
            "verification IN ('unverified', 'corroborated', 'unfounded')",
            name=op.f("ck_case_file_verification_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["claimed_by"], ["user_account.id"], name=op.f("fk_case_file_claimed_by_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_file")),
        sa.UniqueConstraint("code", name=op.f("uq_case_file_code")),
    )
    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_file_claimed_by"), ["claimed_by"], unique=False)
        batch_op.create_index(
            "ix_case_file_queue", ["status", "risk_level", "deadline_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_case_file_region"), ["region"], unique=False)

    op.create_table(
        "assessment",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("checklist_version", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("unknown_count", sa.Integer(), nullable=False),
        sa.Column("computed_level", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("overridden", sa.Boolean(), nullable=False),
        sa.Column("assessed_by", sa.Integer(), nullable=False),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload_version", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("data_key_id", sa.String(length=36), nullable=True),
        sa.CheckConstraint(
            "computed_level IN ('standard', 'medium', 'high')",
            name=op.f("ck_assessment_computed_level_valid"),
        ),
        sa.CheckConstraint(
            "level IN ('standard', 'medium', 'high')", name=op.f("ck_assessment_level_valid")
        ),
        sa.ForeignKeyConstraint(
            ["assessed_by"],
            ["user_account.id"],
            name=op.f("fk_assessment_assessed_by_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_file.id"], name=op.f("fk_assessment_case_id_case_file")
        ),
        sa.ForeignKeyConstraint(
            ["data_key_id"],
            ["data_key.id"],
            name=op.f("fk_assessment_data_key_id_data_key"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment")),
    )
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assessment_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_assessment_data_key_id"), ["data_key_id"], unique=False
        )

    op.create_table(
        "decision",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("measure", sa.String(length=32), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("legal_basis", sa.String(length=200), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("follow_up_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("proposed_by", sa.Integer(), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("payload_version", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("data_key_id", sa.String(length=36), nullable=True),
        sa.CheckConstraint(
            "status IN ('proposed', 'awaiting_approval', 'approved', 'rejected', 'in_effect', 'ended', 'withdrawn')",
            name=op.f("ck_decision_status_valid"),
        ),
        sa.CheckConstraint(
            "tier IN ('supportive', 'preventive', 'coercive', 'none')",
            name=op.f("ck_decision_tier_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["approved_by"], ["user_account.id"], name=op.f("fk_decision_approved_by_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_file.id"], name=op.f("fk_decision_case_id_case_file")
        ),
        sa.ForeignKeyConstraint(
            ["data_key_id"],
            ["data_key.id"],
            name=op.f("fk_decision_data_key_id_data_key"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by"], ["user_account.id"], name=op.f("fk_decision_proposed_by_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision")),
    )
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decision_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_decision_data_key_id"), ["data_key_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_decision_follow_up_on"), ["follow_up_on"], unique=False
        )

    op.create_table(
        "report",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=True),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=True),
        sa.Column("region", sa.String(length=32), nullable=True),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("risk_level", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("verification", sa.String(length=16), nullable=False),
        sa.Column("filed_by", sa.Integer(), nullable=True),
        sa.Column("payload_version", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("data_key_id", sa.String(length=36), nullable=True),
        sa.CheckConstraint(
            "region IN ('abai', 'akmola', 'aktobe', 'almaty_region', 'atyrau', 'east_kazakhstan', 'jambyl', 'jetisu', 'karaganda', 'kostanay', 'kyzylorda', 'mangystau', 'north_kazakhstan', 'pavlodar', 'turkistan', 'ulytau', 'west_kazakhstan', 'astana', 'almaty', 'shymkent')",
            name=op.f("ck_report_region_valid"),
        ),
        sa.CheckConstraint(
            "risk_level IN ('standard', 'medium', 'high')", name=op.f("ck_report_risk_level_valid")
        ),
        sa.CheckConstraint(
            "source_kind IN ('direct', 'media', 'online')", name=op.f("ck_report_source_kind_valid")
        ),
        sa.CheckConstraint(
            "status IN ('received', 'linked', 'closed')", name=op.f("ck_report_status_valid")
        ),
        sa.CheckConstraint(
            "verification IN ('unverified', 'corroborated', 'unfounded')",
            name=op.f("ck_report_verification_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_file.id"], name=op.f("fk_report_case_id_case_file")
        ),
        sa.ForeignKeyConstraint(
            ["data_key_id"],
            ["data_key.id"],
            name=op.f("fk_report_data_key_id_data_key"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["filed_by"], ["user_account.id"], name=op.f("fk_report_filed_by_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report")),
    )
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_report_data_key_id"), ["data_key_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_report_filed_by"), ["filed_by"], unique=False)
        batch_op.create_index(batch_op.f("ix_report_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_report_region"), ["region"], unique=False)

    op.create_table(
        "report_index",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_report_index_report_id_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_index")),
        sa.UniqueConstraint(
            "report_id", "kind", "token", name=op.f("uq_report_index_report_id_kind_token")
        ),
    )
    with op.batch_alter_table("report_index", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_index_token"), ["token"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("report_index", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_index_token"))

    op.drop_table("report_index")
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_region"))
        batch_op.drop_index(batch_op.f("ix_report_received_at"))
        batch_op.drop_index(batch_op.f("ix_report_filed_by"))
        batch_op.drop_index(batch_op.f("ix_report_data_key_id"))
        batch_op.drop_index(batch_op.f("ix_report_case_id"))

    op.drop_table("report")
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_follow_up_on"))
        batch_op.drop_index(batch_op.f("ix_decision_data_key_id"))
        batch_op.drop_index(batch_op.f("ix_decision_case_id"))

    op.drop_table("decision")
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessment_data_key_id"))
        batch_op.drop_index(batch_op.f("ix_assessment_case_id"))

    op.drop_table("assessment")
    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_file_region"))
        batch_op.drop_index("ix_case_file_queue")
        batch_op.drop_index(batch_op.f("ix_case_file_claimed_by"))

    op.drop_table("case_file")
    op.drop_table("user_account")
    op.drop_table("instance_meta")
    with op.batch_alter_table("data_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_key_kek_id"))

    op.drop_table("data_key")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_event_object")
        batch_op.drop_index(batch_op.f("ix_audit_event_at"))
        batch_op.drop_index(batch_op.f("ix_audit_event_actor"))
        batch_op.drop_index(batch_op.f("ix_audit_event_action"))

    op.drop_table("audit_event")
