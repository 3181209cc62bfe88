"""Benchmark: issuing documents and hand-overs through the real pages.

Makes a throwaway SQLite instance, one corroborated direct-report case in Karaganda with an
approved decision for each measure that has a document, and then issues each document ROUNDS
times through the app's page (gather → Jinja → WeasyPrint → seal → audit, in one transaction),
printing the median and the slowest time per kind and the PDF's size; then one hand-over with
consent (PDF + JSON). Nothing here is a target: the figures say what a reviewer waits for.

    .venv/bin/python bench/documents.py              # 9 rounds each
    .venv/bin/python bench/documents.py --rounds 25
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from triage import create_app
from triage.config import Settings
from triage.instance import init_instance
from triage.models import Decision, IssuedDocument, User
from triage.reports import file_report
from triage.review import claims, consent, decisions, triaging, verification
from triage.review.rules import ReviewRules
from triage.users import create_user
from triage.vocab import Region, Role, SourceKind
from triage.web.deps import uow_of

PASSWORD = "a long enough benchmark password"  # noqa: S105 (a throwaway instance)
PAYLOAD = {
    "reporter": "victim",
    "victim": {"name": "Айгерим Бенчмаркова", "iin": "900315400014", "phone": "77015550101"},
    "aggressor": {"name": "Болат Бенчмарков", "iin": "880101300017", "address": "Караганда"},
    "relationship": "spouse",
    "narrative": "Выдуманная история для замера: муж угрожал ножом. " * 20,
    "safe_contact": "звонить днём",
    "children_present": "yes",
}
MEASURES = (
    "protective_order",
    "special_requirements",
    "compulsory_assistance",
    "criminal_referral",
    "refer_support",
)


def setup(settings: Settings) -> tuple[Any, dict[str, str]]:
    init_instance(settings)
    app = create_app(settings)
    rules = ReviewRules()
    with app.app_context(), uow_of(app).begin() as session:
        for name, role in (("reviewer", Role.REVIEWER), ("supervisor", Role.SUPERVISOR)):
            create_user(
                session,
                username=name,
                password=PASSWORD,
                role=role.value,
                region=Region.KARAGANDA.value,
                actor="bench",
            )
    found: dict[str, str] = {}
    with app.app_context(), uow_of(app).begin() as session:
        reviewer = session.query(User).filter_by(username="reviewer").one()
        supervisor = session.query(User).filter_by(username="supervisor").one()
        report = file_report(
            session,
            source_kind=SourceKind.DIRECT,
            payload=PAYLOAD,
            actor="bench",
            region=Region.KARAGANDA,
            categories=("battery", "threat"),
        )
        triaging.triage_new_cases(session, rules=rules)
        case_id = str(report.case_id)
        claims.claim(session, reviewer, case_id, rules=rules)
        case_ = report.case
        assert case_ is not None
        verification.record_verification(
            session,
            reviewer,
            case_id,
            version=case_.version,
            outcome="corroborated",
            method="police_check",
            note="bench",
            rules=rules,
        )
        consent.record(
            session, reviewer, case_id, kind="support_service", answer="yes", method="phone"
        )
        for measure in MEASURES:
            extra = (
                {"ends_on": datetime.now(UTC).date() + timedelta(days=180)}
                if measure == "special_requirements"
                else {}
            )
            d = decisions.propose(
                session,
                reviewer,
                case_id,
                version=case_.version,
                measure=measure,
                rationale="Бенчмарк.",
                grounds=[g.code for g in rules.legal.for_measure(measure)][:2],
                rules=rules,
                **extra,
            )
            session.flush()
            if d.status == "awaiting_approval":
                decisions.approve(session, supervisor, d.id, version=d.version)
            found[measure] = d.id
        found["case"] = case_.code
    return app, found


def login(client: Any, username: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})


def token_of(client: Any, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            instance_path=Path(folder),
            argon2_time_cost=1,
            argon2_memory_kib=8,
            argon2_parallelism=1,
            secret_key="bench",  # noqa: S106 (a throwaway instance)
        )
        app, ids = setup(settings)
        client = app.test_client()
        login(client, "supervisor")
        print(f"{'document':<24} {'median ms':>10} {'max ms':>8} {'PDF KiB':>8}")
        for measure in MEASURES:
            path = f"/cases/decisions/{ids[measure]}/document"
            times = []
            for _ in range(args.rounds):
                token = token_of(client, path)
                t0 = time.perf_counter()
                done = client.post(path, data={"csrf_token": token, "language": "ru"})
                times.append((time.perf_counter() - t0) * 1000)
                assert done.status_code == 302, done.get_data(as_text=True)[:300]
            with app.app_context(), uow_of(app).read() as session:
                size = (
                    session.query(IssuedDocument)
                    .filter(IssuedDocument.decision_id == ids[measure])
                    .first()
                    .size  # type: ignore[union-attr]
                )
            print(
                f"{measure:<24} {statistics.median(times):>10.0f} {max(times):>8.0f} "
                f"{size / 1024:>8.1f}"
            )
        path = f"/cases/{ids['case']}/handover"
        times = []
        for _ in range(args.rounds):
            token = token_of(client, path)
            t0 = time.perf_counter()
            done = client.post(
                path,
                data={"csrf_token": token, "recipient": "kar-crisis-centre", "language": "kk"},
            )
            times.append((time.perf_counter() - t0) * 1000)
            assert done.status_code == 302, done.get_data(as_text=True)[:300]
        print(
            f"{'hand-over (PDF + JSON)':<24} {statistics.median(times):>10.0f} "
            f"{max(times):>8.0f} {'':>8}"
        )
        with app.app_context(), uow_of(app).read() as session:
            assert session.query(Decision).count() == len(MEASURES)


if __name__ == "__main__":
    main()
