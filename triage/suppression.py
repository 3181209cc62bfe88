"""Small-count suppression of published tables: which counts a table of statistics may show.

Pure: counts in, what to publish out. A count of 1 to 4 is hidden (shown "<5"), and so many
other cells with it — complementary suppression — that no hidden cell can be worked out from
what is shown: the row, column and grand totals and the other cells.

The guarantee, and how it is kept. A reader who knows the rule knows that a "<5" cell holds 0 to
4, that an "x" cell (a count of 5 or more hidden beside a small one) holds 5 or more, and that
every shown number is exact. A hidden cell is *recoverable* when those facts leave it one
possible value. It is not, if the true table can be changed into another table that agrees with
everything shown and every hidden cell's range and differs in that cell: then the reader cannot
tell the two apart. Such a change is a *cycle*: add 1 to one hidden cell, take 1 from another in
its row, add 1 to a third in that one's column, …, back to the first, so that every row and
column keeps its sum (a total is a member of its line, with the opposite sign). ``suppress``
hides, for every hidden cell, a whole cycle through it along which each member stays in its
range, choosing the cycle that hides least (other hidden cells first, then small inner cells,
totals last). Every hidden cell lies on such a cycle, so none is recoverable; the tests check
this independently with linear programming (the smallest and largest value each hidden cell can
take under what is shown differ).

A 0 is shown as 0: nobody is in it. It is hidden (as "<5", which it is) only as a member of a
cycle, where taking it up to 1 is what lets a small count beside it go down.

Tables that share a cell (the same grand total on several tables of one page) are suppressed
together (``suppress_together``): the shared cell is hidden in all or in none, and a cycle that
moves it is matched by one in every other table holding it.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "SMALL",
    "Cell",
    "Grid",
    "Mark",
    "Published",
    "SuppressionFailed",
    "suppress",
    "suppress_together",
]

#: Counts from 1 up to (not including) this are never shown.
SMALL = 5

#: A cell's place in a grid with its totals: (row, column). The total row is ``len(rows)``, the
#: column of row totals ``len(columns)``.
Pos = tuple[int, int]


class Mark(StrEnum):
    """How a cell is published."""

    SHOWN = "shown"
    #: A count below 5 (or a 0 hidden as a member of a cycle): shown as "<5".
    SMALL = "small"
    #: A count of 5 or more, hidden so that a small count cannot be worked out: shown as "x".
    COMPLEMENT = "complement"


_SYMBOL = {Mark.SMALL: f"<{SMALL}", Mark.COMPLEMENT: "x"}


class SuppressionFailed(RuntimeError):
    """No pattern of hidden cells could protect the table: nothing of it may be published."""


@dataclass(frozen=True)
class Cell:
    """A published cell: its count if shown, ``None`` if hidden (hidden counts never leave)."""

    count: int | None
    mark: Mark

    @property
    def hidden(self) -> bool:
        return self.mark is not Mark.SHOWN

    @property
    def text(self) -> str:
        """What a page or a file shows: the count, "<5" or "x"."""
        return str(self.count) if self.count is not None else _SYMBOL[self.mark]


@dataclass(frozen=True)
class Grid:
    """A table of counts to publish: rows × columns, with its totals.

    With ``margins`` (a two-way table) each row has its total, each column its total, and the
    grid its grand total. Without, it has one column (a one-way table: a count per row) and
    just its total.
    """

    counts: tuple[tuple[int, ...], ...]
    margins: bool = True

    def __post_init__(self) -> None:
        widths = {len(row) for row in self.counts}
        if len(widths) > 1:
            raise ValueError("every row of a grid has the same number of columns")
        if not self.margins and widths - {1}:
            raise ValueError("a one-way grid has exactly one column")
        if any(v < 0 for row in self.counts for v in row):
            raise ValueError("counts are never negative")

    @classmethod
    def one_way(cls, counts: Iterable[int]) -> Grid:
        return cls(tuple((int(v),) for v in counts), margins=False)

    @property
    def shape(self) -> tuple[int, int]:
        if not self.counts:
            return 0, 0 if self.margins else 1
        return len(self.counts), len(self.counts[0])

    def values(self) -> dict[Pos, int]:
        """Every cell with its totals, by position."""
        rows, cols = self.shape
        found: dict[Pos, int] = {}
        for i, row in enumerate(self.counts):
            for j, v in enumerate(row):
                found[i, j] = v
            if self.margins:
                found[i, cols] = sum(row)
        for j in range(cols):
            found[rows, j] = sum(row[j] for row in self.counts)
        if self.margins:
            found[rows, cols] = sum(sum(row) for row in self.counts)
        return found


@dataclass(frozen=True)
class Published:
    """A grid as it may be shown: its cells and totals, each a ``Cell``."""

    cells: tuple[tuple[Cell, ...], ...]
    #: Each row's total; ``None`` for a one-way grid, whose rows are their own totals.
    row_totals: tuple[Cell, ...] | None
    column_totals: tuple[Cell, ...]
    total: Cell

    def marks(self) -> dict[Pos, Mark]:
        """Every cell's mark by position (the total row and column as in ``Grid.values``)."""
        rows = len(self.cells)
        cols = len(self.column_totals)
        found: dict[Pos, Mark] = {}
        for i, row in enumerate(self.cells):
            for j, cell in enumerate(row):
                found[i, j] = cell.mark
            if self.row_totals is not None:
                found[i, cols] = self.row_totals[i].mark
        for j, cell in enumerate(self.column_totals):
            found[rows, j] = cell.mark
        if self.row_totals is not None:
            found[rows, cols] = self.total.mark
        return found

    @property
    def hidden_count(self) -> int:
        return sum(1 for mark in self.marks().values() if mark is not Mark.SHOWN)


