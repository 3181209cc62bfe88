"""The caseworker's forms, one per source kind. They only collect and render: the rules are in
``triage.intake.schema``, whose field errors come back here next to the field at fault."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ...errors import N_
from ...intake.schema import Problem
from ...vocab import Category, Language, Platform, Region, Relationship, ReporterKind
from ..labels import label_for
from .base import REQUIRED, Form


class CheckboxesField(SelectMultipleField):  # type: ignore[misc]
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _choices(enum: Any, blank: str | None = None) -> list[tuple[str, str]]:
    head = [("", blank)] if blank is not None else []
    return head + [(v.value, label_for(v)) for v in enum]


def _regions() -> list[tuple[str, str]]:
    return _choices(Region, str(_l("— choose —")))


def _categories() -> list[tuple[str, str]]:
    return _choices(Category)


class _CommonForm(Form):
    region = SelectField(_l("Region"), choices=_regions, validators=[Optional()])
    occurred_on = DateField(_l("Date of the incident"), validators=[Optional()])
    categories = CheckboxesField(_l("What happened"), choices=_categories, validators=[Optional()])
    attachments = MultipleFileField(_l("Attachments (screenshots, photos, PDF documents)"))
    #: After a probable match: the case to link to, or "new".
    link_to = StringField(validators=[Optional()])

    PERSON_FIELDS: tuple[str, ...] = ()

    def to_data(self, source_kind: str) -> dict[str, Any]:
        """The form's values as the schema's input: blanks dropped, people nested."""
        data: dict[str, Any] = {"source_kind": source_kind}
        skip = {"csrf_token", "attachments", "link_to", "submit"}
        for name, field in self._fields.items():
            if name in skip:
                continue
            value = field.data
            if value in ("", None, []) and field.type != "BooleanField":
                continue
            if name == "people":
                value = [line.strip() for line in str(value).splitlines() if line.strip()]
            person, _, attribute = name.partition("_")
            if person in self.PERSON_FIELDS and attribute in PERSON_ATTRIBUTES:
                data.setdefault(person, {})[attribute] = value
            else:
                data[name] = value
        return data

    def show_errors(self, problems: Mapping[str, list[Problem]]) -> None:
        """Put the schema's messages next to the fields they name, in the reader's language,
        each a sentence that names its field (the schema words only the problem: "is
        required"). A problem with a person as a whole goes to the first of her fields."""
        for path, found in problems.items():
            field = self._fields.get(path.replace(".", "_"))
            if field is None and "." in path:
                field = self._fields.get(path.split(".", 1)[0])
            title = PERSON_TITLES.get(path) if path in self.PERSON_FIELDS else None
            if title is not None:
                field = self._fields.get(f"{path}_{PERSON_ATTRIBUTES[0]}")
            if field is None:
                self.form_errors.extend(
                    f"{path}: {gettext(message, **params)}" for message, params in found
                )
                continue
            about = str(title) if title is not None else str(field.label.text)
            field.errors = [*(field.errors or []), *(_sentence(about, p) for p in found)]


def _sentence(field: str, problem: Problem) -> str:
    """The schema's problem with a field as a sentence that names the field."""
    message, params = problem
    if message == REQUIRED_PROBLEM:
        return str(gettext(REQUIRED, field=field))
    return str(
        gettext(N_("%(field)s: %(problem)s."), field=field, problem=gettext(message, **params))
    )


PERSON_ATTRIBUTES = ("name", "birth_date", "age", "iin", "phone", "address")
#: Who each person of a direct report is, as her fields' labels begin.
PERSON_TITLES = {"victim": _l("Victim"), "aggressor": _l("Alleged aggressor")}
#: The schema's word for a field left empty (``triage.intake.schema``).
REQUIRED_PROBLEM = "is required"


def _person(prefix: str, title: Any) -> dict[str, Any]:
    """Name, birth date or age, IIN, phone and address of one person, as prefixed fields."""
    return {
        f"{prefix}_name": StringField(_l("%(who)s: full name", who=title), validators=[Optional()]),
        f"{prefix}_birth_date": DateField(
            _l("%(who)s: date of birth", who=title), validators=[Optional()]
        ),
        f"{prefix}_age": IntegerField(
            _l("%(who)s: age, if the date is not known", who=title), validators=[Optional()]
        ),
        f"{prefix}_iin": StringField(_l("%(who)s: IIN", who=title), validators=[Optional()]),
        f"{prefix}_phone": StringField(_l("%(who)s: phone", who=title), validators=[Optional()]),
        f"{prefix}_address": StringField(
            _l("%(who)s: address", who=title), validators=[Optional()]
        ),
    }


#: Where the fields every kind has stand on its page (templates/intake/_form.html).
_COMMON_ORDER = ("region", "occurred_on", "categories")


def _person_order(prefix: str) -> tuple[str, ...]:
    return tuple(f"{prefix}_{attribute}" for attribute in PERSON_ATTRIBUTES)


class DirectForm(_CommonForm):
    PERSON_FIELDS = ("victim", "aggressor")
    PAGE_ORDER = (
        *("reporter", "reporter_name", "reporter_contact"),
        *_person_order("victim"),
        *_person_order("aggressor"),
        "relationship",
        *_COMMON_ORDER,
        *("place", "children_present", "narrative", "victim_complaint", "may_contact"),
        *("safe_contact", "consent_support_services", "wishes", "attachments"),
    )

    reporter = SelectField(
        _l("Who is reporting"),
        choices=lambda: _choices(ReporterKind, str(_l("— choose —"))),
        validators=[Optional()],
    )
    reporter_name = StringField(_l("Reporter's name (if not the victim)"), validators=[Optional()])
    reporter_contact = StringField(_l("How to reach the reporter"), validators=[Optional()])
    relationship = SelectField(
        _l("The alleged aggressor is the victim's"),
        choices=lambda: _choices(Relationship, str(_l("— choose —"))),
        validators=[Optional()],
    )
    place = StringField(_l("Where it happened"), validators=[Optional()])
    children_present = RadioField(
        _l("Were children present?"),
        choices=[("yes", _l("Yes")), ("no", _l("No")), ("unknown", _l("Not known"))],
        default="unknown",
    )
    victim_complaint = BooleanField(_l("The victim has filed a complaint herself"))
    may_contact = RadioField(
        _l("May the victim be contacted?"),
        choices=[("yes", _l("Yes")), ("no", _l("No")), ("unknown", _l("Not known"))],
        default="unknown",
    )
    safe_contact = StringField(_l("How to contact her safely"), validators=[Optional()])
    consent_support_services = RadioField(
        _l("May her data go to support services (crisis centre, shelter, legal aid)?"),
        choices=[("yes", _l("Yes")), ("no", _l("No")), ("unknown", _l("Not known"))],
        default="unknown",
    )
    wishes = TextAreaField(_l("Her wishes"), validators=[Optional()])
    narrative = TextAreaField(_l("What happened, in the reporter's words"), validators=[Optional()])


for _name, _field in {
    **_person("victim", PERSON_TITLES["victim"]),
    **_person("aggressor", PERSON_TITLES["aggressor"]),
}.items():
    setattr(DirectForm, _name, _field)


class MediaForm(_CommonForm):
    PAGE_ORDER = (
        *("outlet", "url", "published_on", "language", "headline", "text", "people"),
        *_COMMON_ORDER,
        "attachments",
    )

    outlet = StringField(_l("Outlet"), validators=[Optional()])
    url = StringField(_l("Address of the article (URL)"), validators=[Optional()])
    published_on = DateField(_l("Publication date"), validators=[Optional()])
    language = SelectField(
        _l("Language"),
        choices=lambda: _choices(Language, str(_l("— choose —"))),
        validators=[Optional()],
    )
    headline = StringField(_l("Headline"), validators=[Optional()])
    text = TextAreaField(_l("Article text or excerpt"), validators=[Optional()])
    people = TextAreaField(_l("People it names, one per line"), validators=[Optional()])


class OnlineForm(_CommonForm):
    PAGE_ORDER = (
        *("platform", "post_url", "author_handle", "captured_at", "captured_text"),
        *_COMMON_ORDER,
        "attachments",
    )

    platform = SelectField(
        _l("Platform"),
        choices=lambda: _choices(Platform, str(_l("— choose —"))),
        validators=[Optional()],
    )
    post_url = StringField(_l("Address of the post (URL)"), validators=[Optional()])
    author_handle = StringField(_l("Author's handle"), validators=[Optional()])
    captured_at = DateTimeLocalField(_l("Captured at (UTC)"), validators=[Optional()])
    captured_text = TextAreaField(_l("The captured text"), validators=[Optional()])


FORMS: dict[str, type[_CommonForm]] = {
    "direct": DirectForm,
    "media": MediaForm,
    "online": OnlineForm,
}


class AddInformationForm(Form):
    text = TextAreaField(_l("New information"), validators=[Optional()])
    attachments = MultipleFileField(_l("Attachments"))


class LinkForm(Form):
    case_id = StringField(validators=[InputRequired()])
