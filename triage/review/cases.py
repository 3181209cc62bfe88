"""Cases: finding one in the user's scope, the guards every piece of work passes (open, the
user's claim, the version she saw), notes and closing. The queue is ``case_queue``, the case
page ``case_page``, the provisional level and deadline ``triaging``.

Every read and write here is limited to the acting user's region scope: a case outside it is
reported as not found, so its existence does not leak across regions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, true, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .. import audit, sealed
from ..errors import N_, InvalidInput
from ..models import (
    Case,
    CaseNote,
    Decision,
    NoteKind,
    User,
    new_id,
)
from ..vocab import (
    CaseStatus,
    DecisionStatus,
    ScreeningVerdict,
)
from .errors import CaseClosed, CaseNotFound, ClaimRequired, PendingDecisions, StaleEdit
from .rules import ReviewRules

_MAX_TEXT = 20_000


class CaseOutcome(StrEnum):
    """How a case ended. ``unfounded`` is set by verification, never chosen when closing."""

    MEASURES_TAKEN = "measures_taken"
    NO_MEASURE_NEEDED = "no_measure_needed"
    REFERRED_ELSEWHERE = "referred_elsewhere"
    VICTIM_DECLINED = "victim_declined"
    DUPLICATE = "duplicate"
    UNFOUNDED = "unfounded"


#: Outcomes a reviewer may choose when closing a case by hand.
CLOSING_OUTCOMES = tuple(o for o in CaseOutcome if o is not CaseOutcome.UNFOUNDED)


#: Incident categories (DOMAIN.md) that stand for a screening signal of the provisional level.
def utcnow() -> datetime:
    return datetime.now(UTC)


def rowcount(result: Any) -> int:
    """Rows an UPDATE matched: how a compare-and-set learns whether it won."""
    return int(result.rowcount)


# -- scope, lookup and guards ------------------------------------------------------------------


def scope_clause(user: User) -> ColumnElement[bool]:
    """Cases the user may see: all for an unscoped user; else those of their region."""
    if user.region is None:
        return true()
    return Case.region == user.region


def priority_order() -> tuple[Any, ...]:
    """The queue's order, in SQL: level (high first), nearest deadline (cases without one after
    those with one), oldest first, then the id — the columns of the queue's indexes, so a page is
    the first rows of an index scan. ``queue_rank`` holds the level and whether there is a
    deadline (``models.core.QUEUE_RANK_SQL``)."""
    return (Case.queue_rank, Case.deadline_at, Case.opened_at, Case.id)


def get_case(session: Session, user: User, ref: str) -> Case:
    """The case with this id or code, if it is in the user's scope; ``CaseNotFound`` otherwise."""
    ref = (ref or "").strip()
    if not ref or len(ref) > 36:
        raise CaseNotFound()
    column = Case.code if ref.upper().startswith("C-") else Case.id
    value = ref.upper() if column is Case.code else ref
    found = session.scalar(select(Case).where(column == value, scope_clause(user)))
    if found is None:
        raise CaseNotFound()
    return found


def check_version(case_: Case, expected: int | None) -> None:
    """Optimistic locking: the form's version must be the case's current one."""
    if expected is None or int(expected) != case_.version:
        raise StaleEdit()


def require_open(case_: Case) -> None:
    if case_.status != CaseStatus.OPEN.value:
        raise CaseClosed(N_("This case is closed; nothing more can be done on it."))


def flush_edit(session: Session, message: str = "") -> None:
    """Flush, turning a lost race on a version column into ``StaleEdit``."""
    try:
        session.flush()
    except StaleDataError:
        raise StaleEdit(message) from None


