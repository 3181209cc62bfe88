"""Intake's tables: API clients and their tokens, idempotency keys, attachments, imported feed
items."""

from __future__ import annotations
