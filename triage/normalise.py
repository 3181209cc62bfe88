"""Normal forms of identifying values, so that blind indexes match what people mean.

Pure functions. A name typed in Cyrillic, in Kazakh Latin or in an English transliteration, with
any case, spacing or word order, reduces to one skeleton; a phone number to its digits with the
country code; a URL to its scheme-less canonical form. Linking uses exact matches of keyed hashes
of these forms (see ``Keyring.blind_index``), never the plaintext.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from urllib.parse import parse_qsl, urlencode, urlsplit

_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "sh", "ъ": "", "ы": "i", "ь": "", "э": "e", "ю": "iu",
    "я": "ia",
    # Kazakh letters beyond the Russian alphabet
    "ә": "a", "ғ": "g", "қ": "k", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "і": "i",
    # Ukrainian and Belarusian letters that turn up in names
    "ї": "i", "є": "e", "ў": "u", "ґ": "g",
}  # fmt: skip

# Kazakh Latin letters that stand for a digraph or another letter in other spellings: the 2021
# alphabet's, and the 2018 alphabet's "ý" for "у" (its accent alone would leave a "y", read as "ы").
_LATIN_SPECIAL = {
    "ş": "sh", "ç": "ch", "ı": "i", "ğ": "g", "ñ": "n", "ä": "a", "ö": "o", "ü": "u", "ý": "u",
}  # fmt: skip

# Spelling variants of one sound, applied to the Latin skeleton in this order.
_LATIN_VARIANTS = (
    ("dzh", "zh"),
    ("kh", "h"),
    ("j", "zh"),
    ("y", "i"),
    ("w", "v"),
    ("x", "ks"),
    ("q", "k"),
)

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_REPEATS = re.compile(r"(.)\1+")
_SPACES = re.compile(r"\s+")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def text(value: str) -> str:
    """Case-folded, NFKC, whitespace collapsed: the base form of any free text."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", value).casefold()).strip()


def _skeleton(word: str) -> str:
    out = []
    for ch in word:
        if ch in _CYRILLIC:
            out.append(_CYRILLIC[ch])
        elif ch in _LATIN_SPECIAL:
            out.append(_LATIN_SPECIAL[ch])
        else:
            out.append(ch)
    latin = unicodedata.normalize("NFKD", "".join(out))
    latin = "".join(c for c in latin if not unicodedata.combining(c))
    latin = _NON_ALNUM.sub("", latin)
    for variant, canonical in _LATIN_VARIANTS:
        latin = latin.replace(variant, canonical)
    return _REPEATS.sub(r"\1", latin)


def name(value: str) -> str:
    """A person's name as a script-independent, order-independent skeleton.

    "Айгүл Серікқызы", "serikkyzy  AIGUL" and "Aigül Serıkqyzy" all give the same result.
    """
    words = [_skeleton(w) for w in _SPACES.split(text(value).replace("-", " "))]
    return " ".join(sorted(w for w in words if w))


def name_and_birth(full_name: str, born: date) -> str:
    """The key for "the same person": name skeleton and birth date."""
    return f"{name(full_name)}|{born.isoformat()}"


def phone(value: str) -> str:
    """Digits with the country code: "8 (701) 123-45-67" and "+7 701 1234567" give 77011234567."""
    digits = re.sub(r"\D", "", value)
    if len(digits) == 11 and digits.startswith("8"):
        digits = "7" + digits[1:]
    elif len(digits) == 10 and digits.startswith("7"):
        digits = "7" + digits
    return digits


def url(value: str) -> str:
    """A URL without scheme, "www.", fragment, tracking parameters or trailing slash.

    A URL typed without its scheme ("www.example.kz/news/1") gives the same form as with one.
    """
    value = value.strip()
    if not _SCHEME.match(value):
        value = "//" + value.removeprefix("//")
    parts = urlsplit(value)
    host = (parts.hostname or "").lower().removeprefix("www.")
    try:
        port = parts.port
    except ValueError:  # not a number: keep what was typed, so equal input still matches
        port = None
        host = parts.netloc.lower().removeprefix("www.")
    if port and port not in (80, 443):
        host = f"{host}:{port}"
    path = re.sub(r"/+$", "", parts.path) or ""
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in {"fbclid", "gclid", "igshid", "si"}
    )
    canonical = host + path
    if query:
        canonical += "?" + urlencode(query)
    return canonical


def iin(value: str) -> str:
    """The twelve digits of an IIN, whatever spacing it was typed with."""
    return re.sub(r"\D", "", value)


def iin_is_valid(value: str) -> bool:
    """Check an IIN's length, birth date and check digit (DOMAIN.md, "Identifiers")."""
    digits = iin(value)
    if len(digits) != 12:
        return False
    numbers = [int(d) for d in digits]
    century_sex = numbers[6]
    if century_sex not in range(1, 7):
        return False
    century = {1: 1800, 2: 1800, 3: 1900, 4: 1900, 5: 2000, 6: 2000}[century_sex]
    try:
        date(century + int(digits[0:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError:
        return False
    check = sum(w * n for w, n in zip(range(1, 12), numbers[:11], strict=True)) % 11
    if check == 10:
        weights = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]
        check = sum(w * n for w, n in zip(weights, numbers[:11], strict=True)) % 11
        if check == 10:
            return False
    return check == numbers[11]
