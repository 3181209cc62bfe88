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
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session, SessionTransaction

from .errors import N_, InvalidInput
from .logging import request_id
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

#: Every action the application records, with what it means. docs/audit.md lists them for
#: auditors; a test fails when code appends an action that is not here.
ACTIONS: dict[str, str] = {
    "instance.initialised": "the instance was set up (keyring and database)",
    "auth.login": "a user signed in",
    "auth.login_failed": (
        "a sign-in failed (reason: unknown_user, wrong_password, disabled, wrong_code, locked)"
    ),
    "auth.code_requested": "a password was right for an account with two-step sign-in; "
    "the code from its authenticator app was asked for",
    "auth.logout": "a user signed out",
    "access.denied": "a signed-in user was refused a page their role does not allow",
    "user.created": "a staff account was created",
    "user.updated": "a staff account's role, region scope or active flag changed",
    "user.password_changed": "a staff account's password was changed or reset",
    "user.totp_enrolment_started": "a user began setting up two-step sign-in (a new secret "
    "was sealed, pending confirmation)",
    "user.totp_enabled": "a user confirmed a code and turned two-step sign-in on",
    "user.totp_disabled": "a user turned their own two-step sign-in off (password and code)",
    "user.totp_reset": "an admin removed a user's two-step sign-in (a lost phone)",
    "user.sessions_ended": "sessions of a staff account were ended on the server on purpose "
    "(count, scope: one or all, reason: by_user or by_admin)",
    "user.locked": "a staff account was locked after repeated sign-in failures (failures, "
    "the minutes it lasts)",
    "user.unlocked": "an admin lifted a staff account's lockout (failures counted until then)",
    "user.device_locked": "a browser's device cookie for a staff account was denied after "
    "repeated wrong passwords or codes sent with it (failures); that browser is then subject to "
    "the account's lockout",
    "user.email_changed": "an admin set, changed or removed the e-mail address a staff "
    "account's alerts go to (sealed; details say only whether one is set)",
    "payload.decrypted": "a sealed payload was decrypted for reading (purpose: page or command)",
    "case.opened": "a case was opened for a new report",
    "report.filed": "a report was filed",
    "report.linked": "a report was linked to an existing case",
    "report.amended": "a caseworker added information to a report",
    "report.match_checked": "a report about people on record was held for the filer to confirm",
    "report.refused": "a report was refused before it was stored (reason: duplicate_source)",
    "public.report_filed": "a report came through the public form, without an account (its "
    "case, whether it joined a case on record, attachments, whether someone is in danger now)",
    "public.receipt_used": "a public report's receipt opened its follow-up page",
    "public.receipt_refused": "a receipt typed on the public follow-up page matched none",
    "public.information_added": "a public reporter added words or photos with her receipt",
    "public.message_written": "a message to or from a public report's reporter was sealed "
    "(direction: to_reporter, from_reporter)",
    "feed.imported": "a feed import ran (counts of items imported, imported on the review band, "
    "screened out and kept, already seen, failed)",
    "screened.promoted": "a reviewer promoted a screened-out feed item to a report (its report "
    "and case; the item's own key is then destroyed)",
    "report.verified": "a report's source was corroborated or found unfounded",
    "attachment.added": "an attachment was sealed and stored with a report",
    "attachment.downloaded": "an attachment was downloaded",
    "assessment.recorded": "a risk assessment was recorded",
    "case.claimed": "a reviewer claimed a case",
    "case.released": "a claim on a case was released or expired",
    "case.reassigned": "a supervisor reassigned a case",
    "case.closed": "a case was closed with an outcome",
    "decision.proposed": "a preventive measure was proposed",
    "decision.approved": "a supervisor approved a proposed measure",
    "decision.rejected": "a supervisor rejected a proposed measure",
    "case.triaged": "a new case got its provisional risk level and response deadline",
    "case.verified": "a case's reports were corroborated (method) or found unfounded",
    "case.note_added": "a reviewer added a note to a case",
    "assessment.override_approved": "a supervisor approved lowering a high risk level",
    "assessment.override_rejected": "a supervisor rejected lowering a high risk level",
    "assessment.rescored": (
        "`triage init` re-scored an assessment under its checklist's corrected rules (computed "
        "level before and after, incomplete, and the case's level before and after where it was "
        "raised, or that its lowering of a high level now waits for a supervisor)"
    ),
    "decision.withdrawn": "a proposal waiting for approval was withdrawn",
    "decision.followed_up": "a measure in effect was followed up before its end",
    "decision.grounds_migrated": (
        "`triage init` gave a decision from before the grounds were structured the legal grounds "
        "its typed legal basis cites (grounds: their codes)"
    ),
    "consent.recorded": (
        "a reviewer recorded the victim's answer on sharing her data with one kind of recipient "
        "(recipient_kind, answer, method)"
    ),
    "document.issued": (
        "a document was issued (kind, format, language, the SHA-256 of its exact bytes, and the "
        "names of the fields it holds)"
    ),
    "document.downloaded": "an issued document was downloaded (its SHA-256)",
    "document.checked": (
        "someone checked whether a file is a document triage issued (the file's SHA-256, found or"
        " not)"
    ),
    "handover.requested": (
        "a hand-over of a case to a named recipient was asked for (recipient, its kind, whether "
        "her consent covers it)"
    ),
    "handover.approved": (
        "a supervisor other than the requester approved a hand-over without her consent"
    ),
    "handover.rejected": "a supervisor rejected a hand-over without her consent",
    "handover.withdrawn": "the requester withdrew a hand-over waiting for approval",
    "case.handed_over": (
        "a case was handed over: recipient, its kind, the fields, and the ids and SHA-256 of the "
        "PDF and JSON files handed over"
    ),
    "record.purged": "a record's data key was destroyed (crypto-shredding; reason: retention, "
    "erasure_request, or promoted for a screened-out item)",
    "token.created": "an API token was created",
    "token.revoked": "an API token was revoked",
    "api.rejected": "a known API client was refused (its token revoked, or out of scope)",
    "key.rotated": "a new key-encryption key was made active and data keys rewrapped",
    "key.retired": "a key-encryption key no longer in use was removed from the keyring",
    "keys.checked": "every sealed value was decrypted to prove the keyring opens it, the "
    "plaintext dropped at once (counts opened, shredded, failed; via)",
    "backup.created": "an encrypted backup of the database was made (engine, the key it is "
    "encrypted to, the audit head it holds, its size)",
    "backup.restored": "the database was restored from a backup (engine, the backup's key, the "
    "audit head it held, whether the target was replaced by force)",
    "audit.verified": "the audit chain was verified",
    "audit.exported": "an audit export was made",
    "audit.checkpointed": "a signed checkpoint of the chain's head was taken (via: cli or web; "
    "the checkpoint, kept outside the database, signs this very event)",
    "audit.case_viewed": "an auditor viewed a case's plain facts and its audit events (the case, "
    "the page of events); nothing sealed is opened",
    "stats.viewed": "the statistics page was viewed (its filters: from, to, region)",
    "stats.downloaded": "statistics were downloaded (which table or all, format, filters; "
    "via web or cli)",
    "alert.sent": "an alert reached one recipient: the SMTP server accepted the e-mail, or the "
    "webhook answered 2xx (alert, kind, channel, case, attempt)",
    "alert.failed": "an attempt to deliver an alert failed and will be retried (error code, "
    "attempt, next attempt)",
    "alert.dead": "an alert's delivery failed its last allowed attempt and went to the "
    "dead-letter list",
    "alert.retried": "an admin put a delivery from the dead-letter list back to be sent",
}

