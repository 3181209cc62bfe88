"""The queue's maintained counts: ``queue_count``, cases by status, region, ``queue_rank`` and
the UTC day of an open case's deadline, and the triggers on ``case_file`` that keep it
(``triage.models.queue_count`` says how, on each engine), filled from the cases there are.

The triggers are created before the fill: on PostgreSQL creating them locks ``case_file``
against writers until the migration commits, so no change falls between the fill and the
triggers.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same statements as ``triage.models.queue_count`` (a migration does not import the models
# it migrates; ``tests/integration/test_queue_counts.py`` checks that they are the same). A row
# that falls to zero is deleted, so the table holds only keys that have cases.


_SQLITE_ADD = (
    "INSERT INTO queue_count (status, region, queue_rank, due_day, cases, pending)"
    " VALUES (NEW.status, coalesce(NEW.region, ''), NEW.queue_rank,"
    " CASE WHEN NEW.status = 'open' THEN coalesce(substr(NEW.deadline_at, 1, 10), '') ELSE '' END,"
    " 1, 0)"
    " ON CONFLICT (status, region, queue_rank, due_day) WHERE NOT pending"
    " DO UPDATE SET cases = cases + 1;"
)
_SQLITE_OLD_KEY = (
    " WHERE NOT pending AND status = OLD.status AND region = coalesce(OLD.region, '')"
    " AND queue_rank = OLD.queue_rank AND due_day ="
    " CASE WHEN OLD.status = 'open' THEN coalesce(substr(OLD.deadline_at, 1, 10), '') ELSE '' END"
)
_SQLITE_REMOVE = (
    "UPDATE queue_count SET cases = cases - 1" + _SQLITE_OLD_KEY + ";"  # noqa: S608 (fixed names)
    " DELETE FROM queue_count" + _SQLITE_OLD_KEY + " AND cases = 0;"
)
SQLITE_TRIGGERS = (
    f"CREATE TRIGGER queue_count_insert AFTER INSERT ON case_file BEGIN {_SQLITE_ADD} END",
    "CREATE TRIGGER queue_count_update"
    " AFTER UPDATE OF status, region, risk_level, deadline_at ON case_file"
    " WHEN OLD.status IS NOT NEW.status OR OLD.region IS NOT NEW.region"
    " OR OLD.queue_rank IS NOT NEW.queue_rank"
    " OR substr(OLD.deadline_at, 1, 10) IS NOT substr(NEW.deadline_at, 1, 10)"
    f" BEGIN {_SQLITE_REMOVE} {_SQLITE_ADD} END",
    f"CREATE TRIGGER queue_count_delete AFTER DELETE ON case_file BEGIN {_SQLITE_REMOVE} END",
)

_PG_KEY = (
    "status, coalesce(region, '') AS region, queue_rank,"
    " CASE WHEN status = 'open' AND deadline_at IS NOT NULL"
    " THEN to_char(deadline_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') ELSE '' END AS due_day"
)
POSTGRESQL_TRIGGERS = (
    # One statement's changes, summed by key, as pending rows.
    f"""CREATE FUNCTION queue_count_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO queue_count (status, region, queue_rank, due_day, cases, pending)
        SELECT {_PG_KEY}, count(*), true FROM added GROUP BY 1, 2, 3, 4;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO queue_count (status, region, queue_rank, due_day, cases, pending)
        SELECT {_PG_KEY}, -count(*), true FROM removed GROUP BY 1, 2, 3, 4;
    ELSE
        INSERT INTO queue_count (status, region, queue_rank, due_day, cases, pending)
        SELECT status, region, queue_rank, due_day, sum(n), true FROM (
            SELECT {_PG_KEY}, 1 AS n FROM added
            UNION ALL
            SELECT {_PG_KEY}, -1 AS n FROM removed
        ) AS moved GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0;
    END IF;
    IF FOUND THEN
        PERFORM set_config('triage.queue_count_pending', 'on', true);
    END IF;
    RETURN NULL;
END $$""",  # noqa: S608 (fixed names)
    # At commit: the transaction's pending rows folded into the counts, in key order, and the
    # keys left at zero deleted. The trigger fires once per pending row; the first folds them all.
    """CREATE FUNCTION queue_count_fold() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    emptied bigint[];
BEGIN
    IF current_setting('triage.queue_count_pending', true) IS DISTINCT FROM 'on' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('triage.queue_count_pending', 'off', true);
    WITH mine AS (
        DELETE FROM queue_count WHERE pending
        RETURNING status, region, queue_rank, due_day, cases
    ), folded AS (
        INSERT INTO queue_count (status, region, queue_rank, due_day, cases, pending)
        SELECT status, region, queue_rank, due_day, sum(cases), false FROM mine
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (status, region, queue_rank, due_day) WHERE NOT pending
        DO UPDATE SET cases = queue_count.cases + excluded.cases
        RETURNING id, cases
    )
    SELECT array_agg(id) INTO emptied FROM folded WHERE cases = 0;
    IF emptied IS NOT NULL THEN
        DELETE FROM queue_count WHERE id = ANY (emptied) AND cases = 0;
    END IF;
    RETURN NULL;
END $$""",
    "CREATE TRIGGER queue_count_insert AFTER INSERT ON case_file"
    " REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION queue_count_changed()",
    "CREATE TRIGGER queue_count_update AFTER UPDATE ON case_file"
    " REFERENCING OLD TABLE AS removed NEW TABLE AS added"
    " FOR EACH STATEMENT EXECUTE FUNCTION queue_count_changed()",
    "CREATE TRIGGER queue_count_delete AFTER DELETE ON case_file"
    " REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION queue_count_changed()",
    "CREATE CONSTRAINT TRIGGER queue_count_fold AFTER INSERT ON queue_count"
    " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.pending)"
    " EXECUTE FUNCTION queue_count_fold()",
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "queue_count",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("queue_rank", sa.SmallInteger(), nullable=False),
        sa.Column("due_day", sa.String(10), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("pending", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_queue_count"),
        # Vacuumed after every thousand dead rows (``models.queue_count.AUTOVACUUM``).
        postgresql_with={"autovacuum_vacuum_scale_factor": 0, "autovacuum_vacuum_threshold": 1000},
    )
    op.create_index(
        "uq_queue_count_key",
        "queue_count",
        ["status", "region", "queue_rank", "due_day"],
        unique=True,
        sqlite_where=sa.text("NOT pending"),
        postgresql_where=sa.text("NOT pending"),
    )
    for statement in POSTGRESQL_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS:
        op.execute(statement)
    if dialect == "postgresql":
        key = _PG_KEY
    else:
        key = (
            "status, coalesce(region, ''), queue_rank, CASE WHEN status = 'open'"
            " THEN coalesce(substr(deadline_at, 1, 10), '') ELSE '' END"
        )
    op.execute(
        "INSERT INTO queue_count (status, region, queue_rank, due_day, cases, pending)"  # noqa: S608
        f" SELECT {key}, count(*), false FROM case_file GROUP BY 1, 2, 3, 4"
    )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    on_cases = " ON case_file" if postgresql else ""
    for name in ("queue_count_insert", "queue_count_update", "queue_count_delete"):
        op.execute(f"DROP TRIGGER {name}{on_cases}")
    if postgresql:
        op.execute("DROP TRIGGER queue_count_fold ON queue_count")
        op.execute("DROP FUNCTION queue_count_fold()")
        op.execute("DROP FUNCTION queue_count_changed()")
    op.drop_index("uq_queue_count_key", table_name="queue_count")
    op.drop_table("queue_count")
