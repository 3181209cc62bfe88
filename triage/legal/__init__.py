"""The legal grounds of the measures: which articles of which law each measure rests on.

The list is configuration (``grounds.toml`` beside this module, or the file named by
``TRIAGE_LEGAL_GROUNDS_FILE``): the authorities will correct the article numbers, so nothing here
hard-codes one. A decision stores the codes of the grounds it was taken on (plain: they are
counting data, not a person's), and a free-text addition, sealed, for an article the list does
not have. Pure: reads a file, no database.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType

from ..measures import MEASURES

__all__ = [
    "LANGUAGES",
    "Act",
    "Ground",
    "LegalGrounds",
    "LegalGroundsError",
    "default_grounds",
    "load",
]

#: The languages every act and ground is titled in.
LANGUAGES = ("en", "ru", "kk")

#: The shipped list.
DEFAULT_FILE = Path(__file__).with_name("grounds.toml")


class LegalGroundsError(ValueError):
    """The legal grounds file cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Act:
    """A law or code, titled in each language."""

    code: str
    titles: Mapping[str, str]
    shorts: Mapping[str, str]

    def title(self, language: str) -> str:
        return self.titles.get(language) or self.titles["en"]

    def short(self, language: str) -> str:
        return self.shorts.get(language) or self.title(language)


def _article(article: str, language: str) -> str:
    if language == "kk":
        return f"{article}-бап"
    if language == "ru":
        return f"ст. {article}"
    return f"Art. {article}"


@dataclass(frozen=True)
class Ground:
    """One article (or part of one) of an act, and the measures it is a ground for."""

    code: str
    act: Act
    article: str
    titles: Mapping[str, str]
    measures: tuple[str, ...]
    #: The article number is our best reading, not yet confirmed against the official text.
    check: bool = False
    #: No longer offered for new decisions; decisions taken on it still show it.
    retired: bool = False

    def title(self, language: str) -> str:
        return self.titles.get(language) or self.titles["en"]

    def citation(self, language: str) -> str:
        """The act in full, the article and its title, as a document cites it."""
        return f"{self.act.title(language)}, {_article(self.article, language)}: " + self.title(
            language
        )

    def short_citation(self, language: str) -> str:
        """The act's short name, the article and its title, as a list or a form shows it."""
        return f"{self.act.short(language)}, {_article(self.article, language)} — " + self.title(
            language
        )


@dataclass(frozen=True)
class LegalGrounds:
    """Every ground by code, in the file's order, and the acts."""

    acts: Mapping[str, Act]
    grounds: Mapping[str, Ground]
    source: str

    def for_measure(self, measure: str, *, include_retired: bool = False) -> tuple[Ground, ...]:
        """The grounds offered for ``measure``, in the file's order."""
        return tuple(
            g
            for g in self.grounds.values()
            if measure in g.measures and (include_retired or not g.retired)
        )

    def get(self, code: str) -> Ground | None:
        return self.grounds.get(code)

    def known(self, codes: Iterable[str]) -> tuple[Ground, ...]:
        """The grounds among ``codes`` this list has (an older decision may cite a code a newer
        file dropped: it is left out here, and shown as its bare code by whoever lists it)."""
        return tuple(self.grounds[c] for c in codes if c in self.grounds)

    def unknown_for(self, measure: str, codes: Sequence[str]) -> list[str]:
        """The codes among ``codes`` that are not (or no longer) grounds for ``measure``."""
        offered = {g.code for g in self.for_measure(measure)}
        return [c for c in codes if c not in offered]


def _titles(where: str, table: Mapping[str, object]) -> dict[str, str]:
    titles = {}
    for language in LANGUAGES:
        value = table.get(language)
        if not isinstance(value, str) or not value.strip():
            raise LegalGroundsError(f"{where} needs a title in {language!r}")
        titles[language] = value.strip()
    return titles


def parse(text: str, source: str = "<string>") -> LegalGrounds:
    """Read and check a grounds file's text; ``LegalGroundsError`` names the first problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LegalGroundsError(f"{source} is not valid TOML: {exc}") from None
    raw_acts = data.get("acts")
    if not isinstance(raw_acts, dict) or not raw_acts:
        raise LegalGroundsError(f"{source} has no [acts.<code>] tables")
    acts = {}
    for code, table in raw_acts.items():
        if not isinstance(table, dict):
            raise LegalGroundsError(f"{source}: act {code!r} must be a table")
        short = table.get("short", {})
        if not isinstance(short, dict):
            raise LegalGroundsError(f"{source}: act {code!r}: short must be a table of titles")
        acts[code] = Act(
            code,
            MappingProxyType(_titles(f"{source}: act {code!r}", table)),
            MappingProxyType({k: str(v) for k, v in short.items() if k in LANGUAGES and v}),
        )
    raw_grounds = data.get("grounds")
    if not isinstance(raw_grounds, list) or not raw_grounds:
        raise LegalGroundsError(f"{source} has no [[grounds]]")
    grounds: dict[str, Ground] = {}
    for n, table in enumerate(raw_grounds, start=1):
        where = f"{source}: ground {n}"
        code = table.get("code")
        if not isinstance(code, str) or not code.strip() or len(code) > 32:
            raise LegalGroundsError(f"{where} needs a code (at most 32 characters)")
        where = f"{source}: ground {code!r}"
        if code in grounds:
            raise LegalGroundsError(f"{where} appears twice")
        act = acts.get(str(table.get("act")))
        if act is None:
            raise LegalGroundsError(f"{where} names an act that is not under [acts]")
        article = table.get("article")
        if not isinstance(article, str) or not article.strip():
            raise LegalGroundsError(f'{where} needs an article (as a string, e.g. "54")')
        named = table.get("measures")
        if not isinstance(named, list) or not named:
            raise LegalGroundsError(f"{where} needs the list of measures it is a ground for")
        unknown = [m for m in named if m not in MEASURES]
        if unknown:
            raise LegalGroundsError(
                f"{where} names unknown measures: {', '.join(map(str, unknown))}"
            )
        grounds[code] = Ground(
            code=code,
            act=act,
            article=article.strip(),
            titles=MappingProxyType(_titles(where, table)),
            measures=tuple(named),
            check=bool(table.get("check", False)),
            retired=bool(table.get("retired", False)),
        )
    return LegalGrounds(MappingProxyType(acts), MappingProxyType(grounds), source)


def load(path: Path | str | None = None) -> LegalGrounds:
    """The grounds in ``path``, or the shipped list when it is empty or ``None``."""
    file = Path(path) if path else DEFAULT_FILE
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise LegalGroundsError(
            f"cannot read the legal grounds file {file}: {exc.strerror}"
        ) from None
    except UnicodeDecodeError:
        raise LegalGroundsError(f"the legal grounds file {file} is not UTF-8") from None
    return parse(text, str(file))


@cache
def default_grounds() -> LegalGrounds:
    """The shipped list, read once."""
    return load(None)
