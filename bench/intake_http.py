"""Benchmark: intake through the real HTTP stack — gunicorn with 2 workers, keep-alive clients —
for the API and for the caseworker's form, against a plain-storage endpoint served by the same
workers (``bench/_plain_wsgi.py``: the same body stored in SQLite, no validation, sealing or
audit), measured in the same run, rounds alternating.

    .venv/bin/python bench/intake_http.py                       # 8 connections, 3 rounds of 10 s
    .venv/bin/python bench/intake_http.py --connections 8 --seconds 10 --rounds 3
    .venv/bin/python bench/intake_http.py --profile             # pyinstrument of API filing
    .venv/bin/python bench/intake_http.py --engine postgresql   # both sides on PostgreSQL
    .venv/bin/python bench/intake_http.py --limits redis://127.0.0.1:6379/0   # or memory://

``--engine postgresql`` puts the instance and the plain endpoint's table each in a database of
their own on the local server (made for the run, dropped after it). ``--limits`` is
``TRIAGE_RATELIMIT_STORAGE_URL`` for the run (``database`` by default, as the embedded default):
the cost of counting the API's limit in each storage.

wrk is not installed here; the load generator is a thread per connection with a kept-alive
``http.client`` connection, which itself uses CPU on the same 2 cores (for both sides alike).
The API's rate limit is raised for the run with its documented variable,
``TRIAGE_API_RATE_LIMIT``, and the sign-in limit with ``TRIAGE_LOGIN_RATE_LIMIT``.

Prints, per scenario, the median over rounds of requests per second and of p50 / p95 / p99
latency, and their ratio to the plain endpoint's. Target (issue 13): intake ≥ 0.75× the plain
endpoint's requests per second.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._instance import PG_ADMIN, median, pct, verdict  # noqa: E402

TARGET_RATIO = 0.75
PASSWORD = "bench-password-1234"  # noqa: S105 (a throwaway instance)
_counter = iter(range(10**9))
_lock = threading.Lock()


def _next() -> int:
    with _lock:
        return next(_counter)


def media_json() -> dict[str, Any]:
    n = _next()
    return {
        "source_kind": "media",
        "region": "karaganda",
        "categories": ["battery"],
        "outlet": "Invented Daily",
        "url": f"https://news.example.kz/http-bench/{os.getpid()}/{n}",
        "language": "ru",
        "headline": "Invented headline about a family dispute",
        "text": "An invented article about a family dispute in a city. " * 8,
    }


def media_form() -> dict[str, str]:
    data = media_json()
    return {
        "region": data["region"],
        "categories": "battery",
        "outlet": data["outlet"],
        "url": data["url"],
        "language": data["language"],
        "headline": data["headline"],
        "text": data["text"],
    }


class Client:
    """One kept-alive connection with its cookies."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request(method, path, body=body, headers=sent)
        response = self.conn.getresponse()
        data = response.read().decode("utf-8", "replace")
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, data

    def csrf(self, path: str) -> str:
        _, page = self.request("GET", path)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
            r'value="([^"]+)"[^>]*name="csrf_token"', page
        )
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def post_form(self, path: str, data: dict[str, str]) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode()
        return self.request(
            "POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"}
        )

    def sign_in(self, username: str) -> None:
        token = self.csrf("/login")
        status, _ = self.post_form(
            "/login", {"csrf_token": token, "username": username, "password": PASSWORD}
        )
        assert status in (302, 303), f"sign-in answered {status}"


Step = Callable[[Client], int]


