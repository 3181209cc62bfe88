"""Documents that leave triage: what each one holds, gathering exactly that from the sealed
store, and issuing it — its bytes sealed, its id and SHA-256 in the audit log — so that a printed
or e-mailed copy can be checked against the log.

A document is issued for an approved decision (the measure's own document: a protective order,
a petition to the court, a referral) or as part of a hand-over (``triage.handover``). Each kind
lists the fields it needs; ``gather`` opens only the records those fields come from (every
opening is an audited read naming the document), and nothing else reaches the page. How the page
looks is the web layer's (``templates/documents/``, drawn to PDF by WeasyPrint); the rules,
the data and the record are here.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, sealed
from .errors import N_, Conflict, InvalidInput, NotFound
from .legal import Ground, LegalGrounds
from .models import (
    Case,
    Decision,
    DocumentFormat,
    IssuedDocument,
    RecipientKind,
    Report,
    User,
    new_id,
)
from .review import consent
from .review.cases import get_case, user_names, utcnow
from .review.decisions import get_for
from .vocab import DecisionStatus, SourceKind

__all__ = [
    "DOCUMENTS",
    "LANGUAGES",
    "DocumentKind",
    "DocumentNotFound",
    "DocumentRefused",
    "DocumentSpec",
    "Facts",
    "check",
    "document_for_measure",
    "download",
    "gather",
    "issue",
    "prepare_for_decision",
]

#: The languages a document can be issued in.
LANGUAGES = ("kk", "ru", "en")

#: How large an issued document may be: a typo guard far above any real one.
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


class DocumentNotFound(NotFound):
    title = N_("No such document")

    def __init__(self, message: str = "", **params: object) -> None:
        super().__init__(message or N_("There is no such document in your scope."), **params)


class DocumentRefused(Conflict):
    title = N_("This document cannot be issued")


class DocumentKind(StrEnum):
    PROTECTIVE_ORDER = "protective_order"
    PETITION_SPECIAL_REQUIREMENTS = "petition_special_requirements"
    PETITION_COMPULSORY_ASSISTANCE = "petition_compulsory_assistance"
    REFERRAL_INVESTIGATORS = "referral_investigators"
    REFERRAL_SUPPORT = "referral_support"
    #: A case handed over to a recipient (``triage.handover``).
    HANDOVER = "handover"


# -- the fields a document may hold -------------------------------------------------------------

#: A person's fields, as a direct report records them.
PERSON = ("name", "birth_date", "iin", "phone", "address")
#: Every field any document or hand-over may hold, in the order documents list them. The names
#: go into the audit log: they say *which* data left, never the data.
FIELDS = (
    *(f"victim.{f}" for f in PERSON),
    "victim.safe_contact",
    "victim.wishes",
    *(f"aggressor.{f}" for f in PERSON),
    "relationship",
    "incident.occurred_on",
    "incident.place",
    "incident.categories",
    "incident.children_present",
    "incident.narrative",
    "sources",
    "decision.rationale",
    "decisions",
)
_AGGRESSOR_ID = ("aggressor.name", "aggressor.birth_date", "aggressor.iin", "aggressor.address")
#: Fields that come from the case's direct reports.
_DIRECT = frozenset(
    f for f in FIELDS if f.split(".")[0] in {"victim", "aggressor", "incident", "relationship"}
)
_DIRECT_KEYS = {
    "victim.safe_contact": "safe_contact",
    "victim.wishes": "wishes",
    "relationship": "relationship",
    "incident.place": "place",
    "incident.children_present": "children_present",
    "incident.narrative": "narrative",
}


@dataclass(frozen=True)
class DocumentSpec:
    """One kind of document: the measure it is for (``None`` for a hand-over), its title and the
    fields it holds. ``needs_consent`` names the recipient kind whose consent it needs."""

    kind: DocumentKind
    measure: str | None
    title: str
    fields: tuple[str, ...]
    needs_consent: RecipientKind | None = None


DOCUMENTS: Mapping[DocumentKind, DocumentSpec] = {
    spec.kind: spec
    for spec in (
        DocumentSpec(
            DocumentKind.PROTECTIVE_ORDER,
            "protective_order",
            N_("Protective order"),
            (*_AGGRESSOR_ID, "victim.name", "relationship"),
        ),
        DocumentSpec(
            DocumentKind.PETITION_SPECIAL_REQUIREMENTS,
            "special_requirements",
            N_("Petition to the court for special requirements on the aggressor's behaviour"),
            (
                *_AGGRESSOR_ID,
                "victim.name",
                "relationship",
                "incident.occurred_on",
                "incident.categories",
                "decision.rationale",
            ),
        ),
        DocumentSpec(
            DocumentKind.PETITION_COMPULSORY_ASSISTANCE,
            "compulsory_assistance",
            N_("Petition for court-ordered compulsory medical or psychological assistance"),
            (
                *_AGGRESSOR_ID,
                "relationship",
                "incident.occurred_on",
                "incident.categories",
                "decision.rationale",
            ),
        ),
        DocumentSpec(
            DocumentKind.REFERRAL_INVESTIGATORS,
            "criminal_referral",
            N_("Referral to investigators"),
            (
                *_AGGRESSOR_ID,
                "victim.name",
                "victim.birth_date",
                "victim.iin",
                "relationship",
                "incident.occurred_on",
                "incident.place",
                "incident.categories",
                "incident.children_present",
                "incident.narrative",
                "sources",
                "decision.rationale",
            ),
        ),
        DocumentSpec(
            DocumentKind.REFERRAL_SUPPORT,
            "refer_support",
            N_("Referral to a support service"),
            (
                "victim.name",
                "victim.safe_contact",
                "victim.wishes",
                "incident.categories",
                "incident.children_present",
            ),
            needs_consent=RecipientKind.SUPPORT,
        ),
    )
}


def document_for_measure(measure: str) -> DocumentSpec | None:
    """The document a measure needs, if it needs one."""
    return next((s for s in DOCUMENTS.values() if s.measure == measure), None)


# -- gathering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """Everything one document prints, gathered and checked; nothing else is decrypted."""

    document_id: str
    kind: DocumentKind
    title: str
    language: str
    case: Case
    fields: tuple[str, ...]
    #: The field values by name (``FIELDS``); a field with nothing recorded is ``None``.
    values: Mapping[str, Any]
    issued_at: datetime
    issued_by: str
    decision: Decision | None = None
    grounds: tuple[Ground, ...] = ()
    #: The typed addition to the grounds (an article the list does not have).
    addition: str | None = None
    proposer: str | None = None
    approver: str | None = None
    #: For a hand-over: the recipient's code, kind and name, and why without her consent.
    recipient: Mapping[str, str] = field(default_factory=dict)
    reason: str | None = None


def _latest(values: Iterable[Any]) -> Any:
    found = None
    for value in values:
        if value not in (None, "", [], {}):
            found = value
    return found


def gather(
    session: Session,
    user: User,
    case_: Case,
    wanted: Sequence[str],
    *,
    purpose: str,
    decision_payload: Mapping[str, Any] | None = None,
    legal: LegalGrounds | None = None,
) -> dict[str, Any]:
    """The values of the ``wanted`` fields of a case. Opens the case's direct reports only if a
    field needs them, its media and online reports only for ``sources``; every opening is an
    audited read naming ``purpose``. Where several reports record a field, the latest value
    counts."""
    unknown = [f for f in wanted if f not in FIELDS]
    if unknown:
        raise ValueError(f"unknown document fields: {', '.join(unknown)}")
    values: dict[str, Any] = dict.fromkeys(wanted)
    reports = list(
        session.scalars(
            select(Report).where(Report.case_id == case_.id).order_by(Report.received_at, Report.id)
        )
    )
    if "incident.categories" in values:
        values["incident.categories"] = sorted({c for r in reports for c in r.categories or ()})
    if "incident.occurred_on" in values:
        values["incident.occurred_on"] = _latest(r.occurred_on for r in reports)
    direct_wanted = [f for f in wanted if f in _DIRECT and f not in _PLAIN_INCIDENT]
    if direct_wanted:
        payloads = _open_all(session, user, reports, {SourceKind.DIRECT.value}, purpose)
        for name in direct_wanted:
            values[name] = _latest(_direct_value(p, name) for _r, p in payloads)
    if "sources" in values:
        payloads = _open_all(
            session, user, reports, {SourceKind.MEDIA.value, SourceKind.ONLINE.value}, purpose
        )
        values["sources"] = [_source(r, p) for r, p in payloads]
    if "decision.rationale" in values and decision_payload is not None:
        values["decision.rationale"] = decision_payload.get("rationale")
    if "decisions" in values:
        values["decisions"] = _decisions(session, case_, legal)
    return values


_PLAIN_INCIDENT = frozenset({"incident.categories", "incident.occurred_on"})


def _open_all(
    session: Session, user: User, reports: Sequence[Report], kinds: set[str], purpose: str
) -> list[tuple[Report, dict[str, Any]]]:
    opened = []
    for report in reports:
        if report.source_kind not in kinds:
            continue
        try:
            opened.append(
                (report, sealed.open_payload(session, report, actor=str(user.id), purpose=purpose))
            )
        except sealed.PayloadShredded:
            continue
    return opened


def _direct_value(payload: Mapping[str, Any], name: str) -> Any:
    if name in _DIRECT_KEYS:
        return payload.get(_DIRECT_KEYS[name])
    who, _, key = name.partition(".")
    person = payload.get(who)
    return person.get(key) if isinstance(person, Mapping) else None


def _source(report: Report, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Where a media or online report came from: enough to find it, not its text."""
    if report.source_kind == SourceKind.MEDIA.value:
        return {
            "kind": report.source_kind,
            "outlet": payload.get("outlet"),
            "url": payload.get("url"),
            "published_on": payload.get("published_on"),
            "headline": payload.get("headline"),
        }
    return {
        "kind": report.source_kind,
        "platform": payload.get("platform"),
        "url": payload.get("post_url"),
        "captured_at": payload.get("captured_at"),
    }


