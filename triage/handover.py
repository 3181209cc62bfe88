"""Handing a case over to a named recipient — a support service, the police unit, a court — as
a PDF and a JSON file holding only the fields that recipient's kind may receive.

Her consent is the gate. With her recorded yes for that kind of recipient, the hand-over is
issued at once. Without it, a support service gets nothing (``ConsentRequired``); the police or
a court may still receive the case, as the law allows, but only with a written reason and the
approval of a supervisor other than the one who asked (four eyes). Every hand-over is a
``case.handed_over`` audit event naming the recipient, the fields and the SHA-256 of the exact
bytes handed over; the files themselves are kept sealed, so a later download is those bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, documents, sealed
from .documents import FIELDS, DocumentKind, Facts
from .errors import N_, Conflict, Forbidden, InvalidInput, NotFound
from .legal import LegalGrounds
from .models import (
    Case,
    DocumentFormat,
    Handover,
    HandoverStatus,
    IssuedDocument,
    RecipientKind,
    User,
    new_id,
)
from .recipients import Directory, Recipient
from .review import consent
from .review.cases import clean_text, flush_edit, get_case, scope_clause, user_names, utcnow
from .review.errors import ConsentRequired, SelfApprovalRefused, StaleEdit
from .vocab import Role

__all__ = [
    "RECEIVES",
    "HandoverNotFound",
    "HandoverRefused",
    "Pending",
    "approve",
    "awaiting",
    "case_outcomes",
    "complete",
    "facts_of",
    "for_case",
    "handover_json",
    "reject",
    "request",
    "withdraw",
]

#: The format of the JSON file: a recipient's system can tell what it holds.
JSON_FORMAT = "triage.handover/1"

#: What each kind of recipient may receive (besides the case's code, region, level and
#: verification, which are no one's personal data). docs/documents.md explains each choice.
RECEIVES: Mapping[RecipientKind, tuple[str, ...]] = {
    # A support service contacts and helps her: who she is, how to reach her safely, what she
    # wants; nothing about the aggressor, no narrative.
    RecipientKind.SUPPORT: (
        "victim.name",
        "victim.safe_contact",
        "victim.wishes",
        "incident.categories",
        "incident.children_present",
    ),
    # The police act on the facts: both people, what happened where, the sources and measures.
    RecipientKind.POLICE: (
        "victim.name",
        "victim.birth_date",
        "victim.iin",
        "victim.phone",
        "victim.address",
        "aggressor.name",
        "aggressor.birth_date",
        "aggressor.iin",
        "aggressor.address",
        "relationship",
        "incident.occurred_on",
        "incident.place",
        "incident.categories",
        "incident.children_present",
        "incident.narrative",
        "sources",
        "decisions",
    ),
    # A court decides on the aggressor: who he is, whom he must not approach, the facts and the
    # measures taken; not her phone, address or how to contact her.
    RecipientKind.COURT: (
        "victim.name",
        "aggressor.name",
        "aggressor.birth_date",
        "aggressor.iin",
        "aggressor.address",
        "relationship",
        "incident.occurred_on",
        "incident.categories",
        "incident.narrative",
        "decisions",
    ),
}
assert all(f in FIELDS for fields in RECEIVES.values() for f in fields)


class HandoverNotFound(NotFound):
    title = N_("No such hand-over")

    def __init__(self, message: str = "", **params: object) -> None:
        super().__init__(message or N_("There is no such hand-over in your scope."), **params)


class HandoverRefused(Conflict):
    title = N_("This hand-over cannot go ahead")


def _recipient(directory: Directory, code: str, case_: Case) -> Recipient:
    found = directory.get(code or "")
    if found is None or found.retired:
        raise InvalidInput(N_("Choose the recipient from the list."))
    if not found.serves(case_.region):
        raise InvalidInput(N_("This recipient does not serve the case's region."))
    return found


def request(
    session: Session,
    user: User,
    ref: str,
    *,
    recipient: str,
    language: str,
    reason: str | None,
    directory: Directory,
    now: datetime | None = None,
) -> Handover:
    """Ask to hand the case ``ref`` to ``recipient``. With her recorded yes for that kind of
    recipient it is ready at once (status ``issued`` once ``complete`` has made its files);
    without it, a support service is refused and the police or a court need a written ``reason``
    and a supervisor's approval."""
    now = now or utcnow()
    if language not in documents.LANGUAGES:
        raise InvalidInput(N_("Choose the document's language from the list."))
    found = get_case(session, user, ref)
    target = _recipient(directory, recipient, found)
    state = consent.in_force(session, user, found, target.kind)
    written = clean_text(reason, "reason", required=False)
    if not state.given:
        if target.kind is RecipientKind.SUPPORT:
            raise ConsentRequired(
                N_(
                    "Her data can go to a support service only with her consent: ask her, and "
                    "record her answer on the case first."
                )
            )
        if not written:
            raise ConsentRequired(
                N_(
                    "Her consent to this hand-over is not recorded. To hand the case to the "
                    "police or a court without it, write why; a supervisor must approve."
                )
            )
    handover = Handover(
        id=new_id(),
        case_id=found.id,
        recipient=target.code,
        recipient_kind=target.kind.value,
        language=language,
        status=(
            HandoverStatus.ISSUED.value if state.given else HandoverStatus.AWAITING_APPROVAL.value
        ),
        with_consent=state.given,
        fields=list(RECEIVES[target.kind]),
        requested_by=user.id,
        requested_at=now,
        payload_version=1,
    )
    session.add(handover)
    sealed.seal(session, handover, {"reason": written or None})
    session.flush()
    audit.append(
        session,
        actor=str(user.id),
        action="handover.requested",
        object_type="handover",
        object_id=handover.id,
        details={
            "case_id": found.id,
            "recipient": target.code,
            "recipient_kind": target.kind.value,
            "with_consent": state.given,
            "status": handover.status,
        },
    )
    return handover


