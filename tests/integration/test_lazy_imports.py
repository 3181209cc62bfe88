"""A command loads only what it needs: ``triage audit export`` (and verify) run in a child process
without Celery, scikit-learn or NumPy, so their memory is the export's and not the screening
model's (``bench/audit_export.py``); the commands loaded lazily still run and show in ``--help``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask

from triage import audit
from triage.config import Settings
from triage.web.deps import uow_of

#: What only the screening model, the job engine or the documents need.
HEAVY = ("celery", "sklearn", "scipy", "numpy", "weasyprint", "pygal", "triage.screening")

#: Runs the CLI in this process as ``triage`` would, then prints which heavy modules it imported.
CHILD = """
import json, sys
from triage.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    print(json.dumps([m for m in {heavy!r} if m in sys.modules]), file=sys.stderr)
"""


def _run(settings: Settings, *args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    env = {
        **os.environ,
        "TRIAGE_INSTANCE_PATH": str(settings.instance_path),
        "TRIAGE_DATABASE_URL": settings.database_url,
        "TRIAGE_KEYRING_PATH": settings.keyring_path,
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD.format(heavy=HEAVY), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    imported = json.loads(done.stderr.strip().splitlines()[-1])
    return done, imported


def test_the_audit_export_and_verify_import_nothing_heavy(
    app: Flask, settings: Settings, tmp_path: Path
) -> None:
    with app.app_context(), uow_of(app).begin() as session:
        for n in range(3):
            audit.append(
                session,
                actor=audit.SYSTEM_ACTOR,
                action="report.filed",
                object_type="report",
                object_id=f"r-{n}",
                details={"n": n},
            )
    out = tmp_path / "export.jsonl"

    done, imported = _run(settings, "audit", "export", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert len(out.read_text("utf-8").splitlines()) >= 3
    assert imported == [], f"the export imported {imported}"

    done, imported = _run(settings, "audit", "verify")
    assert done.returncode == 0, done.stderr
    assert "OK" in done.stdout
    assert imported == []


@pytest.mark.parametrize(
    ("args", "needs"),
    [(("jobs", "schedule"), "celery"), (("api-clients", "list"), "triage.screening")],
)
def test_a_lazy_command_loads_its_module_when_it_runs(
    app: Flask, settings: Settings, args: tuple[str, ...], needs: str
) -> None:
    done, imported = _run(settings, *args)
    assert done.returncode == 0, done.stderr
    assert needs in imported


def test_the_lazy_commands_are_listed_in_the_help(settings: Settings) -> None:
    done, _ = _run(settings, "--help")
    for name in ("worker", "poll-feeds", "jobs", "api-clients", "audit", "demo"):
        assert f"  {name} " in done.stdout, name
