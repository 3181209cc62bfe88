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
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import Conflict
from ..intake import service as intake
from ..models import Case, Decision, Report, User
from ..permissions import in_scope
from ..vocab import CaseStatus, DecisionStatus
from .cases import check_version, get_case, require_open, utcnow
from .claims import require_claim
from .errors import LastReportWorkedOn, PendingDecisions, ReportNotFound
from .rules import ReviewRules

Match = intake.Match


def matches_for(session: Session, user: User, reports: Iterable[Report]) -> dict[str, list[Match]]:
    """Each report's probable matches: other open cases in the user's scope sharing a victim,
    aggressor, IIN or phone. Reads blind-index tokens only; nothing is decrypted."""
    found: dict[str, list[Match]] = {}
    for report in reports:
        found[report.id] = [
            m for m in intake.matches_of(session, report) if in_scope(user.region, m.region)
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
        raise ReportNotFound("The report is already in this case.")
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
                "This is the case's last report and proposals on it still wait for approval: "
                "withdraw them or have them decided first."
            )
        # Her own claim is no objection to her own decision: give it up so that ``link`` may
        # close the emptied case as a duplicate (which it audits as ``case.closed``).
        found.claimed_by = None
        found.claim_expires_at = None
    try:
        intake.link(session, report, target, actor=str(user.id), user_region=user.region)
    except Conflict as exc:
        if not last or isinstance(exc, LastReportWorkedOn):
            raise
        raise LastReportWorkedOn(
            f"This is the case's last report and work is recorded on the case. Close it as a "
            f"duplicate of {target.code} instead (the report stays with it)."
        ) from None
    if last and found.status != CaseStatus.CLOSED.value:  # pragma: no cover - link closes it
        raise Conflict("The emptied case could not be closed; nothing was moved.")
    return target


__all__ = ["Match", "matches_for", "move_report"]