#: What ``clean_text`` says when a text is missing or too long, by what the text is: whole
#: sentences, so that Russian and Kazakh put each in their own grammar.
_TEXT_REFUSALS = {
    "note": (N_("Write the note."), N_("The note is too long (at most %(limit)d characters).")),
    "closing note": (
        N_("Write the closing note."),
        N_("The closing note is too long (at most %(limit)d characters)."),
    ),
    "follow-up note": (
        N_("Write the follow-up note."),
        N_("The follow-up note is too long (at most %(limit)d characters)."),
    ),
    "note on the corroboration": (
        N_("Write the note on the corroboration."),
        N_("The note on the corroboration is too long (at most %(limit)d characters)."),
    ),
    "reason the report is unfounded": (
        N_("Write the reason the report is unfounded."),
        N_("The reason the report is unfounded is too long (at most %(limit)d characters)."),
    ),
    "rationale": (
        N_("Write the rationale."),
        N_("The rationale is too long (at most %(limit)d characters)."),
    ),
    "reason": (
        N_("Write the reason."),
        N_("The reason is too long (at most %(limit)d characters)."),
    ),
    "note on her consent": (
        N_("Write what she said."),
        N_("The note on her consent is too long (at most %(limit)d characters)."),
    ),
    "reason for the rejection": (
        N_("Write the reason for the rejection."),
        N_("The reason for the rejection is too long (at most %(limit)d characters)."),
    ),
}
_ANY_TEXT = (N_("Write the text."), N_("The text is too long (at most %(limit)d characters)."))


def clean_text(value: str | None, what: str, *, required: bool = True) -> str:
    """``value`` stripped; refused if required and empty, or too long. ``what`` names the text
    (a key of ``_TEXT_REFUSALS``) so that the refusal is a whole sentence about it."""
    missing, too_long = _TEXT_REFUSALS.get(what, _ANY_TEXT)
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(missing)
    if len(text) > _MAX_TEXT:
        raise InvalidInput(too_long, limit=_MAX_TEXT)
    return text


def holder_is_active(case_: Case, now: datetime) -> bool:
    return (
        case_.claimed_by is not None
        and case_.claim_expires_at is not None
        and case_.claim_expires_at > now
    )


def on_review_band(verdicts: Iterable[str | None]) -> bool:
    """A case is on the review band while every report of it came in on the band."""
    found = set(verdicts)
    return bool(found) and found == {ScreeningVerdict.REVIEW.value}


def user_names(session: Session) -> dict[int, str]:
    return {uid: name for uid, name in session.execute(select(User.id, User.username))}


# -- notes and closing -------------------------------------------------------------------------


def write_note(
    session: Session,
    user: User,
    case_: Case,
    kind: NoteKind,
    text: str,
    *,
    decision_id: str | None = None,
    now: datetime | None = None,
    flush: bool = True,
) -> CaseNote:
    """A sealed note on the case; ``flush`` as ``sealed.seal`` (a batch flushes once)."""
    note = CaseNote(
        id=new_id(),
        case_id=case_.id,
        kind=kind.value,
        decision_id=decision_id,
        written_by=user.id,
        written_at=now or utcnow(),
        payload_version=1,
    )
    session.add(note)
    sealed.seal(session, note, {"text": text}, flush=flush)
    return note


_CLAIM_FIRST = N_("Claim this case before working on it.")


def check_claim(user: User, case_: Case) -> None:
    """``require_claim``'s rule on a case whose holder is known (loaded in the transaction that
    holds its lock): the user must hold it."""
    if case_.claimed_by != user.id:
        raise ClaimRequired(_CLAIM_FIRST)


