"""What an API request may carry: a bearer token, a JSON body of bounded size and depth.

Each refusal is an ``ApiProblem`` (a problem document with its own type) or, for a body that is
JSON but not a report object, the same ``InvalidReport`` that field errors raise.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from flask import request

from ...intake.schema import InvalidReport
from ..errors import ApiProblem

#: Deeper JSON is refused before validation: nothing in a report nests beyond three levels.
MAX_DEPTH = 16
_MALFORMED = "malformed-json"


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer`` header, or ``None``."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_json() -> None:
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if request.mimetype != "application/json" or charset not in ("utf-8", "utf8"):
        raise ApiProblem(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "Send the report as JSON: Content-Type: application/json (UTF-8).",
        )


def read(limit: int) -> bytes:
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


def json_object(data: bytes) -> dict[str, Any]:
    """``data`` parsed as one JSON object nesting at most ``MAX_DEPTH`` levels."""
    if not data.strip():
        raise ApiProblem(400, _MALFORMED, "Malformed JSON", "The request body is empty.")
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise ApiProblem(400, _MALFORMED, "Malformed JSON", "The body is not UTF-8.") from None
    except json.JSONDecodeError as exc:
        detail = f"The body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
        raise ApiProblem(400, _MALFORMED, "Malformed JSON", detail) from None
    except (ValueError, RecursionError):
        raise ApiProblem(400, _MALFORMED, "Malformed JSON", "The body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise InvalidReport({"report": ["must be a JSON object"]})
    if depth(value) > MAX_DEPTH:
        raise InvalidReport({"report": [f"is nested more than {MAX_DEPTH} levels deep"]})
    return value


def depth(value: Any) -> int:
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
