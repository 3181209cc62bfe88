"""The reviewer's pages: the queue (dashboard), the case page with its timeline, the forms that
assess, verify, decide, note and close, claims, and the supervisor's approvals queue.

Views parse and render only; ``triage.review`` holds the rules, the scope checks and the audit
events, and ``triage.web.forms.review`` the forms. Every route reads the same way: parse the
form, run the service in one unit of work (``with unit_of_work().begin() as db:``), then
redirect or render. A refusal — a ``DomainError`` raised in the block — has rolled the block
back by the time the view sees it: a button's refusal is flashed on the page it came from
(``flash_refusal``), a form's is shown above the form again (``_show``), never with a person's
data. Pages that only read run in ``unit_of_work().read()``; the case page decrypts, and every
decryption is an audit event, so it runs in ``begin()``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from ... import documents, handover, measures
from ...errors import N_, DomainError
from ...models import Case, CorroborationMethod, Decision, User, VerificationOutcome
from ...permissions import Permission
from ...review import (
    assessments,
    case_queue,
    cases,
    claims,
    decisions,
    followups,
    linking,
    verification,
)
from ...review.case_page import case_view
from ...scoring import load_checklist
from ...vocab import DecisionStatus, Role
from ..deps import rules, unit_of_work
from ..errors import flash_refusal, message_of
from ..forms.review import (
    ActionForm,
    CloseForm,
    DecisionForm,
    FilterForm,
    FollowUpForm,
    MoveReportForm,
    NoteForm,
    ReasonForm,
    ReassignForm,
    VerifyForm,
    assessment_form,
)
from ..gate import me, requires
from ..i18n import current_language
from ..labels import ANSWER as ANSWER_LABELS
from ..labels import BECAUSE as BECAUSE_LABELS
from ..labels import DECISION_STATUS as DECISION_STATUS_LABELS
from ..labels import LEVEL as LEVEL_LABELS
from ..labels import TIER as TIER_LABELS
from ..labels import VERIFICATION as VERIFICATION_LABELS
from ..labels import label_of, show_date

bp = Blueprint("review", __name__, url_prefix="/cases")

Page = Response | str | tuple[str, int]


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


# -- how the forms are shown -------------------------------------------------------------------

#: What a form page shows, found in a read-only block: the record the form edits (its version
#: goes into the form on GET; ``None`` when the form edits none) and the case it belongs to.
Find = Callable[[Session, User], tuple[Any, Case]]


@dataclass(frozen=True)
class FormPage:
    """One of the review forms as a page: the endpoint it posts to, its template and, for the
    generic action page, its title, introduction and button — marked messages translated when
    shown, with ``%(code)s`` the case code and further placeholders from ``params``."""

    endpoint: str
    template: str = "review/action.html"
    title: str = ""
    intro: str = ""
    submit: str = ""
    #: Placeholders of ``intro`` beyond the case code, from the record and its case.
    params: Callable[[Any, Case], Mapping[str, object]] | None = None
    #: More for the template, from the record and its case.
    context: Callable[[Any, Case], Mapping[str, object]] | None = None


def _follow_up_params(decision: Decision, _case: Case) -> dict[str, object]:
    return {
        "measure": label_of("measure", decision.measure),
        "end": show_date(decision.ends_on) if decision.ends_on else "—",
    }


#: The action table: every form page of the review, by endpoint.
PAGES = {
    page.endpoint: page
    for page in (
        FormPage(
            "review.reassign",
            title=N_("Reassign case %(code)s"),
            intro=N_(
                "Give the case to a reviewer or supervisor whose region covers it, or free it."
            ),
            submit=N_("Reassign"),
        ),
        FormPage(
            "review.assess",
            "review/assess.html",
            context=lambda _shown, _case: {"checklist": assessments.current_checklist()},
        ),
        FormPage(
            "review.override_reject",
            title=N_("Reject lowering the level of %(code)s"),
            intro=N_("The case stays high. Say why; the reviewer will read it on the case page."),
            submit=N_("Reject"),
        ),
        FormPage(
            "review.verify",
            title=N_("Verify case %(code)s"),
            intro=N_(
                "Record how the reports were corroborated — a second independent source, a police "
                "check, contact with the victim, or medical or official records — or that they are "
                "unfounded (false, mistaken or malicious), which closes the case."
            ),
            submit=N_("Record"),
        ),
        FormPage(
            "review.decide",
            "review/decide.html",
            context=lambda _shown, found: {"options": decisions.options_for(found)},
        ),
        FormPage(
            "review.decision_reject",
            title=N_("Reject a proposed measure on %(code)s"),
            intro=N_(
                "Say why; the reviewer reads it on the case page. The measure will not take effect."
            ),
            submit=N_("Reject"),
        ),
        FormPage(
            "review.follow_up",
            title=N_("Follow up a measure on %(code)s"),
            intro=N_(
                "%(measure)s ends on %(end)s. Record what was found or done; to renew it, "
                "propose it again."
            ),
            submit=N_("Record follow-up"),
            params=_follow_up_params,
        ),
        FormPage(
            "review.note",
            title=N_("Add a note to %(code)s"),
            intro=N_("Notes are sealed and shown only on the case page."),
            submit=N_("Add note"),
        ),
        FormPage(
            "review.close",
            title=N_("Close case %(code)s"),
            intro=N_(
                "Measures in effect stay in effect; proposals waiting for approval must be "
                "decided or withdrawn first."
            ),
            submit=N_("Close case"),
        ),
    )
}


def _show(
    form: Any, find: Find, *, refused: DomainError | None = None, **url_args: Any
) -> tuple[str, int]:
    """The form page of the current endpoint (``PAGES``), read in a block that cannot write: on
    GET, with the version of the record it edits; after an invalid POST, with the field errors
    (400); after a refusal, whose block has already rolled back, with the refusal's message
    above the form and its status."""
    page = PAGES[str(request.endpoint)]
    status = 400 if form.errors else 200
    if refused is not None:
        form.form_errors.append(message_of(refused))
        status = int(refused.status)
    with unit_of_work().read() as db:
        user = me()
        shown, found = find(db, user)
        if request.method == "GET" and shown is not None:
            form.prefill(shown)
        params = {"code": found.code, **(page.params(shown, found) if page.params else {})}
        return render_template(
            page.template,
            form=form,
            case=found,
            row=case_queue.row_of(db, user, found),
            title=_(page.title, **params) if page.title else "",
            intro=_(page.intro, **params) if page.intro else "",
            submit=_(page.submit) if page.submit else "",
            action=url_for(page.endpoint, **url_args),
            **(page.context(shown, found) if page.context else {}),
        ), status


def _the_case(ref: str) -> Find:
    """The case ``ref`` in the user's scope; the form edits the case itself."""

    def find(db: Session, user: User) -> tuple[Case, Case]:
        found = cases.get_case(db, user, ref)
        return found, found

    return find