def require_claim(
    session: Session,
    user: User,
    case_: Case,
    *,
    now: datetime | None = None,
    rules: ReviewRules | None = None,
) -> None:
    """Work on a case needs the user's claim on it; the work renews the claim.

    A claim past its expiry that nobody else took is still the user's: it is renewed. The
    renewal is itself a compare-and-set, so a reviewer who just took the case over wins.
    """
    now = now or utcnow()
    rules = rules or ReviewRules()
    result = session.execute(
        update(Case)
        .where(and_(Case.id == case_.id, Case.claimed_by == user.id))
        .values(claim_expires_at=now + rules.claim_for)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        raise ClaimRequired(_CLAIM_FIRST)
    # Keep the loaded object in step without a version bump: claims are not edits.
    session.refresh(case_, attribute_names=["claimed_by", "claim_expires_at"])


def add_note(
    session: Session,
    user: User,
    ref: str,
    text: str,
    *,
    now: datetime | None = None,
    rules: ReviewRules | None = None,
) -> CaseNote:
    """A reviewer's note on the case (sealed). Needs the claim, like all work on a case."""
    now = now or utcnow()
    found = get_case(session, user, ref)
    require_open(found)
    require_claim(session, user, found, now=now, rules=rules)
    note = write_note(session, user, found, NoteKind.NOTE, clean_text(text, "note"), now=now)
    session.flush()
    audit.append(
        session,
        actor=str(user.id),
        action="case.note_added",
        object_type="case",
        object_id=found.id,
        details={"note_id": note.id, "kind": NoteKind.NOTE.value},
    )
    return note


def close_case(
    session: Session,
    user: User,
    ref: str,
    *,
    version: int | None,
    outcome: str,
    note: str | None = None,
    now: datetime | None = None,
    rules: ReviewRules | None = None,
) -> Case:
    """Close the case with an outcome, releasing its claim.

    Refused while a proposal waits for approval: withdraw it or have it decided first, so that
    no measure takes effect on a closed case.
    """
    now = now or utcnow()
    found = get_case(session, user, ref)
    require_open(found)
    check_version(found, version)
    chosen = closing_outcome(outcome)
    require_claim(session, user, found, now=now, rules=rules)
    waiting = session.scalar(
        select(func.count()).where(
            Decision.case_id == found.id,
            Decision.status == DecisionStatus.AWAITING_APPROVAL.value,
        )
    )
    check_nothing_waits(waiting or 0)
    text = clean_text(note, "closing note", required=False)
    if text:
        write_note(session, user, found, NoteKind.CLOSING, text, now=now)
    mark_closed(session, user, found, chosen, now=now)
    return found


def closing_outcome(outcome: str) -> CaseOutcome:
    """The outcome a reviewer chose when closing by hand, or ``InvalidInput``."""
    try:
        chosen = CaseOutcome(outcome)
    except ValueError:
        raise InvalidInput(N_("Choose how the case ended.")) from None
    if chosen not in CLOSING_OUTCOMES:
        raise InvalidInput(N_("An unfounded report is recorded through verification."))
    return chosen


def check_nothing_waits(waiting: int) -> None:
    """No case closes while ``waiting`` proposals on it wait for approval."""
    if waiting:
        raise PendingDecisions(
            N_(
                "Proposals on this case still wait for approval: withdraw them or have them "
                "decided before closing."
            )
        )


def set_closed(found: Case, outcome: CaseOutcome, *, now: datetime) -> None:
    """The case's columns once closed: outcome, time, and no holder."""
    found.status = CaseStatus.CLOSED.value
    found.outcome = outcome.value
    found.closed_at = now
    found.claimed_by = None
    found.claim_expires_at = None


def audit_closed(session: Session, user: User, found: Case, outcome: CaseOutcome) -> None:
    audit.append(
        session,
        actor=str(user.id),
        action="case.closed",
        object_type="case",
        object_id=found.id,
        details={"outcome": outcome.value},
    )


def mark_closed(
    session: Session, user: User, found: Case, outcome: CaseOutcome, *, now: datetime
) -> None:
    set_closed(found, outcome, now=now)
    flush_edit(session)
    audit_closed(session, user, found, outcome)


def eligible_holders(session: Session, case_: Case) -> Sequence[User]:
    """Active reviewers and supervisors whose scope covers the case: who may be given it."""
    from ..vocab import Role

    where: list[ColumnElement[bool]] = [
        User.active.is_(True),
        User.role.in_([Role.REVIEWER.value, Role.SUPERVISOR.value]),
    ]
    where.append(or_(User.region.is_(None), User.region == case_.region))
    return session.scalars(select(User).where(*where).order_by(User.username)).all()
