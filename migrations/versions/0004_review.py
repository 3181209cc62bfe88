"""Review: verification steps, case notes, override approval on assessments, and the approval,
rejection and follow-up columns of decisions.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sealed_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("payload_version", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("data_key_id", sa.String(length=36), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "verification_step",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=24), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        *_sealed_columns(),
        sa.CheckConstraint(
            "outcome IN ('corroborated', 'unfounded')",
            name=op.f("ck_verification_step_outcome_valid"),
        ),
        sa.CheckConstraint(
            "method IN ('second_source', 'police_check', 'victim_contact', 'records')",
            name=op.f("ck_verification_step_method_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_file.id"], name=op.f("fk_verification_step_case_id_case_file")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"],
            ["user_account.id"],
            name=op.f("fk_verification_step_recorded_by_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["data_key_id"],
            ["data_key.id"],
            name=op.f("fk_verification_step_data_key_id_data_key"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_step")),
    )
    with op.batch_alter_table("verification_step", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_verification_step_case_id"), ["case_id"])
        batch_op.create_index(batch_op.f("ix_verification_step_data_key_id"), ["data_key_id"])

    op.create_table(
        "case_note",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("decision_id", sa.String(length=36), nullable=True),
        sa.Column("written_by", sa.Integer(), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        *_sealed_columns(),
        sa.CheckConstraint(
            "kind IN ('note', 'follow_up', 'closing')", name=op.f("ck_case_note_kind_valid")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_file.id"], name=op.f("fk_case_note_case_id_case_file")
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decision.id"], name=op.f("fk_case_note_decision_id_decision")
        ),
        sa.ForeignKeyConstraint(
            ["written_by"], ["user_account.id"], name=op.f("fk_case_note_written_by_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["data_key_id"],
            ["data_key.id"],
            name=op.f("fk_case_note_data_key_id_data_key"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_note")),
    )
    with op.batch_alter_table("case_note", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_note_case_id"), ["case_id"])
        batch_op.create_index(batch_op.f("ix_case_note_decision_id"), ["decision_id"])
        batch_op.create_index(batch_op.f("ix_case_note_data_key_id"), ["data_key_id"])

    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("override_status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("override_decided_by", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("override_decided_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_check_constraint(
            "override_status_valid",
            "override_status IN ('pending', 'approved', 'rejected', 'superseded')",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_assessment_override_decided_by_user_account"),
            "user_account",
            ["override_decided_by"],
            ["id"],
        )
        batch_op.create_index(batch_op.f("ix_assessment_override_status"), ["override_status"])

    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approval_because", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column(
                "against_victim_wishes", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        batch_op.add_column(sa.Column("rejected_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("followed_up_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("followed_up_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_decision_rejected_by_user_account"),
            "user_account",
            ["rejected_by"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_decision_followed_up_by_user_account"),
            "user_account",
            ["followed_up_by"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_decision_followed_up_by_user_account"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_decision_rejected_by_user_account"), type_="foreignkey"
        )
        batch_op.drop_column("followed_up_at")
        batch_op.drop_column("followed_up_by")
        batch_op.drop_column("rejected_at")
        batch_op.drop_column("rejected_by")
        batch_op.drop_column("against_victim_wishes")
        batch_op.drop_column("approval_because")

    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessment_override_status"))
        batch_op.drop_constraint(
            batch_op.f("fk_assessment_override_decided_by_user_account"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("ck_assessment_override_status_valid"), type_="check")
        batch_op.drop_column("override_decided_at")
        batch_op.drop_column("override_decided_by")
        batch_op.drop_column("override_status")

    with op.batch_alter_table("case_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_note_data_key_id"))
        batch_op.drop_index(batch_op.f("ix_case_note_decision_id"))
        batch_op.drop_index(batch_op.f("ix_case_note_case_id"))
    op.drop_table("case_note")

    with op.batch_alter_table("verification_step", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verification_step_data_key_id"))
        batch_op.drop_index(batch_op.f("ix_verification_step_case_id"))
    op.drop_table("verification_step")
