"""Each request's id and who it acts for, for the log lines and audit events it writes.

The id is random per request, or the one a trusted proxy sent in ``X-Request-Id`` when it is
well formed (``TRIAGE_TRUSTED_PROXIES`` set; a client's own header is ignored otherwise). It is
kept in ``g.request_id``, returned in the ``X-Request-Id`` response header, shown on error pages
for the reader to quote, and handed to ``triage.logging`` with the user's id and role.
"""

from __future__ import annotations

import logging
import re
import secrets
import time

from flask import Flask, g, has_request_context, request
from flask.wrappers import Response

from .. import logging as logs
from .deps import settings

log = logging.getLogger("triage.request")
HEADER = "X-Request-Id"
#: What a proxy's id may look like: nginx's ``$request_id`` (32 hex digits), a UUID, and the like.
WELL_FORMED = re.compile(r"[A-Za-z0-9_-]{8,64}")


def init_app(app: Flask) -> None:
    """Register first among the ``before_request`` functions, so every refusal has an id."""
    logs.set_context_provider(_context)
    app.before_request(_start)
    app.after_request(_stamp)


def _incoming() -> str | None:
    if not settings().trusted_proxies:
        return None
    value = request.headers.get(HEADER, "")
    return value if WELL_FORMED.fullmatch(value) else None


def _start() -> None:
    g.request_id = _incoming() or secrets.token_hex(16)
    g.request_started = time.perf_counter()


def _stamp(response: Response) -> Response:
    """The id in the response, and one line for the request: its route's name, never its path
    or query (they may carry what someone typed), the status and the time it took."""
    if "request_id" in g:
        response.headers[HEADER] = g.request_id
    if request.endpoint != "static":
        took = time.perf_counter() - g.get("request_started", time.perf_counter())
        log.info(
            "%s %s %s %.1fms",
            request.method,
            request.endpoint or "-",
            response.status_code,
            took * 1000,
            extra={"status": response.status_code, "endpoint": request.endpoint},
        )
    return response


def _context() -> logs.Context:
    """The request's id, and the user's id and role once Flask-Login has loaded them (never
    loaded here: a log line must not query the database)."""
    if not has_request_context():
        return {}
    user = g.get("_login_user")
    signed_in = user is not None and bool(getattr(user, "is_authenticated", False))
    return {
        "request_id": g.get("request_id"),
        "user_id": getattr(user, "id", None) if signed_in else None,
        "role": getattr(user, "role", None) if signed_in else None,
    }
