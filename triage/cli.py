"""The ``triage`` command: thin wrappers over the same service functions the pages call.

Every command but ``init`` first opens the instance (``open_instance``), which refuses to start
on a missing or wrong keyring or an unmigrated database; the refusal is printed as one clear
line, never a traceback. Each command's writes run in the unit of work's blocks.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session

from . import (
    audit,
    audit_export,
    checkpoints,
    cli_history,
    create_app,
    exports,
    keys,
    notify,
    retention,
    users,
)
from . import logging as logs
from .cli_support import FAILURES, LazyGroup
from .cli_support import opened as _open
from .cli_support import settings as _settings
from .cli_support import unit_of_work as _uow
from .config import ConfigError
from .crypto import Keyring
from .errors import DomainError
from .instance import init_instance
from .models import utcnow
from .review.rules import ReviewRules
from .uow import UnitOfWork
from .vocab import Region, Role


@contextmanager
def _transaction(uow: UnitOfWork) -> Iterator[Session]:
    """One unit of work; a domain error becomes a clean message (after the rollback)."""
    try:
        with uow.begin() as session:
            yield session
    except DomainError as exc:
        raise click.ClickException(exc.text) from None


#: Commands whose modules pull in much (Celery, the screening model and so scikit-learn): imported
#: only when one of them runs, so the others (``triage audit export`` among them) start small.
LAZY = {
    "worker": "triage.cli_jobs:worker_command",
    "poll-feeds": "triage.cli_jobs:poll_feeds_command",
    "jobs": "triage.cli_jobs:jobs_group",
    "api-clients": "triage.cli_api_clients:api_clients_group",
}


@click.group(
    cls=LazyGroup,
    lazy_subcommands=LAZY,
    help="triage: sealed intake, risk triage, review and audit of domestic-violence reports.",
)
@click.version_option(package_name="triage")
def main() -> None:
    settings = _settings()
    try:
        logs.configure(settings.log_level, settings.log_format)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
def init() -> None:
    """Create the instance folder and keyring if missing, and migrate the database. Idempotent."""
    settings = _settings()
    try:
        result = init_instance(settings)
    except FAILURES as exc:
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
    uow = _uow()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _transaction(uow) as session:
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
@click.option(
    "--reports",
    "count",
    type=click.IntRange(min=1),
    help="Also file this many synthetic reports over the last twelve months, and work on their "
    "cases as the demo reviewers and supervisor would (the demo at scale).",
)
@click.option(
    "--seed", default=1, show_default=True, help="With --reports: the same seed, the same reports."
)
def demo_command(count: int | None, seed: int) -> None:
    """Demo accounts of every role (fresh passwords, printed) and demo reports of every source."""
    from . import demo, demo_scale

    if count is not None and count > demo_scale.MAX_REPORTS:
        raise click.BadParameter(
            f"{count} is larger than {demo_scale.MAX_REPORTS:,}.", param_hint="'--reports'"
        )
    settings, uow = _open()
    with _transaction(uow) as session:
        accounts = demo.ensure_accounts(session)
        if count:
            accounts += demo_scale.ensure_staff(session)
        caseworker = next(a for a in accounts if a.role is Role.CASEWORKER)
        caseworker_id = users.find(session, caseworker.username).id
        rules = ReviewRules.from_settings(settings)
        filed = demo.ensure_reports(session, caseworker_id, rules=rules)
    click.echo("Demo accounts (passwords are new on every run of `triage demo`):")
    width = max(len(a.username) for a in accounts)
    for a in accounts:
        scope = f"  region {a.region.value}" if a.region else ""
        click.echo(f"  {a.username:<{width}}  {a.password}  {a.role.value}{scope}")
    click.echo(f"Demo reports filed now: {filed}.")
    if count:
        _demo_at_scale(uow, count, seed, ReviewRules.from_settings(settings))


def _demo_at_scale(uow: UnitOfWork, count: int, seed: int, rules: ReviewRules) -> None:
    from . import demo_scale

    try:
        with click.progressbar(length=count, label="Synthetic reports", file=sys.stderr) as bar:
            done = demo_scale.populate(uow, count, seed=seed, rules=rules, progress=bar.update)
    except DomainError as exc:
        raise click.ClickException(exc.text) from None
    click.echo(
        f"Synthetic reports filed: {done.reports} ({done.linked} linked to a case on record), "
        f"in {done.seconds:.0f} s ({done.per_second:.0f} a second)."
    )
    if done.refused:
        found = ", ".join(f"{name} {n}" for name, n in sorted(done.refused.items()))
        click.echo(f"Work the rules refused (undone; the run went on): {found}.")
    with uow.read() as session:
        for line in demo_scale.census(session).lines():
            click.echo(line)


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
    try:  # refuses here, with a clear message, before any worker starts
        app = create_app(_settings())
    except FAILURES as exc:
        raise click.ClickException(str(exc)) from None
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
            # Start-up notices ("Booting worker ...") would push the demo accounts that
            # scripts/run prints off the screen; warnings and errors still show.
            self.cfg.set("loglevel", "warning")
            self.cfg.set(
                "access_log_format", '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss %({x-request-id}o)s'
            )
            # Its error and access lines in triage's format, control characters escaped.
            self.cfg.set("logger_class", logs.GunicornLogger)
            # gunicorn's control socket lives in the home folder, shared by every instance on
            # the machine; triage has no use for it.
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            # Each worker builds the app with the very call wsgi.py makes (`gunicorn wsgi:app`):
            # create_app() from the environment. wsgi.py stays at the checkout's top level, out
            # of the wheel, so an installed triage could not import it.
            return create_app()

    os.environ.setdefault("SERVER_SOFTWARE", "gunicorn")
    _Server().run()


@main.command("import-feed")
@click.argument("source", metavar="URL_OR_FILE")
def import_feed(source: str) -> None:
    """Import an RSS or Atom feed: screen every item; file candidates and review-band items as
    unverified media reports, keep the rest for reviewers in the list of screened-out items.

    Items already on record (same link) are skipped, so running it again adds nothing twice.
    """
    from .intake import feeds

    settings, uow = _open()
    try:
        with click.progressbar(length=0, label="Screening items", file=sys.stderr) as bar:

            def walk(entries: Iterator[feeds.Item]) -> Iterator[feeds.Item]:
                items = list(entries)
                bar.length = len(items)
                for item in items:
                    yield item
                    bar.update(1)

            outcome = feeds.import_feed(
                uow,
                source,
                rules=ReviewRules.from_settings(settings),
                screened_days=settings.screened_retention_days,
                progress=walk,
            )
    except feeds.FeedError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"{outcome.total} items: {outcome.imported} imported, "
        f"{outcome.review_band} imported on the review band, "
        f"{outcome.screened_out} screened out (kept for reviewers), "
        f"{outcome.already} already seen, {outcome.failed} failed."
    )
    for problem in outcome.problems:
        click.echo(f"  {problem}", err=True)
    if outcome.failed:
        sys.exit(1)


@main.command("screen")
def screen_command() -> None:
    """Screen text from standard input; print the verdict as JSON (verdict, probability,
    language, signals, provisional level)."""
    from . import screening

    text = sys.stdin.read()
    found = screening.screen(text)
    result = {**found.as_dict(), "provisional_level": found.level}
    click.echo(json.dumps(result, ensure_ascii=False, indent=2))


@main.group("screening")
def screening_group() -> None:
    """The trained screening model."""


@screening_group.command("train")
@click.option(
    "--corpus",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("tests/data/screening"),
    show_default=True,
    help="The labelled corpus (JSON Lines files).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the model's artefact goes (the package's own by default).",
)
def screening_train(corpus: Path, out: Path | None) -> None:
    """Train the model on the corpus's training part; record the data's hash and figures."""
    from . import screening_model, screening_training

    out = out or screening_model.ARTEFACT
    try:
        with click.progressbar(length=3, label="Training", file=sys.stderr) as bar:
            model = screening_training.train_and_save(corpus, out, progress=bar.update)
    except screening_training.CorpusError as exc:
        raise click.ClickException(str(exc)) from None
    meta = model.meta
    click.echo(
        f"Trained on {meta['trained_on']} texts ({meta['held_back']} held back), "
        f"{meta['weights']} weights; data sha256 {meta['data_sha256'][:16]}…"
    )
    held = meta["held_back_figures"]
    click.echo(
        f"Held back: candidates recall {held['candidate']['recall']}, precision "
        f"{held['candidate']['precision']}; reaching a reviewer recall "
        f"{held['reaches_reviewer']['recall']}, precision {held['reaches_reviewer']['precision']}."
    )
    click.echo(f"Written to {out}")


@main.command("purge")
@click.option("--case", "case_code", help="Erase one closed case now (an erasure request).")
@click.option(
    "--older-than-days",
    type=click.IntRange(min=0),
    help="Retention period [default: TRIAGE_RETENTION_DAYS].",
)
@click.option("--dry-run", is_flag=True, help="Only say what would be purged.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def purge_command(
    case_code: str | None, older_than_days: int | None, dry_run: bool, yes: bool
) -> None:
    """Crypto-shred closed cases: destroy their data keys so their sealed data is gone for good.

    Without --case, also expire the screened-out feed items past TRIAGE_SCREENED_RETENTION_DAYS
    that nobody promoted: their keys are destroyed too.
    """
    settings, uow = _open()
    days = settings.retention_days if older_than_days is None else older_than_days
    with _transaction(uow) as session:
        if case_code:
            cases, reason = [retention.find_case(session, case_code)], "erasure_request"
            items = []
        else:
            cases, reason = retention.due(session, older_than=timedelta(days=days)), "retention"
            items = retention.screened_due(session)
        codes = ", ".join(c.code for c in cases) or "none"
        click.echo(f"Cases to purge ({reason}): {codes}")
        if not case_code:
            click.echo(f"Screened-out items past their time: {len(items)}")
        if dry_run or not (cases or items):
            return
        if not yes and not click.confirm(
            "Destroy their keys? This cannot be undone", default=False
        ):
            raise click.ClickException("Nothing was purged.")
        done = retention.purge(session, cases, actor=audit.SYSTEM_ACTOR, reason=reason)
        expired = retention.expire_screened(session, items, actor=audit.SYSTEM_ACTOR)
    retention.vacuum_keys(uow.engine)
    click.echo(f"Purged {done.records} sealed records in {done.cases} cases.")
    if not case_code:
        click.echo(f"Expired {expired} screened-out items (their keys destroyed).")


@main.command("notify")
@click.option("--dry-run", is_flag=True, help="Only list what would be sent; change nothing.")
def notify_command(dry_run: bool) -> None:
    """Send the alerts that are due by e-mail and webhook, and retry failed deliveries whose
    wait is over (docs/alerts.md). Safe to run often and on several servers at once."""
    settings, uow = _open()
    try:
        config = notify.NotifyConfig.from_settings(settings)
        if dry_run:
            _print_preview(notify.preview(uow, config))
            return
        summary = notify.run(uow, config)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Alerts raised: {summary.raised} ({summary.deliveries} deliveries). "
        f"Sent: {summary.sent}, failed (to be retried): {summary.failed}, "
        f"dead letters: {summary.dead}."
    )
    if summary.errors:
        errors = ", ".join(f"{code} ×{n}" for code, n in sorted(summary.errors.items()))
        click.echo(f"Failed attempts: {errors}", err=True)
    if summary.without_address:
        click.echo(
            f"{summary.without_address} recipients have no e-mail address: set one under Users.",
            err=True,
        )
    if summary.unheard:
        click.echo(f"{summary.unheard} alerts reached nobody.", err=True)


def _print_preview(found: notify.Preview) -> None:
    click.echo(f"Alerts to raise: {len(found.planned)}")
    for item in found.planned:
        d = item.due
        to = [f"e-mail to users {', '.join(map(str, item.email_to))}"] if item.email_to else []
        to += ["webhook"] if item.webhook else []
        missing = (
            f"; no address: users {', '.join(map(str, item.without_address))}"
            if item.without_address
            else ""
        )
        click.echo(
            f"  {d.kind} {d.case_code} due {audit.format_time(d.due_at)}: "
            f"{', '.join(to) or 'nobody'}{missing}"
        )
    click.echo(f"Deliveries to try now: {len(found.sending)}")
    for row in found.sending:
        who = f"user {row.recipient_id}" if row.recipient_id is not None else "webhook"
        click.echo(
            f"  {row.id} {row.channel} ({who}) {row.kind} {row.case_code}, "
            f"attempts so far {row.attempts}"
        )


@main.group("keys")
def keys_group() -> None:
    """Key-encryption keys: status, rotation, rewrapping, retirement."""


@keys_group.command("status")
def keys_status() -> None:
    """List the keyring's KEKs and how many data keys each wraps."""
    uow = _uow()
    with _transaction(uow) as session:
        rows = keys.status(session, uow.keyring.current)
    for row in rows:
        marker = "active" if row.active else "      "
        click.echo(f"{row.kek_id}  {marker}  {row.data_keys} data keys")


