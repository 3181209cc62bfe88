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
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from .. import audit, normalise, screening
from ..crypto import Keyring
from ..errors import N_, Conflict, DomainError, InvalidInput, NotFound
from ..models import (
    Attachment,
    Case,
    Report,
    ReportIndex,
    User,
    new_id,
    utcnow,
)
from ..permissions import in_scope
from ..reports import IndexValue, new_case_code
from ..review.linking import Match, find_matches, link, matches_of
from ..review.rules import ReviewRules
from ..review.triaging import provisional_level, raise_case, set_level
from ..sealed import keyring, open_payload, seal
from ..uow import UnitOfWork
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


class DuplicateSource(Conflict):
    """The same source URL was reported before. Which report and case is for the caller to show
    only to those who may see them (``visible_to``)."""

    def __init__(self, report: Report, case: Case | None) -> None:
        self.report_id = report.id
        self.filed_by = report.filed_by
        self.api_client_id = report.api_client_id
        self.case_code = case.code if case else None
        self.case_region = case.region if case else report.region
        super().__init__(N_("This source is already on record."))

    def visible_to(self, user_id: int, user_region: str | None) -> bool:
        return self.filed_by == user_id or in_scope(user_region, self.case_region)


class ConfirmLink(DomainError):
    """Probable matches exist: the caller must pick a case to link to or confirm a new one."""

    status = 409

    def __init__(self, matches: Sequence[Match]) -> None:
        self.matches = list(matches)
        super().__init__(N_("This report probably concerns a case already on record."))


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
    return _first_of_source(session, ring.blind_index("url", normalise.url(url)))


def _first_of_source(session: Session, token: str) -> Report | None:
    _serialise_source(session, token)
    return session.scalar(
        select(Report)
        .join(ReportIndex, ReportIndex.report_id == Report.id)
        .where(ReportIndex.kind == "url", ReportIndex.token == token)
        .order_by(Report.received_at)
        .limit(1)
    )


def _screen(incoming: Incoming) -> tuple[list[str], RiskLevel]:
    """Screening signals of a media or online text, and the report's provisional level from
    those signals and its incident categories (review's rule, so the queue agrees).

    The signals are the lexicon's rules' (``screening.rules``), the same ones ``screen`` returns;
    the model's probability is not needed for them and would cost ten times as much."""
    if isinstance(incoming, MediaReport):
        kinds = sorted(screening.rules(f"{incoming.headline}\n\n{incoming.text}").kinds)
    elif isinstance(incoming, OnlineReport):
        kinds = sorted(screening.rules(incoming.captured_text).kinds)
    else:  # a direct report's narrative says as much about urgency as an article does
        kinds = sorted(screening.rules(incoming.narrative).kinds)
    return kinds, provisional_level(kinds, [c.value for c in incoming.categories])


def _starting_verification(incoming: Incoming, *, attested: bool) -> Verification:
    """A report from the victim herself starts corroborated — when a caseworker took it."""
    if attested and isinstance(incoming, DirectReport) and incoming.reporter == ReporterKind.VICTIM:
        return Verification.CORROBORATED
    return Verification.UNVERIFIED


@dataclass(frozen=True)
class Prepared:
    """What filing works out from the report alone, with no database: its screening signals and
    provisional level, its sealed payload and its blind-index tokens.

    ``prepare`` makes it before the transaction opens, so that the work that needs only the
    CPU is not done while the transaction holds SQLite's write lock (which every other worker's
    writes wait for) or PostgreSQL's locks on the source and the audit chain.
    """

    signals: list[str]
    provisional: RiskLevel
    payload: dict[str, Any]
    values: list[IndexValue]
    #: token → kind, of every value that has a normal form
    tokens: dict[str, str]
    #: the source URL's token, for a media or online report
    source_token: str | None


def prepare(incoming: Incoming, ring: Keyring) -> Prepared:
    values = index_values(incoming)
    tokens = _tokens(ring, values)
    signals, provisional = _screen(incoming)
    return Prepared(
        signals=signals,
        provisional=provisional,
        payload=sealed_payload(incoming),
        values=values,
        tokens=tokens,
        source_token=next((t for t, kind in tokens.items() if kind == "url"), None),
    )