def get_for(session: Session, user: User, handover_id: str) -> tuple[Handover, Case]:
    """A hand-over whose case is in the user's scope; ``HandoverNotFound`` otherwise."""
    found = session.get(Handover, handover_id) if handover_id and len(handover_id) <= 36 else None
    if found is None:
        raise HandoverNotFound()
    try:
        case_ = get_case(session, user, found.case_id)
    except NotFound:
        raise HandoverNotFound() from None
    return found, case_


def _waiting(
    session: Session, supervisor: User, handover_id: str, version: int | None
) -> tuple[Handover, Case]:
    found, case_ = get_for(session, supervisor, handover_id)
    if found.status != HandoverStatus.AWAITING_APPROVAL.value:
        raise HandoverRefused(N_("This hand-over no longer waits for approval."))
    if version is None or int(version) != found.version:
        raise StaleEdit(N_("Someone else changed this hand-over; reload the page."))
    if supervisor.role != Role.SUPERVISOR.value:
        raise Forbidden(N_("Only a supervisor may approve a hand-over without her consent."))
    if found.requested_by == supervisor.id:
        raise SelfApprovalRefused(
            N_("Four eyes: another supervisor must approve a hand-over you asked for.")
        )
    return found, case_


def approve(
    session: Session,
    supervisor: User,
    handover_id: str,
    *,
    version: int | None,
    now: datetime | None = None,
) -> Handover:
    """A supervisor other than the requester approves a hand-over without her consent; the
    caller then makes its files (``complete``)."""
    now = now or utcnow()
    found, case_ = _waiting(session, supervisor, handover_id, version)
    found.status = HandoverStatus.ISSUED.value
    found.decided_by = supervisor.id
    found.decided_at = now
    flush_edit(session, N_("Someone else changed this hand-over; reload the page."))
    audit.append(
        session,
        actor=str(supervisor.id),
        action="handover.approved",
        object_type="handover",
        object_id=found.id,
        details={"case_id": case_.id, "recipient": found.recipient},
    )
    return found


