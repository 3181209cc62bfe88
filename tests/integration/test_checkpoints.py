"""Signed checkpoints: an insider who deletes an event and recomputes every hash after it gets a
chain that `triage audit verify` calls intact, and that `verify --checkpoint` and the auditor's
offline check of an export refuse, naming the seq; a chain cut short before a signed head is
refused too; checkpoints are signed with the keyring's key, appended to a file outside the
database and POSTed to the auditor."""

from __future__ import annotations

import base64
import http.server
import io
import json
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from tests.conftest import Account, AuthActions
from triage import audit, checkpoints
from triage.cli import main
from triage.config import Settings
from triage.crypto import Keyring, load_keyring, verify_signature
from triage.notify import signing
from triage.vocab import Role
from triage.web.deps import uow_of


def _append_events(app: Flask, n: int) -> None:
    with app.app_context(), uow_of(app).begin() as session:
        for i in range(n):
            audit.append(
                session,
                actor="system",
                action="report.filed",
                object_type="report",
                object_id=f"r-{i}",
                details={"n": i},
            )


def _events(app: Flask) -> list[dict[str, Any]]:
    with app.app_context(), uow_of(app).read() as session:
        return list(audit.iter_events(session))


def _as_insider(app: Flask, statements: list[tuple[str, dict[str, Any]]]) -> None:
    """Write around the append-only triggers, as someone with the database owner's rights could."""
    engine = uow_of(app).engine
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_event_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_event_no_delete"))
        for sql, params in statements:
            conn.execute(text(sql), params)


_INSERT = (
    "INSERT INTO audit_event (seq, at, actor, action, object_type, object_id, details, "
    "prev_hash, hash) VALUES (:seq, :at, :actor, :action, :object_type, :object_id, :details, "
    ":prev_hash, :hash)"
)


def _rewrite_without(app: Flask, removed_seq: int) -> None:
    """Delete one event, renumber those after it and recompute every hash: a consistent chain."""
    events = _events(app)
    kept = [e for e in events if e["seq"] != removed_seq]
    prev = audit.GENESIS_HASH
    rows = []
    for seq, event in enumerate(kept, start=1):
        fields = {**event, "seq": seq, "prev_hash": prev}
        fields["hash"] = prev = audit.chain_hash(fields)
        if seq >= removed_seq:
            rows.append({**fields, "details": _details(event)})
    statements = [("DELETE FROM audit_event WHERE seq >= :seq", {"seq": removed_seq})]
    statements += [(_INSERT, row) for row in rows]
    _as_insider(app, statements)


