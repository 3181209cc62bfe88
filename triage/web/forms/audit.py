"""Forms of the auditor's pages: filtering the log, exporting a range, checking an export."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import NumberRange, Optional

from ..converters import MAX_INT
from .base import Form


class FilterForm(Form):
    class Meta:
        csrf = False  # a GET search changes nothing

    since = StringField(_l("From (UTC)"), validators=[Optional()])
    until = StringField(_l("Until (UTC)"), validators=[Optional()])
    actor = StringField(_l("Actor (user id or system)"), validators=[Optional()])
    action = SelectField(_l("Action"), validators=[Optional()])
    object_type = StringField(_l("Object type"), validators=[Optional()])
    object_id = StringField(_l("Object id"), validators=[Optional()])


class ExportForm(Form):
    fmt = SelectField(
        _l("Format"), choices=[("jsonl", "JSON Lines"), ("csv", "CSV")], default="jsonl"
    )
    from_seq = IntegerField(
        _l("From sequence number"),
        validators=[Optional(), NumberRange(min=1), NumberRange(max=MAX_INT)],
    )
    to_seq = IntegerField(
        _l("To sequence number"),
        validators=[Optional(), NumberRange(min=1), NumberRange(max=MAX_INT)],
    )
    since = StringField(_l("From (UTC)"), validators=[Optional()])
    until = StringField(_l("Until (UTC)"), validators=[Optional()])


class VerifyExportForm(Form):
    data = FileField(_l("Export file (events.jsonl or events.csv)"), validators=[FileRequired()])
    manifest = FileField(_l("Its manifest (manifest.json)"), validators=[FileRequired()])
