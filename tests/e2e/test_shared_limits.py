"""Limits and sessions that hold across workers and servers: two real gunicorn servers on one
instance (one with two workers, one with one) take turns answering sign-in attempts from one
address, and the eleventh attempt is refused, as ``TRIAGE_LOGIN_RATE_LIMIT`` (10 per minute)
says, because every worker counts in the database (the embedded default). Redis, the
production store, is Flask-Limiter's own; tests/integration/test_limit_storage.py checks
triage's wiring of it.

The control: with ``memory://`` each worker counts alone, the same eleven attempts all pass, and
the test would fail if the shared counting were taken out. On the way, a session begun on one
server is ended on the other, and a copy of its cookie then opens nothing on the first."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    TRIAGE,
    _stop,
    _wait_until_ready,
    free_port,
    instance_env,
    run_triage,
)
from tests.e2e.test_http_server import Browser

#: ``TRIAGE_LOGIN_RATE_LIMIT``'s default, 10 per minute: one sign-in and nine guesses pass.
LIMIT = 10
ACCOUNT = "night.auditor"
PASSWORD = "quartz lantern meadow 7 ribbon"


@contextlib.contextmanager
def two_servers(instance: Path, env: dict[str, str]) -> Iterator[tuple[str, str]]:
    """One server with two workers and one with one, started side by side, always stopped."""
    started: list[tuple[subprocess.Popen[bytes], str, Path]] = []
    try:
        for name, workers in (("two-workers", 2), ("one-worker", 1)):
            port, log = free_port(), instance / f"{name}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [TRIAGE, "serve", "--port", str(port), "--workers", str(workers)],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            started.append((process, f"http://127.0.0.1:{port}", log))
        for process, base_url, log in started:
            _wait_until_ready(process, base_url + "/login", log)
        yield started[0][1], started[1][1]
    finally:
        for process, _, _ in started:
            _stop(process)


def sign_in_then_replay_after_sign_out(first: str, second: str) -> None:
    """A session begun on one server is known to the other; signed out there, a copy of its
    cookie opens nothing on the first. One sign-in attempt, counted like the guesses."""
    browser = Browser(first)
    assert browser.login(ACCOUNT, PASSWORD).status == 302
    copied = next(c for c in browser.jar if c.name == "triage_session")
    elsewhere = Browser(second)
    elsewhere.jar.set_cookie(copied)
    assert elsewhere.open("/").status == 200, "the other server does not know the session"
    token = elsewhere.csrf_token("/")
    assert elsewhere.open("/logout", {"csrf_token": token}).status == 302
    replay = Browser(first)
    replay.jar.set_cookie(copied)
    after = replay.open("/")
    assert after.status == 302 and "/login" in after.headers["Location"]


def guess_in_turns(first: str, second: str, guesses: int) -> list[int]:
    """Wrong passwords for the account, from one address, alternating between the servers;
    each guess with a fresh form (and so a fresh session) as a script would send them."""
    statuses = []
    for attempt in range(guesses):
        browser = Browser(first if attempt % 2 == 0 else second)
        statuses.append(browser.login(ACCOUNT, f"guess number {attempt}").status)
    return statuses


@pytest.fixture(scope="module")
def instance_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("shared-limits")
    init = run_triage(path, "init")
    assert init.returncode == 0, init.stderr
    made = subprocess.run(
        [TRIAGE, "create-user", ACCOUNT, "--role", "auditor", "--password-stdin"],
        input=PASSWORD + "\n",
        env=instance_env(path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    return path


@pytest.mark.parametrize("storage", ["database", "memory://"])
def test_two_servers_share_one_sign_in_limit(instance_path: Path, storage: str) -> None:
    """One real sign-in and nine wrong guesses pass; the eleventh attempt is refused."""
    env = {
        **instance_env(instance_path),
        "TRIAGE_RATELIMIT_STORAGE_URL": storage,
        # The variants share the account: the lockout one variant's guesses cause would refuse
        # the next one's sign-in (tests/integration/test_lockout.py tests the lockout).
        "TRIAGE_LOCKOUT_THRESHOLD": "0",
    }

    with two_servers(instance_path, env) as (first, second):
        sign_in_then_replay_after_sign_out(first, second)
        statuses = guess_in_turns(first, second, LIMIT)

    if storage == "memory://":
        assert statuses == [401] * LIMIT, "memory counts per worker: nothing is refused"
    else:
        assert statuses == [401] * (LIMIT - 1) + [429], statuses