def _new_code(session: Session) -> str:
    """A case code no case has (``reports.new_case_code`` is random: a clash is rare)."""
    while True:
        code = new_case_code()
        if session.scalar(select(Case.id).where(Case.code == code)) is None:
            return code


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
    rules: ReviewRules | None = None,
    prepared: Prepared | None = None,
) -> Filed:
    """File ``incoming`` in one transaction: all of it is stored, sealed and audited, or nothing.

    ``user_region`` is the filer's scope: matches outside it are not revealed, and a report can
    only be linked to a case the filer may see. ``attested`` says a caseworker took the report
    and answers for who made it: only then does "the victim herself" make it corroborated and
    "she filed a complaint" count as her complaint. A machine client's word is not enough to
    unlock measures against anyone. With probable matches and neither
    ``link_case_id`` nor ``new_case``, ``ConfirmLink`` is raised and nothing is stored.

    ``prepared`` is ``prepare(incoming, ring)`` made before the transaction began. The report,
    its data key, its case and its blind-index tokens are written in one flush, and its audit
    events (``case.opened``, ``report.filed``, ``case.triaged``, then any ``attachment.added``
    and ``report.linked``) in one more statement (``audit.batched``).
    """
    ring = ring or keyring(session)
    rules = rules or ReviewRules()
    ready = prepared or prepare(incoming, ring)
    if ready.source_token is not None:
        first = _first_of_source(session, ready.source_token)
        if first is not None:
            raise DuplicateSource(
                first, session.get(Case, first.case_id) if first.case_id else None
            )

    matches = [
        m for m in find_matches(session, ring, ready.values) if in_scope(user_region, m.region)
    ]
    target: Case | None = None
    if link_case_id:
        target = session.get(Case, link_case_id)
        if target is None or not in_scope(user_region, target.region):
            raise NotFound(N_("There is no such case to link to."))
        if target.status != CaseStatus.OPEN.value:
            raise Conflict(N_("That case is closed; file the report as a new case."))
    elif matches and not new_case:
        raise ConfirmLink(matches)

    with audit.batched(session):
        with session.no_autoflush:  # the chain's head is read without writing the case early
            report, case = _store(
                session,
                incoming,
                ready,
                target,
                actor=actor,
                filed_by=filed_by,
                api_client_id=api_client_id,
                attested=attested,
                ring=ring,
                rules=rules,
            )
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
        session.flush()  # the report first: its tokens refer to it (and have no relationship)
        if ready.tokens:
            session.execute(
                insert(ReportIndex),
                [
                    {"report_id": report.id, "kind": kind, "token": token}
                    for kind, token in sorted((kind, token) for token, kind in ready.tokens.items())
                ],
            )
    return Filed(report, case, target is not None, matches)


def _store(
    session: Session,
    incoming: Incoming,
    ready: Prepared,
    target: Case | None,
    *,
    actor: str,
    filed_by: int | None,
    api_client_id: int | None,
    attested: bool,
    ring: Keyring,
    rules: ReviewRules,
    code: str | None = None,
    received_at: datetime | None = None,
) -> tuple[Report, Case]:
    """The report's rows, in ``target`` or a new case of its own (coded ``code``, or a fresh
    code), added to the session without a flush (as ``reports.file_report`` writes them), and
    their events appended; its tokens are the caller's to insert once the report is flushed.
    ``received_at`` back-dates the report and its new case (a bulk load); by default, now."""
    verification = _starting_verification(incoming, attested=attested)
    complaint = attested and isinstance(incoming, DirectReport) and incoming.victim_complaint
    region = Region(incoming.region) if incoming.region else None
    now = received_at or utcnow()
    case = target
    if case is None:
        case = Case(
            id=new_id(),
            code=code or _new_code(session),
            region=region.value if region else None,
            verification=verification.value,
            victim_complaint=complaint,
            opened_at=now,
            risk_level=RiskLevel.STANDARD.value,
            risk_provisional=True,
        )
        session.add(case)
        audit.append(
            session, actor=actor, action="case.opened", object_type="case", object_id=case.id
        )
    report = Report(
        id=new_id(),
        case=case,
        source_kind=SourceKind(incoming.source_kind).value,
        received_at=now,
        region=region.value if region else None,
        occurred_on=incoming.occurred_on,
        categories=sorted({c.value for c in incoming.categories}),
        status=ReportStatus.RECEIVED.value,
        verification=verification.value,
        filed_by=filed_by,
        api_client_id=api_client_id,
        signals=ready.signals,
        risk_level=ready.provisional.value,
        payload_version=1,
    )
    session.add(report)
    seal(session, report, ready.payload, ring=ring, flush=False)
    audit.append(
        session,
        actor=actor,
        action="report.filed",
        object_type="report",
        object_id=report.id,
        details={
            "source_kind": report.source_kind,
            "case_id": case.id,
            "indexes": len(ready.tokens),
        },
    )
    if target is None:  # ``raise_case`` on a case this report opened: its level is the report's
        set_level(case, ready.provisional, rules, provisional=True)
        audit.append(
            session,
            actor=actor,
            action="case.triaged",
            object_type="case",
            object_id=case.id,
            details={"level": ready.provisional.value, "provisional": True},
        )
    else:
        raise_case(
            session,
            case,
            ready.provisional,
            verification,
            complaint,
            region,
            rules,
            actor=actor,
        )
    return report, case


