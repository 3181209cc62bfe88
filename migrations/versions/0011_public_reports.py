"""Public reports: the public flag on reports, the receipts that let an anonymous reporter come
back, the messages between reviewers and that reporter, and the used tokens of the public form.

Existing reports are not public (``public`` is added false). The downgrade drops the receipts,
the messages (sealed under their reports' keys, which stay: the reports keep their own data) and
the used tokens, then the flag.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("public", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    op.create_table(
        "public_receipt",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("report_id", sa.String(length=36), nullable=False),
        sa.Column("lookup", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_public_receipt_report_id_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_receipt")),
        sa.UniqueConstraint("lookup", name=op.f("uq_public_receipt_lookup")),
        sa.UniqueConstraint("report_id", name=op.f("uq_public_receipt_report_id")),
    )

    op.create_table(
        "public_message",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("report_id", sa.String(length=36), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("written_by", sa.Integer(), nullable=True),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint(
            "direction IN ('to_reporter', 'from_reporter')",
            name=op.f("ck_public_message_direction_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_public_message_report_id_report"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["written_by"],
            ["user_account.id"],
            name=op.f("fk_public_message_written_by_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_message")),
    )
    with op.batch_alter_table("public_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_public_message_report_id"), ["report_id"])

    op.create_table(
        "public_form_token",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_public_form_token")),
    )
    with op.batch_alter_table("public_form_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_public_form_token_expires_at"), ["expires_at"])


def downgrade() -> None:
    with op.batch_alter_table("public_form_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_public_form_token_expires_at"))
    op.drop_table("public_form_token")

    with op.batch_alter_table("public_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_public_message_report_id"))
    op.drop_table("public_message")

    op.drop_table("public_receipt")

    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_column("public")
