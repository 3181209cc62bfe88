"""Statistics for supervisors, auditors and admins: reports, decisions, cases and verifications
counted from plain columns, grouped in SQL, and suppressed (``triage.suppression``) before any
figure leaves this module.

Nothing here reads a sealed payload or touches the keyring: every figure is a count of codes and
dates that the tables keep in the clear. What each figure means is in docs/statistics.md; the
definitions that matter are here, next to the queries:

- **the period** is whole days in UTC, ``start`` to ``end`` inclusive. Reports count by when they
  were received, decisions by when they were proposed, the time to a first decision by when the
  case was opened. Overdue cases are counted as of now, whatever the period: an old case still
  waiting is the one that most needs counting.
- **the week** of a report is the ISO week (Monday to Sunday, UTC) of its ``received_at``.
- **a decision in effect** is one whose measure took effect: ``in_effect`` (and ``ended``, an
  effect whose end date has passed; ``approved``, the older name of the same state). It took
  effect when it was approved or, if it needed no approval, when it was proposed.
- **the time to a first decision** of a case runs from its opening (its first report) to the
  moment its first decision took effect; the median is in hours, by the case's risk level now.
  Cases without a decision in effect yet are not in it (they are in the overdue count once
  their deadline has passed).
- **an overdue case** is open, past its response deadline (``scoring.is_overdue``: strictly
  after it, as in the queue), and has no decision in effect. The queue's own count of overdue
  cases leaves out the last condition: there, a case past its deadline stays flagged until it
  is closed.
- **verification** counts media and online reports whose source was corroborated or found
  unfounded; the share found unfounded is the false-report risk that the bill's critics named.

Scope: a user scoped to a region sees that region's figures only, whatever the filters ask for
(reports by their own region, cases and decisions by the case's).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    extract,
    func,
    literal,
    literal_column,
    select,
    true,
)
from sqlalchemy.orm import Session

from . import audit, measures
from .errors import N_, InvalidInput
from .models import Case, Decision, Report
from .suppression import SMALL, Cell, Grid, Published, suppress_together
from .vocab import CaseStatus, DecisionStatus, Region, RiskLevel, SourceKind, Verification

__all__ = [
    "DECISIONS_BY_MEASURE",
    "MAX_PERIOD_DAYS",
    "NO_REGION",
    "OUTCOMES",
    "OVERDUE_CASES",
    "REPORTS_BY_LEVEL",
    "REPORTS_BY_REGION",
    "REPORTS_BY_WEEK",
    "TABLES",
    "TIME_TO_DECISION",
    "TOTAL",
    "VERIFICATION",
    "Filters",
    "Statistics",
    "Table",
    "compute",
    "csv_safe",
    "csv_text",
    "record_download",
    "record_view",
    "week_code",
    "week_start",
]

REPORTS_BY_REGION = "reports_by_region"
REPORTS_BY_LEVEL = "reports_by_level"
REPORTS_BY_WEEK = "reports_by_week"
DECISIONS_BY_MEASURE = "decisions_by_measure"
TIME_TO_DECISION = "time_to_first_decision"
OVERDUE_CASES = "overdue_cases"
VERIFICATION = "verification"

#: Every table, in the order pages show them.
TABLES = (
    REPORTS_BY_REGION,
    REPORTS_BY_LEVEL,
    REPORTS_BY_WEEK,
    DECISIONS_BY_MEASURE,
    TIME_TO_DECISION,
    OVERDUE_CASES,
    VERIFICATION,
)

#: The row of reports that have no region yet; the code of totals in files.
NO_REGION = "none"
TOTAL = "total"

#: The longest period one page covers (about three years of weekly rows).
MAX_PERIOD_DAYS = 3 * 366
#: The period when none is given: this week and the twelve before it.
DEFAULT_WEEKS = 13

#: How decisions end up, in the order tables show them. The older states ``proposed`` and
#: ``approved`` (no current code writes them) count as awaiting approval and in effect.
OUTCOMES = (
    DecisionStatus.AWAITING_APPROVAL.value,
    DecisionStatus.IN_EFFECT.value,
    DecisionStatus.ENDED.value,
    DecisionStatus.REJECTED.value,
    DecisionStatus.WITHDRAWN.value,
)
_IN_EFFECT = (
    DecisionStatus.IN_EFFECT.value,
    DecisionStatus.APPROVED.value,
    DecisionStatus.ENDED.value,
)
_LEVELS = (RiskLevel.HIGH.value, RiskLevel.MEDIUM.value, RiskLevel.STANDARD.value)
_VERIFIED = (Verification.CORROBORATED.value, Verification.UNFOUNDED.value)
_CHECKED_SOURCES = (SourceKind.MEDIA.value, SourceKind.ONLINE.value)


# -- filters -------------------------------------------------------------------------------------


def week_start(day: date) -> date:
    """The Monday of ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())