@keys_group.command("rotate")
@click.option("--no-rewrap", is_flag=True, help="Only make the new KEK active; rewrap later.")
def keys_rotate(no_rewrap: bool) -> None:
    """Make a fresh KEK active, then rewrap every data key under it (resumable)."""
    settings, uow = _open()
    with _transaction(uow) as session:
        ring = keys.rotate(session, settings, actor=audit.SYSTEM_ACTOR)
    click.echo(f"New active key-encryption key: {ring.active_kek} (keyring file rewritten).")
    if not no_rewrap:
        _rewrap(uow, uow.keyring.holding(ring.active_kek))


@keys_group.command("rewrap")
def keys_rewrap() -> None:
    """Rewrap data keys still under an older KEK; safe to interrupt and run again."""
    uow = _uow()
    _rewrap(uow, uow.keyring.current)


def _rewrap(uow: UnitOfWork, ring: Keyring) -> None:
    with uow.begin() as session:
        total = keys.pending(session, ring)
    with click.progressbar(length=total, label="Rewrapping data keys", file=sys.stderr) as bar:
        done = keys.rewrap_all(uow.begin, ring, actor=audit.SYSTEM_ACTOR, progress=bar.update)
    click.echo(f"Rewrapped {done} data keys under {ring.active_kek}.")


