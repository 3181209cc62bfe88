"""Benchmark: export and verify a large audit log in constant memory.

Fills a throwaway instance with N chained events (1,000,000 by default), then runs the real
`triage audit export` (JSON Lines and CSV) and `triage audit verify` as child processes and prints,
for each, the wall time, events per second and the child's peak resident memory. Running it again
with a tenth of the events shows the memory does not grow with the log.

    .venv/bin/python bench/audit_export.py                      # SQLite, 1,000,000 events
    .venv/bin/python bench/audit_export.py --events 100000
    .venv/bin/python bench/audit_export.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench

The PostgreSQL database named must exist and be empty; it is filled but not dropped.

It first times appends through the service, in the same run: ``audit.append`` one event at a
time (100 per transaction, as busy requests do) and ``audit.append_many`` (one INSERT for the
events of a use case or a batch). Targets (issue 13), printed beside each figure: verify
≥ 200,000 events/s, export ≥ 100,000 events/s, peak memory under 150 MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from triage import audit
from triage.audit import GENESIS_HASH, chain_hash, format_time
from triage.config import Settings
from triage.db import make_engine
from triage.instance import init_instance, open_instance
from triage.models import AuditEvent

BATCH = 20_000
VERIFY_TARGET = 200_000
EXPORT_TARGET = 100_000
MEMORY_TARGET_MIB = 150


def mark(rate: float, target: float, rss: float) -> str:
    met = rate >= target and rss < MEMORY_TARGET_MIB
    return f"  target >= {target:,}/s, < {MEMORY_TARGET_MIB} MiB: {'met' if met else 'MISSED'}"


def appends(settings: Settings, total: int = 5000, per_tx: int = 100) -> None:
    """Events per second appended through ``audit.append`` and ``audit.append_many``."""
    uow = open_instance(settings)
    details = {"purpose": "case.view", "report_id": "00000000-0000-4000-8000-000000000000"}
    for label, many in (("append (one by one)", False), ("append_many", True)):
        started = time.perf_counter()
        for start in range(0, total, per_tx):
            with uow.begin() as session:
                entries = [
                    audit.Entry("7", "payload.decrypted", "report", f"r-{start + i}", details)
                    for i in range(per_tx)
                ]
                if many:
                    audit.append_many(session, entries)
                else:
                    for e in entries:
                        audit.append(
                            session,
                            actor=e.actor,
                            action=e.action,
                            object_type=e.object_type,
                            object_id=e.object_id,
                            details=e.details,
                        )
        rate = total / (time.perf_counter() - started)
        print(f"{label:<22}{'':>10}{rate:>14,.0f}   ({per_tx} events per transaction)")
    uow.engine.dispose()


def fill(settings: Settings, total: int) -> None:
    """Append ``total`` events after those already there, computing the chain as append does."""
    engine = make_engine(settings.sqlalchemy_url)
    with engine.begin() as conn:
        last = conn.execute(
            AuditEvent.__table__.select().order_by(AuditEvent.seq.desc()).limit(1)
        ).first()
    seq, prev = (last.seq, last.hash) if last else (0, GENESIS_HASH)
    start = datetime.now(UTC) - timedelta(days=365)
    rows = []
    for i in range(total):
        seq += 1
        fields = {
            "seq": seq,
            "at": format_time(start + timedelta(milliseconds=30 * i)),
            "actor": str(1 + i % 40),
            "action": ("payload.decrypted", "case.claimed", "report.filed", "auth.login")[i % 4],
            "object_type": "report",
            "object_id": f"00000000-0000-4000-8000-{i:012d}",
            "details": {"purpose": "case.view", "n": i},
        }
        fields["prev_hash"] = prev
        prev = chain_hash(fields)
        rows.append(
            {
                **fields,
                "details": json.dumps(fields["details"], sort_keys=True, separators=(",", ":")),
                "hash": prev,
            }
        )
        if len(rows) == BATCH:
            with engine.begin() as conn:
                conn.execute(insert(AuditEvent), rows)
            rows = []
    if rows:
        with engine.begin() as conn:
            conn.execute(insert(AuditEvent), rows)
    engine.dispose()


def run_child(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run a triage command; return wall seconds, that child's own peak RSS in MiB, its output."""
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        child = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read()
    if child.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{output}")
    return elapsed, usage.ru_maxrss / 1024, output


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="")
    options = parser.parse_args()

    triage = str(Path(sys.executable).with_name("triage"))
    with tempfile.TemporaryDirectory(prefix="triage-bench-") as folder:
        settings = Settings(instance_path=Path(folder), database_url=options.database_url)
        init_instance(settings)
        env = {
            **os.environ,
            "TRIAGE_INSTANCE_PATH": folder,
            "TRIAGE_DATABASE_URL": options.database_url,
        }

        print(f"{'step':<22}{'seconds':>10}{'events/s':>14}{'peak RSS MiB':>15}{'file MiB':>10}")
        appends(settings)
        started = time.perf_counter()
        fill(settings, options.events)
        fill_seconds = time.perf_counter() - started
        engine = "PostgreSQL" if options.database_url else "SQLite"
        print(f"audit log on {engine}: {options.events:,} events, filled in {fill_seconds:.1f} s")
        print(f"{'step':<22}{'seconds':>10}{'events/s':>14}{'peak RSS MiB':>15}{'file MiB':>10}")
        counter = make_engine(settings.sqlalchemy_url)
        with counter.connect() as conn:  # the fill's, the appends' and init's events
            count = int(conn.execute(select(func.count()).select_from(AuditEvent)).scalar_one())
        counter.dispose()
        # A child's start (imports, opening the instance) is timed alone and taken off each
        # step's time for its events/s; on a loaded machine it is seconds.
        starts = sorted(run_child([triage, "audit", "public-key"], env)[:2] for _ in range(3))
        startup, base_rss = starts[1]
        print(
            f"{'child start (median)':<22}{startup:>10.1f}{'':>14}{base_rss:>15.1f}"
            "   (time taken off each step below; its memory is the imports')"
        )
        for fmt in ("jsonl", "csv"):
            out = Path(folder) / f"export.{fmt}"
            seconds, rss, _ = run_child(
                [triage, "audit", "export", "--format", fmt, "--out", str(out)], env
            )
            size = out.stat().st_size / 2**20
            rate = count / max(seconds - startup, 1e-3)
            print(
                f"{'export ' + fmt:<22}{seconds:>10.1f}{rate:>14,.0f}{rss:>15.1f}{size:>10.1f}"
                + mark(rate, EXPORT_TARGET, rss)
            )
            key = Path(folder) / "public.pem"
            key.write_text(run_child([triage, "audit", "public-key"], env)[2])
            seconds, rss, output = run_child(
                [
                    triage,
                    "audit",
                    "verify-export",
                    str(out),
                    "--manifest",
                    f"{out}.manifest.json",
                    "--public-key",
                    str(key),
                ],
                env,
            )
            assert output.startswith("OK"), output
            print(
                f"{'verify-export ' + fmt:<22}{seconds:>10.1f}"
                f"{count / max(seconds - startup, 1e-3):>14,.0f}{rss:>15.1f}"
            )
            out.unlink()
            count += 1  # the export just made is itself an event
        seconds, rss, output = run_child([triage, "audit", "verify"], env)
        assert output.startswith("OK"), output
        rate = count / max(seconds - startup, 1e-3)
        print(
            f"{'verify (database)':<22}{seconds:>10.1f}{rate:>14,.0f}{rss:>15.1f}{'':>10}"
            + mark(rate, VERIFY_TARGET, rss)
        )


if __name__ == "__main__":
    main()
