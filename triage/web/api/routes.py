"""The routes of the intake API: file a report, read its status, read the OpenAPI document.

Machine clients authenticate with a bearer token (``triage.intake.api_clients``), not a session:
the routes are ``@public`` at the gate and check the token themselves; the blueprint is exempt
from CSRF, which protects cookies, not bearer tokens. Every refusal is an RFC 9457 problem
document (``triage.web.errors``), and a request is either filed whole (stored, sealed, audited,
its idempotency key kept, in one block of the unit of work) or leaves nothing behind but, for a
client on record, the audit event of its refusal.

The order of checks: the address's failed authentications, the token, the client's rate limit,
the media type, the Idempotency-Key header, the body's size, JSON, then the service's own (the
token's scope, an earlier request with the same key, the fields, a duplicate source).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus

from flask import Blueprint, Response, jsonify, request, url_for
from flask_limiter.util import get_remote_address

from ...intake import api_clients
from ...intake.api_clients import OutOfScope, TokenRejected
from ...models import ApiClient
from ...uow import UnitOfWork
from ..deps import rules, settings, unit_of_work
from ..gate import public
from . import body, limits, openapi

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@contextmanager
def _refusals_on_record(uow: UnitOfWork) -> Iterator[None]:
    """A refused token or source kind is put on record (``api_clients.refuse``, a block of its
    own) on its way to becoming a 401 or 403."""
    try:
        yield
    except (TokenRejected, OutOfScope) as refused:
        api_clients.refuse(
            uow,
            refused,
            endpoint=request.endpoint or request.path,
            method=request.method,
            address=get_remote_address(),
        )
        raise


def _client(uow: UnitOfWork) -> ApiClient:
    """The client whose token the request carries, its request counted against its limit."""
    limits.admit()
    client = api_clients.verify(uow, body.bearer_token())
    limits.count(client)
    return client


@bp.post("/reports")
@public
def create_report() -> Response:
    uow = unit_of_work()
    with _refusals_on_record(uow):
        client = _client(uow)
        body.require_json()
        key = api_clients.check_idempotency_key(request.headers.get("Idempotency-Key"))
        report = body.json_object(body.read(settings().api_max_body_bytes))
        outcome = api_clients.submit(uow, client, report, idempotency_key=key, rules=rules())
    state = outcome.state
    response = jsonify(state.as_json())
    response.status_code = HTTPStatus.CREATED
    response.headers["Location"] = url_for("api.get_report", report_id=state.id)
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.get("/reports/<report_id>")
@public
def get_report(report_id: str) -> Response:
    uow = unit_of_work()
    with _refusals_on_record(uow):
        client = _client(uow)
        with uow.begin() as db:
            state = api_clients.own_report(db, client, report_id)
    return jsonify(state.as_json())


@bp.get("/openapi.json", endpoint="openapi")
@public
def openapi_document() -> Response:
    return jsonify(openapi.document())
