"""What a request's code takes from the running application: its unit of work, its settings and
the review rules made from them. Views pass these on to services as arguments."""

from __future__ import annotations

from flask import current_app

from ..config import Settings
from ..review.rules import ReviewRules
from ..uow import UnitOfWork

_UOW = "triage.uow"
_SETTINGS = "triage.settings"
_RULES = "triage.rules"


def install(app_extensions: dict[str, object], uow: UnitOfWork, settings: Settings) -> None:
    app_extensions[_UOW] = uow
    app_extensions[_SETTINGS] = settings
    app_extensions[_RULES] = ReviewRules.from_settings(settings)


def unit_of_work() -> UnitOfWork:
    uow: UnitOfWork = current_app.extensions[_UOW]
    return uow


def settings() -> Settings:
    result: Settings = current_app.extensions[_SETTINGS]
    return result


def rules() -> ReviewRules:
    result: ReviewRules = current_app.extensions[_RULES]
    return result


def uow_of(app: object) -> UnitOfWork:
    """The unit of work of ``app`` (a Flask app), for commands and tests outside a request."""
    uow: UnitOfWork = app.extensions[_UOW]  # type: ignore[attr-defined]
    return uow
