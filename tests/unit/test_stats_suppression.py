"""Small-count suppression (triage.suppression), checked from outside by linear programming.

For every hidden cell, the smallest and the largest value it can take — given every shown cell
and total exactly, every "<5" cell somewhere in 0–4 and every "x" cell at 5 or more — are computed
with scipy's ``linprog``; the cell is safe only when they differ. The checker is itself tested on
patterns that do leak, so that it can fail.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from triage.suppression import (
    SMALL,
    Cell,
    Grid,
    Mark,
    Published,
    suppress,
    suppress_together,
)

Pos = tuple[int, int]
Key = tuple[str, Pos]


# -- the checker ---------------------------------------------------------------------------------


def _lines(grid: Grid) -> list[list[tuple[Pos, int]]]:
    """Each row and column of ``grid`` with its total, as (cell, coefficient) summing to 0."""
    rows, cols = grid.shape
    if not grid.margins:
        return [[((i, 0), 1) for i in range(rows)] + [((rows, 0), -1)]]
    found = []
    for i in range(rows + 1):
        found.append([((i, j), 1) for j in range(cols)] + [((i, cols), -1)])
    for j in range(cols + 1):
        found.append([((i, j), 1) for i in range(rows)] + [((rows, j), -1)])
    return found


def ranges(
    grids: Mapping[str, Grid],
    published: Mapping[str, Published],
    shared: Iterable[Sequence[Key]] = (),
) -> dict[Key, tuple[float, float]]:
    """The smallest and largest value of every hidden cell under what is published."""
    keys: list[Key] = [(name, pos) for name, grid in grids.items() for pos in grid.values()]
    index = {key: n for n, key in enumerate(keys)}
    equalities: list[np.ndarray] = []
    for name, grid in grids.items():
        for line in _lines(grid):
            row = np.zeros(len(keys))
            for pos, coefficient in line:
                row[index[name, pos]] += coefficient
            equalities.append(row)
    for group in shared:
        first, *rest = group
        for other in rest:
            row = np.zeros(len(keys))
            row[index[first]], row[index[other]] = 1, -1
            equalities.append(row)
    bounds: list[tuple[float | None, float | None]] = []
    for name, pos in keys:
        mark = published[name].marks()[pos]
        value = grids[name].values()[pos]
        if mark is Mark.SHOWN:
            bounds.append((value, value))
        elif mark is Mark.SMALL:
            bounds.append((0, SMALL - 1))
        else:
            bounds.append((SMALL, None))
    a_eq, b_eq = np.array(equalities), np.zeros(len(equalities))
    found = {}
    for key in keys:
        if published[key[0]].marks()[key[1]] is Mark.SHOWN:
            continue
        objective = np.zeros(len(keys))
        objective[index[key]] = 1
        low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        assert low.status == 0, f"what is published is infeasible: {low.message}"
        high = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        top = float("inf") if high.status == 3 else -high.fun
        found[key] = (low.fun, top)
    return found


def recoverable(
    grids: Mapping[str, Grid],
    published: Mapping[str, Published],
    shared: Iterable[Sequence[Key]] = (),
) -> list[Key]:
    """Hidden cells a reader can work out: only one value fits what is published."""
    return [
        key for key, (low, high) in ranges(grids, published, shared).items() if high - low < 1e-6
    ]


def check_rule(grid: Grid, published: Published) -> None:
    """Counts 1–4 are hidden; a hidden cell's mark tells the truth; no hidden count is kept."""
    marks, values = published.marks(), grid.values()
    assert set(marks) == set(values)
    for pos, value in values.items():
        mark = marks[pos]
        if 0 < value < SMALL:
            assert mark is Mark.SMALL, (pos, value, mark)
        if mark is Mark.SMALL:
            assert value < SMALL
        if mark is Mark.COMPLEMENT:
            assert value >= SMALL
    shown = [
        *(c for row in published.cells for c in row),
        *(published.row_totals or ()),
        *published.column_totals,
        published.total,
    ]
    for cell in shown:
        assert (cell.count is None) == cell.hidden
        assert cell.text == (str(cell.count) if cell.count is not None else cell.text)
        if cell.hidden:
            assert cell.text in ("<5", "x")


def by_hand(grid: Grid, hidden: Iterable[Pos]) -> Published:
    """A pattern chosen by hand, to show the checker what a leak looks like."""
    values, chosen = grid.values(), set(hidden)
    rows, cols = grid.shape

    def cell(pos: Pos) -> Cell:
        if pos not in chosen:
            return Cell(values[pos], Mark.SHOWN)
        return Cell(None, Mark.SMALL if values[pos] < SMALL else Mark.COMPLEMENT)

    return Published(
        cells=tuple(tuple(cell((i, j)) for j in range(cols)) for i in range(rows)),
        row_totals=tuple(cell((i, cols)) for i in range(rows)) if grid.margins else None,
        column_totals=tuple(cell((rows, j)) for j in range(cols)),
        total=cell((rows, cols) if grid.margins else (rows, 0)),
    )


