"""The restore drill, on SQLite and PostgreSQL: `triage backup` writes an encrypted, authenticated
file; `triage restore` puts it into a fresh instance, after which the audit chain verifies and
every sealed value decrypts. A tampered or cut backup and a wrong key are refused with one line,
leaving the target untouched; a non-empty target is refused without --force."""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from PIL import Image
from sqlalchemy import create_engine, inspect

from tests.conftest import Database
from triage import audit, backup, sealed
from triage.cli import main
from triage.config import Settings
from triage.crypto import Keyring, write_keyring
from triage.intake.attachments import Upload, attach
from triage.models import Report
from triage.reports import file_report
from triage.vocab import SourceKind
from triage.web.deps import uow_of


def _env(settings: Settings, database_url: str, instance: Path) -> dict[str, str]:
    return {
        "TRIAGE_INSTANCE_PATH": str(instance),
        "TRIAGE_DATABASE_URL": database_url,
        "TRIAGE_KEYRING_PATH": settings.keyring_path,
    }


def _run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 10, 10)).save(out, format="PNG")
    return out.getvalue()


def _file_reports(app: Flask) -> dict[str, str]:
    texts = {}
    with app.app_context(), uow_of(app).begin() as session:
        for n in range(3):
            text = f"narrative {n} {secrets.token_hex(4)}"
            report = file_report(
                session, source_kind=SourceKind.MEDIA, payload={"text": text}, actor="system"
            )
            texts[report.id] = text
        attach(session, report, Upload("photo.png", _png()), actor="system", uploaded_by=None)
    return texts


@dataclass
class Target:
    """A fresh, empty instance to restore into: its database URL and instance folder."""

    url: str
    instance: Path


@pytest.fixture
def fresh(database: Database, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Target]:
    instance = tmp_path / "restored"
    if database.engine == "sqlite":
        yield Target(f"sqlite:///{instance / 'triage.sqlite3'}", instance)
        return
    server = request.getfixturevalue("pg_server")
    name = f"triage_r_{secrets.token_hex(6)}"
    url = server.create(name)  # empty: no template
    yield Target(url, instance)
    server.drop(name)


def _backup(app: Flask, settings: Settings, out: Path, *extra: str) -> Result:
    env = _env(settings, settings.database_url, settings.instance_path)
    made = _run(env, "backup", "--out", str(out), *extra)
    assert made.exit_code == 0, made.output
    return made


def _tables(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_the_restore_drill(
    app: Flask, settings: Settings, database: Database, fresh: Target, tmp_path: Path
) -> None:
    texts = _file_reports(app)
    with app.app_context(), uow_of(app).read() as session:
        head = list(audit.iter_events(session))[-1]
    out = tmp_path / "triage.backup"
    made = _backup(app, settings, out)
    assert f"audit head seq {head['seq']}" in made.output
    assert "The keyring is not in the backup." in made.output
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    raw = out.read_bytes()
    for text in texts.values():  # sealed before, and encrypted again: nothing shows
        assert text.encode() not in raw
    assert b"CREATE TABLE" not in raw and b"SQLite format" not in raw

    env = _env(settings, fresh.url, fresh.instance)
    restored = _run(env, "restore", "--from", str(out))
    assert restored.exit_code == 0, restored.output
    assert "SHA-256 matches" in restored.output
    assert "Audit chain: OK" in restored.output
    # Three reports and the attachment's two sealed values.
    assert "Sealed data: OK: 5 sealed values decrypted" in restored.output

    verified = _run(env, "audit", "verify")
    assert verified.exit_code == 0 and "chain intact" in verified.output
    assert _run(env, "keys", "check").exit_code == 0
    engine_env = Settings(
        instance_path=fresh.instance,
        database_url=fresh.url,
        keyring_path=settings.keyring_path,
        testing=True,
    )
    from triage.instance import open_instance

    uow = open_instance(engine_env)
    try:
        with uow.begin() as session:
            for report_id, text in texts.items():
                report = session.get(Report, report_id)
                assert report is not None
                opened = sealed.open_payload(session, report, actor="system", purpose="test")
                assert opened["text"] == text
            actions = [e["action"] for e in audit.iter_events(session)]
    finally:
        uow.engine.dispose()
    assert "backup.created" not in actions  # appended after the copy was taken
    assert {"backup.restored", "keys.checked"} <= set(actions)


def test_a_non_empty_target_is_refused_without_force(
    app: Flask, settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "triage.backup"
    _backup(app, settings, out)
    env = _env(settings, settings.database_url, settings.instance_path)
    refused = _run(env, "restore", "--from", str(out))
    assert refused.exit_code == 1
    assert "the target database is not empty" in refused.output
    forced = _run(env, "restore", "--from", str(out), "--force")
    assert forced.exit_code == 0, forced.output
    assert "Audit chain: OK" in forced.output


def _flip(path: Path, offset_from_end: int) -> None:
    data = bytearray(path.read_bytes())
    data[-offset_from_end] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("flip", "the backup is damaged or was altered: frame 0 does not authenticate"),
        ("cut", "the backup is damaged or was altered: it ends"),
        ("header", "the backup is damaged or was altered: frame 0 does not authenticate"),
    ],
)
def test_a_damaged_backup_is_refused_in_one_line(
    app: Flask,
    settings: Settings,
    fresh: Target,
    tmp_path: Path,
    damage: str,
    message: str,
) -> None:
    out = tmp_path / "triage.backup"
    _backup(app, settings, out)
    data = out.read_bytes()
    header_end = len(backup.MAGIC) + 4 + int.from_bytes(data[len(backup.MAGIC) :][:4], "big")
    if damage == "flip":
        _flip(out, len(data) - header_end - 100)  # inside the first frame
    elif damage == "cut":
        out.write_bytes(data[:-40])
    else:  # the manifest claims another date: it is authenticated, so refused
        out.write_bytes(data.replace(b'"created_at":"20', b'"created_at":"19', 1))
    env = _env(settings, fresh.url, fresh.instance)
    refused = _run(env, "restore", "--from", str(out))
    assert refused.exit_code == 1
    lines = refused.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], refused.output
    assert lines[0].endswith("nothing was restored")
    if fresh.url.startswith("sqlite"):
        assert not (fresh.instance / "triage.sqlite3").exists()
    else:
        assert _tables(fresh.url) == []


