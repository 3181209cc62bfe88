"""The one place where errors become responses: domain errors, key problems, HTTP errors and
anything unexpected turn into a page in the reader's language, a problem+json document under
``/api/``, or a flash message — never a stack trace or personal data.

Under ``/api/`` every error is an RFC 9457 problem document whose ``type`` is a stable URN
(``urn:triage:problem:<code>``, listed in docs/api.md): ``API_PROBLEM_CODES`` names the code of
each domain error the intake API can meet, ``ApiProblem`` is the API's own HTTP-level refusal
(media type, body size, JSON), and rate limits breached (Flask-Limiter) are ``rate-limited``.

Nothing here rolls back: by the time an error reaches a handler, the unit of work whose block it
left has already rolled its transaction back.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, current_app, flash, render_template, request
from flask_babel import gettext
from flask_limiter.errors import RateLimitExceeded
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as WerkzeugResponse

from ..crypto import CryptoError, SealIntegrityError
from ..errors import N_, DomainError, Erased
from ..intake.api_clients import (
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
    OutOfScope,
    SourceOnRecord,
    TokenRejected,
)
from ..intake.schema import InvalidReport
from ..intake.service import DuplicateSource
from ..permissions import Permission, allows
from .gate import declared_permission
from .labels import label_of

log = logging.getLogger("triage")


def message_of(exc: DomainError) -> str:
    """The error's message in the reader's language, its placeholders filled, and its hints."""
    return " ".join([str(gettext(exc.message, **exc.params)), *(gettext(h) for h in exc.hints)])


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


# -- the intake API's problem documents ---------------------------------------------------------

#: The challenge of every 401 and 403 of the API (RFC 6750).
REALM = 'Bearer realm="triage"'

#: The problem type of each domain error the API answers with; any other is ``about:blank``.
API_PROBLEM_CODES: dict[type[DomainError], str] = {
    InvalidReport: "validation-failed",
    SourceOnRecord: "duplicate-source",
    DuplicateSource: "duplicate-source",
    IdempotencyKeyReused: "idempotency-key-reused",
    InvalidIdempotencyKey: "invalid-idempotency-key",
    TokenRejected: "unauthorized",
    OutOfScope: "out-of-scope",
}

#: The problem type of each HTTP error the API answers with.
API_HTTP_CODES = {
    400: "malformed-request",
    413: "body-too-large",
    415: "unsupported-media-type",
    429: "rate-limited",
}
_API_HTTP_DETAILS = {
    400: "The request could not be understood.",
    404: "There is no such resource.",
    405: "That method is not allowed here.",
    413: "The request body is too large.",
    429: "Too many requests; wait and retry (see Retry-After).",
}


class ApiProblem(Exception):
    """An HTTP-level refusal of an API request (body too large, wrong media type, malformed
    JSON), answered with its problem document."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})


def api_problem_code(exc: DomainError) -> str | None:
    """The problem type code of ``exc`` (its class or the nearest base in the table)."""
    return next((API_PROBLEM_CODES[c] for c in type(exc).__mro__ if c in API_PROBLEM_CODES), None)


def domain_problem(exc: DomainError) -> Response:
    """A domain error as the API tells it: in English, for the machine on the other end."""
    status, title, detail = int(exc.status), exc.title, exc.text
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(exc, InvalidReport):
        title, detail = "The report is not valid", "One or more fields are not valid; see errors."
        extra["errors"] = [
            {"field": field, "message": message}
            for field, messages in exc.errors.items()
            for message in messages
        ]
    elif isinstance(exc, SourceOnRecord) and exc.report_id:
        # Named only to the client that posted the first report (the service decides).
        extra["report_id"] = exc.report_id
        if exc.case_code:
            extra["case"] = exc.case_code
    elif isinstance(exc, DuplicateSource):  # the API converts it to SourceOnRecord: name nothing
        title, detail = SourceOnRecord.title, "This source URL is already on record."
    elif isinstance(exc, TokenRejected):
        invalid = exc.reason != "missing_token"
        headers["WWW-Authenticate"] = f'{REALM}, error="invalid_token"' if invalid else REALM
    elif isinstance(exc, OutOfScope):
        headers["WWW-Authenticate"] = f'{REALM}, error="insufficient_scope"'
    return problem(status, title, detail, code=api_problem_code(exc), extra=extra, headers=headers)


#: What a breached limit is called, by its Flask-Limiter scope (``triage.web.api.limits``).
_RATE_LIMIT_TITLES = {"api.auth-failures": "Too many failed authentications"}


def http_problem(exc: HTTPException) -> Response:
    """An HTTP error under ``/api/`` (no route, wrong method, a rate limit) as a problem."""
    status = exc.code or 500
    title = HTTPStatus(status).phrase
    detail = _API_HTTP_DETAILS.get(status, HTTPStatus(status).description)
    if isinstance(exc, RateLimitExceeded):
        scope = exc.limit.scope if isinstance(exc.limit.scope, str) else None
        title = _RATE_LIMIT_TITLES.get(scope or "", "Too many requests")
        if exc.limit.error_message:
            detail = str(exc.description)
    response = problem(status, title, detail, code=API_HTTP_CODES.get(status))
    if status == 405 and exc.response is None:
        allowed = getattr(exc, "valid_methods", None)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
    return response


def _render(status: int, title: str, message: str, **params: object) -> tuple[Response | str, int]:
    """A page (or problem+json) whose title and message are marked messages, translated here."""
    if _wants_json():
        return problem(status, title, message % params if params else message), status
    return render_template(
        "error.html", status=status, title=gettext(title), message=gettext(message, **params)
    ), status


