"""Fixtures: a fresh, migrated database for every test, on SQLite and on PostgreSQL.

Tests that take ``app`` (or anything built on it) run once per engine. The PostgreSQL run uses
the server named by ``TRIAGE_TEST_DATABASE_URL`` (for example
``postgresql+psycopg://postgres@127.0.0.1:5432/test``): a migrated template database is made once
per test process and every test gets its own copy, made ahead by a thread and dropped
afterwards (``PgCopies``). Without the variable, or
with the server unreachable, the PostgreSQL runs are skipped with the reason.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from triage import create_app
from triage.config import Settings
from triage.crypto import Keyring, write_keyring
from triage.instance import init_instance
from triage.models import User
from triage.users import create_user
from triage.vocab import Region, Role
from triage.web.deps import uow_of

PG_ENV = "TRIAGE_TEST_DATABASE_URL"
PASSWORD = "correct horse battery staple"

# Cheap Argon2 for tests only; production defaults are in triage/config.py.
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}


# -- PostgreSQL --------------------------------------------------------------------------------


def pg_admin_url() -> str | None:
    return os.environ.get(PG_ENV) or None


def _pg_unavailable_reason() -> str | None:
    url = pg_admin_url()
    if url is None:
        return f"{PG_ENV} is not set: PostgreSQL tests skipped"
    engine = create_engine(url)
    try:
        with engine.connect():
            return None
    except Exception as exc:  # any failure to connect means: skip, and say why
        where = make_url(url).render_as_string(hide_password=True)
        return f"PostgreSQL at {where} is unreachable: {type(exc).__name__}"
    finally:
        engine.dispose()


class PgServer:
    """Creates and drops throwaway databases on the test server."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = make_url(admin_url)
        self.engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")

    def url_for(self, name: str) -> str:
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def create(self, name: str, template: str | None = None) -> str:
        clause = f' TEMPLATE "{template}"' if template else ""
        with self.engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        return self.url_for(name)

    def execute(self, statement: str) -> None:
        with self.engine.connect() as conn:
            conn.execute(text(statement))

    def drop(self, name: str) -> None:
        with self.engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    reason = _pg_unavailable_reason()
    if reason:
        pytest.skip(reason)
    server = PgServer(pg_admin_url())  # type: ignore[arg-type]
    yield server
    server.engine.dispose()


# -- the keyring and template databases --------------------------------------------------------


@pytest.fixture(scope="session")
def keyring() -> Keyring:
    return Keyring.generate()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory, keyring: Keyring) -> Path:
    folder = tmp_path_factory.mktemp("sqlite-template")
    write_keyring(folder / "keyring.json", keyring)
    init_instance(Settings(instance_path=folder, testing=True))
    return folder / "triage.sqlite3"


@pytest.fixture(scope="session")
def pg_template(
    pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory, keyring: Keyring
) -> Iterator[str]:
    name = f"triage_tpl_{secrets.token_hex(4)}"
    url = pg_server.create(name)
    folder = tmp_path_factory.mktemp("pg-template")
    write_keyring(folder / "keyring.json", keyring)
    init_instance(Settings(instance_path=folder, database_url=url, testing=True))
    yield name
    pg_server.drop(name)


class PgCopies:
    """Copies of the template database made ahead of the tests that take them, and dropped after
    them, by a thread of their own: a copy costs PostgreSQL 0.2 s on a quiet machine and more
    under the suite's load (the template is written through the WAL), which the test waiting
    for it would otherwise spend idle. ``AHEAD`` copies are kept ready. A copy's commits do not
    wait for the WAL to reach the disk (``synchronous_commit = off``: a crash of the server
    loses only a throwaway database's last moments, never its consistency)."""

    AHEAD = 2

    def __init__(self, server: PgServer, template: str) -> None:
        self.server = server
        self.template = template
        self._ready: deque[str] = deque()
        self._to_drop: deque[str] = deque()
        self._failure: BaseException | None = None
        self._closing = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="pg-copies", daemon=True)
        self._thread.start()

    def take(self) -> str:
        """The name of a fresh copy of the template, the test's own."""
        with self._changed:
            while not self._ready and self._failure is None:
                self._changed.wait()
            if self._failure is not None:
                raise RuntimeError("could not copy the template database") from self._failure
            name = self._ready.popleft()
            self._changed.notify_all()
            return name

    def give_back(self, name: str) -> None:
        """Drop ``name`` once the thread gets to it."""
        with self._changed:
            self._to_drop.append(name)
            self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        self._thread.join(timeout=120)
        for name in [*self._ready, *self._to_drop]:
            self.server.drop(name)

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._closing and not self._to_drop and len(self._ready) >= self.AHEAD:
                    self._changed.wait()
                if self._closing:
                    return
                drop = self._to_drop.popleft() if self._to_drop else None
            try:
                if drop is not None:
                    self.server.drop(drop)
                    continue
                name = f"triage_t_{secrets.token_hex(6)}"
                self.server.create(name, template=self.template)
                self.server.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
            except BaseException as exc:  # the waiting test raises it
                with self._changed:
                    self._failure = exc
                    self._changed.notify_all()
                return
            with self._changed:
                self._ready.append(name)
                self._changed.notify_all()