def _the_case_to_decide(ref: str, form: DecisionForm) -> Find:
    """The case ``ref``, whose refused measures the decision form shows as unavailable."""

    def find(db: Session, user: User) -> tuple[Case, Case]:
        found = cases.get_case(db, user, ref)
        form.unavailable(decisions.options_for(found))
        return found, found

    return find


def _case_url(ref: str) -> str:
    return url_for("review.case_page", ref=ref)


# -- the queue ---------------------------------------------------------------------------------


@bp.route("/")
@requires(Permission.CASE_READ)
def index() -> Page:
    """The queue. It only reads: cases are triaged where they are opened (intake)."""
    user = me()
    form = FilterForm(request.args).offer(LEVEL_LABELS, VERIFICATION_LABELS)
    filters = form.filters(user, request.args.get("page"))
    with unit_of_work().read() as db:
        listing = case_queue.queue(db, user, filters)
        due = followups.due(db, user, rules=rules())
        waiting = (
            len(decisions.awaiting_approval(db, user))
            + len(assessments.pending_overrides(db, user))
            if user.role == Role.SUPERVISOR.value
            else 0
        )
        return render_template(
            "review/queue.html",
            form=form,
            listing=listing,
            due=due,
            waiting=waiting,
            take=ActionForm(),
            page_args={k: v for k, v in request.args.items() if k != "page"},
        )


@bp.route("/take-next", methods=["POST"])
@requires(Permission.CASE_WORK)
def take_next() -> Response:
    if not ActionForm().validate_on_submit():
        return redirect(url_for("review.index"))
    with unit_of_work().begin() as db:
        taken = claims.take_next(db, me(), rules=rules())
    if taken is None:
        flash(_("There is no unclaimed open case in your scope."), "info")
        return redirect(url_for("review.index"))
    flash(_("You now hold case %(code)s.", code=taken.code), "info")
    return redirect(_case_url(taken.code))


# -- the case page and claims ------------------------------------------------------------------


