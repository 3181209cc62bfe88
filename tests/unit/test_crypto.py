"""The keyring and sealing: what is sealed opens only with its own key, in its own place, unaltered;
ciphertext length does not betray the payload's; a keyring file that is not exactly right is
refused with a message that says what is wrong."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from triage.crypto import (
    KEYRING_FORMAT,
    CryptoError,
    KeyNotFound,
    Keyring,
    KeyringError,
    SealContext,
    SealIntegrityError,
    WrappedKey,
    verify_signature,
)

# One keyring for the whole module: generating is cheap, but hypothesis wants no per-test fixture.
RING = Keyring.generate()
OTHER_RING = Keyring.generate()
KEY_ID = "0b1e6f3c-2c1d-4b8e-9a57-1f0c2d3e4a5b"
CONTEXT = SealContext(table="report", record_id="7d9f0c3a-1111-4222-8333-944455556666")
WRAPPED = RING.new_data_key(KEY_ID)

# Blob layout: version byte, 12-byte nonce, padded plaintext, 16-byte tag.
OVERHEAD = 1 + 12 + 16


def _seal(payload: dict[str, Any], context: SealContext = CONTEXT) -> bytes:
    return RING.seal(KEY_ID, WRAPPED, context, payload)


def _flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    return data[:index] + bytes([data[index] ^ mask]) + data[index + 1 :]


# -- keyring storage ---------------------------------------------------------------------------


def test_generated_keyrings_differ() -> None:
    assert RING.fingerprint != OTHER_RING.fingerprint
    assert RING.kek_ids.isdisjoint(OTHER_RING.kek_ids)
    assert RING.session_secret != OTHER_RING.session_secret
    assert len(RING.session_secret) == 32


def test_keyring_round_trips_through_json() -> None:
    text = RING.to_json()
    doc = json.loads(text)
    assert doc["format"] == KEYRING_FORMAT
    assert doc["active_kek"] == RING.active_kek

    again = Keyring.from_json(text)

    assert again.to_json() == text
    assert again.fingerprint == RING.fingerprint
    assert again.kek_ids == RING.kek_ids
    assert again.active_kek == RING.active_kek
    assert again.session_secret == RING.session_secret
    assert again.public_key_pem() == RING.public_key_pem()
    assert again.blind_index("phone", "77011234567") == RING.blind_index("phone", "77011234567")
    assert again.open(KEY_ID, WRAPPED, CONTEXT, _seal({"name": "Айгүл"})) == {"name": "Айгүл"}


def test_keyring_json_round_trip_keeps_every_kek() -> None:
    rotated = RING.with_new_kek()
    again = Keyring.from_json(rotated.to_json())
    assert again.kek_ids == rotated.kek_ids
    assert len(again.kek_ids) == 2
    assert again.active_kek == rotated.active_kek


def _doc(**changes: Any) -> str:
    doc = json.loads(RING.to_json())
    for key, value in changes.items():
        if value is _DROP:
            del doc[key]
        else:
            doc[key] = value
    return json.dumps(doc)


_DROP = object()
_KEY = base64.b64encode(bytes(32)).decode()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("", "not valid JSON"),
        ("[1, 2, 3]", f"not in the {KEYRING_FORMAT} format"),
        (_doc(format="triage-keyring/0"), f"not in the {KEYRING_FORMAT} format"),
        (_doc(format=_DROP), f"not in the {KEYRING_FORMAT} format"),
        (_doc(keks={}), "holds no key-encryption keys"),
        (_doc(keks=_DROP), "holds no key-encryption keys"),
        (_doc(keks=["kek-1"]), "holds no key-encryption keys"),
        (_doc(keks={"kek-1": "not base64!"}), "'keks.kek-1' is not valid base64"),
        (_doc(keks={"kek-1": 12345}), "'keks.kek-1' is not a base64 string"),
        (
            _doc(keks={"kek-1": base64.b64encode(bytes(16)).decode()}),
            "'keks.kek-1' must be 32 bytes, found 16",
        ),
        (_doc(keks={"kek-1": _KEY}, active_kek=_DROP), "names no active key-encryption key"),
        (_doc(keks={"kek-1": _KEY}, active_kek="kek-2"), "'kek-2' is not among"),
        (_doc(index_key="%%%"), "'index_key' is not valid base64"),
        (_doc(index_key=_DROP), "'index_key' is not a base64 string"),
        (
            _doc(index_key=base64.b64encode(bytes(33)).decode()),
            "'index_key' must be 32 bytes, found 33",
        ),
        (_doc(signing_key=base64.b64encode(b"short").decode()), "'signing_key' must be 32 bytes"),
        (_doc(session_secret=None), "'session_secret' is not a base64 string"),
    ],
)
def test_from_json_refuses_a_malformed_keyring_clearly(text: str, message: str) -> None:
    with pytest.raises(KeyringError, match=message) as refused:
        Keyring.from_json(text)
    # The message never quotes key material.
    doc = json.loads(RING.to_json())
    for secret in [
        doc["index_key"],
        doc["signing_key"],
        doc["session_secret"],
        *doc["keks"].values(),
    ]:
        assert secret not in str(refused.value)


def test_keyring_errors_are_crypto_errors() -> None:
    with pytest.raises(CryptoError):
        Keyring.from_json("nonsense")


# -- sealing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"name": "Айгүл Серікқызы", "phone": "+7 701 123 45 67"},
        {"narrative": "Ол мені ұрды. Он угрожал убить меня. He threatened to kill me. 🙏"},
        {"nested": {"list": [1, 2.5, None, True, "ә"], "empty": {}}, "n": -(2**62)},
        {"narrative": "Қ" * 300_000},
    ],
    ids=["empty", "kazakh", "mixed-scripts", "nested", "large"],
)
def test_seal_and_open_round_trip(payload: dict[str, Any]) -> None:
    blob = _seal(payload)
    assert RING.open(KEY_ID, WRAPPED, CONTEXT, blob) == payload


def test_sealed_blob_shows_no_plaintext() -> None:
    blob = _seal({"name": "Ирина Иванова", "city": "Karaganda"})
    assert "Ирина".encode() not in blob
    assert b"Karaganda" not in blob


def test_sealing_twice_gives_different_blobs() -> None:
    assert _seal({"a": 1}) != _seal({"a": 1})


def test_payloads_of_different_lengths_seal_to_equal_lengths() -> None:
    short = RING.seal_bytes(KEY_ID, WRAPPED, CONTEXT, b"x" * 10)
    longer = RING.seal_bytes(KEY_ID, WRAPPED, CONTEXT, b"x" * 200)
    assert len(short) == len(longer) == OVERHEAD + 256
    as_dicts = [_seal({"narrative": "ы" * n}) for n in (5, 100)]
    assert len(as_dicts[0]) == len(as_dicts[1])


@pytest.mark.parametrize(
    ("size", "bucket"),
    [
        (0, 256),
        (252, 256),  # 4-byte length prefix + 252 fills the smallest bucket
        (253, 512),
        (508, 512),
        (509, 1024),
        (64 * 1024 - 4, 64 * 1024),
        (64 * 1024 - 3, 128 * 1024),
        (200 * 1024, 256 * 1024),  # past 64 KiB the buckets grow by 64 KiB
    ],
)
def test_buckets_grow_by_doubling_then_by_64_kib(size: int, bucket: int) -> None:
    blob = RING.seal_bytes(KEY_ID, WRAPPED, CONTEXT, bytes(size))
    assert len(blob) == OVERHEAD + bucket
    assert RING.open_bytes(KEY_ID, WRAPPED, CONTEXT, blob) == bytes(size)


def test_altering_any_byte_of_a_blob_is_detected() -> None:
    blob = _seal({"name": "Айгүл"})
    for index in range(len(blob)):
        with pytest.raises(SealIntegrityError):
            RING.open(KEY_ID, WRAPPED, CONTEXT, _flip(blob, index))


@pytest.mark.parametrize("cut", [0, 1, 13, 28, 29, 100, -1])
def test_a_truncated_or_extended_blob_is_detected(cut: int) -> None:
    blob = _seal({"name": "Айгүл"})
    with pytest.raises(SealIntegrityError):
        RING.open(KEY_ID, WRAPPED, CONTEXT, blob[:cut])
    with pytest.raises(SealIntegrityError):
        RING.open(KEY_ID, WRAPPED, CONTEXT, blob + b"\x00")


@pytest.mark.parametrize(
    "elsewhere",
    [
        SealContext(table="decision", record_id=CONTEXT.record_id),
        SealContext(table="report", record_id="7d9f0c3a-1111-4222-8333-944455556667"),
        SealContext(table="report", record_id=CONTEXT.record_id, field="attachment"),
        SealContext(table="report", record_id=CONTEXT.record_id, version=2),
    ],
    ids=["other-table", "other-record", "other-field", "other-version"],
)
def test_a_blob_does_not_open_in_another_place(elsewhere: SealContext) -> None:
    blob = _seal({"name": "Айгүл"})
    with pytest.raises(SealIntegrityError, match="does not authenticate"):
        RING.open(KEY_ID, WRAPPED, elsewhere, blob)


def test_a_blob_does_not_open_with_another_records_data_key() -> None:
    other_key = RING.new_data_key("another-key")
    blob = _seal({"name": "Айгүл"})
    with pytest.raises(SealIntegrityError):
        RING.open("another-key", other_key, CONTEXT, blob)


def test_integrity_messages_name_the_place_but_no_content() -> None:
    blob = _seal({"name": "Айгүл Серікқызы"})
    with pytest.raises(SealIntegrityError) as refused:
        RING.open(KEY_ID, WRAPPED, CONTEXT, _flip(blob, 40))
    message = str(refused.value)
    assert CONTEXT.record_id in message
    assert "Айгүл" not in message


# -- data keys ---------------------------------------------------------------------------------


def test_a_tampered_wrapped_key_is_detected() -> None:
    blob = _seal({"a": 1})
    for index in (0, 11, 12, 30, len(WRAPPED.wrapped) - 1):
        tampered = WrappedKey(WRAPPED.kek_id, _flip(WRAPPED.wrapped, index))
        with pytest.raises(SealIntegrityError, match="does not authenticate"):
            RING.open(KEY_ID, tampered, CONTEXT, blob)


@pytest.mark.parametrize("wrapped", [b"", b"\x00" * 5, b"\x00" * 12])
def test_a_truncated_wrapped_key_is_detected(wrapped: bytes) -> None:
    with pytest.raises(SealIntegrityError):
        RING.open(KEY_ID, WrappedKey(WRAPPED.kek_id, wrapped), CONTEXT, _seal({"a": 1}))


def test_a_wrapped_key_is_bound_to_its_key_id() -> None:
    blob = _seal({"a": 1})
    with pytest.raises(SealIntegrityError):
        RING.open("some-other-key-id", WRAPPED, CONTEXT, blob)


def test_a_wrapped_key_is_bound_to_its_kek_id() -> None:
    rotated = RING.with_new_kek()
    relabelled = WrappedKey(rotated.active_kek, WRAPPED.wrapped)
    with pytest.raises(SealIntegrityError):
        rotated.open(KEY_ID, relabelled, CONTEXT, _seal({"a": 1}))


def test_a_wrapped_key_naming_an_unknown_kek_is_key_not_found() -> None:
    blob = _seal({"a": 1})
    with pytest.raises(KeyNotFound, match="kek-19700101-00000000"):
        RING.open(KEY_ID, WrappedKey("kek-19700101-00000000", WRAPPED.wrapped), CONTEXT, blob)
    with pytest.raises(KeyNotFound):
        OTHER_RING.open(KEY_ID, WRAPPED, CONTEXT, blob)


def test_rotation_rewraps_and_keeps_data_readable() -> None:
    blob = _seal({"name": "Ирина Иванова"})
    rotated = RING.with_new_kek()
    assert rotated.active_kek != RING.active_kek
    assert rotated.kek_ids == RING.kek_ids | {rotated.active_kek}
    assert rotated.fingerprint == RING.fingerprint

    rewrapped = rotated.rewrap(KEY_ID, WRAPPED)

    assert rewrapped.kek_id == rotated.active_kek
    assert rewrapped.wrapped != WRAPPED.wrapped
    assert rotated.open(KEY_ID, rewrapped, CONTEXT, blob) == {"name": "Ирина Иванова"}
    assert rotated.open(KEY_ID, WRAPPED, CONTEXT, blob) == {"name": "Ирина Иванова"}

    retired = rotated.without_kek(RING.active_kek)
    assert retired.kek_ids == {rotated.active_kek}
    assert retired.open(KEY_ID, rewrapped, CONTEXT, blob) == {"name": "Ирина Иванова"}
    with pytest.raises(KeyNotFound):
        retired.open(KEY_ID, WRAPPED, CONTEXT, blob)
    with pytest.raises(KeyNotFound):
        RING.open(KEY_ID, rewrapped, CONTEXT, blob)


def test_the_active_kek_cannot_be_retired() -> None:
    with pytest.raises(KeyringError, match="active key-encryption key cannot be retired"):
        RING.without_kek(RING.active_kek)
    with pytest.raises(KeyNotFound):
        RING.without_kek("kek-unknown")


# -- blind indexes -----------------------------------------------------------------------------


def test_blind_index_is_deterministic_and_keyed() -> None:
    token = RING.blind_index("phone", "77011234567")
    assert token == RING.blind_index("phone", "77011234567")
    assert len(token) == 32
    assert int(token, 16) >= 0
    assert "77011234567" not in token
    assert token != RING.blind_index("phone", "77011234568")
    assert token != RING.blind_index("name", "77011234567")
    assert token != OTHER_RING.blind_index("phone", "77011234567")
    assert token == RING.with_new_kek().blind_index("phone", "77011234567")


def test_blind_index_kind_and_value_cannot_be_shifted() -> None:
    assert RING.blind_index("ab", "c") != RING.blind_index("a", "bc")


# -- signatures --------------------------------------------------------------------------------


def test_signatures_verify_only_for_the_signed_data_and_key() -> None:
    data = b"manifest: 42 events, last hash abc"
    signature = RING.sign(data)
    assert verify_signature(RING.public_key_pem(), signature, data)
    assert not verify_signature(RING.public_key_pem(), signature, data + b"!")
    assert not verify_signature(OTHER_RING.public_key_pem(), signature, data)
    assert not verify_signature(RING.public_key_pem(), _flip(signature, 5), data)
    assert not verify_signature(RING.public_key_pem(), b"short", data)


def test_verify_signature_refuses_a_key_that_is_not_ed25519_pem() -> None:
    with pytest.raises(CryptoError, match="not a PEM-encoded key"):
        verify_signature(b"garbage", b"sig", b"data")
    x25519 = (
        X25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(CryptoError, match="not an Ed25519 key"):
        verify_signature(x25519, b"sig", b"data")


# -- properties --------------------------------------------------------------------------------

_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=20,
)


@given(st.binary(max_size=2000))
def test_any_bytes_round_trip(data: bytes) -> None:
    blob = RING.seal_bytes(KEY_ID, WRAPPED, CONTEXT, data)
    assert RING.open_bytes(KEY_ID, WRAPPED, CONTEXT, blob) == data


@given(st.dictionaries(st.text(), _json_values, max_size=8))
def test_any_json_object_round_trips(payload: dict[str, Any]) -> None:
    assert RING.open(KEY_ID, WRAPPED, CONTEXT, _seal(payload)) == payload


@settings(max_examples=200)
@given(data=st.binary(max_size=600), where=st.integers(min_value=0), mask=st.integers(1, 255))
def test_any_single_byte_change_is_detected(data: bytes, where: int, mask: int) -> None:
    blob = RING.seal_bytes(KEY_ID, WRAPPED, CONTEXT, data)
    with pytest.raises(SealIntegrityError):
        RING.open_bytes(KEY_ID, WRAPPED, CONTEXT, _flip(blob, where % len(blob), mask))
