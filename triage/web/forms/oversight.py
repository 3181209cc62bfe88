"""The form of the auditor's view of a case: looking a case up by its code (or its id, as the
audit log shows it). Posted, so that whatever is typed never lands in a URL or a server log."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from .base import Form


class CaseLookupForm(Form):
    ref = StringField(
        _l("Case code or id"),
        validators=[DataRequired(), Length(max=64)],
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"},
    )
