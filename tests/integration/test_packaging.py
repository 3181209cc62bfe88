"""triage as a package: ``wsgi:app`` serves, and the wheel carries what it needs to run.

The slow test builds the wheel, installs it into a fresh virtual environment outside the checkout
and runs ``triage init``, ``triage demo`` and ``triage serve`` there, over real HTTP: the
templates, static files and migrations must come from inside the installed package.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from flask import Flask

from triage.crypto import Keyring, write_keyring
from triage.instance import head_revision
from triage.web.deps import uow_of

ROOT = Path(__file__).resolve().parents[2]
COMMAND_TIMEOUT_S = 120
READY_TIMEOUT_S = 30


@pytest.fixture
def wsgi_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keyring: Keyring, sqlite_template: Path
) -> Iterator[ModuleType]:
    """``wsgi`` imported afresh, with the environment pointing at an initialised instance."""
    for name in list(os.environ):
        if name.startswith("TRIAGE_"):
            monkeypatch.delenv(name)
    write_keyring(tmp_path / "keyring.json", keyring)
    shutil.copyfile(sqlite_template, tmp_path / "triage.sqlite3")
    monkeypatch.setenv("TRIAGE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delitem(sys.modules, "wsgi", raising=False)
    module = importlib.import_module("wsgi")
    try:
        yield module
    finally:
        uow_of(module.app).engine.dispose()
        sys.modules.pop("wsgi", None)


def test_wsgi_app_serves_the_login_page(wsgi_module: ModuleType, tmp_path: Path) -> None:
    assert Path(wsgi_module.__file__ or "") == ROOT / "wsgi.py"
    app = wsgi_module.app
    assert isinstance(app, Flask)
    assert Path(app.instance_path) == tmp_path
    response = app.test_client().get("/login")
    assert response.status_code == 200
    assert 'name="csrf_token"' in response.get_data(as_text=True)


# -- the wheel, installed outside the checkout ----------------------------------------------------


def _run(args: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )
    assert result.returncode == 0, f"{args} exited {result.returncode}:\n{result.stderr}"
    return result


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (our own server)
        return response.status, response.read()


def _wait_for(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"triage serve exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError):
            if _get(url)[0] == 200:
                return
        time.sleep(0.2)
    pytest.fail(f"triage serve was not ready within {READY_TIMEOUT_S} s:\n{log.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> int:
    """End the server's process group (gunicorn's arbiter and its worker); its exit code."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError):  # a worker that outlived the arbiter
        os.killpg(process.pid, signal.SIGKILL)
    return process.returncode


@pytest.mark.slow
def test_the_wheel_installs_and_runs_outside_the_checkout(tmp_path: Path) -> None:
    tmp_path = tmp_path.resolve()
    dist, venv, work = tmp_path / "dist", tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    assert ROOT not in tmp_path.parents

    # Build with the hatchling of this environment (the test extra), so nothing is fetched.
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", dist, ROOT])
    (wheel,) = dist.glob("triage-*.whl")

    # A fresh environment with only the wheel installed in it...
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    _run([*pip, "--python", python, "install", "--no-deps", "--no-index", wheel])
    # ...then this environment's dependencies made visible to it, as plain sys.path entries:
    # the .pth files in them (this checkout's editable install among them) are not processed.
    site = Path(
        _run(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
        ).stdout.strip()
    )
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site / "zz_test_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TRIAGE_", "PYTHON", "VIRTUAL_ENV"))
    }
    probe = _run(
        [
            python,
            "-c",
            "import triage, triage.config as c; "
            "print(triage.__file__); print(c.resource_path('templates')); "
            "print(c.resource_path('alembic.ini')); print(c.Settings().instance_path)",
        ],
        cwd=work,
        env=env,
    )
    package_file, templates, alembic_ini, default_instance = probe.stdout.splitlines()
    assert Path(package_file).is_relative_to(venv), package_file
    assert Path(templates) == Path(package_file).parent / "templates"
    assert (Path(templates) / "login.html").is_file()
    assert Path(alembic_ini).is_file() and Path(alembic_ini).is_relative_to(venv)
    assert Path(default_instance) == work / "instance"  # not inside site-packages

    env |= {
        "TRIAGE_INSTANCE_PATH": str(work / "instance"),
        # cheap password hashing for the demo accounts; the defaults are for production
        "TRIAGE_ARGON2_TIME_COST": "1",
        "TRIAGE_ARGON2_MEMORY_KIB": "1024",
        "TRIAGE_ARGON2_PARALLELISM": "1",
    }
    triage = venv / "bin" / "triage"
    init = _run([triage, "init"], cwd=work, env=env)
    assert f"Created a new keyring at {work / 'instance' / 'keyring.json'}" in init.stdout
    assert f"Database ready at schema revision {head_revision()}." in init.stdout
    demo = _run([triage, "demo"], cwd=work, env=env)
    assert "Demo reports filed now:" in demo.stdout, demo.stdout

    port, log = _free_port(), work / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [triage, "serve", "--port", str(port), "--workers", "1"],
            cwd=work,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so that _stop ends the worker too
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(server, base + "/login", log)
        status, page = _get(base + "/login")
        assert status == 200
        assert b'name="csrf_token"' in page
        status, css = _get(base + "/static/style.css")
        assert status == 200
        assert css == (Path(package_file).parent / "static" / "style.css").read_bytes()
    finally:
        code = _stop(server)
    assert code == 0, log.read_text()
    served = log.read_text()
    assert f"triage is running at http://127.0.0.1:{port}/" in served
    messages = [
        json.loads(line)["message"] for line in served.splitlines() if line.startswith("{")
    ]  # the server logs JSON lines (docs/deployment.md)
    assert any('"GET /login" 200' in m for m in messages), served
    assert any('"GET /static/style.css" 200' in m for m in messages), served
