"""The reviewer's forms: the queue's filters, the buttons, and the forms that assess, verify,
decide, reassign, note, follow up and close. They collect and render only; the rules are in
``triage.review``, whose refusals come back above the form.

The label tables of the review pages (levels, verification states, tiers, answers) belong to the
views, so the forms that offer them as choices receive them (``offer``) instead of importing the
views: the layering runs views → forms, never back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Self

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ... import measures
from ...legal import LegalGrounds
from ...models import CorroborationMethod, User, VerificationOutcome
from ...review import case_queue, cases, decisions
from ...scoring import Answer, Checklist
from ..converters import MAX_INT
from ..labels import choices, label_for, label_of
from .base import Form

#: A label table: code → (lazy) label, in the order it is offered.
Labels = Mapping[Any, Any]


def _choices(labels: Labels, blank: Any | None = None) -> list[tuple[str, str]]:
    found = [(str(code), str(label)) for code, label in labels.items()]
    return [("", str(blank)), *found] if blank is not None else found


class VersionedForm(Form):
    """A form that edits a case or a decision: it carries the version the page showed, and the
    service refuses it (``StaleEdit``) if someone changed the record since."""

    version = HiddenField()

    def prefill(self, shown: Any) -> None:
        """Before showing the form (GET): remember the version of the record it edits."""
        self.version.data = str(shown.version)

    def edited_version(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None


class ActionForm(VersionedForm):
    """A button: the CSRF token and, for edits, the version the page showed."""


class FilterForm(Form):
    """The queue's filters, read from the query string (no CSRF token: the queue only reads)."""

    class Meta:
        csrf = False

    region = SelectField(
        _l("Region"),
        choices=lambda: choices("region", _l("All regions")),
        validators=[Optional()],
    )
    source = SelectField(
        _l("Source"),
        choices=lambda: choices("source_kind", _l("Any source")),
        validators=[Optional()],
    )
    level = SelectField(_l("Risk level"), choices=[], validators=[Optional()])
    state = SelectField(_l("Verification"), choices=[], validators=[Optional()])
    overdue = BooleanField(_l("Overdue only"))
    mine = BooleanField(_l("My cases"))
    unclaimed = BooleanField(_l("Unclaimed only"))
    closed = BooleanField(_l("Closed cases instead of open ones"))
    public = SelectField(
        _l("Public reports"),
        choices=[
            ("", _l("With or without")),
            ("only", _l("Only cases from the public form")),
            ("hide", _l("Hide cases from the public form")),
        ],
        validators=[Optional()],
    )

    def offer(self, levels: Labels, states: Labels) -> Self:
        self.level.choices = _choices(levels, _l("Any level"))
        self.state.choices = _choices(states, _l("Any state"))
        return self

    def filters(self, user: User, page: str | None) -> case_queue.QueueFilter:
        """What the queue shows: the filters as given, or none when they do not validate. A
        user scoped to a region sees only it, whatever the query string says."""
        if user.region:
            self.region.data = ""
        if not self.validate():
            return case_queue.QueueFilter()
        return case_queue.QueueFilter(
            region=self.region.data or None,
            source=self.source.data or None,
            level=self.level.data or None,
            verification=self.state.data or None,
            overdue=bool(self.overdue.data),
            mine=bool(self.mine.data),
            unclaimed=bool(self.unclaimed.data),
            closed=bool(self.closed.data),
            public=self.public.data or None,
            page=int(page) if page and page.isascii() and page.isdigit() and len(page) < 10 else 1,
        )


class AssessmentBase(VersionedForm):
    level = SelectField(_l("Level in force"), choices=[], validators=[Optional()])
    reason = TextAreaField(
        _l("Reason for a different level (professional judgement)"),
        validators=[Optional(), Length(max=5000)],
    )

    checklist: Checklist

    def answers(self) -> dict[int, str]:
        return {
            item.number: getattr(self, f"item_{item.number}").data for item in self.checklist.items
        }


_ASSESSMENT_FORMS: dict[int, type[AssessmentBase]] = {}


def assessment_form(checklist: Checklist, *, answers: Labels, levels: Labels) -> AssessmentBase:
    """The form for ``checklist``: a yes/no/unknown question per item (one form class per
    checklist version), and the level in force."""
    if checklist.version not in _ASSESSMENT_FORMS:
        fields: dict[str, Any] = {
            f"item_{item.number}": RadioField(item.text, choices=[], default=Answer.UNKNOWN.value)
            for item in checklist.items
        }
        fields["checklist"] = checklist
        _ASSESSMENT_FORMS[checklist.version] = type(
            f"AssessmentFormV{checklist.version}", (AssessmentBase,), fields
        )
    form = _ASSESSMENT_FORMS[checklist.version]()
    for item in checklist.items:
        getattr(form, f"item_{item.number}").choices = _choices(
            {a.value: answers[a] for a in Answer}
        )
    form.level.choices = _choices(levels, _l("The computed level"))
    return form


class VerifyForm(VersionedForm):
    outcome = RadioField(
        _l("Finding"),
        choices=[
            (VerificationOutcome.CORROBORATED.value, _l("Corroborated")),
            (VerificationOutcome.UNFOUNDED.value, _l("Unfounded (the case closes)")),
        ],
        validators=[DataRequired()],
    )
    method = SelectField(
        _l("Corroborated by"),
        choices=lambda: (
            [("", str(_l("— for a corroboration, choose how —")))]
            + [(m.value, label_for(m)) for m in CorroborationMethod]
        ),
        validators=[Optional()],
    )
    note = TextAreaField(
        _l("Note (what was checked), or the reason the report is unfounded"),
        validators=[DataRequired(), Length(max=10000)],
    )