def suppress(grid: Grid) -> Published:
    """``grid`` as it may be published: counts 1–4 hidden, with their complements."""
    return suppress_together({"grid": grid})["grid"]


#: A cell shared by several grids: (grid name, position) for each, all the same count.
Shared = Sequence[tuple[str, Pos]]


def suppress_together(
    grids: Mapping[str, Grid], shared: Iterable[Shared] = ()
) -> dict[str, Published]:
    """Grids published side by side, where each group in ``shared`` names one count that
    appears in several of them (the same total): hidden in all of them or in none, and never
    recoverable by reading the grids together."""
    tables = {name: _Table(grid) for name, grid in grids.items()}
    groups = [tuple(group) for group in shared]
    links: dict[tuple[str, Pos], tuple[tuple[str, Pos], ...]] = {}
    for group in groups:
        values = {tables[name].value[pos] for name, pos in group}
        if len(values) != 1:
            raise ValueError(f"shared cells hold different counts: {group}")
        for member in group:
            links[member] = group
    _Suppressor(tables, links).run()
    return {name: table.published() for name, table in tables.items()}


# -- the search ----------------------------------------------------------------------------------

_Node = tuple[str, int]
#: A step of a cycle: a cell and the direction it moves in (+1 or -1, in the sign convention of
#: ``_Table.sign``: inner cells and the grand total as they are, totals of lines negated).
_Step = tuple[Pos, int]

#: What hiding one more cell costs: inner cells least (a smaller count less), totals more, the
#: grand total most; an already hidden cell almost nothing, so that short cycles win.
_COST_HIDDEN = 0.001
_COST_INNER = 1.0
_COST_TOTAL = 4.0
_COST_GRAND = 25.0