@bp.route("/<ref>")
@requires(Permission.CASE_READ)
def case_page(ref: str) -> Page:
    """The case and its timeline, decrypted for the reader. Each decryption is an audit event
    written in the block, so the page is rendered only once they are committed (and outside the
    block, which holds SQLite's write lock)."""
    user = me()
    with unit_of_work().begin() as db:
        view = case_view(db, user, ref)
        holds = claims.holds(user, view.case)
        reports = [e.record for e in view.reports]
        matches = linking.matches_for(db, user, reports) if holds else {}
        outcomes = handover.case_outcomes(
            db, user, view.case, [(e.record, e.payload) for e in view.reports]
        )
    current = view.current_assessment
    return render_template(
        "review/case.html",
        view=view,
        case=view.case,
        row=view.row,
        holds=holds,  # what the holder alone may do (claims.holds)
        button=ActionForm(),
        can_decide=lambda d: decisions.can_decide(user, d),
        checklist=load_checklist(current.checklist_version) if current else None,
        matches=matches,
        outcomes=outcomes,
        document_for=documents.document_for_measure,
    )


@bp.route("/<ref>/claim", methods=["POST"])
@requires(Permission.CASE_WORK)
def claim(ref: str) -> Response:
    if ActionForm().validate_on_submit():
        try:
            with unit_of_work().begin() as db:
                found = claims.claim(db, me(), ref, rules=rules())
        except DomainError as exc:
            flash_refusal(exc)
        else:
            flash(_("You now hold case %(code)s.", code=found.code), "info")
    return redirect(_case_url(ref))


@bp.route("/<ref>/reports/<report_id>/move", methods=["POST"])
@requires(Permission.CASE_WORK)
def move_report(ref: str, report_id: str) -> Response:
    """Move a report into a probably matching case (the holder's decision)."""
    form = MoveReportForm()
    if not form.validate_on_submit():
        flash(_("Choose the case to move the report to."), "error")
        return redirect(_case_url(ref))
    try:
        with unit_of_work().begin() as db:
            target = linking.move_report(
                db,
                me(),
                ref,
                report_id,
                form.target.data,
                version=form.edited_version(),
                rules=rules(),
            )
    except DomainError as exc:
        flash_refusal(exc)
    else:
        flash(_("The report is now part of case %(code)s.", code=target.code), "info")
    return redirect(_case_url(ref))


@bp.route("/<ref>/release", methods=["POST"])
@requires(Permission.CASE_WORK)
def release(ref: str) -> Response:
    if ActionForm().validate_on_submit():
        try:
            with unit_of_work().begin() as db:
                found = claims.release(db, me(), ref)
        except DomainError as exc:
            flash_refusal(exc)
        else:
            flash(_("You released case %(code)s.", code=found.code), "info")
    return redirect(_case_url(ref))


@bp.route("/<ref>/reassign", methods=["GET", "POST"])
@requires(Permission.CASE_REASSIGN)
def reassign(ref: str) -> Page:
    with unit_of_work().read() as db:
        holders = cases.eligible_holders(db, cases.get_case(db, me(), ref))
    form = ReassignForm().offer(holders)
    if not form.validate_on_submit():
        return _show(form, _the_case(ref), ref=ref)
    try:
        with unit_of_work().begin() as db:
            found = claims.reassign(
                db, me(), ref, form.target(), expected=form.seen_claim(), rules=rules()
            )
    except DomainError as exc:
        return _show(form, _the_case(ref), refused=exc, ref=ref)
    flash(_("Case %(code)s reassigned.", code=found.code), "info")
    return redirect(_case_url(found.code))


# -- assessment --------------------------------------------------------------------------------


@bp.route("/<ref>/assess", methods=["GET", "POST"])
@requires(Permission.CASE_WORK)
def assess(ref: str) -> Page:
    checklist = assessments.current_checklist()
    form = assessment_form(checklist, answers=ANSWER_LABELS, levels=LEVEL_LABELS)
    if not form.validate_on_submit():
        return _show(form, _the_case(ref), ref=ref)
    try:
        with unit_of_work().begin() as db:
            recorded = assessments.record_assessment(
                db,
                me(),
                ref,
                version=form.edited_version(),
                answers=form.answers(),
                level=form.level.data or None,
                reason=form.reason.data,
                checklist=checklist,
                rules=rules(),
            )
    except DomainError as exc:
        return _show(form, _the_case(ref), refused=exc, ref=ref)
    if recorded.override_status == "pending":
        flash(
            _("Assessment recorded. Lowering a high level waits for a supervisor's approval."),
            "info",
        )
    elif recorded.kept_level:
        flash(
            _(
                "Assessment recorded. It is incomplete (more items unknown than answered), so it "
                "lowers no level: the case keeps its level and its deadline."
            ),
            "info",
        )
    elif recorded.incomplete:
        flash(_("Assessment recorded. It is incomplete: more items unknown than answered."), "info")
    else:
        flash(_("Assessment recorded."), "info")
    return redirect(_case_url(ref))


