"""The commands of history an insider cannot rewrite, backups that restore and keys at scale:
``triage audit checkpoint``, ``triage backup``, ``triage restore``, ``triage keys check``.

Thin wrappers over ``triage.checkpoints``, ``triage.backup`` and ``triage.keycheck``; registered
on the groups of ``triage.cli`` by ``register``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from . import audit, backup, checkpoints, keycheck, keyring_providers
from .checkpoints import Head, Published
from .cli_support import FAILURES
from .cli_support import opened as _open
from .cli_support import settings as _settings
from .config import Settings
from .instance import engine_for
from .models import AuditEvent
from .uow import UnitOfWork


def publish_checkpoint(settings: Settings, uow: UnitOfWork, head: Head) -> Published:
    """Sign the committed ``head`` and publish it (file, webhook); a refusal is one line."""
    try:
        with uow.read() as reader:
            return checkpoints.publish(settings, uow.keyring.current, head, reader)
    except checkpoints.CheckpointError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the chain's head and append it to TRIAGE_CHECKPOINT_FILE (and POST it to
    TRIAGE_CHECKPOINT_WEBHOOK). Run it at a set interval, from cron or a timer."""
    settings, uow = _open()
    with uow.begin() as session:
        head = Head.of(checkpoints.record(session, actor=audit.SYSTEM_ACTOR, via="cli"))
    published = publish_checkpoint(settings, uow, head)
    click.echo(
        f"Signed {published.checkpoint}, hash {published.checkpoint.hash}, into {published.path}"
    )
    if published.webhook_error:
        click.echo(f"Error: {published.webhook_error}", err=True)
        sys.exit(1)


def verify_with_checkpoints(uow: UnitOfWork, path: Path) -> checkpoints.CheckpointVerdict:
    """``triage audit verify --checkpoint FILE``: the checkpoints are loaded (and their
    signatures checked) before the walk starts."""
    try:
        trusted = checkpoints.load_trusted(path, uow.keyring.current.public_key_pem())
        with uow.read() as session:
            return checkpoints.verify_database(session, trusted)
    except checkpoints.CheckpointError as exc:
        raise click.ClickException(str(exc)) from None


# -- backup and restore ------------------------------------------------------------------------


@click.command("backup")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--recipient",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Encrypt to this X25519 public key (PEM) instead of the keyring's backup key.",
)
def backup_command(out_path: Path, recipient: Path | None) -> None:
    """Write an encrypted backup of the database to OUT (SQLite: the online backup API;
    PostgreSQL: pg_dump). The keyring is not in it: keep the keyring apart."""
    uow = _open()[1]
    ring = uow.keyring.current
    try:
        public = backup.load_public(recipient) if recipient else None
        with click.progressbar(length=0, label="Backing up", file=sys.stderr) as bar:
            made = backup.create(uow.engine, ring, out_path, recipient=public, progress=bar.update)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    manifest = made.manifest
    head = manifest.header["audit_head"] or {}
    with uow.begin() as session:
        audit.append(
            session, actor=audit.SYSTEM_ACTOR, action="backup.created", object_type="backup",
            details={
                "engine": manifest.engine, "key_id": manifest.key_id,
                "head_seq": head.get("seq"), "bytes": made.encrypted_bytes,
            },
        )  # fmt: skip
    click.echo(
        f"Backed up {manifest.engine} (schema {manifest.header['schema_revision']}, audit head "
        f"seq {head.get('seq')}) to {out_path}: {made.encrypted_bytes} bytes, encrypted to key "
        f"{manifest.key_id} ({manifest.header['recipient']['kind']})."
    )
    click.echo(f"Plaintext SHA-256 {manifest.sha256}. The keyring is not in the backup.")


@click.command("backup-public-key")
def backup_public_key() -> None:
    """Print the keyring's backup public key (PEM): a host holding only it can make backups
    (`triage backup --recipient`) that this keyring restores."""
    uow = _open()[1]
    click.echo(backup.public_pem(uow.keyring.current.backup_identity().public_key()), nl=False)


