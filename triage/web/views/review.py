"""The reviewer's pages: the queue (dashboard), the case page with its timeline, the forms that
assess, verify, decide, note and close, claims, and the supervisor's approvals queue.

Views parse and render only; ``triage.review`` holds the rules, the scope checks and the audit
events. A refused action rolls the request back and says why, never with a person's data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from ... import db, measures
from ...auth import requires
from ...errors import DomainError
from ...models import Case, CorroborationMethod, User, VerificationOutcome
from ...permissions import Permission
from ...review import assessments, cases, claims, decisions, followups, linking, verification
from ...review.rules import rules_of
from ...scoring import Answer, Checklist
from ...vocab import (
    DecisionStatus,
    MeasureTier,
    Region,
    RiskLevel,
    Role,
    SourceKind,
    Verification,
)

bp = Blueprint("review", __name__, url_prefix="/cases")

Page = Response | str | tuple[str, int]

LEVEL_LABELS = {
    RiskLevel.HIGH.value: _l("High"),
    RiskLevel.MEDIUM.value: _l("Medium"),
    RiskLevel.STANDARD.value: _l("Standard"),
}
VERIFICATION_LABELS = {
    Verification.UNVERIFIED.value: _l("Unverified"),
    Verification.CORROBORATED.value: _l("Corroborated"),
    Verification.UNFOUNDED.value: _l("Unfounded"),
}
DECISION_STATUS_LABELS = {
    DecisionStatus.PROPOSED.value: _l("Proposed"),
    DecisionStatus.AWAITING_APPROVAL.value: _l("Awaiting approval"),
    DecisionStatus.APPROVED.value: _l("Approved"),
    DecisionStatus.REJECTED.value: _l("Rejected"),
    DecisionStatus.IN_EFFECT.value: _l("In effect"),
    DecisionStatus.ENDED.value: _l("Ended"),
    DecisionStatus.WITHDRAWN.value: _l("Withdrawn"),
}
TIER_LABELS = {
    MeasureTier.SUPPORTIVE.value: _l("supportive"),
    MeasureTier.PREVENTIVE.value: _l("preventive"),
    MeasureTier.COERCIVE.value: _l("coercive"),
    MeasureTier.NONE.value: _l("no measure"),
}
BECAUSE_LABELS = {
    "coercive": _l("coercive measure"),
    "no_victim_complaint": _l("no complaint from the victim"),
}
ANSWER_LABELS = {Answer.YES: _l("Yes"), Answer.NO: _l("No"), Answer.UNKNOWN: _l("Unknown")}


@bp.app_template_filter("duration")
def duration(delta: timedelta | None) -> str:
    """A short, rounded-down span: "2 d 5 h", "3 h 20 min", "12 min"."""
    if delta is None:
        return "—"
    minutes = int(abs(delta).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return str(_("%(d)s d %(h)s h", d=days, h=hours))
    if hours:
        return str(_("%(h)s h %(m)s min", h=hours, m=mins))
    return str(_("%(m)s min", m=mins))


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "LEVEL_LABELS": LEVEL_LABELS,
        "VERIFICATION_LABELS": VERIFICATION_LABELS,
        "DECISION_STATUS_LABELS": DECISION_STATUS_LABELS,
        "TIER_LABELS": TIER_LABELS,
        "BECAUSE_LABELS": BECAUSE_LABELS,
        "MEASURES": measures.MEASURES,
        "CaseOutcome": cases.CaseOutcome,
        "CorroborationMethod": CorroborationMethod,
        "DecisionStatus": DecisionStatus,
    }


def _me() -> User:
    user: User = current_user._get_current_object()
    return user


# -- forms -------------------------------------------------------------------------------------


class ActionForm(FlaskForm):  # type: ignore[misc]
    """A button: the CSRF token and, for edits, the version the page showed."""

    version = HiddenField()


class FilterForm(FlaskForm):  # type: ignore[misc]
    class Meta:
        csrf = False

    region = SelectField(
        _l("Region"),
        choices=lambda: [("", str(_l("All regions")))] + [(r.value, r.label) for r in Region],
        validators=[Optional()],
    )
    source = SelectField(
        _l("Source"),
        choices=lambda: [("", str(_l("Any source")))] + [(s.value, s.label) for s in SourceKind],
        validators=[Optional()],
    )
    level = SelectField(
        _l("Risk level"),
        choices=lambda: (
            [("", str(_l("Any level")))] + [(k, str(v)) for k, v in LEVEL_LABELS.items()]
        ),
        validators=[Optional()],
    )
    state = SelectField(
        _l("Verification"),
        choices=lambda: (
            [("", str(_l("Any state")))] + [(k, str(v)) for k, v in VERIFICATION_LABELS.items()]
        ),
        validators=[Optional()],
    )
    overdue = BooleanField(_l("Overdue only"))
    mine = BooleanField(_l("My cases"))
    unclaimed = BooleanField(_l("Unclaimed only"))
    closed = BooleanField(_l("Closed cases instead of open ones"))


class AssessmentBase(FlaskForm):  # type: ignore[misc]
    version = HiddenField()
    level = SelectField(
        _l("Level in force"),
        choices=lambda: (
            [("", str(_l("The computed level")))] + [(k, str(v)) for k, v in LEVEL_LABELS.items()]
        ),
        validators=[Optional()],
    )
    reason = TextAreaField(
        _l("Reason for a different level (professional judgement)"),
        validators=[Optional(), Length(max=5000)],
    )


_ASSESSMENT_FORMS: dict[int, type[AssessmentBase]] = {}


def _assessment_form_class(checklist: Checklist) -> type[AssessmentBase]:
    """One form class per checklist version, with a yes/no/unknown question per item."""
    if checklist.version not in _ASSESSMENT_FORMS:
        fields: dict[str, Any] = {
            f"item_{item.number}": RadioField(
                item.text,
                choices=[(a.value, ANSWER_LABELS[a]) for a in Answer],
                default=Answer.UNKNOWN.value,
            )
            for item in checklist.items
        }
        _ASSESSMENT_FORMS[checklist.version] = type(
            f"AssessmentFormV{checklist.version}", (AssessmentBase,), fields
        )
    return _ASSESSMENT_FORMS[checklist.version]


class VerifyForm(FlaskForm):  # type: ignore[misc]
    version = HiddenField()
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
            + [(m.value, m.label) for m in CorroborationMethod]
        ),
        validators=[Optional()],
    )
    note = TextAreaField(
        _l("Note (what was checked), or the reason the report is unfounded"),
        validators=[DataRequired(), Length(max=10000)],
    )


def _measure_choices() -> list[tuple[str, str]]:
    return [
        (m.code, f"{m.label} ({TIER_LABELS[m.tier.value]})") for m in measures.MEASURES.values()
    ]


class DecisionForm(FlaskForm):  # type: ignore[misc]
    version = HiddenField()
    measure = SelectField(_l("Measure"), choices=_measure_choices, validators=[DataRequired()])
    legal_basis = StringField(
        _l("Legal basis (law and article)"), validators=[Optional(), Length(max=200)]
    )
    rationale = TextAreaField(_l("Rationale"), validators=[DataRequired(), Length(max=10000)])
    starts_on = DateField(_l("Starts on"), validators=[Optional()])
    ends_on = DateField(_l("Ends on"), validators=[Optional()])
    follow_up_on = DateField(_l("Follow up on"), validators=[Optional()])
    against_victim_wishes = BooleanField(_l("This goes against the victim's recorded wishes"))
    wishes_reason = TextAreaField(
        _l("Why, against her wishes"), validators=[Optional(), Length(max=5000)]
    )


class NoteForm(FlaskForm):  # type: ignore[misc]
    text = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=10000)])


class CloseForm(FlaskForm):  # type: ignore[misc]
    version = HiddenField()
    outcome = SelectField(
        _l("Outcome"),
        choices=lambda: [(o.value, o.label) for o in cases.CLOSING_OUTCOMES],
        validators=[DataRequired()],
    )
    note = TextAreaField(_l("Closing note"), validators=[Optional(), Length(max=10000)])


class ReassignForm(FlaskForm):  # type: ignore[misc]
    to_user = SelectField(_l("Give the case to"), choices=[], validators=[Optional()])
    #: The holder and claim expiry the page showed: the reassignment is a compare-and-set on them.
    seen_holder = HiddenField()
    seen_expiry = HiddenField()


class MoveReportForm(FlaskForm):  # type: ignore[misc]
    version = HiddenField()
    target = HiddenField(validators=[DataRequired()])


def _seen_claim(form: ReassignForm) -> tuple[int | None, datetime | None] | None:
    """The claim the reassign page showed, or ``None`` when the form did not carry it."""
    holder, expiry = form.seen_holder.data, form.seen_expiry.data
    if holder is None and expiry is None:
        return None
    try:
        return (
            int(holder) if holder else None,
            datetime.fromisoformat(expiry) if expiry else None,
        )
    except ValueError:
        return None


class ReasonForm(FlaskForm):  # type: ignore[misc]
    version = HiddenField()
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=5000)])


class FollowUpForm(FlaskForm):  # type: ignore[misc]
    note = TextAreaField(
        _l("What was found or done"), validators=[DataRequired(), Length(max=10000)]
    )


def _version(form: Any) -> int | None:
    try:
        return int(form.version.data)
    except (TypeError, ValueError):
        return None


def _case_url(case: Case) -> str:
    return url_for("review.case_page", ref=case.code)


def _refused(exc: DomainError, back: str) -> Response:
    """A refused button press: nothing saved, the reason shown where the user was."""
    db.rollback_request()
    flash(exc.message, "error")
    return redirect(back)


def _form_page(
    template: str,
    form: Any,
    run: Callable[[], Any],
    done: Callable[[Any], Response],
    context: Callable[[], dict[str, Any]],
) -> Page:
    """GET shows the form; a valid POST runs the service and redirects; a refusal re-renders the
    form with the reason and the error's status, with nothing saved."""
    if form.validate_on_submit():
        try:
            result = run()
        except DomainError as exc:
            db.rollback_request()
            form.form_errors.append(exc.message)
            return render_template(template, form=form, **context()), int(exc.status)
        return done(result)
    return render_template(template, form=form, **context()), 400 if form.errors else 200


