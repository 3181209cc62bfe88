"""Domain errors and the one place they become HTTP responses.

Services raise these; views let them propagate. The handler rolls back the request's transaction,
so a failed request leaves nothing half-written, and renders a friendly page (or a problem+json
document under ``/api/``) without stack traces or personal data.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as WerkzeugResponse

from . import db
from .crypto import CryptoError, SealIntegrityError

log = logging.getLogger("triage")


def N_(message: str) -> str:
    """Mark a message for translation where it is defined; pages translate it when shown."""
    return message


class DomainError(Exception):
    """A rule of the domain refused the request. ``status`` is the HTTP status it maps to."""

    status: int = HTTPStatus.CONFLICT
    title: str = N_("The request conflicts with the current state")

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.title)
        self.message = message or self.title


class NotFound(DomainError):
    status = HTTPStatus.NOT_FOUND
    title = N_("Not found")


class Forbidden(DomainError):
    status = HTTPStatus.FORBIDDEN
    title = N_("You do not have permission to do that")


class InvalidInput(DomainError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    title = N_("The input is not valid")


class Erased(DomainError):
    """The record's data key was destroyed (retention or erasure): its content is gone for good.

    The message names table and id only; the page says what happened without either.
    """

    status = HTTPStatus.GONE
    title = N_("This record's content was erased")


class Conflict(DomainError):
    status = HTTPStatus.CONFLICT
    title = N_("Someone else changed this in the meantime")


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _render(status: int, title: str, message: str) -> tuple[Response | str, int]:
    if _wants_json():
        body = jsonify({"type": "about:blank", "title": title, "status": status, "detail": message})
        body.mimetype = "application/problem+json"
        return body, status
    # Messages marked with N_ (and fixed domain messages) come out in the reader's language.
    return render_template(
        "error.html", status=status, title=gettext(title), message=gettext(message)
    ), status


def register(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError) -> tuple[Response | str, int]:
        db.rollback_request()
        if isinstance(exc, Erased):
            return _render(
                int(exc.status),
                exc.title,
                N_(
                    "Its keys were destroyed under the retention rules or an erasure request; "
                    "the audit log records when and by whom."
                ),
            )
        return _render(int(exc.status), exc.title, exc.message)

    @app.errorhandler(SealIntegrityError)
    def integrity_error(exc: SealIntegrityError) -> tuple[Response | str, int]:
        db.rollback_request()
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
        db.rollback_request()
        log.error("key problem: %s", exc)
        return _render(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            N_("Key problem"),
            N_("A key needed for this record is not available. Tell your administrator."),
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response | str, int] | WerkzeugResponse:
        db.rollback_request()
        status = exc.code or 500
        if exc.response is not None and status not in (401, 403, 404):
            return exc.response  # type: ignore[return-value]
        return _render(
            status, HTTPStatus(status).phrase, _MESSAGES.get(status, exc.description or "")
        )

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response | str, int]:
        db.rollback_request()
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


_MESSAGES = {
    400: N_("The request could not be understood. Reload the page and try again."),
    401: N_("Sign in to continue."),
    403: N_("You do not have permission to open this page."),
    404: N_("There is no such page."),
    405: N_("That action is not available here."),
    413: N_("The request is too large."),
    429: N_("Too many attempts. Wait a minute and try again."),
}