def week_code(monday: date) -> str:
    """``2026-W05``: the ISO year and week of the week starting on ``monday``."""
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


_EARLIEST, _LATEST = date(1900, 1, 1), date(2999, 12, 31)


@dataclass(frozen=True)
class Filters:
    """What a page of statistics covers: whole days in UTC, ``start`` to ``end`` inclusive, and
    one region or all."""

    start: date
    end: date
    region: str | None = None

    @classmethod
    def of(
        cls,
        *,
        start: date | None,
        end: date | None,
        region: str | None,
        scope: str | None,
        today: date,
    ) -> Filters:
        """The filters as asked, checked; ``scope`` (a user's region) overrides ``region``.

        Without dates: this ISO week and the twelve before it, up to today."""
        # Weeks are counted either side of the period: a date near the calendar's ends would
        # overflow (a 500) rather than find no reports.
        for day in (start, end):
            if day is not None and not _EARLIEST <= day <= _LATEST:
                raise InvalidInput(N_("Choose dates between the years 1900 and 2999."))
        end = end or (today if start is None else max(start, today))
        start = start or week_start(end) - timedelta(weeks=DEFAULT_WEEKS - 1)
        if start > end:
            raise InvalidInput(N_("The start of the period must not be after its end."))
        if (end - start).days >= MAX_PERIOD_DAYS:
            raise InvalidInput(
                N_("The period is too long: at most %(days)d days."), days=MAX_PERIOD_DAYS
            )
        if scope is not None:
            region = scope
        if region:
            try:
                region = Region(region).value
            except ValueError:
                raise InvalidInput(N_("There is no such region.")) from None
        return cls(start=start, end=end, region=region or None)

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time(), UTC)

    @property
    def until(self) -> datetime:
        """The first moment after the period."""
        return datetime.combine(self.end + timedelta(days=1), time(), UTC)

    def weeks(self) -> list[date]:
        """The Mondays of every ISO week the period touches."""
        first, last = week_start(self.start), week_start(self.end)
        return [first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]

    def details(self) -> dict[str, str | None]:
        """For audit events: the filters as codes."""
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "region": self.region}


