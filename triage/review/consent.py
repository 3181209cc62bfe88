"""The victim's consent to share her data, by kind of recipient (a support service, the police,
a court): recorded by a reviewer who asked her, or given in her own direct report. The latest
answer for a kind is the one in force.

Consent is the gate of everything that shares her data: a referral to a support service needs
her yes (``require``), and a hand-over to police or a court without it needs a supervisor's
approval and a written reason (``triage.handover``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit, sealed
from ..errors import N_, InvalidInput
from ..models import (
    Case,
    ConsentAnswer,
    ConsentMethod,
    RecipientKind,
    Report,
    User,
    VictimConsent,
    new_id,
)
from ..vocab import SourceKind
from .cases import clean_text, get_case, require_claim, require_open, utcnow
from .errors import ConsentRequired
from .rules import ReviewRules

__all__ = [
    "ConsentState",
    "check_given",
    "from_her_report",
    "from_row",
    "in_force",
    "record",
    "require",
    "states",
]


@dataclass(frozen=True)
class ConsentState:
    """Her answer in force for one kind of recipient: ``answer`` is ``None`` when nobody asked."""

    kind: RecipientKind
    answer: ConsentAnswer | None
    method: ConsentMethod | None = None
    at: datetime | None = None

    @property
    def given(self) -> bool:
        return self.answer is ConsentAnswer.YES


#: Reports already opened (by the case page), with their payloads (``None``: shredded).
Opened = Sequence[tuple[Report, Mapping[str, Any] | None]]


def _her_reports(session: Session, user: User, case_: Case) -> Opened:
    opened: list[tuple[Report, Mapping[str, Any] | None]] = []
    for report in session.scalars(
        select(Report)
        .where(Report.case_id == case_.id, Report.source_kind == SourceKind.DIRECT.value)
        .order_by(Report.received_at)
    ):
        try:
            payload = sealed.open_payload(
                session, report, actor=str(user.id), purpose="consent.check"
            )
        except sealed.PayloadShredded:
            continue
        opened.append((report, payload))
    return opened


def from_her_report(
    session: Session, user: User, case_: Case, opened: Opened | None = None
) -> ConsentState | None:
    """Her answer on support services in a direct report she filed herself, if any (a relative's
    or a witness's word is not her consent, and neither is a public report's: no one answers for
    who sent it). Opening a report is an audited read, so reports the caller already opened are
    passed in ``opened``."""
    state = None
    for report, payload in opened if opened is not None else _her_reports(session, user, case_):
        if payload is None or report.source_kind != SourceKind.DIRECT.value or report.public:
            continue
        answer = payload.get("consent_support_services")
        if payload.get("reporter") == "victim" and answer in ("yes", "no"):
            state = ConsentState(
                RecipientKind.SUPPORT,
                ConsentAnswer(answer),
                ConsentMethod.HER_OWN_REPORT,
                report.received_at,
            )
    return state


def from_row(row: VictimConsent) -> ConsentState:
    """Her answer as a reviewer recorded it."""
    return ConsentState(
        RecipientKind(row.recipient_kind),
        ConsentAnswer(row.answer),
        ConsentMethod(row.method),
        row.recorded_at,
    )


def in_force(
    session: Session,
    user: User,
    case_: Case,
    kind: RecipientKind,
    opened: Opened | None = None,
) -> ConsentState:
    """Her answer in force for ``kind``: the latest one recorded; for a support service, failing
    that, the one in her own report."""
    row = session.scalars(
        select(VictimConsent)
        .where(VictimConsent.case_id == case_.id, VictimConsent.recipient_kind == kind.value)
        .order_by(VictimConsent.recorded_at.desc(), VictimConsent.id.desc())
        .limit(1)
    ).first()
    if row is not None:
        return from_row(row)
    if kind is RecipientKind.SUPPORT:
        return from_her_report(session, user, case_, opened) or ConsentState(kind, None)
    return ConsentState(kind, None)


def states(
    session: Session, user: User, case_: Case, opened: Opened | None = None
) -> list[ConsentState]:
    """Her answer in force for every kind of recipient, in the order recipients are listed."""
    return [in_force(session, user, case_, kind, opened) for kind in RecipientKind]


_REFUSALS = {
    RecipientKind.SUPPORT: N_(
        "Her data can go to a support service only with her consent: ask her, and record her "
        "answer on the case first."
    ),
    RecipientKind.POLICE: N_("Her consent to share her data with the police is not recorded."),
    RecipientKind.COURT: N_("Her consent to share her data with a court is not recorded."),
}


def require(session: Session, user: User, case_: Case, kind: RecipientKind) -> ConsentState:
    """Her yes for ``kind``, or ``ConsentRequired``."""
    state = in_force(session, user, case_, kind)
    check_given(state)
    return state


def check_given(state: ConsentState) -> None:
    """``ConsentRequired`` unless her answer in force is yes."""
    if not state.given:
        raise ConsentRequired(_REFUSALS[state.kind])


def record(
    session: Session,
    user: User,
    ref: str,
    *,
    kind: str,
    answer: str,
    method: str,
    note: str | None = None,
    now: datetime | None = None,
    rules: ReviewRules | None = None,
) -> VictimConsent:
    """Record her answer for one kind of recipient (the reviewer holding the case asked her).
    The note, what she said and any limits she set, is sealed."""
    now = now or utcnow()
    try:
        recipient = RecipientKind(kind)
        said = ConsentAnswer(answer)
        how = ConsentMethod(method)
    except ValueError:
        raise InvalidInput(
            N_("Choose the recipient, her answer and how it was given from the lists.")
        ) from None
    if how is ConsentMethod.HER_OWN_REPORT:
        raise InvalidInput(
            N_("Her answer in her own report is read from the report; record how you asked her.")
        )
    text = clean_text(note, "note on her consent", required=False)
    found = get_case(session, user, ref)
    require_open(found)
    require_claim(session, user, found, now=now, rules=rules)
    row = VictimConsent(
        id=new_id(),
        case_id=found.id,
        recipient_kind=recipient.value,
        answer=said.value,
        method=how.value,
        recorded_by=user.id,
        recorded_at=now,
        payload_version=1,
    )
    session.add(row)
    sealed.seal(session, row, {"note": text or None})
    session.flush()
    audit.append(
        session,
        actor=str(user.id),
        action="consent.recorded",
        object_type="case",
        object_id=found.id,
        details={
            "consent_id": row.id,
            "recipient_kind": recipient.value,
            "answer": said.value,
            "method": how.value,
        },
    )
    return row
