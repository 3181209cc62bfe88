"""The signed-in user's own account: change the password, set up or remove two-step sign-in."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import login_user
from werkzeug.wrappers import Response

from ... import users
from ...errors import DomainError
from ...models import User
from ...permissions import Permission
from ...two_step import group_secret, totp_uri
from ...uow import passwords_of
from .. import sessions
from ..deps import settings, unit_of_work
from ..errors import message_of
from ..extensions import limiter
from ..forms.account import (
    ConfirmTwoStepForm,
    DisableTwoStepForm,
    EndSessionForm,
    PasswordForm,
    StartTwoStepForm,
)
from ..gate import actor_id, me, requires
from ..labels import show_datetime
from .login import login_rate

bp = Blueprint("account", __name__, url_prefix="/account")

Page = Response | tuple[str, int] | str


def _two_step_key() -> str:
    return f"two-step:{me().id}"


@bp.route("/password", methods=["GET", "POST"])
@requires(Permission.ACCOUNT)
def password() -> Page:
    form = PasswordForm()
    if not form.validate_on_submit():
        status = 400 if form.errors else 200
        return render_template("account_password.html", form=form), status
    try:
        with unit_of_work().begin() as db:
            user = users.get(db, me().id)
            right = passwords_of(db).check(user, form.current.data)
            if right:
                users.set_password(db, user, form.new.data, actor=actor_id())
    except DomainError as exc:  # a weak new password: nothing was changed
        form.new.errors.append(message_of(exc))
        return render_template("account_password.html", form=form), int(exc.status)
    if not right:
        form.current.errors.append(_("That is not your current password."))
        return render_template("account_password.html", form=form), 400
    # Every session of the account ends on the server, this one too (docs/sessions.md).
    sessions.end_for_user(me().id)
    sessions.end_current()
    flash(_("Your password was changed. Sign in again with the new one."), "info")
    return redirect(url_for("auth.login"))


def _two_step_page(
    *,
    confirm: ConfirmTwoStepForm | None = None,
    disable: DisableTwoStepForm | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """The page for each state: off (a button to start), pending (the secret and a code
    field), on (a form to turn it off). Showing a pending secret is an audited read."""
    with unit_of_work().begin() as db:
        user = users.get(db, me().id)
        secret = users.pending_two_step_secret(db, user, actor=actor_id())
    return render_template(
        "account_two_step.html",
        enabled=user.totp_enabled,
        uri=totp_uri(secret, user.username) if secret else None,
        grouped=group_secret(secret) if secret else None,
        start=StartTwoStepForm(prefix="start"),
        confirm=confirm or ConfirmTwoStepForm(prefix="confirm"),
        disable=disable or DisableTwoStepForm(prefix="disable"),
    ), status


def _keep_this_session(user: User) -> None:
    """The change ended every session of the account on the server but this one, which carries
    on under the new epoch and a new id (a change of privilege)."""
    sessions.end_for_user(user.id, keep_current=True)
    login_user(user)
    sessions.renew()


@bp.route("/two-step")
@requires(Permission.ACCOUNT)
def two_step() -> tuple[str, int]:
    return _two_step_page()


@bp.route("/two-step/start", methods=["POST"])
@requires(Permission.ACCOUNT)
def two_step_start() -> Response | tuple[str, int]:
    if not StartTwoStepForm(prefix="start").validate_on_submit():
        return _two_step_page(status=400)
    with unit_of_work().begin() as db:
        users.start_two_step(db, users.get(db, me().id), actor=actor_id())
    return redirect(url_for("account.two_step"))


@bp.route("/two-step/confirm", methods=["POST"])
@requires(Permission.ACCOUNT)
@limiter.limit(login_rate, key_func=_two_step_key, methods=["POST"])
def two_step_confirm() -> Response | tuple[str, int]:
    form = ConfirmTwoStepForm(prefix="confirm")
    if not form.validate_on_submit():
        return _two_step_page(confirm=form, status=400)
    try:
        with unit_of_work().begin() as db:
            user = users.enable_two_step(
                db, users.get(db, me().id), form.code.data, actor=actor_id()
            )
    except DomainError as exc:
        form.code.errors.append(message_of(exc))
        form.code.data = ""
        return _two_step_page(confirm=form, status=int(exc.status))
    _keep_this_session(user)
    flash(_("Two-step sign-in is on. Your other sessions have ended."), "info")
    return redirect(url_for("account.two_step"))


@bp.route("/two-step/disable", methods=["POST"])
@requires(Permission.ACCOUNT)
@limiter.limit(login_rate, key_func=_two_step_key, methods=["POST"])
def two_step_disable() -> Response | tuple[str, int]:
    form = DisableTwoStepForm(prefix="disable")
    if not form.validate_on_submit():
        return _two_step_page(disable=form, status=400)
    try:
        with unit_of_work().begin() as db:
            user = users.get(db, me().id)
            if not passwords_of(db).check(user, form.password.data):
                raise users.WrongPassword()
            user = users.disable_two_step(db, user, form.code.data, actor=actor_id())
    except users.WrongPassword:
        form.password.errors.append(_("That is not your current password."))
        return _two_step_page(disable=form, status=400)
    except DomainError as exc:
        form.code.errors.append(message_of(exc))
        form.code.data = ""
        return _two_step_page(disable=form, status=int(exc.status))
    _keep_this_session(user)
    flash(_("Two-step sign-in is off. Your other sessions have ended."), "info")
    return redirect(url_for("account.two_step"))


@bp.route("/sessions")
@requires(Permission.ACCOUNT)
def session_list() -> tuple[str, int]:
    return _sessions_page()


def _sessions_key() -> str:
    return f"end-sessions:{me().id}"


@bp.route("/sessions/end", methods=["POST"])
@requires(Permission.ACCOUNT)
@limiter.limit(login_rate, key_func=_sessions_key, methods=["POST"])
def session_end() -> Response | tuple[str, int]:
    """End one of the user's own sessions, or all but this one, once she has given her password
    again; audited."""
    form = EndSessionForm()
    if not form.validate_on_submit():
        return _sessions_page(form, status=400)
    user_id = me().id
    with unit_of_work().read() as db:
        right = passwords_of(db).check(users.get(db, user_id), form.password.data)
    if not right:
        form.password.errors.append(_("That is not your current password."))
        return _sessions_page(form, status=400)
    if form.session.data == EndSessionForm.ALL_OTHERS:
        count, scope = sessions.end_for_user(user_id, keep_current=True), "all"
    elif form.session.data == sessions.current_key():
        form.session.errors.append(_("To end this session, sign out."))
        return _sessions_page(form, status=400)
    elif sessions.end_one(user_id, form.session.data):
        count, scope = 1, "one"
    else:
        form.session.errors.append(_("That session has ended already."))
        return _sessions_page(form, status=404)
    with unit_of_work().begin() as db:
        sessions.record_ended(
            db, actor=actor_id(), user_id=user_id, count=count, scope=scope, reason="by_user"
        )
    flash(_("Sessions ended: %(count)d.", count=count), "info")
    return redirect(url_for("account.session_list"))


def _sessions_page(form: EndSessionForm | None = None, status: int = 200) -> tuple[str, int]:
    listed, current = sessions.list_for_user(me().id), sessions.current_key()
    form = form or EndSessionForm()
    others = [s for s in listed if s.key != current]
    form.session.choices = [
        (
            s.key,
            _(
                "%(browser)s, last used %(when)s (UTC)",
                browser=s.client or _("Unknown browser"),
                when=show_datetime(s.last_seen_at),
            ),
        )
        for s in others
    ]
    if len(others) > 1:
        form.session.choices.append((EndSessionForm.ALL_OTHERS, _("All other sessions")))
    form.password.data = ""  # never sent back
    return render_template(
        "account_sessions.html",
        sessions=listed,
        current=current,
        others=others,
        form=form,
        all_others=EndSessionForm.ALL_OTHERS,
        idle_minutes=settings().session_minutes,
        absolute_hours=settings().session_absolute_hours,
    ), status
