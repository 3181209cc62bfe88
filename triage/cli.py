"""The ``triage`` command: thin wrappers over the same service functions the pages call.

Every command but ``init`` first builds the app, which refuses to start on a missing or wrong
keyring or an unmigrated database; the refusal is printed as one clear line, never a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from flask import Flask
from sqlalchemy.orm import Session

from . import audit, create_app, db, demo, users
from .config import ConfigError, Settings, from_environment
from .crypto import CryptoError
from .errors import DomainError
from .instance import StartupError, init_instance
from .vocab import Region, Role

_FAILURES = (StartupError, CryptoError, ConfigError)


def _settings() -> Settings:
    try:
        return from_environment()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _app() -> Flask:
    try:
        return create_app(_settings())
    except _FAILURES as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def _transaction(app: Flask) -> Iterator[Session]:
    """App context plus one transaction; a domain error becomes a clean message and a rollback."""
    with app.app_context():
        try:
            with db.transaction(app) as session:
                yield session
        except DomainError as exc:
            raise click.ClickException(exc.message) from None


@click.group(
    help="triage: sealed intake, risk triage, review and audit of domestic-violence reports."
)
@click.version_option(package_name="triage")
def main() -> None:
    pass


@main.command()
def init() -> None:
    """Create the instance folder and keyring if missing, and migrate the database. Idempotent."""
    settings = _settings()
    try:
        result = init_instance(settings)
    except _FAILURES as exc:
        raise click.ClickException(str(exc)) from None
    if result.keyring_created:
        click.echo(f"Created a new keyring at {result.keyring_path} (mode 0600). Back it up:")
        click.echo("  without it, nothing sealed in this database can ever be read again.")
    else:
        click.echo("Using the existing keyring.")
    click.echo(f"Database ready at schema revision {result.revision}.")


@main.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option(
    "--region", type=click.Choice([r.value for r in Region]), default=None, help="Region scope."
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(username: str, role: str, region: str | None, password_stdin: bool) -> None:
    """Create a staff account; the password is prompted for (twice) unless piped in."""
    app = _app()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _transaction(app) as session:
        user = users.create_user(
            session,
            username=username,
            password=password,
            role=role,
            region=region,
            actor=audit.SYSTEM_ACTOR,
        )
        click.echo(f"Created {user.role} {user.username} (id {user.id}).")


@main.command("demo")
def demo_command() -> None:
    """Demo accounts of every role (fresh passwords, printed) and demo reports of every source."""
    app = _app()
    with _transaction(app) as session:
        accounts = demo.ensure_accounts(session)
        caseworker = next(a for a in accounts if a.role is Role.CASEWORKER)
        caseworker_id = users.find(session, caseworker.username).id
        filed = demo.ensure_reports(session, caseworker_id)
    click.echo("Demo accounts (passwords are new on every run of `triage demo`):")
    width = max(len(a.username) for a in accounts)
    for a in accounts:
        scope = f"  region {a.region.value}" if a.region else ""
        click.echo(f"  {a.username:<{width}}  {a.password}  {a.role.value}{scope}")
    click.echo(f"Demo reports filed now: {filed}.")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--workers", default=2, show_default=True, type=int, help="Gunicorn worker processes."
)
@click.option(
    "--dev", is_flag=True, help="Flask's reloading development server instead of gunicorn."
)
def serve(host: str, port: int, workers: int, dev: bool) -> None:
    """Serve the app (gunicorn; put a TLS-terminating proxy in front in production)."""
    app = _app()  # refuses here, with a clear message, before any worker starts
    click.echo(f"triage is running at http://{host}:{port}/  (Ctrl+C stops it)")
    if dev:
        app.run(host=host, port=port, debug=True, use_reloader=True)
        return
    from gunicorn.app.base import BaseApplication

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", "-")
            self.cfg.set("access_log_format", '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss')

        def load(self) -> Any:
            return create_app(_settings())

    os.environ.setdefault("SERVER_SOFTWARE", "gunicorn")
    _Server().run()


@main.group("audit")
def audit_group() -> None:
    """The audit log."""


@audit_group.command("verify")
def audit_verify() -> None:
    """Walk the whole chain and report OK, or the first broken sequence number and why."""
    app = _app()
    with _transaction(app) as session:
        verdict = audit.verify(session)
    click.echo(str(verdict))
    if not verdict.ok:
        sys.exit(1)
