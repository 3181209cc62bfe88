"""Two app servers, one PostgreSQL (docs/deployment.md): two ``triage serve`` processes, each with
two gunicorn workers, on one database and one keyring, as two machines behind a proxy would run.

Under concurrent load from eight reviewers, half on each server, every case is claimed by one of
them only; afterwards the audit chain verifies with no gap and no fork; and the sign-in limit
counts attempts made on both servers together, not per process.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import subprocess
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from tests.conftest import PgServer
from tests.e2e.conftest import (
    TRIAGE,
    Server,
    _wait_until_ready,
    free_port,
    instance_env,
)
from tests.e2e.test_http_server import Browser
from triage import users
from triage.config import from_environment
from triage.instance import open_instance
from triage.models import AuditEvent, Case

pytestmark = pytest.mark.postgresql

REVIEWERS = 8
TAKES = 6
LOGIN_LIMIT = 20


def _triage(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [TRIAGE, *args], env=env, input=stdin, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def shared(pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """One database with a demo queue, one keyring, and eight supervisors (national scope, so
    that they all reach for the same cases), with their passwords."""
    name = f"triage_two_{uuid.uuid4().hex[:10]}"
    url = pg_server.create(name)
    path = tmp_path_factory.mktemp("shared")
    env = {
        **instance_env(path),
        "TRIAGE_DATABASE_URL": url,
        "TRIAGE_LOGIN_RATE_LIMIT": f"{LOGIN_LIMIT} per minute",
    }
    try:
        _triage(env, "init")
        _triage(env, "demo", "--reports", "60")
        people = {f"load.{n}": secrets.token_urlsafe(18) for n in range(REVIEWERS)}
        uow = open_instance(from_environment(env))  # in this process: a command each is slow
        with uow.begin() as session:
            for username, password in people.items():
                users.create_user(
                    session,
                    username=username,
                    password=password,
                    role="supervisor",
                    region=None,
                    actor="system",
                )
        uow.engine.dispose()
        yield {"env": env, "url": url, "path": path, "people": people}
    finally:
        pg_server.drop(name)


@pytest.fixture(scope="module")
def servers(shared: dict) -> Iterator[list[Server]]:
    started: list[subprocess.Popen[bytes]] = []
    found: list[Server] = []
    try:
        for n in range(2):
            port = free_port()
            log = shared["path"] / f"server-{n}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [TRIAGE, "serve", "--port", str(port), "--workers", "2"],
                    env=shared["env"],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            started.append(process)
            _wait_until_ready(process, f"http://127.0.0.1:{port}/login", log)
            found.append(Server(f"http://127.0.0.1:{port}", log))
        yield found
    finally:
        for process in started:  # nothing to drain: killed at once, group and all
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


def _take(browser: Browser) -> str | None:
    """Take the next case from the queue; its code, or None when nothing is left."""
    token = browser.csrf_token("/cases/")
    reply = browser.open("/cases/take-next", {"csrf_token": token})
    assert reply.status == 302, reply.status
    found = re.search(r"/cases/(C-[^/?#]+)$", reply.headers.get("Location", ""))
    return found.group(1) if found else None


def _load(shared: dict, servers: list[Server]) -> dict[str, list[str]]:
    """Eight supervisors, half on each server, take cases as fast as they can; what each got."""
    taken: dict[str, list[str]] = {}
    errors: list[str] = []
    start = threading.Barrier(REVIEWERS)

    def work(n: int, username: str, password: str) -> None:
        try:
            browser = Browser(servers[n % 2].base_url)
            assert browser.login(username, password).status == 302
            start.wait(timeout=60)
            mine = taken.setdefault(username, [])
            for _ in range(TAKES):
                code = _take(browser)
                if code:
                    mine.append(code)
        except Exception as exc:  # reported below, with the others
            errors.append(f"{username}: {type(exc).__name__}: {exc}")

    threads = [
        threading.Thread(target=work, args=(n, u, p))
        for n, (u, p) in enumerate(shared["people"].items())
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert not errors, errors
    return taken


def _attempts_until_refused(servers: list[Server], most: int) -> list[int]:
    """Wrong sign-ins from one address, in turn on each server, until one is refused (429)."""
    statuses: list[int] = []
    for n in range(most):
        browser = Browser(servers[n % 2].base_url)
        token = browser.csrf_token("/login")
        reply = browser.open(
            "/login",
            {"username": f"nobody.{n}", "password": "wrong password", "csrf_token": token},
        )
        statuses.append(reply.status)
        if reply.status == 429:
            break
    return statuses


def test_two_servers_share_claims_the_chain_and_the_sign_in_limit(
    shared: dict, servers: list[Server]
) -> None:
    # One test, not three: under pytest-xdist the tests of a module may run on different
    # workers, each with servers of its own.
    taken = _load(shared, servers)
    codes = [code for got in taken.values() for code in got]
    assert len(codes) >= REVIEWERS * 2, taken
    twice = [code for code, n in Counter(codes).items() if n > 1]
    assert not twice, f"cases taken by two reviewers at once: {twice}"

    engine = create_engine(shared["url"])
    try:
        with engine.connect() as conn:
            holders = dict(
                conn.execute(select(Case.code, Case.claimed_by).where(Case.code.in_(codes))).all()
            )
            users = dict(conn.execute(text("SELECT username, id FROM user_account")).all())
            count, first, last = conn.execute(
                select(func.count(), func.min(AuditEvent.seq), func.max(AuditEvent.seq))
            ).one()
    finally:
        engine.dispose()
    for username, got in taken.items():
        for code in got:
            assert holders[code] == users[username], f"{code} is not held by {username}"
    assert count == last - first + 1, "the audit chain has a gap"
    verify = _triage(shared["env"], "audit", "verify")
    assert "intact" in verify.lower(), verify

    # The sign-in limit (LOGIN_LIMIT a minute from one address) counts on both servers' four
    # worker processes together: counted apart, a refusal would come only near 4 × the limit.
    statuses = _attempts_until_refused(servers, most=LOGIN_LIMIT * 4)
    assert statuses[-1] == 429, f"no refusal in {len(statuses)} attempts"
    assert len(statuses) <= LOGIN_LIMIT + 1, statuses
    assert set(statuses[:-1]) == {401}, statuses
    other = Browser(servers[len(statuses) % 2].base_url)  # the server that did not refuse
    token = other.csrf_token("/login")
    again = other.open("/login", {"username": "x", "password": "y", "csrf_token": token})
    assert again.status == 429, "the other server does not know the address is over its limit"

    for server in servers:
        log = Path(server.log).read_text(errors="replace")
        assert "Traceback" not in log, log[-2000:]
