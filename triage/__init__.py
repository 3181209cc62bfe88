"""triage: reports of domestic violence, sealed, scored, reviewed and audited."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from .config import Settings, from_environment, resource_path


def create_app(config: Mapping[str, Any] | Settings | None = None) -> Flask:
    """Build the application. ``config`` overrides settings read from the environment.

    Refuses to build (``StartupError`` or ``KeyringError``) when the keyring is missing, wrong or
    unreadable, or the database is not migrated: an instance never serves half-configured.
    """
    from . import web
    from .instance import open_instance

    if isinstance(config, Settings):
        settings = config
    else:
        settings = from_environment().with_overrides(config or {})

    app = Flask(
        __name__,
        instance_path=str(settings.instance_path),
        template_folder=str(resource_path("templates")),
        static_folder=str(resource_path("static")),
    )
    web.configure(app, settings, open_instance(settings))
    web.register_blueprints(app)
    return app
