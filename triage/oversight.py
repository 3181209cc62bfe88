"""The auditor's view of a case: its plain facts (code, region, level, verification, dates), its
reports as source kinds and dates, its assessments, decisions and who proposed and approved
them, her consent answers, the documents and hand-overs as ids and hashes, and the audit events
about it, paged.

Everything here comes from plain columns and the audit log, whose details hold ids and codes
only: nothing sealed is opened on this path (it runs in a read-only block, where the audited
read ``sealed.open_payload`` could not even write its event), so the view holds no person's
data. Each view is on record as ``audit.case_viewed``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session, defer

from . import audit
from .errors import N_, InvalidInput
from .models import (
    Assessment,
    AssessmentRescore,
    Attachment,
    AuditEvent,
    Case,
    CaseNote,
    Decision,
    Handover,
    IssuedDocument,
    Report,
    SealedMixin,
    User,
    VerificationStep,
    VictimConsent,
    utcnow,
)
from .review.cases import get_case
from .vocab import SourceKind

__all__ = [
    "PAGE_SIZE",
    "AssessmentFacts",
    "CaseAudit",
    "CaseFacts",
    "ConsentFacts",
    "DecisionFacts",
    "DocumentFacts",
    "EventRow",
    "HandoverFacts",
    "ReportFacts",
    "RescoreFacts",
    "Staff",
    "Timeline",
    "VerificationFacts",
    "case_audit",
    "find",
    "record_view",
    "timeline_clause",
]

#: Audit events per page of a case's timeline.
PAGE_SIZE = 50


@dataclass(frozen=True)
class Staff:
    """A staff account as the page names it: staff data, not a person's data."""

    id: int
    username: str
    role: str


@dataclass(frozen=True)
class CaseFacts:
    id: str
    code: str
    region: str | None
    status: str
    outcome: str | None
    risk_level: str
    risk_provisional: bool
    risk_score: int | None
    verification: str
    victim_complaint: bool
    opened_at: datetime
    deadline_at: datetime | None
    closed_at: datetime | None
    claimed_by: Staff | None


@dataclass(frozen=True)
class ReportFacts:
    id: str
    source_kind: str
    received_at: datetime
    status: str
    verification: str
    screening_verdict: str | None
    filed_by: Staff | None
    via_api: bool
    attachments: int


@dataclass(frozen=True)
class AssessmentFacts:
    id: str
    assessed_at: datetime
    assessed_by: Staff | None
    checklist_version: int
    checklist_revision: int
    score: int
    unknown_count: int
    incomplete: bool
    prior_level: str | None
    computed_level: str
    level: str
    overridden: bool
    kept_level: bool
    override_status: str | None
    override_decided_by: Staff | None
    override_decided_at: datetime | None


@dataclass(frozen=True)
class RescoreFacts:
    rescored_at: datetime
    assessment_id: str
    checklist_version: int
    revision_before: int
    revision_after: int
    computed_before: str
    computed_after: str
    level_before: str | None
    level_after: str | None
    lowering_waits: bool


@dataclass(frozen=True)
class VerificationFacts:
    recorded_at: datetime
    recorded_by: Staff | None
    outcome: str
    method: str | None


@dataclass(frozen=True)
class DecisionFacts:
    id: str
    measure: str
    tier: str
    #: The status as of the view's day (a measure past its end date shows as ended).
    status: str
    grounds: tuple[str, ...]
    because: tuple[str, ...]
    against_victim_wishes: bool
    starts_on: date | None
    ends_on: date | None
    follow_up_on: date | None
    proposed_by: Staff | None
    proposed_at: datetime
    approved_by: Staff | None
    approved_at: datetime | None
    rejected_by: Staff | None
    rejected_at: datetime | None
    followed_up_by: Staff | None
    followed_up_at: datetime | None


@dataclass(frozen=True)
class ConsentFacts:
    recipient_kind: str
    answer: str
    method: str
    recorded_by: Staff | None
    recorded_at: datetime
    #: The latest answer for its kind of recipient: the one in force.
    in_force: bool


@dataclass(frozen=True)
class DocumentFacts:
    id: str
    kind: str
    format: str
    language: str
    sha256: str
    size: int
    issued_by: Staff | None
    issued_at: datetime
    decision_id: str | None
    #: The measure of the decision it was issued for, if any.
    measure: str | None


@dataclass(frozen=True)
class HandoverFacts:
    id: str
    recipient: str
    recipient_kind: str
    language: str
    status: str
    with_consent: bool
    #: The names of the fields handed over (never their values).
    fields: tuple[str, ...]
    requested_by: Staff | None
    requested_at: datetime
    decided_by: Staff | None
    decided_at: datetime | None
    files: tuple[DocumentFacts, ...]


