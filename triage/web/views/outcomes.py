"""What leaves triage, as pages: a decision's document (issued as PDF, downloaded, checked), the
victim's consent, and hand-overs of a case to a recipient (requested, approved by a supervisor
when her consent is missing, their PDF and JSON downloaded).

A document is drawn here (``templates/documents/document.html`` in the document's language,
WeasyPrint via ``web.pdf``) inside the block that gathered its facts and records it, so what
is audited as issued is exactly what was drawn, and a refusal or a failure leaves nothing behind.
"""

from __future__ import annotations

import re

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from ... import documents, handover
from ...documents import Facts
from ...errors import DomainError
from ...models import DocumentFormat, HandoverStatus
from ...permissions import Permission
from ...review import cases, decisions
from ...review import consent as victim_consent
from ..deps import rules, unit_of_work
from ..errors import flash_refusal, message_of
from ..forms.outcomes import (
    CheckDocumentForm,
    ConsentForm,
    HandoverForm,
    HandoverRejectForm,
    IssueDocumentForm,
)
from ..forms.review import ActionForm
from ..gate import me, requires
from ..i18n import current_language
from ..pdf import pdf_of
from .review import Page

bp = Blueprint("outcomes", __name__)


def _draw(facts: Facts) -> bytes:
    """The PDF of ``facts``, its words in the document's language."""
    with force_locale(facts.language):
        html = render_template("documents/document.html", facts=facts)
    return pdf_of(html)


def _case_url(code: str, anchor: str = "outcomes") -> str:
    return url_for("review.case_page", ref=code) + f"#{anchor}"


# -- a decision's document ----------------------------------------------------------------------


@bp.route("/cases/decisions/<decision_id>/document", methods=["GET", "POST"])
@requires(Permission.DOCUMENT_ISSUE)
def issue_document(decision_id: str) -> Page:
    form = IssueDocumentForm()
    if request.method == "GET":
        form.language.data = current_language()
    refused: DomainError | None = None
    if form.validate_on_submit():
        try:
            with unit_of_work().begin() as db:
                facts = documents.prepare_for_decision(
                    db, me(), decision_id, language=form.language.data, legal=rules().legal
                )
                doc = documents.issue(db, me(), facts, _draw(facts))
        except DomainError as exc:
            refused = exc
        else:
            flash(_("The document was issued; its SHA-256 is in the audit log."), "info")
            return redirect(url_for("outcomes.document_page", document_id=doc.id))
    try:
        with unit_of_work().read() as db:
            decision, found = decisions.get_for(db, me(), decision_id)
            spec = documents.document_for_measure(decision.measure)
            code = found.code
    except DomainError as exc:
        return render_template("error.html", message=message_of(exc)), int(exc.status)
    if refused is not None:
        form.form_errors.append(message_of(refused))
    status = int(refused.status) if refused is not None else (400 if form.errors else 200)
    return render_template(
        "outcomes/issue.html", form=form, decision=decision, spec=spec, code=code
    ), status


@bp.route("/documents/<document_id>")
@requires(Permission.DOCUMENT_ISSUE)
def document_page(document_id: str) -> Page:
    """An issued document's facts (no personal data) and its download link."""
    try:
        with unit_of_work().read() as db:
            doc, found = documents.get_document(db, me(), document_id)
            names = cases.user_names(db)
    except DomainError as exc:
        return render_template("error.html", message=message_of(exc)), int(exc.status)
    return render_template(
        "outcomes/document.html", doc=doc, code=found.code, issued_by=names.get(doc.issued_by)
    )


_SAFE_NAME = re.compile(r"[^A-Za-z0-9-]+")


@bp.route("/documents/<document_id>/download")
@requires(Permission.DOCUMENT_ISSUE)
def download(document_id: str) -> Page:
    """The exact bytes issued; every download is an audited read."""
    try:
        with unit_of_work().begin() as db:
            doc, data = documents.download(db, me(), document_id)
            code = cases.get_case(db, me(), doc.case_id).code
    except DomainError as exc:
        return render_template("error.html", message=message_of(exc)), int(exc.status)
    name = _SAFE_NAME.sub("-", f"{code}-{doc.kind}-{doc.id[:8]}")
    mimetype = "application/pdf" if doc.format == DocumentFormat.PDF.value else "application/json"
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{doc.format}"'
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/documents/check", methods=["GET", "POST"])
@requires(Permission.DOCUMENT_CHECK)
def check() -> Page:
    """Whether a file is, byte for byte, a document triage issued."""
    form = CheckDocumentForm()
    result = None
    checked = False
    if form.validate_on_submit():
        data = form.file.data.read()
        with unit_of_work().begin() as db:
            result = documents.check(db, me(), data)
        checked = True
    status = 400 if form.errors else 200
    return render_template("outcomes/check.html", form=form, result=result, checked=checked), status


# -- her consent ----------------------------------------------------------------------------------


