"""Claims: a reviewer holds a case exclusively while working on it, and the hold expires after a
while without activity.

Every change of holder is a compare-and-set ``UPDATE … WHERE claimed_by IS NULL OR the claim
expired`` whose row count says whether it won, so two reviewers never hold one case. On
PostgreSQL "take the next case" first locks its candidate with ``FOR UPDATE SKIP LOCKED``, so
concurrent reviewers are handed different cases instead of queueing on the same one; on SQLite
every transaction already holds the write lock from ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from .. import audit
from ..errors import N_
from ..models import Case, User
from ..permissions import in_scope
from ..vocab import CaseStatus, Role
from .cases import (
    get_case,
    holder_is_active,
    priority_order,
    require_open,
    rowcount,
    scope_clause,
    utcnow,
)
from .errors import ClaimConflict, InvalidReassignment
from .rules import ReviewRules

#: How many candidates take-next tries before it gives up (each lost race skips one case).
_TAKE_ATTEMPTS = 5


_HELD = N_("Another reviewer holds this case. Try again after they release it.")
_NOT_HELD = N_("You do not hold this case.")


def _free(now: datetime) -> ColumnElement[bool]:
    """Nobody holds the case, or the claim expired: in SQL, for the compare-and-set (``free``
    is the same rule on a loaded case)."""
    return or_(
        Case.claimed_by.is_(None), Case.claim_expires_at.is_(None), Case.claim_expires_at < now
    )


def free(case_: Case, now: datetime) -> bool:
    """``_free`` on a case whose holder is known (loaded in the transaction that holds its
    lock)."""
    return (
        case_.claimed_by is None or case_.claim_expires_at is None or case_.claim_expires_at < now
    )


def check_claimable(user: User, case_: Case, now: datetime) -> None:
    """``claim``'s rule on a loaded case: free, or already the user's."""
    if not (free(case_, now) or case_.claimed_by == user.id):
        raise ClaimConflict(_HELD)


def check_releasable(user: User, case_: Case) -> None:
    """``release``'s rule on a loaded case: only the holder gives a claim up."""
    if case_.claimed_by != user.id:
        raise ClaimConflict(_NOT_HELD)


