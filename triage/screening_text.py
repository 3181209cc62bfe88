"""Normal forms of words for screening: folding as written, and a script-independent skeleton.

Shared by the rules (``triage.screening``) and the trained model (``triage.screening_model``), so
both read "izbil", "избил" and "ИЗБИЛ" alike. Pure functions, cached.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_RUNS = re.compile(r"(.)\1\1+")
_REPEATS = re.compile(r"(.)\1+")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")

KK_LETTERS = frozenset("әғқңөұүһі")
KK_LATIN_LETTERS = frozenset("áǵıńóúýäğñöūüşç")
# Latin letters typed inside Cyrillic words (by keyboard or to dodge filters), read as Cyrillic.
# Latin i becomes Kazakh і: Kazakh writers often type it for і, and Russian has no i.
_HOMOGLYPHS = str.maketrans("aeopcxykmthbi", "аеорсхукмтнві")

_SKELETON = str.maketrans(
    {
        **dict(zip("абвгдезийклмнопрстуфхъыьэ", "abvgdeziiklmnoprstufh'i'e", strict=True)),
        "ж": "zh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sh", "ю": "iu", "я": "ia", "ё": "e",
        # Kazakh Cyrillic letters beyond the Russian alphabet
        "ә": "a", "ғ": "g", "қ": "k", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "і": "i",
        # Kazakh Latin letters: 2018 (acutes, ı; ý is у) and 2021 (umlauts, ğ, ñ, ş, ū)
        "á": "a", "ä": "a", "ǵ": "g", "ğ": "g", "ı": "i", "ń": "n", "ñ": "n", "ó": "o",
        "ö": "o", "ú": "u", "ü": "u", "ū": "u", "ý": "u", "ş": "sh", "ç": "ch",
    }
)  # fmt: skip
# Spelling variants of one sound in Latin typing, applied in this order.
_LATIN_VARIANTS = (("shch", "sh"), ("sch", "sh"), ("kh", "h"), ("x", "h"), ("j", "zh"),
                   ("zhzh", "zh"), ("y", "i"), ("w", "v"), ("q", "k"))  # fmt: skip


def is_cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff"


def is_latin(ch: str) -> bool:
    return ch.isalpha() and ch < "\u0250"


@lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """The form a word is matched in as written."""
    folded = unicodedata.normalize("NFC", word).casefold().replace("ё", "е").replace("’", "'")
    if any(is_cyrillic(c) for c in folded) and any(c.isascii() and c.isalpha() for c in folded):
        folded = folded.translate(_HOMOGLYPHS)
    return _RUNS.sub(r"\1", folded)


@lru_cache(maxsize=65536)
def skeleton(word: str) -> str:
    """A script-independent form: Cyrillic, Kazakh Latin and Russian transliteration alike."""
    latin = word.translate(_SKELETON)
    if not latin.isascii():
        latin = unicodedata.normalize("NFKD", latin)
        latin = "".join(c for c in latin if not unicodedata.combining(c))
    for variant, canonical in _LATIN_VARIANTS:
        latin = latin.replace(variant, canonical)
    latin = latin.replace("ch", "\0").replace("c", "ts").replace("\0", "ch")
    return _REPEATS.sub(r"\1", _NOT_ALNUM.sub("", latin))
