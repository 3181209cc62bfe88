"""Follow-ups: measures in effect with an end date surface on the dashboard a configurable number
of days before they end, so they can be renewed or extended in time; following one up records a
sealed note. A measure whose end date has passed shows as ended (computed on read) and stays
listed until it is followed up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from .. import audit
from ..errors import N_
from ..models import Case, CaseNote, Decision, NoteKind, User
from ..vocab import CaseStatus, DecisionStatus
from .cases import (
    clean_text,
    get_case,
    require_claim,
    require_open,
    scope_clause,
    utcnow,
    write_note,
)
from .errors import DecisionNotFound, NotAwaitingApproval
from .rules import ReviewRules


@dataclass(frozen=True)
class FollowUp:
    decision: Decision
    case: Case
    days_left: int | None
    #: The measure's end date has passed (``Decision.status_on``): it is shown as ended, and
    #: stays listed until someone records its follow-up.
    ended: bool = False


def due(
    session: Session,
    user: User,
    *,
    today: date | None = None,
    rules: ReviewRules | None = None,
) -> Sequence[FollowUp]:
    """Measures in effect on open cases in the user's scope whose follow-up date has come — the
    stored one, or ``follow_up_days`` before the end date, whichever is earlier — and that
    nobody has followed up yet. Soonest end first."""
    today = today or utcnow().date()
    rules = rules or ReviewRules()
    horizon = today + timedelta(days=rules.follow_up_days)
    rows = session.execute(
        select(Decision, Case)
        .join(Case, Case.id == Decision.case_id)
        .where(
            Decision.status == DecisionStatus.IN_EFFECT.value,
            Decision.followed_up_at.is_(None),
            Case.status == CaseStatus.OPEN.value,
            scope_clause(user),
            or_(
                Decision.follow_up_on <= today,
                and_(Decision.ends_on.is_not(None), Decision.ends_on <= horizon),
            ),
        )
        .order_by(Decision.ends_on, Decision.follow_up_on, Decision.id)
    ).all()
    return [
        FollowUp(
            d,
            c,
            (d.ends_on - today).days if d.ends_on else None,
            d.status_on(today) == DecisionStatus.ENDED.value,
        )
        for d, c in rows
    ]


def record_follow_up(
    session: Session,
    user: User,
    decision_id: str,
    *,
    note: str,
    now: datetime | None = None,
    rules: ReviewRules | None = None,
) -> Decision:
    """Record that a measure was followed up (what was found or done, sealed). Renewing it is a
    new proposal."""
    now = now or utcnow()
    decision = session.get(Decision, decision_id) if decision_id else None
    if decision is None:
        raise DecisionNotFound()
    found = get_case(session, user, decision.case_id)
    require_open(found)
    text = check_follow_up(decision, note)
    require_claim(session, user, found, now=now, rules=rules)
    note_row = write_note(
        session, user, found, NoteKind.FOLLOW_UP, text, decision_id=decision.id, now=now
    )
    set_followed_up(decision, user, now)
    session.flush()
    audit_followed_up(session, user, decision, note_row)
    return decision


def check_follow_up(decision: Decision, note: str | None) -> str:
    """A measure in effect not followed up yet, and the note: what a follow-up needs."""
    if decision.status != DecisionStatus.IN_EFFECT.value or decision.followed_up_at is not None:
        raise NotAwaitingApproval(N_("This measure has no follow-up waiting."))
    return clean_text(note, "follow-up note")


def set_followed_up(decision: Decision, user: User, now: datetime) -> None:
    decision.followed_up_by = user.id
    decision.followed_up_at = now


def audit_followed_up(session: Session, user: User, decision: Decision, note: CaseNote) -> None:
    audit.append(
        session,
        actor=str(user.id),
        action="decision.followed_up",
        object_type="decision",
        object_id=decision.id,
        details={"case_id": decision.case_id, "note_id": note.id},
    )


__all__ = [
    "FollowUp",
    "audit_followed_up",
    "check_follow_up",
    "due",
    "record_follow_up",
    "set_followed_up",
]