Scalar = str | int | bool | None
Details = Mapping[str, Scalar | list[Scalar]]


class AuditError(ValueError):
    """An event was refused before it was written (bad action name, details too large, …)."""


#: JSON string encoding as ``json.dumps(..., ensure_ascii=False)`` does it (the C encoder).
_encode_string: Callable[[str], str] = json.encoder.encode_basestring


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


#: Where a transaction that has appended keeps the chain's last link: it holds the chain's lock
#: until it ends, so nobody else can have appended since. The link is kept for the innermost
#: transaction (a savepoint, if one is open), so a savepoint rolled back or released never
#: leaves a link behind that is no longer the last.
_HEAD = "triage.audit.head"


def _innermost(session: Session) -> SessionTransaction | None:
    return session.get_nested_transaction() or session.get_transaction()


def _holds(kept: object, innermost: SessionTransaction | None) -> bool:
    """Whether a link kept for transaction ``kept`` is still the chain's last as seen from
    ``innermost``: it is that transaction or one that encloses it (a savepoint opened since
    has appended nothing, or the link would be its own)."""
    transaction = innermost
    while transaction is not None:
        if transaction is kept:
            return True
        transaction = transaction.parent
    return False


def _next_link(session: Session) -> tuple[int, str]:
    """The next event's sequence number and ``prev_hash``, under the chain's lock."""
    head = session.info.get(_HEAD)
    if head is not None and _holds(head[0], _innermost(session)):
        return int(head[1]) + 1, str(head[2])
    _lock_chain(session)
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    return (last.seq + 1, last.hash) if last else (1, GENESIS_HASH)


