"""The keyring and everything done with its keys: sealing, blind indexes, signatures.

This is the only module that sees key material. Callers get and store opaque values — a
``WrappedKey`` beside each sealed record, sealed blobs, index tokens, signatures — and never a
raw key. A KMS (Vault transit, a cloud KMS) would plug in at ``load_keyring``.

Envelope encryption: each record has its own random 256-bit data key (DEK), stored wrapped by a
key-encryption key (KEK) from the keyring under AES-256-GCM. Payloads are JSON documents, padded to
a size bucket and sealed with AES-256-GCM under the DEK; the associated data binds the ciphertext
to its table, row id, field and schema version, so a blob moved to another row does not open.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import stat
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEYRING_FORMAT = "triage-keyring/1"
_BLOB_VERSION = b"\x01"
_NONCE_BYTES = 12
_KEY_BYTES = 32
_INDEX_TOKEN_BYTES = 16
_MIN_BUCKET = 256
_LARGE_BUCKET = 64 * 1024


class CryptoError(Exception):
    """Base of every failure in this module. Messages never carry key or payload bytes."""


class KeyringError(CryptoError):
    """The keyring is missing, unreadable, malformed, or not the database's own."""


class KeyNotFound(CryptoError):
    """A wrapped data key names a key-encryption key that the keyring does not hold."""


class SealIntegrityError(CryptoError):
    """A sealed value failed authentication: tampered with, truncated, or moved to another row."""


@dataclass(frozen=True)
class WrappedKey:
    """A record's data key as stored: wrapped by the KEK named ``kek_id``."""

    kek_id: str
    wrapped: bytes


@dataclass(frozen=True)
class SealContext:
    """Where a sealed value lives. Becomes the AEAD associated data."""

    table: str
    record_id: str
    field: str = "payload"
    version: int = 1

    def associated_data(self) -> bytes:
        return f"triage/seal/v1|{self.table}|{self.record_id}|{self.field}|{self.version}".encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(name: str, text: object, size: int) -> bytes:
    if not isinstance(text, str):
        raise KeyringError(f"keyring entry {name!r} is not a base64 string")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"keyring entry {name!r} is not valid base64") from None
    if len(data) != size:
        raise KeyringError(f"keyring entry {name!r} must be {size} bytes, found {len(data)}")
    return data


