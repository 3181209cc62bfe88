"""A rotation killed half-way (SIGKILL, inside an open batch) and resumed leaves every payload
readable: batches commit whole or not at all, and what is left to rewrap is read from the data."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select

from triage import keys, sealed
from triage.cli import main
from triage.config import Settings
from triage.crypto import load_keyring
from triage.models import DataKey, Report
from triage.reports import file_report
from triage.vocab import SourceKind
from triage.web.deps import uow_of

RECORDS = 120
BATCH = 10

# The child rewraps in batches of BATCH; before each commit it says so and waits, so the parent
# can kill it with a batch written but not committed.
_CHILD = textwrap.dedent(
    f"""
    import sys, time
    from contextlib import contextmanager
    from triage import keys
    from triage.config import from_environment
    from triage.instance import open_instance

    uow = open_instance(from_environment())

    @contextmanager
    def slow_batch():
        with uow.begin() as session:
            yield session
            print("about to commit", flush=True)
            time.sleep(0.5)

    def committed(n):
        print(f"committed {{n}}", flush=True)

    keys.rewrap_all(
        slow_batch, uow.keyring.current, actor="system", progress=committed, batch={BATCH}
    )
    print("finished", flush=True)
    """
)


def _env(settings: Settings) -> dict[str, str]:
    return {
        "TRIAGE_INSTANCE_PATH": str(settings.instance_path),
        "TRIAGE_DATABASE_URL": settings.database_url,
        "TRIAGE_KEYRING_PATH": settings.keyring_path,
    }


def _under(app: Flask, kek_id: str) -> int:
    with app.app_context(), uow_of(app).read() as session:
        query = select(func.count()).select_from(DataKey).where(DataKey.kek_id == kek_id)
        return int(session.scalar(query) or 0)


def test_a_rotation_killed_mid_batch_resumes_and_every_payload_opens(
    app: Flask, settings: Settings
) -> None:
    texts = {}
    with app.app_context(), uow_of(app).begin() as session:
        for n in range(RECORDS):
            report = file_report(
                session, source_kind=SourceKind.MEDIA, payload={"text": f"record {n}"},
                actor="system",
            )  # fmt: skip
            texts[report.id] = f"record {n}"
    old_kek = load_keyring(settings.keyring_file).active_kek
    env = {**os.environ, **_env(settings)}
    runner = CliRunner()
    rotated = runner.invoke(main, ["keys", "rotate", "--no-rewrap"], env=_env(settings))
    assert rotated.exit_code == 0, rotated.output
    new_kek = load_keyring(settings.keyring_file).active_kek

    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert child.stdout is not None
    seen = []
    for line in child.stdout:
        seen.append(line.strip())
        if seen.count("about to commit") == 4:  # three batches committed, the fourth pending
            break
    else:
        raise AssertionError(f"the child ended early: {seen} {child.stderr.read()}")  # type: ignore[union-attr]
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL

    # Exactly the three committed batches moved; the killed one rolled back whole.
    assert _under(app, new_kek) == 3 * BATCH
    assert _under(app, old_kek) == RECORDS - 3 * BATCH
    status = runner.invoke(main, ["keys", "status"], env=_env(settings)).output
    assert f"{old_kek}          {RECORDS - 3 * BATCH} data keys" in status

    resumed = runner.invoke(main, ["keys", "rewrap"], env=_env(settings))
    assert resumed.exit_code == 0, resumed.output
    assert f"Rewrapped {RECORDS - 3 * BATCH} data keys" in resumed.output
    assert _under(app, old_kek) == 0

    checked = runner.invoke(main, ["keys", "check"], env=_env(settings))
    assert checked.exit_code == 0, checked.output
    assert f"OK: {RECORDS} sealed values decrypted" in checked.output
    retired = runner.invoke(main, ["keys", "retire", old_kek], env=_env(settings))
    assert retired.exit_code == 0, retired.output
    with app.app_context(), uow_of(app).begin() as session:
        for report_id, text in texts.items():
            stored = session.get(Report, report_id)
            assert stored is not None
            opened = sealed.open_payload(session, stored, actor="system", purpose="test")
            assert opened["text"] == text
        assert keys.pending(session, uow_of(app).keyring.holding(new_kek)) == 0


def test_keys_check_fails_on_a_payload_that_does_not_open(app: Flask, settings: Settings) -> None:
    with app.app_context(), uow_of(app).begin() as session:
        report = file_report(
            session, source_kind=SourceKind.MEDIA, payload={"text": "x"}, actor="system"
        )
        assert report.payload is not None
        report.payload = report.payload[:-1] + bytes([report.payload[-1] ^ 1])
    result = CliRunner().invoke(main, ["keys", "check"], env=_env(settings))
    assert result.exit_code == 1
    assert f"FAILED: 1 sealed values do not open (report {report.id} payload)" in result.output
