"""What the benchmarks share: a throwaway instance on SQLite or on a fresh PostgreSQL database,
filled with synthetic reports through the service layer (``intake.bulk.file_many``: screened,
sealed, blind-indexed, their cases opened, triaged and audited, as real ones), and the figures
they print (medians, percentiles, a target met or missed)."""

from __future__ import annotations

import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from triage.config import Settings
from triage.instance import init_instance, open_instance
from triage.intake import bulk, schema
from triage.uow import UnitOfWork
from triage.vocab import Category, Region

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 8, "argon2_parallelism": 1}


@dataclass
class Instance:
    settings: Settings
    uow: UnitOfWork
    engine_name: str


@contextmanager
def instance(engine: str, pg_admin: str = PG_ADMIN, **overrides: Any) -> Iterator[Instance]:
    """A migrated instance in a temporary folder; on PostgreSQL a database made for it and
    dropped afterwards."""
    with tempfile.TemporaryDirectory(prefix="triage-bench-") as folder:
        url = ""
        name = ""
        if engine == "postgresql":
            name = f"triage_bench_{secrets.token_hex(4)}"
            admin = create_engine(pg_admin, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = pg_admin.rsplit("/", 1)[0] + f"/{name}"
        settings = Settings(
            instance_path=Path(folder), database_url=url, **{**FAST_HASH, **overrides}
        )
        init_instance(settings)
        uow = open_instance(settings)
        try:
            yield Instance(settings, uow, engine)
        finally:
            uow.engine.dispose()
            if name:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
                admin.dispose()


_CATEGORIES = [c.value for c in Category]
_REGIONS = [r.value for r in Region]


def synthetic(n: int, rng: random.Random) -> dict[str, Any]:
    """One invented report's JSON, as the API takes it: mostly media, some direct."""
    region = rng.choice(_REGIONS)
    categories = rng.sample(_CATEGORIES, rng.choice([0, 1, 1, 2]))
    if n % 4 == 3:
        return {
            "source_kind": "direct",
            "region": region,
            "reporter": "neighbour",
            "victim": {"name": f"Invented Victim {n}", "phone": f"+7 701 {n:07d}"},
            "aggressor": {"name": f"Invented Aggressor {n}"},
            "relationship": "spouse",
            "categories": categories or ["psychological"],
            "narrative": "An invented account of shouting and threats next door, for the bench.",
        }
    return {
        "source_kind": "media",
        "region": region,
        "categories": categories,
        "outlet": "Invented Daily",
        "url": f"https://news.example.kz/bench/{n}",
        "language": "ru",
        "headline": "Invented headline about a family dispute",
        "text": "An invented article about a family dispute in a city. " * 8,
    }


def load(uow: UnitOfWork, total: int, *, batch: int = 500, first: int = 0) -> float:
    """File ``total`` synthetic reports (numbered from ``first``: numbers make their sources),
    each opening its own case, received over the last year; returns reports per second."""
    rng = random.Random(first)
    now = datetime.now(UTC)
    start = time.perf_counter()
    done = first
    while done < first + total:
        items = []
        for n in range(done, min(first + total, done + batch)):
            received = now - timedelta(minutes=rng.randrange(1, 365 * 24 * 60))
            items.append(
                bulk.Item(schema.parse(synthetic(n, rng)), actor="system", received_at=received)
            )
        with uow.begin() as session:
            bulk.file_many(session, items, on_match="new")
        done += len(items)
    return total / (time.perf_counter() - start)


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    """Milliseconds of each of ``runs`` calls."""
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def pct(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"
