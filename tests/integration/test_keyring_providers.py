"""The keyring provider seam: the file, the keyring injected as one base64 variable, and a
provider of one's own (``module:factory``, where a KMS would plug in); each refusal is one line."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask

from triage.cli import main
from triage.config import Settings


def _env(settings: Settings, **more: str) -> dict[str, str]:
    return {
        "TRIAGE_INSTANCE_PATH": str(settings.instance_path),
        "TRIAGE_DATABASE_URL": settings.database_url,
        "TRIAGE_KEYRING_PATH": str(settings.instance_path / "no-such-keyring.json"),
        **more,
    }


def _run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def test_the_keyring_from_one_base64_variable(app: Flask, settings: Settings) -> None:
    encoded = base64.b64encode(settings.keyring_file.read_bytes()).decode("ascii")
    env = _env(settings, TRIAGE_KEYRING_B64=encoded)
    status = _run(env, "keys", "status")
    assert status.exit_code == 0, status.output
    assert "active" in status.output
    checked = _run(env, "keys", "check")
    assert checked.exit_code == 0 and checked.output.startswith("OK:")
    # Read-only: a rotation would have nowhere to save the new KEK.
    rotated = _run(env, "keys", "rotate")
    assert rotated.exit_code == 1 and "cannot rewrite" in rotated.output


def test_a_variable_that_is_not_base64_of_a_keyring_is_refused(
    app: Flask, settings: Settings
) -> None:
    refused = _run(_env(settings, TRIAGE_KEYRING_B64="not base64!"), "keys", "status")
    assert refused.exit_code == 1
    assert refused.output.strip().splitlines() == [
        "Error: TRIAGE_KEYRING_B64 is not base64 of the keyring's JSON "
        "(make it with `base64 -w0 keyring.json`)"
    ]
    wrong = base64.b64encode(b'{"format": "other"}').decode()
    other = _run(_env(settings, TRIAGE_KEYRING_B64=wrong), "keys", "status")
    assert other.exit_code == 1 and "triage-keyring/1" in other.output


_PROVIDER = '''
from triage.crypto import Keyring

LOADS = []


class Sealed:
    """As a KMS provider would: the keyring's JSON comes back from the key manager's Decrypt."""

    name = "test-kms"
    writable = False

    def __init__(self, settings):
        self.path = settings.instance_path / "keyring.kms"

    def load(self):
        LOADS.append(self.path)
        return Keyring.from_json(self.path.read_bytes()[::-1].decode())  # the "decryption"

    def store(self, ring):
        raise RuntimeError("not here")


def factory(settings):
    return Sealed(settings)
'''


def test_a_provider_of_ones_own(
    app: Flask, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "kms_provider_for_test.py").write_text(_PROVIDER)
    monkeypatch.syspath_prepend(str(tmp_path))
    (settings.instance_path / "keyring.kms").write_bytes(settings.keyring_file.read_bytes()[::-1])
    env = _env(settings, TRIAGE_KEYRING_PROVIDER="kms_provider_for_test:factory")
    result = _run(env, "keys", "status")
    assert result.exit_code == 0, result.output
    import kms_provider_for_test  # type: ignore[import-not-found]

    assert kms_provider_for_test.LOADS, "the provider was not asked for the keyring"

    missing = _run(_env(settings, TRIAGE_KEYRING_PROVIDER="no_such_module:f"), "keys", "status")
    assert missing.exit_code == 1 and "cannot be loaded" in missing.output
    bad = _run(_env(settings, TRIAGE_KEYRING_PROVIDER="vault"), "keys", "status")
    assert bad.exit_code == 1 and "use file, env, or module:factory" in bad.output
