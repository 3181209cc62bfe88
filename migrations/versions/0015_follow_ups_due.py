"""An index of the measures in effect that nobody has followed up yet, the rows the follow-ups
list (``review.followups.due``, on the queue page) starts from.

Without it, and with no statistics on the decisions (the app never runs ``ANALYZE``), SQLite
planned that list from the cases' side: 10.7 ms of a 20 ms queue page at 100,000 cases
(docs/performance.md). The index is partial, so it holds only the few rows that can be due.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 19:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The same condition as ``triage.models.review.FOLLOW_UP_PENDING`` (a migration does not import
#: the models it migrates).
PENDING = "status = 'in_effect' AND followed_up_at IS NULL"


def upgrade() -> None:
    op.create_index(
        "ix_decision_follow_up_pending",
        "decision",
        ["case_id"],
        sqlite_where=sa.text(PENDING),
        postgresql_where=sa.text(PENDING),
    )


def downgrade() -> None:
    op.drop_index("ix_decision_follow_up_pending", table_name="decision")
