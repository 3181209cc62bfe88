"""Staff accounts: create, change role or region scope, disable, reset a password, set up and
remove two-step sign-in, set the address alerts are e-mailed to. All audited.

These functions take the session and the acting user's id and return the changed ``User``; the
admin pages and the ``triage create-user`` command both call them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit, lockout, sealed
from .errors import N_, Conflict, InvalidInput, NotFound
from .models import User
from .passwords import MAX_LENGTH, MIN_LENGTH, check_strength
from .two_step import SECRET_FIELD, check_totp, new_totp_secret, totp_secret, verify_totp
from .uow import passwords_of
from .vocab import Region, Role


class WrongPassword(InvalidInput):
    title = N_("That is not your current password.")


MIN_PASSWORD_LENGTH = MIN_LENGTH
MAX_PASSWORD_LENGTH = MAX_LENGTH
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
#: The account payload's key for the address alerts are e-mailed to (``triage.notify``).
EMAIL_FIELD = "email"
MAX_EMAIL_LENGTH = 254
_DOMAIN_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
#: A plain ``local@domain`` address: no display name, no quoting, no spaces or line breaks (it
#: goes into a mail header), a domain of at least two labels.
_EMAIL = re.compile(
    rf"^[a-z0-9.!#$%&'*+/=?^_`{{|}}~-]{{1,64}}@{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})+$",
    re.IGNORECASE | re.ASCII,
)

#: The lockout rules when the caller names none (``TRIAGE_LOCKOUT_*`` defaults).
_LOCKOUT = lockout.LockoutRules()

#: Roles that work with cases and so may be limited to a region.
SCOPED_ROLES = frozenset({Role.CASEWORKER, Role.REVIEWER, Role.SUPERVISOR})


def check_password_policy(password: str, user_inputs: Iterable[str] = ()) -> None:
    """Length, the list of common passwords and zxcvbn's score (``triage.passwords``)."""
    check_strength(password, user_inputs)


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidInput(N_("There is no role '%(role)s'."), role=value) from None


def _region(value: str | None, role: Role) -> str | None:
    if not value:
        return None
    try:
        region = Region(value)
    except ValueError:
        raise InvalidInput(N_("There is no region '%(region)s'."), region=value) from None
    if role not in SCOPED_ROLES:
        raise InvalidInput(N_("Only caseworkers, reviewers and supervisors have a region scope."))
    return region.value


def get(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(N_("There is no such user."))
    return user


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    region: str | None = None,
    actor: str,
) -> User:
    name = username.strip().lower()
    if not _USERNAME.match(name):
        raise InvalidInput(
            N_(
                "A username has 2 to 64 characters: lower-case letters, digits, dot, dash, "
                "underscore."
            )
        )
    if session.scalar(select(User.id).where(func.lower(User.username) == name)) is not None:
        raise Conflict(N_("That username is taken."))
    role_ = _role(role)
    check_password_policy(password, [name])
    user = User(
        username=name,
        password_hash=passwords_of(session).hash(password),
        role=role_.value,
        region=_region(region, role_),
        active=True,
        session_epoch=0,
    )
    session.add(user)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="user.created",
        object_type="user",
        object_id=user.id,
        details={"role": user.role, "region": user.region},
    )
    return user


def update_user(
    session: Session, user: User, *, role: str, region: str | None, active: bool, actor: str
) -> User:
    """Change role, region scope and active flag; any change signs the user out everywhere."""
    if str(user.id) == actor and (not active or role != user.role):
        raise InvalidInput(N_("You cannot disable your own account or change your own role."))
    role_ = _role(role)
    new_region = _region(region, role_)
    changes: dict[str, str | bool | None] = {}
    if user.role != role_.value:
        changes["role_from"], changes["role_to"] = user.role, role_.value
    if user.region != new_region:
        changes["region_from"], changes["region_to"] = user.region, new_region
    if user.active != active:
        changes["active"] = active
    if not changes:
        return user
    user.role, user.region, user.active = role_.value, new_region, active
    user.session_epoch += 1
    audit.append(
        session,
        actor=actor,
        action="user.updated",
        object_type="user",
        object_id=user.id,
        details=changes,
    )
    return user


def set_password(session: Session, user: User, password: str, *, actor: str) -> User:
    """A new password; every existing session of the user ends."""
    check_password_policy(password, [user.username])
    user.password_hash = passwords_of(session).hash(password)
    user.session_epoch += 1
    audit.append(
        session,
        actor=actor,
        action="user.password_changed",
        object_type="user",
        object_id=user.id,
        details={"by_self": str(user.id) == actor},
    )
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.role, User.username)))


