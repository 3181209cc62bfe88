"""Administration of staff accounts: list, create, change role or region scope, disable,
reset a password or two-step sign-in, set the address alerts are e-mailed to. Admins never see
a person's data here: accounts are staff, not subjects, and a staff address, once set, is sealed
and never shown again (it can be replaced or removed)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from ... import lockout, users
from ...errors import DomainError
from ...models import User
from ...permissions import Permission
from .. import sessions
from ..deps import unit_of_work
from ..errors import message_of
from ..forms.admin import (
    EndSessionsForm,
    LiftLockoutForm,
    NewUserForm,
    ResetPasswordForm,
    ResetTwoStepForm,
    UserForm,
)
from ..gate import actor_id, requires

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users")
@requires(Permission.USER_MANAGE)
def user_list() -> str:
    with unit_of_work().read() as db:
        return render_template(
            "admin/users.html", users=users.list_users(db), now=datetime.now(UTC)
        )


@bp.route("/users/new", methods=["GET", "POST"])
@requires(Permission.USER_MANAGE)
def user_new() -> Response | tuple[str, int] | str:
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            with unit_of_work().begin() as db:
                user = users.create_user(
                    db,
                    username=form.username.data,
                    password=form.password.data,
                    role=form.role.data,
                    region=form.region.data or None,
                    actor=actor_id(),
                )
                if not form.active.data:
                    users.update_user(
                        db, user, role=user.role, region=user.region, active=False, actor=actor_id()
                    )
                if form.email.data:
                    users.set_email(db, user, form.email.data, actor=actor_id())
        except DomainError as exc:
            form.form_errors.append(message_of(exc))
            return render_template("admin/user_new.html", form=form), int(exc.status)
        flash(_("Account %(name)s created.", name=user.username), "info")
        return redirect(url_for("admin.user_list"))
    return render_template("admin/user_new.html", form=form), 400 if form.errors else 200


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@requires(Permission.USER_MANAGE)
def user_edit(user_id: int) -> Response | tuple[str, int] | str:
    with unit_of_work().read() as db:
        user = users.get(db, user_id)
    form = UserForm() if _posted() else _settings_of(user)
    reset = ResetPasswordForm(prefix="reset")
    if form.validate_on_submit():
        try:
            with unit_of_work().begin() as db:
                saved = users.update_user(
                    db,
                    users.get(db, user_id),
                    role=form.role.data,
                    region=form.region.data or None,
                    active=form.active.data,
                    actor=actor_id(),
                )
                if form.remove_email.data:
                    users.set_email(db, saved, None, actor=actor_id())
                elif form.email.data:
                    users.set_email(db, saved, form.email.data, actor=actor_id())
        except DomainError as exc:
            form.form_errors.append(message_of(exc))
            return _edit_page(user, form, reset, int(exc.status))
        if saved.session_epoch != user.session_epoch:  # role, scope or active flag changed
            sessions.end_for_user(saved.id)
        flash(_("Account %(name)s saved.", name=saved.username), "info")
        return redirect(url_for("admin.user_list"))
    return _edit_page(user, form, reset, 400 if form.errors else 200)


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@requires(Permission.USER_MANAGE)
def user_reset_password(user_id: int) -> Response | tuple[str, int]:
    reset = ResetPasswordForm(prefix="reset")
    status = 400
    if reset.validate_on_submit():
        try:
            with unit_of_work().begin() as db:
                user = users.set_password(
                    db, users.get(db, user_id), reset.password.data, actor=actor_id()
                )
        except DomainError as exc:  # a weak password: shown on the form, nothing changed
            reset.password.errors.append(message_of(exc))
            status = int(exc.status)
        else:
            sessions.end_for_user(user.id)
            flash(
                _("Password of %(name)s reset; their sessions have ended.", name=user.username),
                "info",
            )
            return redirect(url_for("admin.user_edit", user_id=user.id))
    with unit_of_work().read() as db:
        user = users.get(db, user_id)
    return _edit_page(user, _settings_of(user), reset, status)


@bp.route("/users/<int:user_id>/two-step", methods=["POST"])
@requires(Permission.USER_MANAGE)
def user_reset_two_step(user_id: int) -> Response | tuple[str, int]:
    """A lost phone: the user signs in with the password alone until they set it up again."""
    with unit_of_work().read() as db:
        user = users.get(db, user_id)
    two_step = ResetTwoStepForm(prefix="two_step")
    if not two_step.validate_on_submit():
        return _edit_page(user, _settings_of(user), ResetPasswordForm(prefix="reset"), 400)
    try:
        with unit_of_work().begin() as db:
            users.reset_two_step(db, users.get(db, user_id), actor=actor_id())
    except DomainError as exc:
        two_step.form_errors.append(message_of(exc))
        return _edit_page(
            user, _settings_of(user), ResetPasswordForm(prefix="reset"), int(exc.status), two_step
        )
    sessions.end_for_user(user.id)
    flash(
        _("Two-step sign-in of %(name)s removed; their sessions have ended.", name=user.username),
        "info",
    )
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.route("/users/<int:user_id>/sessions/end", methods=["POST"])
@requires(Permission.USER_MANAGE)
def user_end_sessions(user_id: int) -> Response | tuple[str, int]:
    """End every session of the account on the server (a shared computer left signed in, a
    stolen laptop); the user signs in again. Audited."""
    with unit_of_work().read() as db:
        user = users.get(db, user_id)
    if not EndSessionsForm(prefix="sessions").validate_on_submit():
        return _edit_page(user, _settings_of(user), ResetPasswordForm(prefix="reset"), 400)
    count = sessions.end_for_user(user.id, keep_current=str(user.id) == actor_id())
    with unit_of_work().begin() as db:
        sessions.record_ended(
            db, actor=actor_id(), user_id=user.id, count=count, scope="all", reason="by_admin"
        )
    flash(_("Sessions of %(name)s ended: %(count)d.", name=user.username, count=count), "info")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@requires(Permission.USER_MANAGE)
def user_unlock(user_id: int) -> Response | tuple[str, int]:
    """Lift a sign-in lockout at once (the user asked, and the admin knows it is her). Audited."""
    with unit_of_work().read() as db:
        user = users.get(db, user_id)
    if not LiftLockoutForm(prefix="unlock").validate_on_submit():
        return _edit_page(user, _settings_of(user), ResetPasswordForm(prefix="reset"), 400)
    with unit_of_work().begin() as db:
        lifted = lockout.lift(db, users.get(db, user_id), actor=actor_id())
    if lifted:
        flash(_("Sign-in lockout of %(name)s lifted.", name=user.username), "info")
    return redirect(url_for("admin.user_edit", user_id=user.id))


def _edit_page(
    user: User,
    form: UserForm,
    reset: ResetPasswordForm,
    status: int,
    two_step: ResetTwoStepForm | None = None,
) -> tuple[str, int]:
    return render_template(
        "admin/user_edit.html",
        user=user,
        form=form,
        reset=reset,
        two_step=two_step or ResetTwoStepForm(prefix="two_step"),
        end_sessions=EndSessionsForm(prefix="sessions"),
        unlock=LiftLockoutForm(prefix="unlock"),
        live_sessions=len(sessions.list_for_user(user.id)),
        locked=lockout.is_locked(user, datetime.now(UTC)),
    ), status


def _posted() -> bool:
    return request.method == "POST"


def _settings_of(user: User) -> UserForm:
    """The settings form filled from the account only, never from the request: on a POST of the
    reset form, the posted data would untick "active", and the admin's next Save would disable
    the account."""
    form = UserForm(formdata=None, obj=user)
    form.region.data = user.region or ""
    return form