# -- the queue ---------------------------------------------------------------------------------


@bp.route("/")
@requires(Permission.CASE_READ)
def index() -> Page:
    session = db.session()
    me = _me()
    cases.triage_new_cases(session, rules=rules_of())
    form = FilterForm(request.args)
    if me.region:
        form.region.data = ""
    page = request.args.get("page", "1")
    filters = cases.QueueFilter(
        region=form.region.data or None if not me.region else None,
        source=form.source.data or None,
        level=form.level.data or None,
        verification=form.state.data or None,
        overdue=bool(form.overdue.data),
        mine=bool(form.mine.data),
        unclaimed=bool(form.unclaimed.data),
        closed=bool(form.closed.data),
        page=int(page) if page.isdigit() else 1,
    )
    if not form.validate():
        filters = cases.QueueFilter()
    listing = cases.queue(session, me, filters)
    due = followups.due(session, me, rules=rules_of())
    waiting = (
        len(decisions.awaiting_approval(session, me))
        + len(assessments.pending_overrides(session, me))
        if me.role == Role.SUPERVISOR.value
        else 0
    )
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "review/queue.html",
        form=form,
        listing=listing,
        due=due,
        waiting=waiting,
        take=ActionForm(),
        page_args=args,
    )


@bp.route("/take-next", methods=["POST"])
@requires(Permission.CASE_WORK)
def take_next() -> Response:
    form = ActionForm()
    if not form.validate_on_submit():
        return redirect(url_for("review.index"))
    session = db.session()
    cases.triage_new_cases(session, rules=rules_of())
    taken = claims.take_next(session, _me(), rules=rules_of())
    if taken is None:
        flash(_("There is no unclaimed open case in your scope."), "info")
        return redirect(url_for("review.index"))
    flash(_("You now hold case %(code)s.", code=taken.code), "info")
    return redirect(_case_url(taken))


