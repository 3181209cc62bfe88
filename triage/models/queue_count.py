"""The queue's maintained counts: cases by status, region, ``queue_rank`` and the day of an open
case's deadline, kept by triggers on ``case_file`` so that the queue's figures are a sum of a few
hundred rows, never a count of the cases (``review.case_queue.counts``; migration
``0014_queue_counts``).

The triggers belong to the database, not to the ORM, so no writer (a service, the bulk filer, an
import, a hand-written statement) can change a case without changing its count. SQLite has one
writer at a time and updates the count in place. PostgreSQL's writers run side by side, and two
that each changed cases of several regions would lock the same count rows in different orders
and deadlock; so a statement adds its changes as *pending* rows (plain inserts, which lock
nothing another writer needs), and at commit a deferred trigger folds the transaction's pending
rows into the counts in one statement, in key order: every writer takes the count rows last and
in the same order. A reader sums every row it sees, which is the committed counts plus its own
transaction's pending changes (another's are invisible until they are folded).

The deadline's day (UTC) is in the key so that *overdue*, which depends on the clock, is a sum
too: the cases due after today are the rows of the few days ahead (no deadline lies further
than the longest response time), and only today's are counted on the queue's index.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Index,
    Integer,
    SmallInteger,
    String,
    event,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base

#: ``queue_count.region`` of the cases without one, and ``due_day`` of the cases without an
#: open deadline (a key column cannot be NULL).
NO_REGION = NO_DAY = ""

#: On PostgreSQL every transaction that changes cases leaves a few dead rows here (its pending
#: rows, the counts' old versions): vacuumed after every thousand, not after a fifth of the table
#: as by default, so the table the queue sums stays a few pages long.
AUTOVACUUM = {"autovacuum_vacuum_scale_factor": 0, "autovacuum_vacuum_threshold": 1000}


class QueueCount(Base):
    """How many cases have one status, region, rank and deadline day: a committed count (one row
    per key that has cases), or on PostgreSQL a change of the running transaction not yet folded
    into it (``pending``)."""

    __tablename__ = "queue_count"
    __table_args__ = (
        Index(
            "uq_queue_count_key",
            "status",
            "region",
            "queue_rank",
            "due_day",
            unique=True,
            sqlite_where=text("NOT pending"),
            postgresql_where=text("NOT pending"),
        ),
        {"postgresql_with": AUTOVACUUM},
    )

    #: Every PostgreSQL statement that changes cases takes ids for its pending rows: 64 bits.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    #: The cases' region, ``NO_REGION`` for those without one.
    region: Mapped[str] = mapped_column(String(32))
    queue_rank: Mapped[int] = mapped_column(SmallInteger)
    #: The UTC day (``YYYY-MM-DD``) of an open case's deadline; ``NO_DAY`` for a case without
    #: one and for every case not open (their days are never asked for).
    due_day: Mapped[str] = mapped_column(String(10))
    #: The count, or on a pending row the change (negative when cases left the key).
    cases: Mapped[int] = mapped_column(Integer)
    pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


# The triggers, for each engine. ``migrations/versions/0014_queue_counts.py`` holds the same
# statements (a migration does not import the models it migrates; a test compares them). A row
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


def trigger_ddl(dialect: str) -> tuple[str, ...]:
    """The statements that create the counts' triggers on ``dialect``."""
    return POSTGRESQL_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS


@event.listens_for(Base.metadata, "after_create")
def _create_triggers(metadata: Any, connection: Any, **kw: Any) -> None:
    """``metadata.create_all`` makes the triggers too, once both tables exist."""
    tables = kw.get("tables")
    names = {t.name for t in tables} if tables is not None else set(metadata.tables)
    if {"case_file", "queue_count"} <= names:
        for statement in trigger_ddl(connection.dialect.name):
            connection.exec_driver_sql(statement)
