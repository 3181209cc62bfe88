"""Attachments: screenshots, photos and documents, typed by their content, size-limited, sealed
with their report's data key, and read back only with an audit event."""

from __future__ import annotations

import json
from dataclasses import dataclass

import filetype  # type: ignore[import-untyped]
from sqlalchemy.orm import Session

from .. import audit, sealed
from ..config import Settings
from ..crypto import Keyring, SealContext
from ..errors import N_, InvalidInput, NotFound
from ..models import Attachment, Case, Report, new_id
from ..permissions import in_scope
from ..vocab import Role

#: What may be attached, by detected type: images for screenshots and photos, PDF for documents.
ALLOWED_TYPES = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
    "application/pdf": "pdf",
}


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


#: The size limit when the caller gives none (the setting's default).
DEFAULT_MAX_BYTES = Settings().attachment_max_bytes


def check(upload: Upload, *, field: str = "attachment", limit: int = DEFAULT_MAX_BYTES) -> str:
    """The upload's media type, detected from its bytes; refuses anything not allowed. The
    refusal names the form ``field`` in its params, not in its message."""
    if not upload.data:
        raise InvalidInput(N_("the file is empty"), field=field)
    if len(upload.data) > limit:
        raise InvalidInput(
            N_("the file is larger than %(mb)d MB"), field=field, mb=limit // (1024 * 1024)
        )
    kind = filetype.guess(upload.data[:8192])
    media_type = kind.mime if kind is not None else None
    if media_type not in ALLOWED_TYPES:
        raise InvalidInput(
            N_("only PNG, JPEG, WebP or GIF images and PDF documents are accepted"), field=field
        )
    return str(media_type)


def _contexts(attachment_id: str) -> tuple[SealContext, SealContext]:
    return (
        SealContext("attachment", attachment_id, "content"),
        SealContext("attachment", attachment_id, "meta"),
    )


def attach(
    session: Session,
    report: Report,
    upload: Upload,
    *,
    actor: str,
    uploaded_by: int | None,
    ring: Keyring | None = None,
) -> Attachment:
    media_type = check(upload)
    attachment_id = new_id()
    content_ctx, meta_ctx = _contexts(attachment_id)
    name = upload.filename.replace("\\", "/").rsplit("/", 1)[-1][:200] or "attachment"
    attachment = Attachment(
        id=attachment_id,
        report_id=report.id,
        media_type=media_type,
        size=len(upload.data),
        content=sealed.seal_beside(session, report, content_ctx, upload.data, ring=ring),
        meta=sealed.seal_beside(
            session, report, meta_ctx, json.dumps({"filename": name}).encode(), ring=ring
        ),
        uploaded_by=uploaded_by,
    )
    session.add(attachment)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="attachment.added",
        object_type="attachment",
        object_id=attachment.id,
        details={"report_id": report.id, "media_type": media_type, "size": len(upload.data)},
    )
    return attachment


@dataclass(frozen=True)
class Opened:
    filename: str
    media_type: str
    data: bytes


def open_attachment(
    session: Session, report: Report, attachment: Attachment, *, actor: str
) -> Opened:
    """The attachment's bytes and name; the download is an audit event."""
    content_ctx, meta_ctx = _contexts(attachment.id)
    data = sealed.open_beside(session, report, content_ctx, attachment.content)
    meta = json.loads(sealed.open_beside(session, report, meta_ctx, attachment.meta))
    audit.append(
        session,
        actor=actor,
        action="attachment.downloaded",
        object_type="attachment",
        object_id=attachment.id,
        details={"report_id": report.id},
    )
    ext = ALLOWED_TYPES.get(attachment.media_type, "bin")
    filename = str(meta.get("filename") or f"attachment.{ext}")
    return Opened(filename, attachment.media_type, data)


def readable(
    session: Session, attachment_id: str, *, user_id: int, role: str, region: str | None
) -> tuple[Report, Attachment]:
    """The attachment and its report, if this user may read it; otherwise "not found".

    A caseworker reads attachments of the reports she filed; reviewers and supervisors those of
    cases in their region scope.
    """
    attachment = session.get(Attachment, attachment_id)
    report = session.get(Report, attachment.report_id) if attachment else None
    if attachment is None or report is None:
        raise NotFound(N_("There is no such attachment."))
    if role == Role.CASEWORKER.value:
        allowed = report.filed_by == user_id
    else:
        case = session.get(Case, report.case_id) if report.case_id else None
        where = case.region if case is not None else report.region
        allowed = role in (Role.REVIEWER.value, Role.SUPERVISOR.value) and in_scope(region, where)
    if not allowed:
        raise NotFound(N_("There is no such attachment."))
    return report, attachment