# -- the case page and claims ------------------------------------------------------------------


@bp.route("/<ref>")
@requires(Permission.CASE_READ)
def case_page(ref: str) -> Page:
    session = db.session()
    me = _me()
    view = cases.case_view(session, me, ref)
    holds = (
        view.case.status == "open"
        and view.case.claimed_by == me.id
        and me.role in (Role.REVIEWER.value, Role.SUPERVISOR.value)
    )
    matches = linking.matches_for(session, me, [e.record for e in view.reports]) if holds else {}
    return render_template(
        "review/case.html",
        view=view,
        case=view.case,
        row=view.row,
        button=ActionForm(),
        can_decide=lambda d: decisions.can_decide(me, d),
        checklist=_checklist_for(view),
        matches=matches,
    )


def _checklist_for(view: cases.CaseView) -> Checklist | None:
    from ..scoring import load_checklist

    a = view.current_assessment
    return load_checklist(a.checklist_version) if a else None


@bp.route("/<ref>/claim", methods=["POST"])
@requires(Permission.CASE_WORK)
def claim(ref: str) -> Response:
    form = ActionForm()
    back = url_for("review.case_page", ref=ref)
    if form.validate_on_submit():
        try:
            found = claims.claim(db.session(), _me(), ref, rules=rules_of())
        except DomainError as exc:
            return _refused(exc, back)
        flash(_("You now hold case %(code)s.", code=found.code), "info")
    return redirect(back)


