"""Start-up proves the keys: a known answer for every key-encryption key (KEK) in use.

The fingerprint (``triage.instance``) proves the keyring is this database's; it does not prove
each KEK in it is the right one. A KEK of the right length but the wrong bytes (a hand-edited
or half-restored keyring, a secret store holding an old value) would let the app start and fail
every sealed read with a 500. So each KEK's known answer (``Keyring.kek_check``, an HMAC of a
fixed label) is kept in ``instance_meta``, written by ``triage init`` and by a rotation, and
checked before the app or any command starts. A KEK recorded before these checks existed is
proven instead by opening one data key it wraps, and its answer is recorded at the next init.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .crypto import Keyring, KeyringError, WrappedKey
from .models import DataKey, InstanceMeta

PREFIX = "kek_check:"


def _stored(session: Session, kek_id: str) -> str | None:
    row = session.get(InstanceMeta, PREFIX + kek_id)
    return row.value if row is not None else None


def verify(session: Session, ring: Keyring, *, setting: str) -> None:
    """Refuse (``KeyringError``, one line naming the key and ``setting``) a keyring one of whose
    KEKs in use — wrapping data keys, or active — is not the key on record."""
    in_use = set(session.scalars(select(DataKey.kek_id).distinct())) | {ring.active_kek}
    for kek_id in sorted(in_use & ring.kek_ids):
        check = _stored(session, kek_id)
        if check is not None:
            right = ring.kek_matches(kek_id, check)
        else:
            sample = session.scalars(
                select(DataKey).where(DataKey.kek_id == kek_id).limit(1)
            ).first()
            if sample is None:
                continue  # nothing on record to prove it against: a new, unused key
            right = ring.unwraps(sample.id, WrappedKey(kek_id=kek_id, wrapped=sample.wrapped))
        if not right:
            raise KeyringError(
                f"key-encryption key {kek_id} in the keyring ({setting}) is not the key this "
                "database's data was sealed with: restore the keyring backed up for this "
                "instance"
            )


def record(session: Session, ring: Keyring) -> None:
    """Write the known answer of each KEK in ``ring`` that has none on record (after
    ``verify``: only a proven or unused key gets one)."""
    for kek_id in sorted(ring.kek_ids):
        if _stored(session, kek_id) is None:
            session.add(InstanceMeta(key=PREFIX + kek_id, value=ring.kek_check(kek_id)))
