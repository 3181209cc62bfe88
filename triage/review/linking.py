"""A reviewer's hand in linking reports: the case page lists, per report, the other open cases in
the reviewer's scope that share a victim, aggressor, IIN or phone with it (intake's blind-index
matches), and the holder of the case may move a report into one of them.

The move itself is intake's ``link`` (it refuses a target that does not really match, and carries
the report's urgency, corroboration and complaint over to the target). A case that keeps other
reports stays as it is. When the moved report was the case's last one, the case ends as a
duplicate of the target: the holder's claim is given up first, since the holder's own claim is
no objection to her own decision, and ``link`` closes the emptied case. ``link`` still refuses
when work was recorded on the emptied case (an assessment, verification, decision or note);
the reviewer then closes it as a duplicate by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import audit
from ..crypto import Keyring
from ..errors import N_, Conflict, NotFound
from ..models import (
    Assessment,
    Case,
    CaseNote,
    Decision,
    Report,
    ReportIndex,
    User,
    VerificationStep,
)
from ..permissions import in_scope
from ..reports import IndexValue
from ..vocab import CaseStatus, DecisionStatus, Region, ReportStatus, RiskLevel, Verification
from .cases import check_version, get_case, require_claim, require_open, utcnow
from .errors import LastReportWorkedOn, PendingDecisions, ReportNotFound
from .rules import ReviewRules
from .triaging import raise_case

#: The kinds of blind index that make two reports probably about the same people.
LINK_KINDS = ("victim", "aggressor", "iin", "phone")


@dataclass(frozen=True)
class Match:
    """An open case that shares an identifying value with the new report."""

    case_id: str
    case_code: str
    region: str | None
    kinds: tuple[str, ...]


def find_matches(session: Session, ring: Keyring, values: Iterable[IndexValue]) -> list[Match]:
    """Open cases whose reports share a victim, aggressor, IIN or phone token with ``values``."""
    tokens = {
        ring.blind_index(v.kind, v.normalised): v.kind
        for v in values
        if v.normalised and v.kind in LINK_KINDS
    }
    return _cases_with_tokens(session, tokens)


def matches_of(session: Session, report: Report) -> list[Match]:
    """Other open cases that share an identifying value with a stored report."""
    rows = session.execute(
        select(ReportIndex.token, ReportIndex.kind).where(
            ReportIndex.report_id == report.id, ReportIndex.kind.in_(LINK_KINDS)
        )
    )
    tokens = {token: kind for token, kind in rows}
    return [m for m in _cases_with_tokens(session, tokens) if m.case_id != report.case_id]


def _cases_with_tokens(session: Session, tokens: dict[str, str]) -> list[Match]:
    if not tokens:
        return []
    rows = session.execute(
        select(Case.id, Case.code, Case.region, ReportIndex.kind)
        .join(Report, Report.case_id == Case.id)
        .join(ReportIndex, ReportIndex.report_id == Report.id)
        .where(ReportIndex.token.in_(tokens), Case.status == CaseStatus.OPEN.value)
        .order_by(Case.opened_at)
    )
    found: dict[str, tuple[str, str | None, set[str]]] = {}
    for case_id, code, region, kind in rows:
        found.setdefault(case_id, (code, region, set()))[2].add(kind)
    return [
        Match(cid, code, region, tuple(sorted(kinds)))
        for cid, (code, region, kinds) in found.items()
    ]


def link(
    session: Session,
    report: Report,
    case: Case,
    *,
    actor: str,
    user_region: str | None,
    rules: ReviewRules,
) -> None:
    """Move a report into a probably matching open case (the filer's or a reviewer's decision).

    Only into a case that really shares an identifying value with the report; and only out of
    a case nobody has started working on: once it is claimed, assessed or decided, merging it is
    a reviewer's judgement, not a side effect. The target inherits what the report brings
    (urgency, corroboration, the victim's complaint); a case left with no report is closed as a
    duplicate.
    """
    if report.case_id == case.id:
        return
    matching = {m.case_id for m in matches_of(session, report) if in_scope(user_region, m.region)}
    if case.id not in matching:
        raise NotFound(N_("That case does not match this report."))
    previous = session.get(Case, report.case_id) if report.case_id else None
    alone = previous is not None and not session.scalar(
        select(Report.id).where(Report.case_id == previous.id, Report.id != report.id)
    )
    if previous is not None and alone and _worked_on(session, previous):
        raise Conflict(
            N_("The report's own case is already being worked on; ask its reviewer to merge it.")
        )
    report.case_id = case.id
    report.status = ReportStatus.LINKED.value
    audit.append(
        session,
        actor=actor,
        action="report.linked",
        object_type="report",
        object_id=report.id,
        details={
            "case_id": case.id,
            "from_case_id": previous.id if previous else None,
            "how": "confirmed",
        },
    )
    level = RiskLevel(report.risk_level) if report.risk_level else RiskLevel.STANDARD
    verification = Verification(report.verification)
    complaint = previous.victim_complaint if previous is not None and alone else False
    region = Region(report.region) if report.region else None
    raise_case(session, case, level, verification, complaint, region, rules, actor=actor)
    session.flush()
    if previous is not None and alone:
        previous.status = CaseStatus.CLOSED.value
        previous.outcome = "duplicate"
        previous.closed_at = utcnow()
        previous.claimed_by = None
        previous.claim_expires_at = None
        audit.append(
            session,
            actor=actor,
            action="case.closed",
            object_type="case",
            object_id=previous.id,
            details={"outcome": "duplicate", "into_case_id": case.id},
        )


def _worked_on(session: Session, case: Case) -> bool:
    """Whether anyone has claimed, assessed, verified or decided anything on the case."""
    if case.claimed_by is not None or not case.risk_provisional:
        return True
    for model in (Assessment, Decision, VerificationStep, CaseNote):
        if session.scalar(select(model.id).where(model.case_id == case.id).limit(1)):
            return True
    return False


def matches_for(session: Session, user: User, reports: Iterable[Report]) -> dict[str, list[Match]]:
    """Each report's probable matches: other open cases in the user's scope sharing a victim,
    aggressor, IIN or phone. Reads blind-index tokens only; nothing is decrypted."""
    found: dict[str, list[Match]] = {}
    for report in reports:
        found[report.id] = [
            m for m in matches_of(session, report) if in_scope(user.region, m.region)
        ]
    return found


def move_report(
    session: Session,
    user: User,
    ref: str,
    report_id: str,
    target_ref: str,
    *,
    version: int | None,
    now: datetime | None = None,
    rules: ReviewRules | None = None,
) -> Case:
    """Move a report of case ``ref`` (which the user holds, at ``version``) into the matching
    open case ``target_ref``; returns the target. The emptied case closes as a duplicate."""
    now = now or utcnow()
    found = get_case(session, user, ref)
    require_open(found)
    check_version(found, version)
    report = session.get(Report, report_id) if report_id else None
    if report is None or report.case_id != found.id:
        raise ReportNotFound()
    target = get_case(session, user, target_ref)
    if target.id == found.id:
        raise ReportNotFound(N_("The report is already in this case."))
    require_open(target)
    require_claim(session, user, found, now=now, rules=rules)
    others = session.scalar(
        select(func.count()).where(Report.case_id == found.id, Report.id != report.id)
    )
    last = not others
    if last:
        waiting = session.scalar(
            select(func.count()).where(
                Decision.case_id == found.id,
                Decision.status == DecisionStatus.AWAITING_APPROVAL.value,
            )
        )
        if waiting:
            raise PendingDecisions(
                N_(
                    "This is the case's last report and proposals on it still wait for approval: "
                    "withdraw them or have them decided first."
                )
            )
        # Her own claim is no objection to her own decision: give it up so that ``link`` may
        # close the emptied case as a duplicate (which it audits as ``case.closed``).
        found.claimed_by = None
        found.claim_expires_at = None
    try:
        link(
            session,
            report,
            target,
            actor=str(user.id),
            user_region=user.region,
            rules=rules or ReviewRules(),
        )
    except Conflict as exc:
        if not last or isinstance(exc, LastReportWorkedOn):
            raise
        raise LastReportWorkedOn(
            N_(
                "This is the case's last report and work is recorded on the case. Close it as a "
                "duplicate of %(code)s instead (the report stays with it)."
            ),
            code=target.code,
        ) from None
    if last and found.status != CaseStatus.CLOSED.value:  # pragma: no cover - link closes it
        raise Conflict(N_("The emptied case could not be closed; nothing was moved."))
    return target


__all__ = ["Match", "matches_for", "move_report"]
