"""The audit log for oversight: append-only in the database, tampering found by `verify` at the
right sequence number, signed exports that verify offline and refuse any alteration."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from tests.conftest import Database
from triage import audit, audit_export
from triage.cli import main
from triage.config import Settings
from triage.crypto import Keyring
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


def _raw(app: Flask, sql: str) -> None:
    """Run SQL as the database owner would, around the triggers (as an attacker could)."""
    engine = uow_of(app).engine
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_event_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_event_no_delete"))
        conn.exec_driver_sql(sql)


def _verdict(app: Flask) -> audit.Verdict:
    with app.app_context(), uow_of(app).read() as session:
        return audit.verify(session)


def _env(settings: Settings) -> dict[str, str]:
    return {
        "TRIAGE_INSTANCE_PATH": str(settings.instance_path),
        "TRIAGE_DATABASE_URL": settings.database_url,
        "TRIAGE_KEYRING_PATH": settings.keyring_path,
    }


# -- append-only -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET action = 'auth.logout' WHERE seq = 2",
        "DELETE FROM audit_event WHERE seq = 2",
    ],
)
def test_the_database_refuses_to_change_events(app: Flask, statement: str) -> None:
    _append_events(app, 3)
    with pytest.raises(DatabaseError, match="append-only"), uow_of(app).engine.begin() as conn:
        conn.execute(text(statement))
    assert _verdict(app).ok


def test_postgresql_refuses_truncate(app: Flask, database: Database) -> None:
    if database.engine != "postgresql":
        pytest.skip("TRUNCATE exists on PostgreSQL only")
    with pytest.raises(DatabaseError, match="append-only"), uow_of(app).engine.begin() as conn:
        conn.execute(text("TRUNCATE audit_event"))


# -- verify finds tampering at the right place -------------------------------------------------


def test_an_intact_chain_verifies(app: Flask) -> None:
    _append_events(app, 5)
    verdict = _verdict(app)
    assert verdict.ok and verdict.count == 6  # with instance.initialised


def test_an_altered_event_is_found(app: Flask) -> None:
    _append_events(app, 5)
    _raw(app, "UPDATE audit_event SET details = '{\"n\":99}' WHERE seq = 4")
    verdict = _verdict(app)
    assert not verdict.ok
    assert verdict.broken_seq == 4
    assert "hash mismatch" in verdict.reason


def test_a_deleted_event_is_found(app: Flask) -> None:
    _append_events(app, 5)
    _raw(app, "DELETE FROM audit_event WHERE seq = 3")
    verdict = _verdict(app)
    assert (verdict.ok, verdict.broken_seq) == (False, 3)
    assert "gap" in verdict.reason


def test_reordered_events_are_found(app: Flask) -> None:
    _append_events(app, 5)
    # Swap the contents of events 3 and 4, keeping their sequence numbers.
    _raw(app, "UPDATE audit_event SET seq = 1000 WHERE seq = 3")
    _raw(app, "UPDATE audit_event SET seq = 3 WHERE seq = 4")
    _raw(app, "UPDATE audit_event SET seq = 4 WHERE seq = 1000")
    verdict = _verdict(app)
    assert (verdict.ok, verdict.broken_seq) == (False, 3)
    assert "wrong link" in verdict.reason


def test_cli_verify_reports_the_broken_seq(app: Flask, settings: Settings) -> None:
    _append_events(app, 4)
    runner = CliRunner()
    ok = runner.invoke(main, ["audit", "verify"], env=_env(settings))
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith("OK: 5 events")
    _raw(app, "UPDATE audit_event SET actor = '7' WHERE seq = 2")
    broken = runner.invoke(main, ["audit", "verify"], env=_env(settings))
    assert broken.exit_code == 1
    assert "BROKEN at seq 2: hash mismatch" in broken.output


# -- export and offline verification -----------------------------------------------------------


@pytest.fixture
def exported(app: Flask, settings: Settings, tmp_path: Path) -> dict[str, Path]:
    """A JSON Lines and a CSV export of the same chain, and the public key, made by the CLI."""
    _append_events(app, 6)
    runner = CliRunner()
    paths = {}
    for fmt in ("jsonl", "csv"):
        out = tmp_path / f"export.{fmt}"
        result = runner.invoke(
            main, ["audit", "export", "--format", fmt, "--out", str(out)], env=_env(settings)
        )
        assert result.exit_code == 0, result.output
        paths[fmt] = out
    key = runner.invoke(main, ["audit", "public-key"], env=_env(settings))
    paths["key"] = tmp_path / "public.pem"
    paths["key"].write_text(key.output)
    return paths


def _verify_export(data: Path, manifest: Path, key: Path) -> tuple[int, str]:
    # No database and no keyring: point the settings at nothing at all.
    env = {
        "TRIAGE_INSTANCE_PATH": "/nonexistent",
        "TRIAGE_DATABASE_URL": "",
        "TRIAGE_KEYRING_PATH": "/nonexistent",
    }
    result = CliRunner().invoke(
        main,
        [
            "audit",
            "verify-export",
            str(data),
            "--manifest",
            str(manifest),
            "--public-key",
            str(key),
        ],
        env=env,
    )
    return result.exit_code, result.output


def _manifest(path: Path) -> Path:
    return path.with_name(path.name + ".manifest.json")


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_valid_export_verifies_offline(exported: dict[str, Path], fmt: str) -> None:
    code, output = _verify_export(exported[fmt], _manifest(exported[fmt]), exported["key"])
    assert code == 0, output
    # The CSV export was made second, so it also holds the JSON Lines export's own event.
    assert "OK" in output and ("7 events" if fmt == "jsonl" else "8 events") in output


def test_the_export_has_exactly_the_format_fields(exported: dict[str, Path]) -> None:
    lines = exported["jsonl"].read_text(encoding="utf-8").splitlines()
    assert len(lines) == 7
    for line in lines:
        assert list(json.loads(line)) == list(audit.FIELDS)
    manifest = json.loads(_manifest(exported["jsonl"]).read_text())
    assert manifest["count"] == 7
    assert manifest["first_prev_hash"] == audit.GENESIS_HASH
    assert manifest["last_hash"] == json.loads(lines[-1])["hash"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_one_changed_byte_is_refused(exported: dict[str, Path], fmt: str) -> None:
    data = exported[fmt].read_bytes()
    position = data.index(b"r-3") + 2
    exported[fmt].write_bytes(data[:position] + b"4" + data[position + 1 :])
    code, output = _verify_export(exported[fmt], _manifest(exported[fmt]), exported["key"])
    assert code == 1
    line = 5 if fmt == "jsonl" else 6  # r-3 is the 5th event; CSV has a header line
    assert f"line {line}" in output and "hash mismatch" in output
    assert "SHA-256 differs" in output


def test_a_dropped_line_is_refused(exported: dict[str, Path]) -> None:
    lines = exported["jsonl"].read_text(encoding="utf-8").splitlines(keepends=True)
    exported["jsonl"].write_text("".join(lines[:3] + lines[4:]), encoding="utf-8")
    code, output = _verify_export(exported["jsonl"], _manifest(exported["jsonl"]), exported["key"])
    assert code == 1
    assert "line 4 (seq 4): gap or reorder: expected seq 4, found 5" in output


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_bytes_that_are_not_text_are_refused_not_crashed_on(
    exported: dict[str, Path], fmt: str
) -> None:
    data = exported[fmt].read_bytes()
    position = data.index(b"r-3")
    exported[fmt].write_bytes(data[:position] + b"\xff\xfe" + data[position + 2 :])
    code, output = _verify_export(exported[fmt], _manifest(exported[fmt]), exported["key"])
    assert code == 1
    assert "Traceback" not in output
    assert "line " in output and "SHA-256 differs" in output


def test_a_manifest_from_another_export_is_refused(exported: dict[str, Path]) -> None:
    code, output = _verify_export(exported["jsonl"], _manifest(exported["csv"]), exported["key"])
    assert code == 1
    assert "SHA-256 differs" in output or "line 1" in output


def test_a_signature_from_another_key_is_refused(exported: dict[str, Path], tmp_path: Path) -> None:
    other = tmp_path / "other.pem"
    other.write_bytes(Keyring.generate().public_key_pem())
    code, output = _verify_export(exported["jsonl"], _manifest(exported["jsonl"]), other)
    assert code == 1
    assert "signature does not verify" in output


def test_an_edited_manifest_is_refused(exported: dict[str, Path]) -> None:
    path = _manifest(exported["jsonl"])
    manifest = json.loads(path.read_text())
    manifest["count"] = 6
    path.write_text(json.dumps(manifest))
    code, output = _verify_export(exported["jsonl"], path, exported["key"])
    assert code == 1
    assert "signature does not verify" in output


def test_csv_cells_that_look_like_formulas_are_neutralised(
    app: Flask, settings: Settings, tmp_path: Path
) -> None:
    with app.app_context(), uow_of(app).begin() as session:
        audit.append(
            session,
            actor="system",
            action="access.denied",
            object_type="route",
            object_id="=HYPERLINK(1)",
        )
        audit.append(
            session,
            actor="system",
            action="access.denied",
            object_type="route",
            object_id="'quoted",
        )
    out = tmp_path / "f.csv"
    runner = CliRunner()
    assert (
        runner.invoke(
            main, ["audit", "export", "--format", "csv", "--out", str(out)], env=_env(settings)
        ).exit_code
        == 0
    )
    body = out.read_text(encoding="utf-8")
    assert ",'=HYPERLINK(1)," in body
    assert ",''quoted," in body
    assert not re.search(r"(^|,)=", body, flags=re.MULTILINE)
    key = tmp_path / "k.pem"
    key.write_text(runner.invoke(main, ["audit", "public-key"], env=_env(settings)).output)
    code, output = _verify_export(out, _manifest(out), key)
    assert code == 0, output


def test_an_export_is_itself_an_audit_event(exported: dict[str, Path], app: Flask) -> None:
    with app.app_context(), uow_of(app).read() as session:
        events = list(audit.iter_events(session))
    exports = [e for e in events if e["action"] == "audit.exported"]
    assert [e["details"]["format"] for e in exports] == ["jsonl", "csv"]
    assert exports[0]["details"]["count"] == 7


def test_an_empty_range_is_refused_clearly(app: Flask, settings: Settings, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["audit", "export", "--from-seq", "500", "--out", str(tmp_path / "x.jsonl")],
        env=_env(settings),
    )
    assert result.exit_code == 1
    assert "no events in that range" in result.output
    assert "Traceback" not in result.output


def test_a_time_range_exports_a_contiguous_span(
    app: Flask, settings: Settings, tmp_path: Path
) -> None:
    _append_events(app, 3)
    with app.app_context(), uow_of(app).read() as session:
        events = list(audit.iter_events(session))
    since = events[2]["at"]
    out = tmp_path / "t.jsonl"
    result = CliRunner().invoke(
        main, ["audit", "export", "--since", since, "--out", str(out)], env=_env(settings)
    )
    assert result.exit_code == 0, result.output
    seqs = [json.loads(line)["seq"] for line in out.read_text().splitlines()]
    assert seqs[0] <= 3 and seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert seqs[-1] == 4


# -- the auditor in the browser ----------------------------------------------------------------


def test_auditor_filters_pages_verifies_and_exports(
    app, client, accounts, auth, tmp_path: Path
) -> None:
    _append_events(app, 60)
    auth.login_as(accounts[Role.AUDITOR])
    page = client.get("/audit/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count("<tr>") == 51  # header + 50 events
    assert 'id="older"' in html

    older = re.search(r'href="(/audit/\?before=\d+)"', html)
    assert older
    assert "instance.initialised" in client.get(older.group(1).replace("&amp;", "&")).get_data(
        as_text=True
    )

    filtered = client.get("/audit/", query_string={"action": "auth.login"}).get_data(as_text=True)
    rows = filtered[filtered.index('id="events"') :]
    assert "report.filed" not in rows and "auth.login" in rows
    assert client.get("/audit/", query_string={"since": "yesterday"}).status_code == 400

    token = auth.csrf_token("/audit/")
    verified = client.post("/audit/verify", data={"csrf_token": token})
    assert verified.status_code == 200
    assert "the chain is intact" in verified.get_data(as_text=True)

    key = client.get("/audit/public-key.pem")
    assert key.data.startswith(b"-----BEGIN PUBLIC KEY-----")
    download = client.post("/audit/export", data={"export-csrf_token": token, "export-fmt": "csv"})
    assert download.status_code == 200
    assert download.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(download.get_data()))
    assert sorted(archive.namelist()) == ["events.csv", "manifest.json"]
    archive.extractall(tmp_path)
    (tmp_path / "key.pem").write_bytes(key.data)
    code, output = _verify_export(
        tmp_path / "events.csv", tmp_path / "manifest.json", tmp_path / "key.pem"
    )
    assert code == 0, output

    checked = client.post(
        "/audit/verify-export",
        data={
            "csrf_token": token,
            "data": (io.BytesIO((tmp_path / "events.csv").read_bytes()), "events.csv"),
            "manifest": (io.BytesIO((tmp_path / "manifest.json").read_bytes()), "manifest.json"),
        },
    )
    assert checked.status_code == 200
    assert "Valid" in checked.get_data(as_text=True)
    tampered = (tmp_path / "events.csv").read_bytes().replace(b"report.filed", b"report.filex", 1)
    refused = client.post(
        "/audit/verify-export",
        data={
            "csrf_token": token,
            "data": (io.BytesIO(tampered), "events.csv"),
            "manifest": (io.BytesIO((tmp_path / "manifest.json").read_bytes()), "manifest.json"),
        },
    )
    assert refused.status_code == 422
    assert "hash mismatch" in refused.get_data(as_text=True)

    with app.app_context(), uow_of(app).read() as session:
        actions = [e["action"] for e in audit.iter_events(session)]
    assert "audit.verified" in actions and "audit.exported" in actions


def test_a_bad_export_range_in_the_browser_gets_a_message(client, accounts, auth) -> None:
    auth.login_as(accounts[Role.AUDITOR])
    token = auth.csrf_token("/audit/")
    response = client.post(
        "/audit/export",
        data={"export-csrf_token": token, "export-fmt": "jsonl", "export-from_seq": "9999"},
    )
    assert response.status_code == 400
    assert "no events in that range" in response.get_data(as_text=True)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_details_written_as_stored_give_the_bytes_a_parsed_export_gives(
    app: Flask, fmt: str
) -> None:
    """An export writes each event's stored details text as it is (``parsed=False``); the file is
    byte for byte what parsing and re-serialising every event gives."""
    with app.app_context(), uow_of(app).begin() as session:
        audit.append(
            session,
            actor="system",
            action="report.filed",
            object_type="report",
            object_id="r-kk",
            details={"zeta": "Қарағанды — «жаңа»", "alpha": 3, "flag": True, "none": None},
        )
    _append_events(app, 3)
    files = {}
    with app.app_context(), uow_of(app).read() as session:
        for parsed in (True, False):
            out = io.BytesIO()
            audit_export.write(audit.iter_events(session, parsed=parsed), fmt, out)
            files[parsed] = out.getvalue()
    assert files[False] == files[True]
    assert "Қарағанды".encode() in files[False]
