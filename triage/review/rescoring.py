"""Re-scoring stored assessments after a checklist version's rules were corrected (its
``revision`` rose), and saying on each case what that changed.

The answers are sealed, so a migration cannot do it: `triage init` runs it with the keyring
right after migrating (``instance.init_instance``). Each case's assessments are replayed in order
under the corrected rules, from the level its reports gave it: where the corrected rules put a
higher level in force than the case has, it is raised at once with its deadline; a lowering is
never applied here. An old assessment that lowered a high level by itself now waits for a
supervisor, as a new one would. Every re-score is audited and, where it changed something,
shown in the case's timeline (``AssessmentRescore``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from .. import audit, scoring, sealed
from ..models import Assessment, AssessmentRescore, Case, OverrideStatus, Report, new_id
from ..scoring import Checklist
from ..vocab import CaseStatus, RiskLevel
from .cases import utcnow
from .rules import ReviewRules
from .triaging import provisional_level, set_level

PURPOSE = "assessment.rescore"


@dataclass
class _Rescored:
    """One assessment's re-score, before its timeline row is written."""

    assessment: Assessment
    revision_before: int
    computed_before: RiskLevel
    lowering_waits: bool = False


def _installed() -> Mapping[int, Checklist]:
    found: dict[int, Checklist] = {}
    for version in scoring.available_versions():
        found[version] = scoring.load_checklist(version)
    return found


def _stale_clause(checklists: Mapping[int, Checklist]) -> ColumnElement[bool]:
    return or_(
        *(
            and_(
                Assessment.checklist_version == version,
                Assessment.checklist_revision < checklist.revision,
            )
            for version, checklist in checklists.items()
        )
    )


def _level_before(session: Session, case_: Case, first_assessed: datetime) -> RiskLevel:
    """The case's level before its first assessment: the highest provisional level of the
    reports it had by then (all its reports, if the clock says none had arrived)."""
    reports: Sequence[Report] = session.scalars(
        select(Report).where(Report.case_id == case_.id).order_by(Report.received_at)
    ).all()
    earlier = [r for r in reports if r.received_at <= first_assessed] or list(reports)
    level = RiskLevel.STANDARD
    for r in earlier:
        own = (
            RiskLevel(r.risk_level)
            if r.risk_level
            else provisional_level(r.signals or [], r.categories or [])
        )
        if own.rank > level.rank:
            level = own
    return level


def _rescore_one(
    session: Session, assessment: Assessment, checklist: Checklist
) -> _Rescored | None:
    """Score the assessment's sealed answers again; ``None`` if its answers were shredded."""
    before = _Rescored(
        assessment, assessment.checklist_revision, RiskLevel(assessment.computed_level)
    )
    assessment.checklist_revision = checklist.revision
    try:
        payload = sealed.open_payload(
            session, assessment, actor=audit.SYSTEM_ACTOR, purpose=PURPOSE
        )
    except sealed.PayloadShredded:
        return None
    result = scoring.score(checklist, payload.get("answers") or {})
    assessment.computed_level = result.level.value
    assessment.score = result.total
    assessment.unknown_count = result.unknown_count
    assessment.incomplete = result.incomplete
    if not assessment.overridden:
        assessment.level = result.level.value
    if result.incomplete and assessment.override_status == OverrideStatus.PENDING.value:
        # An incomplete assessment lowers nothing, so no supervisor could approve this lowering.
        assessment.override_status = None
    sealed.seal(session, assessment, {**payload, "forced_by": list(result.forced_by)})
    return before


def _replay(
    history: Sequence[Assessment], start: RiskLevel, open_case: bool
) -> tuple[RiskLevel, Assessment | None]:
    """The level the corrected rules put in force after ``history``, starting from ``start``,
    and the last assessment if its lowering of a high level must now wait for a supervisor.

    Each assessment's ``prior_level`` is filled in where it was not recorded."""
    level = start
    waits: Assessment | None = None
    for n, a in enumerate(history):
        if a.prior_level is None:
            a.prior_level = level.value
        computed, asked = RiskLevel(a.computed_level), RiskLevel(a.level)
        # A supervisor's approval let it lower the level; none helps an incomplete one.
        if a.override_status == OverrideStatus.APPROVED.value and not a.incomplete:
            level = asked
            continue
        if a.override_status == OverrideStatus.REJECTED.value:
            level = max(level, computed, key=lambda lv: lv.rank)
            continue
        outcome = scoring.assessment_outcome(level, computed, asked, incomplete=a.incomplete)
        level = outcome.level
        last = n == len(history) - 1
        if outcome.needs_supervisor and last and open_case and a.override_status is None:
            waits = a
    return level, waits