@bp.route("/cases/<ref>/consent", methods=["GET", "POST"])
@requires(Permission.HANDOVER_REQUEST)
def consent_page(ref: str) -> Page:
    form = ConsentForm().offer()
    refused: DomainError | None = None
    if request.method == "GET" and request.args.get("kind"):
        form.recipient_kind.data = request.args["kind"]
    if form.validate_on_submit():
        try:
            with unit_of_work().begin() as db:
                victim_consent.record(
                    db,
                    me(),
                    ref,
                    kind=form.recipient_kind.data,
                    answer=form.answer.data,
                    method=form.method.data,
                    note=form.note.data,
                    rules=rules(),
                )
        except DomainError as exc:
            refused = exc
        else:
            flash(_("Her answer is recorded."), "info")
            return redirect(_case_url(ref))
    return _case_form("outcomes/consent.html", form, ref, refused)


def _case_form(template: str, form: object, ref: str, refused: DomainError | None) -> Page:
    errors = getattr(form, "errors", {})
    if refused is not None:
        form.form_errors.append(message_of(refused))  # type: ignore[attr-defined]
    try:
        with unit_of_work().read() as db:
            found = cases.get_case(db, me(), ref)
            code, region = found.code, found.region
    except DomainError as exc:
        return render_template("error.html", message=message_of(exc)), int(exc.status)
    status = int(refused.status) if refused is not None else (400 if errors else 200)
    return render_template(
        template, form=form, code=code, region=region, receives=handover.RECEIVES
    ), status


# -- hand-overs -----------------------------------------------------------------------------------


@bp.route("/cases/<ref>/handover", methods=["GET", "POST"])
@requires(Permission.HANDOVER_REQUEST)
def handover_page(ref: str) -> Page:
    directory = rules().recipients
    try:
        with unit_of_work().read() as db:
            region = cases.get_case(db, me(), ref).region
    except DomainError as exc:
        return render_template("error.html", message=message_of(exc)), int(exc.status)
    form = HandoverForm().offer(directory.offered_for(region), current_language())
    if request.method == "GET":
        form.language.data = current_language()
    refused: DomainError | None = None
    if form.validate_on_submit():
        try:
            with unit_of_work().begin() as db:
                made = handover.request(
                    db,
                    me(),
                    ref,
                    recipient=form.recipient.data,
                    language=form.language.data,
                    reason=form.reason.data,
                    directory=directory,
                )
                if made.status == HandoverStatus.ISSUED.value:
                    facts = handover.facts_of(
                        db, me(), made, legal=rules().legal, directory=directory
                    )
                    handover.complete(db, me(), made, facts, _draw(facts))
        except DomainError as exc:
            refused = exc
        else:
            if made.status == HandoverStatus.ISSUED.value:
                flash(_("Handed over with her consent: download the files below."), "info")
            else:
                flash(
                    _("Asked for; a supervisor must approve it, as her consent is missing."), "info"
                )
            return redirect(_case_url(ref))
    return _case_form("outcomes/handover.html", form, ref, refused)


def _back(handover_id: str) -> str:
    try:
        with unit_of_work().read() as db:
            _h, found = handover.get_for(db, me(), handover_id)
    except DomainError:
        return url_for("review.approvals")
    return _case_url(found.code)


@bp.route("/handovers/<handover_id>/approve", methods=["POST"])
@requires(Permission.HANDOVER_APPROVE)
def handover_approve(handover_id: str) -> Response:
    form = ActionForm()
    if form.validate_on_submit():
        try:
            with unit_of_work().begin() as db:
                made = handover.approve(db, me(), handover_id, version=form.edited_version())
                facts = handover.facts_of(
                    db, me(), made, legal=rules().legal, directory=rules().recipients
                )
                handover.complete(db, me(), made, facts, _draw(facts))
        except DomainError as exc:
            flash_refusal(exc)
        else:
            flash(_("Approved and handed over: download the files below."), "info")
    return redirect(_back(handover_id))


@bp.route("/handovers/<handover_id>/reject", methods=["GET", "POST"])
@requires(Permission.HANDOVER_APPROVE)
def handover_reject(handover_id: str) -> Page:
    form = HandoverRejectForm()
    refused: DomainError | None = None
    if form.validate_on_submit():
        try:
            with unit_of_work().begin() as db:
                handover.reject(
                    db, me(), handover_id, version=form.edited_version(), reason=form.reason.data
                )
        except DomainError as exc:
            refused = exc
        else:
            flash(_("Rejected; nothing was handed over."), "info")
            return redirect(_back(handover_id))
    try:
        with unit_of_work().read() as db:
            found, case_ = handover.get_for(db, me(), handover_id)
            if request.method == "GET":
                form.prefill(found)
            code = case_.code
    except DomainError as exc:
        return render_template("error.html", message=message_of(exc)), int(exc.status)
    if refused is not None:
        form.form_errors.append(message_of(refused))
    status = int(refused.status) if refused is not None else (400 if form.errors else 200)
    return render_template(
        "outcomes/handover_reject.html", form=form, code=code, handover_id=handover_id
    ), status


@bp.route("/handovers/<handover_id>/withdraw", methods=["POST"])
@requires(Permission.HANDOVER_REQUEST)
def handover_withdraw(handover_id: str) -> Response:
    form = ActionForm()
    if form.validate_on_submit():
        try:
            with unit_of_work().begin() as db:
                handover.withdraw(db, me(), handover_id, version=form.edited_version())
        except DomainError as exc:
            flash_refusal(exc)
        else:
            flash(_("Withdrawn."), "info")
    return redirect(_back(handover_id))