@pytest.fixture(scope="session")
def pg_copies(pg_server: PgServer, pg_template: str) -> Iterator[PgCopies]:
    copies = PgCopies(pg_server, pg_template)
    yield copies
    copies.close()


@dataclass
class Database:
    """One test's own database: its engine name, its URL, and (for SQLite) its file."""

    engine: str
    url: str
    path: Path | None = None


def _sqlite_database(template: Path, folder: Path) -> Database:
    target = folder / "triage.sqlite3"
    shutil.copyfile(template, target)
    return Database("sqlite", f"sqlite:///{target}", target)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh migrated database of each engine, holding only the ``instance.initialised`` event."""
    if request.param == "sqlite":
        yield _sqlite_database(request.getfixturevalue("sqlite_template"), tmp_path)
        return
    copies: PgCopies = request.getfixturevalue("pg_copies")
    name = copies.take()
    yield Database("postgresql", copies.server.url_for(name))
    copies.give_back(name)


@pytest.fixture
def settings(database: Database, tmp_path: Path, keyring: Keyring) -> Settings:
    keyring_file = tmp_path / "keyring.json"
    if not keyring_file.exists():
        write_keyring(keyring_file, keyring)
    return Settings(
        instance_path=tmp_path,
        database_url=database.url,
        keyring_path=str(keyring_file),
        testing=True,
        **FAST_HASH,  # type: ignore[arg-type]
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    application = create_app(settings)
    yield application
    uow_of(application).engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# -- people ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    role: Role
    region: Region | None
    password: str = PASSWORD


def make_user(app: Flask, username: str, role: Role, region: Region | None = None) -> Account:
    with app.app_context(), uow_of(app).begin() as session:
        user: User = create_user(
            session,
            username=username,
            password=PASSWORD,
            role=role.value,
            region=region.value if region else None,
            actor="system",
        )
        return Account(user.id, user.username, role, region)


@pytest.fixture
def accounts(app: Flask) -> dict[Role, Account]:
    """One account per role; case roles are scoped to Karaganda."""
    scoped = {Role.CASEWORKER, Role.REVIEWER, Role.SUPERVISOR}
    return {
        role: make_user(app, role.value, role, Region.KARAGANDA if role in scoped else None)
        for role in Role
    }


class AuthActions:
    """Sign in and out as a user would, through the login form."""

    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def csrf_token(self, path: str = "/login") -> str:
        page = self._client.get(path).get_data(as_text=True)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, username: str, password: str = PASSWORD) -> Any:
        token = self.csrf_token()
        return self._client.post(
            "/login", data={"username": username, "password": password, "csrf_token": token}
        )

    def login_as(self, account: Account) -> Any:
        response = self.login(account.username, account.password)
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    def logout(self) -> Any:
        token = self.csrf_token("/")
        return self._client.post("/logout", data={"csrf_token": token})

    def file_report(self, kind: str, data: dict[str, Any]) -> str:
        """File a report through its form, as the signed-in caseworker; its page's path."""
        token = self.csrf_token(f"/reports/new/{kind}")
        filed = self._client.post(
            f"/reports/new/{kind}",
            data={"csrf_token": token, **data},
            content_type="multipart/form-data",
        )
        assert filed.status_code == 302, filed.get_data(as_text=True)
        return str(filed.headers["Location"])


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


def facts(event: dict[str, Any]) -> dict[str, Any]:
    """An audit event's fields with its details' ``request_id`` left out: every event written
    during a request carries the request's id (tests/integration/test_logging.py checks it), and
    tests that compare details compare the facts the event records."""
    details = {k: v for k, v in event["details"].items() if k != "request_id"}
    return {**event, "details": details}
