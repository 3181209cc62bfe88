"""Signed checkpoints of the audit chain's head, kept outside the database.

Whoever can write the database can delete an event and recompute every hash after it: the chain
then verifies again. A checkpoint is the head's ``seq`` and ``hash`` at one moment, signed with
the instance's Ed25519 key (in the keyring, which the database never holds) and written to an
append-only JSON Lines file and, optionally, POSTed to an auditor. A chain checked against the
checkpoints must still reach every signed head with exactly its hash: a rewritten or truncated
history no longer does, and nobody without the keyring can sign a new head.

The checkpoint format is public (docs/audit.md); ``verify_chain`` and ``verify_export`` need
only the checkpoints, the events and the public key.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from . import audit
from .audit_export import ExportError, public_key_id, read_export_events, verify_export
from .config import Settings
from .crypto import CryptoError, Keyring, verify_signature
from .models import AuditEvent
from .notify import signing

CHECKPOINT_VERSION = 1
#: Signed before the canonical JSON, so a checkpoint's signature can never pass for an export
#: manifest's (made with the same key) or the other way round.
_DOMAIN = b"triage/checkpoint/v1\n"
_FIELDS = (
    "checkpoint_version",
    "instance",
    "counter",
    "seq",
    "hash",
    "head_at",
    "at",
    "key_id",
    "signature_algorithm",
    "signature",
)


class CheckpointError(ValueError):
    """Checkpoints could not be written, read or trusted; the message says why."""


def _canonical(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head ``seq``/``hash`` (and its event's ``at``), signed at ``at``."""

    counter: int
    seq: int
    hash: str
    head_at: str
    at: str
    instance: str
    key_id: str
    signature: str

    def body(self) -> dict[str, Any]:
        return {
            "checkpoint_version": CHECKPOINT_VERSION,
            "instance": self.instance,
            "counter": self.counter,
            "seq": self.seq,
            "hash": self.hash,
            "head_at": self.head_at,
            "at": self.at,
            "key_id": self.key_id,
            "signature_algorithm": "Ed25519",
        }

    def as_dict(self) -> dict[str, Any]:
        return {**self.body(), "signature": self.signature}

    def line(self) -> str:
        return json.dumps(self.as_dict(), separators=(",", ":"), ensure_ascii=False) + "\n"

    def signed_bytes(self) -> bytes:
        return _DOMAIN + _canonical(self.body())

    def verifies(self, public_key_pem: bytes) -> bool:
        try:
            signature = base64.b64decode(self.signature, validate=True)
            return verify_signature(public_key_pem, signature, self.signed_bytes())
        except (binascii.Error, ValueError):
            return False

    def __str__(self) -> str:
        return f"checkpoint #{self.counter} of {self.at} (seq {self.seq})"

    @classmethod
    def from_doc(cls, doc: object) -> Checkpoint:
        if not isinstance(doc, dict) or set(doc) != set(_FIELDS):
            raise CheckpointError("does not have exactly the fields of a checkpoint")
        if doc["checkpoint_version"] != CHECKPOINT_VERSION:
            raise CheckpointError(f"is checkpoint version {doc['checkpoint_version']!r}, not 1")
        ints = ("counter", "seq")
        strings = ("hash", "head_at", "at", "instance", "key_id", "signature")
        if any(not isinstance(doc[k], int) or isinstance(doc[k], bool) for k in ints) or any(
            not isinstance(doc[k], str) for k in strings
        ):
            raise CheckpointError("has a field of the wrong type")
        return cls(**{k: doc[k] for k in (*ints, *strings)})


def sign_head(
    ring: Keyring, *, counter: int, seq: int, hash: str, head_at: str, at: str | None = None
) -> Checkpoint:
    unsigned = Checkpoint(
        counter=counter,
        seq=seq,
        hash=hash,
        head_at=head_at,
        at=at or audit.format_time(datetime.now(UTC)),
        instance=ring.fingerprint,
        key_id=public_key_id(ring.public_key_pem()),
        signature="",
    )
    signature = base64.b64encode(ring.sign(unsigned.signed_bytes())).decode("ascii")
    return Checkpoint(**{**unsigned.__dict__, "signature": signature})


# -- the file ----------------------------------------------------------------------------------


def checkpoint_file(settings: Settings) -> Path:
    if settings.checkpoint_file:
        return Path(settings.checkpoint_file)
    return settings.instance_path / "checkpoints.jsonl"


