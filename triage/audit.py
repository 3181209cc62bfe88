"""The audit log: a hash chain of events that oversight bodies can verify with their own tools.

The format is public and fixed (docs/audit.md). Each event has ``seq``, ``at``, ``actor``,
``action``, ``object_type``, ``object_id``, ``details``, ``prev_hash`` and ``hash``, where

    hash = sha256_hex(prev_hash + canonical)

and ``canonical`` is the JSON of every field but ``hash`` — sorted keys, separators ``,`` and
``:``, no ASCII escaping, UTF-8. The first event's ``prev_hash`` is 64 zeros.

``append`` is called inside the caller's transaction, so an event exists exactly when the change
it records does. Appends are serialised — an advisory lock on PostgreSQL, the write lock that
every SQLite transaction takes at BEGIN — and ``prev_hash`` is unique in the table, so concurrent
writers can neither leave a gap nor fork the chain.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from .models import AuditEvent

GENESIS_HASH = "0" * 64
SYSTEM_ACTOR = "system"
FIELDS = (
    "seq",
    "at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "details",
    "prev_hash",
    "hash",
)

# Any constant works, as long as nothing else in the database takes the same advisory lock.
_PG_CHAIN_LOCK = 0x7472_6961_6765  # "triage"
_MAX_DETAILS_BYTES = 2048
_MAX_DETAIL_STRING = 200
_NAME = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")

Scalar = str | int | bool | None
Details = Mapping[str, Scalar | list[Scalar]]


class AuditError(ValueError):
    """An event was refused before it was written (bad action name, details too large, …)."""


def format_time(moment: datetime) -> str:
    """UTC, ISO 8601 with microseconds and ``Z``: ``2026-11-25T11:25:40.123456Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(fields: Mapping[str, Any]) -> bytes:
    """The canonical JSON of an event's fields other than ``hash``."""
    body = {k: fields[k] for k in FIELDS if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def chain_hash(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(str(fields["prev_hash"]).encode("ascii") + canonical(fields)).hexdigest()


def _check_details(details: Details) -> str:
    for key, value in details.items():
        if not _NAME.match(key):
            raise AuditError(f"details key {key!r} is not a lower-case identifier")
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, float) or not isinstance(item, str | int | bool | type(None)):
                raise AuditError(f"details {key!r} must hold strings, integers, booleans or null")
            if isinstance(item, str) and len(item) > _MAX_DETAIL_STRING:
                raise AuditError(f"details {key!r} is longer than {_MAX_DETAIL_STRING} characters")
    encoded = json.dumps(dict(details), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if len(encoded.encode("utf-8")) > _MAX_DETAILS_BYTES:
        raise AuditError(f"details are larger than {_MAX_DETAILS_BYTES} bytes")
    return encoded


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_CHAIN_LOCK})
    # SQLite: every transaction began with BEGIN IMMEDIATE and already holds the write lock.


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str | None = None,
    object_id: str | int | None = None,
    details: Details | None = None,
) -> AuditEvent:
    """Add the next event to the chain, inside the caller's transaction.

    ``details`` holds non-personal facts only: ids, counts, codes, reasons from a fixed list.
    """
    if not _NAME.match(action):
        raise AuditError(f"action {action!r} is not a lower-case dotted name")
    if object_type is not None and not _NAME.match(object_type):
        raise AuditError(f"object type {object_type!r} is not a lower-case name")
    details_json = _check_details(details or {})
    _lock_chain(session)
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (last.seq + 1, last.hash) if last else (1, GENESIS_HASH)
    fields: dict[str, Any] = {
        "seq": seq,
        "at": format_time(datetime.now(UTC)),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "details": json.loads(details_json),
        "prev_hash": prev_hash,
    }
    event = AuditEvent(
        seq=seq,
        at=fields["at"],
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=fields["object_id"],
        details=details_json,
        prev_hash=prev_hash,
        hash=chain_hash(fields),
    )
    session.add(event)
    session.flush()
    return event


def event_fields(event: AuditEvent) -> dict[str, Any]:
    """An event as the public format's field mapping, ``details`` as an object."""
    return {
        "seq": event.seq,
        "at": event.at,
        "actor": event.actor,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "details": json.loads(event.details),
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


@dataclass(frozen=True)
class Verdict:
    """The result of walking a chain: ``ok``, how many events, and where and why it broke."""

    ok: bool
    count: int
    last_hash: str
    broken_seq: int | None = None
    reason: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"OK: {self.count} events, chain intact, last hash {self.last_hash}"
        return (
            f"BROKEN at seq {self.broken_seq}: {self.reason} "
            f"({self.count} events verified before it)"
        )


def verify_stream(
    events: Iterable[Mapping[str, Any]],
    *,
    first_prev_hash: str = GENESIS_HASH,
    first_seq: int | None = 1,
) -> Verdict:
    """Walk events in order and name the first that breaks the chain. Constant memory.

    ``first_seq`` is the sequence number the walk must start at (``None`` accepts any, as for an
    export that starts mid-chain); ``first_prev_hash`` is the hash the first event must link to.
    """
    expected_seq = first_seq
    prev = first_prev_hash
    count = 0
    for event in events:
        seq = event.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            return Verdict(
                False, count, prev, expected_seq, "sequence number is missing or not an integer"
            )
        if expected_seq is not None and seq != expected_seq:
            reason = (
                f"gap: expected seq {expected_seq}, found {seq}"
                if seq > expected_seq
                else f"out of order: expected seq {expected_seq}, found {seq}"
            )
            return Verdict(False, count, prev, expected_seq, reason)
        if event.get("prev_hash") != prev:
            return Verdict(
                False, count, prev, seq, "wrong link: prev_hash is not the previous event's hash"
            )
        try:
            computed = chain_hash(event)
        except (KeyError, TypeError, ValueError):
            return Verdict(False, count, prev, seq, "event is missing fields of the format")
        if computed != event.get("hash"):
            return Verdict(
                False, count, prev, seq, "hash mismatch: the event's content was altered"
            )
        prev = computed
        count += 1
        expected_seq = seq + 1
    return Verdict(True, count, prev)


def iter_events(session: Session, *, batch: int = 1000) -> Iterator[dict[str, Any]]:
    """Every event in chain order, fetched in batches (a server-side cursor on PostgreSQL)."""
    result = session.execute(
        select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=batch)
    )
    for event in result.scalars():
        yield event_fields(event)
        session.expunge(event)


def verify(session: Session) -> Verdict:
    """Walk the whole chain in the database."""
    return verify_stream(iter_events(session))