@dataclass(frozen=True)
class Entry:
    """One event to append, before the chain gives it its place (``append_many``)."""

    actor: str
    action: str
    object_type: str | None = None
    object_id: str | int | None = None
    details: Details | None = None


def _checked(entry: Entry) -> tuple[str | None, str]:
    """The event's ``object_id`` as stored and its details' JSON, or ``AuditError``."""
    if not _NAME.match(entry.action):
        raise AuditError(f"action {entry.action!r} is not a lower-case dotted name")
    if entry.object_id is not None and str(entry.object_id) == "":
        raise AuditError("object_id is either absent (None) or a non-empty string")
    if entry.object_type is not None and not _NAME.match(entry.object_type):
        raise AuditError(f"object type {entry.object_type!r} is not a lower-case name")
    object_id = None if entry.object_id is None else str(entry.object_id)
    return object_id, _check_details(_with_request_id(entry.details or {}))


def _with_request_id(details: Details) -> Details:
    """``details`` with the id of the request being served, if any (``triage.logging``): an
    event, the request's log lines and the reference its error page showed can be matched."""
    request = request_id()
    if request is None or "request_id" in details:
        return details
    return {**details, "request_id": request}


def _link(
    entry: Entry, object_id: str | None, details_json: str, seq: int, prev: str
) -> dict[str, Any]:
    """The stored row of the event at ``seq`` after ``prev``, its hash computed.

    The canonical JSON is put together around ``details_json`` (already canonical) rather than
    parsed back and dumped again: the top-level keys in sorted order are ``action``, ``actor``,
    ``at``, ``details``, ``object_id``, ``object_type``, ``prev_hash``, ``seq`` — the same bytes
    as ``canonical`` (a test compares the two)."""
    at = format_time(datetime.now(UTC))
    head = _dumps({"action": entry.action, "actor": entry.actor, "at": at})
    tail = _dumps(
        {"object_id": object_id, "object_type": entry.object_type, "prev_hash": prev, "seq": seq}
    )
    body = f'{head[:-1]},"details":{details_json},{tail[1:]}'.encode()
    return {
        "seq": seq,
        "at": at,
        "actor": entry.actor,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": object_id,
        "details": details_json,
        "prev_hash": prev,
        "hash": hashlib.sha256(prev.encode("ascii") + body).hexdigest(),
    }