def _decisions(session: Session, case_: Case, legal: LegalGrounds | None) -> list[dict[str, Any]]:
    """The case's measures in effect or ended, from plain columns: measure, grounds, dates."""
    names = user_names(session)
    rows = session.scalars(
        select(Decision)
        .where(
            Decision.case_id == case_.id,
            Decision.status.in_([DecisionStatus.IN_EFFECT.value, DecisionStatus.ENDED.value]),
        )
        .order_by(Decision.proposed_at, Decision.id)
    )
    return [
        {
            "measure": d.measure,
            "status": d.shown_status,
            "grounds": list(d.grounds or ()),
            "starts_on": d.starts_on.isoformat() if d.starts_on else None,
            "ends_on": d.ends_on.isoformat() if d.ends_on else None,
            "proposed_by": names.get(d.proposed_by),
            "approved_by": names.get(d.approved_by) if d.approved_by else None,
        }
        for d in rows
    ]


def _language(language: str) -> str:
    if language not in LANGUAGES:
        raise InvalidInput(N_("Choose the document's language from the list."))
    return language


def prepare_for_decision(
    session: Session,
    user: User,
    decision_id: str,
    *,
    language: str,
    legal: LegalGrounds,
    now: datetime | None = None,
) -> Facts:
    """The facts of the document an approved decision's measure needs, gathered for printing.

    Refused (``DocumentRefused``) for a decision that is not in effect — proposed, rejected,
    withdrawn or ended — for a measure that has no document, and for a referral that shares the
    victim's data without her recorded yes. A decision outside the user's scope is not found.
    """
    now = now or utcnow()
    language = _language(language)
    decision, found = get_for(session, user, decision_id)
    spec = document_for_measure(decision.measure)
    if spec is None:
        raise DocumentRefused(N_("This measure has no document to issue."))
    if decision.shown_status != DecisionStatus.IN_EFFECT.value:
        raise DocumentRefused(
            N_(
                "A document is issued only for a decision in effect: this one is not approved, "
                "was withdrawn or rejected, or has ended."
            )
        )
    if spec.needs_consent is not None:
        consent.require(session, user, found, spec.needs_consent)
    purpose = f"document.{spec.kind.value}"
    payload = sealed.open_payload(session, decision, actor=str(user.id), purpose=purpose)
    names = user_names(session)
    return Facts(
        document_id=new_id(),
        kind=spec.kind,
        title=spec.title,
        language=language,
        case=found,
        fields=spec.fields,
        values=gather(session, user, found, spec.fields, purpose=purpose, decision_payload=payload),
        issued_at=now,
        issued_by=user.username,
        decision=decision,
        grounds=legal.known(decision.grounds or ()),
        addition=payload.get("legal_basis") or None,
        proposer=names.get(decision.proposed_by),
        approver=names.get(decision.approved_by) if decision.approved_by else None,
    )


