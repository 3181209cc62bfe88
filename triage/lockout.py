"""Per-account lockout: after repeated sign-in failures an account refuses every sign-in for a
while, the delay doubling with each further failure up to a cap.

The count lives on the account row (``User.failed_logins``, ``User.locked_until``), so every
worker and server sees the same one. What must hold:

- a guesser learns nothing: a locked account answers exactly as a wrong password does (the
  password is still checked, so the time taken is the same too), and only the audit log and the
  admin's list of accounts say that it is locked;
- failures refused while the account is locked do not count: a guess during the delay neither
  lengthens it nor brings the next step nearer, so no one outside can push the delay past the
  cap (``TRIAGE_LOCKOUT_MAX_MINUTES``);
- once the delay is over, the right password (and code, where two-step sign-in is on) works and
  clears the count; an admin can lift a lockout at once (audited).

Wrong codes of two-step sign-in count like wrong passwords: a thief with the password still has
to guess the code, and is slowed the same way.

Device cookies (OWASP's "Slow Down Online Guessing Attacks with Device Cookies"): a browser that
presents a valid device cookie for the account (``triage.web.device_cookies``) is a ``Device``
that ``trusts`` it. Such an attempt is not refused by the account's lock, and its failures are
not counted on the account but on the device (by the web layer, which denies the cookie after a
few), so a stranger who keeps the account locked does not keep out its owner on her usual
browser. The account's count is of failures from browsers without its device cookie, and only a
sign-in from such a browser (or an admin) clears it: the owner signing in on her own browser
does not give the stranger a fresh set of guesses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from . import audit
from .config import Settings
from .models import User


@dataclass
class Device:
    """The browser an attempt comes from, as far as the lockout is concerned.

    ``account`` is the id of the account whose valid, not denied device cookie it presented for
    this sign-in (``None``: none, a forged, expired or denied one, or another account's).
    ``failed`` is set when a trusted attempt fails, for the caller to count on the device.
    """

    account: int | None = None
    failed: bool = False
    #: Names the device's own count of failures for the web layer (opaque here).
    name: str = ""

    def trusts(self, user: User) -> bool:
        return self.account is not None and self.account == user.id


@dataclass(frozen=True)
class LockoutRules:
    threshold: int = 5
    first: timedelta = timedelta(minutes=15)
    cap: timedelta = timedelta(hours=4)

    @classmethod
    def from_settings(cls, settings: Settings) -> LockoutRules:
        """``TRIAGE_LOCKOUT_THRESHOLD``, ``…_MINUTES`` and ``…_MAX_MINUTES``."""
        return cls(
            threshold=settings.lockout_threshold,
            first=timedelta(minutes=settings.lockout_minutes),
            cap=timedelta(minutes=max(settings.lockout_max_minutes, settings.lockout_minutes)),
        )


def delay(failures: int, rules: LockoutRules) -> timedelta | None:
    """How long an account with ``failures`` failures in a row stays locked; ``None`` below the
    threshold. The first lock lasts ``rules.first``, each failure after it doubles it, never
    beyond ``rules.cap``."""
    if rules.threshold <= 0 or failures < rules.threshold:
        return None
    doublings = min(failures - rules.threshold, 32)
    longest: timedelta = min(rules.first * (2**doublings), rules.cap)
    return longest


def is_locked(user: User, now: datetime, device: Device | None = None) -> bool:
    """Whether ``user`` refuses a sign-in now; never from a ``device`` that the account trusts."""
    if device is not None and device.trusts(user):
        return False
    return user.locked_until is not None and user.locked_until > now


def record_failure(
    session: Session, user: User, rules: LockoutRules, now: datetime, device: Device | None = None
) -> None:
    """Count a wrong password or code against ``user`` (not while it is locked: see above);
    lock it when the count reaches the threshold, and audit the lock. A failure from a trusted
    ``device`` is marked on it instead, for its own count, and leaves the account's alone."""
    if device is not None and device.trusts(user):
        device.failed = True
        return
    if is_locked(user, now):
        return
    user.failed_logins = (user.failed_logins or 0) + 1
    wait = delay(user.failed_logins, rules)
    if wait is None:
        return
    user.locked_until = now + wait
    audit.append(
        session,
        actor=audit.SYSTEM_ACTOR,
        action="user.locked",
        object_type="user",
        object_id=user.id,
        details={"failures": user.failed_logins, "minutes": int(wait.total_seconds() // 60)},
    )


def record_success(user: User, device: Device | None = None) -> None:
    """A complete sign-in clears the count, unless it came from a trusted ``device`` (see
    above: the count is of the other browsers' failures)."""
    if device is not None and device.trusts(user):
        return
    user.failed_logins = 0
    user.locked_until = None


def record_device_denied(session: Session, user_id: int, failures: int) -> None:
    """Audit a device cookie denied after ``failures`` wrong passwords or codes sent with it:
    from now on that browser is subject to the account's lockout like any other."""
    audit.append(
        session,
        actor=audit.SYSTEM_ACTOR,
        action="user.device_locked",
        object_type="user",
        object_id=user_id,
        details={"failures": failures},
    )


def lift(session: Session, user: User, *, actor: str) -> bool:
    """An admin lifts the lockout and clears the count; ``False`` if there was nothing to lift."""
    if not user.failed_logins and user.locked_until is None:
        return False
    audit.append(
        session,
        actor=actor,
        action="user.unlocked",
        object_type="user",
        object_id=user.id,
        details={"failures": user.failed_logins or 0},
    )
    record_success(user)
    return True
