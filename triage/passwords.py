"""Passwords: how strong a new one must be, and hashing with Argon2id at the settings' cost.

``check_strength`` refuses a new password that is short, on the shipped list of common and
breached passwords (``common_passwords.txt``, made offline by ``scripts/make-common-passwords``),
or that zxcvbn scores below 3 given the account's own words; its refusal carries zxcvbn's advice
as the project's own marked messages, so that it is shown in the reader's language.

Checking costs the same whether or not the account exists, so timing does not tell which
usernames are real.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterable
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn  # type: ignore[import-untyped]

from .config import Settings
from .errors import N_, InvalidInput
from .models import User

MIN_LENGTH = 12
MAX_LENGTH = 1024
#: zxcvbn's score (0-4) a new password needs: 3 is "safely unguessable" (about 10^8 guesses and
#: more), out of reach of an online attack and costly offline against Argon2id.
MIN_SCORE = 3
#: zxcvbn reads at most this many characters (its own limit); the rest only add strength.
_ZXCVBN_MAX = 72


class WeakPassword(InvalidInput):
    title = N_("This password is too easy to guess.")

    def __init__(self, message: str = "", *, hints: tuple[str, ...] = ()) -> None:
        self.hints = hints  # before the base builds the English text from them
        super().__init__(message)


#: zxcvbn's advice (its English strings) → the project's marked messages, translated when shown.
#: Advice not listed here is left out rather than shown in English.
ADVICE: dict[str, str] = {
    'Repeats like "aaa" are easy to guess.': N_('Repeats like "aaa" are easy to guess.'),
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': N_(
        'Repeats like "abcabcabc" are only slightly harder to guess than "abc".'
    ),
    "Straight rows of keys are easy to guess.": N_("Straight rows of keys are easy to guess."),
    "Short keyboard patterns are easy to guess.": N_("Short keyboard patterns are easy to guess."),
    'Sequences like "abc" or "6543" are easy to guess.': N_(
        'Sequences like "abc" or "6543" are easy to guess.'
    ),
    "Recent years are easy to guess.": N_("Recent years are easy to guess."),
    "Dates are often easy to guess.": N_("Dates are often easy to guess."),
    "This is a top-10 common password.": N_("This is one of the most common passwords."),
    "This is a top-100 common password.": N_("This is one of the most common passwords."),
    "This is a very common password.": N_("This is a very common password."),
    "This is similar to a commonly used password.": N_(
        "This is similar to a commonly used password."
    ),
    "A word by itself is easy to guess.": N_("A word by itself is easy to guess."),
    "Names and surnames by themselves are easy to guess.": N_(
        "Names and surnames are easy to guess."
    ),
    "Common names and surnames are easy to guess.": N_("Names and surnames are easy to guess."),
    "Add another word or two. Uncommon words are better.": N_(
        "Add another word or two. Uncommon words are better."
    ),
    "Use a few words, avoid common phrases.": N_("Use a few words, avoid common phrases."),
    "Use a longer keyboard pattern with more turns.": N_(
        "Avoid keyboard patterns, or make them much longer."
    ),
    "Avoid repeated words and characters.": N_("Avoid repeated words and characters."),
    "Avoid sequences.": N_("Avoid sequences."),
    "Avoid recent years.": N_("Avoid years and dates, above all your own."),
    "Avoid years that are associated with you.": N_("Avoid years and dates, above all your own."),
    "Avoid dates and years that are associated with you.": N_(
        "Avoid years and dates, above all your own."
    ),
    "Capitalization doesn't help very much.": N_("Capital letters do not help much."),
    "All-uppercase is almost as easy to guess as all-lowercase.": N_(
        "Capital letters do not help much."
    ),
    "Reversed words aren't much harder to guess.": N_(
        "A word written backwards is hardly harder to guess."
    ),
    "Predictable substitutions like '@' instead of 'a' don't help very much.": N_(
        "Predictable substitutions like '@' for 'a' do not help much."
    ),
}
_ON_THE_LIST = N_("This password is on the list of common and breached passwords.")
_OWN_WORDS = N_("Do not build the password from your username or e-mail address.")
_LONGER = N_("A long phrase of several uncommon words is both strong and easy to remember.")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list, case-folded: read once per process."""
    text = resources.files("triage").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(
        line.casefold() for line in text.splitlines() if line and not line.startswith("#")
    )


def check_strength(password: str, user_inputs: Iterable[str] = ()) -> None:
    """Refuse a new password that is too short or long, common, or easy to guess.

    ``user_inputs`` are the account's own words (username, e-mail address): a password built
    from them is weak for that account. Raises ``InvalidInput`` or ``WeakPassword`` (whose
    ``hints`` say how to do better); returns nothing when the password will do.
    """
    if len(password) < MIN_LENGTH:
        raise InvalidInput(N_("A password needs at least %(n)d characters."), n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        raise InvalidInput(N_("A password may have at most %(n)d characters."), n=MAX_LENGTH)
    if password.strip().casefold() in common_passwords():
        raise WeakPassword(_ON_THE_LIST, hints=(_LONGER,))
    words = [w for w in (word.strip().casefold() for word in user_inputs) if w]
    words += [part for w in words if "@" in w for part in w.replace("@", ".").split(".") if part]
    result = zxcvbn(password[:_ZXCVBN_MAX], user_inputs=words)
    if int(result["score"]) >= MIN_SCORE:
        return
    feedback = result["feedback"]
    hints: list[str] = []
    if any(m.get("dictionary_name") == "user_inputs" for m in result["sequence"]):
        hints.append(_OWN_WORDS)
    for advice in [feedback.get("warning") or "", *feedback.get("suggestions", [])]:
        hint = ADVICE.get(advice)
        if hint and hint not in hints:
            hints.append(hint)
    raise WeakPassword(hints=tuple(hints or [_LONGER]))


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

    def matches(self, stored: str | None, secret: str) -> bool:
        """Whether ``secret`` is the one ``stored`` hashes (a receipt's, say); with nothing
        stored the check costs the same, so timing does not tell whether there was a hash."""
        try:
            self._hasher.verify(stored or self._dummy_hash(), secret)
        except (VerificationError, InvalidHashError):
            return False
        return stored is not None

    def _dummy_hash(self) -> str:
        # Made on first use: commands need not pay for it at start-up.
        with self._lock:
            if self._dummy is None:
                self._dummy = self._hasher.hash("timing equaliser")
            return self._dummy
