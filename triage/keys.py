"""Key-encryption key rotation: make a new KEK active, rewrap data keys, retire an old KEK.

Rotation never touches a payload: only the wrapped data keys in ``data_key`` change. It is online
(running servers pick the new KEK up when they meet it, see ``triage.sealed``) and resumable:
``rewrap`` moves the keys still under an old KEK, in batches, each batch its own transaction.
A KEK is retired only when no data key uses it any more.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from . import audit, kek_checks, keyring_providers
from .config import Settings
from .crypto import Keyring, KeyringError, WrappedKey
from .errors import N_, Conflict, InvalidInput
from .keyring_providers import KeyringProvider
from .models import DataKey

BATCH = 2000


@dataclass(frozen=True)
class KekStatus:
    kek_id: str
    active: bool
    data_keys: int


def status(session: Session, ring: Keyring) -> list[KekStatus]:
    """Each KEK in the keyring with the number of data keys it wraps."""
    rows = session.execute(select(DataKey.kek_id, func.count()).group_by(DataKey.kek_id))
    counts = {kek_id: count for kek_id, count in rows}
    return [KekStatus(k, k == ring.active_kek, counts.get(k, 0)) for k in sorted(ring.kek_ids)]


def _writable(settings: Settings) -> KeyringProvider:
    chosen = keyring_providers.provider(settings)
    if not chosen.writable:
        raise InvalidInput(
            N_(
                "The keyring comes from TRIAGE_KEYRING, which triage cannot rewrite: rotate it in "
                "the secret store and restart, or use a keyring file (TRIAGE_KEYRING_PATH)."
            )
        )
    return chosen


def rotate(session: Session, settings: Settings, *, actor: str) -> Keyring:
    """Add a fresh KEK to the keyring file and make it active. Data keys are rewrapped after."""
    provider = _writable(settings)
    ring = provider.load()
    rotated = ring.with_new_kek()
    audit.append(
        session,
        actor=actor,
        action="key.rotated",
        object_type="keyring",
        object_id=rotated.active_kek,
        details={"previous_kek": ring.active_kek},
    )
    kek_checks.record(session, rotated)  # the new KEK's known answer, for start-up to prove it
    session.flush()
    provider.store(rotated)
    return rotated


def pending(session: Session, ring: Keyring) -> int:
    """How many data keys are still wrapped by a KEK other than the active one."""
    return int(session.scalar(select(func.count()).where(DataKey.kek_id != ring.active_kek)) or 0)


def _rewrap_after(
    session: Session, ring: Keyring, limit: int, after: str | None
) -> tuple[int, str | None]:
    """Rewrap up to ``limit`` data keys not under the active KEK whose id sorts after ``after``;
    how many, and the last id done. Core statements, not ORM objects: at rotation scale the
    unit of work's bookkeeping would cost more than the cryptography."""
    table = DataKey.metadata.tables["data_key"]
    query = (
        select(table.c.id, table.c.kek_id, table.c.wrapped)
        .where(table.c.kek_id != ring.active_kek)
        .order_by(table.c.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(table.c.id > after)
    rows = session.execute(query).all()
    if not rows:
        return 0, after
    changes = []
    for row in rows:
        rewrapped = ring.rewrap(row.id, WrappedKey(kek_id=row.kek_id, wrapped=row.wrapped))
        changes.append(
            {"key_id": row.id, "new_kek": rewrapped.kek_id, "new_wrapped": rewrapped.wrapped}
        )
    session.execute(
        update(table)
        .where(table.c.id == bindparam("key_id"))
        .values(kek_id=bindparam("new_kek"), wrapped=bindparam("new_wrapped")),
        changes,
    )
    return len(rows), rows[-1].id


def rewrap_batch(session: Session, ring: Keyring, limit: int = BATCH) -> int:
    """Rewrap up to ``limit`` data keys under the active KEK; return how many were done."""
    return _rewrap_after(session, ring, limit, None)[0]


def rewrap_all(
    transaction: Callable[[], AbstractContextManager[Session]],
    ring: Keyring,
    *,
    actor: str,
    progress: Callable[[int], None] = lambda _n: None,
    batch: int = BATCH,
) -> int:
    """Rewrap every pending data key, one committed batch at a time (``transaction`` opens each:
    a unit of work's ``begin``). Safe to kill at any moment and run again: what is left to do is
    read from the data (the keys not yet under the active KEK), never from a note of progress, and
    a batch is committed whole or not at all."""
    done = 0
    after: str | None = None
    while True:
        with transaction() as session:
            count, after = _rewrap_after(session, ring, batch, after)
            if count:
                done += count
            else:
                if done:
                    audit.append(
                        session,
                        actor=actor,
                        action="key.rotated",
                        object_type="keyring",
                        object_id=ring.active_kek,
                        details={"rewrapped": done, "stage": "rewrap_complete"},
                    )
                return done
        progress(count)


def retire(session: Session, settings: Settings, kek_id: str, *, actor: str) -> Keyring:
    """Remove ``kek_id`` from the keyring file, if it is not active and wraps no data key."""
    provider = _writable(settings)
    ring = provider.load()
    if kek_id not in ring.kek_ids:
        raise InvalidInput(N_("The keyring holds no key '%(kek)s'."), kek=kek_id)
    if kek_id == ring.active_kek:
        raise Conflict(N_("The active key-encryption key cannot be retired; rotate first."))
    in_use = int(session.scalar(select(func.count()).where(DataKey.kek_id == kek_id)) or 0)
    if in_use:
        raise Conflict(
            N_("%(n)d data keys are still wrapped by %(kek)s; run `triage keys rewrap` first."),
            n=in_use,
            kek=kek_id,
        )
    try:
        retired = ring.without_kek(kek_id)
    except KeyringError:  # only the active key, refused above
        raise Conflict(
            N_("The active key-encryption key cannot be retired; rotate first.")
        ) from None
    audit.append(
        session, actor=actor, action="key.retired", object_type="keyring", object_id=kek_id
    )
    session.flush()
    provider.store(retired)
    return retired