@keys_group.command("retire")
@click.argument("kek_id")
def keys_retire(kek_id: str) -> None:
    """Remove a KEK that no data key uses any more from the keyring."""
    settings, uow = _open()
    with _transaction(uow) as session:
        keys.retire(session, settings, kek_id, actor=audit.SYSTEM_ACTOR)
    click.echo(f"Retired {kek_id}. Back up the rewritten keyring file.")


@main.command("stats")
@click.option(
    "--format", "fmt", type=click.Choice(("csv", "json")), default="csv", show_default=True
)
@click.option("--from", "start", type=click.DateTime(formats=["%Y-%m-%d"]), help="First day (UTC).")
@click.option(
    "--to", "end", type=click.DateTime(formats=["%Y-%m-%d"]), help="Last day (UTC), included."
)
@click.option("--region", type=click.Choice([r.value for r in Region]), help="One region only.")
def stats_command(fmt: str, start: Any, end: Any, region: str | None) -> None:
    """Print the statistics of the /stats page, suppressed the same way ("<5", "x"): CSV with
    one cell a line (table,row,column,value), or JSON. Default period: the last 13 weeks."""
    from . import stats

    uow, now = _uow(), utcnow()
    try:
        filters = stats.Filters.of(
            start=start.date() if start else None,
            end=end.date() if end else None,
            region=region,
            scope=None,
            today=now.date(),
        )
    except DomainError as exc:
        raise click.ClickException(exc.text) from None
    with uow.read() as session:
        figures = stats.compute(session, filters, now=now)
    with _transaction(uow) as session:
        stats.record_download(
            session, filters, table="all", fmt=fmt, actor=audit.SYSTEM_ACTOR, via="cli"
        )
    if fmt == "json":
        click.echo(json.dumps(figures.as_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(stats.csv_text(figures), nl=False)


@main.group("audit")
def audit_group() -> None:
    """The audit log."""


@audit_group.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Signed checkpoints (JSON Lines) the chain must still reach, each with its hash.",
)
def audit_verify(checkpoint_path: Path | None) -> None:
    """Walk the whole chain and report OK, or the first broken sequence number and why."""
    uow = _uow()
    if checkpoint_path is not None:
        verdict: Any = cli_history.verify_with_checkpoints(uow, checkpoint_path)
        plain = audit.Verdict(verdict.ok, verdict.count, verdict.last_hash, verdict.broken_seq)
    else:
        with uow.read() as session:
            verdict = plain = audit.verify(session)
    with uow.begin() as session:
        audit.record_verification(session, plain, actor=audit.SYSTEM_ACTOR, via="cli")
    click.echo(str(verdict))
    if not verdict.ok:
        sys.exit(1)


@audit_group.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(audit_export.FORMATS), default="jsonl", show_default=True
)
@click.option("--from-seq", type=click.IntRange(min=1), help="First sequence number.")
@click.option("--to-seq", type=click.IntRange(min=1), help="Last sequence number.")
@click.option("--since", help="From this UTC time (ISO 8601, e.g. 2026-11-01 or 2026-11-01T08:00).")
@click.option("--until", help="Up to, not including, this UTC time.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--manifest",
    "manifest_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the signed manifest [default: OUT.manifest.json].",
)
def audit_export_command(
    fmt: str,
    from_seq: int | None,
    to_seq: int | None,
    since: str | None,
    until: str | None,
    out_path: Path,
    manifest_path: Path | None,
) -> None:
    """Export a range of the chain with a signed manifest; streams, in constant memory."""
    settings, uow = _open()

    def bar(events: Iterator[dict[str, Any]], count: int) -> Iterator[dict[str, Any]]:
        with click.progressbar(events, length=count, label="Exporting", file=sys.stderr) as shown:
            yield from shown

    try:
        written = exports.write_export(
            uow,
            settings,
            out_path,
            fmt=fmt,
            manifest_path=manifest_path,
            from_seq=from_seq,
            to_seq=to_seq,
            since=since,
            until=until,
            progress=bar,
        )
    except DomainError as exc:
        raise click.ClickException(exc.text) from None
    if written.warning:
        click.echo(f"Warning: {written.warning}", err=True)
    summary = written.summary
    click.echo(
        f"Exported {summary.count} events "
        f"(seq {summary.first_seq}..{summary.last_seq}) to {out_path}"
    )
    click.echo(f"Signed manifest: {written.manifest_path}")