def find(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    if user is None:
        raise NotFound(N_("There is no such user."))
    return user


# -- the sealed payload: the TOTP secret and the e-mail address --------------------------------


def _reseal(
    session: Session,
    user: User,
    changes: Mapping[str, str | None],
    *,
    actor: str,
    purpose: str,
) -> None:
    """Seal the account's payload anew with ``changes`` applied (``None`` removes a key), under a
    fresh data key: the old key is shredded, so a secret or address taken out can never be
    opened from this database again. Whatever else the payload holds is kept; it is opened (an
    audited read) only when it holds something besides the keys being changed."""
    held = {SECRET_FIELD: user.totp_enabled or user.totp_pending, EMAIL_FIELD: user.has_email}
    payload: dict[str, Any] = {}
    if user.payload is not None and any(
        present and key not in changes for key, present in held.items()
    ):
        opened = sealed.open_payload(session, user, actor=actor, purpose=purpose)
        payload = {key: value for key, value in opened.items() if key not in changes}
    payload.update({key: value for key, value in changes.items() if value is not None})
    sealed.shred(session, user)
    user.payload = None
    if payload:
        sealed.seal(session, user, payload)
    user.has_email = EMAIL_FIELD in payload


def clean_email(value: str | None) -> str | None:
    """The address in its stored form (domain in lower case), or ``None`` for none; refused if it
    is not a plain ``name@domain`` address. The refusal never repeats the address."""
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(text):
        raise InvalidInput(N_("Enter an e-mail address such as name@example.kz."))
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


def set_email(session: Session, user: User, email: str | None, *, actor: str) -> User:
    """Set, change or remove (``None`` or blank) the address the account's alerts are e-mailed
    to. It is sealed in the account's payload; the audit event says only that it changed."""
    address = clean_email(email)
    if address is None and not user.has_email:
        return user
    _reseal(session, user, {EMAIL_FIELD: address}, actor=actor, purpose="account.email")
    audit.append(
        session,
        actor=actor,
        action="user.email_changed",
        object_type="user",
        object_id=user.id,
        details={"set": address is not None},
    )
    return user


def email_of(session: Session, user: User, *, actor: str, purpose: str) -> str | None:
    """The account's e-mail address, if it has one; opening it is an audited read."""
    if not user.has_email or user.payload is None:
        return None
    address = sealed.open_payload(session, user, actor=actor, purpose=purpose).get(EMAIL_FIELD)
    return str(address) if address else None


# -- two-step sign-in --------------------------------------------------------------------------


def _clear_two_step(session: Session, user: User, *, actor: str) -> None:
    """Shred the secret: its data key goes, so no copy of the database can yield it again (an
    e-mail address beside it is sealed anew under a fresh key)."""
    _reseal(session, user, {SECRET_FIELD: None}, actor=actor, purpose="two-step removal")
    user.totp_enabled = False
    user.totp_pending = False
    user.totp_last_step = None


def start_two_step(session: Session, user: User, *, actor: str) -> None:
    """Seal a new secret into the account, pending until the user confirms it with a code.

    The secret never leaves the server except on the user's own enrolment page; a secret that
    was pending before is shredded and replaced.
    """
    if user.totp_enabled:
        raise Conflict(N_("Two-step sign-in is already on."))
    _reseal(
        session,
        user,
        {SECRET_FIELD: new_totp_secret()},
        actor=actor,
        purpose="two-step enrolment",
    )
    user.totp_pending = True
    audit.append(
        session,
        actor=actor,
        action="user.totp_enrolment_started",
        object_type="user",
        object_id=user.id,
    )


def pending_two_step_secret(session: Session, user: User, *, actor: str) -> str | None:
    """The secret waiting for confirmation, for the enrolment page; ``None`` if none waits."""
    if user.totp_enabled or not user.totp_pending or user.payload is None:
        return None
    return totp_secret(session, user, actor=actor, purpose="two-step enrolment")


def enable_two_step(session: Session, user: User, code: str, *, actor: str) -> User:
    """Turn two-step sign-in on once the user shows a current code from the pending secret.

    Every other session of the account ends: they began with the password alone.
    """
    secret = pending_two_step_secret(session, user, actor=actor)
    if secret is None:
        raise Conflict(N_("Start setting up two-step sign-in first."))
    step = verify_totp(secret, code, last_step=user.totp_last_step)
    if step is None:
        raise InvalidInput(
            N_("That code is not right. Check the app's clock and try the next code.")
        )
    user.totp_enabled = True
    user.totp_pending = False
    user.totp_last_step = step
    user.session_epoch += 1
    audit.append(
        session,
        actor=actor,
        action="user.totp_enabled",
        object_type="user",
        object_id=user.id,
    )
    return user


def disable_two_step(session: Session, user: User, code: str, *, actor: str) -> User:
    """Turn the user's own two-step sign-in off; the view has checked the password already."""
    if not user.totp_enabled:
        raise Conflict(N_("Two-step sign-in is not on."))
    if not check_totp(session, user, code, actor=actor, purpose="two-step removal"):
        raise InvalidInput(N_("That code is not right."))
    _clear_two_step(session, user, actor=actor)
    user.session_epoch += 1
    audit.append(
        session,
        actor=actor,
        action="user.totp_disabled",
        object_type="user",
        object_id=user.id,
    )
    return user


def reset_two_step(session: Session, user: User, *, actor: str) -> User:
    """An admin removes a user's two-step sign-in (a lost phone); the user's sessions end and
    they sign in with the password alone until they set it up again."""
    if str(user.id) == actor:
        raise InvalidInput(N_("Change your own two-step sign-in on your account page."))
    if not user.totp_enabled and not user.totp_pending:
        raise Conflict(N_("This account has no two-step sign-in to reset."))
    was_enabled = user.totp_enabled
    _clear_two_step(session, user, actor=actor)
    user.session_epoch += 1
    audit.append(
        session,
        actor=actor,
        action="user.totp_reset",
        object_type="user",
        object_id=user.id,
        details={"was_enabled": was_enabled},
    )
    return user


# -- signing in --------------------------------------------------------------------------------


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    lockout_rules: lockout.LockoutRules = _LOCKOUT,
    device: lockout.Device | None = None,
) -> User | None:
    """The active, unlocked user with these credentials, or ``None``; a failure is audited with
    its reason, and a wrong password counts towards the account's lockout (``triage.lockout``).
    A locked account gets ``None`` like a wrong password, its password checked all the same.
    A ``device`` the account trusts (its device cookie) is not refused by the lock, and its
    failures are marked on it instead of counted on the account.

    Success is not audited here: the caller records the sign-in (``record_login``), or, for an
    account with two-step sign-in, asks for the code first (``record_code_requested``).
    """
    user = session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    ok = passwords_of(session).check(user, password)
    now = datetime.now(UTC)
    locked = user is not None and lockout.is_locked(user, now, device)
    if user is not None and ok and user.active and not locked:
        return user
    if user is None:
        reason = "unknown_user"
    elif locked:
        reason = "locked"
    elif not ok:
        reason = "wrong_password"
        lockout.record_failure(session, user, lockout_rules, now, device)
    else:
        reason = "disabled"
    record_login_failure(session, user, reason)
    return None


