"""Encrypted backups of the database and their restore into a fresh instance.

A backup is the engine's own consistent copy — SQLite's online backup API, or ``pg_dump`` in its
custom format inside an exported snapshot — streamed through AES-256-GCM in 1 MiB frames, never
held whole in memory. It is encrypted to an X25519 key: the keyring's backup key by default, or
a recipient's public key (an off-site custodian's). Its header is the manifest (format, engine,
time, schema revision, the audit chain's head, the key's id) and is authenticated with every
frame; a last frame holds the plaintext's size and SHA-256. Nothing is restored before every
frame has authenticated and the SHA-256 matched.

The keyring is **not** in a backup: the database's sealed data opens only with it, so the
operator keeps it apart (docs/deployment.md). File format: docs/encryption.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import URL, make_url

from . import audit
from .crypto import Keyring

FORMAT = "triage-backup/1"
MAGIC = b"TRIAGE-BACKUP/1\n"
CHUNK = 1024 * 1024
_MAX_HEADER = 64 * 1024
_NONCE_PREFIX = 7
_WRAP_INFO = b"triage/backup/v1/wrap"
_TAG = 16


class BackupError(Exception):
    """A backup could not be made, read or restored; the message is one line that says why."""


# -- keys --------------------------------------------------------------------------------------


def _raw_public(key: X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: X25519PublicKey) -> str:
    """First 16 hex digits of the SHA-256 of the raw public key: names the key, reveals nothing."""
    return hashlib.sha256(_raw_public(public)).hexdigest()[:16]


def public_pem(public: X25519PublicKey) -> bytes:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public(path: Path) -> X25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise BackupError(f"cannot read the public key {path}: {exc.strerror}") from None
    except ValueError:
        raise BackupError(f"{path} is not a PEM public key") from None
    if not isinstance(key, X25519PublicKey):
        raise BackupError(f"{path} is not an X25519 public key")
    return key


def load_identity(path: Path) -> X25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise BackupError(f"cannot read the identity {path}: {exc.strerror}") from None
    except (ValueError, TypeError):
        raise BackupError(f"{path} is not an unencrypted PEM private key") from None
    if not isinstance(key, X25519PrivateKey):
        raise BackupError(f"{path} is not an X25519 private key")
    return key


def write_identity(path: Path) -> X25519PublicKey:
    """A new X25519 identity for a custodian: the private key (mode 0600, never overwritten) at
    ``path``, its public half at ``path.pub``."""
    key = X25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BackupError(f"{path} already exists; refusing to overwrite it") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    path.with_name(path.name + ".pub").write_bytes(public_pem(key.public_key()))
    return key.public_key()


def _wrap_key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=ephemeral + recipient, info=_WRAP_INFO
    ).derive(shared)


# -- the stream --------------------------------------------------------------------------------


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


class _Sealer:
    """Writes frames: ``length (4 bytes) ‖ AES-GCM(ciphertext ‖ tag)``, the header's SHA-256 as
    associated data, the frame counter and a last-frame flag in the nonce."""

    def __init__(self, out: IO[bytes], file_key: bytes, prefix: bytes, header: bytes) -> None:
        self._out = out
        self._aead = AESGCM(file_key)
        self._prefix = prefix
        self._ad = hashlib.sha256(header).digest()
        self.frames = 0

    def frame(self, data: bytes, *, last: bool = False) -> None:
        if self.frames >= 2**32 - 1:
            raise BackupError("the backup is too large for one file")
        body = self._aead.encrypt(_nonce(self._prefix, self.frames, last), data, self._ad)
        self._out.write(len(body).to_bytes(4, "big") + body)
        self.frames += 1


@dataclass(frozen=True)
class Manifest:
    """The backup's header as read back, and (once the whole file is read) its trailer."""

    header: dict[str, Any]
    size: int = 0
    sha256: str = ""

    @property
    def engine(self) -> str:
        return str(self.header["engine"])

    @property
    def key_id(self) -> str:
        return str(self.header["recipient"]["key_id"])

    def as_dict(self) -> dict[str, Any]:
        public = {k: v for k, v in self.header.items() if k not in ("wrapped_key", "ephemeral")}
        return {**public, "dump_bytes": self.size, "dump_sha256": self.sha256}


