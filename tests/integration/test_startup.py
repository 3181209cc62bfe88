"""An instance never starts half-configured: the app and the ``triage`` command refuse a missing,
exposed, garbled or foreign keyring and an uninitialised database, with one clear line and no
traceback; ``triage init`` is idempotent and never makes a new keyring for sealed data."""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import FAST_HASH, PgServer
from triage import create_app
from triage.cli import main
from triage.config import Settings
from triage.crypto import Keyring, KeyringError, write_keyring
from triage.db import make_engine
from triage.instance import StartupError
from triage.models import AuditEvent, DataKey, InstanceMeta
from triage.reports import file_report
from triage.vocab import SourceKind
from triage.web.deps import uow_of


def _env(
    instance: Path, database_url: str | None, keyring_path: Path | None
) -> dict[str, str | None]:
    env: dict[str, str | None] = {
        "TRIAGE_INSTANCE_PATH": str(instance),
        "TRIAGE_DATABASE_URL": database_url,
        "TRIAGE_KEYRING_PATH": None if keyring_path is None else str(keyring_path),
        "TRIAGE_KEYRING": None,
        "TRIAGE_SECRET_KEY": None,
    }
    env.update({f"TRIAGE_{name.upper()}": str(value) for name, value in FAST_HASH.items()})
    return env


def _run(env: dict[str, str | None], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def _refused(result: Result, message: str) -> str:
    """The command failed with ``message`` on one clean line, not with a traceback."""
    output = result.output
    assert result.exit_code != 0, output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in output
    assert message in output, output
    return output


def _settings_env(settings: Settings) -> dict[str, str | None]:
    return _env(settings.instance_path, settings.database_url, settings.keyring_file)


# -- refusing to start -------------------------------------------------------------------------


def test_a_correct_instance_starts(settings: Settings) -> None:
    """The baseline the refusals below differ from by one thing each."""
    app = create_app(settings)
    uow_of(app).engine.dispose()
    result = _run(_settings_env(settings), "audit", "verify")
    assert result.exit_code == 0, result.output
    assert "OK" in result.output


def test_a_missing_keyring_is_refused(settings: Settings) -> None:
    settings.keyring_file.unlink()

    with pytest.raises(KeyringError, match=r"no keyring at .* run `triage init`"):
        create_app(settings)
    _refused(_run(_settings_env(settings), "audit", "verify"), "no keyring at")
    assert not settings.keyring_file.exists()


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_keyring_readable_by_others_is_refused(settings: Settings, mode: int) -> None:
    settings.keyring_file.chmod(mode)

    with pytest.raises(KeyringError, match=rf"readable by other users \(mode {mode:o}\)"):
        create_app(settings)
    output = _refused(_run(_settings_env(settings), "audit", "verify"), "readable by other users")
    assert f"chmod 600 {settings.keyring_file}" in output
    assert stat.S_IMODE(settings.keyring_file.stat().st_mode) == mode  # not silently "fixed"


def test_a_keyring_that_is_a_folder_is_refused(settings: Settings) -> None:
    settings.keyring_file.unlink()
    settings.keyring_file.mkdir(mode=0o700)
    with pytest.raises(KeyringError, match="not a regular file"):
        create_app(settings)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{this is not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"\xff\xfe\x00garbage\x80", "not UTF-8 text"),
        (b'{"format": "something-else/9"}', "not in the triage-keyring/1 format"),
    ],
    ids=["not-json", "empty", "binary", "wrong-format"],
)
def test_a_garbled_keyring_is_refused(settings: Settings, content: bytes, message: str) -> None:
    settings.keyring_file.write_bytes(content)
    assert stat.S_IMODE(settings.keyring_file.stat().st_mode) == 0o600

    with pytest.raises(KeyringError, match=message):
        create_app(settings)
    _refused(_run(_settings_env(settings), "audit", "verify"), message)


def test_the_keyring_of_another_instance_is_refused(settings: Settings) -> None:
    settings.keyring_file.unlink()
    write_keyring(settings.keyring_file, Keyring.generate())

    with pytest.raises(KeyringError, match="does not belong to this database"):
        create_app(settings)
    output = _refused(
        _run(_settings_env(settings), "audit", "verify"), "does not belong to this database"
    )
    assert "TRIAGE_KEYRING_PATH" in output


def test_a_keyring_lacking_a_kek_in_use_is_refused(settings: Settings, keyring: Keyring) -> None:
    """Same instance (same fingerprint), but the key that wraps stored data was dropped."""
    app = create_app(settings)
    with app.app_context(), uow_of(app).begin() as session:
        file_report(session, source_kind=SourceKind.DIRECT, payload={"a": 1}, actor="system")
    uow_of(app).engine.dispose()
    stripped = keyring.with_new_kek().without_kek(keyring.active_kek)
    settings.keyring_file.unlink()
    write_keyring(settings.keyring_file, stripped)

    with pytest.raises(KeyringError, match=rf"lacks key-encryption keys .*{keyring.active_kek}"):
        create_app(settings)
    _refused(_run(_settings_env(settings), "audit", "verify"), keyring.active_kek)


@dataclass
class Blank:
    """A database nobody has initialised, and where its instance would live."""

    engine: str
    url: str
    instance: Path
    sqlite_file: Path | None = None


