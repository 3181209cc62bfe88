"""Benchmark: what a run of `triage notify` costs before it sends anything, at scale.

Fills a throwaway instance with N open cases (10,000 by default: a fifth high-risk and past
their deadline, the rest not due), a measure in effect with its follow-up due on every tenth,
and a proposal waiting for approval for two days on every twentieth; then times, in the real
code, (1) finding what is due the first time, (2) raising those alerts with their deliveries, and
(3) finding what is due again once everything is raised — the cost every later run pays. No
message is sent (channels are configured but nothing is claimed).

    .venv/bin/python bench/notify.py                      # SQLite, 10,000 cases
    .venv/bin/python bench/notify.py --cases 100000
    .venv/bin/python bench/notify.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench

The PostgreSQL database named must exist and be empty; it is filled but not dropped.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from triage.config import Settings
from triage.instance import init_instance, open_instance
from triage.models import Case, Decision, User
from triage.notify.deliveries import raise_alerts
from triage.notify.due import due
from triage.notify.rules import NotifyConfig

BATCH = 5_000


def fill(settings: Settings, total: int) -> None:
    uow = open_instance(settings)
    now = datetime.now(UTC)
    with uow.begin() as session:
        session.execute(
            insert(User),
            [
                {
                    "username": f"bench.{role}.{i}",
                    "password_hash": "x",
                    "role": role,
                    "region": region,
                    "active": True,
                    "session_epoch": 0,
                    "created_at": now,
                }
                for i, (role, region) in enumerate(
                    [("supervisor", None), ("supervisor", "karaganda"), ("reviewer", "karaganda")]
                )
            ],
        )
    cases, decisions = [], []
    for i in range(total):
        case_id = str(uuid.UUID(int=i + 1))
        high = i % 5 == 0
        cases.append(
            {
                "id": case_id,
                "code": f"C-{i:04X}-BNCH"[:16],
                "region": "karaganda",
                "status": "open",
                "risk_level": "high" if high else "standard",
                "risk_provisional": False,
                "verification": "unverified",
                "victim_complaint": False,
                "opened_at": now - timedelta(hours=48),
                "deadline_at": now - timedelta(hours=24 if high else -120),
                "version": 1,
            }
        )
        if i % 10 == 1 or i % 20 == 3:
            follow = i % 10 == 1
            decisions.append(
                {
                    "id": str(uuid.UUID(int=10**9 + i)),
                    "case_id": case_id,
                    "measure": "protective_order",
                    "tier": "coercive",
                    "grounds": [],
                    "status": "in_effect" if follow else "awaiting_approval",
                    "follow_up_on": (now - timedelta(days=1)).date() if follow else None,
                    "proposed_by": 3,
                    "proposed_at": now - timedelta(days=2),
                    "against_victim_wishes": False,
                    "payload_version": 1,
                    "version": 1,
                }
            )
    with uow.begin() as session:
        for start in range(0, len(cases), BATCH):
            session.execute(insert(Case), cases[start : start + BATCH])
        for start in range(0, len(decisions), BATCH):
            session.execute(insert(Decision), decisions[start : start + BATCH])
    uow.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(instance_path=Path(folder), database_url=args.database_url)
        init_instance(settings)
        fill(settings, args.cases)
        config = NotifyConfig.from_settings(
            settings.with_overrides(
                {
                    "base_url": "https://triage.example.kz",
                    "webhook_url": "https://hooks.example.kz/triage",
                    "webhook_secret": "a benchmark secret of some length",
                }
            )
        )
        uow = open_instance(settings)
        engine = uow.engine.dialect.name
        print(f"{args.cases:,} open cases on {engine}")

        began = time.perf_counter()
        with uow.read() as session:
            found = due(session, now=datetime.now(UTC), rules=config.rules)
        first = time.perf_counter() - began
        print(f"  finding what is due, first run: {len(found):,} alerts in {first:.2f} s")

        began = time.perf_counter()
        with uow.begin() as session:
            raised = raise_alerts(session, found, config, now=datetime.now(UTC))
        took = time.perf_counter() - began
        print(
            f"  raising them: {raised.alerts:,} alerts, {raised.deliveries:,} deliveries "
            f"in {took:.2f} s ({raised.alerts / took:,.0f} alerts/s)"
        )

        began = time.perf_counter()
        with uow.read() as session:
            again = due(session, now=datetime.now(UTC), rules=config.rules)
        steady = time.perf_counter() - began
        print(f"  finding what is due once all is raised: {len(again)} in {steady:.2f} s")
        uow.engine.dispose()


if __name__ == "__main__":
    main()
