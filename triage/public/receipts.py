"""Receipts: the one thing a public reporter keeps, shown once and never stored.

A receipt is 36 characters of Crockford's base32 in nine groups of four
(``7K3Q-M9XD-…``): the first two groups are a random **id part** (40 bits), the other seven the
**secret part** (140 bits). The database keeps

- ``lookup``: the keyring's blind index (HMAC-SHA256 under the index key) of the id part, so a
  lookup is one indexed row, not a scan of every receipt's hash; and a copy of the database
  without the keyring cannot even tell which row a receipt would name;
- ``secret_hash``: Argon2id of the whole receipt (``triage.passwords``).

The id part is random and independent of the secret, so knowing it (or the lookup key, or the
keyring) helps no one guess the secret: checking a guess costs one Argon2id, offline as online.
A lost receipt cannot be recovered: nothing stored can give it back.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..crypto import Keyring
from ..models import PublicReceipt, Report, utcnow
from ..passwords import Passwords

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: no I, L, O, U
ID_CHARS = 8
SECRET_CHARS = 28
GROUP = 4
#: The blind-index kind of the lookup key (never a report's identifying value).
LOOKUP_KIND = "public_receipt"
#: What readers confuse, read as Crockford reads them.
_CONFUSABLE = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})


@dataclass(frozen=True)
class Receipt:
    """A receipt as the reporter is shown it: ``text`` is all she needs to come back."""

    id_part: str
    secret_part: str

    @property
    def text(self) -> str:
        whole = self.id_part + self.secret_part
        return "-".join(whole[i : i + GROUP] for i in range(0, len(whole), GROUP))

    @property
    def normalised(self) -> str:
        return self.id_part + self.secret_part


def new_receipt() -> Receipt:
    chars = "".join(secrets.choice(ALPHABET) for _ in range(ID_CHARS + SECRET_CHARS))
    return Receipt(chars[:ID_CHARS], chars[ID_CHARS:])


def parse(typed: str) -> Receipt | None:
    """The receipt as typed (any case, spaces or dashes, O for 0), or ``None`` if it cannot be
    one (wrong length or characters)."""
    cleaned = "".join(c for c in typed.upper() if not c.isspace() and c != "-")
    cleaned = cleaned.translate(_CONFUSABLE)
    if len(cleaned) != ID_CHARS + SECRET_CHARS or any(c not in ALPHABET for c in cleaned):
        return None
    return Receipt(cleaned[:ID_CHARS], cleaned[ID_CHARS:])


def lookup_key(ring: Keyring, receipt: Receipt) -> str:
    return ring.blind_index(LOOKUP_KIND, receipt.id_part)


def store(
    session: Session, report: Report, receipt: Receipt, *, ring: Keyring, passwords: Passwords
) -> PublicReceipt:
    """Keep ``receipt``'s lookup key and slow hash for ``report``."""
    row = PublicReceipt(
        report_id=report.id,
        lookup=lookup_key(ring, receipt),
        secret_hash=passwords.hash(receipt.normalised),
    )
    session.add(row)
    session.flush()
    return row


def unique_receipt(session: Session, ring: Keyring) -> Receipt:
    """A new receipt whose id part no stored receipt has (40 random bits rarely collide; the
    unique lookup column would refuse it anyway)."""
    while True:
        receipt = new_receipt()
        found = session.scalar(
            select(PublicReceipt.id).where(PublicReceipt.lookup == lookup_key(ring, receipt))
        )
        if found is None:
            return receipt


def find(
    session: Session, typed: str, *, ring: Keyring, passwords: Passwords
) -> PublicReceipt | None:
    """The stored receipt ``typed`` is, or ``None``. Every answer costs one Argon2id check, found
    or not, so timing does not tell an unknown id part from a wrong secret."""
    receipt = parse(typed)
    row = (
        session.scalar(
            select(PublicReceipt).where(PublicReceipt.lookup == lookup_key(ring, receipt))
        )
        if receipt is not None
        else None
    )
    candidate = receipt.normalised if receipt is not None else typed
    if not passwords.matches(row.secret_hash if row is not None else None, candidate):
        return None
    assert row is not None
    row.last_used_at = utcnow()
    return row
