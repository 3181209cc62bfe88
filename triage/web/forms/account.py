"""Forms for signing in and for the signed-in user's own account."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from ... import users
from .base import Form


class LoginForm(Form):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class CodeForm(Form):
    code = StringField(
        _l("Code from your authenticator app"), validators=[DataRequired(), Length(max=16)]
    )


class PasswordForm(Form):
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


class StartTwoStepForm(Form):
    """Only the CSRF token: the button asks for a new secret."""


class ConfirmTwoStepForm(Form):
    code = StringField(
        _l("Code from your authenticator app"), validators=[DataRequired(), Length(max=16)]
    )


class DisableTwoStepForm(Form):
    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=1024)])
    code = StringField(
        _l("Code from your authenticator app"), validators=[DataRequired(), Length(max=16)]
    )


class EndSessionForm(Form):
    """Which of the user's own sessions to end — its key on the account's sessions page, or
    ``others`` for every one but the current — and her password again (ASVS V3.3.4: whoever
    sits at a browser left signed in cannot end her other sessions, where she might be reading
    what they did). The choices are the page's; a key no longer among them is the view's to
    answer ("ended already"), not a bare "not a valid choice"."""

    ALL_OTHERS = "others"
    session = SelectField(
        _l("Session to end"),
        validate_choice=False,
        validators=[DataRequired(), Length(max=64), Regexp(r"^(others|[0-9a-f]{64})$")],
    )
    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=1024)])
