"""Logs, configured in one place: JSON lines (or escaped text), each with its request's context.

Every line carries the time, level, logger and message, and — inside a request — the request
id, the signed-in user's id and role, never a person's data: messages name ids, types and
routes only. The web layer installs the provider of that context (``set_context_provider``);
the audit log reads the request id from here too (``request_id``), so an event, a log line and
an error page's reference can be matched.

One record is one line, whatever it holds: JSON escapes every control character, and the text
format escapes them (``\\x0a``), so a URL with an encoded newline cannot forge a second line.
``configure`` is called by the app factory and the CLI; ``GunicornLogger`` gives gunicorn's own
error and access logs the same format (``triage serve`` sets it; for a plain ``gunicorn`` run,
``--logger-class triage.logging.GunicornLogger``).
"""

from __future__ import annotations

import logging
import os
import sys
import unicodedata
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import IO, Any

from gunicorn.glogging import Logger as _GunicornBase
from pythonjsonlogger.json import JsonFormatter

from .config import ConfigError

FORMATS = ("json", "text")
#: The fields of a context a line carries, in this order.
CONTEXT_FIELDS = ("request_id", "user_id", "role")
#: The loggers whose lines triage formats: its own, the development server's, gunicorn's.
LOGGERS = ("triage", "werkzeug", "gunicorn.error", "gunicorn.access")

Context = Mapping[str, str | int | None]
_provider: Callable[[], Context] | None = None
#: The context outside the web layer's provider (a command can bind a run id here).
_bound: ContextVar[Context | None] = ContextVar("triage_log_context", default=None)


def set_context_provider(provider: Callable[[], Context] | None) -> None:
    """``provider`` returns the current request's context (``{}`` outside a request)."""
    global _provider
    _provider = provider


def context() -> Context:
    """The context of what is running now: the request's, or what ``bind`` set."""
    found = _provider() if _provider is not None else {}
    return found or _bound.get() or {}


def bind(**values: str | int | None) -> None:
    _bound.set(dict(values))


def request_id() -> str | None:
    """The id of the request being served, if any (it goes into audit events' details)."""
    value = context().get("request_id")
    return str(value) if value else None


class ContextFilter(logging.Filter):
    """Puts the context's fields on every record (``None`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        found = context()
        for name in CONTEXT_FIELDS:
            if not hasattr(record, name):
                setattr(record, name, found.get(name))
        return True


def escape_controls(text: str) -> str:
    """``text`` with every control, format and line- or paragraph-separator character written
    as an escape (``\\x0a``, ``\\u2028``): one line, whatever a client sent."""
    return "".join(_escaped(c) if unicodedata.category(c) in _UNSAFE else c for c in text)


_UNSAFE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def _escaped(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class TextFormatter(logging.Formatter):
    """Plain text for a terminal, control characters escaped (tracebacks too)."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s [%(request_id)s user=%(user_id)s "
            "role=%(role)s] %(message)s"
        )

    def format(self, record: logging.LogRecord) -> str:
        for name in CONTEXT_FIELDS:
            if not hasattr(record, name):
                setattr(record, name, None)
        return escape_controls(super().format(record))


class JsonLinesFormatter(JsonFormatter):
    """One JSON object a line: time, level, logger, message and the context's fields.

    ``ensure_ascii`` stays on: every non-ASCII character is escaped, so nothing a log reader
    might take for a line break (U+2028, U+0085) is ever written raw."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        for name in CONTEXT_FIELDS:
            log_data.setdefault(name, getattr(record, name, None))


def formatter(fmt: str) -> logging.Formatter:
    if fmt not in FORMATS:
        raise ConfigError(f"TRIAGE_LOG_FORMAT is one of {', '.join(FORMATS)}, not {fmt!r}")
    return JsonLinesFormatter() if fmt == "json" else TextFormatter()


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``stream``, or to whatever ``sys.stderr`` is at the time of each line (a test
    runner or a daemon may replace it after the handler was made)."""

    def __init__(self, stream: IO[str] | None) -> None:
        super().__init__(stream or sys.stderr)
        self._follow = stream is None

    def emit(self, record: logging.LogRecord) -> None:
        if self._follow:
            self.stream = sys.stderr
        super().emit(record)


def _is_ours(handler: logging.Handler) -> bool:
    return bool(getattr(handler, "_triage", False))


def configure(level: str = "INFO", fmt: str = "json", stream: IO[str] | None = None) -> None:
    """One handler on the root logger, formatting every line as ``fmt``; idempotent (the app
    factory runs it for each app it builds). ``level`` is the ``triage`` logger's."""
    handler = _Handler(stream)
    handler.setFormatter(formatter(fmt))
    handler.addFilter(ContextFilter())
    handler._triage = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    for old in [h for h in root.handlers if _is_ours(h)]:
        root.removeHandler(old)
    root.addHandler(handler)
    logging.getLogger("triage").setLevel(level.upper())
    # The development server logs each request at INFO, with the path it was sent.
    logging.getLogger("werkzeug").setLevel(logging.INFO)


class GunicornLogger(_GunicornBase):  # type: ignore[misc]
    """gunicorn's logger, its error and access lines in triage's format (``TRIAGE_LOG_FORMAT``).

    The access line leaves out the query string (the format ``triage serve`` sets), and the
    path in it is escaped like every other field."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        fmt = os.environ.get("TRIAGE_LOG_FORMAT", "json")
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter(fmt if fmt in FORMATS else "json"))
                handler.addFilter(ContextFilter())

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        """The access line, with the request's id (the response's ``X-Request-Id``) in its own
        field as on every other line: gunicorn writes it after the request's context is gone."""
        headers = resp.headers.items() if hasattr(resp.headers, "items") else resp.headers
        found = next((value for name, value in headers if name.lower() == "x-request-id"), None)
        token = _bound.set({"request_id": found})
        try:
            super().access(resp, req, environ, request_time)
        finally:
            _bound.reset(token)