@audit_group.command("verify-export")
@click.argument(
    "data_path", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--manifest",
    "manifest_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "--public-key",
    "key_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "--checkpoint",
    "checkpoint_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The auditor's signed checkpoints (JSON Lines): the export must agree with them.",
)
def audit_verify_export(
    data_path: Path, manifest_path: Path, key_path: Path, checkpoint_path: Path | None
) -> None:
    """Check an export offline: signature, file hash, and the chain inside it; with
    --checkpoint, also that it still reaches every signed head it covers.

    Needs no database and no keyring: only the file, its manifest and the instance's public key.
    """
    verdict: Any
    try:
        if checkpoint_path is not None:
            verdict = checkpoints.verify_export_with_checkpoints(
                data_path, manifest_path, key_path, checkpoint_path
            )
        else:
            verdict = audit_export.verify_export(data_path, manifest_path, key_path)
    except (audit_export.ExportError, checkpoints.CheckpointError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(str(verdict))
    if not verdict.ok:
        sys.exit(1)


@audit_group.command("public-key")
def audit_public_key() -> None:
    """Print the PEM public key that verifies this instance's export manifests."""
    uow = _uow()
    click.echo(uow.keyring.current.public_key_pem().decode("ascii"), nl=False)


cli_history.register(main, audit_group, keys_group)