def record_login_failure(session: Session, user: User | None, reason: str) -> None:
    audit.append(
        session,
        actor=audit.SYSTEM_ACTOR,
        action="auth.login_failed",
        object_type="user",
        object_id=None if user is None else user.id,
        details={"reason": reason},
    )


def record_code_requested(session: Session, user: User) -> None:
    audit.append(
        session,
        actor=audit.SYSTEM_ACTOR,
        action="auth.code_requested",
        object_type="user",
        object_id=user.id,
    )


def pending_account(session: Session, user_id: int, epoch: int) -> User | None:
    """The account whose password was right and whose code is awaited, if it has not changed
    since (signed out everywhere, disabled, two-step removed)."""
    user = session.get(User, user_id)
    if user is None or not user.active or user.session_epoch != epoch or not user.totp_enabled:
        return None
    return user


def sign_in_with_code(
    session: Session,
    user_id: int,
    epoch: int,
    code: str,
    *,
    lockout_rules: lockout.LockoutRules = _LOCKOUT,
    device: lockout.Device | None = None,
) -> User | None:
    """The second step: the pending account if ``code`` is its current, unused code (``device``
    as for ``authenticate``).

    A wrong code is audited and counted towards the lockout like a wrong password; a locked
    account gets ``None`` without a check; an account that changed since the password step
    (signed out everywhere, disabled, two-step removed) gives ``None`` without a check.
    """
    user = pending_account(session, user_id, epoch)
    if user is None:
        return None
    now = datetime.now(UTC)
    if lockout.is_locked(user, now, device):
        record_login_failure(session, user, "locked")
        return None
    if check_totp(session, user, code, actor=str(user.id), purpose="sign-in"):
        record_login(session, user, device)
        return user
    lockout.record_failure(session, user, lockout_rules, now, device)
    record_login_failure(session, user, "wrong_code")
    return None


def record_login(session: Session, user: User, device: lockout.Device | None = None) -> None:
    """A complete sign-in; the event says whether it came from a browser the account trusts
    (its device cookie), which may sign in while the account is locked to others."""
    user.last_login_at = datetime.now(UTC)
    lockout.record_success(user, device)
    trusted = device is not None and device.trusts(user)
    audit.append(
        session,
        actor=str(user.id),
        action="auth.login",
        object_type="user",
        object_id=user.id,
        details={"device": "known"} if trusted else None,
    )


def record_logout(session: Session, user_id: int) -> None:
    audit.append(
        session, actor=str(user_id), action="auth.logout", object_type="user", object_id=user_id
    )