@bp.route("/assessments/<assessment_id>/approve", methods=["POST"])
@requires(Permission.DECISION_APPROVE)
def override_approve(assessment_id: str) -> Response:
    if ActionForm().validate_on_submit():
        try:
            with unit_of_work().begin() as db:
                assessments.decide_override(db, me(), assessment_id, approve=True, rules=rules())
        except DomainError as exc:
            flash_refusal(exc)
        else:
            flash(_("The lower level is now in force."), "info")
    return redirect(url_for("review.approvals"))


@bp.route("/assessments/<assessment_id>/reject", methods=["GET", "POST"])
@requires(Permission.DECISION_APPROVE)
def override_reject(assessment_id: str) -> Page:
    def find(db: Session, user: User) -> tuple[None, Case]:
        return None, assessments.pending_for(db, user, assessment_id)[1]

    form = ReasonForm()
    if not form.validate_on_submit():
        return _show(form, find, assessment_id=assessment_id)
    try:
        with unit_of_work().begin() as db:
            assessments.decide_override(
                db, me(), assessment_id, approve=False, reason=form.reason.data, rules=rules()
            )
    except DomainError as exc:
        return _show(form, find, refused=exc, assessment_id=assessment_id)
    flash(_("Lowering rejected; the case stays high."), "info")
    return redirect(url_for("review.approvals"))


# -- verification ------------------------------------------------------------------------------


@bp.route("/<ref>/verify", methods=["GET", "POST"])
@requires(Permission.CASE_WORK)
def verify(ref: str) -> Page:
    form = VerifyForm()
    if not form.validate_on_submit():
        return _show(form, _the_case(ref), ref=ref)
    try:
        with unit_of_work().begin() as db:
            step = verification.record_verification(
                db,
                me(),
                ref,
                version=form.edited_version(),
                outcome=form.outcome.data,
                method=form.method.data or None,
                note=form.note.data,
                rules=rules(),
            )
    except DomainError as exc:
        return _show(form, _the_case(ref), refused=exc, ref=ref)
    if step.outcome == VerificationOutcome.UNFOUNDED.value:
        flash(_("Recorded as unfounded; the case is closed."), "info")
    else:
        flash(_("Corroboration recorded."), "info")
    return redirect(_case_url(ref))


# -- decisions ---------------------------------------------------------------------------------


@bp.route("/<ref>/decide", methods=["GET", "POST"])
@requires(Permission.DECISION_PROPOSE)
def decide(ref: str) -> Page:
    chosen = request.form.get("measure") or request.args.get("measure")
    form = DecisionForm().offer(TIER_LABELS, rules().legal, current_language(), chosen=chosen)
    if not form.validate_on_submit():
        return _show(form, _the_case_to_decide(ref, form), ref=ref)
    try:
        with unit_of_work().begin() as db:
            decision = decisions.propose(
                db,
                me(),
                ref,
                version=form.edited_version(),
                measure=form.measure.data,
                rationale=form.rationale.data,
                grounds=form.grounds.data or (),
                legal_basis=form.legal_basis.data,
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data,
                follow_up_on=form.follow_up_on.data,
                against_victim_wishes=bool(form.against_victim_wishes.data),
                wishes_reason=form.wishes_reason.data,
                rules=rules(),
            )
    except DomainError as exc:
        return _show(form, _the_case_to_decide(ref, form), refused=exc, ref=ref)
    if decision.status == DecisionStatus.AWAITING_APPROVAL.value:
        flash(_("Proposed. It takes effect once a supervisor approves it."), "info")
    else:
        flash(_("Decision recorded; it is in effect."), "info")
    return redirect(_case_url(ref))


def _decision_back(decision_id: str) -> str:
    """The case page of the decision, if the user may see it; the queue otherwise."""
    try:
        with unit_of_work().read() as db:
            _decision, found = decisions.get_for(db, me(), decision_id)
    except DomainError:
        return url_for("review.index")
    return _case_url(found.code)


