"""docs/security.md names the test that proves each control as ``file::test``; a test renamed or
removed must break the build, not leave the page pointing at nothing. Read with ``ast``, so a
name in a comment or a string does not count: only a test function that pytest would collect."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "security.md"
#: ``tests/integration/test_x.py::test_y`` inside backticks.
NAMED = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")
ASVS_HEADING = "## ASVS level 2: each control and the test that proves it"


@cache
def defined_tests(path: Path) -> frozenset[str]:
    """The test functions of a module: at its top level, or in a ``Test…`` class."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            found.add(node.name)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            found |= {
                n.name
                for n in node.body
                if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")
            }
    return frozenset(found)


def asvs_rows() -> list[str]:
    text = PAGE.read_text(encoding="utf-8")
    section = text.split(ASVS_HEADING, 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if re.match(r"\| V\d", line)]


NAMES = sorted(set(NAMED.findall(PAGE.read_text(encoding="utf-8"))))


def test_the_page_names_tests() -> None:
    assert len(NAMES) >= 40, NAMES


@pytest.mark.parametrize(("path", "name"), NAMES, ids=[f"{p}::{n}" for p, n in NAMES])
def test_every_test_the_page_names_exists(path: str, name: str) -> None:
    module = ROOT / path
    assert module.is_file(), f"docs/security.md names {path}, which does not exist"
    assert name in defined_tests(module), f"docs/security.md names {path}::{name}, not in that file"


def test_every_asvs_requirement_in_the_table_has_a_test() -> None:
    rows = asvs_rows()
    assert len(rows) >= 20, rows
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert len(cells) == 5, row
        assert re.fullmatch(r"V\d+\.\d+\.\d+.*", cells[0]), row
        assert cells[1] in {"L1", "L2", "L3"}, row
        assert NAMED.search(cells[4]), f"no file::test for {cells[0]}"


def test_the_check_finds_a_missing_test() -> None:
    """The control: a name that is not there is caught."""
    module = ROOT / "tests" / "unit" / "test_security_doc.py"
    assert "test_the_check_finds_a_missing_test" in defined_tests(module)
    assert "test_nothing_by_this_name" not in defined_tests(module)
