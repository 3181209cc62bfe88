"""Device cookies: a stranger's guesses do not lock an account's owner out of the browser she
signs in from (OWASP, "Slow Down Online Guessing Attacks with Device Cookies").

At each complete sign-in the browser gets the cookie ``triage_device``: for each account signed
in from it lately (the last few), a token ``<account id>.<nonce>.<issued>.<mac>``, the MAC an
HMAC-SHA256 under a key derived from the app's secret (``TRIAGE_SECRET_KEY`` or the keyring's)
of the account id, the account's username in lower case (which is not in the cookie), the nonce
and the time of issue. It names no person: an id, random bytes, a time. What must hold:

- a token lets a sign-in past the account's lockout (``triage.lockout.Device``) only for the
  username it was made for and the account of that id, with a valid MAC, within
  ``TRIAGE_DEVICE_COOKIE_DAYS`` of its issue, and while it is not denied;
- wrong passwords or codes sent with a trusted token are counted on the token, in the limit
  storage (``TRIAGE_RATELIMIT_STORAGE_URL``: every worker and server sees one count); at
  ``TRIAGE_DEVICE_COOKIE_FAILURES`` it is denied for the rest of its life, audited
  (``user.device_locked``), and its browser is subject to the lockout like any other: a stolen
  cookie buys a few guesses, no more;
- a failed sign-in answers the same 401 whatever the cookie: nothing is set or removed then.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import time

from flask import Response, current_app, g, request
from limits.storage import Storage, storage_from_string
from werkzeug.wrappers import Response as WerkzeugResponse

from .. import lockout
from ..models import User
from .deps import settings, unit_of_work

COOKIE = "triage_device"
#: The cookie is sent to the sign-in pages only (``/login`` and ``/login/code``).
PATH = "/login"
#: Accounts one browser keeps a token for (a shared desk in a crisis centre has a few).
MAX_TOKENS = 5
#: A token's time of issue may be this far ahead of the server's clock (another server's).
_SKEW_SECONDS = 300
_TOKEN = re.compile(
    r"^([1-9][0-9]{0,18})\.([A-Za-z0-9_-]{22})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$"
)
_STORE = "triage.device_cookie_store"
_SEEN = "triage_device_seen"

log = logging.getLogger(__name__)


def _store() -> Storage:
    """A ``limits`` storage on the app's own limit storage URI: the same counters every worker
    shares (the database's ``rate_limit`` table by default, Redis in production)."""
    store = current_app.extensions.get(_STORE)
    if store is None:
        store = storage_from_string(current_app.config["RATELIMIT_STORAGE_URI"])
        current_app.extensions[_STORE] = store
    if not isinstance(store, Storage):  # an asyncio storage: triage configures none
        raise TypeError(f"device cookies need a synchronous limits storage, not {store!r}")
    return store


def _lifetime() -> int:
    return settings().device_cookie_days * 86400


def _limit() -> int:
    return max(settings().device_cookie_failures, 1)


def _counter(nonce: str) -> str:
    return f"device-cookie:{nonce}"


def _mac(account: int, username: str, nonce: str, issued: int) -> str:
    key = hmac.new(
        str(current_app.secret_key).encode("utf-8"), b"triage device cookie v1", hashlib.sha256
    ).digest()
    message = f"{account}\n{username.strip().lower()}\n{nonce}\n{issued}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _tokens() -> list[str]:
    raw = request.cookies.get(COOKIE, "")
    return [token for token in raw[: 120 * MAX_TOKENS].split("~") if token][:MAX_TOKENS]


def _valid(token: str, username: str, now: float) -> tuple[int, str] | None:
    """(account id, nonce) of a well-formed token made for ``username``, not expired."""
    match = _TOKEN.match(token)
    if match is None:
        return None
    account, nonce, issued = int(match[1]), match[2], int(match[3])
    if not now - _lifetime() < issued <= now + _SKEW_SECONDS:
        return None
    if not hmac.compare_digest(match[4], _mac(account, username, nonce, issued)):
        return None
    return account, nonce


def recognise(username: str) -> lockout.Device:
    """The device this request's browser is for the account named ``username``: trusted when
    it presents a valid token made for that name that is not denied (else an unknown device).

    The same object for one request and name, so that the sign-in limit's key and the view see
    one device (and a failure marked on it by the service)."""
    typed = username.strip().lower()
    seen = g.get(_SEEN)
    if seen is not None and seen[0] == typed:
        device: lockout.Device = seen[1]
        return device
    device = lockout.Device()
    if settings().device_cookie_days > 0 and typed:
        now = time.time()
        for token in _tokens():
            found = _valid(token, typed, now)
            if found is None:
                continue
            try:
                denied = _store().get(_counter(found[1])) >= _limit()
            except Exception:  # the counters cannot be read: trust nothing, lock as usual
                log.warning("device cookie counters unavailable", exc_info=True)
                denied = True
            if not denied:
                device = lockout.Device(account=found[0], name=found[1])
            break
    g.setdefault(_SEEN, (typed, device))
    return device


def count_failure(device: lockout.Device) -> None:
    """After a failed sign-in (outside its transaction): a failure marked on a trusted device
    counts on its token; at the limit the token is denied, and that is audited."""
    if not device.failed or device.account is None:
        return
    failures = _store().incr(_counter(device.name), _lifetime())
    if failures == _limit():
        with unit_of_work().begin() as session:
            lockout.record_device_denied(session, device.account, failures)


def issue(response: Response | WerkzeugResponse, user: User) -> None:
    """A complete sign-in: a fresh token for ``user`` (its failures counted anew), in front of
    the browser's tokens for other accounts."""
    lifetime = _lifetime()
    if lifetime <= 0:
        return
    nonce = secrets.token_urlsafe(16)
    issued = int(time.time())
    mine = f"{user.id}.{nonce}.{issued}.{_mac(user.id, user.username, nonce, issued)}"
    others = [t for t in _tokens() if _TOKEN.match(t) and not t.startswith(f"{user.id}.")]
    response.set_cookie(
        COOKIE,
        "~".join([mine, *others][:MAX_TOKENS]),
        max_age=lifetime,
        path=PATH,
        secure=settings().secure_cookies or request.is_secure,
        httponly=True,
        samesite="Strict",
    )
