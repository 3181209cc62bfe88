"""Checking a chain against signed checkpoints, as pure functions over events in memory."""

from __future__ import annotations

from typing import Any

import pytest

from triage import audit, checkpoints
from triage.crypto import Keyring


def _chain(n: int, *, skip: int | None = None) -> list[dict[str, Any]]:
    """``n`` events (one of them left out and the rest recomputed, when ``skip`` is given)."""
    events, prev = [], audit.GENESIS_HASH
    numbers = [i for i in range(1, n + 1) if i != skip]
    for seq, original in enumerate(numbers, start=1):
        event = {
            "seq": seq,
            "at": f"2026-12-03T10:00:{original:02d}.000000Z",
            "actor": "system",
            "action": "report.filed",
            "object_type": "report",
            "object_id": f"r-{original}",
            "details": {"n": original},
            "prev_hash": prev,
        }
        event["hash"] = prev = audit.chain_hash(event)
        events.append(event)
    return events


@pytest.fixture(scope="module")
def ring() -> Keyring:
    return Keyring.generate()


def _signed(ring: Keyring, event: dict[str, Any], counter: int = 1) -> checkpoints.Checkpoint:
    return checkpoints.sign_head(
        ring, counter=counter, seq=event["seq"], hash=event["hash"], head_at=event["at"]
    )


def test_an_intact_chain_reaches_its_checkpoints(ring: Keyring) -> None:
    events = _chain(10)
    signed = [_signed(ring, events[3], 1), _signed(ring, events[9], 2)]
    verdict = checkpoints.verify_chain(events, signed)
    assert verdict.ok and verdict.reached == 2 and verdict.latest == signed[1]


def test_a_rewritten_chain_is_refused_at_the_checkpoint(ring: Keyring) -> None:
    signed = [_signed(ring, _chain(10)[6])]
    rewritten = _chain(10, skip=3)
    assert audit.verify_stream(rewritten).ok  # on its own, it passes
    verdict = checkpoints.verify_chain(rewritten, signed)
    assert (verdict.ok, verdict.broken_seq) == (False, 7)
    assert "rewritten" in verdict.reason


def test_a_chain_cut_before_the_checkpoint_is_refused(ring: Keyring) -> None:
    events = _chain(10)
    verdict = checkpoints.verify_chain(events[:5], [_signed(ring, events[8])])
    assert (verdict.ok, verdict.broken_seq) == (False, 9)
    assert "the chain ends at seq 5" in verdict.reason


def test_two_histories_signed_for_one_seq_are_refused(ring: Keyring) -> None:
    first, second = _chain(10)[6], _chain(10, skip=2)[6]
    verdict = checkpoints.verify_chain(_chain(10), [_signed(ring, first), _signed(ring, second)])
    assert (verdict.ok, verdict.broken_seq) == (False, 7)
    assert "sign different hashes" in verdict.reason


def test_a_checkpoint_verifies_only_with_its_key_and_unchanged(ring: Keyring) -> None:
    checkpoint = _signed(ring, _chain(3)[2])
    assert checkpoint.verifies(ring.public_key_pem())
    assert not checkpoint.verifies(Keyring.generate().public_key_pem())
    moved = checkpoints.Checkpoint(**{**checkpoint.__dict__, "seq": 2})
    assert not moved.verifies(ring.public_key_pem())
    # Nor does it pass for an export manifest's signature over the same fields.
    assert checkpoint.signed_bytes().startswith(b"triage/checkpoint/v1\n")
