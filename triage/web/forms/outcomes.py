"""The forms of what leaves triage: issuing a decision's document, recording the victim's
consent, handing a case over, and checking a document. They collect and render only; the rules
are ``triage.documents``, ``triage.handover`` and ``triage.review.consent``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Self

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ...models import ConsentMethod
from ...recipients import Recipient
from ..labels import CONSENT_ANSWER, CONSENT_METHOD, RECIPIENT_KIND, label_of
from .base import Form
from .review import VersionedForm

#: The documents' languages, each named in its own language.
LANGUAGE_CHOICES = [("kk", "Қазақша"), ("ru", "Русский"), ("en", "English")]


class IssueDocumentForm(Form):
    language = RadioField(
        _l("Language of the document"), choices=LANGUAGE_CHOICES, validators=[DataRequired()]
    )


class ConsentForm(Form):
    recipient_kind = SelectField(
        _l("Sharing her data with"), choices=[], validators=[DataRequired()]
    )
    answer = RadioField(_l("Her answer"), choices=[], validators=[DataRequired()])
    method = SelectField(_l("How she gave it"), choices=[], validators=[DataRequired()])
    note = TextAreaField(
        _l("What she said, and any limits she set"), validators=[Optional(), Length(max=5000)]
    )

    def offer(self) -> Self:
        self.recipient_kind.choices = [(k, str(v)) for k, v in RECIPIENT_KIND.items()]
        self.answer.choices = [(k, str(v)) for k, v in CONSENT_ANSWER.items()]
        self.method.choices = [
            (k, str(v))
            for k, v in CONSENT_METHOD.items()
            if k != ConsentMethod.HER_OWN_REPORT.value
        ]
        return self


class HandoverForm(Form):
    #: Whether the recipient exists and serves the case's region is the rule's to say.
    recipient = SelectField(
        _l("Recipient"), choices=[], validate_choice=False, validators=[DataRequired()]
    )
    language = RadioField(
        _l("Language of the documents"), choices=LANGUAGE_CHOICES, validators=[DataRequired()]
    )
    reason = TextAreaField(
        _l("Why without her consent (only where it is not recorded)"),
        validators=[Optional(), Length(max=5000)],
    )

    def offer(self, recipients: Iterable[Recipient], language: str) -> Self:
        self.recipient.choices = [("", "—")] + [
            (r.code, f"{r.name(language)} ({label_of('recipient_kind', r.kind.value)})")
            for r in recipients
        ]
        return self


class HandoverRejectForm(VersionedForm):
    reason = TextAreaField(
        _l("Reason for the rejection"), validators=[DataRequired(), Length(max=5000)]
    )


class CheckDocumentForm(Form):
    file = FileField(_l("The document (PDF or JSON)"), validators=[FileRequired()])
