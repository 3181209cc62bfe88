"""``triage api-clients create|list|revoke``: intake API clients from the command line, for an
operator's scripts and the benchmarks. Thin wrappers over ``intake.api_clients``, the service the
admin page calls, so each write is audited exactly as there (``token.created``,
``token.revoked``), with the system as the actor. Loaded by ``triage.cli``'s group only when it
runs (intake imports the screening model)."""

from __future__ import annotations

import click

from . import audit
from .cli_support import unit_of_work as _uow
from .errors import DomainError
from .intake import api_clients
from .vocab import SourceKind


@click.group("api-clients")
def api_clients_group() -> None:
    """Clients of the intake API and their tokens (docs/api.md)."""


@api_clients_group.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice([k.value for k in SourceKind]),
    help="A source kind the client may post; repeat for several.",
)
def create(name: str, scopes: tuple[str, ...]) -> None:
    """Make a client; its token is printed once, alone on standard output, and never again."""
    uow = _uow()
    try:
        with uow.begin() as session:
            client, token = api_clients.create_client(
                session, name=name, scopes=scopes, actor=audit.SYSTEM_ACTOR
            )
            client_id, prefix = client.id, client.token_prefix
    except DomainError as exc:
        raise click.ClickException(exc.text) from None
    click.echo(
        f"Created API client {client_id} ({prefix}…), may post: {', '.join(sorted(scopes))}. "
        "Its token follows; it is not shown again.",
        err=True,
    )
    click.echo(token)


@api_clients_group.command("list")
def list_command() -> None:
    """Every client: id, name, token prefix, scopes, made, last used, revoked (no token)."""
    uow = _uow()
    with uow.read() as session:
        rows = [
            (
                str(c.id),
                c.name,
                c.token_prefix,
                ",".join(c.scopes) or "-",
                c.created_at.strftime("%Y-%m-%d %H:%M"),
                c.last_used_at.strftime("%Y-%m-%d %H:%M") if c.last_used_at else "-",
                c.revoked_at.strftime("%Y-%m-%d %H:%M") if c.revoked_at else "-",
            )
            for c in api_clients.list_clients(session)
        ]
    header = ("id", "name", "prefix", "scopes", "created", "last used", "revoked")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(value.ljust(w) for value, w in zip(row, widths, strict=True)).rstrip())


@api_clients_group.command("revoke")
@click.argument("client_id", type=int)
def revoke(client_id: int) -> None:
    """Revoke a client's token for good (a client revoked already is left as it is)."""
    uow = _uow()
    try:
        with uow.begin() as session:
            client = api_clients.get(session, client_id)
            done = api_clients.revoke(session, client, actor=audit.SYSTEM_ACTOR)
            name = client.name
    except DomainError as exc:
        raise click.ClickException(exc.text) from None
    click.echo(f"Revoked the token of {name}." if done else f"{name} was revoked already.")