@bp.route("/decisions/<decision_id>/approve", methods=["POST"])
@requires(Permission.DECISION_APPROVE)
def decision_approve(decision_id: str) -> Response:
    form = ActionForm()
    if form.validate_on_submit():
        try:
            with unit_of_work().begin() as db:
                decisions.approve(db, me(), decision_id, version=form.edited_version())
        except DomainError as exc:
            flash_refusal(exc)
        else:
            flash(_("Approved; the measure is in effect."), "info")
    return redirect(_decision_back(decision_id))


@bp.route("/decisions/<decision_id>/reject", methods=["GET", "POST"])
@requires(Permission.DECISION_APPROVE)
def decision_reject(decision_id: str) -> Page:
    def find(db: Session, user: User) -> tuple[Decision, Case]:
        return decisions.awaiting_for(db, user, decision_id)

    form = ReasonForm()
    if not form.validate_on_submit():
        return _show(form, find, decision_id=decision_id)
    try:
        with unit_of_work().begin() as db:
            decisions.reject(
                db, me(), decision_id, version=form.edited_version(), reason=form.reason.data
            )
    except DomainError as exc:
        return _show(form, find, refused=exc, decision_id=decision_id)
    flash(_("Proposal rejected."), "info")
    return redirect(_decision_back(decision_id))


@bp.route("/decisions/<decision_id>/withdraw", methods=["POST"])
@requires(Permission.DECISION_PROPOSE)
def decision_withdraw(decision_id: str) -> Response:
    form = ActionForm()
    if form.validate_on_submit():
        try:
            with unit_of_work().begin() as db:
                decisions.withdraw(db, me(), decision_id, version=form.edited_version())
        except DomainError as exc:
            flash_refusal(exc)
        else:
            flash(_("Proposal withdrawn."), "info")
    return redirect(_decision_back(decision_id))


@bp.route("/decisions/<decision_id>/follow-up", methods=["GET", "POST"])
@requires(Permission.CASE_WORK)
def follow_up(decision_id: str) -> Page:
    def find(db: Session, user: User) -> tuple[Decision, Case]:
        return decisions.get_for(db, user, decision_id)

    form = FollowUpForm()
    if not form.validate_on_submit():
        return _show(form, find, decision_id=decision_id)
    try:
        with unit_of_work().begin() as db:
            followups.record_follow_up(db, me(), decision_id, note=form.note.data, rules=rules())
    except DomainError as exc:
        return _show(form, find, refused=exc, decision_id=decision_id)
    flash(_("Follow-up recorded."), "info")
    return redirect(_decision_back(decision_id))


@bp.route("/approvals")
@requires(Permission.DECISION_APPROVE)
def approvals() -> Page:
    user = me()
    with unit_of_work().read() as db:
        return render_template(
            "review/approvals.html",
            items=decisions.awaiting_approval(db, user),
            overrides=assessments.pending_overrides(db, user),
            handovers=handover.awaiting(db, user),
            names=cases.user_names(db),
            button=ActionForm(),
            now=cases.utcnow(),
        )


# -- notes and closing -------------------------------------------------------------------------


@bp.route("/<ref>/note", methods=["GET", "POST"])
@requires(Permission.CASE_WORK)
def note(ref: str) -> Page:
    form = NoteForm()
    if not form.validate_on_submit():
        return _show(form, _the_case(ref), ref=ref)
    try:
        with unit_of_work().begin() as db:
            cases.add_note(db, me(), ref, form.text.data, rules=rules())
    except DomainError as exc:
        return _show(form, _the_case(ref), refused=exc, ref=ref)
    flash(_("Note added."), "info")
    return redirect(_case_url(ref))


@bp.route("/<ref>/close", methods=["GET", "POST"])
@requires(Permission.CASE_WORK)
def close(ref: str) -> Page:
    form = CloseForm()
    if not form.validate_on_submit():
        return _show(form, _the_case(ref), ref=ref)
    try:
        with unit_of_work().begin() as db:
            found = cases.close_case(
                db,
                me(),
                ref,
                version=form.edited_version(),
                outcome=form.outcome.data,
                note=form.note.data,
                rules=rules(),
            )
    except DomainError as exc:
        return _show(form, _the_case(ref), refused=exc, ref=ref)
    flash(_("Case %(code)s closed.", code=found.code), "info")
    return redirect(_case_url(found.code))
