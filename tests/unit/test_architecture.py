"""The layering of the package, checked on its real import graph (grimp, the engine of
import-linter): the domain never imports Flask, no module or subpackage imports itself through a
circle, imports run one way (web → services → domain → storage), and only the unit of work
commits or rolls back."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import grimp
import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "triage"

#: The entry points: the only places that may use Flask and its extensions.
ENTRY_POINTS = ("triage.web", "triage.cli")
#: ``create_app`` lives in the package's ``__init__``: it wires the web layer, nothing else.
ROOT = "triage"
WEB_PACKAGES = frozenset(
    {"flask", "flask_babel", "flask_login", "flask_wtf", "flask_limiter", "werkzeug", "wtforms"}
)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    # No cache: a graph cached from an earlier run could hide an import made since.
    return grimp.build_graph("triage", include_external_packages=True, cache_dir=None)


def _internal(graph: grimp.ImportGraph) -> list[str]:
    return sorted(m for m in graph.modules if m == ROOT or m.startswith(ROOT + "."))


def _is_entry_point(module: str) -> bool:
    return module == ROOT or any(
        module == top or module.startswith(top + ".") for top in ENTRY_POINTS
    )


def _cycles(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(edges.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(edges.get(child, ()))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_cycle_finder_finds_a_circle_and_only_a_circle() -> None:
    assert _cycles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [["a", "b", "c"]]
    assert _cycles({"a": ["b"], "b": [], "c": ["a"]}) == []


def test_the_domain_never_imports_flask(graph: grimp.ImportGraph) -> None:
    offenders = {
        module: sorted(WEB_PACKAGES & graph.find_modules_directly_imported_by(module))
        for module in _internal(graph)
        if not _is_entry_point(module)
    }
    assert {m: found for m, found in offenders.items() if found} == {}


def test_no_module_imports_itself_through_a_circle(graph: grimp.ImportGraph) -> None:
    internal = set(_internal(graph))
    edges = {m: sorted(graph.find_modules_directly_imported_by(m) & internal) for m in internal}
    assert _cycles(edges) == []


def _unit(module: str) -> str:
    """The subpackage (``triage.review``) or top-level module (``triage.audit``) of a module."""
    parts = module.split(".")
    return ".".join(parts[:2])


def test_no_subpackage_imports_itself_through_a_circle(graph: grimp.ImportGraph) -> None:
    internal = set(_internal(graph)) - {ROOT}
    edges: dict[str, set[str]] = {}
    for module in internal:
        targets = {_unit(t) for t in graph.find_modules_directly_imported_by(module) & internal}
        edges.setdefault(_unit(module), set()).update(targets - {_unit(module)})
    assert _cycles({k: sorted(v) for k, v in edges.items()}) == []


def test_imports_run_one_way(graph: grimp.ImportGraph) -> None:
    """Nothing below the web layer imports it, and nothing imports the command line."""
    wrong = []
    for module in _internal(graph):
        imported = graph.find_modules_directly_imported_by(module)
        if not _is_entry_point(module):
            wrong += [(module, t) for t in imported if t.startswith("triage.web")]
        wrong += [(module, t) for t in imported if t == "triage.cli" and module != "triage.cli"]
    assert wrong == []


#: The pure rules: text, answers and codes in, values out; no session, no keys, no I/O.
PURE = frozenset(
    {
        "triage.errors",
        "triage.measures",
        "triage.normalise",
        "triage.permissions",
        "triage.scoring",
        "triage.screening",
        "triage.screening_lexicon",
        "triage.screening_model",
        "triage.screening_text",
        "triage.vocab",
    }
)


def test_the_pure_rules_import_only_pure_rules(graph: grimp.ImportGraph) -> None:
    """Scoring, screening, measures and permissions reach no table, session, key or service."""
    wrong = {}
    for module in sorted(PURE):
        internal = {
            t for t in graph.find_modules_directly_imported_by(module) if t[:7] == "triage."
        }
        if internal - PURE:
            wrong[module] = sorted(internal - PURE)
    assert wrong == {}


def _calls_named(tree: ast.AST, names: set[str]) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in names
    ]


def test_only_the_unit_of_work_commits_or_rolls_back() -> None:
    """Every transaction ends in ``triage/uow.py``: no hand rollback, no commit elsewhere."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "uow.py" and path.parent == PACKAGE:
            continue
        lines = _calls_named(ast.parse(path.read_text(encoding="utf-8")), {"commit", "rollback"})
        if lines:
            found[str(path.relative_to(PACKAGE))] = lines
    assert found == {}


def test_the_check_for_rollbacks_sees_one() -> None:
    tree = ast.parse("def f(session):\n    session.rollback()\n")
    assert _calls_named(tree, {"commit", "rollback"}) == [2]
