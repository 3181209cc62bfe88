"""The queue's order stored as an indexed column: ``case_file.queue_rank``, computed by the
database from the level and whether the case has a deadline, and the indexes the queue, take-next
and the queue's counts read (the whole scope and a region's, in the queue's order; the claims
that are running).

The column is generated, so every existing row has its rank as soon as the column exists (no
backfill to run) and no writer can leave it stale. PostgreSQL stores it; SQLite can add only a
virtual generated column to an existing table, which its indexes store all the same.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The same expression as ``triage.models.core.QUEUE_RANK_SQL`` (a migration does not import the
#: models it migrates).
QUEUE_RANK_SQL = (
    "CASE risk_level WHEN 'high' THEN 0 WHEN 'medium' THEN 2 ELSE 4 END"
    " + CASE WHEN deadline_at IS NULL THEN 1 ELSE 0 END"
)
_ORDER = ["queue_rank", "deadline_at", "opened_at", "id"]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_index("ix_case_file_queue", table_name="case_file")
    op.add_column(
        "case_file",
        sa.Column(
            "queue_rank",
            sa.SmallInteger(),
            sa.Computed(QUEUE_RANK_SQL, persisted=not sqlite),
            nullable=True,
        ),
    )
    op.create_index("ix_case_file_queue", "case_file", ["status", *_ORDER])
    op.create_index("ix_case_file_queue_region", "case_file", ["status", "region", *_ORDER])
    op.create_index("ix_case_file_claim", "case_file", ["status", "claim_expires_at"])


def downgrade() -> None:
    op.drop_index("ix_case_file_claim", table_name="case_file")
    op.drop_index("ix_case_file_queue_region", table_name="case_file")
    op.drop_index("ix_case_file_queue", table_name="case_file")
    # Both engines drop a column in place (SQLite since 3.35), without rebuilding the table.
    op.execute("ALTER TABLE case_file DROP COLUMN queue_rank")
    op.create_index("ix_case_file_queue", "case_file", ["status", "risk_level", "deadline_at"])
