"""Background work as jobs: feed polling, alerts, purge, key rewrapping and audit checkpoints.

Each job is a plain function over a unit of work (``poll_feed``, ``send_alerts``, ``purge_due``,
``rewrap``, ``checkpoint``). The embedded default runs them from the CLI, on a timer or cron
(``triage poll-feeds``, ``triage notify``, ``triage purge --yes``, ``triage keys rewrap``,
``triage audit checkpoint``); in production ``triage worker`` runs the same functions as Celery
tasks with Redis as the broker, and Celery beat schedules them (docs/jobs.md).

Every job is idempotent, so a retry or a redelivery does no harm:

- a feed item whose link is on record is skipped, every item is filed in a transaction of its
  own, and one feed is polled by one worker at a time (a lock in Redis, renewed as it goes, so a
  killed worker's lock lapses), so a feed polled twice, or polled again after a worker was killed
  half-way, files each item once;
- a poll under way is on record in Redis beside its lock; one whose lock lapsed while still on
  record lost its worker, and ``triage.resume_polls`` (sent by every worker as it starts, and
  again while a poll on record is locked) queues it again (``resume_polls``);
- alerts are keyed uniquely and their deliveries claimed with SKIP LOCKED (``triage.notify``);
- a purge destroys keys that are still there; a rewrap moves the data keys still under an old
  KEK, a batch at a time.

Tasks are acknowledged after they finish (``acks_late``) and given back when their worker dies,
so the broker redelivers a task whose worker was killed once its visibility timeout has passed
(an hour: the fallback for the jobs other than polls, which also run again on their schedule).
Failures that may pass (the database or a feed unreachable) are retried with exponential backoff.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from celery import Celery, Task
from celery.schedules import crontab
from celery.signals import worker_ready
from sqlalchemy.exc import OperationalError

from . import audit, checkpoints, exports, keys, notify, retention
from .config import ConfigError, Settings, from_environment
from .errors import DomainError
from .instance import open_instance
from .intake import feeds
from .models import utcnow
from .review.rules import ReviewRules
from .uow import UnitOfWork

log = logging.getLogger(__name__)

#: Failures worth another try later: a database that is away, a feed that cannot be fetched.
RETRYABLE: tuple[type[Exception], ...] = (OperationalError, feeds.FeedError, ConnectionError)


def feed_sources(settings: Settings) -> list[str]:
    """The feeds to poll: ``TRIAGE_FEEDS``, URLs or files separated by spaces, commas or lines."""
    return [s for s in re.split(r"[\s,]+", settings.feeds) if s]


def feed_key(source: str) -> str:
    """A short name for a feed in lock keys and logs: feed addresses may carry tokens."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


# -- the jobs ------------------------------------------------------------------------------------


def poll_feed(
    uow: UnitOfWork,
    settings: Settings,
    source: str,
    *,
    on_item: Callable[[], None] = lambda: None,
) -> feeds.Outcome:
    """Import one feed (``feeds.import_feed``); ``on_item`` runs before each item."""

    def walk(entries: Iterator[feeds.Item]) -> Iterator[feeds.Item]:
        for item in entries:
            on_item()
            yield item

    return feeds.import_feed(
        uow,
        source,
        rules=ReviewRules.from_settings(settings),
        screened_days=settings.screened_retention_days,
        progress=walk,
    )


def send_alerts(uow: UnitOfWork, settings: Settings) -> notify.Summary:
    """Raise the alerts that are due and send or retry their deliveries (``triage notify``)."""
    return notify.run(uow, notify.NotifyConfig.from_settings(settings))


@dataclass(frozen=True)
class PurgeDone:
    cases: int
    records: int
    screened_expired: int


def purge_due(uow: UnitOfWork, settings: Settings) -> PurgeDone:
    """Crypto-shred the closed cases past ``TRIAGE_RETENTION_DAYS`` and expire the screened-out
    items past their time (what ``triage purge --yes`` does)."""
    with uow.begin() as session:
        cases = retention.due(session, older_than=timedelta(days=settings.retention_days))
        items = retention.screened_due(session)
        done = retention.purge(session, cases, actor=audit.SYSTEM_ACTOR, reason="retention")
        expired = retention.expire_screened(session, items, actor=audit.SYSTEM_ACTOR)
    retention.vacuum_keys(uow.engine)
    return PurgeDone(done.cases, done.records, expired)


def rewrap(uow: UnitOfWork) -> int:
    """Rewrap the data keys still under an older KEK (resumable: ``keys.rewrap_all``)."""
    return keys.rewrap_all(uow.begin, uow.keyring.current, actor=audit.SYSTEM_ACTOR)


def checkpoint(uow: UnitOfWork, settings: Settings) -> checkpoints.Published:
    """Sign the chain's head into the checkpoint file (and POST it to the auditor's webhook)."""
    with uow.begin() as session:
        head = checkpoints.Head.of(
            checkpoints.record(session, actor=audit.SYSTEM_ACTOR, via="worker")
        )
    with uow.read() as reader:
        return checkpoints.publish(settings, uow.keyring.current, head, reader)


