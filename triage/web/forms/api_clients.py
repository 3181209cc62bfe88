"""Forms of the admin's pages for API clients: a new client and its scopes, revoking one."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, Length

from ...intake import api_clients
from .. import labels
from .base import Form


def _scope_choices() -> list[tuple[str, str]]:
    return labels.choices("source_kind")


class ClientForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=api_clients.NAME_MAX)])
    scopes = SelectMultipleField(
        _l("Source kinds it may post"),
        choices=_scope_choices,
        validators=[DataRequired(message=_l("Choose at least one source kind."))],
        option_widget=widgets.CheckboxInput(),
        widget=widgets.ListWidget(prefix_label=False),
    )


class RevokeForm(Form):
    confirm = BooleanField(
        _l("Yes, revoke this token: the client's requests will be refused from now on"),
        validators=[DataRequired(message=_l("Tick the box to confirm."))],
    )
