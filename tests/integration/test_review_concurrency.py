"""Claims under contention, on SQLite and on PostgreSQL: reviewers taking the next case at the same
moment, round after round, never get the same case, and two claims on one case never both win.

Each thread runs its own transaction per attempt, as concurrent requests would; a barrier lines
the threads up before every round so the attempts really overlap.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import select

from tests.conftest import make_user
from triage import audit
from triage.models import AuditEvent, Case, User
from triage.reports import new_case_code
from triage.review import claims
from triage.review.errors import ClaimConflict
from triage.review.rules import ReviewRules
from triage.vocab import Region, Role
from triage.web.deps import uow_of

THREADS = 3
ROUNDS = 30
RULES = ReviewRules()


def _open_cases(app: Flask, count: int) -> list[str]:
    """Open, triaged cases with distinct priorities (no reports: only claims are under test)."""
    now = datetime.now(UTC)
    levels = ("high", "medium", "standard")
    with app.app_context(), uow_of(app).begin() as session:
        made = [
            Case(
                code=new_case_code(),
                region=Region.KARAGANDA.value,
                risk_level=levels[n % 3],
                opened_at=now - timedelta(minutes=n),
                deadline_at=now + timedelta(hours=1 + n),
            )
            for n in range(count)
        ]
        session.add_all(made)
        session.flush()
        return [c.id for c in made]


def _run(threads: list[threading.Thread]) -> None:
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive(), "a thread hung"


def test_reviewers_taking_next_at_the_same_moment_never_share_a_case(app: Flask) -> None:
    reviewers = [
        make_user(app, f"taker{n}", Role.REVIEWER, Region.KARAGANDA).id for n in range(THREADS)
    ]
    available = THREADS * ROUNDS - 7  # the last rounds find the queue empty
    ids = set(_open_cases(app, available))
    barrier = threading.Barrier(THREADS)
    taken: list[tuple[int, str | None]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(user_id: int) -> None:
        try:
            for _ in range(ROUNDS):
                barrier.wait(timeout=60)
                with app.app_context(), uow_of(app).begin() as session:
                    user = session.get(User, user_id)
                    assert user is not None
                    case = claims.take_next(session, user, rules=RULES)
                    result = case.id if case else None
                with lock:  # recorded only once its transaction committed
                    taken.append((user_id, result))
        except BaseException as exc:  # surfaced below, with the thread's own traceback
            errors.append(exc)
            barrier.abort()

    _run([threading.Thread(target=work, args=(uid,)) for uid in reviewers])
    assert errors == []
    got = [case_id for _, case_id in taken if case_id is not None]
    assert len(taken) == THREADS * ROUNDS
    assert Counter(got).most_common(1)[0][1] == 1, "a case was handed to two reviewers"
    assert set(got) == ids, "every case was taken exactly once"
    with app.app_context(), uow_of(app).begin() as session:
        holders = {i: h for i, h in session.execute(select(Case.id, Case.claimed_by))}
        claimed_events = list(
            session.scalars(select(AuditEvent).where(AuditEvent.action == "case.claimed"))
        )
        verdict = audit.verify(session)
    assert verdict.ok, verdict
    expected = {case_id: user_id for user_id, case_id in taken if case_id is not None}
    assert {k: holders[k] for k in expected} == expected
    assert sorted(e.object_id for e in claimed_events) == sorted(got)


def test_two_claims_on_one_case_never_both_win(app: Flask) -> None:
    people = [make_user(app, f"claimer{n}", Role.REVIEWER, Region.KARAGANDA).id for n in range(2)]
    rounds = 15
    ids = _open_cases(app, rounds)
    barrier = threading.Barrier(2)
    outcomes: list[tuple[int, int, bool]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(user_id: int) -> None:
        try:
            for n, case_id in enumerate(ids):
                barrier.wait(timeout=60)
                won = True
                try:
                    with app.app_context(), uow_of(app).begin() as session:
                        user = session.get(User, user_id)
                        assert user is not None
                        claims.claim(session, user, case_id, rules=RULES)
                except ClaimConflict:
                    won = False
                with lock:
                    outcomes.append((n, user_id, won))
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    _run([threading.Thread(target=work, args=(uid,)) for uid in people])
    assert errors == []
    for n in range(rounds):
        winners = [uid for r, uid, won in outcomes if r == n and won]
        assert len(winners) == 1, f"round {n}: {winners}"
    with app.app_context(), uow_of(app).begin() as session:
        holders = {i: h for i, h in session.execute(select(Case.id, Case.claimed_by))}
    for n, case_id in enumerate(ids):
        winner = next(uid for r, uid, won in outcomes if r == n and won)
        assert holders[case_id] == winner


def test_two_supervisors_deciding_one_lowered_level_at_once_never_both_win(app: Flask) -> None:
    from tests.integration.test_review_services import (
        WEAPON_ONLY,
        claimed,
        make_case,
        user,
        version_of,
    )
    from triage.review import assessments
    from triage.review.errors import NotAwaitingApproval

    proposer = make_user(app, "sup.proposer", Role.SUPERVISOR, Region.KARAGANDA)
    deciders = [make_user(app, f"sup.{n}", Role.SUPERVISOR, Region.KARAGANDA) for n in range(2)]
    rounds = 8
    pending = []
    for _ in range(rounds):
        case_id = make_case(app)
        claimed(app, proposer, case_id, datetime.now(UTC))
        with app.app_context(), uow_of(app).begin() as session:
            lowered = assessments.record_assessment(
                session,
                user(session, proposer),
                case_id,
                version=version_of(session, case_id),
                answers=WEAPON_ONLY,
                level="medium",
                reason="The knife was on the table, never raised.",
                rules=RULES,
            )
            pending.append(lowered.id)

    wins: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    barrier = threading.Barrier(len(deciders))

    def decide(account, approve: bool) -> None:
        for assessment_id in pending:
            barrier.wait(timeout=30)
            try:
                with app.app_context(), uow_of(app).begin() as session:
                    assessments.decide_override(
                        session,
                        user(session, account),
                        assessment_id,
                        approve=approve,
                        reason=None if approve else "Too early to lower it.",
                        rules=RULES,
                    )
                wins[assessment_id] += 1
            except NotAwaitingApproval:
                refused[assessment_id] += 1

    _run(
        [
            threading.Thread(target=decide, args=(deciders[0], True)),
            threading.Thread(target=decide, args=(deciders[1], False)),
        ]
    )
    assert all(wins[a] == 1 for a in pending), wins
    assert all(refused[a] == 1 for a in pending), refused
    with app.app_context(), uow_of(app).read() as session:
        decided = [
            e
            for e in audit.iter_events(session)
            if e["action"] in {"assessment.override_approved", "assessment.override_rejected"}
        ]
        assert len(decided) == rounds
        assert audit.verify(session).ok