class _Table:
    def __init__(self, grid: Grid) -> None:
        self.grid = grid
        self.rows, self.cols = grid.shape
        self.value = grid.values()
        self.grand_value = max(self.value.values(), default=0)
        self.hidden: set[Pos] = {pos for pos, v in self.value.items() if 0 < v < SMALL}

    # positions of the total row, the total column and the grand total
    def is_total(self, pos: Pos) -> bool:
        i, j = pos
        return i == self.rows or (self.grid.margins and j == self.cols)

    def is_grand(self, pos: Pos) -> bool:
        i, j = pos
        if not self.grid.margins:
            return i == self.rows
        return i == self.rows and j == self.cols

    def sign(self, pos: Pos) -> int:
        """+1 for inner cells and the grand total, -1 for the total of a row or a column: with
        it every row and column of the grid, totals included, sums to zero."""
        if not self.grid.margins:
            return -1 if pos[0] == self.rows else 1
        i, j = pos
        return -1 if (i == self.rows) != (j == self.cols) else 1

    def nodes(self, pos: Pos) -> tuple[_Node, _Node]:
        """The line nodes a cell joins: its row's and its column's. The rows of a one-way grid
        have no sum of their own, so they are one node."""
        i, j = pos
        return ("r", i if self.grid.margins else 0), ("c", j)

    def can_move(self, pos: Pos, step: int) -> bool:
        """Whether the cell can move by ``step`` (in its sign convention) and stay in the range a
        reader knows it is in: 0–4 for "<5", 5 and more for "x"."""
        v = self.value[pos] + step * self.sign(pos)
        return 0 <= v < SMALL if self.value[pos] < SMALL else v >= SMALL

    def cost(self, pos: Pos) -> float:
        if pos in self.hidden:
            return _COST_HIDDEN
        share = self.value[pos] / (self.grand_value + 1)
        if self.is_grand(pos):
            return _COST_GRAND + share
        if self.is_total(pos):
            return _COST_TOTAL + share
        return _COST_INNER + share

    def cycle(
        self, start: Pos, step: int, frozen: frozenset[Pos], open_: _Step | None = None
    ) -> tuple[float, list[_Step]] | None:
        """The cheapest cycle through ``start`` moving it by ``step``: the cells and their
        steps, ``start`` first; ``None`` if there is none. ``frozen`` cells are never used,
        except ``open_``, which may be used in its one direction."""
        if not self.can_move(start, step):
            return None
        row, col = self.nodes(start)
        # A step of +1 goes row → column; the cycle comes back column → row, and the reverse.
        source, target = (col, row) if step > 0 else (row, col)
        arcs: dict[_Node, list[tuple[_Node, Pos, int, float]]] = {}
        for pos in self.value:
            if pos == start or (pos in frozen and (open_ is None or pos != open_[0])):
                continue
            r, c = self.nodes(pos)
            cost = self.cost(pos)
            for direction in (1, -1):
                if open_ is not None and pos == open_[0] and direction != open_[1]:
                    continue
                if self.can_move(pos, direction):
                    tail, head = (r, c) if direction > 0 else (c, r)
                    arcs.setdefault(tail, []).append((head, pos, direction, cost))
        return _shortest(arcs, source, target, start, step)

    def published(self) -> Published:
        def cell(pos: Pos) -> Cell:
            v = self.value[pos]
            if pos not in self.hidden:
                return Cell(v, Mark.SHOWN)
            return Cell(None, Mark.SMALL if v < SMALL else Mark.COMPLEMENT)

        cells = tuple(tuple(cell((i, j)) for j in range(self.cols)) for i in range(self.rows))
        if self.grid.margins:
            row_totals: tuple[Cell, ...] | None = tuple(
                cell((i, self.cols)) for i in range(self.rows)
            )
            total = cell((self.rows, self.cols))
        else:
            row_totals, total = None, cell((self.rows, 0))
        column_totals = tuple(cell((self.rows, j)) for j in range(self.cols))
        return Published(cells, row_totals, column_totals, total)


def _shortest(
    arcs: Mapping[_Node, list[tuple[_Node, Pos, int, float]]],
    source: _Node,
    target: _Node,
    start: Pos,
    step: int,
) -> tuple[float, list[_Step]] | None:
    """Dijkstra from ``source`` to ``target``; the path closes the cycle through ``start``."""
    best: dict[_Node, float] = {source: 0.0}
    came: dict[_Node, tuple[_Node, Pos, int]] = {}
    order = itertools.count()
    heap: list[tuple[float, int, _Node]] = [(0.0, next(order), source)]
    while heap:
        cost, _, node = heapq.heappop(heap)
        if node == target:
            steps: list[_Step] = []
            while node != source:
                node, pos, direction = came[node]
                steps.append((pos, direction))
            return cost, [(start, step), *reversed(steps)]
        if cost > best.get(node, float("inf")):
            continue
        for head, pos, direction, weight in arcs.get(node, ()):
            total = cost + weight
            if total < best.get(head, float("inf")):
                best[head] = total
                came[head] = (node, pos, direction)
                heapq.heappush(heap, (total, next(order), head))
    return None