# -- results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """One aggregate as it may be shown: row and column codes with the published cells.

    A two-way table has ``columns`` and row totals; a one-way table has none (its single column
    of counts is ``published.cells[i][0]``). ``row_kind`` and ``column_kind`` name the label
    tables of the codes (``region``, ``level``, ``week``, ``measure``, ``decision_status``,
    ``source_kind``, ``verification``).
    """

    name: str
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    published: Published
    row_kind: str
    column_kind: str | None = None
    #: The time table's medians in hours, by row, and over all rows; ``None`` where fewer than
    #: 5 cases are behind it.
    medians: tuple[float | None, ...] | None = None
    median_total: float | None = None
    #: The column whose share of each row total is given (the unfounded reports), by row and
    #: overall; ``None`` where a cell it needs is hidden or the total is 0.
    share_of: str | None = None
    shares: tuple[float | None, ...] | None = None
    share_total: float | None = None

    @property
    def one_way(self) -> bool:
        return self.published.row_totals is None

    def cell_rows(self) -> list[tuple[str, tuple[Cell, ...], Cell]]:
        """(row code, its cells, its total) for each row; the total of a one-way row is its
        only cell."""
        totals = self.published.row_totals
        return [
            (code, cells, totals[i] if totals is not None else cells[0])
            for i, (code, cells) in enumerate(zip(self.rows, self.published.cells, strict=True))
        ]

    def plotted(self) -> list[list[int | None]]:
        """What a chart may draw: shown counts, ``None`` for every hidden one (columns × rows)."""
        width = max(1, len(self.columns))
        return [[row[j].count for row in self.published.cells] for j in range(width)]

    def as_dict(self) -> dict[str, Any]:
        """The table for JSON: codes, and each cell as its count or "<5" / "x"."""

        def value(cell: Cell) -> int | str:
            return cell.count if cell.count is not None else cell.text

        body: dict[str, Any] = {
            "rows": list(self.rows),
            "columns": list(self.columns),
            "cells": [[value(c) for c in row] for row in self.published.cells],
            "column_totals": [value(c) for c in self.published.column_totals],
            "total": value(self.published.total),
        }
        if self.published.row_totals is not None:
            body["row_totals"] = [value(c) for c in self.published.row_totals]
        if self.medians is not None:
            body["median_hours"] = list(self.medians)
            body["median_hours_total"] = self.median_total
        if self.shares is not None:
            body["share_of"] = self.share_of
            body["shares"] = list(self.shares)
            body["share_total"] = self.share_total
        return body

    def long_rows(self) -> Iterable[tuple[str, str, str]]:
        """(row, column, value) for every cell and total, codes and shown text (a CSV of all
        tables stacks these)."""
        columns = self.columns or (TOTAL,)
        for code, cells, row_total in self.cell_rows():
            for column, cell in zip(columns, cells, strict=True):
                yield code, column, cell.text
            if not self.one_way:
                yield code, TOTAL, row_total.text
        for column, cell in zip(columns, self.published.column_totals, strict=True):
            yield TOTAL, column, cell.text
        if not self.one_way:
            yield TOTAL, TOTAL, self.published.total.text
        if self.medians is not None:
            for code, median in zip(self.rows, self.medians, strict=True):
                yield code, "median_hours", _number(median)
            yield TOTAL, "median_hours", _number(self.median_total)
        if self.shares is not None:
            for code, share in zip(self.rows, self.shares, strict=True):
                yield code, f"share_{self.share_of}", _number(share)
            yield TOTAL, f"share_{self.share_of}", _number(self.share_total)


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


@dataclass(frozen=True)
class Statistics:
    filters: Filters
    #: When the figures were counted (overdue is as of this moment).
    counted_at: datetime
    tables: tuple[Table, ...] = field(default=())

    def table(self, name: str) -> Table:
        for found in self.tables:
            if found.name == name:
                return found
        raise KeyError(name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "filters": {
                "from": self.filters.start.isoformat(),
                "to": self.filters.end.isoformat(),
                "region": self.filters.region,
            },
            "counted_at": self.counted_at.isoformat(),
            "suppression": {"below": SMALL, "small": f"<{SMALL}", "complement": "x"},
            "tables": {t.name: t.as_dict() for t in self.tables},
        }


# -- the queries ---------------------------------------------------------------------------------


def _reports(filters: Filters) -> list[ColumnElement[bool]]:
    where = [Report.received_at >= filters.since, Report.received_at < filters.until]
    if filters.region:
        where.append(Report.region == filters.region)
    return where


def _case_region(filters: Filters) -> ColumnElement[bool]:
    return Case.region == filters.region if filters.region else true()


def _week_of(session: Session, moment: Any) -> ColumnElement[Any]:
    """The Monday of a moment's ISO week (UTC), in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        utc = func.timezone(literal_column("'UTC'"), moment)
        return func.date(func.date_trunc(literal_column("'week'"), utc))
    # SQLite keeps UTC moments as text: the next Sunday (or this one), then back six days.
    return func.date(moment, literal_column("'weekday 0'"), literal_column("'-6 days'"))