# -- the checker can fail ----------------------------------------------------------------------


def test_the_checker_finds_a_small_count_left_beside_its_total() -> None:
    grid = Grid.one_way([3, 10, 12])
    assert recoverable({"g": grid}, {"g": by_hand(grid, [(0, 0)])}) == [("g", (0, 0))]


def test_the_checker_knows_that_an_x_is_at_least_five() -> None:
    """A 4 hidden in a block of fives: every line has two hidden cells, yet the 4 cannot go up
    (it would not be "<5") and cannot go down (the five opposite would have to go down too, and
    an "x" is at least 5). Hiding two cells per line is not enough; the ranges matter."""
    grid = Grid(((4, 5, 9), (5, 5, 9), (9, 9, 9)))
    block = [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert ("g", (0, 0)) in recoverable({"g": grid}, {"g": by_hand(grid, block)})
    safe = suppress(grid)
    assert recoverable({"g": grid}, {"g": safe}) == []


def test_the_checker_sees_a_leak_through_two_lines() -> None:
    """A 2×2 block hidden in a two-way table is safe; three of its corners are not."""
    grid = Grid(((2, 7, 9), (8, 6, 11), (10, 12, 13)))
    block = [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert recoverable({"g": grid}, {"g": by_hand(grid, block)}) == []
    assert recoverable({"g": grid}, {"g": by_hand(grid, block[:3])})


def test_the_checker_sees_across_tables_that_share_a_total() -> None:
    first, second = Grid.one_way([2, 9, 9]), Grid.one_way([20])
    grids = {"a": first, "b": second}
    alone = {"a": by_hand(first, [(0, 0), (3, 0)]), "b": by_hand(second, [])}
    assert recoverable(grids, alone) == []  # each table alone hides the 2 …
    shared = [[("a", (3, 0)), ("b", (1, 0))]]
    assert ("a", (0, 0)) in recoverable(grids, alone, shared)  # … the other shows its total


# -- the rule ------------------------------------------------------------------------------------


def test_nothing_is_hidden_without_a_small_count() -> None:
    grid = Grid(((0, 12, 7), (5, 0, 30)))
    published = suppress(grid)
    assert published.hidden_count == 0
    assert [c.text for c in published.cells[0]] == ["0", "12", "7"]
    assert published.total.text == "54"


def test_a_zero_is_shown_unless_it_is_the_cheapest_complement() -> None:
    """A 0 says nobody; beside a small count it is the cheapest cell to hide with it (it can go
    up to 1 while the small count goes down), cheaper than hiding the 25."""
    grid = Grid.one_way([0, 4, 25, 0, 30])
    published = suppress(grid)
    texts = [row[0].text for row in published.cells]
    assert texts == ["<5", "<5", "25", "0", "30"]
    assert published.row_totals is None and published.total.text == "59"
    assert recoverable({"g": grid}, {"g": published}) == []
    plain = suppress(Grid.one_way([0, 12, 0]))
    assert [row[0].text for row in plain.cells] == ["0", "12", "0"]


def test_a_one_way_table_hides_a_second_cell_not_its_total() -> None:
    grid = Grid.one_way([3, 40, 12, 9])
    published = suppress(grid)
    assert published.total.text == "64"
    hidden = [i for i, row in enumerate(published.cells) if row[0].hidden]
    assert 0 in hidden and len(hidden) == 2
    assert recoverable({"g": grid}, {"g": published}) == []


def test_ones_that_fill_a_small_total_are_not_given_away() -> None:
    """Four ones and a total of 4: "<5" admits 0, so another table (2, 0, 1, 1) fits too."""
    grid = Grid.one_way([1, 1, 1, 1])
    published = suppress(grid)
    assert all(row[0].hidden for row in published.cells) and published.total.hidden
    assert recoverable({"g": grid}, {"g": published}) == []


def test_a_single_small_count_hides_its_rectangle() -> None:
    grid = Grid(((3, 20, 15), (12, 30, 18), (9, 11, 40)))
    published = suppress(grid)
    assert recoverable({"g": grid}, {"g": published}) == []
    hidden = [pos for pos, mark in published.marks().items() if mark is not Mark.SHOWN]
    assert len(hidden) == 4  # the 3, one cell in its row, one in its column, and the fourth
    assert published.total.text == str(sum(map(sum, grid.counts)))


def test_a_table_of_only_small_counts() -> None:
    grid = Grid(((1, 0), (0, 2)))
    published = suppress(grid)
    check_rule(grid, published)
    assert recoverable({"g": grid}, {"g": published}) == []


def test_a_grid_rejects_ragged_rows_and_negative_counts() -> None:
    with pytest.raises(ValueError, match="same number"):
        Grid(((1, 2), (3,)))
    with pytest.raises(ValueError, match="negative"):
        Grid.one_way([1, -1])
    with pytest.raises(ValueError, match="one column"):
        Grid(((1, 2),), margins=False)


def test_shared_cells_must_agree() -> None:
    with pytest.raises(ValueError, match="different counts"):
        suppress_together(
            {"a": Grid.one_way([5]), "b": Grid.one_way([6])}, [[("a", (1, 0)), ("b", (1, 0))]]
        )


def test_tables_sharing_a_small_total_hide_it_in_each() -> None:
    grids = {"a": Grid.one_way([3]), "b": Grid.one_way([1, 2]), "c": Grid(((2, 1),))}
    shared = [[("a", (1, 0)), ("b", (2, 0)), ("c", (1, 2))]]
    published = suppress_together(grids, shared)
    assert published["a"].total.hidden and published["b"].total.hidden
    assert published["c"].total.hidden
    assert recoverable(grids, published, shared) == []


# -- every table ---------------------------------------------------------------------------------

#: Mostly small counts, so that suppression has work to do; some large ones to complement.
counts = st.one_of(st.integers(0, 6), st.integers(0, 6), st.integers(0, 60))


@st.composite
def two_way(draw: st.DrawFn) -> Grid:
    rows = draw(st.integers(1, 6))
    cols = draw(st.integers(1, 5))
    return Grid(tuple(tuple(draw(counts) for _ in range(cols)) for _ in range(rows)))


@st.composite
def one_way(draw: st.DrawFn) -> Grid:
    return Grid.one_way(draw(st.lists(counts, min_size=1, max_size=9)))


@settings(max_examples=200, deadline=None)
@given(two_way())
def test_no_hidden_cell_of_a_two_way_table_is_recoverable(grid: Grid) -> None:
    published = suppress(grid)
    check_rule(grid, published)
    assert recoverable({"g": grid}, {"g": published}) == []


@settings(max_examples=200, deadline=None)
@given(one_way())
def test_no_hidden_cell_of_a_one_way_table_is_recoverable(grid: Grid) -> None:
    published = suppress(grid)
    check_rule(grid, published)
    assert recoverable({"g": grid}, {"g": published}) == []


@settings(max_examples=100, deadline=None)
@given(two_way(), st.lists(counts, min_size=1, max_size=5), st.data())
def test_no_hidden_cell_is_recoverable_from_tables_that_share_a_total(
    first: Grid, split: list[int], data: st.DataObject
) -> None:
    """A page's report tables: a two-way table, and two one-way tables of the same reports
    (so the same grand total) counted another way."""
    total = sum(map(sum, first.counts))
    second = Grid.one_way(_split(total, split))
    third = Grid.one_way(_split(total, data.draw(st.lists(counts, min_size=1, max_size=4))))
    grids = {"first": first, "second": second, "third": third}
    rows, cols = first.shape
    shared = [
        [
            ("first", (rows, cols)),
            ("second", (second.shape[0], 0)),
            ("third", (third.shape[0], 0)),
        ]
    ]
    published = suppress_together(grids, shared)
    for name, grid in grids.items():
        check_rule(grid, published[name])
    marks = {published[name].marks()[pos] for name, pos in shared[0]}
    assert len(marks) == 1, "a shared total is hidden in all its tables or in none"
    assert recoverable(grids, published, shared) == []


def _split(total: int, weights: list[int]) -> list[int]:
    """``total`` in parts roughly by ``weights`` (the last part takes what is left)."""
    parts, left = [], total
    scale = sum(weights) or 1
    for weight in weights[:-1]:
        part = min(left, total * weight // scale)
        parts.append(part)
        left -= part
    return [*parts, left]


def test_a_large_table_is_suppressed_quickly() -> None:
    """The weekly table of three years (157 rows) with many small weeks: well under a second
    (it runs on every page view); the time is not asserted, the result is."""
    values = [(i * 7) % 9 for i in range(157)]
    grid = Grid.one_way(values)
    published = suppress(grid)
    check_rule(grid, published)
    assert recoverable({"g": grid}, {"g": published}) == []
