"""Key rotation: a new KEK becomes active, data keys are rewrapped, payloads stay readable (also
for a server started before the rotation), and a KEK is retired only when nothing uses it.
`triage keys check` opens every sealed column that the models' metadata holds."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner
from flask import Flask
from sqlalchemy import Column, LargeBinary, MetaData, String, Table, select, update

from tests.conftest import Account, facts
from tests.integration.test_lockout import events
from triage import audit, keycheck, keys, reporter_messages, screening, sealed
from triage.cli import main
from triage.config import Settings
from triage.crypto import load_keyring
from triage.db import Base
from triage.intake import schema, screened
from triage.models import MessageDirection, Report, SealedMixin, utcnow
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


# -- `triage keys check` covers every sealed table -----------------------------------------------


def test_every_binary_column_of_the_models_is_placed_by_the_key_check() -> None:
    """Found from the metadata: a new sealed table is checked without anyone listing it."""
    found = keycheck.plan()
    assert found.unplaced == ()
    placed = {str(c): c.key for c in found.columns}
    assert placed["public_message.body"] is keycheck.KeyOf.REPORT
    assert placed["attachment.content"] is placed["attachment.meta"] is keycheck.KeyOf.REPORT
    assert placed["screened_item.payload"] is keycheck.KeyOf.OWN
    own = {
        m.class_.__tablename__ for m in Base.registry.mappers if issubclass(m.class_, SealedMixin)
    }
    assert {t for t, key in ((c.table, c.key) for c in found.columns) if key == "own"} == own
    binary = {
        f"{t.name}.{c.name}"
        for t in Base.metadata.tables.values()
        for c in t.c
        if isinstance(c.type, LargeBinary)
    }
    assert binary == set(placed) | keycheck.NOT_SEALED


def test_a_binary_column_the_check_cannot_place_fails_it(app: Flask) -> None:
    metadata = MetaData()
    Table(
        "new_thing", metadata, Column("id", String, primary_key=True), Column("blob", LargeBinary)
    )
    assert keycheck.plan(metadata).unplaced == ("new_thing.blob",)
    with app.app_context(), uow_of(app).read() as session:
        found = keycheck.check(session, uow_of(app).keyring.current, metadata=metadata)
    assert not found.ok
    assert found.failed == ["new_thing.blob: not known to be sealed or not"]


def _screened(app: Flask) -> str:
    incoming = schema.parse(
        {
            "source_kind": "media",
            "outlet": "Example news",
            "url": "https://news.example.kz/keys-check",
            "language": "en",
            "headline": "Road budget",
            "text": "The council approved a new budget for road repairs on Tuesday.",
        }
    )
    assert isinstance(incoming, schema.MediaReport)
    with app.app_context(), uow_of(app).begin() as session:
        item = screened.keep(
            session,
            "Example news",
            incoming,
            screening.screen("The council approved a new budget for road repairs."),
            expires_at=utcnow() + timedelta(days=30),
        )
        return item.id


def _message(app: Flask, report_id: str) -> str:
    with app.app_context(), uow_of(app).begin() as session:
        report = session.get(Report, report_id)
        assert report is not None
        written = reporter_messages.write(
            session, report, MessageDirection.FROM_REPORTER, "Ещё одно", actor="system"
        )
        return written.id


def _flip_last_byte(app: Flask, table: str, column: str, record_id: str) -> None:
    t = Base.metadata.tables[table]
    with app.app_context(), uow_of(app).begin() as session:
        blob = session.execute(select(t.c[column]).where(t.c.id == record_id)).scalar_one()
        damaged = blob[:-1] + bytes([blob[-1] ^ 1])
        session.execute(update(t).where(t.c.id == record_id).values({column: damaged}))


def test_keys_check_opens_reporter_messages_and_screened_items(
    app: Flask, settings: Settings
) -> None:
    report_id = _file(app, "a report with a message from its reporter")
    message_id = _message(app, report_id)
    item_id = _screened(app)
    runner = CliRunner()
    checked = runner.invoke(main, ["keys", "check"], env=_env(settings))
    assert checked.exit_code == 0, checked.output
    assert "OK: 3 sealed values decrypted, 0 shredded" in checked.output
    assert f"in {len(keycheck.plan().columns)} sealed columns" in checked.output

    _flip_last_byte(app, "public_message", "body", message_id)
    _flip_last_byte(app, "screened_item", "payload", item_id)
    failed = runner.invoke(main, ["keys", "check"], env=_env(settings))
    assert failed.exit_code == 1
    assert "FAILED: 2 sealed values do not open" in failed.output
    assert f"public_message {message_id} body" in failed.output
    assert f"screened_item {item_id} payload" in failed.output
    assert "1 sealed values decrypted" in failed.output
    last = events(app, "keys.checked")[-1]
    assert facts(last)["details"] == {"opened": 1, "shredded": 0, "failed": 2, "via": "cli"}