def _seconds_between(session: Session, later: Any, earlier: Any) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


#: A SELECT of key columns, any number of them.
Keys = Select[*tuple[Any, ...]]


def _counts(session: Session, keys: Keys) -> dict[tuple[Any, ...], int]:
    """How many rows ``keys`` selects for each combination of its columns, grouped in SQL.

    The keys are computed in a subquery and grouped outside it, so that an expression with
    parameters (a default code, a week's start) is grouped by its result: PostgreSQL would
    not match the same expression with its parameters bound twice."""
    inner = keys.subquery()
    columns = list(inner.c)
    grouped = select(*columns, func.count()).group_by(*columns)
    return {tuple(row[:-1]): int(row[-1]) for row in session.execute(grouped)}


def _grid(
    rows: Sequence[str], columns: Sequence[str] | None, found: Mapping[tuple[Any, ...], int]
) -> Grid:
    if columns is None:
        return Grid.one_way(found.get((r,), 0) for r in rows)
    return Grid(tuple(tuple(found.get((r, c), 0) for c in columns) for r in rows))


def _with_extra(rows: Sequence[str], found: Iterable[tuple[Any, ...]]) -> tuple[str, ...]:
    """``rows`` and, after them, any code the data has that they lack (an older measure)."""
    extra = sorted({str(key[0]) for key in found} - set(rows))
    return (*rows, *extra)


@dataclass
class _Draft:
    name: str
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    grid: Grid
    row_kind: str
    column_kind: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def compute(session: Session, filters: Filters, *, now: datetime) -> Statistics:
    """Every table for ``filters``, suppressed together: the three report tables share their
    grand total, so it is hidden in all of them or in none."""
    reports = _report_tables(session, filters)
    drafts = [
        *reports[:3],
        _decisions_by_measure(session, filters, now),
        _time_to_decision(session, filters),
        _overdue(session, filters, now),
        reports[3],
    ]
    grids = {d.name: d.grid for d in drafts}

    def grand(name: str) -> tuple[str, tuple[int, int]]:
        rows, columns = grids[name].shape
        return name, (rows, columns if grids[name].margins else 0)

    shared = [[grand(REPORTS_BY_REGION), grand(REPORTS_BY_LEVEL), grand(REPORTS_BY_WEEK)]]
    published = suppress_together(grids, shared)
    tables = tuple(_finish(d, published[d.name]) for d in drafts)
    return Statistics(filters=filters, counted_at=now, tables=tables)


def _finish(draft: _Draft, published: Published) -> Table:
    extra = dict(draft.extra)
    share_of = extra.pop("share_of", None)
    if share_of is not None:
        column = draft.columns.index(share_of)
        row_totals = published.row_totals or ()
        extra["shares"] = tuple(
            _share(cells[column], total)
            for cells, total in zip(published.cells, row_totals, strict=True)
        )
        extra["share_total"] = _share(published.column_totals[column], published.total)
        extra["share_of"] = share_of
    return Table(
        name=draft.name,
        rows=draft.rows,
        columns=draft.columns,
        published=published,
        row_kind=draft.row_kind,
        column_kind=draft.column_kind,
        **extra,
    )


def _share(part: Cell, whole: Cell) -> float | None:
    """A percentage from shown cells only, so that it reveals nothing the cells hide."""
    if part.count is None or whole.count is None or whole.count == 0:
        return None
    return round(100.0 * part.count / whole.count, 1)