@dataclass(frozen=True)
class EventRow:
    """One audit event about the case, as the chain holds it, with its actor named."""

    seq: int
    at: str
    actor: str
    staff: Staff | None
    action: str
    object_type: str | None
    object_id: str | None
    details: str


@dataclass(frozen=True)
class Timeline:
    events: tuple[EventRow, ...]
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class CaseAudit:
    case: CaseFacts
    reports: tuple[ReportFacts, ...]
    #: How many reports of each source kind, in the vocabulary's order (kinds with none left out).
    source_counts: tuple[tuple[str, int], ...]
    assessments: tuple[AssessmentFacts, ...]
    rescores: tuple[RescoreFacts, ...]
    verifications: tuple[VerificationFacts, ...]
    decisions: tuple[DecisionFacts, ...]
    consents: tuple[ConsentFacts, ...]
    documents: tuple[DocumentFacts, ...]
    handovers: tuple[HandoverFacts, ...]
    timeline: Timeline


class _Staff:
    """Staff accounts by id, loaded once (id, username and role only: the account's sealed
    payload is never read)."""

    def __init__(self, session: Session, ids: Iterable[int | None]) -> None:
        wanted = {i for i in ids if i is not None}
        self._found: dict[int, Staff] = {}
        if wanted:
            rows = session.execute(
                select(User.id, User.username, User.role).where(User.id.in_(wanted))
            )
            self._found = {uid: Staff(uid, name, role) for uid, name, role in rows}

    def __call__(self, user_id: int | None) -> Staff | None:
        return None if user_id is None else self._found.get(user_id)


def _plain(model: type[SealedMixin]) -> Select[Any]:
    """``select(model)`` that never loads the sealed payload: the column is not fetched, and
    touching it raises instead of loading it."""
    return select(model).options(defer(model.payload, raiseload=True))


#: The object types the chain uses for each of a case's records (its table's name, which
#: ``payload.decrypted`` and ``record.purged`` use, and the name its own actions use).
_OBJECT_TYPES: Mapping[type[Any], tuple[str, ...]] = {
    Case: ("case", "case_file"),
    Report: ("report",),
    Attachment: ("attachment",),
    Assessment: ("assessment",),
    AssessmentRescore: ("assessment_rescore",),
    VerificationStep: ("verification_step",),
    Decision: ("decision",),
    CaseNote: ("case_note",),
    VictimConsent: ("victim_consent",),
    Handover: ("handover",),
    IssuedDocument: ("document", "issued_document"),
}


def timeline_clause(
    case_id: str, records: Mapping[str, Iterable[str]], since_seq: int | None
) -> ColumnElement[bool]:
    """The events about a case: those whose object is the case or one of its records
    (``records``: object type → ids), and those whose details name the case's id. The case's
    id is a random UUID that nothing can name before the case exists, so the search of the
    details starts at the case's first event (``since_seq``); the objects are found through the
    index on (object_type, object_id)."""
    named: ColumnElement[bool] = AuditEvent.details.contains(case_id, autoescape=True)
    if since_seq is not None:
        named = and_(AuditEvent.seq >= since_seq, named)
    objects = [
        and_(AuditEvent.object_type == kind, AuditEvent.object_id.in_(sorted(ids)))
        for kind, ids in sorted(records.items())
        if ids
    ]
    return or_(*objects, named)


_CODE = re.compile(r"(?:C-?)?([0-9A-Z]{4})-?([0-9A-Z]{4})")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def find(session: Session, user: User, typed: str) -> str:
    """The code of the case that a typed code (``C-7K3Q-M9XD``, in any case, dashes optional)
    or id names. ``InvalidInput`` if it is neither, ``CaseNotFound`` if there is no such case:
    neither message repeats what was typed."""
    text = "".join((typed or "").split())
    if _UUID.fullmatch(text.lower()):
        ref = text.lower()
    elif found := _CODE.fullmatch(text.upper()):
        ref = f"C-{found[1]}-{found[2]}"
    else:
        raise InvalidInput(
            N_("Write the case's code, like C-7K3Q-M9XD, or its id as the audit log shows it.")
        )
    return get_case(session, user, ref).code


