"""Charts of the statistics, drawn on the server as SVG (pygal) and embedded in the page.

A chart draws only what its table shows: a hidden count ("<5", "x") is a gap, never a bar, so
the picture cannot give away what the table hides. The SVG carries no script (pygal's tooltips
need JavaScript from a CDN; they are off) and loads nothing: it is an ``<img>`` whose source is
a ``data:`` URI, which the page's Content-Security-Policy allows (``img-src 'self' data:``).
pygal's inline configuration script is taken out as well, though an SVG shown as an image runs
nothing. The chart's own stylesheet applies inside the image only.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable, Iterable

import pygal
from flask_babel import gettext as _
from pygal.style import Style

from ..stats import REPORTS_BY_WEEK, TIME_TO_DECISION, Table

#: The stylesheet's colours (static/style.css), so that charts look like the pages around them.
_STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1d2330",
    foreground_strong="#1d2330",
    foreground_subtle="#5b6577",
    opacity=".9",
    opacity_hover=".9",
    colors=("#1f5fa8", "#d08a00", "#a4262c", "#1e6b3a", "#6b4fa0", "#5b6577"),
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    label_font_size=13,
    major_label_font_size=13,
    value_font_size=12,
    legend_font_size=13,
    title_font_size=15,
    no_data_font_size=18,
)

#: Row labels longer than this are cut in the chart (the table has them whole).
_LABEL_CHARS = 34
_WIDTH = 760


def data_uri(svg: str) -> str:
    """The SVG as the ``src`` of an ``<img>``."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _cut(text: str) -> str:
    return text if len(text) <= _LABEL_CHARS else text[: _LABEL_CHARS - 1].rstrip() + "…"


def _ticks(values: Iterable[float | None]) -> list[float]:
    """Whole-number steps from 0 past the largest value: counts are never fractions."""
    top = max((v for v in values if v is not None), default=0)
    step = max(1, math.ceil(top / 8))
    return [float(n) for n in range(0, int(top) + step + 1, step)]


def chart_svg(table: Table, label: Callable[[str | None, str], str]) -> str:
    """The table's chart: counts by row (one series per column of a two-way table), the time
    table's medians in hours, the weeks as a line. ``label(kind, code)`` words a code.

    Rows whose every count is a shown 0 are left out (the table lists them); a hidden count is
    a gap."""
    common: dict[str, object] = {
        "style": _STYLE,
        "js": [],
        "disable_xml_declaration": True,
        "print_zeroes": False,
        "allow_interruptions": True,
        "truncate_legend": _LABEL_CHARS,
        "no_data_text": _("Nothing to draw"),
        "legend_at_bottom": True,
        "width": _WIDTH,
        "include_x_axis": True,
    }
    if table.name == REPORTS_BY_WEEK:
        values = table.plotted()[0]
        chart = pygal.Line(
            height=340,
            show_legend=False,
            x_label_rotation=45,
            x_labels_major_every=max(1, len(values) // 13),
            show_minor_x_labels=len(values) <= 26,
            y_labels=_ticks(values),
            **common,
        )
        chart.x_labels = [code.split("-W")[-1] for code in table.rows]
        chart.add(_("Reports"), values)
        return _rendered(chart)
    if table.name == TIME_TO_DECISION:
        medians = list(table.medians or ())
        chart = pygal.Bar(
            height=320, show_legend=False, print_values=True, y_labels=_ticks(medians), **common
        )
        chart.x_labels = [_cut(label(table.row_kind, code)) for code in table.rows]
        chart.add(_("Median, hours"), medians)
        return _rendered(chart)
    names = [label(table.column_kind, c) for c in table.columns] or [_("Count")]
    columns = table.plotted()
    keep = [
        i
        for i in range(len(table.rows))
        if any(values[i] is None or values[i] != 0 for values in columns)
    ]
    rows = [_cut(label(table.row_kind, table.rows[i])) for i in keep]
    series = [
        (name, [values[i] for i in keep]) for name, values in zip(names, columns, strict=True)
    ]
    horizontal = len(rows) > 6 or any(len(r) > 16 for r in rows)
    if horizontal:
        # pygal draws the first row at the bottom: reverse, so the chart reads as the table
        rows = rows[::-1]
        series = [(name, values[::-1]) for name, values in series]
        height = max(220, 110 + len(rows) * (14 * len(series) + 22))
        kind = pygal.HorizontalBar
    else:
        height, kind = 320, pygal.Bar
    chart = kind(
        height=height,
        show_legend=len(series) > 1,
        print_values=True,
        y_labels=_ticks(v for _, values in series for v in values),
        **common,
    )
    chart.x_labels = rows
    for name, values in series:
        chart.add(name, values)
    return _rendered(chart)


#: pygal writes its configuration into the SVG as a script even with ``js=[]``; nothing needs
#: it without the tooltips, so it goes.
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL)


def _rendered(chart: pygal.graph.graph.Graph) -> str:
    svg = _SCRIPT.sub("", chart.render(is_unicode=True))
    if "<script" in svg:
        raise ValueError("a chart still holds a script")
    return svg
