"""The API's rate limits, kept by Flask-Limiter: the shared ``limiter``, whose storage is
``TRIAGE_RATELIMIT_STORAGE_URL`` (the database by default, Redis for several servers).

Two limits, each on a plain function the routes call at the point where it applies (Flask-Limiter
checks a decorated function when it is called inside a request):

- ``admit``, before any token is looked up: the failed authentications of the client address.
  It is only tested on the way in; the request counts against it when its answer is 401
  (``deduct_when``), so guessing tokens is slowed before it reaches the database.
- ``count``, once the token is verified: the client's own requests, keyed on its id (never on
  the token's prefix, which is not secret), both routes sharing the counter.

A breached limit raises ``RateLimitExceeded``: a 429 problem document (``triage.web.errors``)
with ``Retry-After``, and the answers carry ``X-RateLimit-*`` headers of the limit last counted.
"""

from __future__ import annotations

from flask import Response, g
from flask_limiter.util import get_remote_address

from ...models import ApiClient
from ..deps import settings
from ..extensions import limiter

#: Failed authentications allowed per client address, before any token is looked up.
AUTH_FAILURE_LIMIT = "30 per minute"
#: Flask-Limiter scopes (the counters' names); ``triage.web.errors`` titles a breach by them.
AUTH_FAILURE_SCOPE = "api.auth-failures"
CLIENT_SCOPE = "api.client"


def _client_rate() -> str:
    return settings().api_rate_limit


def _client_key() -> str:
    return f"client:{g.api_client_id}"


def _refused(response: Response) -> bool:
    return response.status_code == 401


@limiter.shared_limit(
    AUTH_FAILURE_LIMIT,
    scope=AUTH_FAILURE_SCOPE,
    key_func=get_remote_address,
    deduct_when=_refused,
    error_message="Too many requests with a missing or invalid token from this address; wait "
    "and retry with a valid token.",
)
def admit() -> None:
    """Refuse (429) an address past its limit of failed authentications; count this request
    against it if it is answered 401."""


@limiter.shared_limit(
    _client_rate,
    scope=CLIENT_SCOPE,
    key_func=_client_key,
    error_message="Too many requests for this client; wait and retry (see Retry-After).",
)
def _count() -> None:
    """Flask-Limiter counts the call against the client in ``g.api_client_id``."""


def count(client: ApiClient) -> None:
    """Count the request against ``client``'s limit (``TRIAGE_API_RATE_LIMIT``); 429 past it."""
    g.api_client_id = client.id
    _count()
