"""Safe risk levels (issue 10): a checklist never lowers a high level by itself, an incomplete
assessment lowers nothing, and `triage init` re-scores old assessments under the corrected rules
and says on each case what that changed. On both engines, through the services and the pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import Account, make_user
from tests.integration.test_review_services import claimed, get, tx, user, version_of
from tests.integration.test_review_web import code_of, post, signed_in
from triage.config import Settings
from triage.instance import init_instance
from triage.intake import schema, service
from triage.models import Assessment, AssessmentRescore, AuditEvent, Case
from triage.review import assessments, rescoring
from triage.review.errors import SelfApprovalRefused
from triage.review.rules import ReviewRules
from triage.vocab import Region, Role

RULES = ReviewRules()
NOW = datetime.now(UTC)
POST_TEXT = "My neighbour says her husband threatens to kill her; he beat her again last night."

#: Issue 10's reviewer: "threat to kill: yes", "escalating: yes", the other 20 items unknown.
THREAT_AND_ESCALATION = {"threat_to_kill": "yes", "escalation": "yes"}
#: Every item answered; items 5, 6 and 7 yes: total 6, medium (DOMAIN.md's worked example).
MEDIUM_COMPLETE = {**dict.fromkeys(range(1, 23), "no"), 5: "yes", 6: "yes", 7: "yes"}


@pytest.fixture
def people(app: Flask, accounts: dict[Role, Account]) -> dict[str, Account]:
    return {
        "reviewer": accounts[Role.REVIEWER],
        "supervisor": accounts[Role.SUPERVISOR],
        "supervisor2": make_user(app, "supervisor.two", Role.SUPERVISOR, Region.KARAGANDA),
    }


def online_post(app: Flask, text: str = POST_TEXT) -> str:
    """An online post filed as feed import or a caseworker would; returns its case's id."""
    incoming = schema.parse(
        {
            "source_kind": "online",
            "platform": "telegram",
            "post_url": f"https://t.me/example/{abs(hash(text)) % 10**9}{NOW.microsecond}",
            "captured_at": (NOW - timedelta(hours=2)).isoformat(),
            "captured_text": text,
            "region": "karaganda",
        }
    )
    with tx(app) as session:
        filed = service.file(session, incoming, actor="system", rules=RULES)
        return filed.case.id


def assess(app: Flask, account: Account, case_id: str, answers: Any, **kw: Any) -> Assessment:
    with tx(app) as session:
        recorded = assessments.record_assessment(
            session,
            user(session, account),
            case_id,
            version=version_of(session, case_id),
            answers=answers,
            rules=RULES,
            **kw,
        )
        session.flush()
        session.expunge(recorded)
        return recorded


def events(app: Flask, action: str, case_id: str) -> list[dict[str, Any]]:
    with tx(app) as session:
        rows = session.scalars(
            select(AuditEvent.details)
            .where(AuditEvent.action == action, AuditEvent.object_id == case_id)
            .order_by(AuditEvent.seq)
        ).all()
        return [json.loads(d) for d in rows]


def test_an_online_post_threatening_to_kill_stays_high_after_the_issues_checklist(app, people):
    """The issue's exact walk, through the pages: provisional high with a 24-hour deadline; the
    reviewer answers items 1 and 5 yes and leaves 20 unknown. Under the corrected rules that is
    high by rule — and incomplete, so it could not have lowered anything anyway."""
    case_id = online_post(app)
    opened = get(app, case_id)
    assert (opened.risk_level, opened.risk_provisional) == ("high", True)
    assert opened.deadline_at == opened.opened_at + timedelta(hours=24)
    code = code_of(app, case_id)
    reviewer = signed_in(app, people["reviewer"])
    post(reviewer, f"/cases/{code}/claim")
    recorded = post(
        reviewer,
        f"/cases/{code}/assess",
        {"version": get(app, case_id).version, "item_1": "yes", "item_5": "yes"},
        follow_redirects=True,
    )
    page = recorded.get_data(as_text=True)
    assert recorded.status_code == 200
    assert "It is incomplete: more items unknown than answered." in page
    assert 'id="assessment-incomplete"' in page and "(20 of 22)" in page
    found = get(app, case_id)
    assert (found.risk_level, found.deadline_at) == ("high", opened.deadline_at)
    with tx(app) as session:
        stored = session.scalars(select(Assessment).where(Assessment.case_id == case_id)).one()
        assert (stored.score, stored.computed_level, stored.level) == (5, "high", "high")
        assert (stored.incomplete, stored.prior_level, stored.override_status) == (
            True,
            "high",
            None,
        )
        assert stored.checklist_revision == 2
    [event] = events(app, "assessment.recorded", case_id)
    assert event["incomplete"] is True and event["in_force"] == "high"


