"""A real instance and a real server: ``triage init``, ``triage demo`` and ``triage serve`` run as
an operator would run them, in a throwaway instance folder on SQLite.

The server runs in its own process group, which the fixture always ends, test passed or not.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

TRIAGE = str(Path(sys.executable).with_name("triage"))
READY_TIMEOUT_S = 60
#: Cheap Argon2 for the demo accounts and every sign-in of the browsers (the default costs about
#: 170 ms a hash, for nine accounts in each module's ``triage demo`` and each sign-in).
CHEAP_HASH = {
    "TRIAGE_ARGON2_TIME_COST": "1",
    "TRIAGE_ARGON2_MEMORY_KIB": "1024",
    "TRIAGE_ARGON2_PARALLELISM": "1",
}
COMMAND_TIMEOUT_S = 120


def instance_env(instance: Path) -> dict[str, str]:
    """The caller's environment without any ``TRIAGE_*`` setting, pointed at ``instance``, with
    cheap password hashing (``CHEAP_HASH``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env["TRIAGE_INSTANCE_PATH"] = str(instance)
    env.update(CHEAP_HASH)
    return env


def run_triage(instance: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TRIAGE, *args],
        env=instance_env(instance),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Instance:
    path: Path
    #: username -> password, as printed by ``triage demo``.
    credentials: dict[str, str]


@dataclass(frozen=True)
class Server:
    base_url: str
    log: Path


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Instance:
    path = tmp_path_factory.mktemp("instance")
    init = run_triage(path, "init")
    assert init.returncode == 0, init.stderr
    demo = run_triage(path, "demo")
    assert demo.returncode == 0, demo.stderr
    credentials = dict(
        re.findall(
            r"^\s+(\S+)\s+(\S+)\s+(?:caseworker|reviewer|supervisor|auditor|admin)\b",
            demo.stdout,
            re.M,
        )
    )
    assert {"admin", "reviewer", "auditor"} <= set(credentials), demo.stdout
    return Instance(path, credentials)


def _wait_until_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our server)
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(f"the server was not ready within {READY_TIMEOUT_S} s:\n{log.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the server's process group (gunicorn's arbiter and its workers), gently first."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError):  # workers that outlived the arbiter
        os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def serving(instance: Instance, env: dict[str, str] | None = None) -> Iterator[Server]:
    """``triage serve`` (gunicorn, two workers) on the instance, with ``env`` added to its
    environment, until the block ends."""
    port = free_port()
    log = instance.path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [TRIAGE, "serve", "--port", str(port), "--workers", "2"],
            env={**instance_env(instance.path), **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so that _stop ends the workers too
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_ready(process, base_url + "/login", log)
        yield Server(base_url, log)
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def server(instance: Instance) -> Iterator[Server]:
    with serving(instance) as found:
        yield found
