"""Exports of the audit log, their signed manifests, and offline verification of both.

An export is a contiguous range of the chain as JSON Lines or CSV, streamed in constant memory.
Its manifest names the range, the count, the first ``prev_hash`` and last ``hash``, and the
export file's SHA-256, and is signed with the instance's Ed25519 key. ``verify_export`` needs only
the file, the manifest and the public key — no database, no keyring — so an oversight body can
check an export on its own machine.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .audit import FIELDS, GENESIS_HASH, StoredDetails, verify_stream
from .crypto import CryptoError, Keyring, verify_signature

FORMATS = ("jsonl", "csv")
MANIFEST_VERSION = 1
_CHUNK = 64 * 1024
# A spreadsheet runs a cell that starts with one of these as a formula. An apostrophe is escaped
# too, so that removing exactly one leading apostrophe always restores the original value.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


class ExportError(ValueError):
    """An export could not be made or read; the message says why."""


# -- writing -----------------------------------------------------------------------------------


_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_string = json.encoder.encode_basestring  # a str as JSON, non-ASCII kept (ensure_ascii=False)
#: A line's frame: the format's keys in its order, a ``%s`` for each value.
_LINE = "{" + ",".join(f"{_string(name)}:%s" for name in FIELDS) + "}\n"


def _json(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return _string(value)
    if kind is int:
        return str(value)
    if kind is StoredDetails:
        return value  # type: ignore[no-any-return]
    return _encode(value)


def jsonl_line(event: Mapping[str, Any]) -> bytes:
    """One event as one JSON Lines line: exactly the format's fields, in the format's order,
    the bytes of ``json.dumps(event, separators=(",", ":"), ensure_ascii=False)``.

    Details still in their stored text (``StoredDetails``, canonical JSON) are written as they
    are: the same bytes as their parsed value would give, since parsing keeps their sorted key
    order, without the cost of a round trip."""
    return (_LINE % tuple(_json(event[name]) for name in FIELDS)).encode()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    else:  # StoredDetails among them: canonical already, as the branch above writes a dict
        text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _uncsv_cell(text: str) -> str:
    return text[1:] if text.startswith("'") else text


class _CsvRows:
    """CSV encoding one row at a time, so rows stream."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\r\n")

    def row(self, values: Iterable[Any]) -> bytes:
        self._writer.writerow(values)
        data = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return data.encode("utf-8")


def encode(events: Iterable[Mapping[str, Any]], fmt: str) -> Iterator[bytes]:
    """The export file's bytes, one line at a time."""
    if fmt == "jsonl":
        for event in events:
            yield jsonl_line(event)
    elif fmt == "csv":
        rows = _CsvRows()
        yield rows.row(FIELDS)
        for event in events:
            yield rows.row(_csv_cell(event[name]) for name in FIELDS)
    else:
        raise ExportError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")


@dataclass
class Summary:
    """What an export held, gathered while it was written."""

    count: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    first_prev_hash: str | None = None
    last_hash: str | None = None
    sha256: str = ""
    _digest: Any = field(default_factory=hashlib.sha256, repr=False)

    def observe(self, event: Mapping[str, Any]) -> Mapping[str, Any]:
        if self.count == 0:
            self.first_seq, self.first_prev_hash = event["seq"], event["prev_hash"]
        self.last_seq, self.last_hash = event["seq"], event["hash"]
        self.count += 1
        return event

    def consume(self, chunk: bytes) -> bytes:
        self._digest.update(chunk)
        return chunk

    def finish(self) -> Summary:
        self.sha256 = self._digest.hexdigest()
        return self


def stream(events: Iterable[Mapping[str, Any]], fmt: str, summary: Summary) -> Iterator[bytes]:
    """Encode ``events``, filling ``summary`` as they pass; call ``summary.finish()`` after."""
    for chunk in encode((summary.observe(e) for e in events), fmt):
        yield summary.consume(chunk)


def write(events: Iterable[Mapping[str, Any]], fmt: str, out: IO[bytes]) -> Summary:
    summary = Summary()
    for chunk in stream(events, fmt, summary):
        out.write(chunk)
    return summary.finish()


