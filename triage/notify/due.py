"""What has fallen due, from plain columns alone: high-risk cases past their response deadline
with no decision, follow-ups of measures in effect whose date has come, and proposals that have
waited too long for approval; and who is to hear of each.

Each finding carries its stable key — kind, object, due occasion — so raising it is idempotent:
the ``alert`` table's unique constraint keeps the first and ignores every repeat, from this run,
a later one or another server's at the same moment.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import Exists, exists, or_, select
from sqlalchemy.orm import Session

from ..audit import format_time
from ..models import Alert, AlertKind, Case, Decision, User
from ..vocab import CaseStatus, DecisionStatus, RiskLevel, Role
from .rules import NotifyRules

#: Decisions that answer a case's deadline: anything proposed and not rejected or withdrawn (a
#: proposal waiting for approval has its own alert).
_ANSWERING = tuple(
    s.value for s in DecisionStatus if s not in (DecisionStatus.REJECTED, DecisionStatus.WITHDRAWN)
)


#: Ids per query when checking keys (well under SQLite's limit of bound parameters).
_CHUNK = 500


@dataclass(frozen=True)
class Due:
    kind: str
    object_id: str
    occasion: str
    case_id: str
    case_code: str
    decision_id: str | None
    due_at: datetime
    #: Account ids of those to tell: the case's holder, the proposer where relevant, and the
    #: supervisors whose scope covers the case's region. Active accounts only, each once.
    recipients: tuple[int, ...]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.object_id, self.occasion)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _holder(case_: Case, now: datetime) -> int | None:
    """Who holds the case now: a claim past its expiry holds nothing."""
    if case_.claimed_by is None or case_.claim_expires_at is None:
        return None
    return case_.claimed_by if case_.claim_expires_at > now else None


class _People:
    """Active accounts, loaded once per run: supervisors by scope, and who is active."""

    def __init__(self, session: Session) -> None:
        rows = session.execute(
            select(User.id, User.role, User.region).where(User.active).order_by(User.id)
        ).all()
        self.active = {uid for uid, _, _ in rows}
        self._supervisors = [(uid, region) for uid, role, region in rows if role == Role.SUPERVISOR]

    def supervisors_of(self, region: str | None) -> list[int]:
        """Supervisors whose scope covers ``region``: those of every region, and those of that
        one (a case with no region is in the unscoped supervisors' scope only)."""
        return [uid for uid, scope in self._supervisors if scope is None or scope == region]

    def pick(self, *groups: Iterable[int | None], leave_out: int | None = None) -> tuple[int, ...]:
        chosen: list[int] = []
        for group in groups:
            for uid in group:
                if (
                    uid is not None
                    and uid in self.active
                    and uid != leave_out
                    and uid not in chosen
                ):
                    chosen.append(uid)
        return tuple(chosen)


def _alerted(kind: AlertKind) -> Exists:
    """The decision has had an alert of this kind (its occasion, the follow-up date or the
    proposal's time, does not change: an alert of the kind is the alert). Leaving these out in
    SQL keeps a run's work to what is new; ``raised_keys`` then checks the exact keys."""
    return exists().where(Alert.kind == kind.value, Alert.object_id == Decision.id)


def overdue_cases(session: Session, people: _People, *, now: datetime) -> list[Due]:
    """High-risk open cases past their deadline (``scoring.is_overdue``: strictly after it)
    with no decision that answers it."""
    answered = exists().where(Decision.case_id == Case.id, Decision.status.in_(_ANSWERING))
    raised = exists().where(
        Alert.kind == AlertKind.DEADLINE.value,
        Alert.object_id == Case.id,
        Alert.due_at == Case.deadline_at,
    )
    cases = session.scalars(
        select(Case)
        .where(
            Case.status == CaseStatus.OPEN.value,
            Case.risk_level == RiskLevel.HIGH.value,
            Case.deadline_at.is_not(None),
            Case.deadline_at < now,
            ~answered,
            ~raised,
        )
        .order_by(Case.deadline_at, Case.id)
    ).all()
    found = []
    for c in cases:
        assert c.deadline_at is not None
        found.append(
            Due(
                kind=AlertKind.DEADLINE.value,
                object_id=c.id,
                occasion=format_time(c.deadline_at),
                case_id=c.id,
                case_code=c.code,
                decision_id=None,
                due_at=c.deadline_at,
                recipients=people.pick([_holder(c, now)], people.supervisors_of(c.region)),
            )
        )
    return found


def follow_ups(session: Session, people: _People, *, now: datetime) -> list[Due]:
    """Measures in effect on open cases (not past their end date) whose follow-up date has come
    and that nobody has followed up."""
    today = now.astimezone(UTC).date()
    rows = session.execute(
        select(Decision, Case)
        .join(Case, Case.id == Decision.case_id)
        .where(
            Decision.status == DecisionStatus.IN_EFFECT.value,
            Decision.followed_up_at.is_(None),
            ~_alerted(AlertKind.FOLLOW_UP),
            Decision.follow_up_on.is_not(None),
            Decision.follow_up_on <= today,
            or_(Decision.ends_on.is_(None), Decision.ends_on >= today),
            Case.status == CaseStatus.OPEN.value,
        )
        .order_by(Decision.follow_up_on, Decision.id)
    ).all()
    found = []
    for d, c in rows:
        assert d.follow_up_on is not None
        found.append(
            Due(
                kind=AlertKind.FOLLOW_UP.value,
                object_id=d.id,
                occasion=d.follow_up_on.isoformat(),
                case_id=c.id,
                case_code=c.code,
                decision_id=d.id,
                due_at=_day_start(d.follow_up_on),
                recipients=people.pick(
                    [_holder(c, now), d.proposed_by], people.supervisors_of(c.region)
                ),
            )
        )
    return found


def waiting_approvals(
    session: Session, people: _People, *, now: datetime, rules: NotifyRules
) -> list[Due]:
    """Proposals waiting for a supervisor's approval since longer than ``approval_after``. The
    alert goes to the supervisors in scope and the case's holder, never to the proposer: a
    proposer may not approve their own proposal."""
    rows = session.execute(
        select(Decision, Case)
        .join(Case, Case.id == Decision.case_id)
        .where(
            Decision.status == DecisionStatus.AWAITING_APPROVAL.value,
            Decision.proposed_at <= now - rules.approval_after,
            ~_alerted(AlertKind.APPROVAL),
            Case.status == CaseStatus.OPEN.value,
        )
        .order_by(Decision.proposed_at, Decision.id)
    ).all()
    return [
        Due(
            kind=AlertKind.APPROVAL.value,
            object_id=d.id,
            occasion=format_time(d.proposed_at),
            case_id=c.id,
            case_code=c.code,
            decision_id=d.id,
            due_at=d.proposed_at + rules.approval_after,
            recipients=people.pick(
                people.supervisors_of(c.region), [_holder(c, now)], leave_out=d.proposed_by
            ),
        )
        for d, c in rows
    ]


def raised_keys(session: Session, found: Sequence[Due]) -> set[tuple[str, str, str]]:
    """The keys among ``found`` that an alert was raised for already."""
    ids = sorted({d.object_id for d in found})
    keys: set[tuple[str, str, str]] = set()
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(
            select(Alert.kind, Alert.object_id, Alert.occasion).where(
                Alert.object_id.in_(ids[start : start + _CHUNK])
            )
        )
        keys |= {(kind, object_id, occasion) for kind, object_id, occasion in rows}
    return keys


def due(session: Session, *, now: datetime, rules: NotifyRules | None = None) -> list[Due]:
    """Everything due now that no alert was raised for yet, deadlines first."""
    rules = rules or NotifyRules()
    people = _People(session)
    found = [
        *overdue_cases(session, people, now=now),
        *follow_ups(session, people, now=now),
        *waiting_approvals(session, people, now=now, rules=rules),
    ]
    raised = raised_keys(session, found)
    return [d for d in found if d.key not in raised]


__all__ = ["Due", "due"]