# -- issuing, downloading, checking -------------------------------------------------------------


def issue(
    session: Session,
    user: User,
    facts: Facts,
    data: bytes,
    *,
    fmt: DocumentFormat = DocumentFormat.PDF,
    handover_id: str | None = None,
    document_id: str | None = None,
) -> IssuedDocument:
    """Record a document as issued: its bytes sealed under a data key of its own, its id and
    SHA-256 in the plain columns and in a ``document.issued`` event that names the fields it
    holds, never their values."""
    if not data or len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentRefused(N_("The document could not be produced; nothing was issued."))
    digest = hashlib.sha256(data).hexdigest()
    doc = IssuedDocument(
        id=document_id or facts.document_id,
        case_id=facts.case.id,
        decision_id=facts.decision.id if facts.decision is not None else None,
        handover_id=handover_id,
        kind=facts.kind.value,
        format=fmt.value,
        language=facts.language,
        sha256=digest,
        size=len(data),
        issued_by=user.id,
        issued_at=facts.issued_at,
        payload_version=1,
    )
    session.add(doc)
    sealed.seal(session, doc, {"bytes": base64.b64encode(data).decode("ascii")})
    session.flush()
    audit.append(
        session,
        actor=str(user.id),
        action="document.issued",
        object_type="document",
        object_id=doc.id,
        details={
            "case_id": facts.case.id,
            "decision_id": doc.decision_id,
            "handover_id": handover_id,
            "kind": doc.kind,
            "format": doc.format,
            "language": doc.language,
            "sha256": digest,
            "size": doc.size,
            "fields": list(facts.fields),
        },
    )
    return doc