@pytest.fixture(params=["sqlite", "postgresql"])
def blank(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Blank]:
    instance = tmp_path / "instance"
    if request.param == "sqlite":
        sqlite_file = instance / "triage.sqlite3"
        yield Blank("sqlite", f"sqlite:///{sqlite_file}", instance, sqlite_file)
        return
    server: PgServer = request.getfixturevalue("pg_server")
    name = f"triage_blank_{secrets.token_hex(5)}"
    url = server.create(name)
    yield Blank("postgresql", url, instance)
    server.drop(name)


def test_an_uninitialised_database_is_refused(blank: Blank, keyring: Keyring) -> None:
    keyring_file = blank.instance / "keyring.json"
    write_keyring(keyring_file, keyring)
    settings = Settings(
        instance_path=blank.instance,
        database_url=blank.url,
        keyring_path=str(keyring_file),
        testing=True,
    )

    with pytest.raises(StartupError, match="is not initialised: run `triage init`"):
        create_app(settings)
    _refused(
        _run(_env(blank.instance, blank.url, keyring_file), "audit", "verify"),
        "is not initialised: run `triage init`",
    )
    if blank.sqlite_file is not None:
        assert not blank.sqlite_file.exists(), "refusing to start left an empty database behind"


# -- triage init -------------------------------------------------------------------------------


def _blank_env(blank: Blank) -> dict[str, str | None]:
    """The embedded default for SQLite (everything in the instance folder), a URL for PostgreSQL."""
    return _env(blank.instance, blank.url if blank.engine == "postgresql" else None, None)


def _count(url: str, model: type, *where: object) -> int:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            query = select(func.count()).select_from(model)
            for condition in where:
                query = query.where(condition)  # type: ignore[arg-type]
            return session.scalar(query) or 0
    finally:
        engine.dispose()


def _initialised_events(url: str) -> int:
    return _count(url, AuditEvent, AuditEvent.action == "instance.initialised")


def test_init_is_idempotent(blank: Blank) -> None:
    env = _blank_env(blank)
    keyring_file = blank.instance / "keyring.json"

    first = _run(env, "init")
    assert first.exit_code == 0, first.output
    assert "Created a new keyring" in first.output
    contents = keyring_file.read_bytes()
    assert stat.S_IMODE(keyring_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(blank.instance.stat().st_mode) & 0o077 == 0
    if blank.sqlite_file is not None:
        assert stat.S_IMODE(blank.sqlite_file.stat().st_mode) == 0o600

    second = _run(env, "init")
    assert second.exit_code == 0, second.output
    assert "Using the existing keyring" in second.output
    assert "Created" not in second.output

    assert keyring_file.read_bytes() == contents
    assert _initialised_events(blank.url) == 1
    # The fingerprint and the one KEK's known answer (tests/integration/test_startup_keys.py).
    assert _count(blank.url, InstanceMeta) == 2
    started = _run(env, "audit", "verify")
    assert started.exit_code == 0, started.output


def test_init_refuses_a_new_keyring_for_sealed_data(blank: Blank) -> None:
    env = _blank_env(blank)
    keyring_file = blank.instance / "keyring.json"
    assert _run(env, "init").exit_code == 0
    settings = Settings(
        instance_path=blank.instance,
        database_url=blank.url,
        testing=True,
        **FAST_HASH,  # type: ignore[arg-type]
    )
    app = create_app(settings)
    with app.app_context(), uow_of(app).begin() as session:
        file_report(session, source_kind=SourceKind.MEDIA, payload={"a": 1}, actor="system")
    uow_of(app).engine.dispose()
    events = _count(blank.url, AuditEvent)
    keyring_file.unlink()
    files = sorted(os.listdir(blank.instance))

    output = _refused(_run(env, "init"), "already holds sealed data")

    assert "Restore the keyring" in output
    assert not keyring_file.exists()
    assert sorted(os.listdir(blank.instance)) == files
    assert _count(blank.url, AuditEvent) == events
    assert _count(blank.url, DataKey) == 1
    assert _initialised_events(blank.url) == 1


def test_init_refuses_the_keyring_of_another_instance(blank: Blank) -> None:
    env = _blank_env(blank)
    keyring_file = blank.instance / "keyring.json"
    assert _run(env, "init").exit_code == 0
    keyring_file.unlink()
    write_keyring(keyring_file, Keyring.generate())
    stranger = keyring_file.read_bytes()

    _refused(_run(env, "init"), "does not belong to this database")
    assert keyring_file.read_bytes() == stranger
    assert _initialised_events(blank.url) == 1


def test_init_refuses_an_exposed_keyring(blank: Blank) -> None:
    env = _blank_env(blank)
    assert _run(env, "init").exit_code == 0
    (blank.instance / "keyring.json").chmod(0o644)
    _refused(_run(env, "init"), "readable by other users")


def test_an_unreachable_database_is_refused_without_its_password(
    tmp_path: Path, keyring: Keyring
) -> None:
    url = "postgresql+psycopg://triage:s3cret-pw@127.0.0.1:1/nowhere?connect_timeout=2"
    env = _env(tmp_path / "instance", url, None)

    output = _refused(_run(env, "init"), "cannot reach")
    assert "s3cret-pw" not in output
    assert not (tmp_path / "instance" / "keyring.json").exists()

    write_keyring(tmp_path / "instance" / "keyring.json", keyring)
    output = _refused(_run(env, "audit", "verify"), "cannot reach")
    assert "s3cret-pw" not in output
