"""The intake API's blueprint, registered with the other views; the API itself (routes, request
bodies, rate limits, OpenAPI document) is the package ``triage.web.api``."""

from __future__ import annotations

from ..api import bp

__all__ = ["bp"]