@bp.route("/<ref>/reports/<report_id>/move", methods=["POST"])
@requires(Permission.CASE_WORK)
def move_report(ref: str, report_id: str) -> Response:
    """Move a report into a probably matching case (the holder's decision)."""
    form = MoveReportForm()
    back = url_for("review.case_page", ref=ref)
    if not form.validate_on_submit():
        flash(_("Choose the case to move the report to."), "error")
        return redirect(back)
    try:
        target = linking.move_report(
            db.session(),
            _me(),
            ref,
            report_id,
            form.target.data,
            version=_version(form),
            rules=rules_of(),
        )
    except DomainError as exc:
        return _refused(exc, back)
    flash(_("The report is now part of case %(code)s.", code=target.code), "info")
    return redirect(back)


@bp.route("/<ref>/release", methods=["POST"])
@requires(Permission.CASE_WORK)
def release(ref: str) -> Response:
    form = ActionForm()
    back = url_for("review.case_page", ref=ref)
    if form.validate_on_submit():
        try:
            found = claims.release(db.session(), _me(), ref)
        except DomainError as exc:
            return _refused(exc, back)
        flash(_("You released case %(code)s.", code=found.code), "info")
    return redirect(back)


@bp.route("/<ref>/reassign", methods=["GET", "POST"])
@requires(Permission.CASE_REASSIGN)
def reassign(ref: str) -> Page:
    session = db.session()
    me = _me()
    found = cases.get_case(session, me, ref)
    form = ReassignForm()
    form.to_user.choices = [("", str(_l("Nobody (free the case)")))] + [
        (str(u.id), f"{u.username} ({u.role_enum.label})")
        for u in cases.eligible_holders(session, found)
    ]

    if request.method == "GET":
        form.seen_holder.data = str(found.claimed_by) if found.claimed_by else ""
        form.seen_expiry.data = found.claim_expires_at.isoformat() if found.claim_expires_at else ""

    def run() -> Case:
        target = int(form.to_user.data) if form.to_user.data else None
        return claims.reassign(
            session, me, found.id, target, expected=_seen_claim(form), rules=rules_of()
        )

    def done(result: Case) -> Response:
        flash(_("Case %(code)s reassigned.", code=result.code), "info")
        return redirect(_case_url(result))

    return _form_page(
        "review/action.html",
        form,
        run,
        done,
        lambda: _action_context(
            found,
            _("Reassign case %(code)s", code=found.code),
            _("Give the case to a reviewer or supervisor whose region covers it, or free it."),
            url_for("review.reassign", ref=found.code),
            _("Reassign"),
        ),
    )


