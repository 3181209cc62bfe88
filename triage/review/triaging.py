"""Triage of a case: its provisional level from the reports' screening signals and categories,
the response deadline that goes with the level, and the ``case.triaged`` event."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit
from ..models import (
    Case,
    Report,
)
from ..scoring import provisional_level_from_signals, response_deadline
from ..vocab import (
    CaseStatus,
    Region,
    RiskLevel,
    Verification,
)
from .rules import ReviewRules

_CATEGORY_SIGNALS = {
    "killing": "killing",
    "serious_harm": "injury",
    "minor_harm": "injury",
    "children": "children",
    "persecution": "stalking",
}


def set_level(case_: Case, level: RiskLevel, rules: ReviewRules, *, provisional: bool) -> None:
    """Put ``level`` in force and move the response deadline with it (counted from opening)."""
    case_.risk_level = level.value
    case_.risk_provisional = provisional
    case_.deadline_at = response_deadline(level, case_.opened_at, rules.deadlines)


# -- triage of new cases -----------------------------------------------------------------------


def provisional_level(signals: Iterable[str], categories: Iterable[str] = ()) -> RiskLevel:
    """The provisional level from screening signals and from incident categories that stand for
    them (a killing is a high signal, a stalking category a medium one, …)."""
    kinds = set(signals) | {_CATEGORY_SIGNALS.get(c, c) for c in categories}
    return provisional_level_from_signals(sorted(kinds))


def triage_case(
    session: Session, case_: Case, level: RiskLevel, rules: ReviewRules, *, actor: str
) -> None:
    """Put ``level`` in force on ``case_`` with its response deadline (``set_level``; the case
    stays provisional as long as no checklist was scored) and record ``case.triaged``.

    The one place a case's provisional triage happens: intake calls it when a report is filed or
    linked, ``triage_new_cases`` for cases opened any other way. The caller makes sure nobody
    triages the same case at once (its transaction holds the case)."""
    set_level(case_, level, rules, provisional=case_.risk_provisional)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="case.triaged",
        object_type="case",
        object_id=case_.id,
        details={"level": level.value, "provisional": case_.risk_provisional},
    )


def raise_case(
    session: Session,
    case: Case,
    provisional: RiskLevel,
    verification: Verification,
    victim_complaint: bool,
    region: Region | None,
    rules: ReviewRules,
    *,
    actor: str,
) -> None:
    """A new report can make its case more urgent, corroborated or complained of; never less.

    While the case has no assessment its level is provisional: the new report's level raises it,
    and the response deadline (configured in review's rules) moves with it.
    """
    raise_level = RiskLevel(provisional).rank > RiskLevel(case.risk_level).rank
    if case.risk_provisional and (case.deadline_at is None or raise_level):
        level = provisional if raise_level else RiskLevel(case.risk_level)
        triage_case(session, case, level, rules, actor=actor)
    if (
        verification == Verification.CORROBORATED
        and case.verification == Verification.UNVERIFIED.value
    ):
        case.verification = verification.value
    if victim_complaint:
        case.victim_complaint = True
    if case.region is None and region is not None:
        case.region = region.value


def triage_new_cases(
    session: Session, *, now: datetime | None = None, rules: ReviewRules | None = None
) -> int:
    """Give every open case that has no deadline yet its provisional level and deadline.

    Intake triages the cases it opens as it files them; this is the fallback for cases opened
    outside intake (imports, demo data, older rows). It is idempotent and safe to run from
    several processes at once: on PostgreSQL the cases are locked with ``FOR UPDATE SKIP
    LOCKED`` (a case another process is triaging is left to it, and a case it finished no longer
    matches), and on SQLite the transaction holds the write lock from ``BEGIN IMMEDIATE``.
    """
    rules = rules or ReviewRules()
    query = select(Case).where(Case.status == CaseStatus.OPEN.value, Case.deadline_at.is_(None))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    pending = session.scalars(
        query.order_by(Case.opened_at, Case.id).execution_options(populate_existing=True)
    ).all()
    done = 0
    for found in pending:
        if found.deadline_at is not None:
            continue
        reports = session.scalars(select(Report).where(Report.case_id == found.id)).all()
        signals = [s for r in reports for s in (r.signals or [])]
        categories = [c for r in reports for c in (r.categories or [])]
        level = provisional_level(signals, categories) if found.risk_provisional else None
        level = level or RiskLevel(found.risk_level)
        triage_case(session, found, level, rules, actor=audit.SYSTEM_ACTOR)
        done += 1
    return done
