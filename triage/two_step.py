"""Two-step sign-in codes (TOTP, RFC 6238): the secret sealed in the account, codes checked
within a step either side of now, and each code accepted once."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable

import pyotp
from sqlalchemy.orm import Session

from . import sealed
from .models import User

TOTP_ISSUER = "triage"
TOTP_PERIOD = 30
#: Steps either side of now that a code may belong to (pyotp's ``valid_window``): a phone's
#: clock may be half a minute off.
TOTP_WINDOW = 1
#: The clock codes and pending sign-ins are checked against; tests set it.
clock: Callable[[], float] = time.time
#: The account payload's key for the secret (the payload may hold an e-mail address beside it).
SECRET_FIELD = "totp_secret"  # noqa: S105 (the payload key, not a secret)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (from a QR code or a link)."""
    return pyotp.TOTP(secret, interval=TOTP_PERIOD).provisioning_uri(
        name=username, issuer_name=TOTP_ISSUER
    )


def group_secret(secret: str) -> str:
    """The secret in groups of four, as people type it into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def verify_totp(secret: str, code: str, *, last_step: int | None) -> int | None:
    """``totp_step`` now."""
    return totp_step(secret, code, last_step=last_step, at=clock())


def totp_step(secret: str, code: str, *, last_step: int | None, at: float) -> int | None:
    """The time step that ``code`` is right for, within ``TOTP_WINDOW`` steps of ``at``, or
    ``None``. A step at or before ``last_step`` is refused: each code works once."""
    typed = "".join(code.split())
    if len(typed) != 6 or not typed.isascii() or not typed.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_PERIOD)
    now = int(at // TOTP_PERIOD)
    for step in range(now - TOTP_WINDOW, now + TOTP_WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), typed):
            return step
    return None


def has_secret(user: User) -> bool:
    """Whether the account's payload holds a TOTP secret, pending or in force (its flags say)."""
    return user.payload is not None and (user.totp_enabled or user.totp_pending)


def totp_secret(session: Session, user: User, *, actor: str, purpose: str) -> str:
    """The account's TOTP secret; opening it is audited like every sealed read."""
    payload = sealed.open_payload(session, user, actor=actor, purpose=purpose)
    secret: str = payload[SECRET_FIELD]
    return secret


def check_totp(session: Session, user: User, code: str, *, actor: str, purpose: str) -> bool:
    """Whether ``code`` is the account's current code and was not used before; a right code's
    time step is stored, so it cannot be used again."""
    if not has_secret(user):
        return False
    secret = totp_secret(session, user, actor=actor, purpose=purpose)
    step = verify_totp(secret, code, last_step=user.totp_last_step)
    if step is None:
        return False
    user.totp_last_step = step
    return True