def reject(
    session: Session,
    supervisor: User,
    handover_id: str,
    *,
    version: int | None,
    reason: str,
    now: datetime | None = None,
) -> Handover:
    """A supervisor other than the requester refuses it, with a written (sealed) reason."""
    now = now or utcnow()
    text = clean_text(reason, "reason for the rejection")
    found, case_ = _waiting(session, supervisor, handover_id, version)
    payload = sealed.open_payload(
        session, found, actor=str(supervisor.id), purpose="handover.reject"
    )
    sealed.seal(session, found, {**payload, "rejection_reason": text})
    found.status = HandoverStatus.REJECTED.value
    found.decided_by = supervisor.id
    found.decided_at = now
    flush_edit(session, N_("Someone else changed this hand-over; reload the page."))
    audit.append(
        session,
        actor=str(supervisor.id),
        action="handover.rejected",
        object_type="handover",
        object_id=found.id,
        details={"case_id": case_.id, "recipient": found.recipient},
    )
    return found


def withdraw(session: Session, user: User, handover_id: str, *, version: int | None) -> Handover:
    """The requester takes back a hand-over that still waits for approval."""
    found, case_ = get_for(session, user, handover_id)
    if found.requested_by != user.id:
        raise Forbidden(N_("Only the person who asked for a hand-over can withdraw it."))
    if found.status != HandoverStatus.AWAITING_APPROVAL.value:
        raise HandoverRefused(N_("Only a hand-over that waits for approval can be withdrawn."))
    if version is None or int(version) != found.version:
        raise StaleEdit(N_("Someone else changed this hand-over; reload the page."))
    found.status = HandoverStatus.WITHDRAWN.value
    flush_edit(session, N_("Someone else changed this hand-over; reload the page."))
    audit.append(
        session,
        actor=str(user.id),
        action="handover.withdrawn",
        object_type="handover",
        object_id=found.id,
        details={"case_id": case_.id, "recipient": found.recipient},
    )
    return found


# -- the files ------------------------------------------------------------------------------------


