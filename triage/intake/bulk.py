"""Filing many reports in one transaction: a bulk load, the demo at scale, a benchmark.

``file_many`` does for each report what ``service.file`` does — the duplicate-source and
probable-match checks by blind index, screening, the provisional level, sealing under the
report's own data key, its blind-index tokens, its case opened (or linked) and triaged, and the
same audit events in the same order — but does the database work once per batch: one query
finds the batch's sources already on record, one finds the open cases its identifying values
match, one checks the new case codes, the rows are written in one flush (an executemany per
table) and the audit events in one more (``audit.batched``). Within a batch, a report also
matches the reports filed before it in the same batch, as it would have one transaction later.

A refusal (a source already on record, probable matches under ``on_match="ask"``) raises the
same error as ``file`` and leaves the caller's transaction to roll the whole batch back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from .. import audit
from ..crypto import Keyring
from ..errors import N_, InvalidInput
from ..models import Case, Report, ReportIndex, utcnow
from ..permissions import in_scope
from ..reports import new_case_code
from ..review.linking import LINK_KINDS, Match
from ..review.rules import ReviewRules
from ..sealed import keyring
from ..vocab import CaseStatus, ReportStatus
from .service import ConfirmLink, DuplicateSource, Filed, Incoming, _store, prepare

#: What to do with a report that probably concerns an open case: ask (``ConfirmLink``, as the
#: form does), link it to the first (oldest) matching case, or open a new case anyway.
OnMatch = Literal["ask", "link", "new"]


@dataclass(frozen=True)
class Item:
    """One report to file and who files it (``service.file``'s arguments of the same names).

    ``received_at`` back-dates a report received earlier (an import of older records, the
    demo): the report's arrival and, for a new case, its opening — which the response deadline
    counts from. Never in the future.
    """

    incoming: Incoming
    actor: str
    filed_by: int | None = None
    api_client_id: int | None = None
    user_region: str | None = None
    attested: bool = False
    received_at: datetime | None = None


@dataclass
class _Opened:
    """An open case a token leads to: the database's, or one this batch opened or linked to."""

    case: Case | None
    case_id: str
    code: str
    region: str | None
    opened_at: datetime


def _lock_sources(session: Session, tokens: Sequence[str]) -> None:
    """``service._serialise_source`` for every source of the batch, in one statement and in
    one order (so two bulk loads cannot deadlock). SQLite's write lock already serialises."""
    if not tokens or session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted({int(t[:15], 16) for t in tokens})
    session.execute(
        text(
            "SELECT pg_advisory_xact_lock(k) FROM (SELECT unnest(:keys) AS k ORDER BY 1) AS s"
        ).bindparams(bindparam("keys", type_=postgresql.ARRAY(postgresql.BIGINT))),
        {"keys": keys},
    )


def _first_reports(session: Session, tokens: Sequence[str]) -> dict[str, str]:
    """The id of the first report on record of each source token (the report itself is read
    only for the refusal)."""
    if not tokens:
        return {}
    found: dict[str, str] = {}
    rows = session.execute(
        select(ReportIndex.token, Report.id)
        .join(Report, Report.id == ReportIndex.report_id)
        .where(ReportIndex.kind == "url", ReportIndex.token.in_(sorted(set(tokens))))
        .order_by(Report.received_at)
    )
    for token, report_id in rows:
        found.setdefault(token, report_id)
    return found


def _open_cases(session: Session, tokens: Sequence[str]) -> dict[str, dict[str, _Opened]]:
    """token → the open cases whose reports carry it, with the kinds (``linking``'s query)."""
    found: dict[str, dict[str, _Opened]] = {}
    if not tokens:
        return found
    rows = session.execute(
        select(ReportIndex.token, Case.id, Case.code, Case.region, Case.opened_at)
        .join(Report, Report.case_id == Case.id)
        .join(ReportIndex, ReportIndex.report_id == Report.id)
        .where(ReportIndex.token.in_(sorted(set(tokens))), Case.status == CaseStatus.OPEN.value)
    )
    for token, case_id, code, region, opened_at in rows:
        found.setdefault(token, {})[case_id] = _Opened(None, case_id, code, region, opened_at)
    return found


def _new_codes(session: Session, count: int) -> list[str]:
    """``count`` case codes unused in the database and among themselves."""
    codes: list[str] = []
    while len(codes) < count:
        wanted = {new_case_code() for _ in range(count - len(codes))} - set(codes)
        taken = set(session.scalars(select(Case.code).where(Case.code.in_(sorted(wanted)))))
        codes += sorted(wanted - taken)
    return codes


def file_many(
    session: Session,
    items: Sequence[Item],
    *,
    on_match: OnMatch = "ask",
    ring: Keyring | None = None,
    rules: ReviewRules | None = None,
) -> list[Filed]:
    """File ``items`` in order, in the caller's transaction: all of them stored, sealed,
    indexed, triaged and audited, or — on the first refusal, raised as ``file`` raises it —
    none, once the caller's block rolls back. See the module's docstring."""
    ring = ring or keyring(session)
    rules = rules or ReviewRules()
    now = utcnow()
    if any(item.received_at is not None and item.received_at > now for item in items):
        raise InvalidInput(N_("A report cannot have been received in the future."))

    prepared = [prepare(item.incoming, ring) for item in items]
    tokens = [ready.tokens for ready in prepared]
    sources = {n: ready.source_token for n, ready in enumerate(prepared) if ready.source_token}
    _lock_sources(session, list(sources.values()))
    on_record = _first_reports(session, list(sources.values()))
    link_tokens = [t for ts in tokens for t, kind in ts.items() if kind in LINK_KINDS]
    open_cases = _open_cases(session, link_tokens)
    codes = iter(_new_codes(session, len(items)))

    filed: list[Filed] = []
    batch_sources: dict[str, Report] = {}
    index_rows: list[dict[str, str]] = []
    with audit.batched(session):
        for n, item in enumerate(items):
            token = sources.get(n)
            if token is not None:
                on_file = on_record.get(token)
                first = session.get(Report, on_file) if on_file else batch_sources.get(token)
                if first is not None:
                    case = session.get(Case, first.case_id) if first.case_id else None
                    raise DuplicateSource(first, case)
            matched: dict[str, tuple[_Opened, set[str]]] = {}
            for t, kind in tokens[n].items():
                if kind not in LINK_KINDS:
                    continue
                for opened in open_cases.get(t, {}).values():
                    if in_scope(item.user_region, opened.region):
                        matched.setdefault(opened.case_id, (opened, set()))[1].add(kind)
            ordered = sorted(matched.values(), key=lambda m: (m[0].opened_at, m[0].case_id))
            matches = [
                Match(o.case_id, o.code, o.region, tuple(sorted(kinds))) for o, kinds in ordered
            ]
            target: Case | None = None
            if matches and on_match == "ask":
                raise ConfirmLink(matches)
            if matches and on_match == "link":
                first_match = ordered[0][0]
                target = first_match.case or session.get(Case, first_match.case_id)
                assert target is not None
            report, case = _store(
                session,
                item.incoming,
                prepared[n],
                target,
                actor=item.actor,
                filed_by=item.filed_by,
                api_client_id=item.api_client_id,
                attested=item.attested,
                ring=ring,
                rules=rules,
                code=next(codes),
                received_at=item.received_at or now,
            )
            index_rows.extend(
                {"report_id": report.id, "kind": kind, "token": token}
                for kind, token in sorted((kind, token) for token, kind in tokens[n].items())
            )
            if token is not None:
                batch_sources[token] = report
            opened = _Opened(case, case.id, case.code, case.region, case.opened_at)
            for t, kind in tokens[n].items():
                if kind in LINK_KINDS:
                    open_cases.setdefault(t, {})[case.id] = opened
            if target is not None:
                report.status = ReportStatus.LINKED.value
                audit.append(
                    session,
                    actor=item.actor,
                    action="report.linked",
                    object_type="report",
                    object_id=report.id,
                    details={
                        "case_id": target.id,
                        "how": "on_filing",
                        "matched": ",".join(matches[0].kinds),
                    },
                )
            filed.append(Filed(report, case, target is not None, matches))
        session.flush()  # the reports first: their tokens refer to them
        if index_rows:
            session.execute(insert(ReportIndex), index_rows)
    return filed
