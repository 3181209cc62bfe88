"""Risk assessments: the checklist scored, the level put in force with its deadline, and the
professional-judgement override. A lowering of *high* — the case's or the checklist's own,
computed or by judgement — waits for another supervisor; an incomplete assessment lowers nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .. import audit, scoring, sealed
from ..errors import N_
from ..models import Assessment, Case, OverrideStatus, User, new_id
from ..scoring import Checklist
from ..vocab import RiskLevel, Role
from .cases import (
    check_version,
    clean_text,
    flush_edit,
    get_case,
    require_claim,
    require_open,
    rowcount,
    scope_clause,
    utcnow,
)
from .errors import (
    ApproverNotSupervisor,
    AssessmentNotFound,
    InvalidAssessment,
    NotAwaitingApproval,
    ReasonRequired,
    SelfApprovalRefused,
)
from .rules import ReviewRules
from .triaging import set_level


def current_checklist() -> Checklist:
    """The newest checklist version shipped: new assessments are scored with it."""
    return scoring.load_checklist(max(scoring.available_versions()))


def record_assessment(
    session: Session,
    user: User,
    ref: str,
    *,
    version: int | None,
    answers: scoring.Answers,
    level: str | None = None,
    reason: str | None = None,
    checklist: Checklist | None = None,
    now: datetime | None = None,
    rules: ReviewRules | None = None,
) -> Assessment:
    """Score ``answers`` and put the level in force on the case (a re-assessment replaces the
    previous one). ``level`` other than the computed one is an override and needs ``reason``.

    What takes force is ``scoring.assessment_outcome``: a level below the case's high (its
    provisional level or one in force) or below the checklist's computed high keeps the case
    high, and its deadline, until a supervisor other than the assessor approves; an incomplete
    assessment (more unknown than answered items) lowers nothing: it is recorded, with the lower
    level it computed or its assessor chose, and the level in force stays as it was (nothing
    waits for a supervisor: not even one could let an incomplete assessment lower a level)."""
    now = now or utcnow()
    rules = rules or ReviewRules()
    checklist = checklist or current_checklist()
    found = get_case(session, user, ref)
    require_open(found)
    check_version(found, version)
    require_claim(session, user, found, now=now, rules=rules)
    scored = score_answers(checklist, answers, level, reason, user)
    outcome = scored.outcome(found)
    for earlier in session.scalars(
        select(Assessment).where(
            Assessment.case_id == found.id,
            Assessment.override_status == OverrideStatus.PENDING.value,
        )
    ):
        earlier.override_status = OverrideStatus.SUPERSEDED.value
    assessment = add_assessment(session, user, found, scored, outcome, now=now)
    put_in_force(found, scored, outcome, rules)
    flush_edit(session)
    audit_recorded(session, user, found, assessment, outcome)
    return assessment


@dataclass(frozen=True)
class Scored:
    """A checklist's answers scored, and the level its assessor chose."""

    checklist: Checklist
    result: scoring.Score
    override: scoring.Override

    def outcome(self, case_: Case) -> scoring.Outcome:
        """What takes force on the case as it stands (``scoring.assessment_outcome``)."""
        return scoring.assessment_outcome(
            RiskLevel(case_.risk_level),
            self.result.level,
            self.override.level,
            incomplete=self.result.incomplete,
        )


def score_answers(
    checklist: Checklist,
    answers: scoring.Answers,
    level: str | None,
    reason: str | None,
    user: User,
) -> Scored:
    """The answers scored and the assessor's level applied, or the refusal."""
    try:
        result = scoring.score(checklist, answers)
        override = scoring.apply_override(result, level or result.level, reason, by_role=user.role)
    except scoring.OverrideReasonRequired:
        raise ReasonRequired(
            N_("Changing the computed level is professional judgement: write down the reason.")
        ) from None
    except scoring.OverrideNotPermitted:
        raise InvalidAssessment(N_("Your role may not change a risk level.")) from None
    except scoring.ScoringError:
        raise InvalidAssessment(
            N_(
                "The answers do not fit the checklist: answer every item yes, no or unknown, and "
                "choose a level from the list."
            )
        ) from None
    return Scored(checklist, result, override)


def add_assessment(
    session: Session,
    user: User,
    case_: Case,
    scored: Scored,
    outcome: scoring.Outcome,
    *,
    now: datetime,
    flush: bool = True,
) -> Assessment:
    """The assessment, its answers sealed (``flush`` as ``sealed.seal``); pending when it
    waits for a supervisor."""
    result, override = scored.result, scored.override
    assessment = Assessment(
        id=new_id(),
        case_id=case_.id,
        checklist_version=result.version,
        checklist_revision=result.revision,
        score=result.total,
        unknown_count=result.unknown_count,
        incomplete=result.incomplete,
        prior_level=case_.risk_level,
        computed_level=result.level.value,
        level=override.level.value,
        overridden=override.changed,
        assessed_by=user.id,
        assessed_at=now,
        override_status=OverrideStatus.PENDING.value if outcome.needs_supervisor else None,
        payload_version=1,
    )
    session.add(assessment)
    items = {i.number: i.code for i in scored.checklist.items}
    sealed.seal(
        session,
        assessment,
        {
            "answers": {items[n]: a.value for n, a in result.answers},
            "forced_by": list(result.forced_by),
            "override_reason": override.reason,
        },
        flush=flush,
    )
    return assessment


def put_in_force(case_: Case, scored: Scored, outcome: scoring.Outcome, rules: ReviewRules) -> None:
    """The level that takes force, its deadline and the score, on the case."""
    # An incomplete assessment that kept a provisional level leaves it provisional: no
    # checklist settled it.
    set_level(case_, outcome.level, rules, provisional=case_.risk_provisional and outcome.kept)
    case_.risk_score = scored.result.total


