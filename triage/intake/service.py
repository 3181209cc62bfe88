"""Filing a validated report: duplicate and probable-match checks by blind index, screening of
media and online text, the provisional level, sealing, attachments, and linking to a case.

The forms, the JSON API and feed import all call ``file``. A report whose source URL is already
on record is refused with a pointer to the first; a report whose victim (name and birth date),
IIN or phone number matches an open case is a *probable match*: the caller either names the
case to link it to, or confirms it is a new case.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from .. import audit, normalise, screening
from ..crypto import Keyring
from ..errors import Conflict, DomainError, InvalidInput, NotFound
from ..models import (
    Assessment,
    Attachment,
    Case,
    CaseNote,
    Decision,
    Report,
    ReportIndex,
    VerificationStep,
    utcnow,
)
from ..permissions import in_scope
from ..reports import IndexValue, file_report
from ..review.cases import provisional_level, triage_case
from ..review.rules import rules_of
from ..sealed import keyring, open_payload, seal
from ..vocab import (
    CaseStatus,
    Region,
    ReporterKind,
    ReportStatus,
    RiskLevel,
    SourceKind,
    Verification,
)
from .attachments import Upload, attach
from .schema import DirectReport, MediaReport, OnlineReport, Person, sealed_payload

Incoming = DirectReport | MediaReport | OnlineReport
LINK_KINDS = ("victim", "aggressor", "iin", "phone")


class DuplicateSource(Conflict):
    """The same source URL was reported before. Which report and case is for the caller to show
    only to those who may see them (``visible_to``)."""

    def __init__(self, report: Report, case: Case | None) -> None:
        self.report_id = report.id
        self.filed_by = report.filed_by
        self.api_client_id = report.api_client_id
        self.case_code = case.code if case else None
        self.case_region = case.region if case else report.region
        super().__init__("This source is already on record.")

    def visible_to(self, user_id: int, user_region: str | None) -> bool:
        return self.filed_by == user_id or in_scope(user_region, self.case_region)


@dataclass(frozen=True)
class Match:
    """An open case that shares an identifying value with the new report."""

    case_id: str
    case_code: str
    region: str | None
    kinds: tuple[str, ...]


class ConfirmLink(DomainError):
    """Probable matches exist: the caller must pick a case to link to or confirm a new one."""

    status = 409

    def __init__(self, matches: Sequence[Match]) -> None:
        self.matches = list(matches)
        super().__init__("This report probably concerns a case already on record.")


@dataclass
class Filed:
    report: Report
    case: Case
    linked: bool
    matches: list[Match] = field(default_factory=list)


def _person_values(person: Person, role: str) -> list[IndexValue]:
    values = []
    if person.name and person.birth_date:
        values.append(IndexValue(role, normalise.name_and_birth(person.name, person.birth_date)))
    if person.iin:
        values.append(IndexValue("iin", normalise.iin(person.iin)))
    if person.phone:
        values.append(IndexValue("phone", normalise.phone(person.phone)))
    return values


def index_values(incoming: Incoming) -> list[IndexValue]:
    """The identifying values of a report, normalised for blind indexing."""
    if isinstance(incoming, DirectReport):
        return _person_values(incoming.victim, "victim") + _person_values(
            incoming.aggressor, "aggressor"
        )
    if isinstance(incoming, MediaReport):
        return [IndexValue("url", normalise.url(incoming.url))]
    return [IndexValue("url", normalise.url(incoming.post_url))]


def _tokens(ring: Keyring, values: Iterable[IndexValue]) -> dict[str, str]:
    """token → kind"""
    return {ring.blind_index(v.kind, v.normalised): v.kind for v in values if v.normalised}


def _serialise_source(session: Session, token: str) -> None:
    """Hold a lock on this source URL until the transaction ends, so two requests filing the same
    URL at once cannot both find it new. (SQLite's write lock already serialises them.)"""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": int(token[:15], 16)})


def find_source(session: Session, ring: Keyring, url: str) -> Report | None:
    """The first report of this source URL, if any."""
    token = ring.blind_index("url", normalise.url(url))
    _serialise_source(session, token)
    return session.scalar(
        select(Report)
        .join(ReportIndex, ReportIndex.report_id == Report.id)
        .where(ReportIndex.kind == "url", ReportIndex.token == token)
        .order_by(Report.received_at)
        .limit(1)
    )


def find_matches(session: Session, ring: Keyring, values: Iterable[IndexValue]) -> list[Match]:
    """Open cases whose reports share a victim, aggressor, IIN or phone token with ``values``."""
    tokens = {t: k for t, k in _tokens(ring, values).items() if k in LINK_KINDS}
    return _cases_with_tokens(session, tokens)


def matches_of(session: Session, report: Report) -> list[Match]:
    """Other open cases that share an identifying value with a stored report."""
    rows = session.execute(
        select(ReportIndex.token, ReportIndex.kind).where(
            ReportIndex.report_id == report.id, ReportIndex.kind.in_(LINK_KINDS)
        )
    )
    tokens = {token: kind for token, kind in rows}
    return [m for m in _cases_with_tokens(session, tokens) if m.case_id != report.case_id]


def _cases_with_tokens(session: Session, tokens: dict[str, str]) -> list[Match]:
    if not tokens:
        return []
    rows = session.execute(
        select(Case.id, Case.code, Case.region, ReportIndex.kind)
        .join(Report, Report.case_id == Case.id)
        .join(ReportIndex, ReportIndex.report_id == Report.id)
        .where(ReportIndex.token.in_(tokens), Case.status == CaseStatus.OPEN.value)
        .order_by(Case.opened_at)
    )
    found: dict[str, tuple[str, str | None, set[str]]] = {}
    for case_id, code, region, kind in rows:
        found.setdefault(case_id, (code, region, set()))[2].add(kind)
    return [
        Match(cid, code, region, tuple(sorted(kinds)))
        for cid, (code, region, kinds) in found.items()
    ]


def _screen(incoming: Incoming) -> tuple[list[str], RiskLevel]:
    """Screening signals of a media or online text, and the report's provisional level from
    those signals and its incident categories (review's rule, so the queue agrees)."""
    if isinstance(incoming, MediaReport):
        kinds = sorted(screening.screen(f"{incoming.headline}\n\n{incoming.text}").kinds)
    elif isinstance(incoming, OnlineReport):
        kinds = sorted(screening.screen(incoming.captured_text).kinds)
    else:  # a direct report's narrative says as much about urgency as an article does
        kinds = sorted(screening.screen(incoming.narrative).kinds)
    return kinds, provisional_level(kinds, [c.value for c in incoming.categories])


def _starting_verification(incoming: Incoming, *, attested: bool) -> Verification:
    """A report from the victim herself starts corroborated — when a caseworker took it."""
    if attested and isinstance(incoming, DirectReport) and incoming.reporter == ReporterKind.VICTIM:
        return Verification.CORROBORATED
    return Verification.UNVERIFIED


def file(
    session: Session,
    incoming: Incoming,
    *,
    actor: str,
    filed_by: int | None = None,
    api_client_id: int | None = None,
    user_region: str | None = None,
    link_case_id: str | None = None,
    new_case: bool = False,
    uploads: Sequence[Upload] = (),
    attested: bool = False,
    ring: Keyring | None = None,
) -> Filed:
    """File ``incoming`` in one transaction: all of it is stored, sealed and audited, or nothing.

    ``user_region`` is the filer's scope: matches outside it are not revealed, and a report can
    only be linked to a case the filer may see. ``attested`` says a caseworker took the report
    and answers for who made it: only then does "the victim herself" make it corroborated and
    "she filed a complaint" count as her complaint. A machine client's word is not enough to
    unlock measures against anyone. With probable matches and neither
    ``link_case_id`` nor ``new_case``, ``ConfirmLink`` is raised and nothing is stored.
    """
    ring = ring or keyring()
    source_url = (
        incoming.url
        if isinstance(incoming, MediaReport)
        else incoming.post_url
        if isinstance(incoming, OnlineReport)
        else None
    )
    if source_url:
        first = find_source(session, ring, source_url)
        if first is not None:
            raise DuplicateSource(
                first, session.get(Case, first.case_id) if first.case_id else None
            )

    values = index_values(incoming)
    matches = [m for m in find_matches(session, ring, values) if in_scope(user_region, m.region)]
    target: Case | None = None
    if link_case_id:
        target = session.get(Case, link_case_id)
        if target is None or not in_scope(user_region, target.region):
            raise NotFound("There is no such case to link to.")
        if target.status != CaseStatus.OPEN.value:
            raise Conflict("That case is closed; file the report as a new case.")
    elif matches and not new_case:
        raise ConfirmLink(matches)

    signals, provisional = _screen(incoming)
    verification = _starting_verification(incoming, attested=attested)
    victim_complaint = attested and isinstance(incoming, DirectReport) and incoming.victim_complaint
    region = Region(incoming.region) if incoming.region else None
    report = file_report(
        session,
        source_kind=SourceKind(incoming.source_kind),
        payload=sealed_payload(incoming),
        actor=actor,
        filed_by=filed_by,
        region=region,
        occurred_on=incoming.occurred_on,
        categories=[c.value for c in incoming.categories],
        victim_complaint=victim_complaint,
        verification=verification,
        indexes=values,
        case=target,
        ring=ring,
    )
    report.api_client_id = api_client_id
    report.signals = signals
    report.risk_level = provisional.value
    case = target if target is not None else session.get(Case, report.case_id)
    assert case is not None
    _raise_case(session, case, provisional, verification, victim_complaint, region, actor=actor)
    for upload in uploads:
        attach(session, report, upload, actor=actor, uploaded_by=filed_by, ring=ring)
    if target is not None:
        report.status = ReportStatus.LINKED.value
        audit.append(
            session,
            actor=actor,
            action="report.linked",
            object_type="report",
            object_id=report.id,
            details={
                "case_id": target.id,
                "how": "on_filing",
                "matched": ",".join(
                    sorted({k for m in matches if m.case_id == target.id for k in m.kinds})
                )
                or "by_hand",
            },
        )
    session.flush()
    return Filed(report, case, target is not None, matches)


def _raise_case(
    session: Session,
    case: Case,
    provisional: RiskLevel,
    verification: Verification,
    victim_complaint: bool,
    region: Region | None,
    *,
    actor: str,
) -> None:
    """A new report can make its case more urgent, corroborated or complained of; never less.

    While the case has no assessment its level is provisional: the new report's level raises it,
    and the response deadline (configured in review's rules) moves with it.
    """
    raise_level = RiskLevel(provisional).rank > RiskLevel(case.risk_level).rank
    if case.risk_provisional and (case.deadline_at is None or raise_level):
        level = provisional if raise_level else RiskLevel(case.risk_level)
        triage_case(session, case, level, rules_of(), actor=actor)
    if (
        verification == Verification.CORROBORATED
        and case.verification == Verification.UNVERIFIED.value
    ):
        case.verification = verification.value
    if victim_complaint:
        case.victim_complaint = True
    if case.region is None and region is not None:
        case.region = region.value


def link(
    session: Session, report: Report, case: Case, *, actor: str, user_region: str | None
) -> None:
    """Move a report into a probably matching open case (the filer's or a reviewer's decision).

    Only into a case that really shares an identifying value with the report; and only out of
    a case nobody has started working on: once it is claimed, assessed or decided, merging it is
    a reviewer's judgement, not a side effect. The target inherits what the report brings
    (urgency, corroboration, the victim's complaint); a case left with no report is closed as a
    duplicate.
    """
    if report.case_id == case.id:
        return
    matching = {m.case_id for m in matches_of(session, report) if in_scope(user_region, m.region)}
    if case.id not in matching:
        raise NotFound("That case does not match this report.")
    previous = session.get(Case, report.case_id) if report.case_id else None
    alone = previous is not None and not session.scalar(
        select(Report.id).where(Report.case_id == previous.id, Report.id != report.id)
    )
    if previous is not None and alone and _worked_on(session, previous):
        raise Conflict(
            "The report's own case is already being worked on; ask its reviewer to merge it."
        )
    report.case_id = case.id
    report.status = ReportStatus.LINKED.value
    audit.append(
        session,
        actor=actor,
        action="report.linked",
        object_type="report",
        object_id=report.id,
        details={
            "case_id": case.id,
            "from_case_id": previous.id if previous else None,
            "how": "confirmed",
        },
    )
    level = RiskLevel(report.risk_level) if report.risk_level else RiskLevel.STANDARD
    verification = Verification(report.verification)
    complaint = previous.victim_complaint if previous is not None and alone else False
    region = Region(report.region) if report.region else None
    _raise_case(session, case, level, verification, complaint, region, actor=actor)
    session.flush()
    if previous is not None and alone:
        previous.status = CaseStatus.CLOSED.value
        previous.outcome = "duplicate"
        previous.closed_at = utcnow()
        previous.claimed_by = None
        previous.claim_expires_at = None
        audit.append(
            session,
            actor=actor,
            action="case.closed",
            object_type="case",
            object_id=previous.id,
            details={"outcome": "duplicate", "into_case_id": case.id},
        )


def _worked_on(session: Session, case: Case) -> bool:
    """Whether anyone has claimed, assessed, verified or decided anything on the case."""
    if case.claimed_by is not None or not case.risk_provisional:
        return True
    for model in (Assessment, Decision, VerificationStep, CaseNote):
        if session.scalar(select(model.id).where(model.case_id == case.id).limit(1)):
            return True
    return False


# -- the caseworker's own reports --------------------------------------------------------------


def my_reports(
    session: Session, user_id: int, *, limit: int = 200
) -> list[tuple[Report, Case | None, int]]:
    """Reports the user filed, newest first, with their case and attachment count."""
    counts = (
        select(Attachment.report_id, func.count().label("n"))
        .group_by(Attachment.report_id)
        .subquery()
    )
    rows = session.execute(
        select(Report, Case, func.coalesce(counts.c.n, 0))
        .outerjoin(Case, Case.id == Report.case_id)
        .outerjoin(counts, counts.c.report_id == Report.id)
        .where(Report.filed_by == user_id)
        .order_by(Report.received_at.desc())
        .limit(limit)
    )
    return [(r, c, int(n)) for r, c, n in rows]


def own_report(session: Session, report_id: str, user_id: int) -> Report:
    """A report the user filed; anything else is "not found", so ids reveal nothing."""
    report = session.get(Report, report_id)
    if report is None or report.filed_by != user_id:
        raise NotFound("There is no such report among yours.")
    return report


def add_information(
    session: Session,
    report: Report,
    text: str,
    *,
    actor: str,
    uploads: Sequence[Upload] = (),
    uploaded_by: int | None = None,
) -> None:
    """Append a dated addition to the sealed payload and/or attach files."""
    text = text.strip()
    if not text and not uploads:
        raise InvalidInput("Write the new information or attach a file.")
    if len(text) > 20_000:
        raise InvalidInput("The new information may have at most 20000 characters.")
    for upload in uploads:
        attach(session, report, upload, actor=actor, uploaded_by=uploaded_by)
    if text:
        payload = open_payload(session, report, actor=actor, purpose="report.amend")
        additions = list(payload.get("additions", []))
        additions.append({"at": utcnow().isoformat(timespec="seconds"), "by": actor, "text": text})
        payload["additions"] = additions
        seal(session, report, payload)
        audit.append(
            session,
            actor=actor,
            action="report.amended",
            object_type="report",
            object_id=report.id,
            details={"additions": len(additions)},
        )
