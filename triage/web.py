"""What every response gets: Flask settings, extensions, security headers, the request
transaction, template helpers, and the blueprints."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from flask import Flask, Response, current_app, render_template, request, session
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.middleware.proxy_fix import ProxyFix

from . import db
from .auth import make_hasher
from .config import Settings
from .crypto import Keyring
from .extensions import babel, csrf, limiter
from .permissions import Permission, allows
from .vocab import (
    MATCH_KIND_LABELS,
    Category,
    Region,
    ReportStatus,
    RiskLevel,
    Role,
    SourceKind,
    Verification,
)

#: Interface languages, with their own names (never translated).
LOCALES = {"en": "English", "ru": "Русский", "kk": "Қазақша"}
TRANSLATIONS = Path(__file__).resolve().parent / "translations"

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def configure(app: Flask, settings: Settings, keyring: Keyring) -> None:
    app.config.update(
        TESTING=settings.testing,
        SECRET_KEY=settings.secret_key or keyring.session_secret,
        SESSION_COOKIE_NAME="triage_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=settings.session_lifetime,
        SESSION_REFRESH_EACH_REQUEST=True,
        REMEMBER_COOKIE_DURATION=0,
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session that holds it
        # Flask-WTF's HTTPS check wants a Referer, which the no-referrer policy below withholds:
        # it would refuse every form over HTTPS. The token and the SameSite cookie do the work.
        WTF_CSRF_SSL_STRICT=False,
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_url,
        RATELIMIT_HEADERS_ENABLED=True,
        TRIAGE_LOGIN_RATE_LIMIT=settings.login_rate_limit,
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS),
        TRIAGE_SETTINGS=settings,
    )
    app.extensions["triage.keyring"] = keyring
    app.extensions["triage.settings"] = settings
    hasher: PasswordHasher = make_hasher(settings)
    app.extensions["triage.hasher"] = hasher
    logging.getLogger("triage").setLevel(settings.log_level.upper())

    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=settings.trusted_proxies,
            x_proto=settings.trusted_proxies,
            x_host=settings.trusted_proxies,
        )
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=lambda: select_locale(settings.default_locale))

    app.after_request(_commit)
    app.after_request(_security_headers)
    app.context_processor(_template_helpers)
    app.register_error_handler(CSRFError, _csrf_error)


def select_locale(default: str) -> str:
    """The language the user chose (kept in the session), else the browser's, else the default."""
    chosen = session.get("locale")
    if chosen in LOCALES:
        return str(chosen)
    return request.accept_languages.best_match(list(LOCALES)) or default


def _commit(response: Response) -> Response:
    """One transaction per request, committed here, before the response leaves.

    Error handlers have already rolled back by the time a failed request gets here.
    """
    if response.status_code < 500:
        db.commit_request()
    else:
        db.rollback_request()
    return response


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", _CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
    if current_app.config["SESSION_COOKIE_SECURE"]:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def _csrf_error(exc: CSRFError) -> tuple[str, int]:
    db.rollback_request()
    return (
        render_template(
            "error.html",
            status=400,
            title=_("Form expired"),
            message=_(
                "The form was out of date or sent from somewhere else, so nothing was saved. "
                "Go back, reload the page and try again."
            ),
        ),
        400,
    )


def _template_helpers() -> dict[str, Any]:
    def can(permission: Permission) -> bool:
        return bool(current_user.is_authenticated and allows(current_user.role, permission))

    return {
        "can": can,
        "locale": str(get_locale() or "en"),
        "LOCALES": LOCALES,
        "Permission": Permission,
        "Role": Role,
        "Region": Region,
        "SourceKind": SourceKind,
        "Verification": Verification,
        "RiskLevel": RiskLevel,
        "ReportStatus": ReportStatus,
        "Category": Category,
        "MATCH_KIND_LABELS": MATCH_KIND_LABELS,
    }


def register_blueprints(app: Flask) -> None:
    from .auth import public
    from .views import account, admin, api, api_clients, home, intake, review
    from .views import audit as audit_views

    app.view_functions["static"] = public(app.view_functions["static"])
    app.register_blueprint(home.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(audit_views.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(intake.bp)
    # Bearer tokens, not cookies, authenticate the API: CSRF cannot ride on them.
    csrf.exempt(api.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(api_clients.bp)
