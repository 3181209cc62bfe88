"""The OpenAPI 3.1 document of the intake API.

Its schemas are generated, not written: the report kinds from the pydantic models that validate a
request (``triage.intake.schema``), the answer from the model that makes it
(``api_clients.ReportState``) and the problem document from ``Problem`` below, all in one pass of
pydantic's JSON Schema generator whose ``$defs`` become ``components/schemas``. What is written
here is what no model knows: the routes, their statuses, headers and examples.
"""

from __future__ import annotations

from copy import deepcopy
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.json_schema import SkipJsonSchema

from ...intake import schema
from ...intake.api_clients import ReportState
from ..errors import PROBLEM

#: Where the generated schemas live in the document.
REF_TEMPLATE = "#/components/schemas/{model}"


def _no_default(field_schema: dict[str, Any]) -> None:
    """An optional member is absent when it does not apply: it has no default to show."""
    field_schema.pop("default", None)


class FieldError(BaseModel):
    """One field at fault."""

    field: Annotated[str, Field(description="Dotted path of the field, e.g. victim.birth_date.")]
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details: every answer of the API that is not a success."""

    model_config = ConfigDict(extra="allow")

    type: Annotated[
        str,
        Field(
            description="A stable URN to switch on (urn:triage:problem:…), or about:blank.",
            json_schema_extra={"format": "uri-reference"},
        ),
    ]
    title: str
    status: Annotated[int, Field(ge=400, le=599)]
    detail: str
    errors: Annotated[
        list[FieldError] | SkipJsonSchema[None],
        Field(
            description="One entry per field at fault (validation-failed only).",
            json_schema_extra=_no_default,
        ),
    ] = None
    report_id: Annotated[
        str | SkipJsonSchema[None],
        Field(
            description="duplicate-source, only when this client posted the first report of "
            "this source URL: that report's id.",
            json_schema_extra=_no_default,
        ),
    ] = None
    case: Annotated[
        str | SkipJsonSchema[None],
        Field(
            description="duplicate-source, only when this client posted the first report: "
            "that report's case code.",
            json_schema_extra=_no_default,
        ),
    ] = None


#: (name in components/schemas, mode, type) of each schema the document is generated from.
_MODELS: list[tuple[str, Literal["validation", "serialization"], Any]] = [
    ("IncomingReport", "validation", schema.IncomingReport),
    ("ReportState", "serialization", ReportState),
    ("Problem", "serialization", Problem),
]


def components_schemas() -> dict[str, Any]:
    """``components/schemas``: the models' JSON Schemas, ``$ref`` pointing into the document."""
    inputs = [(name, mode, TypeAdapter(kind)) for name, mode, kind in _MODELS]
    tops, definitions = TypeAdapter.json_schemas(inputs, ref_template=REF_TEMPLATE)
    schemas: dict[str, Any] = dict(definitions.get("$defs", {}))
    for (name, _mode), top in tops.items():
        if top.get("$ref") != REF_TEMPLATE.format(model=name):  # not a model: the union itself
            schemas[name] = top
    schemas["IncomingReport"]["description"] = "A report of one source kind, chosen by source_kind."
    return schemas


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


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF_TEMPLATE.format(model=name)}


def _header(description: str, **schema_: Any) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string", **schema_}}


def _response(
    description: str, media_type: str, model: str, headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {media_type: {"schema": _ref(model)}},
    }
    if headers:
        response["headers"] = headers
    return response


def _state(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    return _response(description, "application/json", "ReportState", headers)


def _problem(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    """A refusal; its description starts with the problem types it may carry."""
    return _response(description, PROBLEM, "Problem", headers)


_CHALLENGE = {"WWW-Authenticate": _header("The Bearer challenge (RFC 6750).")}
_UNAUTHORIZED = _problem(
    "unauthorized: no token, a token that is not valid, or a revoked token.", _CHALLENGE
)
_RATE_LIMITED = _problem(
    "rate-limited: too many requests for this client, or too many failed authentications "
    "from this address.",
    {"Retry-After": _header("Seconds to wait.")},
)
_SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def _paths() -> dict[str, Any]:
    replayed = _header(
        "Present when an earlier request with the same Idempotency-Key filed the report; "
        "nothing new was filed.",
        enum=["true"],
    )
    create = {
        "operationId": "createReport",
        "summary": "File a report",
        "security": _SECURITY,
        "parameters": [{"$ref": "#/components/parameters/IdempotencyKey"}],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _ref("IncomingReport"), "examples": EXAMPLES}
            },
        },
        "responses": {
            "201": _state(
                "Filed (or, with Idempotent-Replayed, filed before by a request with the same "
                "Idempotency-Key).",
                {
                    "Location": _header("The report's URL in this API."),
                    "Idempotent-Replayed": replayed,
                },
            ),
            "400": _problem("malformed-json, or invalid-idempotency-key (the header)."),
            "401": _UNAUTHORIZED,
            "403": _problem("out-of-scope: the token may not post this source kind.", _CHALLENGE),
            "409": _problem(
                "duplicate-source: the source URL is already on record; report_id and case "
                "name the first report only when this client posted it."
            ),
            "413": _problem("body-too-large: the body is larger than the limit."),
            "415": _problem("unsupported-media-type: the body is not application/json."),
            "422": _problem(
                "validation-failed (fields are not valid, see errors), or "
                "idempotency-key-reused (the key was used with another body)."
            ),
            "429": _RATE_LIMITED,
        },
    }
    status = {
        "operationId": "getReport",
        "summary": "The status of a report this client posted",
        "security": _SECURITY,
        "parameters": [
            {
                "name": "report_id",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "format": "uuid"},
            }
        ],
        "responses": {
            "200": _state("The report's status."),
            "401": _UNAUTHORIZED,
            "404": _problem("This client posted no report with that id."),
            "429": _RATE_LIMITED,
        },
    }
    return {"/api/v1/reports": {"post": create}, "/api/v1/reports/{report_id}": {"get": status}}


@lru_cache(maxsize=1)
def _document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "triage intake API",
            "version": "1.0.0",
            "description": "Reports of domestic violence from media-monitoring services and "
            "platforms. Every token is scoped to source kinds. See docs/api.md.",
        },
        "paths": _paths(),
        "components": {
            "schemas": components_schemas(),
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


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API (a copy: callers may change it)."""
    return deepcopy(_document())
