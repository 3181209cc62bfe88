"""Intake: attachments sealed with their report's key, API clients with hashed tokens,
idempotency keys; reports gain their screening signals and the API client that sent them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_client",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["user_account.id"], name=op.f("fk_api_client_created_by_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_client")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_client_token_hash")),
    )
    with op.batch_alter_table("api_client", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_client_token_prefix"), ["token_prefix"], unique=False
        )

    op.create_table(
        "attachment",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("report_id", sa.String(length=36), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("meta", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_attachment_report_id_report"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"],
            ["user_account.id"],
            name=op.f("fk_attachment_uploaded_by_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment")),
    )
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachment_report_id"), ["report_id"], unique=False)

    op.create_table(
        "idempotency_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("report_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["api_client.id"],
            name=op.f("fk_idempotency_key_client_id_api_client"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_idempotency_key_report_id_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_key")),
        sa.UniqueConstraint("client_id", "key", name=op.f("uq_idempotency_key_client_id_key")),
    )
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.add_column(sa.Column("api_client_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("signals", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.create_index(
            batch_op.f("ix_report_api_client_id"), ["api_client_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_report_api_client_id_api_client"),
            "api_client",
            ["api_client_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_report_api_client_id_api_client"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_report_api_client_id"))
        batch_op.drop_column("signals")
        batch_op.drop_column("api_client_id")

    op.drop_table("idempotency_key")
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachment_report_id"))

    op.drop_table("attachment")
    with op.batch_alter_table("api_client", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_client_token_prefix"))

    op.drop_table("api_client")
