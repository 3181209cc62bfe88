"""Signing in and out, password hashing, and the gate that every request passes.

The gate denies by default: a route is reachable only if it was declared ``@public`` or
``@requires(permission)``, and the signed-in user's role grants that permission
(``triage.permissions``). Sign-in failures all look alike to the user and are all audited.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from . import audit, db
from .config import Settings
from .extensions import limiter
from .models import User
from .permissions import Permission, allows

log = logging.getLogger("triage")
bp = Blueprint("auth", __name__)
login_manager = LoginManager()

F = TypeVar("F", bound=Callable[..., Any])
_PERMISSION_ATTR = "_triage_permission"
_PUBLIC = "public"


def requires(permission: Permission) -> Callable[[F], F]:
    """Declare the permission a view needs; the gate enforces it before the view runs."""

    def mark(view: F) -> F:
        setattr(view, _PERMISSION_ATTR, permission)
        return view

    return mark


def public(view: F) -> F:
    """Declare a view reachable without signing in (the login page, static files)."""
    setattr(view, _PERMISSION_ATTR, _PUBLIC)
    return view


def declared_permission(view: Callable[..., Any]) -> Permission | str | None:
    return getattr(view, _PERMISSION_ATTR, None)


def actor_id() -> str:
    """The audit ``actor`` for the current request."""
    if current_user.is_authenticated:
        return str(current_user.id)
    return audit.SYSTEM_ACTOR


# -- passwords ---------------------------------------------------------------------------------


def make_hasher(settings: Settings) -> PasswordHasher:
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )


def _hasher() -> PasswordHasher:
    hasher: PasswordHasher = current_app.extensions["triage.hasher"]
    return hasher


def hash_password(password: str, hasher: PasswordHasher | None = None) -> str:
    return (hasher or _hasher()).hash(password)


def check_password(user: User | None, password: str) -> bool:
    """Constant work whether or not the user exists, so timing does not reveal usernames."""
    hasher = _hasher()
    if user is None:
        dummy = current_app.extensions.get("triage.dummy_hash")
        if dummy is None:  # made on first use: commands need not pay for it at start-up
            dummy = current_app.extensions["triage.dummy_hash"] = hasher.hash("timing equaliser")
        with contextlib.suppress(VerificationError, InvalidHashError):
            hasher.verify(dummy, password)
        return False
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


# -- the gate ----------------------------------------------------------------------------------


@login_manager.user_loader  # type: ignore[untyped-decorator]
def _load_user(user_key: str) -> User | None:
    try:
        user_id, epoch = (int(part) for part in user_key.split(":"))
    except ValueError:
        return None
    user = db.session().get(User, user_id)
    if user is None or not user.active or user.session_epoch != epoch:
        return None
    return user


@login_manager.unauthorized_handler  # type: ignore[untyped-decorator]
def _unauthorized() -> WerkzeugResponse:
    if request.path.startswith("/api/"):
        abort(401)
    return redirect(url_for("auth.login", next=request.full_path if request.args else request.path))


def gate() -> WerkzeugResponse | None:
    """``before_request``: refuse unless the route's declared permission is granted."""
    if request.endpoint is None:
        return None  # no route matched: Flask answers 404
    view = current_app.view_functions.get(request.endpoint)
    permission = declared_permission(view) if view else None
    if permission == _PUBLIC:
        return None
    if permission is None:
        log.error("route %s declares no permission; refused", request.endpoint)
        abort(403)
    if not current_user.is_authenticated:
        return login_manager.unauthorized()  # type: ignore[no-any-return]
    assert isinstance(permission, Permission)
    if not allows(current_user.role, permission):
        audit.append(
            db.session(),
            actor=actor_id(),
            action="access.denied",
            object_type="route",
            object_id=request.endpoint,
            details={"permission": permission.value, "method": request.method},
        )
        db.commit_request()
        abort(403)
    return None


# -- sign in and out ---------------------------------------------------------------------------


class LoginForm(FlaskForm):  # type: ignore[misc]
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


def _login_key() -> str:
    """Guesses are limited per account too: spreading them over addresses does not help."""
    return "login:" + str(request.form.get("username", "")).strip().lower()[:64]


def _safe_next(target: str | None) -> str | None:
    r"""Only same-site paths: never an open redirect.

    Browsers read a backslash as a slash and drop tabs and newlines from a URL, so
    ``/\evil.example`` and ``/<tab>/evil.example`` both lead to ``//evil.example``: a target
    holding a backslash, a space or a control character is refused too.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(char.isspace() or not char.isprintable() for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def authenticate(username: str, password: str) -> User | None:
    """The active user with these credentials, or ``None``; every outcome is audited."""
    session_db = db.session()
    user = session_db.scalar(
        select(User).where(func.lower(User.username) == username.strip().lower())
    )
    ok = check_password(user, password)
    if user is not None and ok and user.active:
        user.last_login_at = datetime.now(UTC)
        audit.append(
            session_db,
            actor=str(user.id),
            action="auth.login",
            object_type="user",
            object_id=user.id,
        )
        return user
    if user is None:
        reason = "unknown_user"
    elif not ok:
        reason = "wrong_password"
    else:
        reason = "disabled"
    audit.append(
        session_db,
        actor=audit.SYSTEM_ACTOR,
        action="auth.login_failed",
        object_type="user",
        object_id=None if user is None else user.id,
        details={"reason": reason},
    )
    return None


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(lambda: current_app.config["TRIAGE_LOGIN_RATE_LIMIT"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["TRIAGE_LOGIN_RATE_LIMIT"],
    key_func=lambda: _login_key(),
    methods=["POST"],
)
def login() -> WerkzeugResponse | tuple[str, int] | str:
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.username.data, form.password.data)
        if user is not None:
            session.clear()  # a fresh session: nothing carried over from before sign-in
            session.permanent = True
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("home.index"))
        form.password.data = ""
        return render_template("login.html", form=form, failed=True), 401
    status = 400 if request.method == "POST" else 200
    return render_template("login.html", form=form, failed=False), status


@bp.route("/logout", methods=["POST"])
@requires(Permission.HOME)
def logout() -> Response | WerkzeugResponse:
    audit.append(
        db.session(),
        actor=actor_id(),
        action="auth.logout",
        object_type="user",
        object_id=current_user.id,
    )
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    app.before_request(gate)
    app.register_blueprint(bp)