def get_document(session: Session, user: User, document_id: str) -> tuple[IssuedDocument, Case]:
    """An issued document whose case is in the user's scope; ``DocumentNotFound`` otherwise."""
    doc = (
        session.get(IssuedDocument, document_id) if document_id and len(document_id) <= 36 else None
    )
    if doc is None:
        raise DocumentNotFound()
    try:
        found = get_case(session, user, doc.case_id)
    except NotFound:
        raise DocumentNotFound() from None
    return doc, found


def download(session: Session, user: User, document_id: str) -> tuple[IssuedDocument, bytes]:
    """The exact bytes of an issued document; the read is audited (``document.downloaded``)."""
    doc, found = get_document(session, user, document_id)
    try:
        payload = sealed.open_payload(session, doc, actor=str(user.id), purpose="document.download")
    except sealed.PayloadShredded:
        raise DocumentNotFound(N_("This document was erased with its case.")) from None
    data = base64.b64decode(payload["bytes"])
    audit.append(
        session,
        actor=str(user.id),
        action="document.downloaded",
        object_type="document",
        object_id=doc.id,
        details={"case_id": found.id, "kind": doc.kind, "format": doc.format, "sha256": doc.sha256},
    )
    return doc, data


@dataclass(frozen=True)
class CheckResult:
    """What a document check found: the issued document the bytes are, and its case's code."""

    document: IssuedDocument
    case_code: str
    issued_by: str


def check(session: Session, actor: User, data: bytes) -> CheckResult | None:
    """Whether ``data`` is, byte for byte, a document triage issued (by its SHA-256); the check
    is audited either way. Only the document's id, kind, case code and issuing are told."""
    digest = hashlib.sha256(data).hexdigest()
    doc = session.scalars(select(IssuedDocument).where(IssuedDocument.sha256 == digest)).first()
    audit.append(
        session,
        actor=str(actor.id),
        action="document.checked",
        object_type="document",
        object_id=doc.id if doc is not None else None,
        details={"sha256": digest, "found": doc is not None},
    )
    if doc is None:
        return None
    case_code = session.scalar(select(Case.code).where(Case.id == doc.case_id)) or ""
    return CheckResult(doc, case_code, user_names(session).get(doc.issued_by, ""))
