"""Forms of the deliveries page: only the CSRF token of the button that retries a dead letter."""

from __future__ import annotations

from .base import Form


class RetryForm(Form):
    """Only the CSRF token: the button puts a dead letter back to be sent."""
