"""Corrected risk-level rules: an assessment records the revision of its checklist version's
rules, whether it is incomplete, and the level in force before it; re-scores are kept for the
case's timeline.

Existing assessments are left at revision 1, not incomplete, with no prior level: a migration
holds no keys, so it cannot read their (sealed) answers. `triage init`, which has the keyring,
re-scores them right after migrating (``review.rescoring.rescore_assessments``): each one read
and re-scored is an audit event, and where the corrected rules raise a case's level, the case's
timeline says so (``assessment_rescore``). The downgrade drops the re-scores and the columns.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LEVELS = "('standard', 'medium', 'high')"


def upgrade() -> None:
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("checklist_revision", sa.Integer(), server_default="1", nullable=False)
        )
        batch_op.add_column(
            sa.Column("incomplete", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("prior_level", sa.String(length=16), nullable=True))
        batch_op.create_check_constraint("prior_level_valid", f"prior_level IN {_LEVELS}")

    op.create_table(
        "assessment_rescore",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("assessment_id", sa.String(length=36), nullable=False),
        sa.Column("rescored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checklist_version", sa.Integer(), nullable=False),
        sa.Column("revision_before", sa.Integer(), nullable=False),
        sa.Column("revision_after", sa.Integer(), nullable=False),
        sa.Column("computed_before", sa.String(length=16), nullable=False),
        sa.Column("computed_after", sa.String(length=16), nullable=False),
        sa.Column("incomplete", sa.Boolean(), nullable=False),
        sa.Column("level_before", sa.String(length=16), nullable=True),
        sa.Column("level_after", sa.String(length=16), nullable=True),
        sa.Column("deadline_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deadline_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lowering_waits", sa.Boolean(), nullable=False),
        *(
            sa.CheckConstraint(
                f"{column} IN {_LEVELS}", name=op.f(f"ck_assessment_rescore_{column}_valid")
            )
            for column in ("computed_before", "computed_after", "level_before", "level_after")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_file.id"], name=op.f("fk_assessment_rescore_case_id_case_file")
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessment.id"],
            name=op.f("fk_assessment_rescore_assessment_id_assessment"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_rescore")),
    )
    with op.batch_alter_table("assessment_rescore", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assessment_rescore_case_id"), ["case_id"])
        batch_op.create_index(batch_op.f("ix_assessment_rescore_assessment_id"), ["assessment_id"])


def downgrade() -> None:
    with op.batch_alter_table("assessment_rescore", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessment_rescore_assessment_id"))
        batch_op.drop_index(batch_op.f("ix_assessment_rescore_case_id"))
    op.drop_table("assessment_rescore")

    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_assessment_prior_level_valid"), type_="check")
        batch_op.drop_column("prior_level")
        batch_op.drop_column("incomplete")
        batch_op.drop_column("checklist_revision")
