"""Key rotation: a new KEK becomes active, data keys are rewrapped, payloads stay readable (also
for a server started before the rotation), and a KEK is retired only when nothing uses it."""

from __future__ import annotations

from click.testing import CliRunner
from flask import Flask

from tests.conftest import Account
from triage import audit, keys, sealed
from triage.cli import main
from triage.config import Settings
from triage.crypto import load_keyring
from triage.models import Report
from triage.reports import file_report
from triage.vocab import Role, SourceKind
from triage.web.deps import uow_of


def _env(settings: Settings) -> dict[str, str]:
    return {
        "TRIAGE_INSTANCE_PATH": str(settings.instance_path),
        "TRIAGE_DATABASE_URL": settings.database_url,
        "TRIAGE_KEYRING_PATH": settings.keyring_path,
    }


def _file(app: Flask, text: str) -> str:
    with app.app_context(), uow_of(app).begin() as session:
        report = file_report(
            session, source_kind=SourceKind.MEDIA, payload={"text": text}, actor="system"
        )
        return report.id


def _read(app: Flask, report_id: str) -> str:
    with app.app_context(), uow_of(app).begin() as session:
        report = session.get(Report, report_id)
        assert report is not None
        return str(sealed.open_payload(session, report, actor="system", purpose="test")["text"])


def test_rotate_rewrap_and_retire(
    app: Flask, settings: Settings, accounts: dict[Role, Account]
) -> None:
    first = _file(app, "written before the rotation")
    old_kek = load_keyring(settings.keyring_file).active_kek
    runner = CliRunner()

    refused = runner.invoke(main, ["keys", "retire", old_kek], env=_env(settings))
    assert refused.exit_code == 1 and "cannot be retired" in refused.output

    rotated = runner.invoke(main, ["keys", "rotate", "--no-rewrap"], env=_env(settings))
    assert rotated.exit_code == 0, rotated.output
    ring = load_keyring(settings.keyring_file)
    assert ring.active_kek != old_kek and old_kek in ring.kek_ids

    status = runner.invoke(main, ["keys", "status"], env=_env(settings)).output
    assert f"{old_kek}          1 data keys" in status
    assert f"{ring.active_kek}  active  0 data keys" in status
    busy = runner.invoke(main, ["keys", "retire", old_kek], env=_env(settings))
    assert busy.exit_code == 1 and "still wrapped" in busy.output

    # This server started before the rotation and still seals under the old KEK until restarted,
    # which is why rotation is followed by a rewrap (and the retire check guards against a gap).
    assert _read(app, first) == "written before the rotation"
    second = _file(app, "written after the rotation")

    rewrapped = runner.invoke(main, ["keys", "rewrap"], env=_env(settings))
    assert rewrapped.exit_code == 0 and "Rewrapped 2 data keys" in rewrapped.output
    retired = runner.invoke(main, ["keys", "retire", old_kek], env=_env(settings))
    assert retired.exit_code == 0, retired.output
    assert old_kek not in load_keyring(settings.keyring_file).kek_ids

    # Both keys are now under the new KEK, which this server learns from the keyring file.
    assert _read(app, second) == "written after the rotation"
    assert _read(app, first) == "written before the rotation"

    with app.app_context(), uow_of(app).read() as session:
        actions = [e["action"] for e in audit.iter_events(session)]
        assert audit.verify(session).ok
    assert actions.count("key.rotated") >= 2 and "key.retired" in actions


def test_rewrap_resumes_where_it_stopped(app: Flask, settings: Settings) -> None:
    for n in range(5):
        _file(app, f"record {n}")
    with app.app_context(), uow_of(app).begin() as session:
        ring = keys.rotate(session, settings, actor="system")
    with app.app_context():
        with uow_of(app).begin() as session:
            assert keys.rewrap_batch(session, ring, limit=2) == 2  # then "interrupted"
        with uow_of(app).begin() as session:
            assert keys.pending(session, ring) == 3
        done = keys.rewrap_all(uow_of(app).begin, ring, actor="system")
        assert done == 3
        with uow_of(app).begin() as session:
            assert keys.pending(session, ring) == 0


def test_an_inline_keyring_cannot_be_rotated_by_triage(app: Flask, settings: Settings) -> None:
    inline = settings.with_overrides({"keyring": settings.keyring_file.read_text()})
    env = {**_env(settings), "TRIAGE_KEYRING": inline.keyring}
    result = CliRunner().invoke(main, ["keys", "rotate"], env=env)
    assert result.exit_code == 1
    assert "TRIAGE_KEYRING" in result.output
