"""The web layer: Flask settings, extensions, security headers, template helpers, the error
pages and the blueprints. Views translate HTTP to service calls inside the unit of work's blocks
(``triage.uow``) and back; nothing here commits or rolls back."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, request
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from .. import logging as logs
from ..config import Settings
from ..permissions import Permission, allows
from ..uow import UnitOfWork
from ..vocab import Role
from . import converters, deps, errors, gate, highlight, labels, request_log
from .extensions import babel, csrf, limiter
from .i18n import LOCALES, TRANSLATIONS, select_locale
from .limit_storage import storage_uri as limit_storage_uri
from .sessions import init_app as init_sessions

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def configure(app: Flask, settings: Settings, uow: UnitOfWork) -> None:
    app.config.update(
        TESTING=settings.testing,
        SECRET_KEY=settings.secret_key or uow.keyring.current.session_secret,
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
        RATELIMIT_STORAGE_URI=limit_storage_uri(settings.ratelimit_storage_url, uow),
        RATELIMIT_HEADERS_ENABLED=True,
        TRIAGE_LOGIN_RATE_LIMIT=settings.login_rate_limit,
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS),
        TRIAGE_SETTINGS=settings,
    )
    deps.install(app.extensions, uow, settings)
    logs.configure(settings.log_level, settings.log_format)

    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=settings.trusted_proxies,
            x_proto=settings.trusted_proxies,
            x_host=settings.trusted_proxies,
        )
    request_log.init_app(app)  # first: a request refused by CSRF or a limit has its id too
    init_sessions(app, settings, uow)  # server-side sessions (docs/sessions.md)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=lambda: select_locale(settings.default_locale))

    converters.register(app)  # before the blueprints: their <int:…> rules use it
    app.after_request(_security_headers)
    app.context_processor(_template_helpers)
    labels.register(app)
    highlight.register(app)
    errors.register(app)
    gate.init_app(app)


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


def _template_helpers() -> dict[str, Any]:
    def can(permission: Permission) -> bool:
        return bool(current_user.is_authenticated and allows(current_user.role, permission))

    return {
        "can": can,
        "locale": str(get_locale() or "en"),
        "LOCALES": LOCALES,
        "Permission": Permission,
        "Role": Role,
    }


def register_blueprints(app: Flask) -> None:
    from . import api
    from .gate import public
    from .views import account, admin, api_clients, home, intake, login, review, screened
    from .views import audit as audit_views

    app.view_functions["static"] = public(app.view_functions["static"])
    app.register_blueprint(login.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(audit_views.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(intake.bp)
    app.register_blueprint(screened.bp)
    from .views import stats as stats_views

    app.register_blueprint(stats_views.bp)
    from .views import outcomes

    app.register_blueprint(outcomes.bp)
    # Bearer tokens, not cookies, authenticate the API: CSRF cannot ride on them.
    csrf.exempt(api.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(api_clients.bp)
    from .views import notify

    app.register_blueprint(notify.bp)
    from .views import oversight

    app.register_blueprint(oversight.bp)
    from .views import public as public_views

    # The public form carries its own signed single-use token (no session, so no cookie).
    csrf.exempt(public_views.bp)
    app.register_blueprint(public_views.bp)
    app.register_blueprint(public_views.replies)