def _set_holder(
    session: Session,
    case_id: str,
    user_id: int,
    now: datetime,
    rules: ReviewRules,
    *,
    mine_ok: bool,
) -> bool:
    """Compare-and-set: make ``user_id`` the holder if the case is open and free (or, with
    ``mine_ok``, already theirs). Returns whether it won."""
    free = _free(now)
    condition = or_(free, Case.claimed_by == user_id) if mine_ok else free
    result = session.execute(
        update(Case)
        .where(Case.id == case_id, Case.status == CaseStatus.OPEN.value, condition)
        .values(claimed_by=user_id, claim_expires_at=now + rules.claim_for)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def audit_claim(session: Session, user: User, case_: Case, previous: int | None, via: str) -> None:
    details: dict[str, str | int | bool | None] = {"via": via}
    if previous is not None and previous != user.id:
        details["took_over_expired_claim_of"] = previous
    audit.append(
        session,
        actor=str(user.id),
        action="case.claimed",
        object_type="case",
        object_id=case_.id,
        details=details,
    )


def claim(
    session: Session,
    user: User,
    ref: str,
    *,
    now: datetime | None = None,
    rules: ReviewRules | None = None,
) -> Case:
    """Claim a case in the user's scope; ``ClaimConflict`` while someone else holds it."""
    now = now or utcnow()
    rules = rules or ReviewRules()
    found = get_case(session, user, ref)
    require_open(found)
    previous = found.claimed_by
    already_mine = previous == user.id
    if not _set_holder(session, found.id, user.id, now, rules, mine_ok=True):
        session.refresh(found)
        require_open(found)
        raise ClaimConflict(_HELD)
    session.refresh(found)
    if not already_mine:
        audit_claim(session, user, found, previous, "claim")
    return found


def take_next(
    session: Session,
    user: User,
    *,
    now: datetime | None = None,
    rules: ReviewRules | None = None,
) -> Case | None:
    """Claim the most urgent open case in the user's scope that nobody holds; ``None`` if none.

    The candidate query and the compare-and-set run in the caller's transaction; a candidate
    lost to a concurrent reviewer is skipped and the next one tried.
    """
    now = now or utcnow()
    rules = rules or ReviewRules()
    postgres = session.get_bind().dialect.name == "postgresql"
    tried: list[str] = []
    for _ in range(_TAKE_ATTEMPTS):
        query = (
            select(Case.id, Case.claimed_by)
            .where(scope_clause(user), Case.status == CaseStatus.OPEN.value, _free(now))
            .order_by(*priority_order())
            .limit(1)
        )
        if tried:
            query = query.where(Case.id.not_in(tried))
        if postgres:
            query = query.with_for_update(skip_locked=True)
        row = session.execute(query).first()
        if row is None:
            return None
        case_id, previous = row
        if _set_holder(session, case_id, user.id, now, rules, mine_ok=False):
            found = session.get(Case, case_id, populate_existing=True)
            assert found is not None
            audit_claim(session, user, found, previous, "take_next")
            return found
        tried.append(case_id)
    return None


def release(session: Session, user: User, ref: str, *, now: datetime | None = None) -> Case:
    """Give up one's own claim."""
    now = now or utcnow()
    found = get_case(session, user, ref)
    result = session.execute(
        update(Case)
        .where(Case.id == found.id, Case.claimed_by == user.id)
        .values(claimed_by=None, claim_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        raise ClaimConflict(_NOT_HELD)
    session.refresh(found)
    audit_released(session, user, found)
    return found


def audit_released(session: Session, user: User, case_: Case) -> None:
    audit.append(
        session,
        actor=str(user.id),
        action="case.released",
        object_type="case",
        object_id=case_.id,
        details={"reason": "released"},
    )


def reassign(
    session: Session,
    supervisor: User,
    ref: str,
    to_user_id: int | None,
    *,
    expected: tuple[int | None, datetime | None] | None = None,
    now: datetime | None = None,
    rules: ReviewRules | None = None,
) -> Case:
    """A supervisor hands a case to another reviewer, or frees it (``to_user_id`` ``None``).

    The new holder must be an active reviewer or supervisor whose scope covers the case. The
    change is a compare-and-set on the holder and claim expiry the supervisor saw (``expected``,
    from the reassign form; the ones just loaded otherwise): if someone claimed, released or
    took the case over meanwhile, ``ClaimConflict`` and nothing changes.
    """
    now = now or utcnow()
    rules = rules or ReviewRules()
    found = get_case(session, supervisor, ref)
    require_open(found)
    target: User | None = None
    if to_user_id is not None:
        target = session.get(User, to_user_id)
        if (
            target is None
            or not target.active
            or target.role not in (Role.REVIEWER.value, Role.SUPERVISOR.value)
            or not in_scope(target.region, found.region)
        ):
            raise InvalidReassignment(
                N_("Choose an active reviewer or supervisor whose region covers this case.")
            )
    previous = found.claimed_by if holder_is_active(found, now) else None
    seen_holder, seen_expiry = (
        expected if expected is not None else (found.claimed_by, found.claim_expires_at)
    )
    result = session.execute(
        update(Case)
        .where(
            Case.id == found.id,
            Case.status == CaseStatus.OPEN.value,
            Case.claimed_by.is_(None) if seen_holder is None else Case.claimed_by == seen_holder,
            Case.claim_expires_at.is_(None)
            if seen_expiry is None
            else Case.claim_expires_at == seen_expiry,
        )
        .values(
            claimed_by=target.id if target else None,
            claim_expires_at=(now + rules.claim_for) if target else None,
        )
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        session.refresh(found)
        require_open(found)
        raise ClaimConflict(
            N_("Someone claimed, released or reassigned this case meanwhile; reload and try again.")
        )
    session.refresh(found)
    audit.append(
        session,
        actor=str(supervisor.id),
        action="case.reassigned",
        object_type="case",
        object_id=found.id,
        details={"from_user": previous, "to_user": target.id if target else None},
    )
    return found


def holds(user: User, case_: Case) -> bool:
    """Whether ``user`` holds the open ``case_`` and may work on it: the rule ``require_claim``
    enforces, for pages that show what the holder alone sees (a claim past its expiry that
    nobody took over is still the holder's)."""
    return (
        case_.status == CaseStatus.OPEN.value
        and case_.claimed_by == user.id
        and user.role in (Role.REVIEWER.value, Role.SUPERVISOR.value)
    )


__all__ = ["claim", "holds", "reassign", "release", "take_next"]
