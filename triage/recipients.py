"""The directory of recipients a case can be handed over to: police units, courts and support
services, each with its kind (which decides what it may receive), the region it serves and its
name in each language.

Configuration (``recipients.toml`` beside this module, or the file named by
``TRIAGE_RECIPIENTS_FILE``), not code. Pure: reads a file, no database.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType

from .models.outcomes import RecipientKind
from .vocab import Region

__all__ = ["Directory", "Recipient", "RecipientsError", "default_directory", "load", "parse"]

DEFAULT_FILE = Path(__file__).with_name("recipients.toml")
_LANGUAGES = ("en", "ru", "kk")


class RecipientsError(ValueError):
    """The recipients file cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Recipient:
    code: str
    kind: RecipientKind
    names: Mapping[str, str]
    #: The region it serves; ``None``: the whole country.
    region: str | None = None
    retired: bool = False

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names["en"]

    def serves(self, region: str | None) -> bool:
        return self.region is None or self.region == region


@dataclass(frozen=True)
class Directory:
    recipients: Mapping[str, Recipient]
    source: str

    def get(self, code: str) -> Recipient | None:
        return self.recipients.get(code)

    def offered_for(self, region: str | None) -> tuple[Recipient, ...]:
        """The recipients a case of ``region`` may be handed to: those serving its region or
        the whole country, by kind then name."""
        found = [r for r in self.recipients.values() if not r.retired and r.serves(region)]
        order = list(RecipientKind)
        return tuple(sorted(found, key=lambda r: (order.index(r.kind), r.names["en"])))


def parse(text: str, source: str = "<string>") -> Directory:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RecipientsError(f"{source} is not valid TOML: {exc}") from None
    rows = data.get("recipients")
    if not isinstance(rows, list):
        raise RecipientsError(f"{source} has no [[recipients]]")
    found: dict[str, Recipient] = {}
    for n, row in enumerate(rows, start=1):
        code = row.get("code")
        if not isinstance(code, str) or not code.strip() or len(code) > 64:
            raise RecipientsError(f"{source}: recipient {n} needs a code (at most 64 characters)")
        where = f"{source}: recipient {code!r}"
        if code in found:
            raise RecipientsError(f"{where} appears twice")
        try:
            kind = RecipientKind(row.get("kind"))
        except ValueError:
            kinds = ", ".join(k.value for k in RecipientKind)
            raise RecipientsError(f"{where}: kind must be one of {kinds}") from None
        region = row.get("region")
        if region is not None and region not in {r.value for r in Region}:
            raise RecipientsError(f"{where}: {region!r} is not a region")
        names = {}
        for language in _LANGUAGES:
            name = row.get(language)
            if not isinstance(name, str) or not name.strip():
                raise RecipientsError(f"{where} needs a name in {language!r}")
            names[language] = name.strip()
        found[code] = Recipient(
            code, kind, MappingProxyType(names), region, bool(row.get("retired", False))
        )
    return Directory(MappingProxyType(found), source)


def load(path: Path | str | None = None) -> Directory:
    file = Path(path) if path else DEFAULT_FILE
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise RecipientsError(f"cannot read the recipients file {file}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise RecipientsError(f"the recipients file {file} is not UTF-8") from None
    return parse(text, str(file))


@cache
def default_directory() -> Directory:
    return load(None)
