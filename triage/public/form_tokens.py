"""The public form's token: its CSRF guard, time check and replay guard in one, without a cookie.

A token is ``<nonce>.<issued>.<mac>``: 16 random bytes, the second it was issued, and an
HMAC-SHA256 of both under a key derived from the instance's secret. The form carries it in a
hidden field; the server checks the MAC (a form made elsewhere has none), the age (too young: a
bot filled the form faster than a person can; too old: the form has expired) and, in the same
transaction as the filing, records the nonce as used, so the same form sent twice files once.
Nothing of it identifies the reporter.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..errors import N_, Conflict, InvalidInput
from ..models import PublicFormToken

_CONTEXT = b"triage/public-form-token/v1"


class BadToken(InvalidInput):
    """The token is missing, malformed or not ours: the form was not one this server gave."""

    status = HTTPStatus.BAD_REQUEST


class TooFast(InvalidInput):
    """Sent sooner after the form was opened than a person could fill it in."""


class Expired(InvalidInput):
    """The form was opened too long ago."""


class Replayed(Conflict):
    """This form was sent already."""


@dataclass(frozen=True)
class Checked:
    nonce: str
    issued_at: datetime


def _key(secret: bytes) -> bytes:
    return hmac.new(secret, _CONTEXT, hashlib.sha256).digest()


def _mac(secret: bytes, body: str) -> str:
    digest = hmac.new(_key(secret), body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue(secret: bytes, *, now: datetime) -> str:
    nonce = secrets.token_urlsafe(16)
    body = f"{nonce}.{int(now.timestamp())}"
    return f"{body}.{_mac(secret, body)}"


def check(
    secret: bytes,
    token: str | None,
    *,
    now: datetime,
    min_age: timedelta,
    max_age: timedelta,
) -> Checked:
    """The token's nonce and time, if it is ours, old enough and young enough."""
    parts = (token or "").split(".")
    if len(parts) != 3 or not parts[1].isdigit() or len(token or "") > 200:
        raise BadToken(N_("The form was out of date or sent from somewhere else."))
    nonce, issued, mac = parts
    if not hmac.compare_digest(mac, _mac(secret, f"{nonce}.{issued}")):
        raise BadToken(N_("The form was out of date or sent from somewhere else."))
    issued_at = datetime.fromtimestamp(int(issued), UTC)
    age = now - issued_at
    if age < min_age:
        raise TooFast(N_("The form was sent very quickly. Check it and send it again."))
    if age > max_age:
        raise Expired(N_("The form was open for a long time. Check it and send it again."))
    return Checked(nonce, issued_at)


def use(session: Session, checked: Checked, *, now: datetime, max_age: timedelta) -> None:
    """Record the nonce as used (in the caller's transaction); a second use is ``Replayed``.

    Used tokens older than a form's life are deleted here: past it they are refused as expired.
    """
    session.execute(delete(PublicFormToken).where(PublicFormToken.expires_at < now))
    if session.scalar(select(PublicFormToken.nonce).where(PublicFormToken.nonce == checked.nonce)):
        raise Replayed(N_("This form was sent already; it was received once."))
    session.add(
        PublicFormToken(nonce=checked.nonce, used_at=now, expires_at=checked.issued_at + max_age)
    )
    session.flush()
