"""The database storage of Flask-Limiter's counters (``triage.web.limit_storage``), on SQLite and
PostgreSQL: increments are atomic under concurrent writers, a window that ended starts again,
keys are stored as digests, and the sign-in limit counts through it by default."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from flask import Flask
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select

from tests.conftest import AuthActions, Database
from triage import create_app
from triage.config import Settings
from triage.models import RateLimitCounter
from triage.web.deps import uow_of
from triage.web.limit_storage import DatabaseStorage, storage_uri


def storage_of(app: Flask) -> DatabaseStorage:
    storage = storage_from_string(storage_uri("database", uow_of(app)))
    assert isinstance(storage, DatabaseStorage)
    return storage


def test_concurrent_increments_are_never_lost(app):
    """Eight threads, each with its own connection, 25 hits each: every count from 1 to 200
    is handed out exactly once (a read-then-write would hand some out twice)."""
    storage = storage_of(app)
    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = list(pool.map(lambda _: storage.incr("race", 60), range(200)))
    assert sorted(counts) == list(range(1, 201))
    assert storage.get("race") == 200


def test_a_window_that_ended_starts_again(app):
    storage = storage_of(app)
    assert storage.incr("short", 1) == 1
    assert storage.incr("short", 1) == 2
    assert storage.get_expiry("short") > time.time()
    time.sleep(1.1)
    assert storage.get("short") == 0
    assert storage.incr("short", 1) == 1


def test_clear_and_reset(app):
    storage = storage_of(app)
    storage.incr("a", 60)
    storage.incr("b", 60, amount=3)
    assert storage.get("b") == 3
    storage.clear("a")
    assert storage.get("a") == 0
    assert storage.reset() == 1
    assert storage.get("b") == 0
    assert storage.check()


def test_the_fixed_window_strategy_refuses_past_the_limit(app):
    limiter = FixedWindowRateLimiter(storage_of(app))
    item = parse("3 per minute")
    assert [limiter.hit(item, "client") for _ in range(4)] == [True, True, True, False]
    assert limiter.get_window_stats(item, "client").remaining == 0


def test_a_requests_own_hit_answers_its_headers_and_no_other_request(app):
    """Flask-Limiter reads the window back for the ``X-RateLimit-*`` headers of the limit it
    just counted: the request's own hit answers (no read), and another request reads the table,
    which holds every worker's hits."""
    storage = storage_of(app)
    with app.test_request_context("/"):
        assert storage.incr("mine", 60) == 1
        expiry = storage.get_expiry("mine")
        with ThreadPoolExecutor(max_workers=1) as pool:  # another worker's hit, meanwhile
            assert pool.submit(storage.incr, "mine", 60).result() == 2
        assert storage.get("mine") == 1 and storage.get_expiry("mine") == expiry
        assert storage.get("not counted here") == 0  # read from the table
    with app.test_request_context("/"):
        assert storage.get("mine") == 2
        assert storage.get_expiry("mine") == expiry


def test_keys_are_stored_as_digests(app):
    storage = storage_of(app)
    storage.incr("login:someone typed their password here", 60)
    with app.app_context(), uow_of(app).read() as session:
        keys = session.scalars(select(RateLimitCounter.key)).all()
    assert len(keys) == 1
    assert "password" not in keys[0] and len(keys[0]) == 64


def test_the_sign_in_limit_counts_in_the_database_by_default(app, client):
    """Eleven guesses from one address: the eleventh is refused, and the counters are rows."""
    auth = AuthActions(client)
    statuses = [auth.login(f"nobody{i}", "wrong password").status_code for i in range(11)]
    assert statuses == [401] * 10 + [429]
    with app.app_context(), uow_of(app).read() as session:
        assert session.scalars(select(RateLimitCounter)).all(), "no counter row was written"


def test_a_redis_url_puts_the_counters_in_redis(settings: Settings, database: Database):
    """Production's store: the same eleven guesses, counted in Redis (a database of its own on
    the test server), nothing in the database's table."""
    url = os.environ.get("TRIAGE_TEST_REDIS_URL")
    if not url:
        pytest.skip("TRIAGE_TEST_REDIS_URL is not set: the Redis variant is skipped")
    if database.engine != "sqlite":
        pytest.skip("Redis counting does not depend on the database engine: run once")
    own = url.rsplit("/", 1)[0] + "/9"
    try:
        redis = Redis.from_url(own, socket_connect_timeout=1)
        for key in redis.scan_iter("*LIMITER*"):
            redis.delete(key)
    except RedisError as exc:
        pytest.skip(f"Redis at TRIAGE_TEST_REDIS_URL is unreachable: {type(exc).__name__}")
    app = create_app(replace(settings, ratelimit_storage_url=own))
    try:
        auth = AuthActions(app.test_client())
        statuses = [auth.login(f"nobody{i}", "wrong password").status_code for i in range(11)]
        assert statuses == [401] * 10 + [429]
        assert list(redis.scan_iter("*LIMITER*")), "no counter in Redis"
        with app.app_context(), uow_of(app).read() as session:
            assert session.scalars(select(RateLimitCounter)).all() == []
    finally:
        for key in redis.scan_iter("*LIMITER*"):
            redis.delete(key)
        uow_of(app).engine.dispose()