def export_day(uow: UnitOfWork, settings: Settings, day: date | None = None) -> Path | None:
    """Export one UTC day of the audit log (yesterday by default) with its signed manifest into
    ``TRIAGE_EXPORT_DIR``, as ``audit-DAY.jsonl``: the oversight bodies' daily copy. A day
    already exported, or one without events, writes nothing (``None``)."""
    if not settings.export_dir:
        raise ConfigError("TRIAGE_EXPORT_DIR is not set: there is nowhere to write the export")
    day = day or (utcnow().date() - timedelta(days=1))
    folder = Path(settings.export_dir)
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"audit-{day.isoformat()}.jsonl"
    manifest = out.with_name(out.name + ".manifest.json")
    if manifest.exists():
        return None
    partial = out.with_name(out.name + ".partial")
    try:
        written = exports.write_export(
            uow,
            settings,
            partial,
            manifest_path=manifest.with_name(manifest.name + ".partial"),
            since=day.isoformat(),
            until=(day + timedelta(days=1)).isoformat(),
            via="worker",
        )
    except DomainError:  # no event that day
        return None
    # The data first, the manifest last: a manifest on disk means a whole export beside it.
    written.out_path.replace(out)
    written.manifest_path.replace(manifest)
    if written.warning:
        log.warning("daily export: %s", written.warning)
    return out


# -- resuming the polls of a killed worker -------------------------------------------------------


def polls_key(settings: Settings) -> str:
    """The Redis hash of the polls under way: a feed's key to its address."""
    return f"triage:{settings.jobs_queue}:polls"


def lock_key(settings: Settings, key: str) -> str:
    """The Redis lock of one feed (by its ``feed_key``), held by the worker polling it."""
    return f"triage:{settings.jobs_queue}:feed:{key}"


@dataclass(frozen=True)
class Resumed:
    """What one look at the polls under way did: the feeds (by key) whose polls were queued
    again, and in how many seconds to look again (``None``: no poll on record is locked)."""

    feeds: tuple[str, ...]
    look_again_in: float | None


def resume_polls(client: Any, settings: Settings, send: Callable[[str], object]) -> Resumed:
    """Queue again (``send``) every poll on record whose lock has lapsed: its worker died.

    A poll is put on record only once it holds its feed's lock, and taken off before it lets the
    lock go, so on record and unlocked means killed. Whoever takes a poll off the record queues
    it, so two workers looking at once queue it once. A poll on record that is locked may be live
    or may have lost its worker a moment ago: look again when its lock would lapse.
    """
    resumed: list[str] = []
    look_again_in: float | None = None
    for key, source in client.hgetall(polls_key(settings)).items():
        feed = key.decode() if isinstance(key, bytes) else key
        left_ms = client.pttl(lock_key(settings, feed))
        if left_ms == -2:  # no lock: its worker is gone
            if client.hdel(polls_key(settings), feed):
                send(source.decode() if isinstance(source, bytes) else source)
                resumed.append(feed)
            continue
        left = left_ms / 1000 if left_ms > 0 else float(settings.jobs_lock_seconds)
        look_again_in = left if look_again_in is None else min(look_again_in, left)
    return Resumed(tuple(resumed), look_again_in)


# -- Celery --------------------------------------------------------------------------------------


class _Instance:
    """The settings and unit of work of this worker process, opened on first use (after the
    fork: a database connection must not cross into a child process)."""

    def __init__(self) -> None:
        self._pid = 0
        self._opened: tuple[Settings, UnitOfWork] | None = None

    def get(self) -> tuple[Settings, UnitOfWork]:
        if self._opened is None or self._pid != os.getpid():
            settings = from_environment()
            self._opened, self._pid = (settings, open_instance(settings)), os.getpid()
        return self._opened


_instance = _Instance()


def schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """Celery beat's schedule: what runs when, from the settings (0 turns a job off)."""
    plan: dict[str, dict[str, Any]] = {}
    if settings.feeds and settings.feed_poll_minutes:
        plan["poll-feeds"] = {
            "task": "triage.poll_feeds",
            "schedule": timedelta(minutes=settings.feed_poll_minutes),
        }
    if settings.notify_minutes:
        plan["notify"] = {
            "task": "triage.notify",
            "schedule": timedelta(minutes=settings.notify_minutes),
        }
    if settings.checkpoint_minutes:
        plan["checkpoint"] = {
            "task": "triage.checkpoint",
            "schedule": timedelta(minutes=settings.checkpoint_minutes),
        }
    if settings.export_dir:
        plan["export"] = {"task": "triage.export", "schedule": crontab(hour=0, minute=30)}
    plan["purge"] = {"task": "triage.purge", "schedule": crontab(hour=3, minute=30)}
    plan["rewrap"] = {"task": "triage.rewrap", "schedule": crontab(hour=4, minute=0)}
    return plan


