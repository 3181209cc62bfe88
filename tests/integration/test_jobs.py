"""The jobs the worker runs, called as the worker calls them (``triage.jobs``), on SQLite and
PostgreSQL: the daily audit export writes a whole, verifiable export once; the schedule follows
the settings."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask

from triage import audit, audit_export, jobs
from triage.config import ConfigError, Settings
from triage.models import utcnow
from triage.web.deps import uow_of


def test_the_daily_export_writes_a_verifiable_export_once(
    app: Flask, settings: Settings, tmp_path: Path
) -> None:
    config = settings.with_overrides({"export_dir": str(tmp_path / "exports")})
    uow = uow_of(app)
    with uow.begin() as session:
        for n in range(3):
            audit.append(session, actor="system", action="test.event", details={"n": n})
    today = utcnow().date()

    written = jobs.export_day(uow, config, today)
    assert written == tmp_path / "exports" / f"audit-{today.isoformat()}.jsonl"
    manifest = written.with_name(written.name + ".manifest.json")
    key = tmp_path / "public.pem"
    key.write_bytes(uow.keyring.current.public_key_pem())
    verdict = audit_export.verify_export(written, manifest, key)
    assert verdict.ok, verdict
    assert sorted(p.name for p in written.parent.iterdir()) == [written.name, manifest.name]

    assert jobs.export_day(uow, config, today) is None, "a day is exported once"
    assert jobs.export_day(uow, config, today - timedelta(days=400)) is None, "no events"
    assert sorted(p.name for p in written.parent.iterdir()) == [written.name, manifest.name]


def test_the_daily_export_needs_its_folder(app: Flask, settings: Settings) -> None:
    with pytest.raises(ConfigError, match="TRIAGE_EXPORT_DIR"):
        jobs.export_day(uow_of(app), settings)


def test_the_schedule_follows_the_settings(settings: Settings) -> None:
    quiet = settings.with_overrides(
        {"feeds": "", "notify_minutes": 0, "checkpoint_minutes": 0, "export_dir": ""}
    )
    assert set(jobs.schedule(quiet)) == {"purge", "rewrap"}
    busy = settings.with_overrides(
        {"feeds": "a.xml b.xml", "feed_poll_minutes": 10, "export_dir": "/tmp/x"}
    )
    plan = jobs.schedule(busy)
    assert {"poll-feeds", "notify", "checkpoint", "export"} <= set(plan)
    assert plan["poll-feeds"]["schedule"] == timedelta(minutes=10)
    assert jobs.feed_sources(busy) == ["a.xml", "b.xml"]