def test_an_incomplete_checklist_lowers_nothing_computed_or_chosen(app, people):
    case_id = online_post(app)
    deadline = get(app, case_id).deadline_at
    claimed(app, people["reviewer"], case_id, NOW)
    kept = assess(app, people["reviewer"], case_id, {"prior_police_calls": "yes"}, now=NOW)
    assert (kept.computed_level, kept.level, kept.incomplete, kept.kept_level) == (
        "standard",
        "standard",
        True,
        True,
    )
    assert kept.override_status is None  # nothing for a supervisor to approve: it lowers nothing
    found = get(app, case_id)
    assert (found.risk_level, found.deadline_at, found.risk_provisional) == ("high", deadline, True)
    chosen = assess(
        app,
        people["reviewer"],
        case_id,
        {"prior_police_calls": "yes"},
        level="medium",
        reason="Sounds like a one-off quarrel.",
        now=NOW,
    )
    assert (chosen.level, chosen.overridden, chosen.kept_level) == ("medium", True, True)
    assert chosen.override_status is None  # not even a supervisor could make it lower the level
    found = get(app, case_id)
    assert (found.risk_level, found.deadline_at) == ("high", deadline)
    with tx(app) as session:
        pending = assessments.pending_overrides(session, user(session, people["supervisor"]))
        assert pending == []
    [*_, event] = events(app, "assessment.recorded", case_id)
    assert (event["level"], event["in_force"], event["override_pending"]) == (
        "medium",
        "high",
        False,
    )


def test_an_incomplete_judgement_below_the_checklists_high_keeps_high(app, people):
    """Weapon yes and nothing else known computes high; "medium" by judgement on an incomplete
    assessment does not wait for a supervisor: it cannot lower the level at all."""
    case_id = online_post(app, "Her husband hit her during a quarrel, the neighbours say.")
    assert get(app, case_id).risk_level == "standard"
    claimed(app, people["reviewer"], case_id, NOW)
    chosen = assess(
        app, people["reviewer"], case_id, {3: "yes"}, level="medium", reason="A toy.", now=NOW
    )
    assert (chosen.computed_level, chosen.override_status, chosen.kept_level) == (
        "high",
        None,
        True,
    )
    assert get(app, case_id).risk_level == "high"


def test_an_incomplete_assessment_shows_the_kept_level_on_the_pages(app, people):
    case_id = online_post(app)
    code = code_of(app, case_id)
    reviewer = signed_in(app, people["reviewer"])
    post(reviewer, f"/cases/{code}/claim")
    form = {"version": get(app, case_id).version, "item_13": "yes", "item_14": "no"}
    kept = post(reviewer, f"/cases/{code}/assess", form, follow_redirects=True)
    page = kept.get_data(as_text=True)
    assert "so it lowers no level: the case keeps its level and its deadline." in page
    assert "The case keeps its High level and its deadline." in page
    chosen = post(
        reviewer,
        f"/cases/{code}/assess",
        {**form, "version": get(app, case_id).version, "level": "medium", "reason": "Calm now."},
        follow_redirects=True,
    )
    page = chosen.get_data(as_text=True)
    assert "asked for Medium, but an incomplete assessment lowers no level." in page
    assert get(app, case_id).risk_level == "high"