def scenarios(token: str) -> dict[str, tuple[Step, Callable[[Client], None] | None]]:
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    plain = {"Content-Type": "application/json"}
    form_tokens: dict[int, str] = {}

    def api(c: Client) -> int:
        return c.request("POST", "/api/v1/reports", json.dumps(media_json()).encode(), auth)[0]

    def plain_json(c: Client) -> int:
        return c.request("POST", "/plain/reports", json.dumps(media_json()).encode(), plain)[0]

    def form_setup(c: Client) -> None:
        c.sign_in("bench.caseworker")
        form_tokens[id(c)] = c.csrf("/reports/new/media")

    def form(c: Client) -> int:
        data = {"csrf_token": form_tokens[id(c)], **media_form()}
        return c.post_form("/reports/new/media", data)[0]

    def plain_form(c: Client) -> int:
        return c.post_form("/plain/reports", media_form())[0]

    return {
        "API (POST /api/v1/reports)": (api, None),
        "  plain endpoint, same JSON": (plain_json, None),
        "caseworker form (media)": (form, form_setup),
        "  plain endpoint, same form": (plain_form, None),
    }


def run(
    port: int, step: Step, setup: Callable[[Client], None] | None, connections: int, seconds: float
) -> tuple[float, list[float], int]:
    """Requests per second, latencies (ms) and failed requests of ``connections`` clients
    posting for ``seconds``."""
    clients = [Client(port) for _ in range(connections)]
    if setup:
        for c in clients:
            setup(c)
    latencies: list[list[float]] = [[] for _ in clients]
    failures = [0] * connections
    stop = time.perf_counter() + seconds

    def work(i: int) -> None:
        c = clients[i]
        while time.perf_counter() < stop:
            t = time.perf_counter()
            status = step(c)
            latencies[i].append((time.perf_counter() - t) * 1000)
            if status not in (200, 201, 302, 303):
                failures[i] += 1

    start = time.perf_counter()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    flat = [x for lat in latencies for x in lat]
    for c in clients:
        c.conn.close()
    return len(flat) / elapsed, flat, sum(failures)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def databases(engine: str, folder: Path) -> Iterator[dict[str, str]]:
    """The variables that point the instance and the plain endpoint at their databases."""
    if engine == "sqlite":
        plain = folder / "plain.sqlite3"
        # Made here, in WAL mode, before the workers start: two workers switching a new file to
        # WAL at once would find it locked.
        with contextlib.closing(sqlite3.connect(plain)) as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS report "
                "(id TEXT PRIMARY KEY, body TEXT, received_at TEXT)"
            )
        yield {"BENCH_PLAIN_DB": str(plain)}
        return
    from sqlalchemy import create_engine, text

    names = [f"triage_http_{secrets.token_hex(4)}", f"triage_plain_{secrets.token_hex(4)}"]
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN.rsplit("/", 1)[0]
    plain = create_engine(f"{base}/{names[1]}")
    with plain.begin() as conn:
        conn.execute(text("CREATE TABLE report (id TEXT PRIMARY KEY, body TEXT, received_at TEXT)"))
    plain.dispose()
    try:
        yield {
            "TRIAGE_DATABASE_URL": f"{base}/{names[0]}",
            "BENCH_PLAIN_URL": f"postgresql://postgres@127.0.0.1:5432/{names[1]}",
        }
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare(folder: Path, env: dict[str, str]) -> str:
    """Migrate the instance, make the caseworker and (with the CLI) the API client's token."""
    from triage.config import from_environment
    from triage.instance import init_instance, open_instance
    from triage.users import create_user

    settings = from_environment(env)
    init_instance(settings)
    uow = open_instance(settings)
    with uow.begin() as session:
        create_user(
            session,
            username="bench.caseworker",
            password=PASSWORD,
            role="caseworker",
            region="karaganda",
            actor="system",
        )
    uow.engine.dispose()
    made = subprocess.run(
        [
            sys.executable,
            "-c",
            "from triage.cli import main; main()",
            "api-clients",
            "create",
            "http bench",
            "--scope",
            "media",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return made.stdout.strip()


def cpu_per_request(post: Callable[[], object], n: int) -> float:
    """Median over 3 runs of the process's CPU milliseconds per call of ``post``."""
    runs = []
    for _ in range(3):
        start = time.process_time()
        for _ in range(n):
            post()
        runs.append((time.process_time() - start) * 1000 / n)
    return median(runs)


def profile(env: dict[str, str], token: str, n: int) -> None:
    """A pyinstrument profile of ``n`` API posts in this process (Flask's test client), then
    the CPU each request costs here against the plain endpoint's: the part of the gap that no
    lock or I/O explains."""
    from pyinstrument import Profiler

    from bench import _plain_wsgi
    from triage import create_app
    from triage.config import from_environment

    app = create_app(from_environment(env))
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    for _ in range(10):
        client.post("/api/v1/reports", json=media_json(), headers=auth)
    profiler = Profiler()
    profiler.start()
    for _ in range(n):
        client.post("/api/v1/reports", json=media_json(), headers=auth)
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False))
    plain = _plain_wsgi.plain.test_client()
    api_ms = cpu_per_request(
        lambda: client.post("/api/v1/reports", json=media_json(), headers=auth), n
    )
    plain_ms = cpu_per_request(lambda: plain.post("/reports", json=media_json()), n)
    print(
        f"CPU per request in one process (median of 3 x {n}): API {api_ms:.2f} ms, "
        f"plain endpoint {plain_ms:.2f} ms ({plain_ms / api_ms:.2f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="pyinstrument of 200 API posts")
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--limits", default="database", help="TRIAGE_RATELIMIT_STORAGE_URL")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="triage-http-") as tmp,
        databases(args.engine, Path(tmp)) as where,
    ):
        folder = Path(tmp)
        env = {
            **os.environ,
            **where,
            "TRIAGE_INSTANCE_PATH": str(folder),
            "TRIAGE_RATELIMIT_STORAGE_URL": args.limits,
            "TRIAGE_API_RATE_LIMIT": "1000000 per minute",
            "TRIAGE_LOGIN_RATE_LIMIT": "1000 per minute",
            "TRIAGE_LOG_LEVEL": "WARNING",
        }
        token = prepare(folder, env)
        if args.profile:
            os.environ.update(env)
            profile(env, token, 200)
            return
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                str(args.workers),
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "bench._plain_wsgi:app",
            ],
            cwd=ROOT,
            env=env,
        )
        try:
            for _ in range(100):
                try:
                    Client(port).request("GET", "/login")
                    break
                except OSError:
                    time.sleep(0.2)
            plan = scenarios(token)
            for step, setup in plan.values():  # warm up every worker and path
                run(port, step, setup, 2, 1.0)
            figures: dict[str, list[tuple[float, float, float, float, int]]] = {k: [] for k in plan}
            for _ in range(args.rounds):
                for label, (step, setup) in plan.items():
                    rate, lat, failed = run(port, step, setup, args.connections, args.seconds)
                    figures[label].append((rate, pct(lat, 50), pct(lat, 95), pct(lat, 99), failed))
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(
        f"{args.engine}, limits in {args.limits}; gunicorn -w {args.workers}, "
        f"{args.connections} connections, {args.rounds} rounds of {args.seconds:.0f} s "
        "(medians over rounds)"
    )
    print(f"{'scenario':30} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'failed':>6}")
    rows = {
        label: (*tuple(median([r[i] for r in rs]) for i in range(4)), sum(r[4] for r in rs))
        for label, rs in figures.items()
    }
    labels = list(rows)
    for i in range(0, len(labels), 2):
        real, base = rows[labels[i]], rows[labels[i + 1]]
        for label in (labels[i], labels[i + 1]):
            rate, p50, p95, p99, failed = rows[label]
            print(f"{label:30} {rate:8.1f} {p50:8.1f} {p95:8.1f} {p99:8.1f} {failed:6d}")
        ratio = real[0] / base[0]
        print(
            f"{'  -> ratio to plain':30} {ratio:7.2f}x {real[1] / base[1]:7.1f}x "
            f"{real[2] / base[2]:7.1f}x {real[3] / base[3]:7.1f}x   "
            f"target >= {TARGET_RATIO}x: {verdict(ratio >= TARGET_RATIO)}"
        )


if __name__ == "__main__":
    main()
