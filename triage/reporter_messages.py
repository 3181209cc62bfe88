"""Messages between reviewers and the reporter of a public report: sealed with the report's data
key beside it, so that shredding the report shreds them too, and every read audited.

This is storage, below review and the public service alike: the case page (``review``) shows a
report's messages in its timeline, and the follow-up page (``public``) shows them to the holder of
the receipt; both write and read them here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, sealed
from .crypto import SealContext
from .models import MessageDirection, PublicMessage, Report, new_id, utcnow


@dataclass(frozen=True)
class Message:
    """A message as read: ``text`` is ``None`` when the report's key was destroyed."""

    id: str
    report_id: str
    direction: str
    written_by: int | None
    written_at: datetime
    text: str | None


def _context(message_id: str) -> SealContext:
    return SealContext("public_message", message_id, "body")


def write(
    session: Session,
    report: Report,
    direction: MessageDirection,
    text: str,
    *,
    actor: str,
    written_by: int | None = None,
    now: datetime | None = None,
) -> PublicMessage:
    """Seal and store one message; the event names the report and the direction, never words."""
    message_id = new_id()
    body = json.dumps({"text": text}, ensure_ascii=False).encode()
    row = PublicMessage(
        id=message_id,
        report_id=report.id,
        direction=direction.value,
        written_by=written_by,
        written_at=now or utcnow(),
        body=sealed.seal_beside(session, report, _context(message_id), body),
    )
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="public.message_written",
        object_type="public_message",
        object_id=row.id,
        details={"report_id": report.id, "direction": direction.value},
    )
    return row


def read(
    session: Session,
    reports: Iterable[Report],
    *,
    actor: str,
    purpose: str,
    direction: MessageDirection | None = None,
) -> list[Message]:
    """The messages of ``reports``, oldest first, opened; each opening is an audit event."""
    by_id = {r.id: r for r in reports}
    if not by_id:
        return []
    query = select(PublicMessage).where(PublicMessage.report_id.in_(by_id))
    if direction is not None:
        query = query.where(PublicMessage.direction == direction.value)
    found = []
    for row in session.scalars(query.order_by(PublicMessage.written_at, PublicMessage.id)):
        report = by_id[row.report_id]
        try:
            data = sealed.open_beside(session, report, _context(row.id), row.body)
            text: str | None = str(json.loads(data)["text"])
        except sealed.PayloadShredded:
            text = None
        else:
            audit.append(
                session,
                actor=actor,
                action="payload.decrypted",
                object_type="public_message",
                object_id=row.id,
                details={"purpose": purpose},
            )
        found.append(
            Message(row.id, row.report_id, row.direction, row.written_by, row.written_at, text)
        )
    return found