class DecisionForm(VersionedForm):
    measure = SelectField(_l("Measure"), choices=[], validators=[DataRequired()])
    #: The measure's grounds from the configured list; whether they fit the measure is the
    #: rule's to say (``decisions.propose``), in a sentence rather than "not a valid choice".
    grounds = SelectMultipleField(
        _l("Legal grounds"),
        choices=[],
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    legal_basis = StringField(
        _l("Another article (only if it is not on the list)"),
        validators=[Optional(), Length(max=200)],
    )
    rationale = TextAreaField(_l("Rationale"), validators=[DataRequired(), Length(max=10000)])
    starts_on = DateField(_l("Starts on"), validators=[Optional()])
    ends_on = DateField(_l("Ends on"), validators=[Optional()])
    follow_up_on = DateField(_l("Follow up on"), validators=[Optional()])
    against_victim_wishes = BooleanField(_l("This goes against the victim's recorded wishes"))
    wishes_reason = TextAreaField(
        _l("Why, against her wishes"), validators=[Optional(), Length(max=5000)]
    )

    def offer(
        self, tiers: Labels, legal: LegalGrounds, language: str, chosen: str | None = None
    ) -> Self:
        """The catalogue's measures, each with its tier, and the legal grounds of the ``chosen``
        one (from the page's link or the posted form), preselected; every ground when none is
        chosen yet. Nothing is chosen for the reviewer: the list starts with a blank that asks."""
        self.measure.choices = [("", str(_l("— choose a measure —")))] + [
            (m.code, f"{label_of('measure', m.code)} ({tiers[m.tier.value]})")
            for m in measures.MEASURES.values()
        ]
        if chosen is not None and chosen in measures.MEASURES:
            self.measure.data = chosen
            offered = legal.for_measure(chosen)
        else:
            offered = tuple(g for g in legal.grounds.values() if not g.retired)
        self.grounds.choices = [(g.code, g.short_citation(language)) for g in offered]
        return self

    def unavailable(self, options: Iterable[decisions.MeasureOption]) -> Self:
        """Show the measures this case refuses (a coercive measure while the case is
        unverified) as unavailable before anyone submits: disabled in the list, the reason in
        their label. The rule still refuses a refused measure that is posted anyway
        (``decisions.propose``)."""
        unverified = {o.measure.code for o in options if o.refused == "unverified"}

        def option(code: str, label: str) -> tuple[Any, ...]:
            if code not in unverified:
                return (code, label)
            why = _l("%(measure)s: refused until the case is corroborated", measure=label)
            return (code, str(why), {"disabled": True})

        self.measure.choices = [option(code, label) for code, label, *_ in self.measure.choices]
        return self


class NoteForm(Form):
    text = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=10000)])

    def prefill(self, shown: Any) -> None:
        """Nothing to remember: a note edits nothing."""


class CloseForm(VersionedForm):
    outcome = SelectField(
        _l("Outcome"),
        choices=lambda: [(o.value, label_for(o)) for o in cases.CLOSING_OUTCOMES],
        validators=[DataRequired()],
    )
    note = TextAreaField(_l("Closing note"), validators=[Optional(), Length(max=10000)])


class ReassignForm(Form):
    to_user = SelectField(_l("Give the case to"), choices=[], validators=[Optional()])
    #: The holder and claim expiry the page showed: the reassignment is a compare-and-set on them.
    seen_holder = HiddenField()
    seen_expiry = HiddenField()

    def offer(self, holders: Iterable[User]) -> Self:
        self.to_user.choices = [("", str(_l("Nobody (free the case)")))] + [
            (str(u.id), f"{u.username} ({label_for(u.role_enum)})") for u in holders
        ]
        return self

    def prefill(self, shown: Any) -> None:
        """Before showing the form (GET): remember whose claim, until when, the page showed."""
        self.seen_holder.data = str(shown.claimed_by) if shown.claimed_by else ""
        self.seen_expiry.data = shown.claim_expires_at.isoformat() if shown.claim_expires_at else ""

    def target(self) -> int | None:
        # Blank (whitespace too: Optional lets it through unchecked) means nobody.
        chosen = (self.to_user.data or "").strip()
        return int(chosen) if chosen else None

    def seen_claim(self) -> tuple[int | None, datetime | None] | None:
        """The claim the page showed, or ``None`` when the form did not carry it."""
        holder, expiry = self.seen_holder.data, self.seen_expiry.data
        if holder is None and expiry is None:
            return None
        try:
            seen = int(holder) if holder else None
            shown = datetime.fromisoformat(expiry) if expiry else None
        except ValueError:
            return None
        if seen is not None and not 0 < seen <= MAX_INT:
            # No page shows such a holder (and SQL would overflow on it): the compare-and-set
            # fails on 0, no user's id, as it does for any stale form.
            return 0, shown
        return seen, shown


class MoveReportForm(VersionedForm):
    target = HiddenField(validators=[DataRequired()])


class ReasonForm(VersionedForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=5000)])


class FollowUpForm(Form):
    note = TextAreaField(
        _l("What was found or done"), validators=[DataRequired(), Length(max=10000)]
    )

    def prefill(self, shown: Any) -> None:
        """Nothing to remember: following up is not an edit under a version."""
