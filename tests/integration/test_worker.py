"""Background jobs on a real Celery worker (``triage worker``) with the local Redis as broker, on
SQLite and PostgreSQL: a feed polled twice files each item once, and a poll whose worker is
killed half-way is queued again by the next worker to start (``triage.resume_polls``), which
finishes it without filing any item twice. Skipped, saying so, where no Redis answers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select

from triage import jobs
from triage.cli import main
from triage.config import Settings
from triage.models import AuditEvent, Report
from triage.models.screened import ScreenedItem
from triage.web.deps import uow_of

REDIS_URL = os.environ.get("TRIAGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TRIAGE = str(Path(sys.executable).with_name("triage"))
#: Far longer than any test here: a killed poll is resumed by ``resume_polls``, which does not
#: wait for the broker's redelivery, as in production (an hour there).
VISIBILITY_S = 3600
#: Short enough for a test, long enough that a live poll's lock is renewed in time.
LOCK_S = 3


def _redis_answers() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except Exception:
        return False


pytestmark = pytest.mark.skipif(
    not _redis_answers(), reason=f"no Redis at {REDIS_URL}: the worker tests need one"
)


def _feed(path: Path, count: int, tag: str) -> Path:
    """An RSS feed of ``count`` items, each with its own link; some incidents, some not."""
    items = []
    for n in range(count):
        if n % 2:
            title, text = (
                f"Соседи услышали крики: муж избил жену, дело {n}",
                "Полиция задержала мужчину, который избил жену и угрожал ей ножом.",
            )
        else:
            title, text = (
                f"Футбол: команда выиграла матч {n}",
                "Нападающий забил два гола во втором тайме.",
            )
        link = f"https://news.example.kz/{tag}/{n}"
        items.append(
            f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
            f"<description>{text}</description></item>"
        )
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        "<title>Worker test news</title><link>https://news.example.kz/</link>"
        f"{''.join(items)}</channel></rss>",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def job_settings(settings: Settings) -> Settings:
    return settings.with_overrides(
        {
            "jobs_broker_url": REDIS_URL,
            "jobs_queue": f"test-{uuid.uuid4().hex[:12]}",
            "jobs_visibility_seconds": VISIBILITY_S,
            "jobs_lock_seconds": LOCK_S,
        }
    )


def _env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONUNBUFFERED": "1",  # the log is read while the worker runs
        "TRIAGE_INSTANCE_PATH": str(settings.instance_path),
        "TRIAGE_DATABASE_URL": settings.database_url,
        "TRIAGE_KEYRING_PATH": settings.keyring_path,
        "TRIAGE_JOBS_BROKER_URL": settings.jobs_broker_url,
        "TRIAGE_JOBS_QUEUE": settings.jobs_queue,
        "TRIAGE_JOBS_VISIBILITY_SECONDS": str(settings.jobs_visibility_seconds),
        "TRIAGE_JOBS_LOCK_SECONDS": str(settings.jobs_lock_seconds),
    }


class Worker:
    """``triage worker`` as a process group of its own, so that it can be killed whole."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.log = log
        self._out = log.open("ab")
        self.process = subprocess.Popen(
            [TRIAGE, "worker", "--concurrency", "1", "--loglevel", "INFO"],
            env=_env(settings),
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def freeze(self) -> None:
        """Stop the whole group at once (SIGSTOP), where it is: the moment of a crash."""
        os.killpg(self.process.pid, signal.SIGSTOP)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self._out.close()


@pytest.fixture
def workers(job_settings: Settings, tmp_path: Path) -> Iterator[Callable[[], Worker]]:
    started: list[Worker] = []

    def start() -> Worker:
        worker = Worker(job_settings, tmp_path / "worker.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()  # its queue and locks are this test's own, deleted below
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"*{job_settings.jobs_queue}*"):
        client.delete(key)


def _counts(app: Flask) -> tuple[int, int, int]:
    """Reports filed, screened-out items kept, and finished polls (``feed.imported`` events)."""
    with app.app_context(), uow_of(app).read() as session:
        reports = session.scalar(select(func.count()).select_from(Report)) or 0
        kept = session.scalar(select(func.count()).select_from(ScreenedItem)) or 0
        polls = (
            session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "feed.imported")
            )
            or 0
        )
    return reports, kept, polls


