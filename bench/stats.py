"""Benchmark: the statistics page's counting and suppression at 100,000 reports.

Fills a throwaway instance with N reports (100,000 by default), each with its case, across the
regions, sources, levels and a year of weeks, with a decision on most cases and a verification
on half the media and online reports — plain columns only, written in bulk (the figures never
read a payload, so none is sealed) — then runs ``triage.stats.compute`` for a year, a quarter
and one region, as the page does, and prints the wall time of each, the median of five runs.

    .venv/bin/python bench/stats.py                                  # SQLite, 100,000 reports
    .venv/bin/python bench/stats.py --reports 20000
    .venv/bin/python bench/stats.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench

The PostgreSQL database named must exist and be empty; it is filled but not dropped.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from triage import stats
from triage.config import Settings
from triage.crypto import Keyring, write_keyring
from triage.db import make_engine
from triage.instance import init_instance
from triage.models import Case, Decision, Report, User
from triage.vocab import Region, RiskLevel, SourceKind

BATCH = 5_000
END = date(2026, 11, 29)
START = END - timedelta(days=364)
HOURS = {"high": 24, "medium": 72, "standard": 168}


def fill(settings: Settings, total: int) -> None:
    rnd = random.Random(9)
    engine = make_engine(settings.sqlalchemy_url)
    with engine.begin() as conn:
        conn.execute(
            insert(User),
            [{"username": "bench", "password_hash": "x", "role": "reviewer", "active": True}],
        )
    regions = [r.value for r in Region]
    measures = ["contact_victim", "safety_plan", "protective_order", "no_action"]
    cases, reports, decisions = [], [], []
    for n in range(total):
        moment = datetime.combine(START, datetime.min.time(), UTC) + timedelta(
            minutes=rnd.randrange(365 * 24 * 60)
        )
        level = rnd.choice([v.value for v in RiskLevel])
        region = rnd.choice(regions) if rnd.random() > 0.01 else None
        source = rnd.choice([s.value for s in SourceKind])
        case_id = str(uuid.uuid4())
        verification = "unverified"
        if source != "direct" and rnd.random() < 0.5:
            verification = rnd.choice(["corroborated", "unfounded"])
        open_ = rnd.random() < 0.3
        cases.append(
            {
                "id": case_id,
                "code": f"C-{n:08d}",
                "region": region,
                "status": "open" if open_ else "closed",
                "risk_level": level,
                "verification": verification,
                "opened_at": moment,
                "deadline_at": moment + timedelta(hours=HOURS[level]),
                "version": 1,
            }
        )
        reports.append(
            {
                "id": str(uuid.uuid4()),
                "case_id": case_id,
                "source_kind": source,
                "received_at": moment,
                "region": region,
                "categories": [],
                "risk_level": level,
                "status": "received",
                "verification": verification,
                "signals": [],
                "payload_version": 1,
            }
        )
        if rnd.random() < 0.7:
            proposed = moment + timedelta(hours=rnd.randrange(1, 200))
            decisions.append(
                {
                    "id": str(uuid.uuid4()),
                    "case_id": case_id,
                    "measure": rnd.choice(measures),
                    "tier": "supportive",
                    "status": rnd.choice(
                        ["in_effect", "in_effect", "awaiting_approval", "rejected"]
                    ),
                    "proposed_by": 1,
                    "proposed_at": proposed,
                    "version": 1,
                    "payload_version": 1,
                }
            )
        if len(cases) == BATCH or n == total - 1:
            with engine.begin() as conn:
                conn.execute(insert(Case), cases)
                conn.execute(insert(Report), reports)
                if decisions:
                    conn.execute(insert(Decision), decisions)
            cases, reports, decisions = [], [], []
    engine.dispose()


def timed(settings: Settings, filters: stats.Filters) -> tuple[float, stats.Statistics]:
    engine = make_engine(settings.sqlalchemy_url)
    runs, figures = [], None
    now = datetime.combine(END, datetime.min.time(), UTC)
    for _ in range(5):
        with Session(engine) as session:
            began = time.perf_counter()
            figures = stats.compute(session, filters, now=now)
            runs.append(time.perf_counter() - began)
    engine.dispose()
    assert figures is not None
    return statistics.median(runs), figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="triage-bench-stats-") as folder:
        write_keyring(Path(folder) / "keyring.json", Keyring.generate())
        settings = Settings(instance_path=Path(folder), database_url=options.database_url)
        init_instance(settings)
        began = time.perf_counter()
        fill(settings, options.reports)
        engine = "PostgreSQL" if options.database_url else "SQLite"
        if options.database_url:  # as autovacuum would have by the time anyone looks
            analysed = make_engine(settings.sqlalchemy_url)
            with analysed.begin() as conn:
                conn.execute(text("ANALYZE"))
            analysed.dispose()
        print(f"{engine}: {options.reports} reports filled in {time.perf_counter() - began:.1f} s")
        for name, filters in (
            ("a year, all regions", stats.Filters(START, END)),
            ("a quarter, all regions", stats.Filters(END - timedelta(days=90), END)),
            ("a year, one region", stats.Filters(START, END, "karaganda")),
        ):
            seconds, figures = timed(settings, filters)
            reports = figures.table(stats.REPORTS_BY_REGION).published.total.text
            hidden = sum(t.published.hidden_count for t in figures.tables)
            print(
                f"  {name:24} {seconds * 1000:7.0f} ms  ({reports} reports, {hidden} cells hidden)"
            )


if __name__ == "__main__":
    main()