def _pad(data: bytes) -> bytes:
    """Length-prefix ``data`` and pad it to a bucket so ciphertext length hides content length."""
    needed = len(data) + 4
    if needed <= _LARGE_BUCKET:
        bucket = _MIN_BUCKET
        while bucket < needed:
            bucket *= 2
    else:
        bucket = -(-needed // _LARGE_BUCKET) * _LARGE_BUCKET
    return len(data).to_bytes(4, "big") + data + bytes(bucket - needed)


def _unpad(padded: bytes) -> bytes:
    length = int.from_bytes(padded[:4], "big")
    if length > len(padded) - 4:
        raise SealIntegrityError("sealed value has an impossible length")
    return padded[4 : 4 + length]


class Keyring:
    """Key-encryption keys, the blind-index key, the export signing key and the session secret."""

    def __init__(
        self,
        *,
        keks: Mapping[str, bytes],
        active_kek: str,
        index_key: bytes,
        signing_seed: bytes,
        session_secret: bytes,
        created: str,
    ) -> None:
        if active_kek not in keks:
            raise KeyringError(f"the active key {active_kek!r} is not among the keyring's keys")
        self._keks = dict(keks)
        #: One AES-GCM object per KEK, made on first use: making one costs as much as a wrap,
        #: which matters to a rotation of many data keys. They hold no per-call state.
        self._aeads: dict[str, AESGCM] = {}
        self.active_kek = active_kek
        self._index_key = index_key
        self._signing_key = Ed25519PrivateKey.from_private_bytes(signing_seed)
        self._signing_seed = signing_seed
        self._session_secret = session_secret
        self.created = created

    # -- construction and storage -------------------------------------------------------------

    @classmethod
    def generate(cls) -> Keyring:
        kek_id = _new_kek_id()
        return cls(
            keks={kek_id: secrets.token_bytes(_KEY_BYTES)},
            active_kek=kek_id,
            index_key=secrets.token_bytes(_KEY_BYTES),
            signing_seed=secrets.token_bytes(_KEY_BYTES),
            session_secret=secrets.token_bytes(_KEY_BYTES),
            created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )

    @classmethod
    def from_json(cls, text: str) -> Keyring:
        try:
            doc = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise KeyringError("the keyring is not valid JSON") from None
        if not isinstance(doc, dict) or doc.get("format") != KEYRING_FORMAT:
            raise KeyringError(f"the keyring is not in the {KEYRING_FORMAT} format")
        keks_doc = doc.get("keks")
        if not isinstance(keks_doc, dict) or not keks_doc:
            raise KeyringError("the keyring holds no key-encryption keys")
        keks = {str(k): _unb64(f"keks.{k}", v, _KEY_BYTES) for k, v in keks_doc.items()}
        active = doc.get("active_kek")
        if not isinstance(active, str):
            raise KeyringError("the keyring names no active key-encryption key")
        return cls(
            keks=keks,
            active_kek=active,
            index_key=_unb64("index_key", doc.get("index_key"), _KEY_BYTES),
            signing_seed=_unb64("signing_key", doc.get("signing_key"), _KEY_BYTES),
            session_secret=_unb64("session_secret", doc.get("session_secret"), _KEY_BYTES),
            created=str(doc.get("created", "")),
        )

    def to_json(self) -> str:
        doc = {
            "format": KEYRING_FORMAT,
            "created": self.created,
            "active_kek": self.active_kek,
            "keks": {k: _b64(v) for k, v in sorted(self._keks.items())},
            "index_key": _b64(self._index_key),
            "signing_key": _b64(self._signing_seed),
            "session_secret": _b64(self._session_secret),
        }
        return json.dumps(doc, indent=2) + "\n"

    def with_new_kek(self) -> Keyring:
        """A copy of this keyring with a fresh KEK made active; old KEKs stay for unwrapping."""
        kek_id = _new_kek_id()
        while kek_id in self._keks:
            kek_id = _new_kek_id()
        return Keyring(
            keks={**self._keks, kek_id: secrets.token_bytes(_KEY_BYTES)},
            active_kek=kek_id,
            index_key=self._index_key,
            signing_seed=self._signing_seed,
            session_secret=self._session_secret,
            created=self.created,
        )

    def without_kek(self, kek_id: str) -> Keyring:
        """A copy without ``kek_id``. The caller must first prove no data key uses it."""
        if kek_id == self.active_kek:
            raise KeyringError("the active key-encryption key cannot be retired")
        if kek_id not in self._keks:
            raise KeyNotFound(f"the keyring holds no key {kek_id!r}")
        keks = {k: v for k, v in self._keks.items() if k != kek_id}
        return Keyring(
            keks=keks,
            active_kek=self.active_kek,
            index_key=self._index_key,
            signing_seed=self._signing_seed,
            session_secret=self._session_secret,
            created=self.created,
        )

    @property
    def kek_ids(self) -> frozenset[str]:
        return frozenset(self._keks)

    @property
    def fingerprint(self) -> str:
        """Names this keyring without revealing it; stored in the database to catch a wrong one.

        Derived from the index key, which never rotates: a KEK rotation keeps the fingerprint.
        """
        return hmac.new(
            self._index_key, b"triage/keyring-fingerprint/v1", hashlib.sha256
        ).hexdigest()[:32]

    @property
    def session_secret(self) -> bytes:
        return self._session_secret

    # -- known answers -----------------------------------------------------------------------

    def kek_check(self, kek_id: str) -> str:
        """A known answer for the KEK ``kek_id``: an HMAC of a fixed label under it (hex). Stored
        beside the data it wraps, it proves at start-up that a key of the right length is also
        the right key, without revealing anything of it."""
        key = self._keks.get(kek_id)
        if key is None:
            raise KeyNotFound(f"the keyring holds no key {kek_id!r}")
        label = f"triage/kek-check/v1|{kek_id}".encode()
        return hmac.new(key, label, hashlib.sha256).hexdigest()[:32]

    def kek_matches(self, kek_id: str, check: str) -> bool:
        """Whether ``check`` (from ``kek_check``) was made with this keyring's ``kek_id``."""
        return hmac.compare_digest(self.kek_check(kek_id), check)

    def unwraps(self, key_id: str, key: WrappedKey) -> bool:
        """Whether this keyring opens the stored data key (a check for a KEK with no known
        answer on record yet); the key itself is dropped at once."""
        try:
            self._unwrap(key_id, key)
        except SealIntegrityError:
            return False
        return True

    # -- data keys ---------------------------------------------------------------------------

    def _kek(self, kek_id: str) -> AESGCM:
        aead = self._aeads.get(kek_id)
        if aead is not None:
            return aead
        try:
            aead = self._aeads[kek_id] = AESGCM(self._keks[kek_id])
            return aead
        except KeyError:
            raise KeyNotFound(
                f"a data key is wrapped by key-encryption key {kek_id!r}, which this keyring "
                "does not hold; restore the keyring that has it"
            ) from None

    @staticmethod
    def _wrap_ad(key_id: str, kek_id: str) -> bytes:
        return f"triage/dek/v1|{key_id}|{kek_id}".encode()

    def _wrap(self, dek: bytes, key_id: str, kek_id: str) -> WrappedKey:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        wrapped = nonce + self._kek(kek_id).encrypt(nonce, dek, self._wrap_ad(key_id, kek_id))
        return WrappedKey(kek_id=kek_id, wrapped=wrapped)

    def _unwrap(self, key_id: str, key: WrappedKey) -> bytes:
        aead = self._kek(key.kek_id)
        nonce, body = key.wrapped[:_NONCE_BYTES], key.wrapped[_NONCE_BYTES:]
        try:
            return aead.decrypt(nonce, body, self._wrap_ad(key_id, key.kek_id))
        except (InvalidTag, ValueError):
            raise SealIntegrityError(
                f"data key {key_id} does not authenticate: altered, moved, or wrapped by "
                "another key"
            ) from None

    def new_data_key(self, key_id: str) -> WrappedKey:
        """A fresh random data key for the record keyed ``key_id``, wrapped by the active KEK."""
        return self._wrap(secrets.token_bytes(_KEY_BYTES), key_id, self.active_kek)

    def rewrap(self, key_id: str, key: WrappedKey) -> WrappedKey:
        """The same data key wrapped by the active KEK (for rotation)."""
        return self._wrap(self._unwrap(key_id, key), key_id, self.active_kek)

    # -- sealing -----------------------------------------------------------------------------

    def seal_bytes(self, key_id: str, key: WrappedKey, context: SealContext, data: bytes) -> bytes:
        dek = self._unwrap(key_id, key)
        nonce = secrets.token_bytes(_NONCE_BYTES)
        body = AESGCM(dek).encrypt(nonce, _pad(data), context.associated_data())
        return _BLOB_VERSION + nonce + body

    def open_bytes(self, key_id: str, key: WrappedKey, context: SealContext, blob: bytes) -> bytes:
        if len(blob) < 1 + _NONCE_BYTES + 16 or blob[:1] != _BLOB_VERSION:
            raise SealIntegrityError(
                f"sealed {context.field} of {context.table} {context.record_id} is malformed"
            )
        dek = self._unwrap(key_id, key)
        nonce, body = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        try:
            padded = AESGCM(dek).decrypt(nonce, body, context.associated_data())
        except InvalidTag:
            raise SealIntegrityError(
                f"sealed {context.field} of {context.table} {context.record_id} does not "
                "authenticate: it was altered or belongs to another record"
            ) from None
        return _unpad(padded)

    def seal(
        self, key_id: str, key: WrappedKey, context: SealContext, payload: Mapping[str, Any]
    ) -> bytes:
        data = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return self.seal_bytes(key_id, key, context, data.encode("utf-8"))

    def open(
        self, key_id: str, key: WrappedKey, context: SealContext, blob: bytes
    ) -> dict[str, Any]:
        data = self.open_bytes(key_id, key, context, blob)
        try:
            doc = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise SealIntegrityError("sealed payload is not a JSON document") from None
        if not isinstance(doc, dict):
            raise SealIntegrityError("sealed payload is not a JSON object")
        return doc

    # -- blind indexes -----------------------------------------------------------------------

    def blind_index(self, kind: str, normalised: str) -> str:
        """An exact-match token for ``normalised`` (see ``triage.normalise``) of the given kind.

        Keyed, so a stolen database cannot be searched by guessing names; truncated to 128 bits.
        """
        mac = hmac.new(self._index_key, f"{kind}\x00{normalised}".encode(), hashlib.sha256)
        return mac.hexdigest()[: 2 * _INDEX_TOKEN_BYTES]

    # -- signatures --------------------------------------------------------------------------

    def sign(self, data: bytes) -> bytes:
        return self._signing_key.sign(data)

    def public_key_pem(self) -> bytes:
        return self._signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    # -- backups -----------------------------------------------------------------------------

    def backup_identity(self) -> X25519PrivateKey:
        """The X25519 key backups are encrypted to by default (``triage.backup``). Derived from
        the index key, which never rotates, so any copy of this keyring opens every backup of
        its database; the derivation's label keeps it independent of every other use."""
        seed = HKDF(
            algorithm=hashes.SHA256(), length=_KEY_BYTES, salt=None, info=b"triage/backup-x25519/v1"
        ).derive(self._index_key)
        return X25519PrivateKey.from_private_bytes(seed)


def verify_signature(public_key_pem: bytes, signature: bytes, data: bytes) -> bool:
    """Check an Ed25519 signature with a PEM public key; needs no keyring."""
    try:
        key = serialization.load_pem_public_key(public_key_pem)
    except (ValueError, TypeError):
        raise CryptoError("the public key is not a PEM-encoded key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CryptoError("the public key is not an Ed25519 key")
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def _new_kek_id() -> str:
    return f"kek-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4)}"


class KeyringSource:
    """The keyring a process works with, reloaded from its file when a rotation run by another
    process (`triage keys rotate`) has added a KEK since this one loaded it.

    A reload that finds another instance's keyring is refused: the file was replaced, not rotated.
    """

    def __init__(self, ring: Keyring, *, path: Path | None = None, inline: str = "") -> None:
        self._ring = ring
        self._path = path
        self._inline = inline
        self._lock = threading.Lock()

    @property
    def current(self) -> Keyring:
        return self._ring

    def holding(self, kek_id: str) -> Keyring:
        """A keyring that holds ``kek_id``: the current one, or the file's if it has gained it."""
        ring = self._ring
        if kek_id in ring.kek_ids or self._path is None:
            return ring
        with self._lock:
            fresh = load_keyring(self._path, self._inline)
            if fresh.fingerprint != ring.fingerprint:
                raise KeyringError(
                    "the keyring file now holds another instance's keyring; restore it"
                )
            self._ring = fresh
        return fresh


# -- keyring storage ---------------------------------------------------------------------------


def load_keyring(path: Path, inline: str = "") -> Keyring:
    """The keyring from ``inline`` JSON if given, else from ``path``; refuses anything doubtful."""
    if inline:
        return Keyring.from_json(inline)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise KeyringError(
            f"no keyring at {path}: run `triage init` to create one, or point "
            "TRIAGE_KEYRING_PATH at the existing keyring"
        ) from None
    except OSError as exc:
        raise KeyringError(f"cannot read the keyring at {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise KeyringError(f"the keyring at {path} is not a regular file")
    if info.st_mode & 0o077:
        raise KeyringError(
            f"the keyring at {path} is readable by other users "
            f"(mode {stat.S_IMODE(info.st_mode):o}); "
            f"run `chmod 600 {path}`"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise KeyringError(f"cannot read the keyring at {path}: {reason}") from None
    return Keyring.from_json(text)


def write_keyring(path: Path, keyring: Keyring, *, replace: bool = False) -> None:
    """Write the keyring with mode 0600; never silently overwrite unless ``replace`` is set.

    A replacement is written to a temporary file and renamed over the old one, so a crash leaves
    either the old keyring or the new, never half of one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    data = keyring.to_json().encode("utf-8")
    target = path.with_name(path.name + ".tmp") if replace else path
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    if replace and target.exists():
        target.unlink()
    try:
        fd = os.open(target, flags, 0o600)
    except FileExistsError:
        raise KeyringError(
            f"a keyring already exists at {path}; refusing to overwrite it"
        ) from None
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    if replace:
        os.replace(target, path)
