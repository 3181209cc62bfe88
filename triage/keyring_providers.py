"""Where the keyring comes from: the seam a key manager plugs into.

A provider has ``load()``, which returns the ``Keyring``, and says whether triage may rewrite it
(``writable``: a rotation adds a KEK and saves it with ``store``). Two ship with triage:

- ``file``: the JSON file at TRIAGE_KEYRING_PATH (mode 0600), the embedded default;
- ``env``: the JSON injected by the platform's secret store, as TRIAGE_KEYRING (the JSON itself)
  or TRIAGE_KEYRING_B64 (base64 of it, for stores that want one-line values). Read-only: rotate
  it in the store and restart.

TRIAGE_KEYRING_PROVIDER=``module:factory`` loads one's own: ``factory(settings)`` returns an
object with the same ``name``, ``writable``, ``load()`` and ``store()``. docs/encryption.md says
how a KMS fits (a keyring sealed by the KMS, or KEKs that never leave it).
"""

from __future__ import annotations

import base64
import binascii
import importlib
from pathlib import Path
from typing import Protocol

from .config import Settings
from .crypto import Keyring, KeyringError, KeyringSource, load_keyring, write_keyring


class KeyringProvider(Protocol):
    name: str
    #: Whether ``store`` can save a rotated keyring (a file can; an injected secret cannot).
    writable: bool

    def load(self) -> Keyring: ...

    def store(self, ring: Keyring) -> None: ...


class FileProvider:
    name = "file"
    writable = True

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Keyring:
        return load_keyring(self.path)

    def store(self, ring: Keyring) -> None:
        write_keyring(self.path, ring, replace=True)


class EnvProvider:
    name = "env"
    writable = False

    def __init__(self, *, json_text: str = "", b64: str = "") -> None:
        self._json = json_text
        self._b64 = b64

    def text(self) -> str:
        if self._json:
            return self._json
        try:
            return base64.b64decode(self._b64.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise KeyringError(
                "TRIAGE_KEYRING_B64 is not base64 of the keyring's JSON "
                "(make it with `base64 -w0 keyring.json`)"
            ) from None

    def load(self) -> Keyring:
        if not (self._json or self._b64):
            raise KeyringError(
                "TRIAGE_KEYRING_PROVIDER is env, but neither TRIAGE_KEYRING nor "
                "TRIAGE_KEYRING_B64 is set"
            )
        return Keyring.from_json(self.text())

    def store(self, ring: Keyring) -> None:
        raise KeyringError(
            "the keyring comes from the environment, which triage cannot rewrite: rotate it in "
            "the secret store and restart"
        )


def provider(settings: Settings) -> KeyringProvider:
    """The provider TRIAGE_KEYRING_PROVIDER names (empty: ``env`` if a keyring variable is
    set, else ``file``)."""
    chosen = settings.keyring_provider.strip()
    if not chosen:
        chosen = "env" if settings.keyring or settings.keyring_b64 else "file"
    if chosen == "file":
        return FileProvider(settings.keyring_file)
    if chosen == "env":
        return EnvProvider(json_text=settings.keyring, b64=settings.keyring_b64)
    module_name, sep, attribute = chosen.partition(":")
    if not sep or not module_name or not attribute:
        raise KeyringError(f"TRIAGE_KEYRING_PROVIDER={chosen!r}: use file, env, or module:factory")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise KeyringError(f"TRIAGE_KEYRING_PROVIDER={chosen!r} cannot be loaded: {exc}") from None
    found: KeyringProvider = factory(settings)
    return found


def load(settings: Settings) -> Keyring:
    """The instance's keyring, from its provider."""
    return provider(settings).load()


def source(settings: Settings, ring: Keyring) -> KeyringSource:
    """What a running process holds: ``ring``, reloaded from the file after another process's
    rotation when the provider is a file (other providers change only with a restart)."""
    chosen = provider(settings)
    if isinstance(chosen, FileProvider):
        return KeyringSource(ring, path=chosen.path)
    return KeyringSource(ring)