def _wait(what: str, ready: Callable[[], bool], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    pytest.fail(f"timed out waiting for {what}; the worker's log ends:\n{tail}")


def test_a_feed_polled_twice_files_each_item_once(
    app: Flask, job_settings: Settings, workers: Callable[[], Worker], tmp_path: Path
) -> None:
    feed = _feed(tmp_path / "feed.xml", 12, "twice")
    worker = workers()
    celery = jobs.make_celery(job_settings)
    for _ in range(2):
        jobs.send_poll(celery, str(feed))
    _wait("two finished polls", lambda: _counts(app)[2] >= 2, worker.log)

    reports, kept, _ = _counts(app)
    assert reports == 6, "each incident item is filed once"
    assert kept == 6, "each other item is kept once for the reviewers' list"
    log = worker.log.read_text("utf-8", "replace")
    assert f"feed {jobs.feed_key(str(feed))} polled" in log
    assert str(feed) not in log, "a feed is named by a hash: its address may hold a token"


def test_a_poll_killed_half_way_is_resumed_without_filing_twice(
    app: Flask, job_settings: Settings, workers: Callable[[], Worker], tmp_path: Path
) -> None:
    total = 240  # a few seconds of filing: the worker is stopped long before the end
    feed = _feed(tmp_path / "feed.xml", total, "killed")
    first = workers()
    jobs.send_poll(jobs.make_celery(job_settings), str(feed))

    _wait("the poll to be under way", lambda: sum(_counts(app)[:2]) >= 4, first.log)
    first.freeze()
    reports, kept, polls = _counts(app)
    first.kill()
    assert 0 < reports + kept < total, "the worker was killed half-way through the feed"
    assert polls == 0

    second = workers()
    _wait("the resumed poll to finish", lambda: _counts(app)[2] >= 1, second.log, timeout=120)
    reports, kept, polls = _counts(app)
    assert (reports, kept) == (total // 2, total // 2), "every item once, none twice"
    resumed = f"feed {jobs.feed_key(str(feed))}: its poll lost its worker and is queued again"
    _wait(
        "the resume's warning",
        lambda: resumed in second.log.read_text("utf-8", "replace"),
        second.log,
        timeout=10,
    )
    assert str(feed) not in second.log.read_text("utf-8", "replace"), "feeds are named by hash"


def test_resume_polls_queues_a_lapsed_poll_once_and_watches_a_locked_one(
    job_settings: Settings,
) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    lost, live = "https://feeds.example.kz/lost.xml", "https://feeds.example.kz/live.xml"
    try:
        for source in (lost, live):
            client.hset(jobs.polls_key(job_settings), jobs.feed_key(source), source)
        client.set(jobs.lock_key(job_settings, jobs.feed_key(live)), "held", px=2500)
        sent: list[str] = []

        first = jobs.resume_polls(client, job_settings, sent.append)
        again = jobs.resume_polls(client, job_settings, sent.append)

        assert sent == [lost], "the lapsed poll is queued once, the locked one not at all"
        assert first.feeds == (jobs.feed_key(lost),) and again.feeds == ()
        assert again.look_again_in is not None and 0 < again.look_again_in <= 2.5
        client.delete(jobs.lock_key(job_settings, jobs.feed_key(live)))
        assert jobs.resume_polls(client, job_settings, sent.append).look_again_in is None
        assert sent == [lost, live]
        assert client.hlen(jobs.polls_key(job_settings)) == 0
    finally:
        for key in client.scan_iter(f"*{job_settings.jobs_queue}*"):
            client.delete(key)


def test_the_worker_refuses_without_a_broker_in_one_line(settings: Settings) -> None:
    result = CliRunner().invoke(
        main,
        ["worker"],
        env={
            "TRIAGE_INSTANCE_PATH": str(settings.instance_path),
            "TRIAGE_DATABASE_URL": settings.database_url,
            "TRIAGE_KEYRING_PATH": settings.keyring_path,
            "TRIAGE_JOBS_BROKER_URL": "",
        },
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: TRIAGE_JOBS_BROKER_URL is not set: the worker needs a Redis URL "
        "(redis://host:6379/0); without one, run the jobs from the CLI (docs/jobs.md)"
    ]


def test_poll_feeds_polls_every_configured_feed_once(
    app: Flask, settings: Settings, tmp_path: Path
) -> None:
    one, two = _feed(tmp_path / "one.xml", 4, "one"), _feed(tmp_path / "two.xml", 2, "two")
    env = {
        "TRIAGE_INSTANCE_PATH": str(settings.instance_path),
        "TRIAGE_DATABASE_URL": settings.database_url,
        "TRIAGE_KEYRING_PATH": settings.keyring_path,
        "TRIAGE_FEEDS": f"{one}, {two}",
    }
    for _ in range(2):
        result = CliRunner().invoke(main, ["poll-feeds"], env=env)
        assert result.exit_code == 0, result.output
    assert "4 items, 0 filed, 0 screened out, 4 already seen" in result.output
    assert _counts(app)[:2] == (3, 3)
    assert str(one) not in result.output, "a feed is named by a hash: its address may hold a token"