def _report_tables(session: Session, filters: Filters) -> list[_Draft]:
    """The four tables of reports from two grouped passes over the period's reports: one by
    region, source, verification and the case's level, one by week (grouping both at once would
    make groups of every combination, slower than two passes). The tables are sums over the
    groups."""
    level = func.coalesce(Case.risk_level, Report.risk_level, literal(RiskLevel.STANDARD.value))
    region = func.coalesce(Report.region, literal(NO_REGION))
    found = _counts(
        session,
        select(region.label("region"), Report.source_kind, Report.verification, level.label("lv"))
        .select_from(Report)
        .outerjoin(Case, Case.id == Report.case_id)
        .where(*_reports(filters)),
    )
    by_region: Counter[tuple[str, str]] = Counter()
    by_level: Counter[tuple[str]] = Counter()
    by_outcome: Counter[tuple[str, str]] = Counter()
    for (region_code, source, verified, level_code), n in found.items():
        by_region[region_code, source] += n
        by_level[(level_code,)] += n
        if source in _CHECKED_SOURCES and verified in _VERIFIED:
            by_outcome[source, verified] += n
    week = _week_of(session, Report.received_at)
    by_week: Counter[tuple[str]] = Counter()
    for (monday,), n in _counts(
        session, select(week.label("week")).where(*_reports(filters))
    ).items():
        by_week[(week_code(_as_date(monday)),)] += n

    regions = (filters.region,) if filters.region else (*(r.value for r in Region), NO_REGION)
    sources = tuple(k.value for k in SourceKind)
    levels = _with_extra(_LEVELS, by_level)
    weeks = tuple(week_code(monday) for monday in filters.weeks())
    return [
        _Draft(
            REPORTS_BY_REGION,
            regions,
            sources,
            _grid(regions, sources, by_region),
            "region",
            "source_kind",
        ),
        _Draft(REPORTS_BY_LEVEL, levels, (), _grid(levels, None, by_level), "level"),
        _Draft(REPORTS_BY_WEEK, weeks, (), _grid(weeks, None, by_week), "week"),
        _Draft(
            VERIFICATION,
            _CHECKED_SOURCES,
            _VERIFIED,
            _grid(_CHECKED_SOURCES, _VERIFIED, by_outcome),
            "source_kind",
            "verification",
            extra={"share_of": Verification.UNFOUNDED.value},
        ),
    ]


def _outcome(today: date) -> ColumnElement[str]:
    in_effect = Decision.status.in_(_IN_EFFECT)
    return case(
        (and_(in_effect, Decision.ends_on.is_not(None), Decision.ends_on < today), "ended"),
        (in_effect, DecisionStatus.IN_EFFECT.value),
        (Decision.status == DecisionStatus.PROPOSED.value, DecisionStatus.AWAITING_APPROVAL.value),
        else_=Decision.status,
    )


def _decisions_by_measure(session: Session, filters: Filters, now: datetime) -> _Draft:
    outcome = _outcome(now.date())
    found = _counts(
        session,
        select(Decision.measure, outcome.label("outcome"))
        .join(Case, Case.id == Decision.case_id)
        .where(
            Decision.proposed_at >= filters.since,
            Decision.proposed_at < filters.until,
            _case_region(filters),
        ),
    )
    rows = _with_extra(tuple(measures.MEASURES), found)
    return _Draft(
        DECISIONS_BY_MEASURE,
        rows,
        OUTCOMES,
        _grid(rows, OUTCOMES, found),
        "measure",
        "decision_status",
    )