def _dumps(value: Mapping[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Appended:
    """An event as ``append`` stored it (or, inside ``batched``, will store it): its row,
    ``details`` as the canonical JSON that was hashed."""

    seq: int
    at: str
    actor: str
    action: str
    object_type: str | None
    object_id: str | None
    details: str
    prev_hash: str
    hash: str


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str | None = None,
    object_id: str | int | None = None,
    details: Details | None = None,
) -> Appended:
    """Add the next event to the chain, inside the caller's transaction.

    ``details`` holds non-personal facts only: ids, counts, codes, reasons from a fixed list.
    Inside ``batched`` the event takes its place in the chain now and is written when the block
    ends.
    """
    entry = Entry(actor, action, object_type, object_id, details)
    object_id_text, details_json = _checked(entry)
    buffer = session.info.get(_BUFFER)
    if buffer is not None and buffer[0] is not _innermost(session):
        raise AuditError("a savepoint was opened inside audit.batched: batch inside it instead")
    seq, prev_hash = _next_link(session)
    row = _link(entry, object_id_text, details_json, seq, prev_hash)
    if buffer is not None:
        buffer[1].append(row)
    else:
        session.execute(insert(AuditEvent), [row])  # flushes what is pending first
    session.info[_HEAD] = (_innermost(session), seq, row["hash"])
    return Appended(**row)


def append_many(session: Session, entries: Iterable[Entry]) -> list[dict[str, Any]]:
    """Add ``entries`` to the chain in order, in one INSERT with many rows (an executemany).

    The chain is exactly the one ``append`` would make one event at a time: the same fields, the
    same hashes, linked in the same order. Every entry is checked before any is written, so a bad
    one leaves the chain as it was. Returns the events' stored rows (``details`` as its JSON).
    """
    checked = [(entry, *_checked(entry)) for entry in entries]
    if not checked:
        return []
    if session.info.get(_BUFFER) is not None:
        raise AuditError("append_many inside audit.batched: use append, or end the block first")
    seq, prev = _next_link(session)
    rows = []
    for entry, object_id, details_json in checked:
        row = _link(entry, object_id, details_json, seq, prev)
        rows.append(row)
        seq, prev = seq + 1, row["hash"]
    session.execute(insert(AuditEvent), rows)
    session.info[_HEAD] = (_innermost(session), rows[-1]["seq"], rows[-1]["hash"])
    return rows


#: Where ``batched`` keeps the transaction it was opened in and the rows it holds.
_BUFFER = "triage.audit.buffer"


@contextmanager
def batched(session: Session) -> Iterator[None]:
    """Within the block, ``append`` gives each event its place in the chain (seq, hashes) at
    once but writes it only when the block ends, all of them in one executemany: a use case
    that records many events (a bulk load, a step of the demo's work) pays for one INSERT.

    The events are written when the block ends, even by an exception while the transaction is
    still usable (the changes they record are still in it; if it rolls back, they go with it).
    A savepoint may not be opened inside the block (its rollback could not take the events with
    it): open the block inside the savepoint. Nothing in the block may read the events back
    from the table.
    """
    if session.info.get(_BUFFER) is not None:
        yield  # already batching: the outer block writes
        return
    rows: list[dict[str, Any]] = []
    transaction = _innermost(session)
    session.info[_BUFFER] = (transaction, rows)
    ended = False
    try:
        yield
        ended = True
    finally:
        del session.info[_BUFFER]
        # After an exception, only into a transaction that is still usable (a failed flush has
        # already rolled it back, and the events with it).
        if rows and (ended or (transaction is not None and transaction.is_active)):
            session.execute(insert(AuditEvent), rows)


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """A savepoint (``session.begin_nested``) whose events are appended in one step
    (``batched``): rolled back with it when the block raises, the parent's once it is released
    — so the next append after it needs no look at the table to find the chain's head."""
    with session.begin_nested() as nested, batched(session):
        yield
    head = session.info.get(_HEAD)
    if head is not None and head[0] is nested:
        session.info[_HEAD] = (_innermost(session), head[1], head[2])


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
                f"gap or reorder: expected seq {expected_seq}, found {seq}"
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


class StoredDetails(str):
    """An event's details as the database holds them, unparsed: the canonical JSON text
    ``append`` wrote (sorted keys, no spaces), which an export can write out as it is."""

    __slots__ = ()


def iter_events(
    session: Session,
    *,
    first_seq: int = 1,
    last_seq: int | None = None,
    batch: int = 2000,
    parsed: bool = True,
) -> Iterator[dict[str, Any]]:
    """Events ``first_seq``..``last_seq`` in chain order, streamed: a server-side cursor on
    PostgreSQL, plain rows rather than ORM objects, so memory stays constant however many.

    ``parsed=False`` leaves each event's details as the stored text (``StoredDetails``), for an
    export, which writes them out unchanged instead of parsing and re-serialising them."""
    table = AuditEvent.__table__
    query = select(*(table.c[name] for name in FIELDS)).where(table.c.seq >= first_seq)
    if last_seq is not None:
        query = query.where(table.c.seq <= last_seq)
    result = session.execute(query.order_by(table.c.seq).execution_options(yield_per=batch))
    details = json.loads if parsed else StoredDetails
    for seq, at, actor, action, object_type, object_id, stored, prev_hash, hash_ in result:
        yield {
            "seq": seq,
            "at": at,
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "details": details(stored),
            "prev_hash": prev_hash,
            "hash": hash_,
        }


def _stored_canonical(row: tuple[Any, ...]) -> bytes:
    """``canonical`` of a stored row (``_ROW``'s columns), built from its stored ``details`` text
    as it is instead of parsing and re-serialising it (keys in ``canonical``'s sorted order).
    Equal to ``canonical`` whenever that text is canonical, as ``append`` stores it; otherwise
    its hash cannot match and ``verify`` falls back to ``canonical`` for that row."""
    seq, at, actor, action, object_type, object_id, details, prev_hash, _ = row

    def quote(value: str | None) -> str:
        return "null" if value is None else _encode_string(value)

    return (
        f'{{"action":{quote(action)},"actor":{quote(actor)},"at":{quote(at)},'
        f'"details":{details},"object_id":{quote(object_id)},'
        f'"object_type":{quote(object_type)},"prev_hash":{quote(prev_hash)},"seq":{int(seq)}}}'
    ).encode()


#: The columns ``verify`` reads, in ``_stored_canonical``'s order, straight from the driver.
_ROW = (
    "SELECT seq, at, actor, action, object_type, object_id, details, prev_hash, hash "
    "FROM audit_event ORDER BY seq"
)


def verify(session: Session, *, batch: int = 5000) -> Verdict:
    """Walk the whole chain in the database, in constant memory.

    Each row is hashed from its stored bytes (``_stored_canonical``); a match proves the row is
    what was appended, since the hash was computed over canonical bytes at append. Only a row
    whose hash does not match is parsed and checked the slow way (``verify_stream``'s rules),
    so the verdict and its reasons are those of ``verify_stream``.
    """
    prev, count, expected = GENESIS_HASH, 0, 1
    sha = hashlib.sha256
    result = session.connection().execution_options(yield_per=batch).exec_driver_sql(_ROW)
    for row in result:
        seq, stored_prev, stored_hash = row[0], row[7], row[8]
        if (
            seq == expected
            and stored_prev == prev
            and sha(prev.encode("ascii") + _stored_canonical(row)).hexdigest() == stored_hash
        ):
            prev, count, expected = stored_hash, count + 1, expected + 1
            continue
        result.close()
        rest = verify_stream(
            iter_events(session, first_seq=seq), first_prev_hash=prev, first_seq=expected
        )
        if rest.ok:
            return Verdict(True, count + rest.count, rest.last_hash)
        return Verdict(False, count + rest.count, rest.last_hash, rest.broken_seq, rest.reason)
    return Verdict(True, count, prev)


@dataclass(frozen=True)
class Filters:
    """What the auditor's view narrows the log by; every field optional."""

    since: str | None = None  # inclusive, ISO 8601 UTC
    until: str | None = None  # exclusive
    actor: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None


def search(
    session: Session, filters: Filters, *, before_seq: int | None = None, limit: int = 50
) -> list[AuditEvent]:
    """A page of events, newest first, matching ``filters``; page on with ``before_seq``."""
    query = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit)
    if before_seq is not None:
        query = query.where(AuditEvent.seq < before_seq)
    if filters.since:
        query = query.where(AuditEvent.at >= filters.since)
    if filters.until:
        query = query.where(AuditEvent.at < filters.until)
    for column, value in (
        (AuditEvent.actor, filters.actor),
        (AuditEvent.action, filters.action),
        (AuditEvent.object_type, filters.object_type),
        (AuditEvent.object_id, filters.object_id),
    ):
        if value:
            query = query.where(column == value)
    return list(session.scalars(query))


