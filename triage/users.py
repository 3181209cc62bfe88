"""Staff accounts: create, change role or region scope, disable, reset a password. All audited.

These functions take the session and the acting user's id and return the changed ``User``; the
admin pages and the ``triage create-user`` command both call them.
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit
from .auth import hash_password
from .errors import Conflict, InvalidInput, NotFound
from .models import User
from .vocab import Region, Role

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")

#: Roles that work with cases and so may be limited to a region.
SCOPED_ROLES = frozenset({Role.CASEWORKER, Role.REVIEWER, Role.SUPERVISOR})


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"A password may have at most {MAX_PASSWORD_LENGTH} characters.")


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidInput(f"There is no role {value!r}.") from None


def _region(value: str | None, role: Role) -> str | None:
    if not value:
        return None
    try:
        region = Region(value)
    except ValueError:
        raise InvalidInput(f"There is no region {value!r}.") from None
    if role not in SCOPED_ROLES:
        raise InvalidInput("Only caseworkers, reviewers and supervisors have a region scope.")
    return region.value


def get(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("There is no such user.")
    return user


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    region: str | None = None,
    actor: str,
    hasher: PasswordHasher | None = None,
) -> User:
    name = username.strip().lower()
    if not _USERNAME.match(name):
        raise InvalidInput(
            "A username has 2 to 64 characters: lower-case letters, digits, dot, dash, underscore."
        )
    if session.scalar(select(User.id).where(func.lower(User.username) == name)) is not None:
        raise Conflict("That username is taken.")
    role_ = _role(role)
    check_password_policy(password)
    user = User(
        username=name,
        password_hash=hash_password(password, hasher),
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
        raise InvalidInput("You cannot disable your own account or change your own role.")
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
    check_password_policy(password)
    user.password_hash = hash_password(password)
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
        raise NotFound("There is no such user.")
    return user
