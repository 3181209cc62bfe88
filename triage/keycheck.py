"""Proof that the keyring opens everything sealed: ``triage keys check``.

Every sealed value in the database is decrypted with its data key and the plaintext dropped at
once; nothing is shown, kept or logged. One ``keys.checked`` audit event records the counts (not
one ``payload.decrypted`` per record: no one reads anything). Used after a restore and after a
rotation, and safe to run at any time.

What is sealed is read from the models' metadata, not from a list kept here, so a new table is
not missed: every binary column is either sealed under its row's own data key (a ``payload``
beside ``data_key_id``), sealed beside its report's key (a table with ``report_id``: attachments,
reporter messages), or named in ``NOT_SEALED``; a binary column that is none of these fails the
check until it is placed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import LargeBinary, MetaData, Select, literal, select
from sqlalchemy.orm import Session

from . import audit
from .crypto import CryptoError, Keyring, SealContext, WrappedKey
from .db import Base
from .models import DataKey

_BATCH = 1000

#: Binary columns that hold no sealed value, and why: the wrapped data keys themselves (each is
#: proved when the values under it open), and the server-side sessions (which hold ids and flags,
#: nothing about a person: docs/sessions.md).
NOT_SEALED = frozenset({"data_key.wrapped", "sessions.data"})


class KeyOf(StrEnum):
    """Whose data key a sealed column is under."""

    OWN = "own"  # the row's own, ``data_key_id`` (``triage.sealed``)
    REPORT = "report"  # its report's, ``report_id`` (``sealed.seal_beside``)


@dataclass(frozen=True)
class SealedColumn:
    table: str
    column: str
    key: KeyOf

    def __str__(self) -> str:
        return f"{self.table}.{self.column}"


@dataclass(frozen=True)
class Plan:
    """What ``check`` decrypts, and the binary columns it could not place (each a failure)."""

    columns: tuple[SealedColumn, ...]
    unplaced: tuple[str, ...]


def plan(metadata: MetaData = Base.metadata) -> Plan:
    """Every sealed column in ``metadata``, by the rules in the module's docstring."""
    columns: list[SealedColumn] = []
    unplaced: list[str] = []
    for table in sorted(metadata.tables.values(), key=lambda t: t.name):
        for column in table.c:
            name = f"{table.name}.{column.name}"
            if not isinstance(column.type, LargeBinary) or name in NOT_SEALED:
                continue
            own = _references(table.c, "data_key_id", "data_key") and "payload_version" in table.c
            if own and column.name == "payload":
                columns.append(SealedColumn(table.name, column.name, KeyOf.OWN))
            elif not own and _references(table.c, "report_id", "report"):
                columns.append(SealedColumn(table.name, column.name, KeyOf.REPORT))
            else:
                unplaced.append(name)
    return Plan(tuple(columns), tuple(unplaced))


def _references(columns: Any, name: str, target: str) -> bool:
    return name in columns and any(
        fk.column.table.name == target for fk in columns[name].foreign_keys
    )


@dataclass
class KeyCheck:
    opened: int = 0
    shredded: int = 0
    failed: list[str] = field(default_factory=list)
    #: The sealed columns read, as ``table.column``.
    columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def __str__(self) -> str:
        head = (
            f"{self.opened} sealed values decrypted, {self.shredded} shredded (no key, as intended)"
            f" in {len(self.columns)} sealed columns"
        )
        if self.ok:
            return f"OK: {head}"
        shown = "; ".join(self.failed[:5])
        more = f" and {len(self.failed) - 5} more" if len(self.failed) > 5 else ""
        return f"FAILED: {len(self.failed)} sealed values do not open ({shown}{more}); {head}"


def _keys(session: Session, ids: set[str]) -> dict[str, WrappedKey]:
    rows = session.execute(select(DataKey.id, DataKey.kek_id, DataKey.wrapped).where(
        DataKey.id.in_(ids)
    ))  # fmt: skip
    return {row.id: WrappedKey(row.kek_id, row.wrapped) for row in rows}


def _query(sealed: SealedColumn) -> Select[Any]:
    """(id, data key id, version, value) of every row holding a value in ``sealed``."""
    table = Base.metadata.tables[sealed.table]
    value = table.c[sealed.column]
    if sealed.key is KeyOf.OWN:
        query = select(table.c.id, table.c.data_key_id, table.c.payload_version, value)
    else:
        report = Base.metadata.tables["report"]
        query = select(table.c.id, report.c.data_key_id, literal(1), value).join(
            report, report.c.id == table.c.report_id
        )
    return query.where(value.is_not(None)).order_by(table.c.id)


def _batches(session: Session, sealed: SealedColumn) -> Iterator[Sequence[Any]]:
    query = _query(sealed).execution_options(yield_per=_BATCH)
    yield from session.execute(query).partitions()


def check(
    session: Session,
    ring: Keyring,
    *,
    progress: Callable[[int], None] = lambda _n: None,
    metadata: MetaData = Base.metadata,
) -> KeyCheck:
    """Decrypt every sealed value in the database with ``ring``; count what opens and what not."""
    found = plan(metadata)
    result = KeyCheck(columns=[str(c) for c in found.columns])
    result.failed.extend(f"{name}: not known to be sealed or not" for name in found.unplaced)
    for sealed in found.columns:
        for batch in _batches(session, sealed):
            keys = _keys(session, {key_id for _id, key_id, _v, _b in batch if key_id})
            for record_id, key_id, version, blob in batch:
                key = keys.get(key_id) if key_id else None
                if key is None:
                    result.shredded += 1
                    continue
                context = SealContext(sealed.table, str(record_id), sealed.column, version or 1)
                _open(ring, key_id, key, context, blob, result)
            progress(len(batch))
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
