"""Benchmark: filing through the service layer, one report at a time against a batch.

Both ways file the same synthetic reports of the demo at scale (``demo_synth``: direct, media
and online, in four languages, some about families reported before), ``--per-transaction`` of
them in each unit of work, on a throwaway instance: ``service.file`` called for each report
(as the forms and the API file), and ``intake.bulk.file_many`` called once per transaction. Each
is screened, sealed under its own data key, blind-indexed, its case opened or linked, triaged
and audited. Prints the reports per second of each run, the medians and their ratio.

    .venv/bin/python bench/filing.py                          # SQLite, 2,000 reports x 3 runs
    .venv/bin/python bench/filing.py --reports 5000 --runs 5 --per-transaction 250
    .venv/bin/python bench/filing.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from demo_scale import instance  # bench/demo_scale.py: a throwaway instance

from triage.demo_synth import Synth
from triage.instance import init_instance, open_instance
from triage.intake import bulk, schema, service
from triage.uow import UnitOfWork

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

NOW = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)


def _items(count: int, seed: int) -> list[bulk.Item]:
    synth = Synth(seed, NOW)
    planned = [synth.report(at, n) for n, at in enumerate(synth.arrival_times(count))]
    return [bulk.Item(schema.parse(p.raw), "system", received_at=p.received_at) for p in planned]


def _timed(admin_url: str | None, fill: Callable[[UnitOfWork], None], count: int) -> float:
    """Reports per second of ``fill`` on a fresh instance."""
    with instance(admin_url) as settings:
        init_instance(settings)
        uow = open_instance(settings)
        started = time.perf_counter()
        fill(uow)
        spent = time.perf_counter() - started
        uow.engine.dispose()
    return count / spent


def one_by_one(uow: UnitOfWork, items: list[bulk.Item], per: int) -> None:
    for start in range(0, len(items), per):
        with uow.begin() as session:
            for item in items[start : start + per]:
                try:
                    filed = service.file(session, item.incoming, actor=item.actor)
                except service.ConfirmLink:
                    filed = service.file(session, item.incoming, actor=item.actor, new_case=True)
                if item.received_at is not None:
                    filed.report.received_at = item.received_at


def in_batches(uow: UnitOfWork, items: list[bulk.Item], per: int) -> None:
    for start in range(0, len(items), per):
        with uow.begin() as session:
            bulk.file_many(session, items[start : start + per], on_match="new")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--per-transaction", type=int, default=50)
    parser.add_argument(
        "--database-url",
        help=f"a PostgreSQL maintenance database, e.g. {PG_ADMIN} (default: SQLite)",
    )
    args = parser.parse_args()
    engine = "PostgreSQL" if args.database_url else "SQLite"
    items, per = _items(args.reports, 1), args.per_transaction
    singles, batches = [], []
    for run in range(args.runs):  # alternating, so that a busy machine weighs on both
        singles.append(_timed(args.database_url, lambda u: one_by_one(u, items, per), len(items)))
        batches.append(_timed(args.database_url, lambda u: in_batches(u, items, per), len(items)))
        print(
            f"{engine} run {run + 1}: service.file {singles[-1]:6.1f} reports/s, "
            f"bulk.file_many {batches[-1]:6.1f} reports/s",
            flush=True,
        )
    single, batch = statistics.median(singles), statistics.median(batches)
    print(
        f"{engine}, {args.reports:,} reports, {args.per_transaction} per transaction, "
        f"median of {args.runs}: service.file {single:.1f} reports/s, bulk.file_many "
        f"{batch:.1f} reports/s ({batch / single:.1f}x)"
    )


if __name__ == "__main__":
    main()
