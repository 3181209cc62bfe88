"""Start-up proves the keys: a key-encryption key of the right length but the wrong bytes stops
the app and every command with one line naming the key and the setting, instead of a 500 on the
first sealed read; the right keyring starts. Databases from before the known answers existed are
proven by opening a stored data key, and get their answers at the next ``triage init``."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tests.conftest import FAST_HASH
from triage import create_app, kek_checks, keys
from triage.cli import main
from triage.config import Settings
from triage.crypto import Keyring, KeyringError, write_keyring
from triage.db import make_engine
from triage.models import InstanceMeta
from triage.reports import file_report
from triage.vocab import SourceKind
from triage.web.deps import uow_of


def _wrong_kek(ring: Keyring, kek_id: str) -> Keyring:
    """The same keyring (same fingerprint, same ids) with ``kek_id``'s bytes replaced."""
    doc = json.loads(ring.to_json())
    doc["keks"][kek_id] = base64.b64encode(secrets.token_bytes(32)).decode()
    return Keyring.from_json(json.dumps(doc))


def _replace_keyring(path: Path, ring: Keyring) -> None:
    path.unlink()
    write_keyring(path, ring)


def _cli(settings: Settings, *args: str, inline: str | None = None) -> Result:
    env: dict[str, str | None] = {
        "TRIAGE_INSTANCE_PATH": str(settings.instance_path),
        "TRIAGE_DATABASE_URL": settings.database_url,
        "TRIAGE_KEYRING_PATH": None if inline else str(settings.keyring_file),
        "TRIAGE_KEYRING": inline,
        "TRIAGE_SECRET_KEY": None,
        **{f"TRIAGE_{name.upper()}": str(value) for name, value in FAST_HASH.items()},
    }
    return CliRunner().invoke(main, list(args), env=env)


def _one_line_refusal(result: Result, *parts: str) -> None:
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    for part in parts:
        assert part in lines[0], lines[0]


def _file_one_report(settings: Settings) -> None:
    app = create_app(settings)
    with app.app_context(), uow_of(app).begin() as session:
        file_report(session, source_kind=SourceKind.DIRECT, payload={"a": 1}, actor="system")
    uow_of(app).engine.dispose()


def _forget_known_answers(settings: Settings) -> None:
    """The database as it was before triage recorded KEK checks."""
    engine = make_engine(settings.sqlalchemy_url)
    with Session(engine) as session, session.begin():
        session.execute(delete(InstanceMeta).where(InstanceMeta.key.like("kek_check:%")))
    engine.dispose()


def _known_answers(settings: Settings) -> dict[str, str]:
    engine = make_engine(settings.sqlalchemy_url)
    with Session(engine) as session:
        rows = session.scalars(
            select(InstanceMeta).where(InstanceMeta.key.like(f"{kek_checks.PREFIX}%"))
        ).all()
        found = {row.key.removeprefix(kek_checks.PREFIX): row.value for row in rows}
    engine.dispose()
    return found


def test_init_records_a_known_answer_for_the_kek(settings: Settings, keyring: Keyring) -> None:
    assert _known_answers(settings) == {keyring.active_kek: keyring.kek_check(keyring.active_kek)}


def test_the_right_keyring_starts(settings: Settings) -> None:
    app = create_app(settings)
    uow_of(app).engine.dispose()
    result = _cli(settings, "audit", "verify")
    assert result.exit_code == 0, result.output


def test_a_wrong_kek_of_the_right_length_stops_the_app_and_the_cli(
    settings: Settings, keyring: Keyring
) -> None:
    kek = keyring.active_kek
    _replace_keyring(settings.keyring_file, _wrong_kek(keyring, kek))

    with pytest.raises(KeyringError, match=rf"key-encryption key {kek} .*TRIAGE_KEYRING_PATH"):
        create_app(settings)
    _one_line_refusal(_cli(settings, "audit", "verify"), kek, "TRIAGE_KEYRING_PATH")
    _one_line_refusal(_cli(settings, "serve"), kek, "TRIAGE_KEYRING_PATH")
    _one_line_refusal(_cli(settings, "init"), kek)


def test_an_injected_keyring_is_named_by_its_setting(settings: Settings, keyring: Keyring) -> None:
    wrong = _wrong_kek(keyring, keyring.active_kek).to_json()
    _one_line_refusal(_cli(settings, "audit", "verify", inline=wrong), "TRIAGE_KEYRING")
    assert _cli(settings, "audit", "verify", inline=keyring.to_json()).exit_code == 0


def test_without_known_answers_a_stored_data_key_proves_the_kek(
    settings: Settings, keyring: Keyring
) -> None:
    """A database from before the checks: the KEK is proven by unwrapping one data key it
    wraps, and ``triage init`` then records its answer."""
    _file_one_report(settings)
    _forget_known_answers(settings)
    right = settings.keyring_file.read_text(encoding="utf-8")

    _replace_keyring(settings.keyring_file, _wrong_kek(keyring, keyring.active_kek))
    with pytest.raises(KeyringError, match=keyring.active_kek):
        create_app(settings)

    _replace_keyring(settings.keyring_file, Keyring.from_json(right))
    uow_of(create_app(settings)).engine.dispose()
    assert _known_answers(settings) == {}
    assert _cli(settings, "init").exit_code == 0
    assert set(_known_answers(settings)) == {keyring.active_kek}


def test_a_rotation_records_the_new_keks_answer(settings: Settings, keyring: Keyring) -> None:
    """Even before any data key uses it, a replaced active KEK is caught."""
    app = create_app(settings)
    with app.app_context(), uow_of(app).begin() as session:
        rotated = keys.rotate(session, settings, actor="system")
    uow_of(app).engine.dispose()
    assert set(_known_answers(settings)) == {keyring.active_kek, rotated.active_kek}

    _replace_keyring(settings.keyring_file, _wrong_kek(rotated, rotated.active_kek))
    _one_line_refusal(_cli(settings, "audit", "verify"), rotated.active_kek)
