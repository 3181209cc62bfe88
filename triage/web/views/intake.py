"""The caseworker's pages: file a report of each source kind, confirm or refuse a probable
match, see the reports she filed, add information, download attachments."""

from __future__ import annotations

import io

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response as WerkzeugResponse

from ...errors import DomainError, InvalidInput
from ...intake import attachments, schema, service
from ...permissions import Permission
from ..deps import rules, settings, unit_of_work
from ..errors import flash_refusal, message_of
from ..forms.intake import FORMS, AddInformationForm, LinkForm
from ..gate import actor_id, me, requires

bp = Blueprint("intake", __name__, url_prefix="/reports")

Page = WerkzeugResponse | tuple[str, int] | str


def _uploads(files: list[FileStorage] | None, *, field: str) -> list[attachments.Upload]:
    """The uploaded files, each checked (type by content, size) before anything is stored."""
    limit = settings().attachment_max_bytes
    uploads = []
    for item in files or []:
        if not isinstance(item, FileStorage) or not item.filename:
            continue
        upload = attachments.Upload(item.filename, item.read(limit + 1))
        attachments.check(upload, field=field, limit=limit)
        uploads.append(upload)
    return uploads


@bp.route("/")
@requires(Permission.REPORT_READ_OWN)
def mine() -> str:
    with unit_of_work().read() as db:
        rows = service.my_reports(db, me().id)
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
    template = f"intake/{kind}.html"
    if request.method == "GET":
        if me().region:
            form.region.data = me().region
        return render_template(template, form=form, kind=kind, matches=None)
    # Show every problem at once: the form's own type checks and the schema's rules.
    form_ok = form.validate()
    try:
        incoming = schema.parse(form.to_data(kind))
    except schema.InvalidReport as exc:
        form.show_errors(exc.problems)
        form_ok = False
    if not form_ok:
        return render_template(template, form=form, kind=kind, matches=None), 422
    user = me()
    link_to = form.link_to.data or None
    try:
        uploads = _uploads(form.attachments.data, field="attachments")
        filed = service.submit(
            unit_of_work(),
            incoming,
            actor=actor_id(),
            filed_by=user.id,
            user_region=user.region,
            link_case_id=None if link_to in (None, "new") else link_to,
            new_case=link_to == "new",
            uploads=uploads,
            attested=True,
            rules=rules(),
        )
    except service.ConfirmLink as exc:
        return render_template(template, form=form, kind=kind, matches=exc.matches), 409
    except service.DuplicateSource as exc:
        form_field = form.url if kind == "media" else form.post_url
        form_field.errors = [*form_field.errors, message_of(exc)]
        return render_template(
            template,
            form=form,
            kind=kind,
            matches=None,
            duplicate=exc if exc.visible_to(user.id, user.region) else None,
            own_first=exc.filed_by == user.id,
        ), 409
    except InvalidInput as exc:
        form.attachments.errors = [*form.attachments.errors, message_of(exc).split(": ", 1)[-1]]
        return render_template(template, form=form, kind=kind, matches=None), 422
    if filed.linked:
        flash(_("Report filed and added to case %(code)s.", code=filed.case.code), "info")
    else:
        flash(_("Report filed as case %(code)s.", code=filed.case.code), "info")
    return redirect(url_for("intake.show", report_id=filed.report.id))


@bp.route("/<report_id>")
@requires(Permission.REPORT_READ_OWN)
def show(report_id: str) -> str:
    with unit_of_work().begin() as db:  # opening the payload is an audited read
        page = service.report_page(db, me(), report_id)
        return render_template(
            "intake/report.html",
            report=page.report,
            payload=page.payload,
            case=page.case,
            files=page.files,
            matches=page.matches,
            add_form=AddInformationForm(),
            link_form=LinkForm(),
        )


@bp.route("/<report_id>/information", methods=["POST"])
@requires(Permission.REPORT_FILE)
def add_information(report_id: str) -> Page:
    form = AddInformationForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        uploads = _uploads(form.attachments.data, field="attachments")
        with unit_of_work().begin() as db:
            report = service.own_report(db, report_id, me().id)
            service.add_information(
                db,
                report,
                form.text.data or "",
                actor=actor_id(),
                uploads=uploads,
                uploaded_by=me().id,
            )
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash_refusal(exc)
        return redirect(url_for("intake.show", report_id=report_id))
    flash(_("The information was added to the report."), "info")
    return redirect(url_for("intake.show", report_id=report_id))


@bp.route("/<report_id>/link", methods=["POST"])
@requires(Permission.REPORT_FILE)
def link(report_id: str) -> Page:
    form = LinkForm()
    if not form.validate_on_submit():
        abort(400)
    with unit_of_work().begin() as db:
        case = service.link_own(db, me(), report_id, form.case_id.data, rules=rules())
    flash(_("The report now belongs to case %(code)s.", code=case.code), "info")
    return redirect(url_for("intake.show", report_id=report_id))


@bp.route("/attachments/<attachment_id>")
@requires(Permission.ATTACHMENT_READ)
def download(attachment_id: str) -> Response:
    user = me()
    with unit_of_work().begin() as db:  # every download is an audited read
        report, attachment = attachments.readable(
            db, attachment_id, user_id=user.id, role=user.role, region=user.region
        )
        opened = attachments.open_attachment(db, report, attachment, actor=actor_id())
    response = send_file(
        io.BytesIO(opened.data),
        mimetype=opened.media_type,
        as_attachment=True,
        download_name=opened.filename,
        max_age=0,
    )
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
