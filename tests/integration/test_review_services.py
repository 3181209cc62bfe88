"""Review's service layer on a real database (both engines): the queue's order and overdue flag,
claims and their expiry, assessments and overrides, verification, decisions and four eyes,
follow-ups, closing, and region scope on every read and write."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import Account, make_user
from triage.errors import NotFound
from triage.models import AuditEvent, Case, Decision, Report, User
from triage.reports import file_report
from triage.review import (
    assessments,
    case_page,
    case_queue,
    cases,
    claims,
    decisions,
    followups,
    triaging,
    verification,
)
from triage.review.errors import (
    AlreadyVerified,
    ApproverNotSupervisor,
    CaseNotFound,
    ClaimConflict,
    ClaimRequired,
    InvalidReassignment,
    NotAwaitingApproval,
    PendingDecisions,
    ReasonRequired,
    SelfApprovalRefused,
    StaleEdit,
    UnverifiedCase,
)
from triage.review.rules import ReviewRules
from triage.vocab import DecisionStatus, Region, Role, SourceKind, Verification
from triage.web.deps import uow_of

RULES = ReviewRules()
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
#: A complete checklist (every item answered) that is high by the weapon rule alone: lowering
#: it is professional judgement that waits for a supervisor. (An incomplete one lowers nothing.)
WEAPON_ONLY = {**dict.fromkeys(range(1, 23), "no"), 3: "yes"}

MEDIA = {"outlet": "Example news", "headline": "Invented", "text": "Invented story, Marat Demo"}
DIRECT = {
    "reporter": "victim",
    "victim": {"name": "Aliya Testova", "phone": "+7 701 000 0000"},
    "aggressor": {"name": "Bolat Testov"},
    "narrative": "Invented narrative.",
    "may_contact": False,
    "consent_support_services": True,
}


@contextmanager
def tx(app: Flask) -> Iterator[Session]:
    with app.app_context(), uow_of(app).begin() as session:
        yield session


def user(session: Session, account: Account) -> User:
    found = session.get(User, account.id)
    assert found is not None
    return found


def make_case(
    app: Flask,
    *,
    region: Region | None = Region.KARAGANDA,
    source: SourceKind = SourceKind.MEDIA,
    payload: dict[str, Any] | None = None,
    categories: tuple[str, ...] = (),
    opened_at: datetime | None = None,
    level: str | None = None,
    verification_state: Verification = Verification.UNVERIFIED,
    victim_complaint: bool = False,
) -> str:
    """A case with one report, triaged; returns its id."""
    with tx(app) as session:
        report = file_report(
            session,
            source_kind=source,
            payload=payload or (DIRECT if source is SourceKind.DIRECT else MEDIA),
            actor="system",
            region=region,
            categories=categories,
            verification=verification_state,
            victim_complaint=victim_complaint,
        )
        found = session.get(Case, report.case_id)
        assert found is not None
        if opened_at is not None:
            found.opened_at = opened_at
        if level is not None:
            found.risk_level = level
        session.flush()
        triaging.triage_new_cases(session, rules=RULES)
        return found.id


def get(app: Flask, case_id: str) -> Case:
    with tx(app) as session:
        found = session.get(Case, case_id)
        assert found is not None
        session.expunge(found)
        return found


def version_of(session: Session, case_id: str) -> int:
    found = session.get(Case, case_id)
    assert found is not None
    return found.version


def actions(app: Flask, object_id: str | None = None) -> list[str]:
    with tx(app) as session:
        query = select(AuditEvent.action).order_by(AuditEvent.seq)
        if object_id:
            query = query.where(AuditEvent.object_id == object_id)
        return list(session.scalars(query))


@pytest.fixture
def people(app: Flask, accounts: dict[Role, Account]) -> dict[str, Account]:
    return {
        "reviewer": accounts[Role.REVIEWER],
        "supervisor": accounts[Role.SUPERVISOR],
        "supervisor2": make_user(app, "supervisor.two", Role.SUPERVISOR, Region.KARAGANDA),
        "reviewer2": make_user(app, "reviewer.two", Role.REVIEWER, Region.KARAGANDA),
        "outsider": make_user(app, "reviewer.shymkent", Role.REVIEWER, Region.SHYMKENT),
        "national": make_user(app, "supervisor.national", Role.SUPERVISOR, None),
    }


def claimed(app: Flask, account: Account, case_id: str, now: datetime = NOW) -> None:
    with tx(app) as session:
        claims.claim(session, user(session, account), case_id, now=now, rules=RULES)


# -- triage and the queue ----------------------------------------------------------------------


def test_new_cases_get_a_provisional_level_and_deadline_once(app, people):
    killing = make_case(app, categories=("killing",))
    stalking = make_case(app, categories=("persecution",))
    plain = make_case(app, categories=("battery",))
    for case_id, level, hours in (
        (killing, "high", 24),
        (stalking, "medium", 72),
        (plain, "standard", 168),
    ):
        found = get(app, case_id)
        assert found.risk_level == level and found.risk_provisional
        assert found.deadline_at == found.opened_at + timedelta(hours=hours)
    assert actions(app, killing).count("case.triaged") == 1
    with tx(app) as session:
        assert triaging.triage_new_cases(session, rules=RULES) == 0


def test_the_queue_follows_level_then_deadline_then_age_and_flags_overdue(app, people):
    old = NOW - timedelta(days=10)
    standard_old = make_case(app, opened_at=old)  # 7 days: overdue
    medium_new = make_case(app, categories=("children",), opened_at=NOW - timedelta(hours=1))
    medium_old = make_case(app, categories=("children",), opened_at=NOW - timedelta(hours=5))
    high = make_case(app, categories=("killing",), opened_at=NOW - timedelta(hours=2))
    with tx(app) as session:
        page = case_queue.queue(session, user(session, people["reviewer"]), now=NOW)
    assert [r.id for r in page.rows] == [high, medium_old, medium_new, standard_old]
    overdue = {r.id: r.overdue for r in page.rows}
    assert overdue == {high: False, medium_old: False, medium_new: False, standard_old: True}
    assert page.counts.open == 4 and page.counts.overdue == 1 and page.counts.high == 1
    # the deadline, not the opening time, orders cases of one level
    with tx(app) as session:
        found = session.get(Case, medium_new)
        assert found is not None
        found.deadline_at = NOW + timedelta(minutes=5)
    with tx(app) as session:
        page = case_queue.queue(session, user(session, people["reviewer"]), now=NOW)
        filtered = case_queue.queue(
            session,
            user(session, people["reviewer"]),
            case_queue.QueueFilter(overdue=True),
            now=NOW,
        )
    assert [r.id for r in page.rows][:3] == [high, medium_new, medium_old]
    assert [r.id for r in filtered.rows] == [standard_old]


def test_filters_by_source_level_state_and_mine(app, people):
    media = make_case(app)
    direct = make_case(
        app,
        source=SourceKind.DIRECT,
        verification_state=Verification.CORROBORATED,
        victim_complaint=True,
    )
    claimed(app, people["reviewer"], direct)
    with tx(app) as session:
        me = user(session, people["reviewer"])
        by_source = case_queue.queue(session, me, case_queue.QueueFilter(source="direct"), now=NOW)
        by_state = case_queue.queue(
            session, me, case_queue.QueueFilter(verification="unverified"), now=NOW
        )
        mine = case_queue.queue(session, me, case_queue.QueueFilter(mine=True), now=NOW)
        free = case_queue.queue(session, me, case_queue.QueueFilter(unclaimed=True), now=NOW)
    assert [r.id for r in by_source.rows] == [direct]
    assert [r.id for r in by_state.rows] == [media]
    assert [r.id for r in mine.rows] == [direct] and mine.rows[0].held_by_me
    assert [r.id for r in free.rows] == [media]
    assert mine.counts.mine == 1 and mine.counts.unclaimed == 1


def test_scope_hides_other_regions_everywhere(app, people):
    theirs = make_case(app, region=Region.SHYMKENT)
    ours = make_case(app)
    with tx(app) as session:
        reviewer = user(session, people["reviewer"])
        assert [r.id for r in case_queue.queue(session, reviewer, now=NOW).rows] == [ours]
        for attempt in (
            lambda: case_page.case_view(session, reviewer, theirs),
            lambda: claims.claim(session, reviewer, theirs, now=NOW, rules=RULES),
            lambda: cases.add_note(session, reviewer, theirs, "x", now=NOW, rules=RULES),
        ):
            with pytest.raises(CaseNotFound):
                attempt()
        national = user(session, people["national"])
        assert {r.id for r in case_queue.queue(session, national, now=NOW).rows} == {theirs, ours}
    assert "payload.decrypted" not in actions(app)


# -- claims ------------------------------------------------------------------------------------


def test_a_claim_is_exclusive_until_released_or_expired(app, people):
    case_id = make_case(app)
    claimed(app, people["reviewer"], case_id)
    with tx(app) as session, pytest.raises(ClaimConflict):
        claims.claim(session, user(session, people["reviewer2"]), case_id, now=NOW, rules=RULES)
    # after two hours without activity someone else may take it
    later = NOW + RULES.claim_for + timedelta(seconds=1)
    claimed(app, people["reviewer2"], case_id, now=later)
    assert get(app, case_id).claimed_by == people["reviewer2"].id
    with tx(app) as session, pytest.raises(ClaimRequired):
        cases.add_note(session, user(session, people["reviewer"]), case_id, "n", now=later)
    with tx(app) as session:
        claims.release(session, user(session, people["reviewer2"]), case_id, now=later)
    assert get(app, case_id).claimed_by is None
    events = actions(app, case_id)
    assert events.count("case.claimed") == 2 and events.count("case.released") == 1


def test_activity_renews_the_claim(app, people):
    case_id = make_case(app)
    claimed(app, people["reviewer"], case_id)
    later = NOW + timedelta(minutes=100)
    with tx(app) as session:
        cases.add_note(
            session, user(session, people["reviewer"]), case_id, "n", now=later, rules=RULES
        )
    assert get(app, case_id).claim_expires_at == later + RULES.claim_for


def test_take_next_claims_the_most_urgent_unclaimed_case_in_scope(app, people):
    make_case(app, region=Region.SHYMKENT, categories=("killing",))
    standard = make_case(app)
    high = make_case(app, categories=("killing",))
    with tx(app) as session:
        reviewer = user(session, people["reviewer"])
        first = claims.take_next(session, reviewer, now=NOW, rules=RULES)
        second = claims.take_next(session, reviewer, now=NOW, rules=RULES)
        third = claims.take_next(session, reviewer, now=NOW, rules=RULES)
    assert first is not None and first.id == high
    assert second is not None and second.id == standard
    assert third is None


def test_reassign_only_to_someone_whose_scope_covers_the_case(app, people):
    case_id = make_case(app)
    claimed(app, people["reviewer"], case_id)
    with tx(app) as session:
        sup = user(session, people["supervisor"])
        with pytest.raises(InvalidReassignment):
            claims.reassign(session, sup, case_id, people["outsider"].id, now=NOW, rules=RULES)
    with tx(app) as session:
        sup = user(session, people["supervisor"])
        claims.reassign(session, sup, case_id, people["reviewer2"].id, now=NOW, rules=RULES)
    assert get(app, case_id).claimed_by == people["reviewer2"].id
    assert "case.reassigned" in actions(app, case_id)


# -- assessments -------------------------------------------------------------------------------


def test_an_assessment_sets_level_and_deadline_and_ends_provisional(app, people):
    case_id = make_case(app, opened_at=NOW - timedelta(hours=1))
    claimed(app, people["reviewer"], case_id)
    with tx(app) as session:
        assessments.record_assessment(
            session,
            user(session, people["reviewer"]),
            case_id,
            version=version_of(session, case_id),
            answers={1: "yes", 2: "yes"},
            now=NOW,
            rules=RULES,
        )
    found = get(app, case_id)
    assert (found.risk_level, found.risk_score, found.risk_provisional) == ("high", 6, False)
    assert found.deadline_at == found.opened_at + timedelta(hours=24)


def test_lowering_high_waits_for_another_supervisor(app, people):
    case_id = make_case(app)
    claimed(app, people["supervisor"], case_id)
    with tx(app) as session:
        a = assessments.record_assessment(
            session,
            user(session, people["supervisor"]),
            case_id,
            version=version_of(session, case_id),
            answers=WEAPON_ONLY,
            level="medium",
            reason="The knife was a kitchen utensil on the table, not used.",
            now=NOW,
            rules=RULES,
        )
        assessment_id = a.id
    assert get(app, case_id).risk_level == "high"
    with tx(app) as session, pytest.raises(SelfApprovalRefused):
        assessments.decide_override(
            session, user(session, people["supervisor"]), assessment_id, approve=True
        )
    with tx(app) as session:
        assessments.decide_override(
            session, user(session, people["supervisor2"]), assessment_id, approve=True, rules=RULES
        )
    assert get(app, case_id).risk_level == "medium"
    assert "assessment.override_approved" in actions(app, case_id)


def test_an_override_needs_a_reason(app, people):
    case_id = make_case(app)
    claimed(app, people["reviewer"], case_id)
    with tx(app) as session, pytest.raises(ReasonRequired):
        assessments.record_assessment(
            session,
            user(session, people["reviewer"]),
            case_id,
            version=version_of(session, case_id),
            answers={},
            level="high",
            reason="  ",
            now=NOW,
        )


def test_a_stale_version_is_refused_and_changes_nothing(app, people):
    case_id = make_case(app)
    claimed(app, people["reviewer"], case_id)
    seen = get(app, case_id).version
    with tx(app) as session:
        assessments.record_assessment(
            session, user(session, people["reviewer"]), case_id, version=seen, answers={}, now=NOW
        )
    with tx(app) as session, pytest.raises(StaleEdit, match="Someone else changed this case"):
        verification.record_verification(
            session,
            user(session, people["reviewer"]),
            case_id,
            version=seen,
            outcome="corroborated",
            method="police_check",
            note="Police visited.",
            now=NOW,
        )
    assert get(app, case_id).verification == "unverified"


# -- verification and decisions ----------------------------------------------------------------


def _verify(app: Flask, account: Account, case_id: str, outcome: str = "corroborated") -> None:
    with tx(app) as session:
        verification.record_verification(
            session,
            user(session, account),
            case_id,
            version=version_of(session, case_id),
            outcome=outcome,
            method="police_check" if outcome == "corroborated" else None,
            note="A police check at the address confirmed it.",
            now=NOW,
            rules=RULES,
        )


def _propose(app: Flask, account: Account, case_id: str, measure: str, **extra: Any) -> Decision:
    with tx(app) as session:
        decision = decisions.propose(
            session,
            user(session, account),
            case_id,
            version=version_of(session, case_id),
            measure=measure,
            rationale="Invented rationale.",
            legal_basis=extra.pop("legal_basis", "CoAO Art. 54"),
            now=NOW,
            rules=RULES,
            **extra,
        )
        session.flush()
        session.expunge(decision)
        return decision


def test_a_coercive_measure_on_an_unverified_case_is_refused(app, people):
    case_id = make_case(app)
    claimed(app, people["reviewer"], case_id)
    with pytest.raises(UnverifiedCase):
        _propose(app, people["reviewer"], case_id, "protective_order")
    with pytest.raises(UnverifiedCase):
        _propose(app, people["reviewer"], case_id, "preventive_talk")
    supportive = _propose(app, people["reviewer"], case_id, "safety_plan")
    assert supportive.status == DecisionStatus.IN_EFFECT.value


def test_a_proposal_takes_effect_only_after_another_supervisor_approves(app, people):
    case_id = make_case(app)
    claimed(app, people["supervisor"], case_id)
    _verify(app, people["supervisor"], case_id)
    proposal = _propose(app, people["supervisor"], case_id, "protective_order")
    assert proposal.status == DecisionStatus.AWAITING_APPROVAL.value
    assert set(proposal.because) == {"coercive", "no_victim_complaint"}
    assert proposal.ends_on == NOW.date() + timedelta(days=30)
    assert proposal.follow_up_on == proposal.ends_on - timedelta(days=5)
    with tx(app) as session, pytest.raises(SelfApprovalRefused):
        decisions.approve(
            session, user(session, people["supervisor"]), proposal.id, version=proposal.version
        )
    with tx(app) as session, pytest.raises(ApproverNotSupervisor):
        decisions.approve(
            session, user(session, people["reviewer"]), proposal.id, version=proposal.version
        )
    with tx(app) as session:
        decisions.approve(
            session, user(session, people["supervisor2"]), proposal.id, version=proposal.version
        )
    with tx(app) as session:
        stored = session.get(Decision, proposal.id)
        assert stored is not None
        assert stored.status == DecisionStatus.IN_EFFECT.value
        assert stored.approved_by == people["supervisor2"].id
    with tx(app) as session, pytest.raises(NotAwaitingApproval):
        decisions.approve(
            session, user(session, people["supervisor2"]), proposal.id, version=proposal.version + 1
        )


def test_rejection_needs_a_reason_and_keeps_the_measure_out_of_effect(app, people):
    case_id = make_case(app)
    claimed(app, people["reviewer"], case_id)
    _verify(app, people["reviewer"], case_id)
    proposal = _propose(app, people["reviewer"], case_id, "preventive_talk")
    assert proposal.because == ("no_victim_complaint",)
    with tx(app) as session:
        decisions.reject(
            session,
            user(session, people["supervisor"]),
            proposal.id,
            version=proposal.version,
            reason="Talk to the victim first.",
        )
    with tx(app) as session:
        stored = session.get(Decision, proposal.id)
        assert stored is not None and stored.status == DecisionStatus.REJECTED.value
        view = case_page.case_view(session, user(session, people["reviewer"]), case_id)
        payloads = [e.payload for e in view.timeline if e.kind == "decision"]
    assert (
        payloads[0] is not None and payloads[0]["rejection_reason"] == "Talk to the victim first."
    )


def test_preventive_with_the_victims_complaint_needs_no_approval(app, people):
    case_id = make_case(
        app,
        source=SourceKind.DIRECT,
        verification_state=Verification.CORROBORATED,
        victim_complaint=True,
    )
    claimed(app, people["reviewer"], case_id)
    talk = _propose(app, people["reviewer"], case_id, "preventive_talk")
    assert talk.status == DecisionStatus.IN_EFFECT.value
    order = _propose(app, people["reviewer"], case_id, "protective_order")
    assert order.because == ("coercive",)


def test_a_measure_against_the_victims_recorded_wishes_needs_a_reason(app, people):
    case_id = make_case(
        app,
        source=SourceKind.DIRECT,
        verification_state=Verification.CORROBORATED,
        victim_complaint=True,
    )
    claimed(app, people["reviewer"], case_id)
    # the direct report records may_contact: false
    with pytest.raises(ReasonRequired):
        _propose(app, people["reviewer"], case_id, "contact_victim")
    done = _propose(
        app,
        people["reviewer"],
        case_id,
        "contact_victim",
        wishes_reason="Her life is in danger; contact through her sister.",
    )
    assert done.against_victim_wishes
    with pytest.raises(ReasonRequired):
        _propose(app, people["reviewer"], case_id, "safety_plan", against_victim_wishes=True)


def test_unfounded_closes_the_case_and_withdraws_waiting_proposals(app, people):
    case_id = make_case(app)
    claimed(app, people["reviewer"], case_id)
    with tx(app) as session:
        found = session.get(Case, case_id)
        assert found is not None
        found.verification = "corroborated"  # as if corroborated, then found wrong: a test shortcut
    proposal = _propose(app, people["reviewer"], case_id, "preventive_talk")
    with tx(app) as session:
        found = session.get(Case, case_id)
        assert found is not None
        found.verification = "unverified"
    _verify(app, people["reviewer"], case_id, "unfounded")
    found = get(app, case_id)
    assert (found.status, found.outcome, found.verification) == ("closed", "unfounded", "unfounded")
    assert found.claimed_by is None
    with tx(app) as session:
        stored = session.get(Decision, proposal.id)
        assert stored is not None and stored.status == DecisionStatus.WITHDRAWN.value
    with pytest.raises(Exception, match="closed"):
        _verify(app, people["reviewer"], case_id)


def test_verification_happens_once(app, people):
    case_id = make_case(app)
    claimed(app, people["reviewer"], case_id)
    _verify(app, people["reviewer"], case_id)
    with pytest.raises(AlreadyVerified):
        _verify(app, people["reviewer"], case_id)
    assert "report.verified" in actions(app)


def test_closing_waits_for_pending_proposals(app, people):
    case_id = make_case(app)
    claimed(app, people["reviewer"], case_id)
    _verify(app, people["reviewer"], case_id)
    proposal = _propose(app, people["reviewer"], case_id, "preventive_talk")
    with tx(app) as session, pytest.raises(PendingDecisions):
        cases.close_case(
            session,
            user(session, people["reviewer"]),
            case_id,
            version=version_of(session, case_id),
            outcome="measures_taken",
        )
    with tx(app) as session:
        decisions.withdraw(
            session, user(session, people["reviewer"]), proposal.id, version=proposal.version
        )
    with tx(app) as session:
        cases.close_case(
            session,
            user(session, people["reviewer"]),
            case_id,
            version=version_of(session, case_id),
            outcome="measures_taken",
            note="Done.",
        )
    assert get(app, case_id).status == "closed"


def test_follow_ups_surface_days_before_the_end(app, people):
    case_id = make_case(
        app,
        source=SourceKind.DIRECT,
        verification_state=Verification.CORROBORATED,
        victim_complaint=True,
    )
    claimed(app, people["reviewer"], case_id)
    plan = _propose(
        app,
        people["reviewer"],
        case_id,
        "safety_plan",
        starts_on=date(2026, 11, 25),
        ends_on=date(2026, 12, 20),
    )
    assert plan.follow_up_on == date(2026, 12, 15)
    with tx(app) as session:
        reviewer = user(session, people["reviewer"])
        assert followups.due(session, reviewer, today=date(2026, 12, 14), rules=RULES) == []
        due = followups.due(session, reviewer, today=date(2026, 12, 15), rules=RULES)
        assert [f.decision.id for f in due] == [plan.id] and due[0].days_left == 5
        outsider = user(session, people["outsider"])
        assert followups.due(session, outsider, today=date(2026, 12, 15), rules=RULES) == []
    with tx(app) as session:
        followups.record_follow_up(
            session, user(session, people["reviewer"]), plan.id, note="Renewed plan.", now=NOW
        )
    with tx(app) as session:
        reviewer = user(session, people["reviewer"])
        assert followups.due(session, reviewer, today=date(2026, 12, 15), rules=RULES) == []


def test_audit_details_never_hold_what_was_written(app, people):
    case_id = make_case(app)
    claimed(app, people["reviewer"], case_id)
    _verify(app, people["reviewer"], case_id)
    with tx(app) as session:
        cases.add_note(
            session, user(session, people["reviewer"]), case_id, "Secret note text", now=NOW
        )
        details = " ".join(session.scalars(select(AuditEvent.details)))
    assert "Secret note" not in details and "police check at the address" not in details


# -- decision dates, ending, wishes, the sealed legal basis -----------------------------------


def _corroborated_case(app: Flask, people: dict[str, Account], **kw: Any) -> str:
    case_id = make_case(app, verification_state=Verification.CORROBORATED, **kw)
    claimed(app, people["reviewer"], case_id)
    return case_id


def test_a_measure_with_an_end_date_needs_one_within_its_legal_term(app, people):
    from triage.review.errors import InvalidDecision

    case_id = _corroborated_case(app, people)
    reviewer = people["reviewer"]
    start = NOW.date()
    # The court sets special requirements: their end must be given, and is at most a year.
    with pytest.raises(InvalidDecision, match="end date"):
        _propose(app, reviewer, case_id, "special_requirements")
    with pytest.raises(InvalidDecision, match="longest term"):
        _propose(
            app, reviewer, case_id, "special_requirements", ends_on=start + timedelta(days=367)
        )
    court = _propose(
        app, reviewer, case_id, "special_requirements", ends_on=start + timedelta(days=180)
    )
    assert court.ends_on == start + timedelta(days=180)
    # A protective order defaults to its configured term and may not outlast it.
    with pytest.raises(InvalidDecision, match="longest term"):
        _propose(app, reviewer, case_id, "protective_order", ends_on=start + timedelta(days=31))
    order = _propose(app, reviewer, case_id, "protective_order")
    assert order.ends_on == start + timedelta(days=30)
    # An end is after the start, for every measure.
    with pytest.raises(InvalidDecision, match="after the start"):
        _propose(app, reviewer, case_id, "safety_plan", ends_on=start)
    with pytest.raises(InvalidDecision, match="after the start"):
        _propose(app, reviewer, case_id, "protective_order", ends_on=start - timedelta(days=1))


def test_start_and_follow_up_dates_are_bounded(app, people):
    from triage.review.errors import InvalidDecision

    case_id = _corroborated_case(app, people)
    reviewer = people["reviewer"]
    today = NOW.date()
    with pytest.raises(InvalidDecision, match="2000"):
        _propose(app, reviewer, case_id, "safety_plan", starts_on=date(1999, 12, 31))
    with pytest.raises(InvalidDecision, match="a year ahead"):
        _propose(app, reviewer, case_id, "safety_plan", starts_on=today + timedelta(days=366))
    with pytest.raises(InvalidDecision, match="follow-up date must not be before"):
        _propose(app, reviewer, case_id, "safety_plan", follow_up_on=today - timedelta(days=1))
    with pytest.raises(InvalidDecision, match="follow-up date must not be after"):
        _propose(
            app,
            reviewer,
            case_id,
            "protective_order",
            follow_up_on=today + timedelta(days=31),
        )
    with pytest.raises(InvalidDecision, match="too far ahead"):
        _propose(app, reviewer, case_id, "safety_plan", ends_on=today + timedelta(days=6 * 365))
    ok = _propose(
        app,
        reviewer,
        case_id,
        "protective_order",
        starts_on=today + timedelta(days=2),
        follow_up_on=today + timedelta(days=20),
    )
    assert (ok.starts_on, ok.ends_on, ok.follow_up_on) == (
        today + timedelta(days=2),
        today + timedelta(days=32),
        today + timedelta(days=20),
    )
    # Nothing of the refused proposals was stored.
    with tx(app) as session:
        assert session.scalars(select(Decision).where(Decision.case_id == case_id)).all() == [
            session.get(Decision, ok.id)
        ]


def test_a_measure_past_its_end_date_is_ended_on_read_without_a_job(app, people):
    case_id = _corroborated_case(app, people, victim_complaint=True)
    start = NOW.date()
    plan = _propose(
        app,
        people["reviewer"],
        case_id,
        "safety_plan",
        starts_on=start,
        ends_on=start + timedelta(days=10),
    )
    end = start + timedelta(days=10)
    assert plan.status == DecisionStatus.IN_EFFECT.value
    assert plan.status_on(end) == DecisionStatus.IN_EFFECT.value  # in force through its last day
    assert plan.status_on(end + timedelta(days=1)) == DecisionStatus.ENDED.value
    with tx(app) as session:
        reviewer = user(session, people["reviewer"])
        (before,) = followups.due(session, reviewer, today=end, rules=RULES)
        assert not before.ended
        (after,) = followups.due(session, reviewer, today=end + timedelta(days=3), rules=RULES)
        assert after.ended and after.days_left == -3
        stored = session.get(Decision, plan.id)
        assert stored is not None and stored.status == DecisionStatus.IN_EFFECT.value


def test_a_proposal_whose_end_has_passed_cannot_be_approved(app, people):
    case_id = _corroborated_case(app, people)
    order = _propose(app, people["reviewer"], case_id, "protective_order")
    with tx(app) as session, pytest.raises(NotAwaitingApproval, match="end date has passed"):
        decisions.approve(
            session,
            user(session, people["supervisor"]),
            order.id,
            version=order.version,
            now=NOW + timedelta(days=31),
        )


@pytest.mark.parametrize(
    ("reporter", "may_contact", "refused"),
    [
        ("victim", "no", True),
        ("neighbour", "no", True),
        ("victim", "unknown", False),
        ("victim", "yes", False),
        ("victim", None, False),
        # legacy booleans: False is her refusal only when she reported herself
        ("victim", False, True),
        ("neighbour", False, False),
        ("relative", True, False),
    ],
)
def test_only_a_recorded_no_counts_as_the_victims_refusal(
    app, people, reporter, may_contact, refused
):
    payload = {**DIRECT, "reporter": reporter}
    if may_contact is None:
        payload.pop("may_contact")
    else:
        payload["may_contact"] = may_contact
    case_id = make_case(
        app,
        source=SourceKind.DIRECT,
        payload=payload,
        verification_state=Verification.CORROBORATED,
        victim_complaint=True,
    )
    claimed(app, people["reviewer"], case_id)
    if refused:
        with pytest.raises(ReasonRequired):
            _propose(app, people["reviewer"], case_id, "contact_victim")
    else:
        done = _propose(app, people["reviewer"], case_id, "contact_victim")
        assert not done.against_victim_wishes


def test_the_legal_basis_is_sealed_beside_the_rationale(app, people):
    from triage import sealed

    case_id = _corroborated_case(app, people)
    order = _propose(app, people["reviewer"], case_id, "protective_order", legal_basis="Art. 54")
    assert "legal_basis" not in Decision.__table__.columns
    with tx(app) as session:
        stored = session.get(Decision, order.id)
        assert stored is not None
        payload = sealed.open_payload(session, stored, actor="test", purpose="test")
        assert payload["legal_basis"] == "Art. 54"
        assert payload["rationale"] == "Invented rationale."
        # A rejection keeps it.
        decisions.reject(
            session,
            user(session, people["supervisor"]),
            order.id,
            version=stored.version,
            reason="No.",
            now=NOW,
        )
        payload = sealed.open_payload(session, stored, actor="test", purpose="test")
        assert payload["legal_basis"] == "Art. 54" and payload["rejection_reason"] == "No."


# -- reassign, triage --------------------------------------------------------------------------


def test_reassign_is_a_compare_and_set_on_the_claim_the_supervisor_saw(app, people):
    case_id = make_case(app)
    seen = (None, None)  # the supervisor's page showed the case free
    claimed(app, people["reviewer"], case_id)  # … and then the reviewer claimed it
    with tx(app) as session:
        sup = user(session, people["supervisor"])
        with pytest.raises(ClaimConflict):
            claims.reassign(
                session, sup, case_id, people["reviewer2"].id, expected=seen, now=NOW, rules=RULES
            )
    assert get(app, case_id).claimed_by == people["reviewer"].id
    now_seen = (people["reviewer"].id, get(app, case_id).claim_expires_at)
    with tx(app) as session:
        sup = user(session, people["supervisor"])
        claims.reassign(
            session, sup, case_id, people["reviewer2"].id, expected=now_seen, now=NOW, rules=RULES
        )
    assert get(app, case_id).claimed_by == people["reviewer2"].id


def test_reassign_loses_to_a_concurrent_claim_between_load_and_update(app, people):
    """Without a seen state the CAS is on what the service loaded: a claim landing in between
    (simulated by changing the row behind the loaded object) wins."""
    from sqlalchemy import update

    case_id = make_case(app)
    with tx(app) as session:
        sup = user(session, people["supervisor"])
        found = cases.get_case(session, sup, case_id)  # loaded: free
        session.execute(
            update(Case)
            .where(Case.id == case_id)
            .values(claimed_by=people["reviewer"].id, claim_expires_at=NOW + timedelta(hours=2))
            .execution_options(synchronize_session=False)
        )
        assert found.claimed_by is None
        with pytest.raises(ClaimConflict):
            claims.reassign(session, sup, case_id, people["reviewer2"].id, now=NOW, rules=RULES)


def test_triage_case_sets_level_and_deadline_and_records_it(app, people):
    from triage.vocab import RiskLevel

    with tx(app) as session:
        report = file_report(
            session, source_kind=SourceKind.MEDIA, payload=MEDIA, actor="system", region=None
        )
        found = session.get(Case, report.case_id)
        assert found is not None and found.deadline_at is None
        triaging.triage_case(session, found, RiskLevel.MEDIUM, RULES, actor="intake")
        assert found.risk_level == "medium" and found.risk_provisional
        assert found.deadline_at == found.opened_at + RULES.deadlines[RiskLevel.MEDIUM]
        case_id = found.id
        assert triaging.triage_new_cases(session, rules=RULES) == 0
    assert actions(app, case_id).count("case.triaged") == 1


# -- a reviewer's hand in linking --------------------------------------------------------------


def file_about(
    app: Flask, phone: str, *, into: str | None = None, region: Region = Region.KARAGANDA
) -> tuple[str, str]:
    """A direct report indexed by a phone number, in case ``into`` or a new one: (case, report)."""
    from triage import normalise
    from triage.reports import IndexValue

    with tx(app) as session:
        target = session.get(Case, into) if into else None
        report = file_report(
            session,
            source_kind=SourceKind.DIRECT,
            payload={**DIRECT, "reporter": "neighbour"},
            actor="system",
            region=region,
            indexes=[IndexValue("phone", normalise.phone(phone))],
            case=target,
        )
        triaging.triage_new_cases(session, rules=RULES)
        return report.case_id, report.id


def test_a_reviewer_moves_a_report_into_a_matching_case(app, people):
    from triage.review import linking

    older, _ = file_about(app, "+7 701 111 2233")
    newer, first = file_about(app, "+7 701 999 0000")
    _, second = file_about(app, "+7 701 111 2233", into=newer)
    claimed(app, people["reviewer"], newer)
    older_code = get(app, older).code
    with tx(app) as session:
        reviewer = user(session, people["reviewer"])
        found = session.get(Case, newer)
        assert found is not None
        reports = session.scalars(select(Report).where(Report.case_id == newer))
        matches = linking.matches_for(session, reviewer, list(reports))
        assert [m.case_id for m in matches[second]] == [older] and matches[first] == []
        # Only a matching target; only with the case's current version.
        with pytest.raises(NotFound):
            linking.move_report(
                session, reviewer, newer, first, older, version=found.version, now=NOW, rules=RULES
            )
    with tx(app) as session, pytest.raises(StaleEdit):
        linking.move_report(
            session,
            user(session, people["reviewer"]),
            newer,
            second,
            older,
            version=0,
            now=NOW,
            rules=RULES,
        )
    with tx(app) as session:
        target = linking.move_report(
            session,
            user(session, people["reviewer"]),
            newer,
            second,
            older_code,
            version=version_of(session, newer),
            now=NOW,
            rules=RULES,
        )
        assert target.id == older
    source = get(app, newer)
    assert source.status == "open" and source.claimed_by == people["reviewer"].id
    assert "report.linked" in actions(app, second)


def test_moving_the_last_report_closes_the_held_case_as_a_duplicate(app, people):
    from triage.review import linking

    older, _ = file_about(app, "+7 701 222 3344")
    newer, report_id = file_about(app, "+7 701 222 3344")
    with tx(app) as session, pytest.raises(ClaimRequired):
        linking.move_report(
            session,
            user(session, people["reviewer"]),
            newer,
            report_id,
            older,
            version=version_of(session, newer),
            now=NOW,
            rules=RULES,
        )
    claimed(app, people["reviewer"], newer)
    with tx(app) as session:
        linking.move_report(
            session,
            user(session, people["reviewer"]),
            newer,
            report_id,
            older,
            version=version_of(session, newer),
            now=NOW,
            rules=RULES,
        )
    closed = get(app, newer)
    assert (closed.status, closed.outcome, closed.claimed_by) == ("closed", "duplicate", None)
    assert "case.closed" in actions(app, newer)


def test_the_last_report_of_a_case_with_recorded_work_is_not_moved(app, people):
    from triage.review import linking
    from triage.review.errors import LastReportWorkedOn

    older, _ = file_about(app, "+7 701 333 4455")
    newer, report_id = file_about(app, "+7 701 333 4455")
    claimed(app, people["reviewer"], newer)
    with tx(app) as session:
        cases.add_note(session, user(session, people["reviewer"]), newer, "Called.", now=NOW)
    with tx(app) as session, pytest.raises(LastReportWorkedOn, match="duplicate"):
        linking.move_report(
            session,
            user(session, people["reviewer"]),
            newer,
            report_id,
            older,
            version=version_of(session, newer),
            now=NOW,
            rules=RULES,
        )
    assert get(app, newer).status == "open"


def test_matches_and_moves_stay_within_the_reviewers_scope(app, people):
    from triage.review import linking

    elsewhere, _ = file_about(app, "+7 701 444 5566", region=Region.SHYMKENT)
    here, report_id = file_about(app, "+7 701 444 5566")
    claimed(app, people["reviewer"], here)
    with tx(app) as session:
        reviewer = user(session, people["reviewer"])
        report = session.get(Report, report_id)
        assert linking.matches_for(session, reviewer, [report]) == {report_id: []}
        with pytest.raises(CaseNotFound):
            linking.move_report(
                session,
                reviewer,
                here,
                report_id,
                elsewhere,
                version=version_of(session, here),
                now=NOW,
                rules=RULES,
            )
