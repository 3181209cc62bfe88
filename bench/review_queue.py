"""Benchmark: the reviewer's queue, take-next and the case page at 10 k, 100 k and 1 M cases, on
SQLite and PostgreSQL, against the queue's old reads (the computed urgency order, the whole
scope counted) measured in the same run on the same data. The page's counts are the maintained
ones (``queue_count``, migration 0014).

    .venv/bin/python bench/review_queue.py                  # both engines, 10k and 100k cases
    .venv/bin/python bench/review_queue.py --engines sqlite --sizes 10000,100000,1000000
    .venv/bin/python bench/review_queue.py --profile        # pyinstrument of the queue page

The first ``--load`` reports go through the service layer (``intake.bulk.file_many``: screened,
sealed, indexed, their cases opened, triaged and audited); larger sizes are reached by copying
those cases' rows in SQL (new ids and codes, the same levels, deadlines, regions), because the
service files some hundred reports a second on this machine and a million would take hours.
The queue reads ``case_file`` for its order and counts and the reports of the 50 rows it shows;
copied cases have no reports, so the page is measured on real rows for its first page only when
the loaded cases are on it. The case page is timed on loaded cases (it decrypts: each opening is
an audit event, as in the app).

Each operation runs ``--runs`` times per round, in ``--rounds`` rounds alternating with the
baseline; the figures are medians over the rounds of each round's p50 and p95 (ms).
Targets (issue 13): queue page and take-next p95 < 50 ms at 1 M cases on both engines.

(Not ``bench/queue.py``: a script there would shadow the standard library's ``queue`` for every
script in this folder, which the logging package imports.)
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import and_, case, func, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._instance import Instance, instance, load, median, pct, timed, verdict
from triage.models import Case, User
from triage.review import assessments, case_queue, claims, decisions, followups
from triage.review.case_page import case_view
from triage.review.cases import scope_clause, utcnow
from triage.review.rules import ReviewRules
from triage.users import create_user
from triage.vocab import CaseStatus, Region, RiskLevel, Role

TARGET_MS = 50.0
#: Which copy a clone makes: its number goes into the copied codes, so copies never collide.
_COPIES = itertools.count(1)
REGION = Region.KARAGANDA.value
_COLUMNS = (
    "region, status, risk_level, risk_score, risk_provisional, verification, victim_complaint, "
    "opened_at, deadline_at, closed_at, outcome, version"
)


def clone(inst: Instance, loaded: int, target: int) -> None:
    """Copy the loaded cases' rows until there are ``target`` cases (through the triggers that
    keep the queue's counts, which are then checked against a count of the cases). Copies are
    unclaimed: the cases take-next claimed at a smaller size would otherwise come back a
    hundredfold, and a reviewer holds a handful of cases, not thousands."""
    new_id = (
        "lower(hex(randomblob(16)))" if inst.engine_name == "sqlite" else "gen_random_uuid()::text"
    )
    with inst.uow.engine.begin() as conn:
        have = int(conn.execute(text("SELECT count(*) FROM case_file")).scalar_one())
        while have < target:
            k = next(_COPIES)
            take = min(loaded, target - have)
            conn.execute(
                text(
                    f"INSERT INTO case_file (id, code, {_COLUMNS}) "  # noqa: S608 (fixed names)
                    f"SELECT {new_id}, substr(code, 1, 11) || '-' || :k, {_COLUMNS} "
                    "FROM case_file WHERE length(code) = 11 ORDER BY code LIMIT :take"
                ),
                {"k": k, "take": take},
            )
            have += take
        # The copies went through the triggers on ``case_file``: the queue's counts are theirs.
        counted = conn.execute(
            text(
                "SELECT status, coalesce(region, ''), queue_rank, count(*) FROM case_file"
                " GROUP BY 1, 2, 3"
            )
        ).all()
        kept = conn.execute(
            text(
                "SELECT status, region, queue_rank, sum(cases) FROM queue_count"
                " GROUP BY 1, 2, 3 HAVING sum(cases) <> 0"
            )
        ).all()
        assert sorted(map(tuple, counted)) == sorted(map(tuple, kept)), "queue counts differ"
    if inst.engine_name == "postgresql":
        # As after any bulk load: statistics for the planner, and the counts' table compacted
        # (one transaction of a million copies left as many dead pending rows in it, which
        # autovacuum would free but not give back: the queue would scan empty pages).
        with inst.uow.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM FULL queue_count"))
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with inst.uow.engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def people(inst: Instance) -> dict[str, int]:
    made = {}
    with inst.uow.begin() as session:
        for name, role, region in (
            ("bench.supervisor", Role.SUPERVISOR, None),
            ("bench.reviewer", Role.REVIEWER, REGION),
        ):
            user = create_user(
                session,
                username=name,
                password="bench-password-1234",  # noqa: S106 (a throwaway instance)
                role=role.value,
                region=region,
                actor="system",
            )
            made[name] = user.id
    return made


def old_reads(session: Session, user: User) -> None:
    """What the queue read before 0013: the order computed from the level, the whole scope
    counted, and the figures summed over every open case in scope."""
    rank = case(
        (Case.risk_level == RiskLevel.HIGH.value, 2),
        (Case.risk_level == RiskLevel.MEDIUM.value, 1),
        else_=0,
    )
    where = [scope_clause(user), Case.status == CaseStatus.OPEN.value]
    now = utcnow()
    session.scalar(select(func.count()).select_from(Case).where(*where))
    session.execute(
        select(Case)
        .where(*where)
        .order_by(
            rank.desc(), Case.deadline_at.is_(None), Case.deadline_at, Case.opened_at, Case.id
        )
        .limit(case_queue.PAGE_SIZE)
    ).all()
    active = and_(Case.claimed_by.is_not(None), Case.claim_expires_at > now)
    session.execute(
        select(
            func.count(),
            func.sum(case((Case.risk_level == RiskLevel.HIGH.value, 1), else_=0)),
            func.sum(case((Case.deadline_at < now, 1), else_=0)),
            func.sum(case((active, 0), else_=1)),
        ).where(*where)
    ).one()


def measure(inst: Instance, ids: dict[str, int], codes: list[str], args: Any) -> dict[str, Any]:
    uow = inst.uow
    rules = ReviewRules()
    rng = random.Random(3)

    def user(name: str, session: Session) -> User:
        found = session.get(User, ids[name])
        assert found is not None
        return found

    def page(name: str) -> None:
        with uow.read() as session:
            me = user(name, session)
            case_queue.queue(session, me)
            followups.due(session, me, rules=rules)
            if me.role == Role.SUPERVISOR.value:
                decisions.awaiting_approval(session, me)
                assessments.pending_overrides(session, me)

    def baseline(name: str) -> None:
        with uow.read() as session:
            old_reads(session, user(name, session))

    def take() -> None:
        with uow.begin() as session:
            claims.take_next(session, user("bench.reviewer", session), rules=rules)

    def open_case() -> None:
        with uow.begin() as session:
            case_view(session, user("bench.reviewer", session), rng.choice(codes))

    ops = {
        "queue page, supervisor (all regions)": lambda: page("bench.supervisor"),
        "  old reads, same scope (baseline)": lambda: baseline("bench.supervisor"),
        "queue page, reviewer (one region)": lambda: page("bench.reviewer"),
        "  old reads, same scope (baseline) ": lambda: baseline("bench.reviewer"),
        "take-next": take,
        "case page (decrypts, audited)": open_case,
    }
    rounds: dict[str, list[tuple[float, float]]] = {k: [] for k in ops}
    for fn in ops.values():  # warm the caches once
        fn()
    for _ in range(args.rounds):
        for label, fn in ops.items():
            samples = timed(fn, args.runs)
            rounds[label].append((pct(samples, 50), pct(samples, 95)))
    return {
        label: (median([r[0] for r in rs]), median([r[1] for r in rs]))
        for label, rs in rounds.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--load", type=int, default=10_000, help="reports filed by the service")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg-admin", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--profile", action="store_true", help="pyinstrument of the queue page")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    print(f"{'engine':10} {'cases':>9}  {'operation':40} {'p50 ms':>8} {'p95 ms':>8}  target")
    for engine in args.engines.split(","):
        with instance(engine, args.pg_admin) as inst:
            loaded = min(args.load, sizes[0])
            rate = load(inst.uow, loaded)
            print(f"{engine:10} {loaded:>9}  filed through the service: {rate:.0f} reports/s")
            ids = people(inst)
            with inst.uow.read() as session:
                codes = list(
                    session.scalars(select(Case.code).where(Case.region == REGION).limit(500))
                )
            for size in sizes:
                clone(inst, loaded, size)
                if args.profile:
                    from pyinstrument import Profiler

                    with inst.uow.read() as session:
                        me = session.get(User, ids["bench.supervisor"])
                        assert me is not None
                        profiler = Profiler()
                        profiler.start()
                        for _ in range(20):
                            case_queue.queue(session, me)
                        profiler.stop()
                    print(profiler.output_text(unicode=False, color=False))
                figures = measure(inst, ids, codes, args)
                report(engine, size, figures)


def report(engine: str, size: int, figures: dict[str, tuple[float, float]]) -> None:
    labels = list(figures)
    for n, label in enumerate(labels):
        p50, p95 = figures[label]
        target = ""
        if label.startswith("queue page") or label == "take-next":
            target = f"p95 < {TARGET_MS:.0f}: {verdict(p95 < TARGET_MS)}"
        print(f"{engine:10} {size:>9}  {label:40} {p50:8.1f} {p95:8.1f}  {target}")
        if "baseline" in label:
            page = figures[labels[n - 1]]
            print(
                f"{'':21}{'  -> page / old reads':40} {page[0] / p50:7.2f}x {page[1] / p95:7.2f}x"
            )


if __name__ == "__main__":
    main()
