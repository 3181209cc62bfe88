"""Benchmark: the auditor's view of a case in a large audit log.

Fills a throwaway instance with N chained events (1,000,000 by default) about C cases (10,000),
opened one after another through the log: each case's ``case.opened``, then events whose object
is the case or its report, and events that only name the case in their details, spread from its
opening to the end of the log (plain columns only, written in bulk, as ``bench/audit_export.py``
does). Then builds ``triage.oversight.case_audit`` for the first page and the last page of the
case opened first (whose events span the whole log, the worst case), one opened halfway, and the
one opened last, as the page does, and prints the wall time of each, the median of five runs.

    .venv/bin/python bench/audit_case.py                                  # SQLite
    .venv/bin/python bench/audit_case.py --events 100000
    .venv/bin/python bench/audit_case.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench

The PostgreSQL database named must exist and be empty; it is filled but not dropped.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from triage import oversight
from triage.audit import GENESIS_HASH, chain_hash, format_time
from triage.config import Settings
from triage.crypto import Keyring, write_keyring
from triage.db import make_engine
from triage.instance import init_instance
from triage.models import AuditEvent, Case, Report, User

BATCH = 20_000


def fill(settings: Settings, total: int, cases: int) -> list[str]:
    """The cases and their reports, then ``total`` chained events about them; the case codes in
    the order they were opened."""
    rnd = random.Random(11)
    engine = make_engine(settings.sqlalchemy_url)
    start = datetime.now(UTC) - timedelta(days=365)
    ids = [str(uuid.uuid4()) for _ in range(cases)]
    reports = [str(uuid.uuid4()) for _ in range(cases)]
    codes = [f"C-{n // 10_000:04d}-{n % 10_000:04d}" for n in range(cases)]
    with engine.begin() as conn:
        conn.execute(
            insert(Case),
            [
                {"id": i, "code": c, "region": "karaganda", "opened_at": start, "version": 1}
                for i, c in zip(ids, codes, strict=True)
            ],
        )
        conn.execute(
            insert(Report),
            [
                {
                    "id": r,
                    "case_id": i,
                    "source_kind": "media",
                    "received_at": start,
                    "categories": [],
                    "signals": [],
                    "payload_version": 1,
                }
                for i, r in zip(ids, reports, strict=True)
            ],
        )
    step = max(1, total // cases)
    with engine.begin() as conn:  # after the instance's own events
        last = conn.execute(
            AuditEvent.__table__.select().order_by(AuditEvent.seq.desc()).limit(1)
        ).first()
    first, prev = (last.seq + 1, last.hash) if last else (1, GENESIS_HASH)
    rows: list[dict[str, object]] = []
    for i in range(total):
        opened = min(cases - 1, i // step)
        if i % step == 0 and i // step < cases:
            about, action, kind, object_id, details = opened, "case.opened", "case", None, {}
        else:
            about = rnd.randrange(opened + 1)
            action, kind, object_id, details = rnd.choice(
                [
                    ("case.claimed", "case", None, {"via": "claim"}),
                    ("payload.decrypted", "report", reports[about], {"purpose": "case.view"}),
                    ("alert.sent", "delivery", str(i), {"case_id": ids[about], "attempt": 1}),
                    ("auth.login", "user", str(1 + i % 40), {}),
                ]
            )
        fields = {
            "seq": first + i,
            "at": format_time(start + timedelta(milliseconds=30 * i)),
            "actor": str(1 + i % 40),
            "action": action,
            "object_type": kind,
            "object_id": object_id or ids[about],
            "details": details,
            "prev_hash": prev,
        }
        prev = chain_hash(fields)
        rows.append(
            {
                **fields,
                "details": json.dumps(details, sort_keys=True, separators=(",", ":")),
                "hash": prev,
            }
        )
        if len(rows) == BATCH or i == total - 1:
            with engine.begin() as conn:
                conn.execute(insert(AuditEvent), rows)
            rows = []
    engine.dispose()
    return codes


def timed(settings: Settings, code: str, page: int) -> tuple[float, oversight.CaseAudit]:
    engine = make_engine(settings.sqlalchemy_url)
    auditor = User(id=0, username="bench", role="auditor", region=None)
    runs, view = [], None
    for _ in range(5):
        with Session(engine) as session:
            began = time.perf_counter()
            view = oversight.case_audit(session, auditor, code, page=page)
            runs.append(time.perf_counter() - began)
    engine.dispose()
    assert view is not None
    return statistics.median(runs), view


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--database-url", default="")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="triage-bench-case-") as folder:
        write_keyring(Path(folder) / "keyring.json", Keyring.generate())
        settings = Settings(instance_path=Path(folder), database_url=options.database_url)
        init_instance(settings)
        began = time.perf_counter()
        codes = fill(settings, options.events, options.cases)
        engine = "PostgreSQL" if options.database_url else "SQLite"
        if options.database_url:  # as autovacuum would have by the time anyone looks
            analysed = make_engine(settings.sqlalchemy_url)
            with analysed.begin() as conn:
                conn.execute(text("ANALYZE"))
            analysed.dispose()
        print(
            f"{engine}: {options.events} events about {options.cases} cases filled in "
            f"{time.perf_counter() - began:.1f} s"
        )
        for name, code in (
            ("opened first", codes[0]),
            ("opened halfway", codes[len(codes) // 2]),
            ("opened last", codes[-1]),
        ):
            seconds, view = timed(settings, code, 1)
            last, _ = timed(settings, code, view.timeline.pages)
            print(
                f"  case {name:15} {view.timeline.total:6} events, {view.timeline.pages:4} pages:"
                f"  first page {seconds * 1000:6.0f} ms, last page {last * 1000:6.0f} ms"
            )


if __name__ == "__main__":
    main()
