"""Forms of the admin's pages: accounts, their roles and scopes, password and two-step resets."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from ... import users
from ...vocab import Region, Role
from ..labels import label_for
from .base import Form


def _role_choices() -> list[tuple[str, str]]:
    return [(r.value, label_for(r)) for r in Role]


def _region_choices() -> list[tuple[str, str]]:
    return [("", str(_l("All regions")))] + [(r.value, label_for(r)) for r in Region]


class UserForm(Form):
    role = SelectField(_l("Role"), choices=_role_choices, validators=[DataRequired()])
    region = SelectField(_l("Region scope"), choices=_region_choices, validators=[Optional()])
    active = BooleanField(_l("Account is active"), default=True)
    #: Write-only: the address is sealed, and the form never shows the one on record.
    email = StringField(
        _l("E-mail address for alerts"),
        validators=[Optional(), Length(max=users.MAX_EMAIL_LENGTH)],
    )
    remove_email = BooleanField(_l("Remove the e-mail address"))


class NewUserForm(UserForm):
    remove_email = None  # a new account has no address to remove
    username = StringField(_l("Username"), validators=[DataRequired(), Length(min=2, max=64)])
    password = PasswordField(
        _l("Initial password"),
        validators=[
            DataRequired(),
            Length(min=users.MIN_PASSWORD_LENGTH, max=users.MAX_PASSWORD_LENGTH),
        ],
    )


class ResetTwoStepForm(Form):
    """Only the CSRF token: the button removes the account's two-step sign-in."""


class ResetPasswordForm(Form):
    password = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(),
            Length(min=users.MIN_PASSWORD_LENGTH, max=users.MAX_PASSWORD_LENGTH),
        ],
    )


class EndSessionsForm(Form):
    """Only the CSRF token: the button ends every session of the account on the server."""


class LiftLockoutForm(Form):
    """Only the CSRF token: the button lifts the account's sign-in lockout."""
