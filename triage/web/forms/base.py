"""The base of every form of the web pages: error messages that name their field.

WTForms' own messages are bare ("This field is required.", "Not a valid choice."): beside the
field they lack its name, and in the error summary at the top of the page (the ``form_errors``
macro) they say nothing of where the problem is. Every form here derives from ``Form``, which
words them as whole sentences that start with the field's label: one marked message with
``%(field)s`` per problem, the label first and never inflected, so that Russian and Kazakh read
as sentences too. Messages that a form or a rule words itself are kept as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import gettext
from flask_wtf import FlaskForm
from wtforms import Field
from wtforms.fields import (
    DateField,
    DateTimeField,
    DecimalField,
    FloatField,
    HiddenField,
    IntegerField,
    SelectFieldBase,
    SelectMultipleField,
    TimeField,
)
from wtforms.meta import DefaultMeta
from wtforms.validators import Length, NumberRange

from ...errors import N_

REQUIRED = N_("%(field)s: this field is required.")
CHOOSE = N_("%(field)s: choose one of the options offered.")
NOT_VALID = N_("%(field)s: this value is not valid.")
#: A hidden field's problem is the page's, not the person's.
OUT_OF_DATE = N_("The form is out of date. Reload the page and try again.")

#: What a field says when the posted value cannot be read as its type: the first that fits
#: (WTForms derives the date and the time fields from the date-and-time one).
_INVALID_VALUE: tuple[tuple[Any, str], ...] = (
    (DateField, N_("%(field)s: enter a valid date.")),
    (TimeField, N_("%(field)s: enter a valid time.")),
    (DateTimeField, N_("%(field)s: enter a valid date and time.")),
    (IntegerField, N_("%(field)s: enter a whole number.")),
    (DecimalField, N_("%(field)s: enter a number.")),
    (FloatField, N_("%(field)s: enter a number.")),
    (SelectFieldBase, CHOOSE),
)


def named(field: Field, message: str, **params: Any) -> str:
    """``message`` (marked, with ``%(field)s``) in the reader's language, naming ``field``."""
    return str(gettext(message, field=str(field.label.text), **params))


def _length(field: Field, rule: Length) -> tuple[str, str]:
    """The message WTForms gives when ``rule`` fails, and ours."""
    if rule.max == -1:
        theirs = field.ngettext(
            "Field must be at least %(min)d character long.",
            "Field must be at least %(min)d characters long.",
            rule.min,
        )
        ours = named(field, N_("%(field)s: write at least %(min)d characters."), min=rule.min)
    elif rule.min == -1:
        theirs = field.ngettext(
            "Field cannot be longer than %(max)d character.",
            "Field cannot be longer than %(max)d characters.",
            rule.max,
        )
        ours = named(field, N_("%(field)s: write at most %(max)d characters."), max=rule.max)
    elif rule.min == rule.max:
        theirs = field.ngettext(
            "Field must be exactly %(max)d character long.",
            "Field must be exactly %(max)d characters long.",
            rule.max,
        )
        ours = named(field, N_("%(field)s: write exactly %(max)d characters."), max=rule.max)
    else:
        theirs = field.gettext("Field must be between %(min)d and %(max)d characters long.")
        ours = named(
            field,
            N_("%(field)s: write between %(min)d and %(max)d characters."),
            min=rule.min,
            max=rule.max,
        )
    return theirs % {"min": rule.min, "max": rule.max, "length": 0}, ours


def _range(field: Field, rule: NumberRange) -> tuple[str, str]:
    if rule.max is None:
        theirs = field.gettext("Number must be at least %(min)s.")
        ours = named(field, N_("%(field)s: enter a number of at least %(min)s."), min=rule.min)
    elif rule.min is None:
        theirs = field.gettext("Number must be at most %(max)s.")
        ours = named(field, N_("%(field)s: enter a number of at most %(max)s."), max=rule.max)
    else:
        theirs = field.gettext("Number must be between %(min)s and %(max)s.")
        ours = named(
            field,
            N_("%(field)s: enter a number between %(min)s and %(max)s."),
            min=rule.min,
            max=rule.max,
        )
    return theirs % {"min": rule.min, "max": rule.max}, ours


def _rewrites(field: Field) -> dict[str, str]:
    """WTForms' default messages that ``field``'s validators can give → ours, naming it."""
    found = {field.gettext("This field is required."): named(field, REQUIRED)}
    for rule in field.validators:
        if isinstance(rule, Length) and rule.message is None:
            found.update([_length(field, rule)])
        elif isinstance(rule, NumberRange) and rule.message is None:
            found.update([_range(field, rule)])
    return found


def _worded(field: Field, messages: Iterable[Any]) -> list[str]:
    if isinstance(field, HiddenField):
        return [str(gettext(OUT_OF_DATE)) for _ in messages]
    rewrites = _rewrites(field)
    return [rewrites.get(str(m), str(m)) for m in messages]


class _Worded:
    """A message naming ``field``, worded when shown (in the reader's language then). WTForms
    keeps it as the field's message for a value it cannot read or a choice not offered, and
    fills ``%(value)s`` into a multiple choice's; ours names no value."""

    def __init__(self, field: Field, message: str) -> None:
        self._field = field
        self._message = message

    def __str__(self) -> str:
        return named(self._field, self._message)

    def __mod__(self, _values: object) -> str:
        return str(self)

    def by_count(self, _count: int) -> _Worded:
        """The callable form WTForms asks of a multiple choice's message."""
        return self


class _Meta(DefaultMeta):  # type: ignore[misc]
    def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Field:
        """Word the messages WTForms raises while it reads the posted data (before validation,
        so ``Form.validate`` would be too late for them)."""
        field = super().bind_field(form, unbound_field, options)
        invalid = next((m for kind, m in _INVALID_VALUE if isinstance(field, kind)), NOT_VALID)
        if getattr(field, "invalid_value_message", "") is None:
            field.invalid_value_message = _Worded(field, invalid)
        if isinstance(field, SelectFieldBase) and field.invalid_choice_message is None:
            choose = _Worded(field, CHOOSE)
            multiple = isinstance(field, SelectMultipleField)
            field.invalid_choice_message = choose.by_count if multiple else choose
        return field


class Form(FlaskForm):  # type: ignore[misc]
    """A form whose every message names its field, so that the error summary can list them and
    link each to its field. What the validators find (a required field left empty, a length or
    a number out of range) is reworded after ``validate``; a value WTForms cannot read, or a
    choice that was not offered, is worded as the field is bound."""

    Meta = _Meta

    #: The order the page shows the fields in, where it is not the order they are defined in;
    #: the error summary lists its messages in it (fields not named follow, as defined).
    PAGE_ORDER: tuple[str, ...] = ()

    def fields_in_error(self) -> list[Field]:
        """The fields with a message, in the order the page shows them."""
        order = {name: place for place, name in enumerate(self.PAGE_ORDER)}
        found = [f for f in self if f.errors]
        return sorted(found, key=lambda f: order.get(f.short_name, len(order)))

    def validate(self, extra_validators: Any = None) -> bool:
        valid: bool = super().validate(extra_validators)
        for field in self:
            # A value that could not be read is the one problem to tell: the validators that ran
            # after it (a number's range, say) only saw that it was missing. (``Optional`` clears
            # it for an empty value: then it is no problem at all.)
            unread = [m for m in field.process_errors if m in field.errors]
            if field.errors:
                field.errors = _worded(field, unread or field.errors)
        return valid
