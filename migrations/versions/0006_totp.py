"""Two-step sign-in: a staff account gets a sealed payload for its TOTP secret, a flag saying
whether sign-in asks for a code, and the last time step accepted (so a code works only once).

Existing accounts start without two-step sign-in. The downgrade deletes the data keys of the
accounts' payloads before it drops the columns, so the secrets are shredded rather than left as
orphaned keys; every account then signs in with its password alone again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        # The server default fills the rows already there; the models give every new row a value.
        batch_op.add_column(
            sa.Column("payload_version", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(sa.Column("payload", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("data_key_id", sa.String(length=36), nullable=True))
        batch_op.add_column(
            sa.Column("totp_enabled", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_user_account_data_key_id"), ["data_key_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_user_account_data_key_id_data_key"),
            "data_key",
            ["data_key_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.alter_column("payload_version", existing_type=sa.Integer(), server_default=None)


def downgrade() -> None:
    op.execute(
        "DELETE FROM data_key WHERE id IN "
        "(SELECT data_key_id FROM user_account WHERE data_key_id IS NOT NULL)"
    )
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_user_account_data_key_id_data_key"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_user_account_data_key_id"))
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_enabled")
        batch_op.drop_column("data_key_id")
        batch_op.drop_column("payload")
        batch_op.drop_column("payload_version")