def rescore_assessments(
    session: Session, *, rules: ReviewRules | None = None, now: datetime | None = None
) -> int:
    """Re-score every assessment scored under an older revision of its checklist version's
    rules, and raise each open case's level where the corrected rules put a higher one in force.

    Idempotent: an assessment re-scored carries the current revision and is not read again.
    Returns how many assessments were re-scored. Assessments of a version that is not
    installed are left alone (nothing could score them)."""
    rules = rules or ReviewRules()
    now = now or utcnow()
    checklists = _installed()
    if not checklists:
        return 0
    stale = _stale_clause(checklists)
    case_ids = session.scalars(
        select(Assessment.case_id).where(stale).group_by(Assessment.case_id)
    ).all()
    query = select(Case).where(Case.id.in_(case_ids)).order_by(Case.opened_at, Case.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    done = 0
    for found in session.scalars(query.execution_options(populate_existing=True)).all():
        done += _rescore_case(session, found, checklists, stale, rules, now)
    return done


def _rescore_case(
    session: Session,
    found: Case,
    checklists: Mapping[int, Checklist],
    stale: ColumnElement[bool],
    rules: ReviewRules,
    now: datetime,
) -> int:
    history = list(
        session.scalars(
            select(Assessment)
            .where(Assessment.case_id == found.id)
            .order_by(Assessment.assessed_at, Assessment.id)
            .execution_options(populate_existing=True)
        )
    )
    stale_ids = set(
        session.scalars(select(Assessment.id).where(Assessment.case_id == found.id, stale))
    )
    if not stale_ids:  # another process re-scored it first
        return 0
    rescored: dict[str, _Rescored | None] = {}
    for a in history:
        if a.id in stale_ids:
            rescored[a.id] = _rescore_one(session, a, checklists[a.checklist_version])
    open_case = found.status == CaseStatus.OPEN.value
    start = _level_before(session, found, history[0].assessed_at)
    expected, waits = _replay(history, start, open_case)
    level_before, deadline_before = RiskLevel(found.risk_level), found.deadline_at
    raised = open_case and expected.rank > level_before.rank
    if raised:
        set_level(found, expected, rules, provisional=found.risk_provisional)
    waiting = rescored.get(waits.id) if waits is not None else None
    if waits is not None and waiting is not None:
        waits.override_status = OverrideStatus.PENDING.value
        waiting.lowering_waits = True
    session.flush()
    last = history[-1]
    for a in history:
        if a.id not in rescored:
            continue
        change = rescored[a.id]
        case_change = raised and a is last
        details: dict[str, audit.Scalar] = {
            "assessment_id": a.id,
            "checklist_version": a.checklist_version,
            "revision": a.checklist_revision,
        }
        if change is None:
            details["answers_shredded"] = True
        else:
            details.update(
                {
                    "revision_before": change.revision_before,
                    "computed_before": change.computed_before.value,
                    "computed_level": a.computed_level,
                    "incomplete": a.incomplete,
                    "lowering_waits": change.lowering_waits,
                }
            )
            if case_change:
                details.update({"level_before": level_before.value, "level": expected.value})
            if (
                case_change
                or change.lowering_waits
                or a.incomplete
                or change.computed_before.value != a.computed_level
            ):
                session.add(
                    AssessmentRescore(
                        id=new_id(),
                        case_id=found.id,
                        assessment_id=a.id,
                        rescored_at=now,
                        checklist_version=a.checklist_version,
                        revision_before=change.revision_before,
                        revision_after=a.checklist_revision,
                        computed_before=change.computed_before.value,
                        computed_after=a.computed_level,
                        incomplete=a.incomplete,
                        level_before=level_before.value if case_change else None,
                        level_after=expected.value if case_change else None,
                        deadline_before=deadline_before if case_change else None,
                        deadline_after=found.deadline_at if case_change else None,
                        lowering_waits=change.lowering_waits,
                    )
                )
        audit.append(
            session,
            actor=audit.SYSTEM_ACTOR,
            action="assessment.rescored",
            object_type="case",
            object_id=found.id,
            details=details,
        )
    session.flush()
    return len(rescored)


__all__ = ["PURPOSE", "rescore_assessments"]
