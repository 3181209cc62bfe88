"""Whole numbers from URLs, bounded, and text without NUL: what a URL or a form may carry.

An id or paging value beyond what the database's 64-bit integers hold would overflow in the
driver and answer 500. ``BoundedInt`` replaces Flask's ``int`` converter on the app, so every
``<int:…>`` path segment above ``MAX_INT`` (or negative, or not digits) is a 404; ``int_arg``
reads a query parameter the same way and falls back to its default.

A control character in the path (``%00``, ``%0a``) is a 404, and a NUL in a query or form value
a 400, before any view runs: no page has such a URL or field, and PostgreSQL refuses NUL in
text, which would otherwise surface as a 500 from wherever the value reached the database.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

#: The largest value of a signed 64-bit integer (SQLite's INTEGER, PostgreSQL's BIGINT).
MAX_INT = 2**63 - 1


class BoundedInt(IntegerConverter):
    """``<int:…>`` limited to 0…MAX_INT and to ASCII digits (no other script's digits)."""

    regex = r"[0-9]+"

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_INT)
        super().__init__(map, *args, **kwargs)


def int_arg(name: str, default: int, *, minimum: int = 1, maximum: int = MAX_INT) -> int:
    """The query parameter ``name`` as a whole number in ``minimum…maximum``, else ``default``:
    a paging value that is missing, malformed or out of range shows the first page."""
    raw = request.args.get(name, "")
    if not raw.isascii() or not raw.isdigit() or len(raw) > len(str(maximum)):
        return default
    value = int(raw)
    return value if minimum <= value <= maximum else default


def _refuse_control_characters() -> None:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in request.path):
        abort(404)
    for values in (request.args, request.form):
        for key, value in values.items(multi=True):
            if "\x00" in str(key) or (isinstance(value, str) and "\x00" in value):
                abort(400)


def register(app: Flask) -> None:
    """Register the converter (before the blueprints: their rules use it) and the check."""
    app.url_map.converters["int"] = BoundedInt
    app.before_request(_refuse_control_characters)
