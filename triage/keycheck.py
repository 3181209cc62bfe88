"""Proof that the keyring opens everything sealed: ``triage keys check``.

Every sealed table's payload, and every attachment's content and name, is decrypted with its
data key and the plaintext dropped at once; nothing is shown, kept or logged. One
``keys.checked`` audit event records the counts (not one ``payload.decrypted`` per record: no
one reads anything). Used after a restore and after a rotation, and safe to run at any time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .crypto import CryptoError, Keyring, SealContext, WrappedKey
from .db import Base
from .models import Attachment, DataKey, Report, SealedMixin

_BATCH = 1000


@dataclass
class KeyCheck:
    opened: int = 0
    shredded: int = 0
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def __str__(self) -> str:
        head = (
            f"{self.opened} sealed values decrypted, {self.shredded} shredded (no key, as intended)"
        )
        if self.ok:
            return f"OK: {head}"
        shown = "; ".join(self.failed[:5])
        more = f" and {len(self.failed) - 5} more" if len(self.failed) > 5 else ""
        return f"FAILED: {len(self.failed)} sealed values do not open ({shown}{more}); {head}"


def sealed_models() -> list[type[SealedMixin]]:
    """Every mapped class with a sealed payload, in a fixed order."""
    found = [
        mapper.class_ for mapper in Base.registry.mappers if issubclass(mapper.class_, SealedMixin)
    ]
    return sorted(found, key=lambda cls: cls.__tablename__)


def _keys(session: Session, ids: set[str]) -> dict[str, WrappedKey]:
    rows = session.execute(select(DataKey.id, DataKey.kek_id, DataKey.wrapped).where(
        DataKey.id.in_(ids)
    ))  # fmt: skip
    return {row.id: WrappedKey(row.kek_id, row.wrapped) for row in rows}


def check(
    session: Session, ring: Keyring, *, progress: Callable[[int], None] = lambda _n: None
) -> KeyCheck:
    """Decrypt every sealed value in the database with ``ring``; count what opens and what not."""
    result = KeyCheck()
    for model in sealed_models():
        table = model.__tablename__
        c = Base.metadata.tables[table].c
        query = (
            select(c.id, c.data_key_id, c.payload_version, c.payload)
            .where(c.payload.is_not(None))
            .order_by(c.id)
        )
        rows = session.execute(query.execution_options(yield_per=_BATCH)).partitions()
        for batch in rows:
            keys = _keys(session, {r.data_key_id for r in batch if r.data_key_id})
            for row in batch:
                key = keys.get(row.data_key_id) if row.data_key_id else None
                if key is None:
                    result.shredded += 1
                    continue
                context = SealContext(table, str(row.id), "payload", row.payload_version)
                _open(ring, row.data_key_id, key, context, row.payload, result)
            progress(len(batch))
    _check_attachments(session, ring, result)
    return result


def _open(
    ring: Keyring,
    key_id: str,
    key: WrappedKey,
    context: SealContext,
    blob: bytes,
    result: KeyCheck,
) -> None:
    try:
        ring.open_bytes(key_id, key, context, blob)
    except CryptoError:
        result.failed.append(f"{context.table} {context.record_id} {context.field}")
    else:
        result.opened += 1


def _check_attachments(session: Session, ring: Keyring, result: KeyCheck) -> None:
    """Attachments are sealed under their report's data key, one value per field."""
    query = (
        select(Attachment.id, Attachment.content, Attachment.meta, Report.data_key_id)
        .join(Report, Report.id == Attachment.report_id)
        .order_by(Attachment.id)
    )
    for batch in session.execute(query.execution_options(yield_per=_BATCH)).partitions():
        keys = _keys(session, {r.data_key_id for r in batch if r.data_key_id})
        for row in batch:
            key = keys.get(row.data_key_id) if row.data_key_id else None
            if key is None:
                result.shredded += 1
                continue
            for name, blob in (("content", row.content), ("meta", row.meta)):
                context = SealContext("attachment", str(row.id), name)
                _open(ring, row.data_key_id, key, context, blob, result)


def record(session: Session, found: KeyCheck, *, actor: str, via: str) -> None:
    audit.append(
        session,
        actor=actor,
        action="keys.checked",
        object_type="keyring",
        details={
            "opened": found.opened,
            "shredded": found.shredded,
            "failed": len(found.failed),
            "via": via,
        },
    )