def test_a_backup_to_a_custodian_key_needs_that_key(
    app: Flask, settings: Settings, fresh: Target, tmp_path: Path
) -> None:
    env_here = _env(settings, settings.database_url, settings.instance_path)
    identity = tmp_path / "custodian.pem"
    made_key = _run(env_here, "backup-identity", "--out", str(identity))
    assert made_key.exit_code == 0, made_key.output
    assert oct(identity.stat().st_mode & 0o777) == "0o600"
    out = tmp_path / "offsite.backup"
    made = _backup(app, settings, out, "--recipient", f"{identity}.pub")
    assert "(public-key)" in made.output

    env = _env(settings, fresh.url, fresh.instance)
    wrong = _run(env, "restore", "--from", str(out))  # the keyring's key is not the one
    assert wrong.exit_code == 1
    assert "REFUSED: wrong key: this backup is encrypted to key" in wrong.output
    other = tmp_path / "other.pem"
    backup.write_identity(other)
    also_wrong = _run(env, "restore", "--from", str(out), "--identity", str(other))
    assert also_wrong.exit_code == 1 and "wrong key" in also_wrong.output

    right = _run(env, "restore", "--from", str(out), "--identity", str(identity))
    assert right.exit_code == 0, right.output
    assert "Sealed data: OK" in right.output


def test_a_backup_made_with_only_the_public_key_restores_with_the_keyring(
    app: Flask, settings: Settings, fresh: Target, tmp_path: Path
) -> None:
    env_here = _env(settings, settings.database_url, settings.instance_path)
    printed = _run(env_here, "backup-public-key")
    assert printed.exit_code == 0 and "BEGIN PUBLIC KEY" in printed.output
    public = tmp_path / "backup.pub"
    public.write_text(printed.output)
    out = tmp_path / "triage.backup"
    _backup(app, settings, out, "--recipient", str(public))
    restored = _run(_env(settings, fresh.url, fresh.instance), "restore", "--from", str(out))
    assert restored.exit_code == 0, restored.output


def test_a_backup_of_another_keyrings_database_is_refused(
    app: Flask, settings: Settings, fresh: Target, tmp_path: Path
) -> None:
    out = tmp_path / "triage.backup"
    _backup(app, settings, out)
    other = tmp_path / "other-keyring.json"
    write_keyring(other, Keyring.generate())
    env = {**_env(settings, fresh.url, fresh.instance), "TRIAGE_KEYRING_PATH": str(other)}
    refused = _run(env, "restore", "--from", str(out))
    assert refused.exit_code == 1
    assert "sealed with another keyring" in refused.output
    assert refused.output.strip().endswith("nothing was restored")