@click.command("backup-identity")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
def backup_identity(out_path: Path) -> None:
    """Make an X25519 key pair for a backup custodian: OUT (private, mode 0600) and OUT.pub."""
    try:
        public = backup.write_identity(out_path)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Wrote {out_path} (keep it offline) and {out_path}.pub (key {backup.key_id(public)})."
    )


@click.command("restore")
@click.option(
    "--from", "source", required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)  # fmt: skip
@click.option(
    "--identity",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The X25519 private key (PEM) the backup was encrypted to [default: the keyring's].",
)
@click.option("--force", is_flag=True, help="Replace a database that is not empty.")
def restore_command(source: Path, identity: Path | None, force: bool) -> None:
    """Restore a backup into the database of TRIAGE_DATABASE_URL (empty, unless --force), then
    verify the audit chain and decrypt every sealed value with the keyring."""
    settings = _settings()
    settings.instance_path.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        ring = keyring_providers.load(settings)
        manifest_of = backup.peek(source)
        if manifest_of.header.get("keyring_fingerprint") != ring.fingerprint:
            raise backup.BackupError(
                "this backup is of a database sealed with another keyring; point "
                "TRIAGE_KEYRING_PATH at that keyring"
            )
        key = backup.load_identity(identity) if identity else ring.backup_identity()
        engine = engine_for(settings)
        try:
            restored = backup.restore(engine, source, key, force=force)
        finally:
            engine.dispose()
    except backup.BackupError as exc:
        raise click.ClickException(f"REFUSED: {exc}; nothing was restored") from None
    except FAILURES as exc:
        raise click.ClickException(str(exc)) from None
    manifest = restored.manifest
    head = manifest.header["audit_head"] or {}
    click.echo(
        f"Restored {manifest.engine} backup of {manifest.header['created_at']} "
        f"({manifest.size} bytes, SHA-256 matches)."
    )
    uow = _open()[1]
    ok = _after_restore(uow, head, force=force, key_id=manifest.key_id, engine=manifest.engine)
    if not ok:
        sys.exit(1)


def _after_restore(
    uow: UnitOfWork, head: dict[str, Any], *, force: bool, key_id: str, engine: str
) -> bool:
    """The restore drill's checks: the chain verifies and still holds the manifest's head, and
    every sealed value decrypts; each is on record in the restored log."""
    with uow.read() as session:
        verdict = audit.verify(session)
        held = session.get(AuditEvent, head["seq"]) if head else None
    head_ok = not head or (held is not None and held.hash == head["hash"])
    with uow.read() as session:
        found = keycheck.check(session, uow.keyring.current)
    with uow.begin() as session:
        audit.append(
            session, actor=audit.SYSTEM_ACTOR, action="backup.restored", object_type="backup",
            details={
                "engine": engine, "key_id": key_id, "head_seq": head.get("seq"), "forced": force,
            },
        )  # fmt: skip
        audit.record_verification(session, verdict, actor=audit.SYSTEM_ACTOR, via="restore")
        keycheck.record(session, found, actor=audit.SYSTEM_ACTOR, via="restore")
    click.echo(f"Audit chain: {verdict}")
    if not head_ok:
        click.echo(f"The chain does not hold the manifest's head (seq {head['seq']}).", err=True)
    click.echo(f"Sealed data: {found}")
    return verdict.ok and head_ok and found.ok


@click.command("check")
def keys_check() -> None:
    """Decrypt every sealed value with the keyring (the plaintext is dropped at once) and
    report how many open; after a restore or a rotation."""
    uow = _open()[1]
    with uow.read() as session:
        found = keycheck.check(session, uow.keyring.current)
    with uow.begin() as session:
        keycheck.record(session, found, actor=audit.SYSTEM_ACTOR, via="cli")
    click.echo(str(found))
    if not found.ok:
        sys.exit(1)


def register(main: click.Group, audit_group: click.Group, keys_group: click.Group) -> None:
    audit_group.add_command(audit_checkpoint)
    keys_group.add_command(keys_check)
    for command in (backup_command, backup_public_key, backup_identity, restore_command):
        main.add_command(command)
