"""The commands of background work: ``triage worker``, ``triage poll-feeds`` and
``triage jobs send|schedule`` (docs/jobs.md). Thin wrappers over ``triage.jobs``; loaded by
``triage.cli``'s group only when one of them runs (they import Celery and the screening model)."""

from __future__ import annotations

import sys

import click
from celery import Celery

from . import jobs
from .cli_support import FAILURES
from .cli_support import settings as _settings
from .config import ConfigError, Settings
from .instance import open_instance
from .intake import feeds


def _celery(settings: Settings) -> Celery:
    try:
        return jobs.make_celery(settings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("worker")
@click.option(
    "--concurrency", default=2, show_default=True, type=click.IntRange(min=1), help="Processes."
)
@click.option(
    "--beat/--no-beat",
    default=False,
    help="Also run the schedule (Celery beat) in this worker: on exactly one server.",
)
@click.option("--loglevel", default="INFO", show_default=True)
def worker_command(concurrency: int, beat: bool, loglevel: str) -> None:
    """Run the background jobs (Celery, Redis broker TRIAGE_JOBS_BROKER_URL): feed polling,
    alerts, purge, key rewrapping and audit checkpoints, on their schedule with --beat."""
    settings = _settings()
    try:  # refuses here, with one clear line, before any worker process starts
        open_instance(settings)
    except FAILURES as exc:
        raise click.ClickException(str(exc)) from None
    app = _celery(settings)
    argv = [
        "worker",
        f"--queues={settings.jobs_queue}",
        f"--concurrency={concurrency}",
        f"--loglevel={loglevel}",
        "--without-gossip",
        "--without-mingle",
        f"--hostname=triage-{settings.jobs_queue}@%h",
    ]
    if beat:
        schedule_file = settings.instance_path / "celerybeat-schedule"
        argv += ["--beat", f"--schedule={schedule_file}"]
    app.worker_main(argv)


@click.command("poll-feeds")
def poll_feeds_command() -> None:
    """Poll every feed in TRIAGE_FEEDS once, as the worker's schedule does (for a timer or cron
    on the embedded default: items already on record are skipped)."""
    settings = _settings()
    sources = jobs.feed_sources(settings)
    if not sources:
        raise click.ClickException("TRIAGE_FEEDS is empty: there is no feed to poll")
    try:
        uow = open_instance(settings)
    except FAILURES as exc:
        raise click.ClickException(str(exc)) from None
    failed = False
    for source in sources:
        name = jobs.feed_key(source)
        try:
            outcome = jobs.poll_feed(uow, settings, source)
        except feeds.FeedError as exc:
            click.echo(f"feed {name}: {exc}", err=True)
            failed = True
            continue
        click.echo(
            f"feed {name}: {outcome.total} items, {outcome.imported + outcome.review_band} "
            f"filed, {outcome.screened_out} screened out, {outcome.already} already seen, "
            f"{outcome.failed} failed"
        )
        failed = failed or bool(outcome.failed)
    if failed:
        sys.exit(1)


@click.group("jobs")
def jobs_group() -> None:
    """Background jobs: send one to the worker now, or show the schedule."""


@jobs_group.command("send")
@click.argument("name", type=click.Choice(sorted(jobs.TASKS)))
def jobs_send(name: str) -> None:
    """Queue a job for the worker now (it runs once, whatever the schedule)."""
    app = _celery(_settings())
    result = app.send_task(jobs.TASKS[name])
    click.echo(f"Queued {name} ({result.id}).")


@jobs_group.command("schedule")
def jobs_schedule() -> None:
    """Show what the worker's schedule (``triage worker --beat``) runs and when."""
    for name, entry in sorted(jobs.schedule(_settings()).items()):
        click.echo(f"{name:<12} {entry['task']:<20} every {entry['schedule']}")
