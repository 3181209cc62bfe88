"""Screened-out feed items: kept, sealed under their own data keys, instead of dropped; and the
screening verdict of a report that feed import filed (the review band) or a reviewer promoted.

The downgrade deletes the items' data keys before it drops the table, so their content is
shredded rather than left under orphaned keys.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VERDICTS = "('candidate', 'review', 'not_candidate')"


def upgrade() -> None:
    op.create_table(
        "screened_item",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("feed", sa.String(length=200), nullable=False),
        sa.Column("url_token", sa.String(length=32), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("screened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("report_id", sa.String(length=36), nullable=True),
        sa.Column("promoted_by", sa.Integer(), nullable=True),
        sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("shredded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payload_version", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("data_key_id", sa.String(length=36), nullable=True),
        sa.CheckConstraint(f"verdict IN {_VERDICTS}", name=op.f("ck_screened_item_verdict_valid")),
        sa.CheckConstraint(
            "status IN ('waiting', 'promoted', 'expired')",
            name=op.f("ck_screened_item_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["report.id"], name=op.f("fk_screened_item_report_id_report")
        ),
        sa.ForeignKeyConstraint(
            ["promoted_by"],
            ["user_account.id"],
            name=op.f("fk_screened_item_promoted_by_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["data_key_id"],
            ["data_key.id"],
            name=op.f("fk_screened_item_data_key_id_data_key"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screened_item")),
        sa.UniqueConstraint("url_token", name=op.f("uq_screened_item_url_token")),
    )
    with op.batch_alter_table("screened_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_screened_item_feed"), ["feed"])
        batch_op.create_index(batch_op.f("ix_screened_item_expires_at"), ["expires_at"])
        batch_op.create_index(batch_op.f("ix_screened_item_report_id"), ["report_id"])
        batch_op.create_index(batch_op.f("ix_screened_item_data_key_id"), ["data_key_id"])
        batch_op.create_index("ix_screened_item_list", ["status", "screened_at"])

    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.add_column(sa.Column("screening_verdict", sa.String(length=16), nullable=True))
        batch_op.create_check_constraint(
            "screening_verdict_valid", f"screening_verdict IN {_VERDICTS}"
        )


def downgrade() -> None:
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_report_screening_verdict_valid"), type_="check")
        batch_op.drop_column("screening_verdict")

    op.execute(
        "DELETE FROM data_key WHERE id IN "
        "(SELECT data_key_id FROM screened_item WHERE data_key_id IS NOT NULL)"
    )
    with op.batch_alter_table("screened_item", schema=None) as batch_op:
        batch_op.drop_index("ix_screened_item_list")
        batch_op.drop_index(batch_op.f("ix_screened_item_data_key_id"))
        batch_op.drop_index(batch_op.f("ix_screened_item_report_id"))
        batch_op.drop_index(batch_op.f("ix_screened_item_expires_at"))
        batch_op.drop_index(batch_op.f("ix_screened_item_feed"))
    op.drop_table("screened_item")