def case_audit(
    session: Session, user: User, ref: str, *, page: int = 1, now: datetime | None = None
) -> CaseAudit:
    """The case with this code or id as an auditor sees it, and page ``page`` of its audit
    events, oldest first. ``CaseNotFound`` if there is none in the user's region scope (an
    auditor has none: every case)."""
    now = now or utcnow()
    found = get_case(session, user, ref)
    of_case = found.id
    reports = list(
        session.scalars(
            _plain(Report).where(Report.case_id == of_case).order_by(Report.received_at, Report.id)
        )
    )
    report_ids = [r.id for r in reports]
    attachments = (
        session.execute(
            select(Attachment.id, Attachment.report_id).where(Attachment.report_id.in_(report_ids))
        ).all()
        if report_ids
        else []
    )
    assessments = list(
        session.scalars(
            _plain(Assessment)
            .where(Assessment.case_id == of_case)
            .order_by(Assessment.assessed_at, Assessment.id)
        )
    )
    rescores = list(
        session.scalars(
            select(AssessmentRescore)
            .where(AssessmentRescore.case_id == of_case)
            .order_by(AssessmentRescore.rescored_at, AssessmentRescore.id)
        )
    )
    steps = list(
        session.scalars(
            _plain(VerificationStep)
            .where(VerificationStep.case_id == of_case)
            .order_by(VerificationStep.recorded_at, VerificationStep.id)
        )
    )
    decisions = list(
        session.scalars(
            _plain(Decision)
            .where(Decision.case_id == of_case)
            .order_by(Decision.proposed_at, Decision.id)
        )
    )
    note_ids = list(session.scalars(select(CaseNote.id).where(CaseNote.case_id == of_case)))
    consents = list(
        session.scalars(
            _plain(VictimConsent)
            .where(VictimConsent.case_id == of_case)
            .order_by(VictimConsent.recorded_at.desc(), VictimConsent.id.desc())
        )
    )
    handovers = list(
        session.scalars(
            _plain(Handover)
            .where(Handover.case_id == of_case)
            .order_by(Handover.requested_at, Handover.id)
        )
    )
    documents = list(
        session.scalars(
            _plain(IssuedDocument)
            .where(IssuedDocument.case_id == of_case)
            .order_by(IssuedDocument.issued_at, IssuedDocument.id)
        )
    )

    records: dict[str, set[str]] = {}
    for model, ids in (
        (Case, [of_case]),
        (Report, report_ids),
        (Attachment, [a.id for a in attachments]),
        (Assessment, [a.id for a in assessments]),
        (AssessmentRescore, [r.id for r in rescores]),
        (VerificationStep, [v.id for v in steps]),
        (Decision, [d.id for d in decisions]),
        (CaseNote, note_ids),
        (VictimConsent, [c.id for c in consents]),
        (Handover, [h.id for h in handovers]),
        (IssuedDocument, [d.id for d in documents]),
    ):
        for kind in _OBJECT_TYPES[model]:
            records.setdefault(kind, set()).update(ids)
    first = session.scalar(
        select(func.min(AuditEvent.seq)).where(
            AuditEvent.object_type == "case", AuditEvent.object_id == of_case
        )
    )
    clause = timeline_clause(of_case, records, first)
    # The matching sequence numbers first (each part of the clause through its index), then
    # the page's events by number: an ORDER BY ... OFFSET over the clause would walk the chain.
    seqs = sorted(session.scalars(select(AuditEvent.seq).where(clause)))
    total = len(seqs)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    shown = seqs[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    events = (
        list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.seq.in_(shown)).order_by(AuditEvent.seq)
            )
        )
        if shown
        else []
    )

    staff = _Staff(
        session,
        [
            found.claimed_by,
            *(r.filed_by for r in reports),
            *(a.assessed_by for a in assessments),
            *(a.override_decided_by for a in assessments),
            *(v.recorded_by for v in steps),
            *(
                uid
                for d in decisions
                for uid in (d.proposed_by, d.approved_by, d.rejected_by, d.followed_up_by)
            ),
            *(c.recorded_by for c in consents),
            *(uid for h in handovers for uid in (h.requested_by, h.decided_by)),
            *(d.issued_by for d in documents),
            *(int(e.actor) for e in events if e.actor.isdigit()),
        ],
    )
    measure_of = {d.id: d.measure for d in decisions}
    shown_documents = [_document(d, staff, measure_of) for d in documents]
    files: dict[str, list[DocumentFacts]] = {}
    for doc, row in zip(shown_documents, documents, strict=True):
        if row.handover_id is not None:
            files.setdefault(row.handover_id, []).append(doc)
    attached = Counter(report_id for _id, report_id in attachments)
    kinds = Counter(r.source_kind for r in reports)
    in_force: set[str] = set()
    shown_consents = []
    for c in consents:  # newest first: the first answer for a kind is the one in force
        shown_consents.append(
            ConsentFacts(
                c.recipient_kind,
                c.answer,
                c.method,
                staff(c.recorded_by),
                c.recorded_at,
                c.recipient_kind not in in_force,
            )
        )
        in_force.add(c.recipient_kind)

    return CaseAudit(
        case=CaseFacts(
            id=found.id,
            code=found.code,
            region=found.region,
            status=found.status,
            outcome=found.outcome,
            risk_level=found.risk_level,
            risk_provisional=found.risk_provisional,
            risk_score=found.risk_score,
            verification=found.verification,
            victim_complaint=found.victim_complaint,
            opened_at=found.opened_at,
            deadline_at=found.deadline_at,
            closed_at=found.closed_at,
            claimed_by=staff(found.claimed_by),
        ),
        reports=tuple(
            ReportFacts(
                id=r.id,
                source_kind=r.source_kind,
                received_at=r.received_at,
                status=r.status,
                verification=r.verification,
                screening_verdict=r.screening_verdict,
                filed_by=staff(r.filed_by),
                via_api=r.api_client_id is not None,
                attachments=attached[r.id],
            )
            for r in reports
        ),
        source_counts=tuple((k.value, kinds[k.value]) for k in SourceKind if kinds[k.value]),
        assessments=tuple(_assessment(a, staff) for a in assessments),
        rescores=tuple(
            RescoreFacts(
                rescored_at=r.rescored_at,
                assessment_id=r.assessment_id,
                checklist_version=r.checklist_version,
                revision_before=r.revision_before,
                revision_after=r.revision_after,
                computed_before=r.computed_before,
                computed_after=r.computed_after,
                level_before=r.level_before,
                level_after=r.level_after,
                lowering_waits=r.lowering_waits,
            )
            for r in rescores
        ),
        verifications=tuple(
            VerificationFacts(v.recorded_at, staff(v.recorded_by), v.outcome, v.method)
            for v in steps
        ),
        decisions=tuple(_decision(d, staff, now.date()) for d in decisions),
        consents=tuple(shown_consents),
        documents=tuple(
            doc for doc, row in zip(shown_documents, documents, strict=True) if not row.handover_id
        ),
        handovers=tuple(
            HandoverFacts(
                id=h.id,
                recipient=h.recipient,
                recipient_kind=h.recipient_kind,
                language=h.language,
                status=h.status,
                with_consent=h.with_consent,
                fields=tuple(h.fields or ()),
                requested_by=staff(h.requested_by),
                requested_at=h.requested_at,
                decided_by=staff(h.decided_by),
                decided_at=h.decided_at,
                files=tuple(files.get(h.id, ())),
            )
            for h in handovers
        ),
        timeline=Timeline(
            events=tuple(
                EventRow(
                    seq=e.seq,
                    at=e.at,
                    actor=e.actor,
                    staff=staff(int(e.actor)) if e.actor.isdigit() else None,
                    action=e.action,
                    object_type=e.object_type,
                    object_id=e.object_id,
                    details=e.details,
                )
                for e in events
            ),
            total=total,
            page=page,
            pages=pages,
        ),
    )


