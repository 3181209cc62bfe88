"""The same source filed by several requests at the same moment is stored once, on both engines:
the others are refused as duplicates, never stored twice."""

from __future__ import annotations

import threading

from flask import Flask
from sqlalchemy import func, select

from triage.intake import schema, service
from triage.models import Report
from triage.web.deps import uow_of

THREADS = 4
ROUNDS = 5


def test_one_source_filed_at_once_is_stored_once(app: Flask) -> None:
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def file(round_: int) -> None:
        incoming = schema.parse(
            {
                "source_kind": "online",
                "platform": "telegram",
                "post_url": f"https://t.me/example/{round_}",
                "captured_at": "2026-11-20T10:00:00Z",
                "captured_text": "сосед избил жену",
            }
        )
        barrier.wait(timeout=30)
        try:
            with app.app_context(), uow_of(app).begin() as session:
                service.file(session, incoming, actor="system", new_case=True)
            result = "filed"
        except service.DuplicateSource:
            result = "duplicate"
        with lock:
            outcomes.append(result)

    for round_ in range(ROUNDS):
        threads = [threading.Thread(target=file, args=(round_,)) for _ in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
            assert not t.is_alive()

    assert outcomes.count("filed") == ROUNDS
    assert outcomes.count("duplicate") == ROUNDS * (THREADS - 1)
    with app.app_context(), uow_of(app).read() as session:
        assert session.scalar(select(func.count()).select_from(Report)) == ROUNDS