def make_celery(settings: Settings) -> Celery:
    """The Celery app of this instance, its tasks registered; refuses without a broker."""
    if not settings.jobs_broker_url:
        raise ConfigError(
            "TRIAGE_JOBS_BROKER_URL is not set: the worker needs a Redis URL "
            "(redis://host:6379/0); without one, run the jobs from the CLI (docs/jobs.md)"
        )
    app = Celery("triage", broker=settings.jobs_broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=settings.jobs_queue,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        broker_transport_options={
            "visibility_timeout": settings.jobs_visibility_seconds,
            # The lock a worker takes to give back a dead worker's tasks: held by a worker that
            # is killed, it would stop every other one doing so for its default five minutes.
            "unacked_mutex_expire": min(300, settings.jobs_visibility_seconds),
            # Every key in Redis under the queue's name: two instances on one Redis never meet.
            "global_keyprefix": f"{settings.jobs_queue}:",
        },
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        # triage's handler (``triage.logging``) writes to stderr: redirected into Celery's logger,
        # every line would come back to that handler and be dropped, the worker's log empty.
        worker_redirect_stdouts=False,
        beat_schedule=schedule(settings),
        timezone="UTC",
        enable_utc=True,
    )
    _register(app, settings)
    return app


def send_poll(app: Celery, source: str) -> None:
    """Queue a poll of one feed; the worker's log shows the feed's key, not its address (which
    may carry a token), where Celery would show a task's arguments."""
    app.send_task("triage.poll_feed", args=[source], argsrepr=repr((feed_key(source),)))


def _register(app: Celery, settings: Settings) -> None:
    retry: dict[str, Any] = {
        "autoretry_for": RETRYABLE,
        "retry_backoff": True,
        "retry_backoff_max": 600,
        "retry_jitter": True,
        "max_retries": 6,
    }

    @app.task(name="triage.poll_feeds", **retry)
    def poll_feeds_task() -> int:
        """Poll every feed: one task per feed, so each is locked, retried and redelivered alone."""
        sources = feed_sources(_instance.get()[0])
        for source in sources:
            send_poll(app, source)
        return len(sources)

    @app.task(name="triage.poll_feed", bind=True, **retry)
    def poll_feed_task(self: Task, source: str) -> dict[str, int]:
        config, uow = _instance.get()
        client, key = _redis(settings), feed_key(source)
        lock = client.lock(lock_key(config, key), timeout=config.jobs_lock_seconds)
        if not lock.acquire(blocking=False):  # another worker is on this feed: come back later
            raise self.retry(
                countdown=max(5, config.jobs_lock_seconds // 4), exc=None, argsrepr=repr((key,))
            )
        client.hset(polls_key(config), key, source)  # on record while locked: resume_polls
        try:
            outcome = poll_feed(
                uow, config, source, on_item=lambda: lock.extend(config.jobs_lock_seconds, True)
            )
        finally:
            client.hdel(polls_key(config), key)
            _release(lock)
        log.info("feed %s polled", key, extra={"outcome": outcome.as_details()})
        return outcome.as_details()

    @app.task(name="triage.resume_polls", **retry)
    def resume_polls_task() -> int:
        """Queue again the polls whose worker was killed; watch the locked ones until they end
        or lapse (a look every lock's lifetime at most, two Redis reads a poll)."""
        done = resume_polls(_redis(settings), settings, lambda source: send_poll(app, source))
        for key in done.feeds:
            log.warning("feed %s: its poll lost its worker and is queued again", key)
        if done.look_again_in is not None:
            resume_polls_task.apply_async(countdown=done.look_again_in + 1)
        return len(done.feeds)

    def resume_on_start(sender: Any = None, **_: Any) -> None:
        if getattr(sender, "app", None) is app:  # this app's worker, not another in the process
            resume_polls_task.delay()

    worker_ready.connect(resume_on_start, weak=False)

    @app.task(name="triage.notify", **retry)
    def notify_task() -> int:
        config, uow = _instance.get()
        return send_alerts(uow, config).sent

    @app.task(name="triage.purge", **retry)
    def purge_task() -> int:
        config, uow = _instance.get()
        return purge_due(uow, config).records

    @app.task(name="triage.rewrap", **retry)
    def rewrap_task() -> int:
        return rewrap(_instance.get()[1])

    @app.task(name="triage.export", **retry)
    def export_task() -> str:
        config, uow = _instance.get()
        written = export_day(uow, config)
        return written.name if written else ""

    @app.task(name="triage.checkpoint", **retry)
    def checkpoint_task() -> int:
        config, uow = _instance.get()
        return checkpoint(uow, config).checkpoint.seq


def _redis(settings: Settings) -> Any:
    import redis

    return redis.Redis.from_url(settings.jobs_broker_url)


def _release(lock: Any) -> None:
    import redis

    with contextlib.suppress(redis.exceptions.LockError):  # it lapsed: another may hold it
        lock.release()


#: The tasks by the names ``triage jobs send`` takes.
TASKS = {
    "poll-feeds": "triage.poll_feeds",
    "notify": "triage.notify",
    "purge": "triage.purge",
    "rewrap": "triage.rewrap",
    "checkpoint": "triage.checkpoint",
    "export": "triage.export",
    "resume-polls": "triage.resume_polls",
}