def _details(event: dict[str, Any]) -> str:
    return json.dumps(event["details"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _cut_from(app: Flask, first_removed: int) -> None:
    _as_insider(app, [("DELETE FROM audit_event WHERE seq >= :seq", {"seq": first_removed})])


def _env(settings: Settings, checkpoint_file: Path, **more: str) -> dict[str, str]:
    return {
        "TRIAGE_INSTANCE_PATH": str(settings.instance_path),
        "TRIAGE_DATABASE_URL": settings.database_url,
        "TRIAGE_KEYRING_PATH": settings.keyring_path,
        "TRIAGE_CHECKPOINT_FILE": str(checkpoint_file),
        **more,
    }


def _run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


@pytest.fixture
def cp_file(tmp_path: Path) -> Path:
    return tmp_path / "auditor" / "checkpoints.jsonl"


# -- the database's chain against the checkpoints ----------------------------------------------


def test_a_rewritten_history_passes_verify_but_not_the_checkpoint(
    app: Flask, settings: Settings, cp_file: Path
) -> None:
    env = _env(settings, cp_file)
    _append_events(app, 5)
    taken = _run(env, "audit", "checkpoint")
    assert taken.exit_code == 0, taken.output
    signed = checkpoints.read_file(cp_file)[-1]
    assert signed.seq == 7 and f"seq {signed.seq}" in taken.output  # init + 5 + its own event
    _append_events(app, 3)

    assert _run(env, "audit", "verify", "--checkpoint", str(cp_file)).exit_code == 0
    _rewrite_without(app, 3)

    plain = _run(env, "audit", "verify")
    assert plain.exit_code == 0 and "chain intact" in plain.output  # the insider's success
    checked = _run(env, "audit", "verify", "--checkpoint", str(cp_file))
    assert checked.exit_code == 1
    assert f"BROKEN at seq {signed.seq}: the event's hash is not the one signed" in checked.output
    assert "rewritten" in checked.output
    # Nor does the instance lend its key to the rewritten chain.
    refused = _run(env, "audit", "checkpoint")
    assert refused.exit_code == 1
    assert "refusing to sign: the chain no longer holds the event signed in" in refused.output


def test_a_chain_cut_short_before_a_signed_head_is_refused(
    app: Flask, settings: Settings, cp_file: Path
) -> None:
    env = _env(settings, cp_file)
    _append_events(app, 4)
    assert _run(env, "audit", "checkpoint").exit_code == 0
    signed = checkpoints.read_file(cp_file)[-1]
    _cut_from(app, 4)  # the last events, the checkpoint's own among them

    assert _run(env, "audit", "verify").exit_code == 0
    checked = _run(env, "audit", "verify", "--checkpoint", str(cp_file))
    assert checked.exit_code == 1
    # Three events are left, and the plain verify's own audit.verified became the fourth.
    assert f"BROKEN at seq {signed.seq}: the chain ends at seq 4" in checked.output
    assert "events were removed" in checked.output


def test_an_intact_chain_reaches_every_checkpoint(
    app: Flask, settings: Settings, cp_file: Path
) -> None:
    env = _env(settings, cp_file)
    for _ in range(3):
        _append_events(app, 2)
        assert _run(env, "audit", "checkpoint").exit_code == 0
    found = checkpoints.read_file(cp_file)
    assert [c.counter for c in found] == [1, 2, 3]
    result = _run(env, "audit", "verify", "--checkpoint", str(cp_file))
    assert result.exit_code == 0, result.output
    assert "reaches all 3 signed checkpoints, latest checkpoint #3" in result.output
    assert oct(cp_file.stat().st_mode & 0o777) == "0o600"
    actions = [e["action"] for e in _events(app)]
    assert actions.count("audit.checkpointed") == 3


def test_a_checkpoint_signed_by_another_key_is_refused(
    app: Flask, settings: Settings, cp_file: Path
) -> None:
    env = _env(settings, cp_file)
    events = _events(app)
    head = events[-1]
    cp_file.parent.mkdir(parents=True)
    checkpoints.append(
        cp_file, Keyring.generate(), seq=head["seq"], hash=head["hash"], head_at=head["at"]
    )
    result = _run(env, "audit", "verify", "--checkpoint", str(cp_file))
    assert result.exit_code == 1
    assert "signature does not verify with this public key" in result.output


def test_an_altered_checkpoint_line_is_refused(
    app: Flask, settings: Settings, cp_file: Path
) -> None:
    env = _env(settings, cp_file)
    assert _run(env, "audit", "checkpoint").exit_code == 0
    # The insider edits the file's copy to match the rewritten chain: the signature breaks.
    doc = json.loads(cp_file.read_text())
    doc["hash"] = "0" * 64
    cp_file.write_text(json.dumps(doc) + "\n")
    result = _run(env, "audit", "verify", "--checkpoint", str(cp_file))
    assert result.exit_code == 1 and "does not verify" in result.output


# -- exports carry the signed head; the auditor's offline check --------------------------------


def _export(env: dict[str, str], out: Path) -> dict[str, Any]:
    result = _run(env, "audit", "export", "--out", str(out))
    assert result.exit_code == 0, result.output
    return dict(json.loads(out.with_name(out.name + ".manifest.json").read_text()))


def _offline(out: Path, key: Path, cp_file: Path | None) -> Result:
    args = ["audit", "verify-export", str(out), "--manifest", f"{out}.manifest.json"]
    args += ["--public-key", str(key)]
    if cp_file is not None:
        args += ["--checkpoint", str(cp_file)]
    return CliRunner().invoke(main, args, env={})  # no database, no keyring


def test_every_export_carries_a_signed_head_and_checks_against_checkpoints(
    app: Flask, settings: Settings, cp_file: Path, tmp_path: Path
) -> None:
    env = _env(settings, cp_file)
    key = tmp_path / "triage.pem"
    key.write_bytes(load_keyring(settings.keyring_file).public_key_pem())
    _append_events(app, 4)
    manifest = _export(env, tmp_path / "first.jsonl")
    embedded = checkpoints.Checkpoint.from_doc(manifest["checkpoint"])
    assert embedded.seq == manifest["last_seq"] + 1  # the audit.exported event itself
    assert checkpoints.read_file(cp_file)[-1] == embedded  # also in the file
    _append_events(app, 3)
    assert _run(env, "audit", "checkpoint").exit_code == 0

    second = tmp_path / "second.jsonl"
    _export(env, second)
    ok = _offline(second, key, cp_file)
    assert ok.exit_code == 0, ok.output
    assert "2 signed checkpoints within the export match it" in ok.output

    _rewrite_without(app, 2)
    rewritten = tmp_path / "rewritten.jsonl"
    _export(env, rewritten)
    assert _offline(rewritten, key, None).exit_code == 0  # self-consistent, signed
    refused = _offline(rewritten, key, cp_file)
    assert refused.exit_code == 1
    assert f"seq {embedded.seq}: the event's hash is not the one signed" in refused.output


def test_an_export_of_a_chain_cut_short_is_refused_offline(
    app: Flask, settings: Settings, cp_file: Path, tmp_path: Path
) -> None:
    env = _env(settings, cp_file)
    key = tmp_path / "triage.pem"
    key.write_bytes(load_keyring(settings.keyring_file).public_key_pem())
    _append_events(app, 5)
    assert _run(env, "audit", "checkpoint").exit_code == 0
    signed = checkpoints.read_file(cp_file)[-1]
    _cut_from(app, 4)

    out = tmp_path / "cut.jsonl"
    manifest = _export(env, out)
    assert "checkpoint" not in manifest  # the instance refuses to sign the shortened chain
    assert _offline(out, key, None).exit_code == 0
    refused = _offline(out, key, cp_file)
    assert refused.exit_code == 1
    assert f"seq {signed.seq}: when this export was made the chain ended at seq 3" in (
        refused.output
    )


# -- the auditor's webhook ---------------------------------------------------------------------


class _Auditor(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[bytes, str]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((body, self.headers.get(signing.SIGNATURE_HEADER, "")))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def auditor() -> Iterator[tuple[str, list[tuple[bytes, str]]]]:
    _Auditor.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Auditor)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/checkpoints", _Auditor.received
    server.shutdown()
    server.server_close()


def test_each_checkpoint_is_posted_to_the_auditor_signed(
    app: Flask,
    settings: Settings,
    cp_file: Path,
    auditor: tuple[str, list[tuple[bytes, str]]],
) -> None:
    url, received = auditor
    env = _env(
        settings,
        cp_file,
        TRIAGE_CHECKPOINT_WEBHOOK=url,
        TRIAGE_CHECKPOINT_WEBHOOK_SECRET="shared-secret",
    )
    result = _run(env, "audit", "checkpoint")
    assert result.exit_code == 0, result.output
    assert len(received) == 1
    body, header = received[0]
    posted = checkpoints.Checkpoint.from_doc(json.loads(body))
    assert posted == checkpoints.read_file(cp_file)[-1]
    public_key = load_keyring(settings.keyring_file).public_key_pem()
    signature = base64.b64decode(posted.signature)
    assert verify_signature(public_key, signature, posted.signed_bytes())
    assert signing.verify("shared-secret", header, body, now=int(time.time()))


def test_an_unreachable_auditor_fails_the_command_but_keeps_the_file(
    app: Flask, settings: Settings, cp_file: Path
) -> None:
    env = _env(settings, cp_file, TRIAGE_CHECKPOINT_WEBHOOK="http://127.0.0.1:9/nowhere")
    result = _run(env, "audit", "checkpoint")
    assert result.exit_code == 1
    assert "could not be reached" in result.output
    assert len(checkpoints.read_file(cp_file)) == 1


def test_the_auditors_export_page_carries_a_signed_head(
    app: Flask,
    client: FlaskClient,
    accounts: dict[Role, Account],
    settings: Settings,
    tmp_path: Path,
) -> None:
    auth = AuthActions(client)
    auth.login_as(accounts[Role.AUDITOR])
    token = auth.csrf_token("/audit/")
    download = client.post(
        "/audit/export", data={"export-csrf_token": token, "export-fmt": "jsonl"}
    )
    assert download.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(download.get_data()))
    manifest = json.loads(archive.read("manifest.json"))
    embedded = checkpoints.Checkpoint.from_doc(manifest["checkpoint"])
    assert embedded.seq == manifest["last_seq"] + 1
    assert embedded.verifies(load_keyring(settings.keyring_file).public_key_pem())
    # The instance's own file (the default place) holds it too.
    assert checkpoints.read_file(settings.instance_path / "checkpoints.jsonl")[-1] == embedded
