"""The webhook's signature: ``X-Triage-Signature: t=<unix time>,v1=<hex HMAC-SHA256>`` over
``"<t>." + body`` with the shared secret. Pure; a receiver in Python can use ``verify`` itself,
and docs/alerts.md says how to check it in any language.

The time is inside what is signed, so a receiver that refuses signatures older than a few
minutes refuses a replayed request, and one that remembers the alert ids it has seen refuses a
replay within those minutes too.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Triage-Signature"
DELIVERY_HEADER = "X-Triage-Delivery"
SCHEME = "v1"
#: How far a signature's time may be from the receiver's clock (either way), in seconds.
TOLERANCE_SECONDS = 300


def mac(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The header's value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    return f"t={timestamp},{SCHEME}={mac(secret, timestamp, body)}"


def parse(header: str) -> tuple[int, list[str]] | None:
    """The time and the ``v1`` signatures of a header, or ``None`` if it is malformed. More than
    one ``v1`` may be given (while a secret is being changed); unknown schemes are ignored."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            return None
        if key == "t":
            if timestamp is not None or not value.isdigit() or len(value) > 12:
                return None
            timestamp = int(value)
        elif key == SCHEME:
            signatures.append(value)
    if timestamp is None or not signatures:
        return None
    return timestamp, signatures


def verify(
    secret: str,
    header: str | None,
    body: bytes,
    *,
    now: int,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """Whether ``header`` is a signature of ``body`` with ``secret`` made within ``tolerance``
    seconds of ``now``. Compares in constant time."""
    parsed = parse(header or "")
    if parsed is None:
        return False
    timestamp, signatures = parsed
    if abs(now - timestamp) > tolerance:
        return False
    wanted = mac(secret, timestamp, body)
    return any(hmac.compare_digest(wanted, given) for given in signatures)


__all__ = ["DELIVERY_HEADER", "SIGNATURE_HEADER", "mac", "parse", "sign", "verify"]
