"""The signed-in user's own account: change the password."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from .. import db, users
from ..auth import actor_id, check_password, requires
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


bp = Blueprint("account", __name__, url_prefix="/account")


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
