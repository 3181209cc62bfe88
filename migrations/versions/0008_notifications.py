"""Alerts by e-mail and signed webhook: what fell due (``alert``, one row per kind, object and
due occasion, unique, so that no alert is raised twice however many `triage notify` run) and how
each reached its recipients (``delivery``, one row per alert, channel and recipient, with its
attempts, backoff and dead-letter state).

A staff account's e-mail address is sealed in its payload beside the TOTP secret; two plain
flags say what the payload holds (``has_email``, ``totp_pending``) so that pages and the alert
run need not open it to know. Accounts whose payload holds a secret not yet confirmed get
``totp_pending``. The downgrade shreds the payloads that hold an e-mail address and no TOTP
secret (the older code takes any payload for a secret), then drops the flags and tables; an
address sealed beside a secret stays sealed and is ignored by the older code, since a migration
never opens a payload.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-15 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("has_email", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("totp_pending", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    account = sa.table(
        "user_account",
        sa.column("payload", sa.LargeBinary()),
        sa.column("totp_enabled", sa.Boolean()),
        sa.column("totp_pending", sa.Boolean()),
    )
    op.execute(
        account.update()
        .where(account.c.payload.is_not(None), account.c.totp_enabled.is_(sa.false()))
        .values(totp_pending=sa.true())
    )

    op.create_table(
        "alert",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("object_id", sa.String(length=36), nullable=False),
        sa.Column("occasion", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("decision_id", sa.String(length=36), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('deadline', 'follow_up', 'approval')", name=op.f("ck_alert_kind_valid")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_file.id"], name=op.f("fk_alert_case_id_case_file")
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decision.id"], name=op.f("fk_alert_decision_id_decision")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert")),
        sa.UniqueConstraint(
            "kind", "object_id", "occasion", name=op.f("uq_alert_kind_object_id_occasion")
        ),
    )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_case_id"), ["case_id"])
        batch_op.create_index(batch_op.f("ix_alert_raised_at"), ["raised_at"])

    op.create_table(
        "delivery",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("alert_id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=32), nullable=True),
        sa.Column("claim_token", sa.String(length=36), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel IN ('email', 'webhook')", name=op.f("ck_delivery_channel_valid")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'dead')",
            name=op.f("ck_delivery_status_valid"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_delivery_attempts_not_negative")),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alert.id"], name=op.f("fk_delivery_alert_id_alert")
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["user_account.id"],
            name=op.f("fk_delivery_recipient_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery")),
        sa.UniqueConstraint(
            "alert_id",
            "channel",
            "recipient_id",
            name=op.f("uq_delivery_alert_id_channel_recipient_id"),
        ),
    )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_recipient_id"), ["recipient_id"])
        batch_op.create_index("ix_delivery_due", ["status", "next_attempt_at"])
        batch_op.create_index("ix_delivery_recent", ["created_at"])


def downgrade() -> None:
    account = sa.table(
        "user_account",
        sa.column("payload", sa.LargeBinary()),
        sa.column("data_key_id", sa.String()),
        sa.column("has_email", sa.Boolean()),
        sa.column("totp_enabled", sa.Boolean()),
        sa.column("totp_pending", sa.Boolean()),
    )
    data_key = sa.table("data_key", sa.column("id", sa.String()))
    only_address = sa.and_(
        account.c.has_email.is_(sa.true()),
        account.c.totp_enabled.is_(sa.false()),
        account.c.totp_pending.is_(sa.false()),
    )
    op.execute(
        data_key.delete().where(
            data_key.c.id.in_(
                sa.select(account.c.data_key_id).where(
                    only_address, account.c.data_key_id.is_not(None)
                )
            )
        )
    )
    op.execute(account.update().where(only_address).values(payload=None, data_key_id=None))

    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_recent")
        batch_op.drop_index("ix_delivery_due")
        batch_op.drop_index(batch_op.f("ix_delivery_recipient_id"))
    op.drop_table("delivery")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_raised_at"))
        batch_op.drop_index(batch_op.f("ix_alert_case_id"))
    op.drop_table("alert")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("totp_pending")
        batch_op.drop_column("has_email")
