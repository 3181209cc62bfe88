"""The signed-in user's own account: change the password, set up or remove two-step sign-in."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from .. import db, users
from ..auth import actor_id, check_password, group_secret, requires, totp_uri
from ..errors import DomainError
from ..extensions import limiter
from ..permissions import Permission


class PasswordForm(FlaskForm):  # type: ignore[misc]
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=1024)])
    new = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(),
            Length(min=users.MIN_PASSWORD_LENGTH, max=users.MAX_PASSWORD_LENGTH),
        ],
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new", _l("The two entries differ."))],
    )


class StartTwoStepForm(FlaskForm):  # type: ignore[misc]
    """Only the CSRF token: the button asks for a new secret."""


class ConfirmTwoStepForm(FlaskForm):  # type: ignore[misc]
    code = StringField(
        _l("Code from your authenticator app"), validators=[DataRequired(), Length(max=16)]
    )


class DisableTwoStepForm(FlaskForm):  # type: ignore[misc]
    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=1024)])
    code = StringField(
        _l("Code from your authenticator app"), validators=[DataRequired(), Length(max=16)]
    )


bp = Blueprint("account", __name__, url_prefix="/account")


def _login_rate() -> str:
    rate: str = current_app.config["TRIAGE_LOGIN_RATE_LIMIT"]
    return rate


@bp.route("/password", methods=["GET", "POST"])
@requires(Permission.ACCOUNT)
def password() -> Response | tuple[str, int] | str:
    form = PasswordForm()
    if form.validate_on_submit():
        if not check_password(current_user, form.current.data):
            form.current.errors.append(_("That is not your current password."))
            return render_template("account_password.html", form=form), 400
        users.set_password(db.session(), current_user, form.new.data, actor=actor_id())
        flash(_("Your password was changed. Sign in again with the new one."), "info")
        return redirect(url_for("auth.login"))
    status = 400 if form.errors else 200
    return render_template("account_password.html", form=form), status


def _two_step_page(
    *,
    confirm: ConfirmTwoStepForm | None = None,
    disable: DisableTwoStepForm | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """The page for each state: off (a button to start), pending (the secret and a code
    field), on (a form to turn it off)."""
    secret = users.pending_two_step_secret(db.session(), current_user, actor=actor_id())
    return render_template(
        "account_two_step.html",
        enabled=current_user.totp_enabled,
        uri=totp_uri(secret, current_user.username) if secret else None,
        grouped=group_secret(secret) if secret else None,
        start=StartTwoStepForm(prefix="start"),
        confirm=confirm or ConfirmTwoStepForm(prefix="confirm"),
        disable=disable or DisableTwoStepForm(prefix="disable"),
    ), status


def _keep_this_session() -> None:
    """The change ended every session of the account; this one carries on under the new epoch."""
    login_user(current_user._get_current_object())


@bp.route("/two-step")
@requires(Permission.ACCOUNT)
def two_step() -> tuple[str, int]:
    return _two_step_page()


@bp.route("/two-step/start", methods=["POST"])
@requires(Permission.ACCOUNT)
def two_step_start() -> Response | tuple[str, int]:
    if not StartTwoStepForm(prefix="start").validate_on_submit():
        return _two_step_page(status=400)
    users.start_two_step(db.session(), current_user, actor=actor_id())
    return redirect(url_for("account.two_step"))


@bp.route("/two-step/confirm", methods=["POST"])
@requires(Permission.ACCOUNT)
@limiter.limit(_login_rate, key_func=lambda: f"two-step:{current_user.id}", methods=["POST"])
def two_step_confirm() -> Response | tuple[str, int]:
    form = ConfirmTwoStepForm(prefix="confirm")
    if not form.validate_on_submit():
        return _two_step_page(confirm=form, status=400)
    try:
        users.enable_two_step(db.session(), current_user, form.code.data, actor=actor_id())
    except DomainError as exc:
        db.rollback_request()
        form.code.errors.append(exc.message)
        form.code.data = ""
        return _two_step_page(confirm=form, status=int(exc.status))
    _keep_this_session()
    flash(_("Two-step sign-in is on. Your other sessions have ended."), "info")
    return redirect(url_for("account.two_step"))


@bp.route("/two-step/disable", methods=["POST"])
@requires(Permission.ACCOUNT)
@limiter.limit(_login_rate, key_func=lambda: f"two-step:{current_user.id}", methods=["POST"])
def two_step_disable() -> Response | tuple[str, int]:
    form = DisableTwoStepForm(prefix="disable")
    if not form.validate_on_submit():
        return _two_step_page(disable=form, status=400)
    if not check_password(current_user, form.password.data):
        form.password.errors.append(_("That is not your current password."))
        return _two_step_page(disable=form, status=400)
    try:
        users.disable_two_step(db.session(), current_user, form.code.data, actor=actor_id())
    except DomainError as exc:
        db.rollback_request()
        form.code.errors.append(exc.message)
        form.code.data = ""
        return _two_step_page(disable=form, status=int(exc.status))
    _keep_this_session()
    flash(_("Two-step sign-in is off. Your other sessions have ended."), "info")
    return redirect(url_for("account.two_step"))