def submit(
    uow: UnitOfWork,
    incoming: Incoming,
    *,
    actor: str,
    **filing: Any,
) -> Filed:
    """``file`` in a unit of work of its own, the report prepared (``prepare``) before the block
    opens; the refusals that must be on record are audited in a second block after the first
    rolled back.

    A repeated source is a ``report.refused`` event (who tried to file what was already there);
    probable matches are a ``report.match_checked`` event (nothing was stored, but looking up who
    matches is itself a read of the blind indexes). Either error is raised on to the caller.
    """
    kind = incoming.source_kind
    ready = prepare(incoming, filing.get("ring") or uow.keyring.current)  # before the locks
    try:
        with uow.begin() as session:
            return file(session, incoming, actor=actor, prepared=ready, **filing)
    except ConfirmLink as exc:
        kinds = sorted({k for m in exc.matches for k in m.kinds})
        with uow.begin() as session:
            audit.append(
                session,
                actor=actor,
                action="report.match_checked",
                object_type="report",
                details={
                    "matches": len(exc.matches),
                    "kinds": ",".join(kinds),
                    "source_kind": kind,
                },
            )
        raise
    except DuplicateSource as exc:
        with uow.begin() as session:
            audit.append(
                session,
                actor=actor,
                action="report.refused",
                object_type="report",
                object_id=exc.report_id,
                details={"reason": "duplicate_source", "source_kind": kind},
            )
        raise


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
        raise NotFound(N_("There is no such report among yours."))
    return report


@dataclass
class ReportPage:
    """What the filer sees of her report: its sealed payload (the read is audited), its case, its
    attachments and the probable matches in her scope."""

    report: Report
    payload: dict[str, Any]
    case: Case | None
    files: list[Attachment]
    matches: list[Match]


def report_page(session: Session, user: User, report_id: str) -> ReportPage:
    report = own_report(session, report_id, user.id)
    payload = open_payload(session, report, actor=str(user.id), purpose="report.view")
    case = session.get(Case, report.case_id) if report.case_id else None
    files = session.scalars(
        select(Attachment).where(Attachment.report_id == report.id).order_by(Attachment.uploaded_at)
    ).all()
    matches = [m for m in matches_of(session, report) if in_scope(user.region, m.region)]
    return ReportPage(report, payload, case, list(files), matches)


def link_own(
    session: Session, user: User, report_id: str, case_id: str, *, rules: ReviewRules
) -> Case:
    """The filer moves her report into a probably matching case (``linking.link`` decides)."""
    report = own_report(session, report_id, user.id)
    case = session.get(Case, case_id)
    if case is None or not in_scope(user.region, case.region):
        raise NotFound(N_("That case does not match this report."))
    link(session, report, case, actor=str(user.id), user_region=user.region, rules=rules)
    return case


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
        raise InvalidInput(N_("Write the new information or attach a file."))
    if len(text) > 20_000:
        raise InvalidInput(N_("The new information may have at most %(n)d characters."), n=20_000)
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
