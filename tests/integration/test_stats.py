"""Statistics on a real database (both engines): a known set of reports, cases, verifications
and decisions made through the review services; every figure of ``triage.stats`` compared with a
direct count of the rows in Python; no hidden cell recoverable from the page, the CSV files or
the command's output; the page, its downloads, who may see them, what is audited, and that
nothing sealed is opened.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import statistics
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import Account, facts, make_user
from tests.unit.test_stats_suppression import check_rule, recoverable
from triage import audit, crypto, measures, sealed, stats
from triage.cli import main
from triage.config import Settings
from triage.errors import InvalidInput
from triage.models import AuditEvent, Case, Decision, Report, User, utcnow
from triage.reports import file_report
from triage.review import claims, decisions, triaging, verification
from triage.review.rules import ReviewRules
from triage.suppression import Grid, Mark, Published
from triage.vocab import Region, Role, SourceKind, Verification
from triage.web.deps import uow_of

RULES = ReviewRules()
MEDIA = {"outlet": "Example news", "headline": "Invented", "text": "Invented story, Marat Demo"}
ONLINE = {"platform": "telegram", "captured_text": "Invented post about Aliya Demo"}
DIRECT = {
    "reporter": "neighbour",
    "victim": {"name": "Aliya Testova", "phone": "+7 701 000 0000"},
    "narrative": "Invented narrative.",
}
PAYLOADS = {SourceKind.MEDIA: MEDIA, SourceKind.ONLINE: ONLINE, SourceKind.DIRECT: DIRECT}

#: The period: seven whole ISO weeks, ending a week before this one, so that every deadline
#: (at most 7 days) of a case opened in it has passed whenever the tests run.
START = stats.week_start(utcnow().date()) - timedelta(weeks=8)
END = START + timedelta(days=48)
KARAGANDA, SHYMKENT, ASTANA = Region.KARAGANDA, Region.SHYMKENT, Region.ASTANA


def at(day: int, hour: int = 10, **extra: int) -> datetime:
    return datetime.combine(START + timedelta(days=day), time(hour), UTC) + timedelta(**extra)


@contextmanager
def tx(app: Flask) -> Iterator[Session]:
    with app.app_context(), uow_of(app).begin() as session:
        yield session


def user(session: Session, account: Account) -> User:
    found = session.get(User, account.id)
    assert found is not None
    return found


# -- the known set -------------------------------------------------------------------------------


@dataclass
class Known:
    """The cases made, by a name the test gives them."""

    cases: dict[str, str] = field(default_factory=dict)


def _file(
    app: Flask,
    known: Known,
    name: str,
    source: SourceKind,
    region: Region | None,
    moment: datetime,
    category: str = "battery",
) -> str:
    with tx(app) as session:
        report = file_report(
            session,
            source_kind=source,
            payload=PAYLOADS[source],
            actor="system",
            region=region,
            categories=[category],
            verification=(
                Verification.CORROBORATED
                if source is SourceKind.DIRECT
                else Verification.UNVERIFIED
            ),
        )
        report.received_at = moment
        found = session.get(Case, report.case_id)
        assert found is not None
        found.opened_at = moment
        session.flush()
        triaging.triage_new_cases(session, rules=RULES)
        known.cases[name] = found.id
        return found.id


def _version(session: Session, case_id: str) -> int:
    found = session.get(Case, case_id)
    assert found is not None
    return found.version


def _verify(app: Flask, who: Account, case_id: str, outcome: str, moment: datetime) -> None:
    with tx(app) as session:
        me = user(session, who)
        claims.claim(session, me, case_id, now=moment, rules=RULES)
        verification.record_verification(
            session,
            me,
            case_id,
            version=_version(session, case_id),
            outcome=outcome,
            method="police_check" if outcome == "corroborated" else None,
            note="Invented note.",
            now=moment,
            rules=RULES,
        )


def _propose(app: Flask, who: Account, case_id: str, measure: str, moment: datetime) -> str:
    with tx(app) as session:
        me = user(session, who)
        claims.claim(session, me, case_id, now=moment, rules=RULES)
        aimed = measures.get_measure(measure).aimed_at_aggressor
        decision = decisions.propose(
            session,
            me,
            case_id,
            version=_version(session, case_id),
            measure=measure,
            rationale="Invented rationale.",
            legal_basis="CoAO Art. 54" if aimed else None,
            now=moment,
            today=moment.date(),
            rules=RULES,
        )
        session.flush()
        return decision.id


def _decision_version(session: Session, decision_id: str) -> int:
    found = session.get(Decision, decision_id)
    assert found is not None
    return found.version


def build(app: Flask, national: Account, second: Account) -> Known:
    """24 reports in the period (and two just outside it), verifications and decisions."""
    known = Known()
    kinds = SourceKind
    for n, day in enumerate((0, 3, 8, 15, 22, 30)):
        category = "killing" if day == 8 else "battery"
        moment = at(day, 0) if day == 0 else at(day)  # the period's very first moment
        _file(app, known, f"kar-direct-{n}", kinds.DIRECT, KARAGANDA, moment, category)
    for n, day in enumerate((1, 2, 9, 16, 23, 31, 40)):
        category = "persecution" if day in (23, 31) else "battery"
        _file(app, known, f"kar-media-{n}", kinds.MEDIA, KARAGANDA, at(day), category)
    for n, day in enumerate((10, 47)):
        _file(app, known, f"kar-online-{n}", kinds.ONLINE, KARAGANDA, at(day))
    for n, day in enumerate((4, 11, 18, 25)):
        _file(app, known, f"shy-media-{n}", kinds.MEDIA, SHYMKENT, at(day))
    last = datetime.combine(END, time(23, 59, 59), UTC)  # the period's very last second
    _file(app, known, "shy-media-4", kinds.MEDIA, SHYMKENT, last)
    _file(app, known, "ast-direct-0", kinds.DIRECT, ASTANA, at(12))
    for n, day in enumerate((5, 19, 33)):
        _file(app, known, f"none-online-{n}", kinds.ONLINE, None, at(day))
    before = datetime.combine(START, time(), UTC) - timedelta(microseconds=1)
    _file(app, known, "before", kinds.MEDIA, KARAGANDA, before)
    after = datetime.combine(END + timedelta(days=1), time(), UTC)
    _file(app, known, "after", kinds.DIRECT, KARAGANDA, after)

    c = known.cases
    for name, outcome in (
        ("kar-media-0", "corroborated"),
        ("kar-media-1", "corroborated"),
        ("kar-media-2", "corroborated"),
        ("kar-media-3", "unfounded"),
        ("kar-online-0", "corroborated"),
        ("shy-media-0", "unfounded"),
        ("shy-media-1", "unfounded"),
        ("shy-media-2", "corroborated"),
        ("none-online-0", "unfounded"),
    ):
        _verify(app, national, c[name], outcome, at(_day(name), 11))

    # supportive measures take effect at once: the hours to a first decision are known
    for name, hours in (
        ("kar-media-4", 2),
        ("kar-media-5", 5),
        ("kar-media-6", 10),
        ("kar-online-0", 20),
        ("shy-media-3", 30),
        ("none-online-1", 50),
        ("none-online-2", 70),
    ):
        _propose(app, national, c[name], "contact_victim", at(_day(name)) + timedelta(hours=hours))
    _propose(app, national, c["kar-direct-2"], "safety_plan", at(8) + timedelta(hours=3))
    _propose(app, national, c["ast-direct-0"], "no_action", at(12) + timedelta(hours=6))

    # coercive measures wait for another supervisor
    approved = _propose(app, national, c["kar-media-0"], "protective_order", at(1, 12))
    rejected = _propose(app, national, c["kar-media-1"], "protective_order", at(2, 12))
    _propose(app, national, c["kar-media-2"], "protective_order", at(9, 12))  # still waiting
    withdrawn = _propose(app, national, c["shy-media-2"], "protective_order", at(18, 12))
    with tx(app) as session:
        decisions.approve(
            session,
            user(session, second),
            approved,
            version=_decision_version(session, approved),
            now=at(2, 16),  # 30 hours after the report; its 30 days have ended since
        )
        decisions.reject(
            session,
            user(session, second),
            rejected,
            version=_decision_version(session, rejected),
            reason="Invented reason.",
            now=at(3),
        )
        decisions.withdraw(
            session,
            user(session, national),
            withdrawn,
            version=_decision_version(session, withdrawn),
        )
    return known


def _day(name: str) -> int:
    days = {
        "kar-media": (1, 2, 9, 16, 23, 31, 40),
        "kar-online": (10, 47),
        "shy-media": (4, 11, 18, 25),
        "none-online": (5, 19, 33),
    }
    prefix, n = name.rsplit("-", 1)
    return days[prefix][int(n)]


@pytest.fixture
def people(app: Flask, accounts: dict[Role, Account]) -> dict[str, Account]:
    return {
        "national": make_user(app, "supervisor.national", Role.SUPERVISOR, None),
        "second": make_user(app, "supervisor.second", Role.SUPERVISOR, None),
        "scoped": accounts[Role.SUPERVISOR],  # Karaganda
        "auditor": accounts[Role.AUDITOR],
        "admin": accounts[Role.ADMIN],
        "reviewer": accounts[Role.REVIEWER],
        "caseworker": accounts[Role.CASEWORKER],
    }


@pytest.fixture
def known(app: Flask, people: dict[str, Account]) -> Known:
    return build(app, people["national"], people["second"])


def _filters(region: str | None = None, scope: str | None = None) -> stats.Filters:
    return stats.Filters.of(start=START, end=END, region=region, scope=scope, today=utcnow().date())


def compute(app: Flask, filters: stats.Filters, now: datetime | None = None) -> stats.Statistics:
    with app.app_context(), uow_of(app).read() as session:
        return stats.compute(session, filters, now=now or utcnow())


# -- the direct count ----------------------------------------------------------------------------


def direct_counts(app: Flask, filters: stats.Filters, now: datetime) -> dict[str, Grid]:
    """Every table counted in Python from the rows themselves."""
    with app.app_context(), uow_of(app).read() as session:
        reports = list(session.scalars(select(Report)))
        cases = {c.id: c for c in session.scalars(select(Case))}
        all_decisions = list(session.scalars(select(Decision)))
    since, until = filters.since, filters.until

    def in_region(region: str | None) -> bool:
        return filters.region is None or region == filters.region

    chosen = [r for r in reports if since <= r.received_at < until and in_region(r.region)]
    grids: dict[str, Grid] = {}

    by_region = Counter((r.region or stats.NO_REGION, r.source_kind) for r in chosen)
    rows = [filters.region] if filters.region else [*(g.value for g in Region), stats.NO_REGION]
    grids[stats.REPORTS_BY_REGION] = Grid(
        tuple(tuple(by_region[row, k.value] for k in SourceKind) for row in rows)
    )
    levels = ("high", "medium", "standard")
    by_level = Counter(cases[r.case_id].risk_level for r in chosen if r.case_id)
    grids[stats.REPORTS_BY_LEVEL] = Grid.one_way(by_level[lv] for lv in levels)
    by_week = Counter(stats.week_code(stats.week_start(r.received_at.date())) for r in chosen)
    grids[stats.REPORTS_BY_WEEK] = Grid.one_way(
        by_week[stats.week_code(m)] for m in filters.weeks()
    )

    def outcome(d: Decision) -> str:
        status = d.status_on(now.date())
        return {"approved": "in_effect", "proposed": "awaiting_approval"}.get(status, status)

    proposed = [
        d
        for d in all_decisions
        if since <= d.proposed_at < until and in_region(cases[d.case_id].region)
    ]
    by_measure = Counter((d.measure, outcome(d)) for d in proposed)
    grids[stats.DECISIONS_BY_MEASURE] = Grid(
        tuple(tuple(by_measure[m, o] for o in stats.OUTCOMES) for m in measures.MEASURES)
    )

    in_effect = {"in_effect", "approved", "ended"}
    first: dict[str, datetime] = {}
    for d in all_decisions:
        if d.status in in_effect:
            moment = d.approved_at or d.proposed_at
            first[d.case_id] = min(first.get(d.case_id, moment), moment)
    decided = [c for c in cases.values() if c.id in first and since <= c.opened_at < until]
    decided = [c for c in decided if in_region(c.region)]
    grids[stats.TIME_TO_DECISION] = Grid.one_way(
        sum(1 for c in decided if c.risk_level == lv) for lv in levels
    )
    overdue = Counter(
        c.risk_level
        for c in cases.values()
        if c.status == "open"
        and c.deadline_at is not None
        and now > c.deadline_at
        and c.id not in first
        and in_region(c.region)
    )
    grids[stats.OVERDUE_CASES] = Grid.one_way(overdue[lv] for lv in levels)
    checked = Counter(
        (r.source_kind, r.verification)
        for r in chosen
        if r.source_kind in ("media", "online") and r.verification in ("corroborated", "unfounded")
    )
    grids[stats.VERIFICATION] = Grid(
        tuple(
            tuple(checked[s, v] for v in ("corroborated", "unfounded")) for s in ("media", "online")
        )
    )
    return grids


def direct_medians(app: Flask, filters: stats.Filters) -> dict[str, float | None]:
    with app.app_context(), uow_of(app).read() as session:
        cases = {c.id: c for c in session.scalars(select(Case))}
        found = list(session.scalars(select(Decision)))
    first: dict[str, datetime] = {}
    for d in found:
        if d.status in ("in_effect", "approved", "ended"):
            moment = d.approved_at or d.proposed_at
            first[d.case_id] = min(first.get(d.case_id, moment), moment)
    hours: dict[str, list[float]] = {}
    for case_id, moment in first.items():
        c = cases[case_id]
        in_region = filters.region is None or c.region == filters.region
        if filters.since <= c.opened_at < filters.until and in_region:
            spent = (moment - c.opened_at).total_seconds() / 3600
            hours.setdefault(c.risk_level, []).append(spent)
            hours.setdefault(stats.TOTAL, []).append(spent)
    return {k: round(statistics.median(v), 1) if len(v) >= 5 else None for k, v in hours.items()}


def shared_totals(grids: dict[str, Grid]) -> list[list[tuple[str, tuple[int, int]]]]:
    def grand(name: str) -> tuple[str, tuple[int, int]]:
        rows, cols = grids[name].shape
        return name, (rows, cols if grids[name].margins else 0)

    return [
        [
            grand(stats.REPORTS_BY_REGION),
            grand(stats.REPORTS_BY_LEVEL),
            grand(stats.REPORTS_BY_WEEK),
        ]
    ]


def assert_faithful(figures: stats.Statistics, grids: dict[str, Grid]) -> None:
    """Every shown cell is the direct count; every hidden one is hidden truthfully; nothing
    hidden can be worked out from all the tables of the page read together."""
    published: dict[str, Published] = {}
    for table in figures.tables:
        grid = grids[table.name]
        assert len(table.rows) == grid.shape[0], table.name
        marks, values = table.published.marks(), grid.values()
        for pos, mark in marks.items():
            cell_text = _text_at(table.published, pos)
            if mark is Mark.SHOWN:
                assert cell_text == str(values[pos]), (table.name, pos)
        check_rule(grid, table.published)
        published[table.name] = table.published
    assert recoverable(grids, published, shared_totals(grids)) == []


def _text_at(published: Published, pos: tuple[int, int]) -> str:
    rows, cols = len(published.cells), len(published.column_totals)
    i, j = pos
    if i == rows:
        return (published.column_totals[j] if j < cols else published.total).text
    if j == cols and published.row_totals is not None:
        return published.row_totals[i].text
    return published.cells[i][j].text


# -- the figures -----------------------------------------------------------------------------


def test_every_figure_equals_a_direct_count(app, known):
    now = utcnow()
    filters = _filters()
    figures = compute(app, filters, now)
    grids = direct_counts(app, filters, now)
    assert_faithful(figures, grids)
    # the direct count itself, checked against the set as it was made
    assert grids[stats.REPORTS_BY_REGION].values()[(21, 3)] == 24  # both edges in, both out out
    region = figures.table(stats.REPORTS_BY_REGION)
    karaganda = region.rows.index("karaganda")
    # two online reports hidden, and the six direct ones with them (the cheapest partner in
    # the row: every other cell of it is larger, and its total would cost more)
    assert [c.text for c in region.published.cells[karaganda]] == ["x", "7", "<5"]
    assert grids[stats.VERIFICATION].counts == ((4, 3), (1, 1))
    media = figures.table(stats.VERIFICATION).published.cells[0]
    assert [c.text for c in media] == ["<5", "<5"]
    assert grids[stats.OVERDUE_CASES].values()[(3, 0)] == 12  # the one before the period too
    time_table = figures.table(stats.TIME_TO_DECISION)
    assert dict(zip(time_table.rows, time_table.medians or (), strict=True)) == {
        level: direct_medians(app, filters).get(level) for level in time_table.rows
    }
    assert time_table.median_total == direct_medians(app, filters)[stats.TOTAL]
    assert time_table.median_total == 15.0  # 2, 3, 5, 6, 10 | 20, 30, 30, 50, 70 hours
    assert time_table.medians == (None, None, 30.0)  # standard: 6, 10, 20, 30, 30, 50, 70


def test_figures_for_one_region(app, known):
    now = utcnow()
    filters = _filters(region="shymkent")
    figures = compute(app, filters, now)
    assert figures.table(stats.REPORTS_BY_REGION).rows == ("shymkent",)
    assert_faithful(figures, direct_counts(app, filters, now))


def test_a_scoped_user_sees_her_region_whatever_she_asks(app, known):
    filters = _filters(region="shymkent", scope="karaganda")
    assert filters.region == "karaganda"
    now = utcnow()
    assert_faithful(compute(app, filters, now), direct_counts(app, filters, now))


def test_filters_refuse_what_does_not_hold_together():
    today = date(2026, 11, 25)
    with pytest.raises(InvalidInput, match="must not be after"):
        stats.Filters.of(
            start=today, end=today - timedelta(days=1), region=None, scope=None, today=today
        )
    with pytest.raises(InvalidInput, match="too long"):
        stats.Filters.of(
            start=today - timedelta(days=stats.MAX_PERIOD_DAYS),
            end=today,
            region=None,
            scope=None,
            today=today,
        )
    with pytest.raises(InvalidInput, match="no such region"):
        stats.Filters.of(start=None, end=None, region="atlantis", scope=None, today=today)
    default = stats.Filters.of(start=None, end=None, region=None, scope=None, today=today)
    assert default.end == today and default.start == date(2026, 8, 31)  # 13 ISO weeks
    assert len(default.weeks()) == 13


def test_an_empty_period_counts_nothing_and_hides_nothing(app, known):
    far = date(2020, 1, 6)
    filters = stats.Filters.of(
        start=far, end=far + timedelta(days=6), region=None, scope=None, today=far
    )
    figures = compute(app, filters)
    for table in figures.tables:
        if table.name != stats.OVERDUE_CASES:  # overdue is as of now, whatever the period
            assert table.published.total.text == "0"
            assert table.published.hidden_count == 0


# -- the page --------------------------------------------------------------------------------


def _query() -> dict[str, str]:
    return {"start": START.isoformat(), "end": END.isoformat()}


def _events(app: Flask, action: str) -> list[dict[str, Any]]:
    with app.app_context(), uow_of(app).read() as session:
        found = session.scalars(select(AuditEvent).where(AuditEvent.action == action))
        return [facts(audit.event_fields(e)) for e in found]


def _charts(page: str) -> list[str]:
    return [
        base64.b64decode(m).decode("utf-8")
        for m in re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', page)
    ]


def test_the_page_shows_each_table_with_its_chart_and_file(app, client, auth, known, people):
    auth.login_as(people["national"])
    response = client.get("/stats/", query_string=_query())
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    figures = compute(app, _filters())
    for table in figures.tables:
        assert f'id="{table.name}"' in page
        assert f"/stats/{table.name}.csv?start={START.isoformat()}" in page
    assert page.count("<caption>") == len(stats.TABLES)
    assert 'scope="row"' in page and 'scope="col"' in page
    assert "&lt;5" in page  # small counts are shown as such …
    charts = _charts(page)
    assert len(charts) == len(stats.TABLES)
    for svg in charts:  # … and the charts run and load nothing
        assert svg.startswith("<svg") and "<script" not in svg
        assert not re.search(r'(?:href|src)="(?:https?:)?//', svg)
    events = _events(app, "stats.viewed")
    assert len(events) == 1
    assert events[0]["actor"] == str(people["national"].id)
    assert events[0]["details"] == {
        "from": START.isoformat(),
        "to": END.isoformat(),
        "region": None,
        "via": "web",
    }


def test_a_chart_leaves_out_what_its_table_hides(app, known):
    from triage.web.charts import chart_svg

    table = compute(app, _filters()).table(stats.REPORTS_BY_REGION)
    with app.test_request_context():
        svg = chart_svg(table, lambda kind, code: code)
    drawn = re.findall(r'<desc class="value">([^<]*)</desc>', svg)
    shown = [str(c.count) for row in table.published.cells for c in row if c.count]
    # a bar for each shown count (rows of zeros are left out), none for a hidden one
    assert sorted(v for v in drawn if v != "0") == sorted(shown)
    assert table.published.hidden_count > 0


def test_each_csv_is_the_table_as_shown_and_is_audited(app, client, auth, known, people):
    auth.login_as(people["auditor"])
    figures = compute(app, _filters())
    for table in figures.tables:
        response = client.get(f"/stats/{table.name}.csv", query_string=_query())
        assert response.status_code == 200
        assert response.mimetype == "text/csv"
        assert "attachment" in response.headers["Content-Disposition"]
        body = response.get_data()
        assert body.startswith("\ufeff".encode())
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        codes = [r[0] for r in rows[1:]]
        assert codes == [*table.rows, stats.TOTAL]
        width = 1 if table.one_way else len(table.columns) + 1
        for line, (_, cells, row_total) in zip(rows[1:], table.cell_rows(), strict=False):
            shown = (
                [row_total.text] if table.one_way else [c.text for c in cells] + [row_total.text]
            )
            assert line[2 : 2 + width] == shown
        last = rows[-1][2 : 2 + width]
        published = table.published
        expected = (
            [published.total.text]
            if table.one_way
            else [c.text for c in published.column_totals] + [published.total.text]
        )
        assert last == expected
    downloads = _events(app, "stats.downloaded")
    assert sorted(e["details"]["table"] for e in downloads) == sorted(stats.TABLES)
    assert {e["details"]["format"] for e in downloads} == {"csv"}
    assert {e["object_id"] for e in downloads} == set(stats.TABLES)


def test_csv_cells_cannot_run_as_formulas():
    assert stats.csv_safe("=1+1") == "'=1+1"
    assert stats.csv_safe("-3.5") == "'-3.5"
    assert stats.csv_safe("<5") == "<5"


def test_the_scoped_supervisor_sees_her_region_only(app, client, auth, known, people):
    auth.login_as(people["scoped"])
    page = client.get("/stats/", query_string={**_query(), "region": "shymkent"}).get_data(
        as_text=True
    )
    assert "Karaganda Region only" in page
    assert 'name="region"' not in page  # no region to choose
    assert _events(app, "stats.viewed")[0]["details"]["region"] == "karaganda"
    body = client.get(
        f"/stats/{stats.REPORTS_BY_REGION}.csv", query_string={**_query(), "region": "shymkent"}
    ).get_data()
    codes = [r[0] for r in csv.reader(io.StringIO(body.decode("utf-8-sig")))][1:]
    assert codes == ["karaganda", "total"]


@pytest.mark.parametrize("role", ["reviewer", "caseworker"])
def test_case_roles_without_the_permission_are_refused(app, client, auth, people, role):
    auth.login_as(people[role])
    assert client.get("/stats/").status_code == 403
    assert client.get(f"/stats/{stats.REPORTS_BY_WEEK}.csv").status_code == 403
    assert "/stats/" not in client.get("/").get_data(as_text=True)
    assert _events(app, "stats.viewed") == []


@pytest.mark.parametrize("role", ["national", "auditor", "admin"])
def test_supervisors_auditors_and_admins_find_it_in_the_menu(client, auth, people, role):
    auth.login_as(people[role])
    assert 'href="/stats/"' in client.get("/").get_data(as_text=True)
    assert client.get("/stats/").status_code == 200


def test_bad_filters_get_a_message_not_an_error(app, client, auth, people):
    auth.login_as(people["admin"])
    backwards = client.get("/stats/", query_string={"start": "2026-11-02", "end": "2026-11-01"})
    assert backwards.status_code == 400
    assert "must not be after its end" in backwards.get_data(as_text=True)
    garbled = client.get("/stats/", query_string={"start": "yesterday"})
    assert garbled.status_code == 400
    assert "From: enter a valid date." in garbled.get_data(as_text=True)
    too_long = client.get("/stats/", query_string={"start": "2000-01-01", "end": "2026-01-01"})
    assert too_long.status_code == 400 and "too long" in too_long.get_data(as_text=True)
    assert client.get("/stats/nothing.csv").status_code == 404
    assert client.get(f"/stats/{stats.VERIFICATION}.csv?start=x").status_code == 422
    assert _events(app, "stats.viewed") == [] and _events(app, "stats.downloaded") == []


# -- nothing is opened -----------------------------------------------------------------------


def _refuse(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("statistics must never decrypt")


def test_statistics_never_open_anything_sealed(
    app, client, auth, known, people, settings, monkeypatch
):
    auth.login_as(people["national"])
    before = len(_events(app, "payload.decrypted"))
    monkeypatch.setattr(sealed, "open_payload", _refuse)
    monkeypatch.setattr(sealed, "open_beside", _refuse)
    for name in ("open", "open_bytes", "_unwrap"):
        monkeypatch.setattr(crypto.Keyring, name, _refuse)
    compute(app, _filters())
    assert client.get("/stats/", query_string=_query()).status_code == 200
    assert client.get(f"/stats/{stats.TIME_TO_DECISION}.csv").status_code == 200
    assert _cli(settings, "stats", "--format", "json").exit_code == 0
    assert len(_events(app, "payload.decrypted")) == before


# -- the command -----------------------------------------------------------------------------


def _cli(settings: Settings, *args: str) -> Any:
    env = {
        "TRIAGE_INSTANCE_PATH": str(settings.instance_path),
        "TRIAGE_DATABASE_URL": settings.database_url,
        "TRIAGE_KEYRING_PATH": settings.keyring_path,
    }
    return CliRunner().invoke(main, list(args), env=env)


def test_the_command_prints_the_same_figures(app, known, settings):
    span = ["--from", START.isoformat(), "--to", END.isoformat()]
    printed = _cli(settings, "stats", "--format", "json", *span)
    assert printed.exit_code == 0, printed.output
    document = json.loads(printed.output)
    figures = compute(app, _filters())
    assert document["tables"] == {t.name: t.as_dict() for t in figures.tables}
    assert document["filters"] == {"from": START.isoformat(), "to": END.isoformat(), "region": None}

    as_csv = _cli(settings, "stats", *span, "--region", "karaganda")
    assert as_csv.exit_code == 0, as_csv.output
    lines = list(csv.reader(io.StringIO(as_csv.output)))
    assert lines[0] == ["table", "row", "column", "value"]
    karaganda = compute(app, _filters(region="karaganda"))
    expected = [[t.name, *cells] for t in karaganda.tables for cells in t.long_rows()]
    assert lines[1:] == expected
    assert ["reports_by_region", "karaganda", "media", "7"] in lines
    assert ["reports_by_region", "karaganda", "online", "<5"] in lines

    events = _events(app, "stats.downloaded")
    assert [e["details"]["format"] for e in events] == ["json", "csv"]
    assert {e["actor"] for e in events} == {audit.SYSTEM_ACTOR}
    assert {e["details"]["via"] for e in events} == {"cli"}
    assert events[1]["details"]["region"] == "karaganda"


def test_the_command_refuses_a_backwards_period(settings, app):
    refused = _cli(settings, "stats", "--from", "2026-11-02", "--to", "2026-11-01")
    assert refused.exit_code != 0
    assert "must not be after its end" in refused.output
