"""Signing in and out, password hashing, and the gate that every request passes.

The gate denies by default: a route is reachable only if it was declared ``@public`` or
``@requires(permission)``, and the signed-in user's role grants that permission
(``triage.permissions``). Sign-in failures all look alike to the user and are all audited.

An account with two-step sign-in is signed in only after its password *and* a code from its
authenticator app (TOTP, RFC 6238): between the two, the session holds nothing but a pending
marker (user id, session epoch, time), which lapses after five minutes.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pyotp
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
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from . import audit, db, sealed
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


#: What a signed-in user without two-step sign-in may still reach when it is required.
_ENROLMENT_ENDPOINTS = frozenset(
    {"account.two_step", "account.two_step_start", "account.two_step_confirm", "auth.logout"}
)


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
    if (
        current_app.extensions["triage.settings"].require_two_step
        and not current_user.totp_enabled
        and request.endpoint not in _ENROLMENT_ENDPOINTS
    ):
        flash(_("Set up two-step sign-in before you go on."), "info")
        return redirect(url_for("account.two_step"))
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


def safe_next(target: str | None) -> str | None:
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


def check_credentials(username: str, password: str) -> User | None:
    """The active user with these credentials, or ``None``; a failure is audited with its reason.

    Success is not audited here: the caller records the sign-in (``record_login``), or, for an
    account with two-step sign-in, asks for the code first.
    """
    session_db = db.session()
    user = session_db.scalar(
        select(User).where(func.lower(User.username) == username.strip().lower())
    )
    ok = check_password(user, password)
    if user is not None and ok and user.active:
        return user
    if user is None:
        reason = "unknown_user"
    elif not ok:
        reason = "wrong_password"
    else:
        reason = "disabled"
    _audit_failure(user, reason)
    return None


def _audit_failure(user: User | None, reason: str) -> None:
    audit.append(
        db.session(),
        actor=audit.SYSTEM_ACTOR,
        action="auth.login_failed",
        object_type="user",
        object_id=None if user is None else user.id,
        details={"reason": reason},
    )


def record_login(user: User) -> None:
    user.last_login_at = datetime.now(UTC)
    audit.append(
        db.session(),
        actor=str(user.id),
        action="auth.login",
        object_type="user",
        object_id=user.id,
    )


# -- two-step sign-in (TOTP) -------------------------------------------------------------------

TOTP_ISSUER = "triage"
TOTP_PERIOD = 30
#: Steps either side of now that a code may belong to (pyotp's ``valid_window``): a phone's
#: clock may be half a minute off.
TOTP_WINDOW = 1
PENDING_KEY = "two_step_pending"
PENDING_SECONDS = 5 * 60
#: The clock codes and pending sign-ins are checked against; tests set it.
_clock: Callable[[], float] = time.time
_SECRET_FIELD = "totp_secret"  # noqa: S105 (the payload key, not a secret)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (from a QR code or a link)."""
    return pyotp.TOTP(secret, interval=TOTP_PERIOD).provisioning_uri(
        name=username, issuer_name=TOTP_ISSUER
    )


def group_secret(secret: str) -> str:
    """The secret in groups of four, as people type it into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def verify_totp(secret: str, code: str, *, last_step: int | None) -> int | None:
    """``totp_step`` now."""
    return totp_step(secret, code, last_step=last_step, at=_clock())


def totp_step(secret: str, code: str, *, last_step: int | None, at: float) -> int | None:
    """The time step that ``code`` is right for, within ``TOTP_WINDOW`` steps of ``at``, or
    ``None``. A step at or before ``last_step`` is refused: each code works once."""
    typed = "".join(code.split())
    if len(typed) != 6 or not typed.isascii() or not typed.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_PERIOD)
    now = int(at // TOTP_PERIOD)
    for step in range(now - TOTP_WINDOW, now + TOTP_WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), typed):
            return step
    return None


def seal_totp_secret(session_db: Session, user: User, secret: str) -> None:
    sealed.seal(session_db, user, {_SECRET_FIELD: secret})


def totp_secret(session_db: Session, user: User, *, actor: str, purpose: str) -> str:
    """The account's TOTP secret; opening it is audited like every sealed read."""
    payload = sealed.open_payload(session_db, user, actor=actor, purpose=purpose)
    secret: str = payload[_SECRET_FIELD]
    return secret