def seq_range_for_times(
    session: Session, since: str | None, until: str | None
) -> tuple[int, int] | None:
    """The contiguous sequence range of events with ``since <= at < until``, or ``None``.

    Exports are always contiguous ranges of the chain, so a time range becomes the span from the
    first event at or after ``since`` to the last event before ``until``.
    """
    low = select(func.min(AuditEvent.seq))
    high = select(func.max(AuditEvent.seq))
    if since:
        low = low.where(AuditEvent.at >= since)
        high = high.where(AuditEvent.at >= since)
    if until:
        low = low.where(AuditEvent.at < until)
        high = high.where(AuditEvent.at < until)
    first, last = session.scalar(low), session.scalar(high)
    if first is None or last is None:
        return None
    return int(first), int(last)


# -- use cases shared by the auditor's pages and the ``triage audit`` commands -----------------


def parse_time(text: str, *, field: str) -> str:
    """A user's UTC date or date-time as the fixed-width ``at`` text, for range comparisons."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            N_("%(field)s: '%(text)s' is not a date or time like 2026-11-01T08:00"),
            field=field,
            text=text,
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_time(moment)


@dataclass(frozen=True)
class Span:
    """A contiguous range of the chain chosen for an export, and what the user asked for."""

    first_seq: int
    last_seq: int
    requested: Mapping[str, Scalar]

    @property
    def count(self) -> int:
        return self.last_seq - self.first_seq + 1


def resolve_range(
    session: Session,
    *,
    from_seq: int | None = None,
    to_seq: int | None = None,
    since: str | None = None,
    until: str | None = None,
) -> Span:
    """Turn a sequence and/or time range into the contiguous span of the chain it covers."""
    requested: dict[str, Scalar] = {
        "from_seq": from_seq,
        "to_seq": to_seq,
        "since": since,
        "until": until,
    }
    since_at = parse_time(since, field="since") if since else None
    until_at = parse_time(until, field="until") if until else None
    if since_at and until_at and since_at >= until_at:
        raise InvalidInput(N_("The start of the time range must come before its end."))
    if from_seq is not None and to_seq is not None and from_seq > to_seq:
        raise InvalidInput(N_("The first sequence number must not be greater than the last."))
    span = seq_range_for_times(session, since_at, until_at)
    if span is None:
        raise InvalidInput(N_("There are no events in that range."))
    first = max(span[0], from_seq or 1)
    last = min(span[1], to_seq if to_seq is not None else span[1])
    if first > last:
        raise InvalidInput(N_("There are no events in that range."))
    return Span(first, last, requested)


def record_export(session: Session, span: Span, *, fmt: str, actor: str, via: str) -> Appended:
    return append(
        session,
        actor=actor,
        action="audit.exported",
        object_type="audit_log",
        details={
            "format": fmt,
            "first_seq": span.first_seq,
            "last_seq": span.last_seq,
            "count": span.count,
            "via": via,
        },
    )


def record_verification(session: Session, verdict: Verdict, *, actor: str, via: str) -> Appended:
    return append(
        session,
        actor=actor,
        action="audit.verified",
        object_type="audit_log",
        details={
            "ok": verdict.ok,
            "count": verdict.count,
            "broken_seq": verdict.broken_seq,
            "via": via,
        },
    )
