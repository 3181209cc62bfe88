"""Signing in (password, then a two-step code where the account has it) and out.

Sign-in failures all look alike to the user and are all audited. Between the password and the
code, the session holds nothing but a pending marker (user id, session epoch, time), which
lapses after five minutes. A complete sign-in gives the browser the account's device cookie,
which lets it past the account's lockout later (``device_cookies``).
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response as WerkzeugResponse

from ... import two_step, users
from ...lockout import LockoutRules
from ...models import User
from ...permissions import Permission
from .. import device_cookies, sessions
from ..deps import settings, unit_of_work
from ..extensions import limiter
from ..forms.account import CodeForm, LoginForm
from ..gate import me, public, requires

bp = Blueprint("auth", __name__)

PENDING_KEY = "two_step_pending"
PENDING_SECONDS = 5 * 60

Page = WerkzeugResponse | tuple[str, int] | str


def login_rate() -> str:
    return settings().login_rate_limit


def _login_key() -> str:
    """Guesses are limited per account too: spreading them over addresses does not help. The
    counter is named by a digest of what was typed, never the text (a password typed into the
    username field would otherwise sit in the limit store). A browser with the account's device
    cookie has a count of its own, so a stranger using up the account's cannot keep its owner
    out (``device_cookies``)."""
    typed = str(request.form.get("username", "")).strip().lower()[:64]
    device = device_cookies.recognise(typed)
    if device.account is not None:
        return f"login-device:{device.name}"
    return "login:" + hashlib.sha256(typed.encode("utf-8")).hexdigest()[:32]


def _code_key() -> str:
    """Codes are limited per account too, like passwords."""
    pending = session.get(PENDING_KEY)
    user = pending.get("user") if isinstance(pending, dict) else None
    return f"login-code:{user}"


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


def _pending() -> tuple[int, int] | None:
    """(user id, session epoch) of a password sign-in awaiting its code, if it is recent."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    try:
        user_id, epoch, since = int(pending["user"]), int(pending["epoch"]), float(pending["at"])
    except (KeyError, TypeError, ValueError):
        return None
    if not 0 <= two_step.clock() - since <= PENDING_SECONDS:
        return None
    return user_id, epoch


def _lockout() -> LockoutRules:
    return LockoutRules.from_settings(settings())


def _sign_in(user: User) -> WerkzeugResponse:
    session.clear()  # a fresh session: nothing carried over from before sign-in
    session.permanent = True
    login_user(user)
    sessions.renew()  # and a new id: a cookie from before sign-in opens nothing
    # The pages' forms need a CSRF token; made now, it is saved with the sign-in, and reading
    # the queue after it writes nothing to the session store.
    g.pop("csrf_token", None)  # Flask-WTF's copy for this request belonged to the old session
    generate_csrf()
    response = redirect(safe_next(request.args.get("next")) or url_for("home.index"))
    device_cookies.issue(response, user)  # this browser is the account's from now on
    return response


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(login_rate, methods=["POST"])
@limiter.limit(login_rate, key_func=_login_key, methods=["POST"])
def login() -> Page:
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("login.html", form=form, failed=False), status
    device = device_cookies.recognise(form.username.data)
    with unit_of_work().begin() as db:
        user = users.authenticate(
            db, form.username.data, form.password.data, lockout_rules=_lockout(), device=device
        )
        if user is not None and user.totp_enabled:
            users.record_code_requested(db, user)
        elif user is not None:
            users.record_login(db, user, device)
    if user is None:
        device_cookies.count_failure(device)
        form.password.data = ""
        return render_template("login.html", form=form, failed=True), 401
    if user.totp_enabled:
        session.clear()
        sessions.renew()
        session[PENDING_KEY] = {
            "user": user.id,
            "epoch": user.session_epoch,
            "at": int(two_step.clock()),
        }
        return redirect(url_for("auth.login_code", next=safe_next(request.args.get("next"))))
    return _sign_in(user)


@bp.route("/login/code", methods=["GET", "POST"])
@public
@limiter.limit(login_rate, methods=["POST"])
@limiter.limit(login_rate, key_func=_code_key, methods=["POST"])
def login_code() -> Page:
    """The second step: public, but it works only while a password sign-in is pending."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    pending = _pending()
    waiting, username = None, ""
    if pending is not None:
        with unit_of_work().read() as db:
            waiting = users.pending_account(db, *pending)
            username = waiting.username if waiting is not None else ""
    if pending is None or waiting is None:
        session.pop(PENDING_KEY, None)
        flash(_("Sign in again: the code was not entered in time."), "info")
        return redirect(url_for("auth.login", next=safe_next(request.args.get("next"))))
    form = CodeForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("login_code.html", form=form, failed=False), status
    device = device_cookies.recognise(username)
    with unit_of_work().begin() as db:
        user = users.sign_in_with_code(
            db, *pending, form.code.data, lockout_rules=_lockout(), device=device
        )
    if user is None:
        device_cookies.count_failure(device)
        form.code.data = ""
        return render_template("login_code.html", form=form, failed=True), 401
    return _sign_in(user)


@bp.route("/logout", methods=["POST"])
@requires(Permission.HOME)
def logout() -> Response | WerkzeugResponse:
    with unit_of_work().begin() as db:
        users.record_logout(db, me().id)
    logout_user()
    sessions.end_current()  # deleted on the server: a copy of the cookie opens nothing
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))
