"""The JSON intake API for media-monitoring services and platforms: ``routes`` (the blueprint
``api`` and its three routes), ``body`` (what a request may carry), ``limits`` (its rate limits,
kept by Flask-Limiter) and ``openapi`` (its OpenAPI 3.1 document, generated from the pydantic
models that validate and answer the requests). Its errors become problem documents in
``triage.web.errors``, like every other error."""

from __future__ import annotations

from .routes import bp

__all__ = ["bp"]
