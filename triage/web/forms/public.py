"""The public pages' forms. They carry no CSRF token of Flask-WTF's (that one lives in a session,
and the public pages set no cookie): each form carries the signed single-use token of
``triage.public.form_tokens`` in ``token`` instead, checked by the view. ``website`` is the
honeypot: hidden from people, filled by bots."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import MultipleFileField
from wtforms import HiddenField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from ...intake.schema import Problem
from ...vocab import Relationship, ReporterKind
from .base import REQUIRED, Form, named
from .intake import _choices, _CommonForm

YES_NO_UNSURE = [("yes", _l("Yes")), ("no", _l("No")), ("unknown", _l("Not sure"))]


class PublicReportForm(_CommonForm):
    """What a victim or a witness can tell without an account."""

    class Meta:
        csrf = False

    PERSON_FIELDS = ("victim", "aggressor")
    PAGE_ORDER = (
        "danger_now",
        "reporter",
        *("victim_name", "victim_age", "victim_phone"),
        *("aggressor_name", "relationship"),
        *("region", "city", "address", "occurred_on", "categories", "children_present"),
        "narrative",
        *("contact_me", "reporter_name", "reporter_contact"),
        "photos",
    )

    token = HiddenField()
    lang = HiddenField()
    #: The honeypot. People never see it (CSS hides it, it is out of the tab order).
    website = StringField(_l("Leave this field empty"), validators=[Optional()])

    danger_now = RadioField(
        _l("Is anyone in danger right now?"), choices=YES_NO_UNSURE, validators=[Optional()]
    )
    reporter = SelectField(
        _l("Who are you?"),
        choices=lambda: _choices(ReporterKind, str(_l("— choose —"))),
        validators=[Optional()],
    )
    victim_name = StringField(
        _l("Who is in danger: name (if you know it)"), validators=[Optional(), Length(max=200)]
    )
    victim_age = IntegerField(_l("Their age, roughly"), validators=[Optional()])
    victim_phone = StringField(
        _l("Their phone, only if it is safe to call"), validators=[Optional(), Length(max=40)]
    )
    aggressor_name = StringField(
        _l("The person who hurts or threatens them: name (if you know it)"),
        validators=[Optional(), Length(max=200)],
    )
    relationship = SelectField(
        _l("That person is their"),
        choices=lambda: _choices(Relationship, str(_l("— choose —"))),
        validators=[Optional()],
    )
    city = StringField(_l("City, town or village"), validators=[Optional(), Length(max=100)])
    address = StringField(
        _l("Street or address (if you know it)"), validators=[Optional(), Length(max=300)]
    )
    children_present = RadioField(
        _l("Are there children in danger too?"),
        choices=YES_NO_UNSURE,
        default="unknown",
        validators=[Optional()],
    )
    narrative = TextAreaField(_l("Tell what happened"), validators=[Optional(), Length(max=20_000)])
    contact_me = RadioField(
        _l("May we contact you?"),
        choices=[("no", _l("No, do not contact me")), ("yes", _l("Yes, in the way I describe"))],
        default="no",
        validators=[Optional()],
    )
    reporter_name = StringField(
        _l("Your name (you may leave it out)"), validators=[Optional(), Length(max=200)]
    )
    reporter_contact = StringField(
        _l("How and when it is safe to contact you"), validators=[Optional(), Length(max=200)]
    )
    photos = MultipleFileField(_l("Photos or screenshots (optional)"))

    def to_data(self, source_kind: str = "direct") -> dict[str, Any]:
        data = super().to_data(source_kind)
        for name in ("token", "lang", "website", "danger_now", "contact_me", "photos"):
            data.pop(name, None)
        city, address = data.pop("city", ""), data.pop("address", "")
        place = ", ".join(part for part in (city, address) if part)
        if place:
            data["place"] = place
        if self.contact_me.data != "yes":
            data.pop("reporter_contact", None)
        return data

    def check_contact(self) -> bool:
        """A reporter who may be contacted must say how; a city is needed to route the report."""
        ok = True
        if self.contact_me.data == "yes" and not (self.reporter_contact.data or "").strip():
            self.reporter_contact.errors = [
                *self.reporter_contact.errors,
                str(_l("Say how and when it is safe to contact you.")),
            ]
            ok = False
        if not (self.city.data or "").strip():
            self.city.errors = [*self.city.errors, named(self.city, REQUIRED)]
            ok = False
        return ok

    def show_errors(self, problems: Mapping[str, list[Problem]]) -> None:
        renamed = {("city" if path == "place" else path): found for path, found in problems.items()}
        super().show_errors(renamed)

    @property
    def danger(self) -> bool:
        return bool(self.danger_now.data == "yes")


class ReceiptForm(Form):
    """The follow-up page's first step: the receipt, typed."""

    class Meta:
        csrf = False

    token = HiddenField()
    lang = HiddenField()
    receipt = StringField(_l("Your receipt"), validators=[Optional(), Length(max=80)])


class AddForm(ReceiptForm):
    """The follow-up page's second step: what the reporter adds."""

    text = TextAreaField(_l("What you want to add"), validators=[Optional()])
    photos = MultipleFileField(_l("Photos or screenshots (optional)"))


class ReplyForm(Form):
    """A reviewer's reply to a public report's reporter, from the case page (signed in: the
    usual CSRF token)."""

    text = TextAreaField(_l("Reply to the reporter"), validators=[Optional()])