def test_a_complete_checklist_below_a_provisional_high_waits_for_a_supervisor(app, people):
    """Items 5, 6, 7 yes and the rest no computes medium; the case stays high, with its 24-hour
    deadline, until a supervisor other than the assessor approves — then it is medium (72 h)."""
    case_id = online_post(app)
    opened = get(app, case_id)
    claimed(app, people["supervisor"], case_id, NOW)
    lowered = assess(app, people["supervisor"], case_id, MEDIUM_COMPLETE, now=NOW)
    assert (lowered.computed_level, lowered.level, lowered.overridden) == (
        "medium",
        "medium",
        False,
    )
    assert (lowered.override_status, lowered.incomplete) == ("pending", False)
    held = get(app, case_id)
    assert (held.risk_level, held.deadline_at) == ("high", opened.opened_at + timedelta(hours=24))

    approvals = signed_in(app, people["supervisor2"]).get("/cases/approvals")
    listing = approvals.get_data(as_text=True)
    assert code_of(app, case_id) in listing
    assert "own level, below the case" in listing
    case_page = signed_in(app, people["supervisor2"]).get(f"/cases/{code_of(app, case_id)}")
    assert "a checklist does not lower a high level by itself" in case_page.get_data(as_text=True)

    with tx(app) as session, pytest.raises(SelfApprovalRefused):
        assessments.decide_override(
            session, user(session, people["supervisor"]), lowered.id, approve=True, rules=RULES
        )
    assert get(app, case_id).risk_level == "high"
    with tx(app) as session:
        assessments.decide_override(
            session, user(session, people["supervisor2"]), lowered.id, approve=True, rules=RULES
        )
    approved = get(app, case_id)
    assert (approved.risk_level, approved.deadline_at) == (
        "medium",
        opened.opened_at + timedelta(hours=72),
    )


def test_a_rejected_computed_lowering_keeps_the_case_high(app, people):
    case_id = online_post(app)
    claimed(app, people["reviewer"], case_id, NOW)
    lowered = assess(app, people["reviewer"], case_id, MEDIUM_COMPLETE, now=NOW)
    with tx(app) as session:
        assessments.decide_override(
            session,
            user(session, people["supervisor"]),
            lowered.id,
            approve=False,
            reason="The threat was repeated yesterday.",
            rules=RULES,
        )
    assert get(app, case_id).risk_level == "high"
    page = signed_in(app, people["supervisor"]).get(f"/cases/{code_of(app, case_id)}")
    assert "A supervisor rejected the lower level; the case stays high." in page.get_data(
        as_text=True
    )


def test_lowering_medium_to_standard_and_raising_take_effect_at_once(app, people):
    case_id = online_post(app, "Her ex-husband keeps following her and stalks her at work.")
    assert get(app, case_id).risk_level == "medium"
    claimed(app, people["reviewer"], case_id, NOW)
    standard = assess(app, people["reviewer"], case_id, dict.fromkeys(range(1, 23), "no"), now=NOW)
    assert standard.override_status is None
    assert get(app, case_id).risk_level == "standard"
    raised = assess(app, people["reviewer"], case_id, {1: "yes", 8: "yes"}, now=NOW)
    assert (raised.level, raised.incomplete) == ("high", True)  # incomplete still raises
    found = get(app, case_id)
    assert (found.risk_level, found.deadline_at) == ("high", found.opened_at + timedelta(hours=24))


# -- re-scoring under the corrected rules --------------------------------------------------------


def as_old_rules_left_it(
    app: Flask,
    assessment_id: str,
    *,
    computed: str,
    case_level: str,
    level: str | None = None,
    waits: bool = False,
) -> None:
    """Put an assessment and its case back as revision 1 of the rules left them: the checklist's
    own level put in force whatever the case's level was, incompleteness not recorded."""
    with tx(app) as session:
        a = session.get(Assessment, assessment_id)
        assert a is not None
        a.checklist_revision = 1
        a.computed_level = computed
        a.level = level or computed
        a.overridden = a.level != computed
        a.incomplete = False
        a.prior_level = None
        a.override_status = "pending" if waits else None
        found = session.get(Case, a.case_id)
        assert found is not None
        found.risk_level = case_level
        found.risk_provisional = False
        found.deadline_at = found.opened_at + RULES.deadlines[found.risk_level]  # type: ignore[index]


