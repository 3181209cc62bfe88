"""The statistics page for supervisors, auditors and admins, and a CSV file of each table.

Each figure is counted and suppressed by ``triage.stats`` (counts below 5 shown as "<5", with
the complements that keep them hidden); this module only labels it in the reader's language,
draws its chart (``web.charts``) and writes its file. The counting runs in a read-only block,
then the view or the download is recorded in a block of its own: nothing is decrypted, so
nothing else is written.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import format_date
from flask_babel import gettext as _

from ... import stats
from ...errors import N_, InvalidInput
from ...models import utcnow
from ...permissions import Permission
from ..charts import chart_svg, data_uri
from ..deps import unit_of_work
from ..errors import message_of
from ..forms.stats import StatsFilterForm
from ..gate import actor_id, me, requires
from ..labels import label_of

bp = Blueprint("stats", __name__, url_prefix="/stats")


def week_label(code: str) -> str:
    """``2026-W05`` as "Week 5, 26 Jan 2026 – 1 Feb 2026" in the reader's locale."""
    year, week = code.split("-W")
    monday = date.fromisocalendar(int(year), int(week), 1)
    text: str = _(
        "Week %(week)s, %(start)s – %(end)s",
        week=int(week),
        start=format_date(monday, "medium"),
        end=format_date(monday + timedelta(days=6), "medium"),
    )
    return text


def code_label(kind: str | None, code: str) -> str:
    """A row's or column's code in words: a region, a level, a week, a measure, …"""
    if code in (stats.TOTAL, stats.NO_REGION) or kind is None:
        return label_of("stats_code", code)
    if kind == "week":
        return week_label(code)
    return label_of(kind, code)


def _filters_from(form: StatsFilterForm) -> stats.Filters:
    """The form's filters, checked; ``InvalidInput`` if they are not valid. A region-scoped
    user's own region applies, whatever the query string says."""
    if me().region:
        form.region.data = ""
    if not form.validate():
        raise InvalidInput(
            N_("Give the period's dates as year, month and day, and a region from the list.")
        )
    return form.filters(me().region, utcnow().date())


@bp.route("/")
@requires(Permission.STATS_READ)
def index() -> tuple[str, int]:
    form = StatsFilterForm(request.args)
    try:
        filters = _filters_from(form)
    except InvalidInput as exc:
        if not form.errors:
            form.form_errors.append(message_of(exc))
        return render_template("stats/index.html", form=form, figures=None), 400
    uow, now = unit_of_work(), utcnow()
    with uow.read() as session:
        figures = stats.compute(session, filters, now=now)
    with uow.begin() as session:
        stats.record_view(session, filters, actor=actor_id(), via="web")
    form.start.data, form.end.data = filters.start, filters.end
    charts = {t.name: data_uri(chart_svg(t, code_label)) for t in figures.tables}
    query = {"start": filters.start.isoformat(), "end": filters.end.isoformat()}
    if filters.region and not me().region:
        query["region"] = filters.region
    return render_template(
        "stats/index.html",
        form=form,
        figures=figures,
        charts=charts,
        query=query,
        label=code_label,
        scoped=me().region,
    ), 200


@bp.route("/<name>.csv")
@requires(Permission.STATS_READ)
def download(name: str) -> Response:
    """One table as CSV, as the page shows it (hidden counts as "<5" and "x")."""
    if name not in stats.TABLES:
        abort(404)
    filters = _filters_from(StatsFilterForm(request.args))
    uow = unit_of_work()
    with uow.read() as session:
        table = stats.compute(session, filters, now=utcnow()).table(name)
    with uow.begin() as session:
        stats.record_download(session, filters, table=name, fmt="csv", actor=actor_id(), via="web")
    file_name = f"triage-{name}-{filters.start.isoformat()}-{filters.end.isoformat()}.csv"
    return Response(
        table_csv(table),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{file_name}"'},
    )


def table_csv(table: stats.Table) -> bytes:
    """The table with its labels in the reader's language, a code column for machines, and a
    byte-order mark so that spreadsheets read Cyrillic as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def row(values: list[str]) -> None:
        writer.writerow([stats.csv_safe(v) for v in values])

    total = label_of("stats_code", stats.TOTAL)
    columns = [code_label(table.column_kind, c) for c in table.columns]
    if table.one_way:
        head = ["code", label_of("stats_table", table.name), _("Count")]
    else:
        head = ["code", label_of("stats_table", table.name), *columns, total]
    if table.medians is not None:
        head.append(label_of("stats_code", "median_hours"))
    if table.shares is not None:
        head.append(label_of("stats_code", f"share_{table.share_of}"))
    row(head)
    for n, (code, cells, row_total) in enumerate(table.cell_rows()):
        values = [code, code_label(table.row_kind, code)]
        values += [row_total.text] if table.one_way else [c.text for c in cells] + [row_total.text]
        if table.medians is not None:
            values.append(_number(table.medians[n]))
        if table.shares is not None:
            values.append(_number(table.shares[n]))
        row(values)
    totals = [stats.TOTAL, total]
    published = table.published
    if table.one_way:
        totals.append(published.total.text)
    else:
        totals += [c.text for c in published.column_totals] + [published.total.text]
    if table.medians is not None:
        totals.append(_number(table.median_total))
    if table.shares is not None:
        totals.append(_number(table.share_total))
    row(totals)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"