def read_file(path: Path) -> list[Checkpoint]:
    """Every checkpoint in a JSON Lines file, in file order; a line that is not one is refused."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise CheckpointError(f"no checkpoint file at {path}") from None
    except OSError as exc:
        raise CheckpointError(f"cannot read the checkpoints at {path}: {exc.strerror}") from None
    found: list[Checkpoint] = []
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                found.append(Checkpoint.from_doc(json.loads(raw.decode("utf-8"))))
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise CheckpointError(f"{path} line {number} is not valid JSON") from None
            except CheckpointError as exc:
                raise CheckpointError(f"{path} line {number} {exc}") from None
    return found


def load_trusted(path: Path, public_key_pem: bytes) -> list[Checkpoint]:
    """The file's checkpoints, each signature checked: one that does not verify is refused, since
    a forged checkpoint must not count as the auditor's evidence (nor hide a rewrite)."""
    found = read_file(path)
    for checkpoint in found:
        try:
            ok = checkpoint.verifies(public_key_pem)
        except CryptoError as exc:
            raise CheckpointError(str(exc)) from None
        if not ok:
            raise CheckpointError(
                f"{checkpoint} in {path}: its signature does not verify with this public key"
            )
    return found


def _last(handle: Any) -> Checkpoint | None:
    """The file's last checkpoint, read from its end (the file only grows)."""
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(max(0, size - 4096))
    lines = [line for line in handle.read().splitlines() if line.strip()]
    if not lines:
        return None
    try:
        return Checkpoint.from_doc(json.loads(lines[-1].decode("utf-8")))
    except (ValueError, CheckpointError, UnicodeDecodeError):
        raise CheckpointError("the checkpoint file's last line is not a checkpoint") from None


def _last_counter(handle: Any) -> int:
    last = _last(handle)
    return last.counter if last else 0


def append(path: Path, ring: Keyring, *, seq: int, hash: str, head_at: str) -> Checkpoint:
    """Sign the head and append it to the file, under an exclusive lock (so two writers never
    take the same counter), fsynced. The file is created with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "r+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            counter = _last_counter(handle) + 1
            checkpoint = sign_head(ring, counter=counter, seq=seq, hash=hash, head_at=head_at)
            handle.write(checkpoint.line().encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    return checkpoint


# -- the auditor's webhook ---------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects())


def post(url: str, checkpoint: Checkpoint, *, secret: str = "", timeout: float = 10) -> None:
    """POST the checkpoint's JSON to the auditor. The body is signed (Ed25519) by itself; with a
    shared secret it also carries the ``X-Triage-Signature`` HMAC header the alerts use."""
    if not url.startswith(("https://", "http://")):
        raise CheckpointError("TRIAGE_CHECKPOINT_WEBHOOK must be an http or https URL")
    body = checkpoint.line().encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if secret:
        now = int(datetime.now(UTC).timestamp())
        headers[signing.SIGNATURE_HEADER] = signing.sign(secret, body, now)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise CheckpointError(f"the checkpoint webhook answered {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CheckpointError(f"the checkpoint webhook could not be reached: {reason}") from None
    if not 200 <= status < 300:
        raise CheckpointError(f"the checkpoint webhook answered {status}")


# -- use cases ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    checkpoint: Checkpoint
    path: Path
    webhook_error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return self.checkpoint.as_dict()


@dataclass(frozen=True)
class Head:
    """An event to be signed as the chain's head: its ``seq``, ``hash`` and ``at``."""

    seq: int
    hash: str
    at: str

    @classmethod
    def of(cls, event: AuditEvent | audit.Appended) -> Head:
        return cls(event.seq, event.hash, event.at)


def _still_reaches_last(session: Session, path: Path) -> None:
    """Refuse to sign a head whose chain no longer holds the file's last signed head: signing
    would lend the instance's key to a rewritten history."""
    try:
        with path.open("rb") as handle:
            last = _last(handle)
    except FileNotFoundError:
        return
    if last is None:
        return
    event = session.get(AuditEvent, last.seq)
    if event is None or event.hash != last.hash:
        raise CheckpointError(
            f"refusing to sign: the chain no longer holds the event signed in {last}; "
            f"run `triage audit verify --checkpoint {path}`"
        )


