"""The auditor's pages: read the log with filters, verify the chain, export a signed range,
download the public key, and check an export file against it. Only ids, roles and actions
are shown; the log holds no person's data by construction."""

from __future__ import annotations

import json
import logging
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from flask import Blueprint, Response, render_template, request, stream_with_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import audit, audit_export, checkpoints
from ...crypto import Keyring
from ...errors import InvalidInput
from ...models import AuditEvent, User, utcnow
from ...permissions import Permission
from ..converters import int_arg
from ..deps import settings, unit_of_work
from ..errors import message_of
from ..forms.audit import ExportForm, FilterForm, VerifyExportForm
from ..gate import actor_id, requires

_log = logging.getLogger(__name__)
bp = Blueprint("audit", __name__, url_prefix="/audit")
PAGE_SIZE = 50


def _ring() -> Keyring:
    return unit_of_work().keyring.current


#: A value that is an identifier (a UUID, a hash, a key id): the page shortens it to fit.
_IDENTIFIER = re.compile(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}|[0-9a-f]{16,}|kek-\S+")


@bp.app_template_filter("audit_details")
def audit_details(details: str) -> list[tuple[str, str, bool]]:
    """An event's details (the hashed JSON text) as key, value and whether the value is an
    identifier, for the page to show as pairs instead of raw JSON. Details hold ids and codes
    only (docs/audit.md); a list or an object shows as compact JSON."""
    try:
        found = json.loads(details)
    except ValueError:
        return [("", details, False)]
    if not isinstance(found, dict):
        return [("", json.dumps(found, ensure_ascii=False), False)]
    pairs = []
    for key, value in found.items():
        if value is None:
            text = "—"
        elif isinstance(value, str):
            text = value
        else:
            text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
        pairs.append((str(key), text, bool(_IDENTIFIER.fullmatch(text))))
    return pairs


def _roles(db: Session, events: list[AuditEvent]) -> dict[str, str]:
    """Role of each user actor on the page: auditors see who acted by id and role, not name."""
    ids = {int(e.actor) for e in events if e.actor.isdigit()}
    if not ids:
        return {}
    rows = db.execute(select(User.id, User.role).where(User.id.in_(ids)))
    return {str(uid): role for uid, role in rows}


@bp.route("/")
@requires(Permission.AUDIT_READ)
def index() -> tuple[str, int] | str:
    form = FilterForm(request.args)
    form.action.choices = [("", str(_l("Any action")))] + [(a, a) for a in sorted(audit.ACTIONS)]
    before = int_arg("before", 0) or None
    events: list[AuditEvent] = []
    filters = None
    if form.validate():
        try:
            filters = audit.Filters(
                since=audit.parse_time(form.since.data, field="From") if form.since.data else None,
                until=audit.parse_time(form.until.data, field="Until") if form.until.data else None,
                actor=form.actor.data or None,
                action=form.action.data or None,
                object_type=form.object_type.data or None,
                object_id=form.object_id.data or None,
            )
        except InvalidInput as exc:
            form.form_errors.append(message_of(exc))
    with unit_of_work().read() as db:
        if filters is not None:
            events = audit.search(db, filters, before_seq=before, limit=PAGE_SIZE + 1)
        more = len(events) > PAGE_SIZE
        events = events[:PAGE_SIZE]
        roles = _roles(db, events)
    args = {k: v for k, v in request.args.items() if k != "before" and v}
    status = 400 if form.form_errors or form.errors else 200
    return render_template(
        "audit/index.html",
        form=form,
        events=events,
        roles=roles,
        next_before=events[-1].seq if more and events else None,
        args=args,
        export_form=ExportForm(prefix="export"),
        verify_form=VerifyExportForm(),
        key_id=audit_export.public_key_id(_ring().public_key_pem()),
    ), status


@bp.route("/verify", methods=["POST"])
@requires(Permission.AUDIT_READ)
def verify() -> str:
    uow = unit_of_work()
    with uow.read() as reader:  # a long walk that must not hold SQLite's write lock
        verdict = audit.verify(reader)
    with uow.begin() as db:
        audit.record_verification(db, verdict, actor=actor_id(), via="web")
    return render_template("audit/verified.html", verdict=verdict)


@bp.route("/export", methods=["POST"])
@requires(Permission.AUDIT_EXPORT)
def export() -> Response | tuple[str, int]:
    form = ExportForm(prefix="export")
    if not form.validate_on_submit():
        return render_template("audit/export_error.html", form=form, message=""), 400
    uow, fmt, who = unit_of_work(), form.fmt.data, actor_id()
    try:
        with uow.begin() as db:  # the export is on record before its first byte leaves
            span = audit.resolve_range(
                db,
                from_seq=form.from_seq.data,
                to_seq=form.to_seq.data,
                since=form.since.data or None,
                until=form.until.data or None,
            )
            head = checkpoints.Head.of(audit.record_export(db, span, fmt=fmt, actor=who, via="web"))
    except InvalidInput as exc:
        message = message_of(exc)
        return render_template("audit/export_error.html", form=form, message=message), 400
    ring = uow.keyring.current
    try:  # the bundle carries the signed head; a checkpoint file triage cannot write is logged
        with uow.read() as reader:
            published = checkpoints.publish(settings(), ring, head, reader)
        signed: dict[str, object] | None = published.as_dict()
        if published.webhook_error:
            _log.error("checkpoint not posted to the auditor: %s", published.webhook_error)
    except checkpoints.CheckpointError as exc:
        _log.error("export without a checkpoint: %s", exc)
        signed = None

    def manifest_for(summary: audit_export.Summary, file_name: str) -> dict[str, object]:
        return audit_export.make_manifest(
            summary,
            fmt=fmt,
            file_name=file_name,
            requested=span.requested,
            created_at=audit.format_time(utcnow()),
            created_by=who,
            ring=ring,
            checkpoint=signed,
        )

    def body() -> Iterator[bytes]:
        with uow.read() as reader:
            events = audit.iter_events(
                reader, first_seq=span.first_seq, last_seq=span.last_seq, parsed=False
            )
            yield from audit_export.zip_stream(events, fmt, manifest_for)

    name = f"triage-audit-{span.first_seq}-{span.last_seq}.zip"
    return Response(
        stream_with_context(body()),
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/public-key.pem")
@requires(Permission.AUDIT_READ)
def public_key() -> Response:
    return Response(
        _ring().public_key_pem(),
        mimetype="application/x-pem-file",
        headers={"Content-Disposition": 'attachment; filename="triage-audit-public-key.pem"'},
    )


@bp.route("/verify-export", methods=["POST"])
@requires(Permission.AUDIT_READ)
def verify_export() -> tuple[str, int]:
    """Check an uploaded export and manifest against this instance's public key."""
    form = VerifyExportForm()
    if not form.validate_on_submit():
        return render_template("audit/export_checked.html", verdict=None, form=form), 400
    with tempfile.TemporaryDirectory(prefix="triage-verify-") as folder:
        data_path, manifest_path, key_path = (Path(folder) / n for n in ("data", "manifest", "key"))
        form.data.data.save(data_path)
        form.manifest.data.save(manifest_path)
        key_path.write_bytes(_ring().public_key_pem())
        try:
            verdict = audit_export.verify_export(data_path, manifest_path, key_path)
        except audit_export.ExportError as exc:
            verdict = audit_export.ExportVerdict(False, problems=[str(exc).replace(folder, "")])
    return render_template("audit/export_checked.html", verdict=verdict, form=form), (
        200 if verdict.ok else 422
    )
