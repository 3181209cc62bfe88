"""The one place where errors become responses: domain errors, key problems, HTTP errors and
anything unexpected turn into a page in the reader's language, a problem+json document under
``/api/``, or a flash message — never a stack trace or personal data.

Nothing here rolls back: by the time an error reaches a handler, the unit of work whose block it
left has already rolled its transaction back.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, flash, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as WerkzeugResponse

from ..crypto import CryptoError, SealIntegrityError
from ..errors import N_, DomainError, Erased

log = logging.getLogger("triage")


def message_of(exc: DomainError) -> str:
    """The error's message in the reader's language, its placeholders filled."""
    return str(gettext(exc.message, **exc.params))


def title_of(exc: DomainError) -> str:
    return str(gettext(exc.title))


def flash_refusal(exc: DomainError) -> None:
    """A refused action told on the next page, in the reader's language."""
    flash(message_of(exc), "error")


#: Problem types are URNs: stable names to switch on, described in docs/api.md.
PROBLEM_TYPE = "urn:triage:problem:"
PROBLEM = "application/problem+json"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    code: str | None = None,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An RFC 9457 problem document (the API's and every ``/api/`` error's answer)."""
    body: dict[str, Any] = {
        "type": f"{PROBLEM_TYPE}{code}" if code else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        **(extra or {}),
    }
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _render(status: int, title: str, message: str) -> tuple[Response | str, int]:
    """A page (or problem+json) whose title and message are marked messages, translated here."""
    if _wants_json():
        return problem(status, title, message), status
    return render_template(
        "error.html", status=status, title=gettext(title), message=gettext(message)
    ), status


_MESSAGES = {
    400: N_("The request could not be understood. Reload the page and try again."),
    401: N_("Sign in to continue."),
    403: N_("You do not have permission to open this page."),
    404: N_("There is no such page."),
    405: N_("That action is not available here."),
    413: N_("The request is too large."),
    429: N_("Too many attempts. Wait a minute and try again."),
}


def register(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError) -> tuple[Response | str, int]:
        if isinstance(exc, Erased):
            return _render(
                int(exc.status),
                exc.title,
                N_(
                    "Its keys were destroyed under the retention rules or an erasure request; "
                    "the audit log records when and by whom."
                ),
            )
        status = int(exc.status)
        if _wants_json():
            return problem(status, exc.title, exc.text), status
        return render_template(
            "error.html", status=status, title=title_of(exc), message=message_of(exc)
        ), status

    @app.errorhandler(SealIntegrityError)
    def integrity_error(exc: SealIntegrityError) -> tuple[Response | str, int]:
        # The message names table and row id only; it is safe to log, and operators need it.
        log.error("sealed data failed its integrity check: %s", exc)
        return _render(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            N_("Integrity check failed"),
            N_(
                "A sealed record failed its integrity check and was not shown. "
                "The incident has been logged; tell your administrator."
            ),
        )

    @app.errorhandler(CryptoError)
    def crypto_error(exc: CryptoError) -> tuple[Response | str, int]:
        log.error("key problem: %s", exc)
        return _render(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            N_("Key problem"),
            N_("A key needed for this record is not available. Tell your administrator."),
        )

    @app.errorhandler(CSRFError)
    def csrf_error(_exc: CSRFError) -> tuple[Response | str, int]:
        return _render(
            HTTPStatus.BAD_REQUEST,
            N_("Form expired"),
            N_(
                "The form was out of date or sent from somewhere else, so nothing was saved. "
                "Go back, reload the page and try again."
            ),
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response | str, int] | WerkzeugResponse:
        status = exc.code or 500
        if exc.response is not None and status not in (401, 403, 404):
            return exc.response  # type: ignore[return-value]
        return _render(
            status, HTTPStatus(status).phrase, _MESSAGES.get(status, exc.description or "")
        )

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response | str, int]:
        # Exception type and route only: a message might quote personal data.
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.endpoint)
        if app.debug or (app.testing and app.config.get("PROPAGATE_EXCEPTIONS")):
            raise exc
        return _render(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            N_("Something went wrong"),
            N_(
                "The request failed and nothing was saved. Try again; if it keeps failing, "
                "tell your administrator the time it happened."
            ),
        )
