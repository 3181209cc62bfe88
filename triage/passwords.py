"""Password hashing with Argon2id, at the cost the settings give.

Checking costs the same whether or not the account exists, so timing does not tell which
usernames are real.
"""

from __future__ import annotations

import contextlib
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .config import Settings
from .models import User


class Passwords:
    def __init__(self, hasher: PasswordHasher) -> None:
        self._hasher = hasher
        self._dummy: str | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Passwords:
        return cls(
            PasswordHasher(
                time_cost=settings.argon2_time_cost,
                memory_cost=settings.argon2_memory_kib,
                parallelism=settings.argon2_parallelism,
            )
        )

    @classmethod
    def default(cls) -> Passwords:
        return cls.from_settings(Settings())

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def check(self, user: User | None, password: str) -> bool:
        """Whether ``password`` is ``user``'s; rehashes it in place if the cost has changed."""
        if user is None:
            with contextlib.suppress(VerificationError, InvalidHashError):
                self._hasher.verify(self._dummy_hash(), password)
            return False
        try:
            self._hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        if self._hasher.check_needs_rehash(user.password_hash):
            user.password_hash = self._hasher.hash(password)
        return True

    def _dummy_hash(self) -> str:
        # Made on first use: commands need not pay for it at start-up.
        with self._lock:
            if self._dummy is None:
                self._dummy = self._hasher.hash("timing equaliser")
            return self._dummy
