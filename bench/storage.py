"""Benchmark: bytes per report on disk, sealed, against the same reports stored as plain JSON,
measured in the same run.

    .venv/bin/python bench/storage.py                   # 2,000 reports, SQLite and PostgreSQL
    .venv/bin/python bench/storage.py --reports 5000 --engines sqlite

The reports go through the service layer (``intake.bulk.file_many``): the sealed payload and its
wrapped data key, blind-index tokens, the case, the audit events and every index on them. The
baseline is an SQLite file (or a PostgreSQL table) holding each report's JSON in one row with a
primary key. Figures: the database's size after the load (SQLite: the file after a checkpoint
and VACUUM; PostgreSQL: the tables' total relation size, indexes and TOAST included) divided by
the reports. No target is set for it (issue 13 asks for the figure).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import sys
import tempfile
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._instance import instance, load, synthetic


def sealed_bytes(engine_name: str, inst_url: str, folder: Path, engine: object) -> int:
    if engine_name == "sqlite":
        path = folder / "triage.sqlite3"
        raw = sqlite3.connect(path)
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw.execute("VACUUM")
        raw.close()
        return os.path.getsize(path)
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return int(
            conn.execute(
                text(
                    "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND c.relkind = 'r'"
                )
            ).scalar_one()
        )


def plain_bytes(engine_name: str, engine: object, bodies: list[str]) -> int:
    if engine_name == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "plain.sqlite3"
            raw = sqlite3.connect(path)
            raw.execute("CREATE TABLE report (id INTEGER PRIMARY KEY, body TEXT)")
            raw.executemany("INSERT INTO report (body) VALUES (?)", [(b,) for b in bodies])
            raw.commit()
            raw.execute("VACUUM")
            raw.close()
            return os.path.getsize(path)
    with engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(text("CREATE TABLE bench_plain (id serial PRIMARY KEY, body text)"))
        conn.execute(text("INSERT INTO bench_plain (body) VALUES (:b)"), [{"b": b} for b in bodies])
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:  # type: ignore[attr-defined]
        conn.execute(text("VACUUM ANALYZE bench_plain"))
        return int(conn.execute(text("SELECT pg_total_relation_size('bench_plain')")).scalar_one())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    rng = random.Random(0)
    bodies = [json.dumps(synthetic(n, rng), ensure_ascii=False) for n in range(args.reports)]
    payload = sum(len(b.encode()) for b in bodies) / args.reports
    print(f"{args.reports} reports, {payload:.0f} bytes of JSON each on average")
    print(f"{'engine':10} {'sealed B/report':>16} {'plain B/report':>15} {'ratio':>7}")
    for name in args.engines.split(","):
        with instance(name) as inst:
            before = sealed_bytes(
                name, inst.settings.sqlalchemy_url, inst.settings.instance_path, inst.uow.engine
            )
            load(inst.uow, args.reports)
            inst.uow.engine.dispose()
            after = sealed_bytes(
                name, inst.settings.sqlalchemy_url, inst.settings.instance_path, inst.uow.engine
            )
            sealed = (after - before) / args.reports
            plain = plain_bytes(name, inst.uow.engine, bodies) / args.reports
            print(f"{name:10} {sealed:16.0f} {plain:15.0f} {sealed / plain:6.2f}x")


if __name__ == "__main__":
    main()