def facts_of(
    session: Session,
    user: User,
    handover: Handover,
    *,
    legal: LegalGrounds,
    directory: Directory,
    now: datetime | None = None,
) -> Facts:
    """What the hand-over's files hold, gathered (audited reads naming the hand-over): only the
    fields its recipient's kind receives."""
    if handover.status != HandoverStatus.ISSUED.value:
        raise HandoverRefused(N_("This hand-over is not approved."))
    if session.scalar(select(IssuedDocument.id).where(IssuedDocument.handover_id == handover.id)):
        raise HandoverRefused(N_("This hand-over's files were already made."))
    _found, case_ = get_for(session, user, handover.id)
    target = directory.get(handover.recipient)
    payload = sealed.open_payload(session, handover, actor=str(user.id), purpose="handover")
    names = user_names(session)
    values = documents.gather(
        session, user, case_, handover.fields, purpose="handover", legal=legal
    )
    return Facts(
        document_id=new_id(),
        kind=DocumentKind.HANDOVER,
        title=N_("Hand-over of a case"),
        language=handover.language,
        case=case_,
        fields=tuple(handover.fields),
        values=values,
        issued_at=now or utcnow(),
        issued_by=user.username,
        proposer=names.get(handover.requested_by),
        approver=names.get(handover.decided_by) if handover.decided_by else None,
        recipient={
            "code": handover.recipient,
            "kind": handover.recipient_kind,
            "name": target.name(handover.language) if target else handover.recipient,
        },
        reason=payload.get("reason"),
    )


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def handover_json(facts: Facts, handover: Handover, json_id: str) -> bytes:
    """The JSON file of a hand-over: the case's plain facts, the recipient, the approvals and
    exactly the fields its kind receives — codes, not labels, so a recipient's system can read
    them. Stable: sorted keys, UTF-8."""
    body = {
        "format": JSON_FORMAT,
        "document_id": json_id,
        "pdf_document_id": facts.document_id,
        "issued_at": facts.issued_at.isoformat(),
        "issued_by": facts.issued_by,
        "language": facts.language,
        "case": {
            "code": facts.case.code,
            "region": facts.case.region,
            "risk_level": facts.case.risk_level,
            "verification": facts.case.verification,
        },
        "recipient": dict(facts.recipient),
        "with_consent": handover.with_consent,
        "reason_without_consent": facts.reason,
        "requested_by": facts.proposer,
        "approved_by": facts.approver,
        "fields": {name: _plain(facts.values.get(name)) for name in facts.fields},
    }
    return (json.dumps(body, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode()


def complete(
    session: Session, user: User, handover: Handover, facts: Facts, pdf: bytes
) -> list[IssuedDocument]:
    """Issue the hand-over's PDF (drawn by the caller from ``facts``) and its JSON file, and
    record the hand-over: ``case.handed_over`` names the recipient, the fields and the SHA-256
    of each file's exact bytes."""
    json_id = new_id()
    data = handover_json(facts, handover, json_id)
    issued = [
        documents.issue(session, user, facts, pdf, handover_id=handover.id),
        documents.issue(
            session,
            user,
            facts,
            data,
            fmt=DocumentFormat.JSON,
            handover_id=handover.id,
            document_id=json_id,
        ),
    ]
    audit.append(
        session,
        actor=str(user.id),
        action="case.handed_over",
        object_type="handover",
        object_id=handover.id,
        details={
            "case_id": facts.case.id,
            "recipient": handover.recipient,
            "recipient_kind": handover.recipient_kind,
            "with_consent": handover.with_consent,
            "fields": list(facts.fields),
            "pdf_id": issued[0].id,
            "pdf_sha256": issued[0].sha256,
            "json_id": issued[1].id,
            "json_sha256": issued[1].sha256,
        },
    )
    return issued


# -- lists ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pending:
    handover: Handover
    case: Case
    requester: str
    own: bool


def awaiting(session: Session, supervisor: User) -> Sequence[Pending]:
    """Hand-overs in the supervisor's scope that wait for approval, oldest first."""
    rows = session.execute(
        select(Handover, Case, User.username)
        .join(Case, Case.id == Handover.case_id)
        .join(User, User.id == Handover.requested_by)
        .where(Handover.status == HandoverStatus.AWAITING_APPROVAL.value, scope_clause(supervisor))
        .order_by(Handover.requested_at, Handover.id)
    ).all()
    return [Pending(h, c, name, h.requested_by == supervisor.id) for h, c, name in rows]


def for_case(session: Session, case_: Case) -> list[tuple[Handover, list[IssuedDocument]]]:
    """The case's hand-overs, newest first, each with its files."""
    handovers = session.scalars(
        select(Handover)
        .where(Handover.case_id == case_.id)
        .order_by(Handover.requested_at.desc(), Handover.id)
    ).all()
    files: dict[str, list[IssuedDocument]] = {}
    for doc in session.scalars(
        select(IssuedDocument)
        .where(IssuedDocument.case_id == case_.id, IssuedDocument.handover_id.is_not(None))
        .order_by(IssuedDocument.format.desc())
    ):
        files.setdefault(str(doc.handover_id), []).append(doc)
    return [(h, files.get(h.id, [])) for h in handovers]


@dataclass(frozen=True)
class CaseOutcomes:
    """What has left, or may leave, a case: its decisions' documents, its hand-overs with their
    files, and her consent for each kind of recipient."""

    documents: list[IssuedDocument]
    handovers: list[tuple[Handover, list[IssuedDocument]]]
    consents: list[consent.ConsentState]
    names: Mapping[int, str]


def case_outcomes(
    session: Session, user: User, case_: Case, opened: consent.Opened | None = None
) -> CaseOutcomes:
    """The case page's part on documents, consent and hand-overs (from plain columns, but for
    her own report's consent, read from the reports the page ``opened``)."""
    docs = list(
        session.scalars(
            select(IssuedDocument)
            .where(IssuedDocument.case_id == case_.id, IssuedDocument.handover_id.is_(None))
            .order_by(IssuedDocument.issued_at.desc(), IssuedDocument.id)
        )
    )
    return CaseOutcomes(
        docs,
        for_case(session, case_),
        consent.states(session, user, case_, opened),
        user_names(session),
    )