def rescore(app: Flask) -> int:
    with tx(app) as session:
        return rescoring.rescore_assessments(session, rules=RULES, now=NOW)


def test_the_rescore_raises_the_issues_case_back_to_high_and_says_so(app, people):
    case_id = online_post(app)
    claimed(app, people["reviewer"], case_id, NOW)
    old = assess(app, people["reviewer"], case_id, THREAT_AND_ESCALATION, now=NOW)
    as_old_rules_left_it(app, old.id, computed="standard", case_level="standard")
    lowered = get(app, case_id)
    assert lowered.deadline_at == lowered.opened_at + timedelta(days=7)

    assert rescore(app) == 1
    found = get(app, case_id)
    assert (found.risk_level, found.deadline_at) == ("high", found.opened_at + timedelta(hours=24))
    with tx(app) as session:
        a = session.get(Assessment, old.id)
        assert a is not None
        assert (a.computed_level, a.level, a.incomplete, a.checklist_revision) == (
            "high",
            "high",
            True,
            2,
        )
        [row] = session.scalars(select(AssessmentRescore)).all()
        assert (row.computed_before, row.computed_after, row.level_before, row.level_after) == (
            "standard",
            "high",
            "standard",
            "high",
        )
        assert row.deadline_before == found.opened_at + timedelta(days=7)
        assert row.deadline_after == found.deadline_at
    [event] = events(app, "assessment.rescored", case_id)
    assert event == {
        "assessment_id": old.id,
        "checklist_version": 1,
        "revision": 2,
        "revision_before": 1,
        "computed_before": "standard",
        "computed_level": "high",
        "incomplete": True,
        "lowering_waits": False,
        "level_before": "standard",
        "level": "high",
    }
    read = [d["purpose"] for d in events(app, "payload.decrypted", old.id)]
    assert read.count(rescoring.PURPOSE) == 1  # the sealed answers were read once, audited

    page = signed_in(app, people["reviewer"]).get(f"/cases/{code_of(app, case_id)}")
    text = page.get_data(as_text=True)
    assert "Level re-scored under the corrected rules: Standard → High." in text
    assert "Deadline:" in text and "The assessment is incomplete, so it lowers no level." in text

    assert rescore(app) == 0  # idempotent
    assert len(events(app, "assessment.rescored", case_id)) == 1


def test_an_old_complete_lowering_of_a_provisional_high_now_waits_for_a_supervisor(app, people):
    case_id = online_post(app)
    claimed(app, people["reviewer"], case_id, NOW)
    old = assess(app, people["reviewer"], case_id, MEDIUM_COMPLETE, now=NOW)
    as_old_rules_left_it(app, old.id, computed="medium", case_level="medium")
    assert rescore(app) == 1
    found = get(app, case_id)
    assert (found.risk_level, found.deadline_at) == ("high", found.opened_at + timedelta(hours=24))
    with tx(app) as session:
        a = session.get(Assessment, old.id)
        assert a is not None
        assert (a.computed_level, a.override_status, a.prior_level) == ("medium", "pending", "high")
        [row] = session.scalars(select(AssessmentRescore)).all()
        assert (row.lowering_waits, row.level_before, row.level_after) == (True, "medium", "high")
        waiting = assessments.pending_overrides(session, user(session, people["supervisor"]))
        assert [w.id for w, _ in waiting] == [old.id]
    page = signed_in(app, people["supervisor"]).get(f"/cases/{code_of(app, case_id)}")
    assert "that lowering now waits for a supervisor" in page.get_data(as_text=True)
    with tx(app) as session:
        assessments.decide_override(
            session, user(session, people["supervisor"]), old.id, approve=True, rules=RULES
        )
    assert get(app, case_id).risk_level == "medium"


def test_an_old_incomplete_lowering_is_undone_and_nothing_waits(app, people):
    case_id = online_post(app)
    claimed(app, people["reviewer"], case_id, NOW)
    old = assess(app, people["reviewer"], case_id, {13: "yes"}, now=NOW)
    as_old_rules_left_it(app, old.id, computed="standard", case_level="standard")
    assert rescore(app) == 1
    assert get(app, case_id).risk_level == "high"
    with tx(app) as session:
        a = session.get(Assessment, old.id)
        assert a is not None
        assert (a.incomplete, a.override_status, a.kept_level) == (True, None, True)


