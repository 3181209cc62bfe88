"""The JSON intake API for media-monitoring services and platforms, and its OpenAPI document.

Machine clients authenticate with a bearer token (``triage.intake.api_clients``), not a session:
the routes are ``@public`` at the gate and check the token themselves; the blueprint is exempt
from CSRF, which protects cookies, not bearer tokens. Every refusal is an RFC 9457 problem
document (``application/problem+json``) naming the field at fault, and a request is either
filed whole (stored, sealed, audited, its idempotency key kept) or leaves nothing behind.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Mapping
from copy import deepcopy
from functools import lru_cache
from http import HTTPStatus
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many
from limits import parse as parse_limit
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from ... import db
from ...auth import public
from ...config import Settings
from ...errors import DomainError, NotFound
from ...intake import api_clients, schema
from ...intake.api_clients import OutOfScope, SourceOnRecord, TokenRejected
from ...intake.service import DuplicateSource
from ...models import ApiClient
from ...vocab import ReportStatus, RiskLevel, Verification
from ..errors import PROBLEM, problem
from ..extensions import limiter

bp = Blueprint("api", __name__, url_prefix="/api/v1")
log = logging.getLogger("triage")

#: Failed authentications allowed per client address and minute, before any token is looked up.
AUTH_FAILURE_LIMIT = "30 per minute"
REALM = 'Bearer realm="triage"'
#: Deeper JSON is refused before validation: nothing in a report nests beyond three levels.
MAX_DEPTH = 16


class ApiProblem(Exception):
    """An HTTP-level refusal (body too large, wrong media type, malformed JSON)."""

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


# -- rate limits -------------------------------------------------------------------------------


def _bearer() -> str | None:
    """The token of an ``Authorization: Bearer`` header, or ``None``."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _rate() -> list[RateLimitItem]:
    settings: Settings = current_app.extensions["triage.settings"]
    return parse_many(settings.api_rate_limit)


#: Refused authentications, counted per client address: guessing tokens is slowed before it
#: reaches the database. Nothing else is counted before a token is known to be good.
_FAILURES = parse_limit(AUTH_FAILURE_LIMIT)
_FAILURE_SCOPE = "api.auth_failures"
#: Requests of an authenticated client, counted by its id (both endpoints share the counter).
_CLIENT_SCOPE = "api.client"


def _retry_after(reset: float) -> str:
    return str(max(1, math.ceil(reset - time.time())))


def _check_failures() -> None:
    address = get_remote_address()
    if not limiter.limiter.test(_FAILURES, _FAILURE_SCOPE, address):
        reset = limiter.limiter.get_window_stats(_FAILURES, _FAILURE_SCOPE, address).reset_time
        raise ApiProblem(
            HTTPStatus.TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many failed authentications",
            "Too many requests with a missing or invalid token from this address; wait and "
            "retry with a valid token.",
            headers={"Retry-After": _retry_after(reset)},
        )


def _count_failure() -> None:
    limiter.limiter.hit(_FAILURES, _FAILURE_SCOPE, get_remote_address())


def _check_client_limit(client: ApiClient) -> None:
    """Count the request against its client's limit, keyed on the client's id: only a request
    with the client's valid token can use up its allowance (a token's prefix is not secret)."""
    key = f"client:{client.id}"
    breached: tuple[RateLimitItem, float] | None = None
    shown: tuple[RateLimitItem, int, float] | None = None
    for item in _rate():
        allowed = limiter.limiter.hit(item, _CLIENT_SCOPE, key)
        stats = limiter.limiter.get_window_stats(item, _CLIENT_SCOPE, key)
        if not allowed and breached is None:
            breached = (item, stats.reset_time)
        if shown is None or stats.remaining < shown[1]:
            shown = (item, stats.remaining, stats.reset_time)
    if shown is not None:
        item, remaining, reset = shown
        g.api_rate_headers = {
            "X-RateLimit-Limit": str(item.amount),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(math.ceil(reset)),
        }
    if breached is not None:
        raise ApiProblem(
            HTTPStatus.TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            "Too many requests for this client; wait and retry (see Retry-After).",
            headers={"Retry-After": _retry_after(breached[1])},
        )


@bp.after_request
def _rate_headers(response: Response) -> Response:
    for name, value in getattr(g, "api_rate_headers", {}).items():
        response.headers[name] = value
    return response


# -- the request -------------------------------------------------------------------------------