def publish(settings: Settings, ring: Keyring, head: Head, reader: Session) -> Published:
    """Sign ``head`` and append it to the checkpoint file, then post it to the auditor.

    Call after the transaction that wrote the head's event has committed (``reader`` is a
    session that sees it): a checkpoint of an event that was rolled back would be a head the
    chain never had. The chain must still hold the file's last signed head. A webhook failure
    does not undo the file's copy; it is returned for the caller to report.
    """
    path = checkpoint_file(settings)
    _still_reaches_last(reader, path)
    try:
        checkpoint = append(path, ring, seq=head.seq, hash=head.hash, head_at=head.at)
    except OSError as exc:
        raise CheckpointError(f"cannot write the checkpoint file {path}: {exc.strerror}") from None
    error = ""
    if settings.checkpoint_webhook:
        try:
            post(
                settings.checkpoint_webhook,
                checkpoint,
                secret=settings.checkpoint_webhook_secret,
            )
        except CheckpointError as exc:
            error = str(exc)
    return Published(checkpoint, path, error)


def record(session: Session, *, actor: str, via: str) -> audit.Appended:
    """The event a checkpoint signs: ``audit.checkpointed``, so the log says it was taken."""
    return audit.append(
        session, actor=actor, action="audit.checkpointed", object_type="audit_log",
        details={"via": via},
    )  # fmt: skip


# -- checking a chain against checkpoints ------------------------------------------------------


@dataclass(frozen=True)
class CheckpointVerdict:
    ok: bool
    count: int
    last_hash: str
    reached: int = 0
    latest: Checkpoint | None = None
    broken_seq: int | None = None
    reason: str = ""

    def __str__(self) -> str:
        if self.ok:
            tail = f", latest {self.latest}" if self.latest else ""
            return (
                f"OK: {self.count} events, chain intact, last hash {self.last_hash}; "
                f"reaches all {self.reached} signed checkpoints{tail}"
            )
        return f"BROKEN at seq {self.broken_seq}: {self.reason}"


class _Watch:
    """Passes events on to the chain walk, stopping at the first that contradicts a checkpoint."""

    def __init__(self, events: Iterable[Mapping[str, Any]], by_seq: Mapping[int, Checkpoint]):
        self._events = events
        self._by_seq = by_seq
        self.mismatch: Checkpoint | None = None
        self.reached = 0

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        for event in self._events:
            checkpoint = self._by_seq.get(event.get("seq"))  # type: ignore[arg-type]
            if checkpoint is not None:
                if event.get("hash") != checkpoint.hash:
                    self.mismatch = checkpoint
                    return
                self.reached += 1
            yield event


@dataclass(frozen=True)
class _Index:
    by_seq: dict[int, Checkpoint]
    #: Two checkpoints that sign different hashes for one seq: the instance was made to sign a
    #: rewritten chain after it had signed the original.
    contradiction: tuple[int, str] | None = None


def _index(checkpoints: Sequence[Checkpoint]) -> _Index:
    by_seq: dict[int, Checkpoint] = {}
    for checkpoint in checkpoints:
        known = by_seq.setdefault(checkpoint.seq, checkpoint)
        if known.hash != checkpoint.hash:
            reason = (
                f"{known} and {checkpoint} sign different hashes for this seq: "
                "the history was rewritten between them"
            )
            return _Index(by_seq, (checkpoint.seq, reason))
    return _Index(by_seq)


def _rewritten(checkpoint: Checkpoint) -> str:
    return (
        f"the event's hash is not the one signed in {checkpoint}: "
        "the history up to it was rewritten"
    )


def verify_chain(
    events: Iterable[Mapping[str, Any]], checkpoints: Sequence[Checkpoint]
) -> CheckpointVerdict:
    """The whole chain (from seq 1) must verify and reach every checkpoint with its hash."""
    index = _index(checkpoints)
    if index.contradiction is not None:
        seq, reason = index.contradiction
        return CheckpointVerdict(False, 0, "", broken_seq=seq, reason=reason)
    by_seq = index.by_seq
    watch = _Watch(events, by_seq)
    verdict = audit.verify_stream(watch)
    if not verdict.ok:
        return CheckpointVerdict(
            False, verdict.count, verdict.last_hash, watch.reached,
            broken_seq=verdict.broken_seq, reason=verdict.reason,
        )  # fmt: skip
    if watch.mismatch is not None:
        return CheckpointVerdict(
            False, verdict.count, verdict.last_hash, watch.reached,
            broken_seq=watch.mismatch.seq, reason=_rewritten(watch.mismatch),
        )  # fmt: skip
    beyond = [c for c in by_seq.values() if c.seq > verdict.count]
    if beyond:
        head = max(beyond, key=lambda c: c.seq)
        return CheckpointVerdict(
            False, verdict.count, verdict.last_hash, watch.reached, broken_seq=head.seq,
            reason=(
                f"the chain ends at seq {verdict.count}, before the signed head in {head}: "
                "events were removed"
            ),
        )  # fmt: skip
    latest = max(checkpoints, key=lambda c: c.counter) if checkpoints else None
    return CheckpointVerdict(True, verdict.count, verdict.last_hash, watch.reached, latest)


