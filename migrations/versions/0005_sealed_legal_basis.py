"""The legal basis of a decision moves into its sealed payload: a free-text column is where a
name could be typed, so ``decision.legal_basis`` is dropped.

A migration holds no keys, so it cannot move stored values into sealed payloads. The upgrade
therefore refuses, and changes nothing, while any decision still has a legal basis in the plain
column; there is no production data, so this only guards a test or demo database (start it
afresh, or clear the column by hand after copying the values somewhere safe). The downgrade adds
the column back, empty: the sealed values stay sealed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


class LegalBasisInPlainColumn(RuntimeError):
    """Decisions still hold a legal basis in the plain column; the upgrade would lose it."""


def upgrade() -> None:
    held = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM decision WHERE legal_basis IS NOT NULL")
    )
    if held:
        raise LegalBasisInPlainColumn(
            f"Migration 0005 refused: {held} decision(s) have a legal basis in the plain column "
            "decision.legal_basis. A migration has no keys to seal them into the decisions' "
            "payloads, and dropping the column would lose them. Copy them somewhere safe and set "
            "the column to NULL (or start from a fresh database), then run the upgrade again."
        )
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_column("legal_basis")


def downgrade() -> None:
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.add_column(sa.Column("legal_basis", sa.String(length=200), nullable=True))
