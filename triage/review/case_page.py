"""The case page: a case's reports (their sealed payloads opened, each read audited), the
messages to and from a public report's reporter, assessments (and their re-scores under
corrected rules), verification steps, decisions, notes, attachments and probable matches."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import reporter_messages, sealed
from ..models import (
    Assessment,
    AssessmentRescore,
    Attachment,
    Case,
    CaseNote,
    Decision,
    Report,
    User,
    VerificationStep,
)
from .case_queue import QueueRow, row_of
from .cases import get_case, user_names

VIEW_PURPOSE = "case.view"

# -- the case page -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened on a case; ``payload`` is its decrypted content (``None`` when
    its key was destroyed)."""

    at: datetime
    kind: str
    record: Any
    payload: Mapping[str, Any] | None
    by: str | None = None


@dataclass(frozen=True)
class CaseView:
    case: Case
    row: QueueRow
    timeline: list[TimelineEntry]
    reports: list[TimelineEntry]
    assessments: list[Assessment]
    decisions: list[Decision]
    current_assessment: Assessment | None
    #: Each report's attachments (downloading one is audited on its own).
    attachments: Mapping[str, list[Attachment]] = field(default_factory=dict)
    #: Each decision's decrypted payload (legal basis, rationale, reasons), by decision id.
    decision_payloads: Mapping[str, Mapping[str, Any] | None] = field(default_factory=dict)


def _open(session: Session, record: Any, actor: str, purpose: str) -> Mapping[str, Any] | None:
    try:
        return sealed.open_payload(session, record, actor=actor, purpose=purpose)
    except sealed.PayloadShredded:
        return None


def _attachments(session: Session, report_ids: list[str]) -> dict[str, list[Attachment]]:
    found: dict[str, list[Attachment]] = {}
    if report_ids:
        for a in session.scalars(
            select(Attachment)
            .where(Attachment.report_id.in_(report_ids))
            .order_by(Attachment.uploaded_at)
        ):
            found.setdefault(a.report_id, []).append(a)
    return found


def case_view(session: Session, user: User, ref: str, *, now: datetime | None = None) -> CaseView:
    """The case and everything recorded on it, oldest first, decrypted for ``user``.

    Each decryption is a ``payload.decrypted`` audit event with purpose ``case.view``.
    """
    found = get_case(session, user, ref)
    actor = str(user.id)
    names = user_names(session)
    entries: list[TimelineEntry] = []
    reports = []
    for r in session.scalars(
        select(Report).where(Report.case_id == found.id).order_by(Report.received_at, Report.id)
    ):
        entry = TimelineEntry(r.received_at, "report", r, _open(session, r, actor, VIEW_PURPOSE))
        entries.append(entry)
        reports.append(entry)
    public = [e.record for e in reports if e.record.public]
    for m in reporter_messages.read(session, public, actor=actor, purpose=VIEW_PURPOSE):
        by = names.get(m.written_by) if m.written_by is not None else None
        content = {"text": m.text} if m.text is not None else None
        entries.append(TimelineEntry(m.written_at, "public_message", m, content, by))
    assessments = list(
        session.scalars(
            select(Assessment)
            .where(Assessment.case_id == found.id)
            .order_by(Assessment.assessed_at, Assessment.id)
        )
    )
    for a in assessments:
        entries.append(
            TimelineEntry(
                a.assessed_at,
                "assessment",
                a,
                _open(session, a, actor, VIEW_PURPOSE),
                names.get(a.assessed_by),
            )
        )
    for rescore in session.scalars(
        select(AssessmentRescore).where(AssessmentRescore.case_id == found.id)
    ):  # codes and dates only: nothing to decrypt
        entries.append(TimelineEntry(rescore.rescored_at, "rescore", rescore, {}))
    for v in session.scalars(select(VerificationStep).where(VerificationStep.case_id == found.id)):
        entries.append(
            TimelineEntry(
                v.recorded_at,
                "verification",
                v,
                _open(session, v, actor, VIEW_PURPOSE),
                names.get(v.recorded_by),
            )
        )
    decisions = list(
        session.scalars(
            select(Decision)
            .where(Decision.case_id == found.id)
            .order_by(Decision.proposed_at, Decision.id)
        )
    )
    decision_payloads: dict[str, Mapping[str, Any] | None] = {}
    for d in decisions:
        decision_payloads[d.id] = _open(session, d, actor, VIEW_PURPOSE)
        entries.append(
            TimelineEntry(
                d.proposed_at, "decision", d, decision_payloads[d.id], names.get(d.proposed_by)
            )
        )
    for n in session.scalars(select(CaseNote).where(CaseNote.case_id == found.id)):
        entries.append(
            TimelineEntry(
                n.written_at,
                n.kind,
                n,
                _open(session, n, actor, VIEW_PURPOSE),
                names.get(n.written_by),
            )
        )
    entries.sort(key=lambda e: e.at)
    return CaseView(
        case=found,
        row=row_of(session, user, found, now),
        timeline=entries,
        reports=reports,
        assessments=assessments,
        decisions=decisions,
        current_assessment=assessments[-1] if assessments else None,
        attachments=_attachments(session, [entry.record.id for entry in reports]),
        decision_payloads=decision_payloads,
    )