def _action_context(
    found: Case, title: str, intro: str, action: str, submit: str
) -> dict[str, Any]:
    return {
        "case": found,
        "row": cases.row_of(db.session(), _me(), found),
        "title": title,
        "intro": intro,
        "action": action,
        "submit": submit,
    }


# -- assessment --------------------------------------------------------------------------------


@bp.route("/<ref>/assess", methods=["GET", "POST"])
@requires(Permission.CASE_WORK)
def assess(ref: str) -> Page:
    session = db.session()
    me = _me()
    found = cases.get_case(session, me, ref)
    checklist = assessments.current_checklist()
    form = _assessment_form_class(checklist)()
    if request.method == "GET":
        form.version.data = str(found.version)

    def run() -> Any:
        answers = {
            item.number: getattr(form, f"item_{item.number}").data for item in checklist.items
        }
        return assessments.record_assessment(
            session,
            me,
            found.id,
            version=_version(form),
            answers=answers,
            level=form.level.data or None,
            reason=form.reason.data,
            checklist=checklist,
            rules=rules_of(),
        )

    def done(result: Any) -> Response:
        if result.override_status == "pending":
            flash(
                _("Assessment recorded. Lowering a high level waits for a supervisor's approval."),
                "info",
            )
        else:
            flash(_("Assessment recorded."), "info")
        return redirect(_case_url(found))

    return _form_page(
        "review/assess.html",
        form,
        run,
        done,
        lambda: {
            "case": found,
            "row": cases.row_of(session, me, found),
            "checklist": checklist,
        },
    )


@bp.route("/assessments/<assessment_id>/approve", methods=["POST"])
@requires(Permission.DECISION_APPROVE)
def override_approve(assessment_id: str) -> Response:
    form = ActionForm()
    back = url_for("review.approvals")
    if form.validate_on_submit():
        try:
            assessments.decide_override(
                db.session(), _me(), assessment_id, approve=True, rules=rules_of()
            )
        except DomainError as exc:
            return _refused(exc, back)
        flash(_("The lower level is now in force."), "info")
    return redirect(back)


@bp.route("/assessments/<assessment_id>/reject", methods=["GET", "POST"])
@requires(Permission.DECISION_APPROVE)
def override_reject(assessment_id: str) -> Page:
    session = db.session()
    me = _me()
    pending = {a.id: c for a, c in assessments.pending_overrides(session, me)}
    found = pending.get(assessment_id)
    if found is None:
        from ..review.errors import AssessmentNotFound

        raise AssessmentNotFound("No lowering of a level waits for your decision here.")
    form = ReasonForm()

    def run() -> Any:
        return assessments.decide_override(
            session, me, assessment_id, approve=False, reason=form.reason.data, rules=rules_of()
        )

    def done(_result: Any) -> Response:
        flash(_("Lowering rejected; the case stays high."), "info")
        return redirect(url_for("review.approvals"))

    return _form_page(
        "review/action.html",
        form,
        run,
        done,
        lambda: _action_context(
            found,
            _("Reject lowering the level of %(code)s", code=found.code),
            _("The case stays high. Say why; the reviewer will read it on the case page."),
            url_for("review.override_reject", assessment_id=assessment_id),
            _("Reject"),
        ),
    )


# -- verification ------------------------------------------------------------------------------


@bp.route("/<ref>/verify", methods=["GET", "POST"])
@requires(Permission.CASE_WORK)
def verify(ref: str) -> Page:
    session = db.session()
    me = _me()
    found = cases.get_case(session, me, ref)
    form = VerifyForm()
    if request.method == "GET":
        form.version.data = str(found.version)

    def run() -> Any:
        return verification.record_verification(
            session,
            me,
            found.id,
            version=_version(form),
            outcome=form.outcome.data,
            method=form.method.data or None,
            note=form.note.data,
            rules=rules_of(),
        )

    def done(step: Any) -> Response:
        if step.outcome == VerificationOutcome.UNFOUNDED.value:
            flash(_("Recorded as unfounded; the case is closed."), "info")
        else:
            flash(_("Corroboration recorded."), "info")
        return redirect(_case_url(found))

    return _form_page(
        "review/action.html",
        form,
        run,
        done,
        lambda: _action_context(
            found,
            _("Verify case %(code)s", code=found.code),
            _(
                "Record how the reports were corroborated — a second independent source, a police "
                "check, contact with the victim, or medical or official records — or that they are "
                "unfounded (false, mistaken or malicious), which closes the case."
            ),
            url_for("review.verify", ref=found.code),
            _("Record"),
        ),
    )