def test_an_old_incomplete_lowering_waiting_for_a_supervisor_no_longer_waits(app, people):
    """Revision 1 let an incomplete assessment's judgement lower a computed high once approved;
    under the corrected rules nothing could approve it, so it leaves the Approvals page."""
    case_id = online_post(app)
    claimed(app, people["reviewer"], case_id, NOW)
    old = assess(app, people["reviewer"], case_id, {3: "yes"}, now=NOW)
    as_old_rules_left_it(
        app, old.id, computed="high", level="medium", case_level="high", waits=True
    )
    with tx(app) as session:
        waiting = assessments.pending_overrides(session, user(session, people["supervisor"]))
        assert [w.id for w, _ in waiting] == [old.id]
    assert rescore(app) == 1
    with tx(app) as session:
        assert assessments.pending_overrides(session, user(session, people["supervisor"])) == []
        a = session.get(Assessment, old.id)
        assert a is not None
        assert (a.incomplete, a.override_status, a.level, a.kept_level) == (
            True,
            None,
            "medium",
            True,
        )
    assert get(app, case_id).risk_level == "high"


def test_an_old_approved_incomplete_lowering_is_undone(app, people):
    case_id = online_post(app)
    claimed(app, people["reviewer"], case_id, NOW)
    old = assess(app, people["reviewer"], case_id, {3: "yes"}, now=NOW)
    as_old_rules_left_it(app, old.id, computed="high", level="medium", case_level="medium")
    with tx(app) as session:
        session.get(Assessment, old.id).override_status = "approved"  # type: ignore[union-attr]
    assert rescore(app) == 1
    found = get(app, case_id)
    assert (found.risk_level, found.deadline_at) == ("high", found.opened_at + timedelta(hours=24))
    [event] = events(app, "assessment.rescored", case_id)
    assert (event["level_before"], event["level"], event["incomplete"]) == ("medium", "high", True)


def test_a_rescore_never_lowers_a_level(app, people):
    """The corrected rules would leave this case at standard; someone put it at high since.
    A re-score raises, never lowers: the case keeps high and nothing shows in its timeline."""
    case_id = online_post(app, "Her husband hit her during a quarrel, the neighbours say.")
    claimed(app, people["reviewer"], case_id, NOW)
    old = assess(app, people["reviewer"], case_id, dict.fromkeys(range(1, 23), "no"), now=NOW)
    as_old_rules_left_it(app, old.id, computed="standard", case_level="high")
    assert rescore(app) == 1
    assert get(app, case_id).risk_level == "high"
    with tx(app) as session:
        assert session.scalars(select(AssessmentRescore)).all() == []
    [event] = events(app, "assessment.rescored", case_id)
    assert "level" not in event and event["computed_level"] == "standard"


def test_triage_init_re_scores_old_assessments(app, people, settings: Settings):
    case_id = online_post(app)
    claimed(app, people["reviewer"], case_id, NOW)
    old = assess(app, people["reviewer"], case_id, THREAT_AND_ESCALATION, now=NOW)
    as_old_rules_left_it(app, old.id, computed="standard", case_level="standard")
    init_instance(settings)
    assert get(app, case_id).risk_level == "high"
    init_instance(settings)
    assert len(events(app, "assessment.rescored", case_id)) == 1


def test_a_shredded_assessment_is_marked_and_left_alone(app, people):
    case_id = online_post(app)
    claimed(app, people["reviewer"], case_id, NOW)
    old = assess(app, people["reviewer"], case_id, THREAT_AND_ESCALATION, now=NOW)
    as_old_rules_left_it(app, old.id, computed="standard", case_level="standard")
    with tx(app) as session:
        a = session.get(Assessment, old.id)
        assert a is not None
        a.payload = None
    assert rescore(app) == 1
    [event] = events(app, "assessment.rescored", case_id)
    assert event["answers_shredded"] is True
    assert rescore(app) == 0