def verify_database(session: Session, checkpoints: Sequence[Checkpoint]) -> CheckpointVerdict:
    """``verify_chain`` over the database's events. Load the checkpoints before calling, so
    every one of them was taken of a head committed before this walk began."""
    return verify_chain(audit.iter_events(session), checkpoints)


# -- an export against checkpoints (the auditor's offline check) -------------------------------


@dataclass(frozen=True)
class ExportCheck:
    """An export checked against checkpoints: its problems (none when it passes) and how many
    checkpoints fell within its range and matched."""

    problems: list[str]
    covered: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        if self.ok:
            return (
                "OK: signature valid, file hash matches, chain intact; "
                f"{self.covered} signed checkpoints within the export match it"
            )
        return "REFUSED:\n" + "\n".join(f"  - {p}" for p in self.problems)


def verify_export_with_checkpoints(
    data_path: Path, manifest_path: Path, public_key_path: Path, checkpoint_path: Path
) -> ExportCheck:
    """An export checked against the auditor's checkpoints.

    First the export itself (signature, file hash, chain). Then: every checkpoint whose seq the
    export covers must match its event's hash; and every checkpoint whose head came before the
    head signed into the export's manifest (``head_at``) must lie within what the chain had then
    (its seq at most that head's): a signed head beyond it means the chain was cut short.
    """
    verdict = verify_export(data_path, manifest_path, public_key_path)
    if not verdict.ok:
        return ExportCheck(verdict.problems)
    try:
        public_key = public_key_path.read_bytes()
        trusted = load_trusted(checkpoint_path, public_key)
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ExportError(f"cannot read the checkpoints or manifest: {exc}") from None
    problems: list[str] = []
    embedded: Checkpoint | None = None
    if manifest.get("checkpoint") is not None:
        try:
            embedded = Checkpoint.from_doc(manifest["checkpoint"])
        except CheckpointError as exc:
            problems.append(f"the manifest's checkpoint {exc}")
        else:
            if not embedded.verifies(public_key):
                problems.append(f"the manifest's {embedded} does not verify with this public key")
    index = _index([*trusted, *([embedded] if embedded else [])])
    by_seq = index.by_seq
    if index.contradiction is not None:
        problems.append(f"seq {index.contradiction[0]}: {index.contradiction[1]}")
    first, last = manifest.get("first_seq") or 0, manifest.get("last_seq") or 0
    for event in read_export_events(data_path, manifest["format"]):
        checkpoint = by_seq.get(event["seq"])
        if checkpoint is not None and checkpoint.hash != event["hash"]:
            problems.append(f"seq {event['seq']}: {_rewritten(checkpoint)}")
            break
    requested = manifest.get("requested") or {}
    whole = requested.get("to_seq") is None and requested.get("until") is None
    for checkpoint in trusted:
        if embedded is not None:
            # The signed head of the export's moment: every head signed before it was a head
            # of the same chain, so its seq cannot lie beyond.
            cut = checkpoint.head_at < embedded.head_at and checkpoint.seq > embedded.seq
            end = embedded.seq
        else:
            # No signed head (the instance refused to sign one): an export of the whole chain
            # must reach every head signed before it was made.
            cut = whole and checkpoint.seq > last and checkpoint.head_at < manifest["created_at"]
            end = last
        if cut:
            problems.append(
                f"seq {checkpoint.seq}: when this export was made the chain ended at seq "
                f"{end}, before the signed head in {checkpoint}: events were removed"
            )
            break
    covered = sum(1 for c in by_seq.values() if first <= c.seq <= last)
    return ExportCheck(problems, 0 if problems else covered)
