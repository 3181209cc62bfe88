"""Benchmark: a KEK rotation of many records, killed half-way and resumed.

Fills a throwaway instance with N data keys (100,000 by default), each with a payload sealed
under it, runs the real `triage keys rotate --no-rewrap`, starts the real `triage keys rewrap`
as a child process and SIGKILLs it once about half the keys are under the new KEK, then resumes
the rewrap (in this process, timed: records per second) and finally opens every payload with the
rotated keyring. Prints the records rewrapped before the kill, the resumed run's rate, and how
many payloads open (all of them, or the run fails).

    .venv/bin/python bench/rotation.py                      # SQLite, 100,000 records
    .venv/bin/python bench/rotation.py --records 10000
    .venv/bin/python bench/rotation.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench

The PostgreSQL database named must exist and be empty; it is filled but not dropped.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import func, insert, select

from triage import audit, keys
from triage.config import Settings
from triage.crypto import SealContext, WrappedKey, load_keyring
from triage.db import make_engine
from triage.instance import init_instance, open_instance
from triage.models import DataKey, utcnow

FILL_BATCH = 10_000


def fill(settings: Settings, total: int) -> dict[str, bytes]:
    """``total`` data keys, each with a payload sealed under it (kept here to open later)."""
    ring = load_keyring(settings.keyring_file)
    engine = make_engine(settings.sqlalchemy_url)
    blobs: dict[str, bytes] = {}
    rows = []
    now = utcnow()
    with engine.begin() as conn:
        for n in range(total):
            key_id = str(uuid.uuid4())
            wrapped = ring.new_data_key(key_id)
            rows.append({"id": key_id, "kek_id": wrapped.kek_id, "wrapped": wrapped.wrapped,
                         "created_at": now})  # fmt: skip
            context = SealContext("bench", key_id)
            blobs[key_id] = ring.seal(key_id, wrapped, context, {"n": n, "text": f"record {n}"})
            if len(rows) == FILL_BATCH:
                conn.execute(insert(DataKey), rows)
                rows = []
        if rows:
            conn.execute(insert(DataKey), rows)
    engine.dispose()
    return blobs


class Counter:
    """Counts data keys under a KEK, on one connection pool kept for the whole run."""

    def __init__(self, settings: Settings) -> None:
        self.engine = make_engine(settings.sqlalchemy_url)

    def under(self, kek_id: str) -> int:
        with self.engine.connect() as conn:
            query = select(func.count()).select_from(DataKey).where(DataKey.kek_id == kek_id)
            return int(conn.scalar(query) or 0)


def triage(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("triage")), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="triage-bench-rotation-") as folder:
        settings = Settings(instance_path=Path(folder), database_url=args.database_url)
        init_instance(settings)
        env = {
            **os.environ,
            "TRIAGE_INSTANCE_PATH": folder,
            "TRIAGE_DATABASE_URL": settings.sqlalchemy_url,
        }
        started = time.perf_counter()
        blobs = fill(settings, args.records)
        print(f"filled {args.records} sealed records in {time.perf_counter() - started:.1f} s")

        old_kek = load_keyring(settings.keyring_file).active_kek
        rotate = triage(env, "keys", "rotate", "--no-rewrap")
        assert rotate.wait() == 0, "keys rotate failed"
        new_kek = load_keyring(settings.keyring_file).active_kek

        counter = Counter(settings)
        under = counter.under
        child = triage(env, "keys", "rewrap")
        killed_started = time.perf_counter()
        while under(new_kek) < args.records // 2:
            if child.poll() is not None:
                raise SystemExit("the rewrap finished before it could be killed; use more records")
            time.sleep(0.005)
        child.send_signal(signal.SIGKILL)
        child.wait()
        before_kill = under(new_kek)
        if before_kill == args.records:
            raise SystemExit("the rewrap finished before it was killed; use more records")
        killed_for = time.perf_counter() - killed_started
        print(
            f"killed `triage keys rewrap` (SIGKILL) after {killed_for:.1f} s with "
            f"{before_kill} of {args.records} rewrapped ({under(old_kek)} left)"
        )

        uow = open_instance(settings)
        ring = uow.keyring.holding(new_kek)
        batch_times: list[float] = []
        last = [time.perf_counter()]

        def tick(count: int) -> None:
            now = time.perf_counter()
            batch_times.append(count / (now - last[0]))
            last[0] = now

        resumed_at = time.perf_counter()
        done = keys.rewrap_all(uow.begin, ring, actor=audit.SYSTEM_ACTOR, progress=tick)
        resumed_for = time.perf_counter() - resumed_at
        median = statistics.median(batch_times) if batch_times else 0.0
        print(
            f"resumed: {done} rewrapped in {resumed_for:.2f} s = {done / resumed_for:,.0f} "
            f"records/s (median per batch {median:,.0f} records/s, "
            f"{len(batch_times)} batches of {keys.BATCH})"
        )
        assert before_kill + done == args.records, "a key was rewrapped twice or not at all"

        opened = 0
        with uow.read() as session:
            rows = session.execute(select(DataKey.id, DataKey.kek_id, DataKey.wrapped))
            for row in rows:
                assert row.kek_id == new_kek
                data = ring.open(row.id, WrappedKey(row.kek_id, row.wrapped),
                                 SealContext("bench", row.id), blobs[row.id])  # fmt: skip
                opened += data["text"].startswith("record ")
        uow.engine.dispose()
        counter.engine.dispose()
        print(f"every payload opens with the rotated keyring: {opened} of {args.records}")
        assert opened == args.records


if __name__ == "__main__":
    main()