# -- decisions ---------------------------------------------------------------------------------


@bp.route("/<ref>/decide", methods=["GET", "POST"])
@requires(Permission.DECISION_PROPOSE)
def decide(ref: str) -> Page:
    session = db.session()
    me = _me()
    found = cases.get_case(session, me, ref)
    form = DecisionForm()
    if request.method == "GET":
        form.version.data = str(found.version)
        chosen = request.args.get("measure")
        if chosen in measures.MEASURES:
            form.measure.data = chosen

    def run() -> Any:
        return decisions.propose(
            session,
            me,
            found.id,
            version=_version(form),
            measure=form.measure.data,
            rationale=form.rationale.data,
            legal_basis=form.legal_basis.data,
            starts_on=form.starts_on.data,
            ends_on=form.ends_on.data,
            follow_up_on=form.follow_up_on.data,
            against_victim_wishes=bool(form.against_victim_wishes.data),
            wishes_reason=form.wishes_reason.data,
            rules=rules_of(),
        )

    def done(decision: Any) -> Response:
        if decision.status == DecisionStatus.AWAITING_APPROVAL.value:
            flash(_("Proposed. It takes effect once a supervisor approves it."), "info")
        else:
            flash(_("Decision recorded; it is in effect."), "info")
        return redirect(_case_url(found))

    return _form_page(
        "review/decide.html",
        form,
        run,
        done,
        lambda: {
            "case": found,
            "row": cases.row_of(session, me, found),
            "options": decisions.options_for(found),
        },
    )


def _decision_back(decision_id: str) -> str:
    from ..models import Decision

    decision = db.session().get(Decision, decision_id)
    if decision is None:
        return url_for("review.index")
    found = db.session().get(Case, decision.case_id)
    return url_for("review.case_page", ref=found.code) if found else url_for("review.index")


@bp.route("/decisions/<decision_id>/approve", methods=["POST"])
@requires(Permission.DECISION_APPROVE)
def decision_approve(decision_id: str) -> Response:
    form = ActionForm()
    back = _decision_back(decision_id)
    if form.validate_on_submit():
        try:
            decisions.approve(db.session(), _me(), decision_id, version=_version(form))
        except DomainError as exc:
            return _refused(exc, back)
        flash(_("Approved; the measure is in effect."), "info")
    return redirect(back)


@bp.route("/decisions/<decision_id>/reject", methods=["GET", "POST"])
@requires(Permission.DECISION_APPROVE)
def decision_reject(decision_id: str) -> Page:
    session = db.session()
    me = _me()
    items = {i.decision.id: i for i in decisions.awaiting_approval(session, me)}
    item = items.get(decision_id)
    if item is None:
        from ..review.errors import DecisionNotFound

        raise DecisionNotFound("No proposal waits for your decision here.")
    form = ReasonForm()
    if request.method == "GET":
        form.version.data = str(item.decision.version)

    def run() -> Any:
        return decisions.reject(
            session, me, decision_id, version=_version(form), reason=form.reason.data
        )

    def done(_result: Any) -> Response:
        flash(_("Proposal rejected."), "info")
        return redirect(_case_url(item.case))

    return _form_page(
        "review/action.html",
        form,
        run,
        done,
        lambda: _action_context(
            item.case,
            _("Reject a proposed measure on %(code)s", code=item.case.code),
            _("Say why; the reviewer reads it on the case page. The measure will not take effect."),
            url_for("review.decision_reject", decision_id=decision_id),
            _("Reject"),
        ),
    )


