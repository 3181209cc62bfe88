"""The caseworker's pages: file a report of each source kind, confirm or refuse a probable
match, see the reports she filed, add information, download attachments."""

from __future__ import annotations

import io

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response as WerkzeugResponse

from ... import audit, db
from ...auth import actor_id, requires
from ...errors import DomainError, InvalidInput
from ...intake import attachments, schema, service
from ...models import Attachment, Case
from ...permissions import Permission, in_scope
from ...sealed import open_payload
from ..forms.intake import FORMS, AddInformationForm, LinkForm

bp = Blueprint("intake", __name__, url_prefix="/reports")

Page = WerkzeugResponse | tuple[str, int] | str


def _uploads(files: list[FileStorage] | None, limit: int) -> list[attachments.Upload]:
    uploads = []
    for item in files or []:
        if not isinstance(item, FileStorage) or not item.filename:
            continue
        data = item.read(limit + 1)
        uploads.append(attachments.Upload(item.filename, data))
    return uploads


def _limit() -> int:
    return int(current_app.extensions["triage.settings"].attachment_max_bytes)


@bp.route("/")
@requires(Permission.REPORT_READ_OWN)
def mine() -> str:
    rows = service.my_reports(db.session(), current_user.id)
    return render_template("intake/mine.html", rows=rows)


@bp.route("/new")
@requires(Permission.REPORT_FILE)
def choose() -> str:
    return render_template("intake/choose.html")


@bp.route("/new/<kind>", methods=["GET", "POST"])
@requires(Permission.REPORT_FILE)
def new(kind: str) -> Page:
    form_class = FORMS.get(kind)
    if form_class is None:
        abort(404)
    form = form_class()
    if request.method == "GET" and current_user.region:
        form.region.data = current_user.region
    if request.method == "GET":
        return render_template(f"intake/{kind}.html", form=form, kind=kind, matches=None)
    # Show every problem at once: the form's own type checks and the schema's rules.
    form_ok = form.validate()
    try:
        incoming = schema.parse(form.to_data(kind))
    except schema.InvalidReport as exc:
        form.show_errors(exc.errors)
        form_ok = False
    if not form_ok:
        return render_template(f"intake/{kind}.html", form=form, kind=kind, matches=None), 422
    try:
        uploads = _uploads(form.attachments.data, _limit())
        for upload in uploads:
            attachments.check(upload, field="attachments")
        link_to = form.link_to.data or None
        filed = service.file(
            db.session(),
            incoming,
            actor=actor_id(),
            filed_by=current_user.id,
            user_region=current_user.region,
            link_case_id=None if link_to in (None, "new") else link_to,
            new_case=link_to == "new",
            uploads=uploads,
            attested=True,
        )
    except service.ConfirmLink as exc:
        db.rollback_request()
        # Nothing is stored, but looking up who matches is itself recorded.
        kinds = sorted({k for m in exc.matches for k in m.kinds})
        audit.append(
            db.session(),
            actor=actor_id(),
            action="report.match_checked",
            object_type="report",
            details={"matches": len(exc.matches), "kinds": ",".join(kinds), "source_kind": kind},
        )
        return render_template(
            f"intake/{kind}.html", form=form, kind=kind, matches=exc.matches
        ), 409
    except service.DuplicateSource as exc:
        db.rollback_request()
        audit.append(
            db.session(),
            actor=actor_id(),
            action="report.refused",
            object_type="report",
            object_id=exc.report_id,
            details={"reason": "duplicate_source", "source_kind": kind},
        )
        form_field = form.url if kind == "media" else form.post_url
        form_field.errors = [*form_field.errors, exc.message]
        return render_template(
            f"intake/{kind}.html",
            form=form,
            kind=kind,
            matches=None,
            duplicate=exc if exc.visible_to(current_user.id, current_user.region) else None,
            own_first=exc.filed_by == current_user.id,
        ), 409
    except InvalidInput as exc:
        db.rollback_request()
        form.attachments.errors = [*form.attachments.errors, exc.message.split(": ", 1)[-1]]
        return render_template(f"intake/{kind}.html", form=form, kind=kind, matches=None), 422
    if filed.linked:
        flash(_("Report filed and added to case %(code)s.", code=filed.case.code), "info")
    else:
        flash(_("Report filed as case %(code)s.", code=filed.case.code), "info")
    return redirect(url_for("intake.show", report_id=filed.report.id))


@bp.route("/<report_id>")
@requires(Permission.REPORT_READ_OWN)
def show(report_id: str) -> str:
    session = db.session()
    report = service.own_report(session, report_id, current_user.id)
    payload = open_payload(session, report, actor=actor_id(), purpose="report.view")
    case = session.get(Case, report.case_id) if report.case_id else None
    files = session.scalars(
        select(Attachment).where(Attachment.report_id == report.id).order_by(Attachment.uploaded_at)
    ).all()
    matches = [
        m for m in service.matches_of(session, report) if in_scope(current_user.region, m.region)
    ]
    return render_template(
        "intake/report.html",
        report=report,
        payload=payload,
        case=case,
        files=files,
        matches=matches,
        add_form=AddInformationForm(),
        link_form=LinkForm(),
    )


@bp.route("/<report_id>/information", methods=["POST"])
@requires(Permission.REPORT_FILE)
def add_information(report_id: str) -> Page:
    session = db.session()
    report = service.own_report(session, report_id, current_user.id)
    form = AddInformationForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        service.add_information(
            session,
            report,
            form.text.data or "",
            actor=actor_id(),
            uploads=_uploads(form.attachments.data, _limit()),
            uploaded_by=current_user.id,
        )
    except DomainError as exc:
        db.rollback_request()
        flash(exc.message, "error")
        return redirect(url_for("intake.show", report_id=report_id))
    flash(_("The information was added to the report."), "info")
    return redirect(url_for("intake.show", report_id=report_id))


@bp.route("/<report_id>/link", methods=["POST"])
@requires(Permission.REPORT_FILE)
def link(report_id: str) -> Page:
    session = db.session()
    report = service.own_report(session, report_id, current_user.id)
    form = LinkForm()
    if not form.validate_on_submit():
        abort(400)
    case = session.get(Case, form.case_id.data)
    if case is None:
        abort(404)
    service.link(session, report, case, actor=actor_id(), user_region=current_user.region)
    flash(_("The report now belongs to case %(code)s.", code=case.code), "info")
    return redirect(url_for("intake.show", report_id=report_id))


@bp.route("/attachments/<attachment_id>")
@requires(Permission.ATTACHMENT_READ)
def download(attachment_id: str) -> Response:
    session = db.session()
    report, attachment = attachments.readable(
        session,
        attachment_id,
        user_id=current_user.id,
        role=current_user.role,
        region=current_user.region,
    )
    opened = attachments.open_attachment(session, report, attachment, actor=actor_id())
    response = send_file(
        io.BytesIO(opened.data),
        mimetype=opened.media_type,
        as_attachment=True,
        download_name=opened.filename,
        max_age=0,
    )
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