_Move = list[tuple[str, list[_Step]]]


class _Suppressor:
    """Protects every hidden cell of a set of grids by hiding whole cycles through it."""

    def __init__(
        self,
        tables: Mapping[str, _Table],
        links: Mapping[tuple[str, Pos], tuple[tuple[str, Pos], ...]],
    ) -> None:
        self.tables = tables
        self.links = links
        self.frozen = {
            name: frozenset(pos for owner, pos in links if owner == name) for name in tables
        }
        self.safe: set[tuple[str, Pos]] = set()
        # A shared cell small in one grid is small in all: hide it everywhere from the start.
        for name, table in tables.items():
            for pos in table.hidden:
                for other, other_pos in links.get((name, pos), ()):
                    tables[other].hidden.add(other_pos)

    def run(self) -> None:
        while True:
            waiting = sorted(
                (name, pos)
                for name, table in self.tables.items()
                for pos in table.hidden
                if (name, pos) not in self.safe
            )
            if not waiting:
                return
            name, pos = waiting[0]
            move = self.protect(name, pos)
            if move is None:
                move = self.fall_back(name, pos)
            for owner, steps in move:
                for step_pos, _ in steps:
                    self.hide(owner, step_pos)
                    self.safe.add((owner, step_pos))

    def hide(self, name: str, pos: Pos) -> None:
        self.tables[name].hidden.add(pos)
        for other, other_pos in self.links.get((name, pos), ()):
            self.tables[other].hidden.add(other_pos)

    def fall_back(self, name: str, pos: Pos) -> _Move:
        """No cycle exists with what could be hidden so far: hide the whole grid, then every
        grid, before giving up (never seen in the tests; kept so that nothing leaks if it
        happens)."""
        for scope in ([name], list(self.tables)):
            for owner in scope:
                for cell in self.tables[owner].value:
                    self.hide(owner, cell)
            move = self.protect(name, pos)
            if move is not None:
                return move
        raise SuppressionFailed(f"no cell pattern protects {name} at {pos}")

    def protect(self, name: str, pos: Pos) -> _Move | None:
        """The cheapest move that changes cell ``pos`` of grid ``name`` and keeps every shown
        cell and every hidden cell's range, across all grids."""
        table = self.tables[name]
        candidates: list[tuple[float, _Move]] = []
        if (name, pos) in self.links:
            for delta in (1, -1):
                move = self.joint(self.links[name, pos], delta)
                if move is not None:
                    candidates.append(move)
            return min(candidates, key=lambda c: c[0])[1] if candidates else None
        for step in (1, -1):
            found = table.cycle(pos, step, self.frozen[name])
            if found is not None:
                candidates.append((found[0], [(name, found[1])]))
        if candidates:
            return min(candidates, key=lambda c: c[0])[1]
        # Only through a shared cell: move it in this grid and, to match, in every other.
        for shared in sorted(self.frozen[name]):
            group = self.links[name, shared]
            for delta in (1, -1):
                elsewhere = [m for m in group if m != (name, shared)]
                others = self.joint(elsewhere, delta)
                if others is None and elsewhere:
                    continue
                for step in (1, -1):
                    open_ = (shared, delta * table.sign(shared))
                    found = table.cycle(pos, step, self.frozen[name], open_)
                    if found is None:
                        continue
                    if shared not in {p for p, _ in found[1]}:
                        candidates.append((found[0], [(name, found[1])]))
                        continue
                    extra_cost, extra = others if others is not None else (0.0, [])
                    candidates.append((found[0] + extra_cost, [(name, found[1]), *extra]))
        return min(candidates, key=lambda c: c[0])[1] if candidates else None

    def joint(self, members: Sequence[tuple[str, Pos]], delta: int) -> tuple[float, _Move] | None:
        """A cycle in each grid through its copy of one shared cell, all moving the count by
        ``delta``; other shared cells stay as they are."""
        total, move = 0.0, []
        for owner, pos in members:
            table = self.tables[owner]
            found = table.cycle(pos, delta * table.sign(pos), self.frozen[owner])
            if found is None:
                return None
            total += found[0]
            move.append((owner, found[1]))
        return total, move
