"""What a report of each source kind holds, and the rules every field must pass.

One definition serves the caseworker forms, the JSON API and feed import: ``parse`` turns raw
input into a typed ``DirectReport``, ``MediaReport`` or ``OnlineReport``, or raises
``InvalidReport`` with a message for each field at fault (dotted paths such as
``victim.birth_date``). The same models give the API's JSON Schema (``json_schema``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from .. import normalise
from ..errors import N_, InvalidInput
from ..vocab import Category, Language, Platform, Region, Relationship, ReporterKind, SourceKind

EARLIEST = date(1900, 1, 1)


#: One field's problem: a message marked with ``N_`` and the values of its placeholders.
Problem = tuple[str, dict[str, object]]


class InvalidReport(InvalidInput):
    """The input broke one or more field rules.

    ``problems`` maps each field path to its problems (message and params, translated where they
    are shown: next to the form's field); ``errors`` has the same in English, for the API.
    """

    def __init__(self, problems: Mapping[str, Sequence[Problem | str]]) -> None:
        self.problems: dict[str, list[Problem]] = {
            path: [p if isinstance(p, tuple) else (p, {}) for p in found]
            for path, found in problems.items()
        }
        self.errors = {
            path: [message % params if params else message for message, params in found]
            for path, found in self.problems.items()
        }
        first = next(iter(self.errors.items()), ("", [""]))
        if first[0]:
            super().__init__(N_("%(field)s: %(problem)s"), field=first[0], problem=first[1][0])
        else:
            super().__init__(N_("The report is not valid."))


def _encodable(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(N_("contains characters that are not valid text")) from None
    if "\x00" in value:
        raise ValueError(N_("contains a NUL character"))
    return value


_Checked = AfterValidator(_encodable)
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), _Checked]
MediumText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000), _Checked]
WishesText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), _Checked]
Required200 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), _Checked
]
Required500 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), _Checked
]
RequiredLong = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000), _Checked
]
RequiredArticle = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100_000), _Checked
]
UrlText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), _Checked
]
CodeText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40), _Checked]


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 (reading it validates it)
    except ValueError:
        raise ValueError(N_("has an invalid port number")) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(N_("must be an http:// or https:// address"))
    if any(c.isspace() for c in value):
        raise ValueError(N_("must not contain spaces"))
    return value


def _not_future(value: date | None) -> date | None:
    if value is not None:
        if value > datetime.now(UTC).date():
            raise ValueError(N_("cannot be in the future"))
        if value < EARLIEST:
            raise ValueError(N_("is too far in the past"))
    return value


def _not_future_moment(value: datetime) -> datetime:
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    if moment > datetime.now(UTC):
        raise ValueError(N_("cannot be in the future"))
    return moment.astimezone(UTC)


def _iin(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not normalise.iin_is_valid(value):
        raise ValueError(N_("is not a valid IIN (12 digits with a correct check digit)"))
    return normalise.iin(value)


def _phone(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not re.fullmatch(r"[0-9+()\-\s.]{5,40}", value):
        raise ValueError(N_("may hold only digits, spaces, +, -, ( and )"))
    digits = normalise.phone(value)
    if not 10 <= len(digits) <= 15:
        raise ValueError(N_("must have 10 to 15 digits"))
    return value


Url = Annotated[UrlText, AfterValidator(_http_url)]
PastDate = Annotated[date | None, AfterValidator(_not_future)]
PastMoment = Annotated[datetime, AfterValidator(_not_future_moment)]
Iin = Annotated[CodeText | None, AfterValidator(_iin)]
Phone = Annotated[CodeText | None, AfterValidator(_phone)]
Categories = Annotated[list[Category], Field(max_length=len(Category))]
YesNoUnknown = Literal["yes", "no", "unknown"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Person(_Model):
    """A victim or alleged aggressor as the reporter knows them; every field optional."""

    name: ShortText | None = None
    birth_date: PastDate = None
    age: Annotated[int | None, Field(ge=0, le=120)] = None
    iin: Iin = None
    phone: Phone = None
    address: MediumText | None = None

    def is_empty(self) -> bool:
        return not any(getattr(self, name) for name in type(self).model_fields)


class _Common(_Model):
    region: Region | None = None
    occurred_on: PastDate = None
    categories: Categories = []


class DirectReport(_Common):
    """A report by the victim, a relative, a neighbour, a witness or a professional."""

    source_kind: Literal["direct"] = "direct"
    region: Region
    reporter: ReporterKind
    reporter_name: ShortText | None = None
    reporter_contact: ShortText | None = None
    victim: Person = Person()
    aggressor: Person = Person()
    relationship: Relationship
    categories: Annotated[list[Category], Field(min_length=1, max_length=len(Category))]
    place: MediumText | None = None
    children_present: YesNoUnknown = "unknown"
    victim_complaint: bool = False
    #: Her own answers, as the reporter knows them; "unknown" is never read as a refusal.
    may_contact: YesNoUnknown = "unknown"
    safe_contact: MediumText | None = None
    consent_support_services: YesNoUnknown = "unknown"
    wishes: WishesText | None = None
    narrative: RequiredLong

    @model_validator(mode="after")
    def _consistent(self) -> DirectReport:
        if self.may_contact == "yes" and not self.safe_contact:
            raise ValueError("safe_contact: " + N_("say how she can be contacted safely"))
        if self.victim.is_empty() and self.reporter != ReporterKind.VICTIM:
            raise ValueError("victim: " + N_("give at least the victim's name, age or a contact"))
        return self


class MediaReport(_Common):
    """A news article, a TV or radio story."""

    source_kind: Literal["media"] = "media"
    outlet: Required200
    url: Url
    published_on: PastDate = None
    language: Language
    headline: Required500
    text: RequiredArticle
    people: Annotated[list[ShortText], Field(max_length=20)] = []


class OnlineReport(_Common):
    """A post on a platform, a channel or a forum."""

    source_kind: Literal["online"] = "online"
    platform: Platform
    post_url: Url
    author_handle: ShortText | None = None
    captured_at: PastMoment
    captured_text: RequiredArticle


IncomingReport = Annotated[
    DirectReport | MediaReport | OnlineReport, Field(discriminator="source_kind")
]
_ADAPTER: TypeAdapter[DirectReport | MediaReport | OnlineReport] = TypeAdapter(IncomingReport)

#: Fields kept as plain columns; everything else goes into the sealed payload.
PLAIN_FIELDS = frozenset({"source_kind", "region", "occurred_on", "categories"})


def _path(location: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in location if p not in {"direct", "media", "online"}]
    return ".".join(parts) or "report"


def _message(error: Mapping[str, Any]) -> tuple[str, Problem]:
    path = _path(tuple(error["loc"]))
    text = str(error["msg"])
    kind = error["type"]
    params: dict[str, object] = {}
    if kind == "value_error":
        text = text.removeprefix("Value error, ")
        if ": " in text and " " not in text.split(": ", 1)[0]:
            field, text = text.split(": ", 1)
            path = field if path == "report" else f"{path}.{field}"
    elif kind == "missing" or (
        kind == "string_too_short" and error.get("ctx", {}).get("min_length") == 1
    ):
        text = N_("is required")
    elif kind == "string_too_long":
        text, params = (
            N_("may have at most %(limit)d characters"),
            {"limit": int(error["ctx"]["max_length"])},
        )
    elif kind == "extra_forbidden":
        text = N_("is not a field of this source kind")
    elif kind == "union_tag_invalid" or kind == "union_tag_not_found":
        path = "source_kind"
        text, params = (
            N_("must be one of: %(kinds)s"),
            {"kinds": ", ".join(k.value for k in SourceKind)},
        )
    elif kind == "enum" and "expected" in error.get("ctx", {}):
        text = N_("is not one of the allowed values (%(expected)s)")
        params = {"expected": str(error["ctx"]["expected"])}
    elif kind == "enum":
        text = N_("is not one of the allowed values")
    return path, (text, params)


def parse(data: Mapping[str, Any]) -> DirectReport | MediaReport | OnlineReport:
    """Validate raw input (JSON or form data) into a report of its source kind."""
    try:
        return _ADAPTER.validate_python(dict(data))
    except ValidationError as exc:
        problems: dict[str, list[Problem]] = {}
        for error in exc.errors(include_url=False, include_input=False):
            path, problem = _message(error)
            problems.setdefault(path, []).append(problem)
        raise InvalidReport(problems) from None


def sealed_payload(report: DirectReport | MediaReport | OnlineReport) -> dict[str, Any]:
    """The part of a report that is sealed: everything but the plain sorting fields."""
    payload = report.model_dump(mode="json", exclude=set(PLAIN_FIELDS), exclude_none=True)
    return {k: v for k, v in payload.items() if v not in ({}, [])}  # nothing said, nothing stored


def json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12, as OpenAPI 3.1 uses) of an incoming report."""
    return _ADAPTER.json_schema(ref_template="#/components/schemas/{model}")