def _client() -> ApiClient:
    """The authenticated client, its request counted: the per-address limit on failed
    authentications first, then the token, then the client's own limit."""
    _check_failures()
    client = api_clients.authenticate(db.session(), _bearer())
    _check_client_limit(client)
    return client


def _require_json() -> None:
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if request.mimetype != "application/json" or charset not in ("utf-8", "utf8"):
        raise ApiProblem(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "Send the report as JSON: Content-Type: application/json (UTF-8).",
        )


def _body(limit: int) -> bytes:
    """The raw body, refused unread when its declared length is over ``limit`` and refused
    after ``limit`` bytes when it did not declare one truthfully."""
    too_large = ApiProblem(
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        "body-too-large",
        "Request body too large",
        f"The request body may have at most {limit} bytes.",
    )
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    request.max_content_length = limit
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise too_large
    return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json(data: bytes) -> dict[str, Any]:
    malformed = "malformed-json"
    if not data.strip():
        raise ApiProblem(400, malformed, "Malformed JSON", "The request body is empty.")
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise ApiProblem(400, malformed, "Malformed JSON", "The body is not UTF-8.") from None
    except json.JSONDecodeError as exc:
        detail = f"The body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
        raise ApiProblem(400, malformed, "Malformed JSON", detail) from None
    except (ValueError, RecursionError):
        raise ApiProblem(400, malformed, "Malformed JSON", "The body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise schema.InvalidReport({"report": ["must be a JSON object"]})
    if _depth(value) > MAX_DEPTH:
        raise schema.InvalidReport({"report": [f"is nested more than {MAX_DEPTH} levels deep"]})
    return value


def _depth(value: Any) -> int:
    """How deeply ``value`` nests, counted without recursion (a report needs three levels)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            break
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        stack.extend((child, level + 1) for child in children)
    return deepest


def _created(outcome: api_clients.Submitted) -> Response:
    state = outcome.state
    response = jsonify(state.as_json())
    response.status_code = HTTPStatus.CREATED
    response.headers["Location"] = url_for("api.get_report", report_id=state.id)
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.post("/reports")
@public
def create_report() -> Response:
    settings: Settings = current_app.extensions["triage.settings"]
    session = db.session()
    client = _client()
    _require_json()
    key = api_clients.check_idempotency_key(request.headers.get("Idempotency-Key"))
    body = _json(_body(settings.api_max_body_bytes))
    try:
        outcome = api_clients.submit(session, client, body, idempotency_key=key)
    except IntegrityError:
        # A concurrent request with the same key committed first: return what it filed.
        db.rollback_request()
        replayed = api_clients.replay_after_race(session, client, body, key) if key else None
        if replayed is None:
            raise
        outcome = replayed
    return _created(outcome)


@bp.get("/reports/<report_id>")
@public
def get_report(report_id: str) -> Response:
    session = db.session()
    client = _client()
    return jsonify(api_clients.own_report(session, client, report_id).as_json())


@bp.get("/openapi.json")
@public
def openapi() -> Response:
    return jsonify(openapi_document())


# -- errors ------------------------------------------------------------------------------------


@bp.errorhandler(ApiProblem)
def _api_problem(exc: ApiProblem) -> Response:
    db.rollback_request()
    return problem(exc.status, exc.title, exc.detail, code=exc.code, headers=exc.headers)


@bp.errorhandler(TokenRejected)
@bp.errorhandler(OutOfScope)
def _refused(exc: TokenRejected | OutOfScope) -> Response:
    db.rollback_request()
    if isinstance(exc, TokenRejected):
        _count_failure()
    if exc.client_id is not None:
        # A client on record (a revoked token, or a kind outside its scopes): worth an event.
        api_clients.record_rejection(
            db.session(), exc, endpoint=request.endpoint or "", method=request.method
        )
    else:
        # No, a malformed or an unknown token: anyone can send one, so it must not be able to
        # grow the permanent audit chain. A log line (never the token) is enough.
        log.warning(
            "API request refused: %s from %s (%s %s)",
            exc.reason,
            get_remote_address(),
            request.method,
            request.endpoint or request.path,
        )
    if isinstance(exc, OutOfScope):
        challenge = f'{REALM}, error="insufficient_scope"'
        return problem(
            403,
            exc.title,
            exc.message,
            code="out-of-scope",
            headers={"WWW-Authenticate": challenge},
        )
    challenge = REALM if exc.reason == "missing_token" else f'{REALM}, error="invalid_token"'
    return problem(
        401, exc.title, exc.message, code="unauthorized", headers={"WWW-Authenticate": challenge}
    )


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError) -> Response:
    db.rollback_request()
    if isinstance(exc, schema.InvalidReport):
        errors = [
            {"field": field, "message": message}
            for field, messages in exc.errors.items()
            for message in messages
        ]
        return problem(
            422,
            "The report is not valid",
            "One or more fields are not valid; see errors.",
            code="validation-failed",
            extra={"errors": errors},
        )
    if isinstance(exc, SourceOnRecord):
        named = {"report_id": exc.report_id, "case": exc.case_code} if exc.report_id else {}
        return problem(409, exc.title, exc.message, code="duplicate-source", extra=named)
    if isinstance(exc, DuplicateSource):  # never raised here (submit converts it): name nothing
        return problem(
            409,
            SourceOnRecord.title,
            "This source URL is already on record.",
            code="duplicate-source",
        )
    if isinstance(exc, api_clients.IdempotencyKeyReused):
        return problem(422, exc.title, exc.message, code="idempotency-key-reused")
    if isinstance(exc, api_clients.InvalidIdempotencyKey):
        return problem(400, exc.title, exc.message, code="invalid-idempotency-key")
    if isinstance(exc, NotFound):
        return problem(404, "Not found", exc.message)
    return problem(int(exc.status), exc.title, exc.message)


_HTTP_CODES = {
    400: "malformed-request",
    413: "body-too-large",
    415: "unsupported-media-type",
    429: "rate-limited",
}
_HTTP_DETAILS = {
    400: "The request could not be understood.",
    404: "There is no such resource.",
    405: "That method is not allowed here.",
    413: "The request body is too large.",
    429: "Too many requests; wait and retry (see Retry-After).",
}


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    db.rollback_request()
    status = exc.code or 500
    response = problem(
        status,
        HTTPStatus(status).phrase,
        _HTTP_DETAILS.get(status, HTTPStatus(status).description),
        code=_HTTP_CODES.get(status),
    )
    if status == 405 and exc.response is None:
        allowed = getattr(exc, "valid_methods", None)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
    return response


# -- the OpenAPI document ----------------------------------------------------------------------


def _problem_response(description: str, schema_name: str = "Problem") -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM: {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}},
    }


def _unauthorized() -> dict[str, Any]:
    response = _problem_response("No token, a token that is not valid, or a revoked token.")
    response["headers"] = {
        "WWW-Authenticate": {"schema": {"type": "string"}, "description": "The Bearer challenge."}
    }
    return response


def _rate_limited() -> dict[str, Any]:
    response = _problem_response(
        "Too many requests for this client, or too many failed authentications from this address."
    )
    response["headers"] = {
        "Retry-After": {"schema": {"type": "string"}, "description": "Seconds to wait."}
    }
    return response


_STATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "What the posting client may know about its report: no personal data and "
    "nothing derived from other reports.",
    "required": [
        "id",
        "case",
        "source_kind",
        "status",
        "verification",
        "provisional_level",
        "signals",
        "received_at",
    ],
    "properties": {
        "id": {"type": "string", "format": "uuid", "description": "The report's id."},
        "case": {
            "type": ["string", "null"],
            "description": "The pseudonymous code of the report's case (C-XXXX-XXXX).",
        },
        "source_kind": {"type": "string", "enum": ["direct", "media", "online"]},
        "status": {"type": "string", "enum": [s.value for s in ReportStatus]},
        "verification": {"type": "string", "enum": [v.value for v in Verification]},
        "provisional_level": {
            "type": ["string", "null"],
            "enum": [*(r.value for r in RiskLevel), None],
            "description": "Risk level from the text's screening signals, until a reviewer "
            "assesses the case.",
        },
        "signals": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Screening signal kinds found in a media or online text.",
        },
        "received_at": {"type": "string", "format": "date-time"},
    },
    "additionalProperties": False,
}

_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "One entry per field at fault (validation-failed only).",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {
                        "type": "string",
                        "description": "Dotted path of the field, e.g. victim.birth_date.",
                    },
                    "message": {"type": "string"},
                },
            },
        },
        "report_id": {
            "type": "string",
            "description": "duplicate-source, only when this client posted the first report of "
            "this source URL: that report's id.",
        },
        "case": {
            "type": "string",
            "description": "duplicate-source, only when this client posted the first report: "
            "that report's case code.",
        },
    },
}


#: One request body of each source kind, for the document's readers (fictional people).
EXAMPLES: dict[str, dict[str, Any]] = {
    "media": {
        "summary": "A news article",
        "value": {
            "source_kind": "media",
            "outlet": "Example News",
            "url": "https://news.example.kz/society/2025/03/01/12345",
            "published_on": "2025-03-01",
            "language": "ru",
            "headline": "В Караганде муж избил жену",
            "text": "Полиция сообщает, что мужчина избил жену и угрожал ей ножом.",
            "region": "karaganda",
            "categories": ["battery", "threat"],
        },
    },
    "online": {
        "summary": "A post on a platform",
        "value": {
            "source_kind": "online",
            "platform": "telegram",
            "post_url": "https://t.me/example_channel/4242",
            "author_handle": "@example_author",
            "captured_at": "2025-03-01T08:30:00Z",
            "captured_text": "Сосед снова бьёт жену, вчера она выбежала на улицу в крови.",
            "region": "almaty",
        },
    },
    "direct": {
        "summary": "A report by a hotline (a professional reporter)",
        "value": {
            "source_kind": "direct",
            "region": "astana",
            "reporter": "professional",
            "relationship": "spouse",
            "categories": ["psychological"],
            "victim": {"name": "Example Victim", "age": 34},
            "narrative": "A caller to the hotline says her husband threatens her every day.",
            "may_contact": "yes",
            "safe_contact": "the hotline's callback number only",
        },
    },
}


@lru_cache(maxsize=1)
def _document() -> dict[str, Any]:
    report_schema = schema.json_schema()
    components: dict[str, Any] = dict(report_schema.pop("$defs", {}))
    components["IncomingReport"] = {
        **report_schema,
        "description": "A report of one source kind, chosen by source_kind.",
    }
    components["ReportState"] = _STATE_SCHEMA
    components["Problem"] = _PROBLEM_SCHEMA
    location = {"schema": {"type": "string"}, "description": "The report's URL in this API."}
    replayed = {
        "schema": {"type": "string", "enum": ["true"]},
        "description": "Present when an earlier request with the same Idempotency-Key filed "
        "the report; nothing new was filed.",
    }
    security: list[dict[str, list[str]]] = [{"bearerAuth": []}]
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "triage intake API",
            "version": "1.0.0",
            "description": "Reports of domestic violence from media-monitoring services and "
            "platforms. Every token is scoped to source kinds. See docs/api.md.",
        },
        "paths": {
            "/api/v1/reports": {
                "post": {
                    "operationId": "createReport",
                    "summary": "File a report",
                    "security": security,
                    "parameters": [{"$ref": "#/components/parameters/IdempotencyKey"}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/IncomingReport"},
                                "examples": EXAMPLES,
                            }
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "Filed (or, with Idempotent-Replayed, filed "
                            "before by a request with the same Idempotency-Key).",
                            "headers": {"Location": location, "Idempotent-Replayed": replayed},
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ReportState"}
                                }
                            },
                        },
                        "400": _problem_response("Malformed JSON or Idempotency-Key header."),
                        "401": _unauthorized(),
                        "403": _problem_response("The token may not post this source kind."),
                        "409": _problem_response(
                            "The source URL is already on record; report_id and case name "
                            "the first report only when this client posted it."
                        ),
                        "413": _problem_response("The body is larger than the limit."),
                        "415": _problem_response("The body is not application/json."),
                        "422": _problem_response(
                            "Fields are not valid (errors), or the Idempotency-Key was used "
                            "with another body."
                        ),
                        "429": _rate_limited(),
                    },
                }
            },
            "/api/v1/reports/{report_id}": {
                "get": {
                    "operationId": "getReport",
                    "summary": "The status of a report this client posted",
                    "security": security,
                    "parameters": [
                        {
                            "name": "report_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "format": "uuid"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The report's status.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ReportState"}
                                }
                            },
                        },
                        "401": _unauthorized(),
                        "404": _problem_response("This client posted no report with that id."),
                        "429": _rate_limited(),
                    },
                }
            },
        },
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "trg_ followed by 43 URL-safe characters",
                    "description": "A per-client token made by an administrator "
                    "(Administration → API clients) and shown once.",
                }
            },
            "parameters": {
                "IdempotencyKey": {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "description": "Optional and honoured: a retry with the same key and body "
                    "returns the first report (201, Idempotent-Replayed: true) and files "
                    "nothing; the same key with another body is refused (422). Keys are per "
                    "client; a UUID is a good choice.",
                    "schema": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 200,
                        "pattern": "^[\\x21-\\x7e]+$",
                    },
                }
            },
        },
    }


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of this API, built from the intake schema."""
    return deepcopy(_document())