def _time_to_decision(session: Session, filters: Filters) -> _Draft:
    """Cases opened in the period with a decision in effect: how many by level, and the median
    hours from opening to the first one, by level and over all, in one statement on both
    engines: window functions rank each case's duration within its level and among all, and
    the middle one or two of each ranking are averaged."""
    took_effect = func.coalesce(Decision.approved_at, Decision.proposed_at)
    first = (
        select(Decision.case_id, func.min(took_effect).label("first_at"))
        .where(Decision.status.in_(_IN_EFFECT))
        .group_by(Decision.case_id)
        .subquery()
    )
    durations = (
        select(
            Case.risk_level.label("level"),
            _seconds_between(session, first.c.first_at, Case.opened_at).label("seconds"),
        )
        .join(first, first.c.case_id == Case.id)
        .where(Case.opened_at >= filters.since, Case.opened_at < filters.until)
        .where(_case_region(filters))
        .subquery()
    )
    level, seconds = durations.c.level, durations.c.seconds
    ranked = select(
        level,
        seconds,
        func.row_number().over(partition_by=level, order_by=seconds).label("rank"),
        func.count().over(partition_by=level).label("n"),
        func.row_number().over(order_by=seconds).label("rank_all"),
        func.count().over().label("n_all"),
    ).subquery()
    c = ranked.c

    def middle(rank: ColumnElement[int], n: ColumnElement[int]) -> ColumnElement[bool]:
        return rank.in_([(n + 1) // 2, (n + 2) // 2])

    found = session.execute(
        select(
            c.level,
            func.max(c.n),
            func.avg(case((middle(c.rank, c.n), c.seconds))),
            func.sum(case((middle(c.rank_all, c.n_all), c.seconds))),
            func.count(case((middle(c.rank_all, c.n_all), c.seconds))),
        ).group_by(c.level)
    ).all()
    by_level = {str(lv): (int(n), _float(median)) for lv, n, median, _, _ in found}
    middle_sum = sum(_float(total) or 0.0 for *_, total, _ in found)
    middle_count = sum(int(n) for *_, n in found)
    overall = sum(n for n, _ in by_level.values())
    total = middle_sum / middle_count if middle_count else None
    rows = _with_extra(_LEVELS, ((lv,) for lv in by_level))
    grid = Grid.one_way(by_level.get(r, (0, None))[0] for r in rows)
    medians = tuple(_median_shown(*by_level.get(r, (0, None))) for r in rows)
    return _Draft(
        TIME_TO_DECISION,
        rows,
        (),
        grid,
        "level",
        extra={"medians": medians, "median_total": _median_shown(overall, total)},
    )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _median_shown(count: int, seconds: float | None) -> float | None:
    """A median in hours, shown only when at least 5 cases are behind it: a median of fewer is
    one case's own time."""
    if count < SMALL or seconds is None:
        return None
    return round(seconds / 3600.0, 1)


def _overdue(session: Session, filters: Filters, now: datetime) -> _Draft:
    decided = exists().where(Decision.case_id == Case.id, Decision.status.in_(_IN_EFFECT))
    found = _counts(
        session,
        select(Case.risk_level).where(
            Case.status == CaseStatus.OPEN.value,
            Case.deadline_at.is_not(None),
            Case.deadline_at < now,  # scoring.is_overdue: strictly after the deadline
            ~decided,
            _case_region(filters),
        ),
    )
    rows = _with_extra(_LEVELS, found)
    return _Draft(OVERDUE_CASES, rows, (), _grid(rows, None, found), "level")


# -- the record and the files ----------------------------------------------------------------------


def record_view(session: Session, filters: Filters, *, actor: str, via: str = "web") -> None:
    """``stats.viewed``: who looked at which period and region."""
    audit.append(
        session,
        actor=actor,
        action="stats.viewed",
        object_type="stats",
        details={**filters.details(), "via": via},
    )


def record_download(
    session: Session, filters: Filters, *, table: str, fmt: str, actor: str, via: str
) -> None:
    """``stats.downloaded``: one table (or ``all``) in a format, for a period and region."""
    audit.append(
        session,
        actor=actor,
        action="stats.downloaded",
        object_type="stats",
        object_id=table,
        details={**filters.details(), "table": table, "format": fmt, "via": via},
    )


#: A spreadsheet runs a cell that starts with one of these as a formula (as in audit exports).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def csv_safe(text: str) -> str:
    """A cell a spreadsheet shows as text: an apostrophe before a formula's first character."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_text(statistics: Statistics) -> str:
    """Every table in one CSV, a cell per line: ``table,row,column,value`` in codes, values as
    published ("<5", "x" or the count). What ``triage stats --format csv`` prints."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["table", "row", "column", "value"])
    for table in statistics.tables:
        for cells in table.long_rows():
            writer.writerow([csv_safe(table.name), *(csv_safe(c) for c in cells)])
    return buffer.getvalue()