#: The title of each HTTP error's page; another status keeps its standard phrase, in English.
_TITLES = {
    400: N_("The request could not be understood"),
    401: N_("Sign in"),
    403: N_("Not open to your role"),
    404: N_("Page not found"),
    405: N_("Not available here"),
    413: N_("Too large"),
    429: N_("Too many attempts"),
}

_MESSAGES = {
    400: N_("The request could not be understood. Reload the page and try again."),
    401: N_("Sign in to continue."),
    403: N_("This page is not open to anyone."),
    404: N_("There is no such page."),
    405: N_("That action is not available here."),
    413: N_("The request is too large."),
    429: N_("Too many attempts. Wait a minute and try again."),
}

#: What the gate refused, as the refused user reads it: what their role may not do. The role's
#: name stands in parentheses, so that no language has to inflect it.
_NOT_FOR_YOUR_ROLE: dict[Permission, str] = {
    Permission.REPORT_FILE: N_("Your role (%(role)s) cannot file reports."),
    Permission.REPORT_READ_OWN: N_("Your role (%(role)s) cannot open filed reports."),
    Permission.ATTACHMENT_READ: N_("Your role (%(role)s) cannot download attachments."),
    Permission.CASE_READ: N_("Your role (%(role)s) cannot open the case queue or case pages."),
    Permission.CASE_WORK: N_("Your role (%(role)s) cannot work on cases."),
    Permission.DECISION_PROPOSE: N_("Your role (%(role)s) cannot propose measures."),
    Permission.DECISION_APPROVE: N_(
        "Your role (%(role)s) cannot approve or reject proposed measures."
    ),
    Permission.CASE_REASSIGN: N_("Your role (%(role)s) cannot reassign cases."),
    Permission.SCREENED_REVIEW: N_("Your role (%(role)s) cannot review screened-out items."),
    Permission.DOCUMENT_ISSUE: N_("Your role (%(role)s) cannot issue or download documents."),
    Permission.DOCUMENT_CHECK: N_("Your role (%(role)s) cannot check documents."),
    Permission.HANDOVER_REQUEST: N_(
        "Your role (%(role)s) cannot record consent or hand cases over."
    ),
    Permission.HANDOVER_APPROVE: N_(
        "Your role (%(role)s) cannot approve a hand-over without the victim's consent."
    ),
    Permission.AUDIT_READ: N_("Your role (%(role)s) cannot open the audit log."),
    Permission.AUDIT_EXPORT: N_("Your role (%(role)s) cannot export the audit log."),
    Permission.AUDIT_CASE_READ: N_("Your role (%(role)s) cannot open the audit's view of a case."),
    Permission.USER_MANAGE: N_("Your role (%(role)s) cannot manage user accounts."),
    Permission.TOKEN_MANAGE: N_("Your role (%(role)s) cannot manage API clients."),
    Permission.KEY_MANAGE: N_("Your role (%(role)s) cannot manage keys."),
    Permission.NOTIFY_MANAGE: N_("Your role (%(role)s) cannot manage alert deliveries."),
    Permission.STATS_READ: N_("Your role (%(role)s) cannot open the statistics."),
}
_NOT_THIS_PAGE = N_("Your role (%(role)s) cannot open this page.")


def _refusal() -> tuple[str, dict[str, object]]:
    """Why the gate refused this request: what the signed-in user's role may not do here, or,
    for a route that declares no permission (refused to everyone), that it is open to no one.
    Names the role, never the route or the permission's code."""
    view = current_app.view_functions.get(request.endpoint or "")
    permission = declared_permission(view) if view else None
    if not isinstance(permission, Permission) or not current_user.is_authenticated:
        return _MESSAGES[403], {}
    role = label_of("role", current_user.role)
    if allows(current_user.role, permission):
        return _NOT_THIS_PAGE, {"role": role}
    return _NOT_FOR_YOUR_ROLE.get(permission, _NOT_THIS_PAGE), {"role": role}


#: The 404 pages of areas with a look of their own, by the address they start with: an
#: address no route matches belongs to no blueprint, so its area's handlers never see it.
_NOT_FOUND_PAGES: dict[str, Callable[[], Response]] = {}


def not_found_page(prefix: str, page: Callable[[], Response]) -> None:
    """Answer an unknown address under ``prefix`` with ``page`` instead of the staff 404."""
    _NOT_FOUND_PAGES[prefix] = page


def _area_page() -> Callable[[], Response] | None:
    for prefix, page in _NOT_FOUND_PAGES.items():
        if request.path == prefix or request.path.startswith(prefix + "/"):
            return page
    return None


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
            return domain_problem(exc), status
        return render_template(
            "error.html", status=status, title=title_of(exc), message=message_of(exc)
        ), status

    @app.errorhandler(ApiProblem)
    def api_problem(exc: ApiProblem) -> Response:
        return problem(exc.status, exc.title, exc.detail, code=exc.code, headers=exc.headers)

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
        if _wants_json():
            return http_problem(exc), status
        if exc.response is not None and status not in (401, 403, 404):
            return exc.response  # type: ignore[return-value]
        if status == HTTPStatus.NOT_FOUND and request.blueprint is None:
            page = _area_page()
            if page is not None:  # an area's own look (the public pages: no cookie, no cache)
                return page(), status
        title = _TITLES.get(status, HTTPStatus(status).phrase)
        if status == HTTPStatus.FORBIDDEN:
            message, params = _refusal()
            return _render(status, title, message, **params)
        return _render(status, title, _MESSAGES.get(status, exc.description or ""))

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