# -- manifests ---------------------------------------------------------------------------------


def _canonical(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def public_key_id(public_key_pem: bytes) -> str:
    return hashlib.sha256(public_key_pem).hexdigest()[:16]


def make_manifest(
    summary: Summary,
    *,
    fmt: str,
    file_name: str,
    requested: Mapping[str, Any],
    created_at: str,
    created_by: str,
    ring: Keyring,
    checkpoint: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The signed manifest of an export. The signature covers every other field.

    ``checkpoint``: the signed head of the chain taken with the export (``triage.checkpoints``),
    carried so the auditor keeps it with the bundle.
    """
    public_key = ring.public_key_pem()
    manifest: dict[str, Any] = {
        "manifest_version": MANIFEST_VERSION,
        "format": fmt,
        "file_name": file_name,
        "file_sha256": summary.sha256,
        "count": summary.count,
        "first_seq": summary.first_seq,
        "last_seq": summary.last_seq,
        "first_prev_hash": summary.first_prev_hash,
        "last_hash": summary.last_hash,
        "requested": dict(requested),
        "created_at": created_at,
        "created_by": created_by,
        "signing_key_id": public_key_id(public_key),
        "signature_algorithm": "Ed25519",
    }
    if checkpoint is not None:
        manifest["checkpoint"] = dict(checkpoint)
    manifest["signature"] = base64.b64encode(ring.sign(_canonical(manifest))).decode("ascii")
    return manifest


def manifest_text(manifest: Mapping[str, Any]) -> str:
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"


# -- the web download: data and manifest in one ZIP, streamed ----------------------------------


class _Sink(io.RawIOBase):
    """A write-only stream that hands its bytes to a generator; not seekable, so ``zipfile``
    writes sizes after the data and never needs to go back."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._chunks.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def take(self) -> bytes:
        data, self._chunks = b"".join(self._chunks), []
        return data


def zip_stream(
    events: Iterable[Mapping[str, Any]],
    fmt: str,
    manifest_for: Callable[[Summary, str], Mapping[str, Any]],
) -> Iterator[bytes]:
    """``events.<fmt>`` and ``manifest.json`` in one ZIP, produced as it is sent."""
    sink = _Sink()
    data_name = f"events.{fmt}"
    summary = Summary()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open(data_name, "w", force_zip64=True) as member:
            pending = 0
            for chunk in stream(events, fmt, summary):
                member.write(chunk)
                pending += len(chunk)
                if pending >= _CHUNK:
                    pending = 0
                    if data := sink.take():
                        yield data
        manifest = manifest_for(summary.finish(), data_name)
        archive.writestr("manifest.json", manifest_text(manifest))
    yield sink.take()


# -- offline verification ----------------------------------------------------------------------


@dataclass
class ExportVerdict:
    ok: bool
    count: int = 0
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if self.ok:
            return f"OK: signature valid, file hash matches, {self.count} events chain correctly"
        return "REFUSED:\n" + "\n".join(f"  - {p}" for p in self.problems)


def _parse_jsonl(handle: IO[bytes]) -> Iterator[tuple[int, dict[str, Any] | str]]:
    for number, raw in enumerate(handle, start=1):
        try:
            event = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            yield number, "is not valid JSON"
            continue
        if not isinstance(event, dict) or set(event) != set(FIELDS):
            yield number, "does not have exactly the fields of the format"
            continue
        yield number, event


def _parse_csv(handle: IO[bytes]) -> Iterator[tuple[int, dict[str, Any] | str]]:
    text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader)
    except (StopIteration, UnicodeDecodeError, csv.Error):
        yield 1, "is not the CSV header of the format"
        return
    if tuple(header) != FIELDS:
        yield 1, "is not the CSV header of the format"
        return
    for index, row in enumerate(reader, start=2):
        if len(row) != len(FIELDS):
            yield index, "does not have exactly the fields of the format"
            continue
        cells = dict(zip(FIELDS, (_uncsv_cell(c) for c in row), strict=True))
        try:
            event: dict[str, Any] = {
                "seq": int(cells["seq"]),
                "at": cells["at"],
                "actor": cells["actor"],
                "action": cells["action"],
                "object_type": cells["object_type"] or None,
                "object_id": cells["object_id"] or None,
                "details": json.loads(cells["details"]),
                "prev_hash": cells["prev_hash"],
                "hash": cells["hash"],
            }
        except (ValueError, json.JSONDecodeError):
            yield index, "has a field that cannot be read"
            continue
        yield index, event


class _Lines:
    """The parsed events of an export for ``verify_stream``, remembering the line each came from
    and the first line that could not be read at all."""

    def __init__(self, parsed: Iterator[tuple[int, dict[str, Any] | str]]) -> None:
        self._parsed = parsed
        self.line = 0
        self.error = ""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        try:
            for line, event in self._parsed:
                self.line = line
                if isinstance(event, str):
                    self.error = f"line {line} {event}"
                    return
                yield event
        except (UnicodeDecodeError, csv.Error):
            self.error = f"line {self.line + 1} is not valid UTF-8 CSV text"


def read_export_events(data_path: Path, fmt: str) -> Iterator[dict[str, Any]]:
    """The events of an export file, in file order (for checks beyond ``verify_export``, which
    has already refused a file that does not parse)."""
    with data_path.open("rb") as handle:
        lines = _Lines(_parse_jsonl(handle) if fmt == "jsonl" else _parse_csv(handle))
        yield from lines
        if lines.error:
            raise ExportError(lines.error)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _load_manifest(manifest_path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExportError(f"cannot read the manifest {manifest_path}: {exc}") from None
    required = {"format", "file_sha256", "count", "first_prev_hash", "last_hash", "signature"}
    if not isinstance(manifest, dict) or not required <= set(manifest):
        raise ExportError(f"{manifest_path} is not a triage export manifest")
    return manifest


def verify_export(data_path: Path, manifest_path: Path, public_key_path: Path) -> ExportVerdict:
    """Check the manifest's signature, the file's hash, and the chain inside the file."""
    manifest = _load_manifest(manifest_path)
    try:
        public_key = public_key_path.read_bytes()
    except OSError as exc:
        raise ExportError(f"cannot read the public key {public_key_path}: {exc.strerror}") from None
    unsigned = {k: v for k, v in manifest.items() if k != "signature"}
    try:
        signature = base64.b64decode(str(manifest["signature"]), validate=True)
        signed = verify_signature(public_key, signature, _canonical(unsigned))
    except (binascii.Error, ValueError):
        signed = False
    except CryptoError as exc:
        raise ExportError(str(exc)) from None
    if not signed:
        return ExportVerdict(
            False, problems=["the manifest's signature does not verify with this public key"]
        )

    fmt = manifest["format"]
    if fmt not in FORMATS:
        return ExportVerdict(False, problems=[f"the manifest names an unknown format {fmt!r}"])
    problems: list[str] = []
    first_prev = manifest["first_prev_hash"] or GENESIS_HASH
    try:
        handle = data_path.open("rb")
    except OSError as exc:
        raise ExportError(f"cannot read the export {data_path}: {exc.strerror}") from None
    with handle:
        lines = _Lines(_parse_jsonl(handle) if fmt == "jsonl" else _parse_csv(handle))
        verdict = verify_stream(
            lines, first_prev_hash=first_prev, first_seq=manifest.get("first_seq")
        )
    count, prev = verdict.count, verdict.last_hash
    if lines.error:
        problems.append(lines.error)
    elif not verdict.ok:
        problems.append(f"line {lines.line} (seq {verdict.broken_seq}): {verdict.reason}")
    if not problems:
        if count != manifest["count"]:
            problems.append(
                f"the file holds {count} events but the manifest says {manifest['count']}"
            )
        elif count and prev != manifest["last_hash"]:
            problems.append("the file's last hash is not the manifest's last_hash")
    if _file_sha256(data_path) != manifest["file_sha256"]:
        problems.append(
            "the file's SHA-256 differs from the manifest's: the file is not the one signed"
        )
    return ExportVerdict(not problems, count, problems)
