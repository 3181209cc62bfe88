"""triage: reports of domestic violence, sealed, scored, reviewed and audited."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from .config import PROJECT_ROOT, Settings, from_environment


def create_app(config: Mapping[str, Any] | Settings | None = None) -> Flask:
    """Build the application. ``config`` overrides settings read from the environment.

    Refuses to build (``StartupError`` or ``KeyringError``) when the keyring is missing, wrong or
    unreadable, or the database is not migrated: an instance never serves half-configured.
    """
    from . import auth, db, errors, web
    from .instance import check_startup

    if isinstance(config, Settings):
        settings = config
    else:
        settings = from_environment().with_overrides(config or {})

    app = Flask(
        __name__,
        instance_path=str(settings.instance_path),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    engine = db.make_engine(settings.sqlalchemy_url)
    keyring = check_startup(settings, engine)
    web.configure(app, settings, keyring)
    db.init_app(app, engine)
    errors.register(app)
    auth.init_app(app)
    web.register_blueprints(app)
    return app
