"""The pure parts of alerts: the webhook's signature, the backoff schedule, what a message says
(and does not), and the check of a staff e-mail address."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage.errors import InvalidInput
from triage.models import AlertKind
from triage.notify import messages, signing
from triage.notify.rules import BACKOFF_CAP, NotifyRules, backoff
from triage.users import clean_email

SECRET = "a webhook secret of some length"
BODY = b'{"alert_id":"a1","kind":"deadline"}'
NOW = 1_800_000_000


# -- the signature -----------------------------------------------------------------------------


def test_the_signature_is_hmac_sha256_of_time_dot_body_as_documented() -> None:
    header = signing.sign(SECRET, BODY, NOW)

    wanted = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={NOW},v1={wanted}"
    assert signing.verify(SECRET, header, BODY, now=NOW)


@pytest.mark.parametrize(
    ("secret", "body", "skew"),
    [
        ("another secret of some length", BODY, 0),  # signed with another secret
        (SECRET, BODY + b" ", 0),  # the body was changed
        (SECRET, BODY, signing.TOLERANCE_SECONDS + 1),  # replayed too late
        (SECRET, BODY, -(signing.TOLERANCE_SECONDS + 1)),  # from a clock far ahead
    ],
)
def test_a_wrong_secret_a_changed_body_or_a_stale_time_is_refused(secret, body, skew) -> None:
    header = signing.sign(secret, BODY, NOW)
    assert not signing.verify(SECRET, header, body, now=NOW + skew)


def test_the_edge_of_the_tolerance_is_still_accepted() -> None:
    header = signing.sign(SECRET, BODY, NOW)
    assert signing.verify(SECRET, header, BODY, now=NOW + signing.TOLERANCE_SECONDS)
    assert signing.verify(SECRET, header, BODY, now=NOW - signing.TOLERANCE_SECONDS)


@pytest.mark.parametrize(
    "header",
    [None, "", "v1=abc", f"t={NOW}", "t=soon,v1=ab", f"t={NOW},t={NOW},v1=ab", "garbage"],
)
def test_a_malformed_header_is_refused(header) -> None:
    assert not signing.verify(SECRET, header, BODY, now=NOW)


def test_a_second_signature_for_a_secret_being_changed_is_accepted() -> None:
    old = signing.sign("the old secret of some length", BODY, NOW).split(",")[1]
    header = f"{signing.sign(SECRET, BODY, NOW)},{old},v0=ignored"
    assert signing.verify(SECRET, header, BODY, now=NOW)
    assert signing.verify("the old secret of some length", header, BODY, now=NOW)


@given(st.binary(max_size=2048), st.integers(min_value=0, max_value=10**11))
def test_any_body_signed_verifies_and_one_changed_byte_does_not(body: bytes, at: int) -> None:
    header = signing.sign(SECRET, body, at)
    assert signing.verify(SECRET, header, body, now=at)
    assert not signing.verify(SECRET, header, body + b"x", now=at)


# -- the backoff -------------------------------------------------------------------------------


def test_the_backoff_doubles_from_its_base_up_to_six_hours() -> None:
    base = timedelta(seconds=60)
    waits = [backoff(n, base) for n in range(1, 12)]
    minutes = [w.total_seconds() / 60 for w in waits]
    assert minutes == [1, 2, 4, 8, 16, 32, 64, 128, 256, 360, 360]
    assert backoff(0, base) == timedelta(0)
    assert NotifyRules(backoff=timedelta(seconds=10)).next_wait(3) == timedelta(seconds=40)


@given(st.integers(min_value=1, max_value=10_000), st.integers(min_value=1, max_value=86_400))
def test_the_backoff_never_shrinks_and_never_passes_its_cap(attempts: int, seconds: int) -> None:
    base = timedelta(seconds=seconds)
    wait, following = backoff(attempts, base), backoff(attempts + 1, base)
    assert min(base, BACKOFF_CAP) <= wait <= following <= BACKOFF_CAP


# -- the messages ------------------------------------------------------------------------------

FACTS = messages.AlertFacts(
    alert_id="8c0e6a4e-1111-4c7b-9c1e-000000000001",
    kind=AlertKind.DEADLINE.value,
    case_code="C-AB12-CD34",
    link="https://triage.example.kz/cases/C-AB12-CD34",
    due_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
)


@pytest.mark.parametrize("kind", list(AlertKind))
def test_every_kind_says_its_code_and_link_in_kazakh_russian_and_english(kind) -> None:
    facts = messages.AlertFacts(**{**FACTS.__dict__, "kind": kind.value})
    body = messages.text(facts)
    assert body.count(facts.case_code) >= 3 and body.count(facts.link) == 3
    assert "Істі ашу" in body and "Открыть дело" in body and "Open the case" in body
    assert messages.subject(facts).startswith("triage C-AB12-CD34: ")


def test_the_email_names_its_sender_recipient_and_message_id() -> None:
    mail = messages.email(
        FACTS,
        sender="triage@example.kz",
        to="someone@example.kz",
        delivery_id="d-1",
        now=datetime(2026, 12, 1, 10, tzinfo=UTC),
    )
    assert (mail["From"], mail["To"]) == ("triage@example.kz", "someone@example.kz")
    assert mail["Message-ID"] == "<d-1@example.kz>"
    assert mail.get_content() == messages.text(FACTS)


def test_the_webhook_body_is_the_documented_compact_json() -> None:
    body = messages.webhook_body(FACTS)
    assert json.loads(body) == {
        "type": "triage.alert",
        "alert_id": FACTS.alert_id,
        "kind": "deadline",
        "case_code": "C-AB12-CD34",
        "link": FACTS.link,
        "due_at": "2026-12-01T09:30:00.000000Z",
    }
    assert b" " not in body and body == messages.webhook_body(FACTS), "not stable"


# -- staff addresses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_", "stored"),
    [
        ("a@b.kz", "a@b.kz"),
        ("  Name.Surname+alerts@Mail.Example.KZ ", "Name.Surname+alerts@mail.example.kz"),
        ("", None),
        (None, None),
    ],
)
def test_an_address_is_stored_with_its_domain_in_lower_case(given_, stored) -> None:
    assert clean_email(given_) == stored


@pytest.mark.parametrize(
    "wrong",
    [
        "no-at-sign",
        "two@@example.kz",
        "x@localhost",
        "a b@example.kz",
        "<a@example.kz>",
        "Name <a@example.kz>",
        "a@example.kz\nBcc: b@example.kz",
        "a@-example.kz",
        "a@example..kz",
        f"{'a' * 65}@example.kz",
        f"a@{'b' * 250}.kz",
    ],
)
def test_anything_but_a_plain_address_is_refused_without_repeating_it(wrong) -> None:
    with pytest.raises(InvalidInput) as refused:
        clean_email(wrong)
    assert wrong.strip() not in refused.value.text