def audit_recorded(
    session: Session,
    user: User,
    case_: Case,
    assessment: Assessment,
    outcome: scoring.Outcome,
) -> None:
    audit.append(
        session,
        actor=str(user.id),
        action="assessment.recorded",
        object_type="case",
        object_id=case_.id,
        details={
            "assessment_id": assessment.id,
            "checklist_version": assessment.checklist_version,
            "checklist_revision": assessment.checklist_revision,
            "score": assessment.score,
            "unknown": assessment.unknown_count,
            "incomplete": assessment.incomplete,
            "prior_level": assessment.prior_level,
            "computed_level": assessment.computed_level,
            "level": assessment.level,
            "in_force": outcome.level.value,
            "override_pending": outcome.needs_supervisor,
        },
    )


def pending_overrides(session: Session, supervisor: User) -> Sequence[tuple[Assessment, Case]]:
    """Lowerings of a high level in the supervisor's scope that wait for a decision: by
    professional judgement, or computed by a checklist below the case's high level."""
    rows = session.execute(
        select(Assessment, Case)
        .join(Case, Case.id == Assessment.case_id)
        .where(Assessment.override_status == OverrideStatus.PENDING.value, scope_clause(supervisor))
        .order_by(Assessment.assessed_at)
    ).all()
    return [(a, c) for a, c in rows]


def pending_for(session: Session, supervisor: User, assessment_id: str) -> tuple[Assessment, Case]:
    """A lowering of a high level in the supervisor's scope that waits for a decision, and its
    case; ``AssessmentNotFound`` otherwise."""
    row = session.execute(
        select(Assessment, Case)
        .join(Case, Case.id == Assessment.case_id)
        .where(
            Assessment.id == assessment_id,
            Assessment.override_status == OverrideStatus.PENDING.value,
            scope_clause(supervisor),
        )
    ).first()
    if row is None:
        raise AssessmentNotFound(N_("No lowering of a level waits for your decision here."))
    return row[0], row[1]


def check_decider(supervisor: User, assessment: Assessment) -> None:
    """A lowering waiting for a decision, decided by a supervisor other than its assessor."""
    if assessment.override_status != OverrideStatus.PENDING.value:
        raise NotAwaitingApproval(N_("This lowering of the level no longer waits for a decision."))
    if supervisor.role != Role.SUPERVISOR.value:
        raise ApproverNotSupervisor()
    if assessment.assessed_by == supervisor.id:
        raise SelfApprovalRefused(
            N_("Another supervisor must approve your own lowering of a level.")
        )


def decided_status(approve: bool) -> OverrideStatus:
    return OverrideStatus.APPROVED if approve else OverrideStatus.REJECTED


def settle(
    session: Session,
    supervisor: User,
    case_: Case,
    assessment: Assessment,
    *,
    approve: bool,
    reason: str,
    rules: ReviewRules,
) -> None:
    """After the decision is recorded on the assessment: an approved lowering takes force on
    an open case; a rejection's reason is sealed beside the answers (an audited read)."""
    if approve:
        if case_.status == "open":
            set_level(case_, RiskLevel(assessment.level), rules, provisional=False)
    else:
        payload = sealed.open_payload(
            session, assessment, actor=str(supervisor.id), purpose="assessment.override_decision"
        )
        sealed.seal(session, assessment, {**payload, "rejection_reason": reason})


def audit_override(
    session: Session, supervisor: User, case_: Case, assessment: Assessment, approve: bool
) -> None:
    audit.append(
        session,
        actor=str(supervisor.id),
        action="assessment.override_approved" if approve else "assessment.override_rejected",
        object_type="case",
        object_id=case_.id,
        details={"assessment_id": assessment.id, "level": assessment.level},
    )


def _pending(session: Session, supervisor: User, assessment_id: str) -> tuple[Assessment, Case]:
    assessment = session.get(Assessment, assessment_id)
    if assessment is None:
        raise AssessmentNotFound()
    found = get_case(session, supervisor, assessment.case_id)  # scope
    check_decider(supervisor, assessment)
    return assessment, found


def decide_override(
    session: Session,
    supervisor: User,
    assessment_id: str,
    *,
    approve: bool,
    reason: str | None = None,
    now: datetime | None = None,
    rules: ReviewRules | None = None,
) -> Assessment:
    """Approve (the lower level takes force) or reject (the case stays high, with a reason)."""
    now = now or utcnow()
    rules = rules or ReviewRules()
    assessment, found = _pending(session, supervisor, assessment_id)
    written = clean_text(reason, "reason", required=not approve)
    # Compare-and-set, so two supervisors deciding at the same moment cannot both win.
    decided = session.execute(
        update(Assessment)
        .where(
            Assessment.id == assessment.id,
            Assessment.override_status == OverrideStatus.PENDING.value,
        )
        .values(
            override_status=decided_status(approve).value,
            override_decided_by=supervisor.id,
            override_decided_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if rowcount(decided) != 1:
        raise NotAwaitingApproval(
            N_("Another supervisor decided this lowering of the level first.")
        )
    session.refresh(assessment)
    settle(session, supervisor, found, assessment, approve=approve, reason=written, rules=rules)
    flush_edit(session)
    audit_override(session, supervisor, found, assessment, approve)
    return assessment


__all__ = [
    "Scored",
    "add_assessment",
    "audit_override",
    "audit_recorded",
    "check_decider",
    "current_checklist",
    "decide_override",
    "decided_status",
    "pending_for",
    "pending_overrides",
    "put_in_force",
    "record_assessment",
    "score_answers",
    "settle",
]