class _Plan:
    """One backup's keys and recipient: a fresh file key and nonce prefix each time."""

    def __init__(
        self, *, engine: str, fingerprint: str, recipient: X25519PublicKey, recipient_kind: str
    ) -> None:
        self.engine = engine
        self.fingerprint = fingerprint
        self.recipient = recipient
        self.recipient_kind = recipient_kind
        self.file_key = secrets.token_bytes(32)
        self.prefix = secrets.token_bytes(_NONCE_PREFIX)

    def header(self, revision: str | None, head: tuple[int, str] | None) -> bytes:
        """The manifest: what the backup holds, and the file key wrapped to the recipient."""
        ephemeral = X25519PrivateKey.generate()
        eph_raw, rec_raw = _raw_public(ephemeral.public_key()), _raw_public(self.recipient)
        wrap = _wrap_key(ephemeral.exchange(self.recipient), eph_raw, rec_raw)
        wrapped = AESGCM(wrap).encrypt(bytes(12), self.file_key, FORMAT.encode())
        doc = {
            "format": FORMAT,
            "engine": self.engine,
            "created_at": audit.format_time(datetime.now(UTC)),
            "schema_revision": revision,
            "audit_head": {"seq": head[0], "hash": head[1]} if head else None,
            "keyring_fingerprint": self.fingerprint,
            "recipient": {"kind": self.recipient_kind, "key_id": key_id(self.recipient)},
            "ephemeral": base64.b64encode(eph_raw).decode("ascii"),
            "wrapped_key": base64.b64encode(wrapped).decode("ascii"),
            "nonce_prefix": base64.b64encode(self.prefix).decode("ascii"),
            "chunk_bytes": CHUNK,
            "cipher": "X25519-HKDF-SHA256, AES-256-GCM",
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("utf-8")

    def encrypt(self, chunks: Iterator[bytes], out: IO[bytes], header: bytes) -> tuple[int, str]:
        return _encrypt_stream(chunks, out, header, self.file_key, self.prefix)


def _encrypt_stream(
    chunks: Iterator[bytes], out: IO[bytes], header: bytes, file_key: bytes, prefix: bytes
) -> tuple[int, str]:
    out.write(MAGIC + len(header).to_bytes(4, "big") + header)
    sealer = _Sealer(out, file_key, prefix, header)
    digest, size, pending = hashlib.sha256(), 0, b""
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
        pending += chunk
        while len(pending) >= CHUNK:
            sealer.frame(pending[:CHUNK])
            pending = pending[CHUNK:]
    if pending:
        sealer.frame(pending)
    trailer = {"dump_bytes": size, "dump_sha256": digest.hexdigest(), "frames": sealer.frames}
    sealer.frame(json.dumps(trailer, sort_keys=True).encode("utf-8"), last=True)
    return size, digest.hexdigest()


def read_header(handle: IO[bytes]) -> tuple[bytes, dict[str, Any]]:
    if handle.read(len(MAGIC)) != MAGIC:
        raise BackupError("this is not a triage backup (its first bytes are not TRIAGE-BACKUP/1)")
    length = int.from_bytes(handle.read(4), "big")
    if not 0 < length <= _MAX_HEADER:
        raise BackupError("the backup's header is damaged")
    raw = handle.read(length)
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BackupError("the backup's header is damaged") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BackupError(f"the backup is not in the {FORMAT} format")
    strings = ("engine", "created_at", "ephemeral", "wrapped_key", "nonce_prefix")
    recipient = doc.get("recipient")
    if (
        any(not isinstance(doc.get(name), str) for name in strings)
        or not isinstance(recipient, dict)
        or not isinstance(recipient.get("key_id"), str)
    ):
        raise BackupError("the backup's header is damaged")
    return raw, doc


def peek(source: Path) -> Manifest:
    """The backup's manifest as its header states it, not yet authenticated (that takes the key
    and the whole file: ``decrypt_to``)."""
    try:
        with source.open("rb") as handle:
            return Manifest(read_header(handle)[1])
    except OSError as exc:
        raise BackupError(f"cannot read the backup {source}: {exc.strerror}") from None


def _file_key(doc: dict[str, Any], identity: X25519PrivateKey) -> bytes:
    mine = key_id(identity.public_key())
    theirs = doc["recipient"]["key_id"]
    if mine != theirs:
        raise BackupError(
            f"wrong key: this backup is encrypted to key {theirs}, and the key given is {mine}"
        )
    try:
        eph_raw = base64.b64decode(doc["ephemeral"], validate=True)
        wrapped = base64.b64decode(doc["wrapped_key"], validate=True)
        ephemeral = X25519PublicKey.from_public_bytes(eph_raw)
        wrap = _wrap_key(identity.exchange(ephemeral), eph_raw, _raw_public(identity.public_key()))
        return AESGCM(wrap).decrypt(bytes(12), wrapped, FORMAT.encode())
    except (binascii.Error, ValueError, KeyError, InvalidTag):
        raise BackupError("the backup's key does not open with this key: it was altered") from None


def decrypt_to(source: Path, identity: X25519PrivateKey, out: IO[bytes]) -> Manifest:
    """Decrypt ``source`` into ``out``, frame by frame; refuse (before the caller uses ``out``)
    a wrong key, any frame that does not authenticate, a missing last frame or a wrong hash."""
    try:
        handle = source.open("rb")
    except OSError as exc:
        raise BackupError(f"cannot read the backup {source}: {exc.strerror}") from None
    with handle:
        raw_header, doc = read_header(handle)
        file_key = _file_key(doc, identity)
        try:
            prefix = base64.b64decode(doc["nonce_prefix"], validate=True)
        except (binascii.Error, KeyError):
            raise BackupError("the backup's header is damaged") from None
        aead, ad = AESGCM(file_key), hashlib.sha256(raw_header).digest()
        digest, size, counter = hashlib.sha256(), 0, 0
        damaged = "the backup is damaged or was altered: "
        while True:
            length_bytes = handle.read(4)
            if len(length_bytes) < 4:
                raise BackupError(damaged + f"it ends after frame {counter}, before its last")
            length = int.from_bytes(length_bytes, "big")
            if length < _TAG or length > CHUNK + _TAG + _MAX_HEADER:
                raise BackupError(damaged + f"frame {counter} has an impossible length")
            body = handle.read(length)
            if len(body) < length:
                raise BackupError(damaged + f"it ends inside frame {counter}")
            data = None
            for last in (False, True):
                try:
                    data = aead.decrypt(_nonce(prefix, counter, last), body, ad)
                except InvalidTag:
                    continue
                break
            if data is None:
                raise BackupError(damaged + f"frame {counter} does not authenticate")
            counter += 1
            if last:
                break
            digest.update(data)
            size += len(data)
            out.write(data)
        if handle.read(1):
            raise BackupError(damaged + "there are bytes after its last frame")
    trailer = json.loads(data.decode("utf-8"))
    if trailer.get("dump_bytes") != size or trailer.get("dump_sha256") != digest.hexdigest():
        raise BackupError(damaged + "the restored bytes' SHA-256 differs from the manifest's")
    return Manifest(doc, size, digest.hexdigest())


# -- making a backup ---------------------------------------------------------------------------


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq URL for pg_dump/pg_restore and an environment holding the password (kept off
    the command line, which other users of the machine can read)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (the PostgreSQL client tools are needed)")
    return found


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError("only a SQLite database in a file can be backed up")
    return Path(database)


@contextmanager
def _private_temp(near: Path) -> Iterator[Path]:
    """A folder only this user can read, beside ``near`` (same filesystem: renames are atomic)."""
    folder = Path(tempfile.mkdtemp(prefix=".triage-backup-", dir=near.parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _head_and_revision(connection: Any) -> tuple[tuple[int, str] | None, str | None]:
    head = connection.execute(
        text("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1")
    ).first()
    revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return ((int(head[0]), str(head[1])) if head else None), revision


@dataclass(frozen=True)
class Made:
    path: Path
    manifest: Manifest
    encrypted_bytes: int


def create(
    engine: Engine,
    ring: Keyring,
    out_path: Path,
    *,
    recipient: X25519PublicKey | None = None,
    progress: Callable[[int], None] = lambda _n: None,
) -> Made:
    """Back the database up into ``out_path`` (which must not exist), encrypted to
    ``recipient`` or to the keyring's backup key."""
    if out_path.exists():
        raise BackupError(f"{out_path} already exists; refusing to overwrite it")
    kind = "public-key" if recipient is not None else "keyring"
    plan = _Plan(
        engine=engine.dialect.name,
        fingerprint=ring.fingerprint,
        recipient=recipient or ring.backup_identity().public_key(),
        recipient_kind=kind,
    )
    partial = out_path.with_name(out_path.name + ".partial")

    def counted(chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            progress(len(chunk))
            yield chunk

    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            if engine.dialect.name == "sqlite":
                size, digest, head_doc = _sqlite_backup(engine, out_path, out, plan, counted)
            elif engine.dialect.name == "postgresql":
                size, digest, head_doc = _pg_backup(engine, out, plan, counted)
            else:
                raise BackupError(f"cannot back up a {engine.dialect.name} database")
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, out_path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    manifest = Manifest(json.loads(head_doc), size, digest)
    return Made(out_path, manifest, out_path.stat().st_size)


def _sqlite_backup(
    engine: Engine,
    out_path: Path,
    out: IO[bytes],
    plan: _Plan,
    counted: Callable[[Iterator[bytes]], Iterator[bytes]],
) -> tuple[int, str, bytes]:
    source_path = _sqlite_path(engine)
    with _private_temp(out_path) as folder:
        copy_path = folder / "copy.sqlite3"
        source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
        copy = sqlite3.connect(copy_path)
        try:
            source.backup(copy, pages=4096)  # a consistent copy, online; writers may go on
            row = copy.execute("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1")
            last = row.fetchone()
            head = (int(last[0]), str(last[1])) if last else None
            revision = copy.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        finally:
            copy.close()
            source.close()
        head_doc = plan.header(revision, head)
        size, digest = plan.encrypt(counted(_file_chunks(copy_path)), out, head_doc)
    return size, digest, head_doc


def _pg_backup(
    engine: Engine,
    out: IO[bytes],
    plan: _Plan,
    counted: Callable[[Iterator[bytes]], Iterator[bytes]],
) -> tuple[int, str, bytes]:
    pg_dump = _run_tool("pg_dump")
    url, env = _libpq(engine.url)
    with engine.connect() as connection:
        # One snapshot for the manifest's head and for the dump itself: they describe the same
        # moment, however many writers go on meanwhile.
        connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
        head, revision = _head_and_revision(connection)
        head_doc = plan.header(revision, head)
        command = [pg_dump, "--format=custom", "--no-owner", "--no-privileges"]
        command += [f"--snapshot={snapshot}", f"--dbname={url}"]
        process = subprocess.Popen(  # noqa: S603 (a fixed program, arguments not from a shell)
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        assert process.stdout is not None and process.stderr is not None

        def chunks() -> Iterator[bytes]:
            while chunk := process.stdout.read(CHUNK):  # type: ignore[union-attr]
                yield chunk

        try:
            size, digest = plan.encrypt(counted(chunks()), out, head_doc)
        finally:
            errors = process.stderr.read().decode("utf-8", "replace").strip()
            code = process.wait()
        # Leaving the block ends the snapshot's transaction (a rollback: it wrote nothing).
    if code != 0:
        last = errors.splitlines()[-1] if errors else f"exit status {code}"
        raise BackupError(f"pg_dump failed: {last}")
    return size, digest, head_doc


# -- restoring ---------------------------------------------------------------------------------


def is_empty(engine: Engine) -> bool:
    """Whether the target database holds no tables (a fresh instance)."""
    if engine.dialect.name == "sqlite":
        path = _sqlite_path(engine)
        if not path.exists() or path.stat().st_size == 0:
            return True
    return not inspect(engine).get_table_names()


@dataclass(frozen=True)
class Restored:
    manifest: Manifest


def restore(
    engine: Engine, source: Path, identity: X25519PrivateKey, *, force: bool = False
) -> Restored:
    """Restore ``source`` into ``engine``'s database, which must be empty unless ``force``.

    The whole backup is decrypted and checked into a private temporary file first: a wrong key
    or an altered byte leaves the target untouched.
    """
    with source.open("rb") as handle:
        _raw, doc = read_header(handle)
    if doc["engine"] != engine.dialect.name:
        raise BackupError(
            f"this is a backup of a {doc['engine']} database; the target is {engine.dialect.name}"
        )
    if not force and not is_empty(engine):
        raise BackupError(
            "the target database is not empty; restore into a fresh one, or give --force to "
            "replace everything in it"
        )
    near = _sqlite_path(engine) if engine.dialect.name == "sqlite" else source
    near.parent.mkdir(parents=True, exist_ok=True)
    with _private_temp(near) as folder:
        plain = folder / "restore.dump"
        fd = os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            manifest = decrypt_to(source, identity, out)
            out.flush()
            os.fsync(out.fileno())
        if engine.dialect.name == "sqlite":
            _sqlite_restore(engine, plain)
        else:
            _pg_restore(engine, plain, force=force)
    return Restored(manifest)


def _sqlite_restore(engine: Engine, plain: Path) -> None:
    target = _sqlite_path(engine)
    engine.dispose()
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(plain, target)
    os.chmod(target, 0o600)


def _pg_restore(engine: Engine, plain: Path, *, force: bool) -> None:
    pg_restore = _run_tool("pg_restore")
    url, env = _libpq(engine.url)
    if force:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    command = [pg_restore, "--no-owner", "--no-privileges", "--single-transaction"]
    command += ["--exit-on-error", f"--dbname={url}", str(plain)]
    done = subprocess.run(command, capture_output=True, env=env, check=False)  # noqa: S603
    if done.returncode != 0:
        errors = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise BackupError(f"pg_restore failed: {errors[-1] if errors else done.returncode}")


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
