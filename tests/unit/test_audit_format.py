"""The audit log's public format (DESIGN.md, "Audit log"), checked against a reading of the
document made here with nothing but ``hashlib`` and ``json``, as an auditor's own tool would; and
``verify_stream`` naming the first event that breaks the chain."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from triage import audit
from triage.db import Base
from triage.models import AuditEvent

ZEROS = "0" * 64


def expected_hash(event: dict[str, Any]) -> str:
    """The documented rule, written out independently of triage.audit."""
    body = {k: v for k, v in event.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((event["prev_hash"] + canonical).encode("utf-8")).hexdigest()


def make_chain(count: int) -> list[dict[str, Any]]:
    """A valid chain built with the documented rule alone."""
    events: list[dict[str, Any]] = []
    prev = ZEROS
    start = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    for seq in range(1, count + 1):
        event: dict[str, Any] = {
            "seq": seq,
            "at": (start + timedelta(seconds=seq)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "actor": "7" if seq % 2 else "system",
            "action": "report.filed" if seq % 3 else "payload.decrypted",
            "object_type": "report",
            "object_id": f"id-{seq}",
            "details": {"purpose": "page", "indexes": seq, "ok": True, "none": None},
            "prev_hash": prev,
        }
        event["hash"] = expected_hash(event)
        prev = event["hash"]
        events.append(event)
    return events


# -- the hash ----------------------------------------------------------------------------------


def test_chain_hash_follows_the_published_rule() -> None:
    event = {
        "seq": 1,
        "at": "2026-11-25T11:25:40.123456Z",
        "actor": "system",
        "action": "instance.initialised",
        "object_type": None,
        "object_id": None,
        "details": {"active_kek": "kek-20261125-0a1b2c3d", "keyring_created": True},
        "prev_hash": ZEROS,
    }
    canonical = (
        '{"action":"instance.initialised","actor":"system","at":"2026-11-25T11:25:40.123456Z",'
        '"details":{"active_kek":"kek-20261125-0a1b2c3d","keyring_created":true},'
        '"object_id":null,"object_type":null,"prev_hash":"' + ZEROS + '","seq":1}'
    )
    by_hand = hashlib.sha256((ZEROS + canonical).encode("utf-8")).hexdigest()
    assert audit.chain_hash(event) == by_hand == expected_hash(event)
    assert audit.canonical(event) == canonical.encode("utf-8")


def test_chain_hash_ignores_the_hash_field_and_is_hex_sha256() -> None:
    event = make_chain(1)[0]
    assert audit.chain_hash(event) == event["hash"]
    assert audit.chain_hash({**event, "hash": "f" * 64}) == event["hash"]
    assert len(event["hash"]) == 64
    assert int(event["hash"], 16) >= 0


def test_non_ascii_text_is_hashed_as_utf8_not_escaped() -> None:
    event = {**make_chain(1)[0], "actor": "Айгүл"}
    assert audit.chain_hash(event) == expected_hash(event)
    assert "Айгүл".encode() in audit.canonical(event)
    assert b"\\u" not in audit.canonical(event)


def test_every_field_but_hash_is_covered() -> None:
    event = make_chain(1)[0]
    for field in audit.FIELDS:
        if field == "hash":
            continue
        changed = {**event, field: "x" if event[field] != "x" else "y"}
        assert audit.chain_hash(changed) != event["hash"], field


def test_genesis_is_sixty_four_zeros() -> None:
    assert audit.GENESIS_HASH == ZEROS


def test_format_time_is_utc_with_microseconds_and_z() -> None:
    almaty = timezone(timedelta(hours=5))
    moment = datetime(2026, 11, 25, 16, 25, 40, 5, tzinfo=almaty)
    assert audit.format_time(moment) == "2026-11-25T11:25:40.000005Z"


@given(st.integers(1, 12))
def test_chains_built_by_hand_verify(count: int) -> None:
    verdict = audit.verify_stream(make_chain(count))
    assert verdict.ok
    assert verdict.count == count
    assert verdict.broken_seq is None


def test_an_empty_chain_verifies_with_the_genesis_hash() -> None:
    verdict = audit.verify_stream([])
    assert verdict.ok
    assert verdict.count == 0
    assert verdict.last_hash == ZEROS


# -- verify_stream finds the first broken event ------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("actor", "9"),
        ("action", "case.closed"),
        ("object_id", "id-other"),
        ("details", {"purpose": "command", "indexes": 3, "ok": True, "none": None}),
        ("at", "2026-01-02T03:04:09.000000Z"),
        ("hash", "0" * 63 + "1"),
    ],
)
def test_an_altered_field_is_found(field: str, value: object) -> None:
    events = make_chain(6)
    events[3][field] = value

    verdict = audit.verify_stream(events)

    assert not verdict.ok
    assert verdict.broken_seq == 4
    assert verdict.count == 3
    assert verdict.last_hash == events[2]["hash"]
    assert "seq 4" in str(verdict)


def test_a_gap_is_found() -> None:
    events = make_chain(6)
    del events[2]
    verdict = audit.verify_stream(events)
    assert not verdict.ok
    assert verdict.broken_seq == 3
    assert "gap" in verdict.reason


def test_a_missing_first_event_is_found() -> None:
    verdict = audit.verify_stream(make_chain(3)[1:])
    assert not verdict.ok
    assert verdict.broken_seq == 1


def test_a_reorder_is_found() -> None:
    events = make_chain(6)
    events[2], events[3] = events[3], events[2]
    verdict = audit.verify_stream(events)
    assert not verdict.ok
    assert verdict.broken_seq == 3
    assert verdict.count == 2


def test_a_replayed_event_is_found() -> None:
    events = make_chain(4)
    events.insert(3, events[1])
    verdict = audit.verify_stream(events)
    assert not verdict.ok
    assert verdict.broken_seq == 4
    assert "out of order" in verdict.reason


def test_a_wrong_link_is_found_even_with_a_recomputed_hash() -> None:
    events = make_chain(6)
    events[4]["prev_hash"] = "a" * 64
    events[4]["hash"] = expected_hash(events[4])
    verdict = audit.verify_stream(events)
    assert not verdict.ok
    assert verdict.broken_seq == 5
    assert "wrong link" in verdict.reason


def test_a_deleted_event_with_renumbered_successors_is_found() -> None:
    events = make_chain(5)
    del events[1]
    for event in events[1:]:
        event["seq"] -= 1
    verdict = audit.verify_stream(events)
    assert not verdict.ok
    assert verdict.broken_seq == 2


def test_a_genesis_event_with_another_prev_hash_is_found() -> None:
    events = make_chain(2)
    events[0]["prev_hash"] = "1" * 64
    events[0]["hash"] = expected_hash(events[0])
    verdict = audit.verify_stream(events)
    assert not verdict.ok
    assert verdict.broken_seq == 1


@pytest.mark.parametrize("seq", [None, "3", True, 3.0])
def test_a_sequence_number_that_is_not_an_integer_is_found(seq: object) -> None:
    events = make_chain(4)
    events[2]["seq"] = seq
    verdict = audit.verify_stream(events)
    assert not verdict.ok
    assert verdict.broken_seq == 3


def test_an_event_missing_a_field_is_found() -> None:
    events = make_chain(4)
    del events[2]["details"]
    verdict = audit.verify_stream(events)
    assert not verdict.ok
    assert verdict.broken_seq == 3


def test_an_export_that_starts_mid_chain_verifies_from_its_first_link() -> None:
    events = make_chain(8)
    part = events[3:]
    verdict = audit.verify_stream(part, first_prev_hash=events[2]["hash"], first_seq=None)
    assert verdict.ok
    assert verdict.count == 5
    assert verdict.last_hash == events[-1]["hash"]
    assert not audit.verify_stream(part, first_prev_hash=events[1]["hash"], first_seq=None).ok
    assert not audit.verify_stream(part).ok


@given(st.data())
def test_any_single_alteration_is_found_at_its_seq(data: st.DataObject) -> None:
    events = make_chain(data.draw(st.integers(1, 8)))
    index = data.draw(st.integers(0, len(events) - 1))
    field = data.draw(st.sampled_from(["actor", "action", "object_id", "at", "prev_hash", "hash"]))
    events[index][field] = events[index][field] + "x"
    verdict = audit.verify_stream(events)
    assert not verdict.ok
    assert verdict.broken_seq == index + 1
    assert verdict.count == index


# -- append: what it writes, and what it refuses -----------------------------------------------


@pytest.fixture
def session() -> Iterator[Session]:
    """An in-memory database with the tables: append is checked without a server or an app."""
    engine = create_engine("sqlite://", poolclass=StaticPool)
    Base.metadata.create_all(engine)
    with Session(engine) as db_session:
        yield db_session
    engine.dispose()


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_appended_events_hash_as_published(session: Session) -> None:
    first = audit.append(
        session,
        actor="system",
        action="instance.initialised",
        details={"active_kek": "kek-1", "keyring_created": True},
    )
    second = audit.append(
        session,
        actor="12",
        action="report.filed",
        object_type="report",
        object_id="3f0c",
        details={"source_kind": "media", "indexes": 2, "ids": ["a", 1, None, False]},
    )

    events = list(audit.iter_events(session))
    assert [e["seq"] for e in events] == [1, 2]
    assert events[0]["prev_hash"] == ZEROS
    assert events[1]["prev_hash"] == first.hash
    for event in events:
        assert event["hash"] == expected_hash(event)
    assert events[1]["details"] == {
        "source_kind": "media",
        "indexes": 2,
        "ids": ["a", 1, None, False],
    }
    assert second.at.endswith("Z")
    assert datetime.strptime(second.at, "%Y-%m-%dT%H:%M:%S.%fZ")
    assert audit.verify(session).ok


def test_stored_details_are_the_canonical_text_that_was_hashed(session: Session) -> None:
    event = audit.append(session, actor="system", action="audit.verified", details={"b": 1, "a": 2})
    assert event.details == '{"a":2,"b":1}'


@pytest.mark.parametrize(
    ("details", "message"),
    [
        ({"score": 1.5}, "strings, integers, booleans or null"),
        ({"scores": [1, 2.0]}, "strings, integers, booleans or null"),
        ({"nested": {"a": 1}}, "strings, integers, booleans or null"),
        ({"nested": [{"a": 1}]}, "strings, integers, booleans or null"),
        ({"nested": [[1]]}, "strings, integers, booleans or null"),
        ({"raw": b"bytes"}, "strings, integers, booleans or null"),
        ({"note": "x" * 201}, "longer than 200 characters"),
        ({"notes": ["ok", "x" * 201]}, "longer than 200 characters"),
        ({"Name": "x"}, "not a lower-case identifier"),
        ({"1st": "x"}, "not a lower-case identifier"),
        ({"with space": "x"}, "not a lower-case identifier"),
        ({"": "x"}, "not a lower-case identifier"),
        ({"имя": "x"}, "not a lower-case identifier"),
        ({f"k{i:02d}": "x" * 150 for i in range(20)}, "larger than 2048 bytes"),
    ],
    ids=[
        "float",
        "float-in-list",
        "nested-dict",
        "dict-in-list",
        "list-in-list",
        "bytes",
        "long-string",
        "long-string-in-list",
        "upper-case-key",
        "digit-first-key",
        "space-in-key",
        "empty-key",
        "cyrillic-key",
        "too-large",
    ],
)
def test_details_that_could_carry_personal_data_are_refused(
    session: Session, details: dict[str, Any], message: str
) -> None:
    with pytest.raises(audit.AuditError, match=message):
        audit.append(session, actor="system", action="report.filed", details=details)
    assert _count(session) == 0


def test_details_at_the_limits_are_accepted(session: Session) -> None:
    audit.append(
        session,
        actor="system",
        action="report.filed",
        details={"note": "я" * 200, "n": -(2**40), "flag": False, "none": None, "a.b_c9": "x"},
    )
    assert _count(session) == 1


@pytest.mark.parametrize(
    "arguments",
    [
        {"action": "Report.Filed"},
        {"action": "report filed"},
        {"action": ""},
        {"action": "report.filed", "object_type": "Report"},
        {"action": "report.filed", "object_type": "report", "object_id": ""},
    ],
)
def test_bad_names_are_refused(session: Session, arguments: dict[str, Any]) -> None:
    with pytest.raises(audit.AuditError):
        audit.append(session, actor="system", **arguments)
    assert _count(session) == 0


_NAMES = st.from_regex(r"[a-z][a-z0-9_.]{0,20}", fullmatch=True)
_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=30))


@given(
    actor=st.text(min_size=1, max_size=20),
    action=_NAMES,
    object_type=st.one_of(st.none(), _NAMES),
    object_id=st.one_of(st.none(), st.text(min_size=1, max_size=20)),
    details=st.dictionaries(_NAMES, st.one_of(_VALUES, st.lists(_VALUES, max_size=3)), max_size=4),
    seq=st.integers(min_value=1, max_value=2**40),
    prev=st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
)
def test_a_link_hashes_the_canonical_json_of_its_fields(
    actor: str,
    action: str,
    object_type: str | None,
    object_id: str | None,
    details: dict[str, Any],
    seq: int,
    prev: str,
) -> None:
    """``_link`` assembles the canonical JSON around the details' text instead of dumping the
    fields again: its hash is the published formula's over the same fields."""
    entry = audit.Entry(actor, action, object_type, object_id, details)
    stored_id, details_json = audit._checked(entry)
    row = audit._link(entry, stored_id, details_json, seq, prev)
    fields = {**row, "details": json.loads(row["details"])}
    assert row["hash"] == expected_hash(fields) == audit.chain_hash(fields)
    assert row["details"] == json.dumps(
        json.loads(details_json), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