def _assessment(a: Assessment, staff: _Staff) -> AssessmentFacts:
    return AssessmentFacts(
        id=a.id,
        assessed_at=a.assessed_at,
        assessed_by=staff(a.assessed_by),
        checklist_version=a.checklist_version,
        checklist_revision=a.checklist_revision,
        score=a.score,
        unknown_count=a.unknown_count,
        incomplete=a.incomplete,
        prior_level=a.prior_level,
        computed_level=a.computed_level,
        level=a.level,
        overridden=a.overridden,
        kept_level=a.kept_level,
        override_status=a.override_status,
        override_decided_by=staff(a.override_decided_by),
        override_decided_at=a.override_decided_at,
    )


def _decision(d: Decision, staff: _Staff, today: date) -> DecisionFacts:
    return DecisionFacts(
        id=d.id,
        measure=d.measure,
        tier=d.tier,
        status=d.status_on(today),
        grounds=tuple(d.grounds or ()),
        because=d.because,
        against_victim_wishes=d.against_victim_wishes,
        starts_on=d.starts_on,
        ends_on=d.ends_on,
        follow_up_on=d.follow_up_on,
        proposed_by=staff(d.proposed_by),
        proposed_at=d.proposed_at,
        approved_by=staff(d.approved_by),
        approved_at=d.approved_at,
        rejected_by=staff(d.rejected_by),
        rejected_at=d.rejected_at,
        followed_up_by=staff(d.followed_up_by),
        followed_up_at=d.followed_up_at,
    )


def _document(d: IssuedDocument, staff: _Staff, measure_of: Mapping[str, str]) -> DocumentFacts:
    return DocumentFacts(
        id=d.id,
        kind=d.kind,
        format=d.format,
        language=d.language,
        sha256=d.sha256,
        size=d.size,
        issued_by=staff(d.issued_by),
        issued_at=d.issued_at,
        decision_id=d.decision_id,
        measure=measure_of.get(d.decision_id) if d.decision_id else None,
    )


def record_view(session: Session, case_id: str, *, actor: str, page: int) -> audit.Appended:
    """``audit.case_viewed``: who looked at which case (and which page of its events)."""
    return audit.append(
        session,
        actor=actor,
        action="audit.case_viewed",
        object_type="case",
        object_id=case_id,
        details={"case_id": case_id, "page": page},
    )