@bp.route("/decisions/<decision_id>/withdraw", methods=["POST"])
@requires(Permission.DECISION_PROPOSE)
def decision_withdraw(decision_id: str) -> Response:
    form = ActionForm()
    back = _decision_back(decision_id)
    if form.validate_on_submit():
        try:
            decisions.withdraw(db.session(), _me(), decision_id, version=_version(form))
        except DomainError as exc:
            return _refused(exc, back)
        flash(_("Proposal withdrawn."), "info")
    return redirect(back)


@bp.route("/decisions/<decision_id>/follow-up", methods=["GET", "POST"])
@requires(Permission.CASE_WORK)
def follow_up(decision_id: str) -> Page:
    from ..models import Decision
    from ..review.errors import DecisionNotFound

    session = db.session()
    me = _me()
    decision = session.get(Decision, decision_id)
    if decision is None:
        raise DecisionNotFound()
    found = cases.get_case(session, me, decision.case_id)
    form = FollowUpForm()

    def run() -> Any:
        return followups.record_follow_up(
            session, me, decision_id, note=form.note.data, rules=rules_of()
        )

    def done(_result: Any) -> Response:
        flash(_("Follow-up recorded."), "info")
        return redirect(_case_url(found))

    measure = measures.MEASURES.get(decision.measure)
    return _form_page(
        "review/action.html",
        form,
        run,
        done,
        lambda: _action_context(
            found,
            _("Follow up a measure on %(code)s", code=found.code),
            _(
                "%(measure)s ends on %(end)s. Record what was found or done; to renew it, "
                "propose it again.",
                measure=measure.label if measure else decision.measure,
                end=decision.ends_on.isoformat() if decision.ends_on else "—",
            ),
            url_for("review.follow_up", decision_id=decision_id),
            _("Record follow-up"),
        ),
    )


@bp.route("/approvals")
@requires(Permission.DECISION_APPROVE)
def approvals() -> Page:
    session = db.session()
    me = _me()
    return render_template(
        "review/approvals.html",
        items=decisions.awaiting_approval(session, me),
        overrides=assessments.pending_overrides(session, me),
        names=cases.user_names(session),
        button=ActionForm(),
        now=cases.utcnow(),
    )


# -- notes and closing -------------------------------------------------------------------------


@bp.route("/<ref>/note", methods=["GET", "POST"])
@requires(Permission.CASE_WORK)
def note(ref: str) -> Page:
    session = db.session()
    me = _me()
    found = cases.get_case(session, me, ref)
    form = NoteForm()

    def run() -> Any:
        return cases.add_note(session, me, found.id, form.text.data, rules=rules_of())

    def done(_result: Any) -> Response:
        flash(_("Note added."), "info")
        return redirect(_case_url(found))

    return _form_page(
        "review/action.html",
        form,
        run,
        done,
        lambda: _action_context(
            found,
            _("Add a note to %(code)s", code=found.code),
            _("Notes are sealed and shown only on the case page."),
            url_for("review.note", ref=found.code),
            _("Add note"),
        ),
    )


@bp.route("/<ref>/close", methods=["GET", "POST"])
@requires(Permission.CASE_WORK)
def close(ref: str) -> Page:
    session = db.session()
    me = _me()
    found = cases.get_case(session, me, ref)
    form = CloseForm()
    if request.method == "GET":
        form.version.data = str(found.version)

    def run() -> Any:
        return cases.close_case(
            session,
            me,
            found.id,
            version=_version(form),
            outcome=form.outcome.data,
            note=form.note.data,
            rules=rules_of(),
        )

    def done(_result: Any) -> Response:
        flash(_("Case %(code)s closed.", code=found.code), "info")
        return redirect(_case_url(found))

    return _form_page(
        "review/action.html",
        form,
        run,
        done,
        lambda: _action_context(
            found,
            _("Close case %(code)s", code=found.code),
            _(
                "Measures in effect stay in effect; proposals waiting for approval must be "
                "decided or withdrawn first."
            ),
            url_for("review.close", ref=found.code),
            _("Close case"),
        ),
    )
