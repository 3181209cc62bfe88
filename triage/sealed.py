"""The sealed store: puts payloads into records and takes them out, audited.

Every record with a ``payload`` (``SealedMixin``) has its own data key in ``data_key``. Opening a
payload writes a ``payload.decrypted`` audit event in the same transaction: no one reads a
person's data without the log saying who, which record and why. Shredding deletes the data key,
after which the payload can never be opened again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from . import audit
from .crypto import Keyring, SealContext, SealIntegrityError, WrappedKey
from .errors import N_, Erased
from .models import DataKey, SealedMixin, new_id
from .uow import keyring_of


class PayloadShredded(Erased):
    """The record's data key was deleted (erasure or retention): its payload is gone for good."""


def keyring(session: Session) -> Keyring:
    """The keyring of the unit of work that opened ``session``."""
    return keyring_of(session).current


def _ring_holding(session: Session, kek_id: str, ring: Keyring | None) -> Keyring:
    """``ring`` if given, else a keyring of the session's unit of work that holds ``kek_id``
    (reloaded from its file if a rotation by `triage keys rotate` has added it since)."""
    if ring is not None:
        return ring
    return keyring_of(session).holding(kek_id)


def _context(record: SealedMixin, field: str = "payload") -> SealContext:
    table = record.__tablename__
    return SealContext(
        table=table, record_id=str(record.id), field=field, version=record.payload_version
    )


def _wrapped(session: Session, record: SealedMixin) -> tuple[str, WrappedKey]:
    if record.data_key_id is None:
        raise PayloadShredded(
            N_("%(table)s %(id)s has no data key"), table=_context(record).table, id=record.id
        )
    key = session.get(DataKey, record.data_key_id)
    if key is None:
        raise PayloadShredded(N_("data key %(key)s is gone"), key=record.data_key_id)
    return key.id, WrappedKey(kek_id=key.kek_id, wrapped=key.wrapped)


def seal(
    session: Session,
    record: SealedMixin,
    payload: Mapping[str, Any],
    *,
    ring: Keyring | None = None,
    flush: bool = True,
) -> None:
    """Seal ``payload`` into ``record``, giving it a data key first if it has none.

    The record's id must be set before sealing: the ciphertext is bound to it. A new key and
    its record are flushed together, unless ``flush`` is false: a bulk load (``intake.bulk``)
    flushes a whole batch of them at once.
    """
    if getattr(record, "id", None) is None:
        record.id = new_id()
    if record.payload_version is None:
        record.payload_version = 1
    made = record.data_key_id is None
    if made:
        key_id = new_id()
        wrapped = (ring or keyring(session)).new_data_key(key_id)
        session.add(DataKey(id=key_id, kek_id=wrapped.kek_id, wrapped=wrapped.wrapped))
        record.data_key_id = key_id
    else:  # an older key is read back (the session may no longer hold it)
        key_id, wrapped = _wrapped(session, record)
    record.payload = _ring_holding(session, wrapped.kek_id, ring).seal(
        key_id, wrapped, _context(record), payload
    )
    if made and flush:  # the new key and its record in one flush, ciphertext and all
        session.flush()


def open_payload(
    session: Session,
    record: SealedMixin,
    *,
    actor: str,
    purpose: str,
    ring: Keyring | None = None,
) -> dict[str, Any]:
    """Decrypt ``record``'s payload for ``actor``; the read is an audit event naming ``purpose``."""
    context = _context(record)
    if record.payload is None:
        raise PayloadShredded(
            N_("%(table)s %(id)s has no payload"), table=context.table, id=context.record_id
        )
    key_id, wrapped = _wrapped(session, record)
    payload = _ring_holding(session, wrapped.kek_id, ring).open(
        key_id, wrapped, context, record.payload
    )
    audit.append(
        session,
        actor=actor,
        action="payload.decrypted",
        object_type=context.table,
        object_id=context.record_id,
        details={"purpose": purpose},
    )
    return payload


def seal_beside(
    session: Session,
    record: SealedMixin,
    context: SealContext,
    data: bytes,
    *,
    ring: Keyring | None = None,
) -> bytes:
    """Seal ``data`` that belongs with ``record`` (an attachment) under the record's data key.

    ``context`` names where the blob will live, so it opens only there; shredding the record
    shreds it too.
    """
    key_id, wrapped = _wrapped(session, record)
    return _ring_holding(session, wrapped.kek_id, ring).seal_bytes(key_id, wrapped, context, data)


def open_beside(
    session: Session,
    record: SealedMixin,
    context: SealContext,
    blob: bytes,
    *,
    ring: Keyring | None = None,
) -> bytes:
    """Open a blob sealed by ``seal_beside``; the caller writes the audit event for the read."""
    key_id, wrapped = _wrapped(session, record)
    return _ring_holding(session, wrapped.kek_id, ring).open_bytes(key_id, wrapped, context, blob)


def shred(session: Session, record: SealedMixin) -> None:
    """Delete the record's data key: the payload stays as bytes no key will ever open."""
    if record.data_key_id is not None:
        session.execute(delete(DataKey).where(DataKey.id == record.data_key_id))
        record.data_key_id = None


def kek_ids_in_use(session: Session) -> dict[str, int]:
    """How many data keys each KEK wraps."""
    rows = session.execute(select(DataKey.kek_id, func.count()).group_by(DataKey.kek_id))
    return {kek_id: count for kek_id, count in rows}


__all__ = [
    "PayloadShredded",
    "SealIntegrityError",
    "kek_ids_in_use",
    "keyring",
    "open_payload",
    "seal",
    "shred",
]