def check_totp(session_db: Session, user: User, code: str, *, actor: str, purpose: str) -> bool:
    """Whether ``code`` is the account's current code and was not used before; a right code's
    time step is stored, so it cannot be used again."""
    if user.payload is None:
        return False
    secret = totp_secret(session_db, user, actor=actor, purpose=purpose)
    step = verify_totp(secret, code, last_step=user.totp_last_step)
    if step is None:
        return False
    user.totp_last_step = step
    return True


def _pending_user() -> User | None:
    """The account whose password was right and whose code is awaited, if that was recent."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    try:
        user_id, epoch, since = int(pending["user"]), int(pending["epoch"]), float(pending["at"])
    except (KeyError, TypeError, ValueError):
        return None
    age = _clock() - since
    if not 0 <= age <= PENDING_SECONDS:
        return None
    user = db.session().get(User, user_id)
    if user is None or not user.active or user.session_epoch != epoch or not user.totp_enabled:
        return None
    return user


def _code_key() -> str:
    """Codes are limited per account too, like passwords."""
    pending = session.get(PENDING_KEY)
    user = pending.get("user") if isinstance(pending, dict) else None
    return f"login-code:{user}"


def _sign_in(user: User) -> WerkzeugResponse:
    session.clear()  # a fresh session: nothing carried over from before sign-in
    session.permanent = True
    login_user(user)
    return redirect(safe_next(request.args.get("next")) or url_for("home.index"))


class CodeForm(FlaskForm):  # type: ignore[misc]
    code = StringField(
        _l("Code from your authenticator app"), validators=[DataRequired(), Length(max=16)]
    )


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
        user = check_credentials(form.username.data, form.password.data)
        if user is not None and user.totp_enabled:
            session.clear()
            session[PENDING_KEY] = {
                "user": user.id,
                "epoch": user.session_epoch,
                "at": int(_clock()),
            }
            audit.append(
                db.session(),
                actor=audit.SYSTEM_ACTOR,
                action="auth.code_requested",
                object_type="user",
                object_id=user.id,
            )
            return redirect(url_for("auth.login_code", next=safe_next(request.args.get("next"))))
        if user is not None:
            record_login(user)
            return _sign_in(user)
        form.password.data = ""
        return render_template("login.html", form=form, failed=True), 401
    status = 400 if request.method == "POST" else 200
    return render_template("login.html", form=form, failed=False), status


@bp.route("/login/code", methods=["GET", "POST"])
@public
@limiter.limit(lambda: current_app.config["TRIAGE_LOGIN_RATE_LIMIT"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["TRIAGE_LOGIN_RATE_LIMIT"],
    key_func=lambda: _code_key(),
    methods=["POST"],
)
def login_code() -> WerkzeugResponse | tuple[str, int] | str:
    """The second step: public, but it works only while a password sign-in is pending."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    user = _pending_user()
    if user is None:
        session.pop(PENDING_KEY, None)
        flash(_("Sign in again: the code was not entered in time."), "info")
        return redirect(url_for("auth.login", next=safe_next(request.args.get("next"))))
    form = CodeForm()
    if form.validate_on_submit():
        session_db = db.session()
        if check_totp(session_db, user, form.code.data, actor=str(user.id), purpose="sign-in"):
            record_login(user)
            return _sign_in(user)
        _audit_failure(user, "wrong_code")
        form.code.data = ""
        return render_template("login_code.html", form=form, failed=True), 401
    status = 400 if request.method == "POST" else 200
    return render_template("login_code.html", form=form, failed=False), status


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
