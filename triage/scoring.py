"""Risk scoring: checklist answers to a score and a level, overrides, provisional levels, deadlines.

Pure functions over plain values. The checklist itself is data (``triage/checklists/v<N>.json``),
so an authority can load its own instrument as a new version without a code change; every score
records the version it was computed with. DOMAIN.md "Risk checklist" is the source of the rules.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from types import MappingProxyType
from typing import Any

from .vocab import RiskLevel, Role

__all__ = [
    "DEFAULT_DEADLINES",
    "HIGH_SIGNALS",
    "MEDIUM_SIGNALS",
    "OVERRIDE_ROLES",
    "Answer",
    "Answers",
    "Band",
    "Checklist",
    "ChecklistNotFound",
    "InvalidAnswer",
    "InvalidChecklist",
    "Item",
    "Outcome",
    "Override",
    "OverrideNotPermitted",
    "OverrideReasonRequired",
    "Rule",
    "Score",
    "ScoringError",
    "UnknownItem",
    "UnknownLevel",
    "apply_override",
    "assessment_outcome",
    "available_versions",
    "is_overdue",
    "load_checklist",
    "parse_checklist",
    "provisional_level_from_signals",
    "response_deadline",
    "score",
]


# --- errors -------------------------------------------------------------------------------------


class ScoringError(ValueError):
    """A scoring rule refused its input. The message is safe to show: it never quotes answers."""


class InvalidChecklist(ScoringError):
    """A checklist definition file is malformed; it is refused whole rather than scored wrongly."""


class ChecklistNotFound(ScoringError, LookupError):
    """No definition file exists for the requested checklist version."""


class UnknownItem(ScoringError):
    """An answer names an item (by number or code) that the checklist does not have."""


class InvalidAnswer(ScoringError):
    """An answer is not yes, no or unknown, or one item was answered twice."""


class UnknownLevel(ScoringError):
    """A risk level that is not standard, medium or high."""


class OverrideReasonRequired(ScoringError):
    """Changing the computed level is professional judgement, and judgement must be written down."""


class OverrideNotPermitted(ScoringError):
    """Only reviewers and supervisors assess risk, so only they may change a level."""


# --- the checklist definition -------------------------------------------------------------------


class Answer(StrEnum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Item:
    number: int
    code: str
    text: str
    weight: int


@dataclass(frozen=True)
class Band:
    """Totals from ``min_total`` to ``max_total`` (inclusive; ``None`` means no upper end)."""

    level: RiskLevel
    min_total: int
    max_total: int | None

    def contains(self, total: int) -> bool:
        return total >= self.min_total and (self.max_total is None or total <= self.max_total)


@dataclass(frozen=True)
class Rule:
    """A "regardless of the total" rule: when every item of ``when_all_yes`` is yes — and, if
    ``when_any_yes`` lists items, at least one of those too — the level is at least ``level``.
    It can only raise a level, never lower one, so scoring stays monotonic."""

    code: str
    level: RiskLevel
    when_all_yes: tuple[int, ...]
    description: str
    when_any_yes: tuple[int, ...] = ()

    def holds(self, yes: frozenset[int] | set[int]) -> bool:
        return all(n in yes for n in self.when_all_yes) and (
            not self.when_any_yes or any(n in yes for n in self.when_any_yes)
        )


@dataclass(frozen=True)
class Checklist:
    """One version of the checklist. ``revision`` counts corrections of the version's rules
    (bands and rules; never its items or weights): assessments record it, and a stored
    assessment of an older revision is re-scored (``review.rescoring``)."""

    version: int
    revision: int
    title: str
    description: str
    max_total: int
    items: tuple[Item, ...]
    bands: tuple[Band, ...]
    rules: tuple[Rule, ...]
    _by_number: Mapping[int, Item] = field(init=False, repr=False, compare=False)
    _by_code: Mapping[str, Item] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_number", MappingProxyType({i.number: i for i in self.items}))
        object.__setattr__(self, "_by_code", MappingProxyType({i.code: i for i in self.items}))

    def item(self, ref: int | str) -> Item:
        """The item a form or API names, by its number or its code."""
        found: Item | None = None
        if isinstance(ref, int) and not isinstance(ref, bool):
            found = self._by_number.get(ref)
        elif isinstance(ref, str):
            found = self._by_code.get(ref)
        if found is None:
            raise UnknownItem(f"checklist version {self.version} has no item {ref!r}")
        return found

    def band_level(self, total: int) -> RiskLevel:
        for band in self.bands:
            if band.contains(total):
                return band.level
        # Validation makes the bands cover 0..max_total, so this means a caller's bad total.
        raise ScoringError(f"total {total} is outside checklist version {self.version}'s bands")


_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_TOP_KEYS = {
    "version",
    "revision",
    "title",
    "description",
    "max_total",
    "items",
    "levels",
    "rules",
}
_ITEM_KEYS = {"number", "code", "text", "weight"}
_BAND_KEYS = {"level", "min_total", "max_total"}
_RULE_KEYS = {"code", "level", "when_all_yes", "when_any_yes", "description"}


def _keys(where: str, obj: Any, required: set[str], allowed: set[str]) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise InvalidChecklist(f"{where} must be an object")
    missing = required - obj.keys()
    if missing:
        raise InvalidChecklist(f"{where} lacks {', '.join(sorted(missing))}")
    extra = obj.keys() - allowed
    if extra:  # a misspelt key would otherwise be silently ignored
        raise InvalidChecklist(f"{where} has unknown keys: {', '.join(sorted(extra))}")
    return obj


def _int(where: str, value: Any, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise InvalidChecklist(f"{where} must be a whole number of at least {minimum}")
    return value


def _text(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidChecklist(f"{where} must be non-empty text")
    return value.strip()


def _level(where: str, value: Any) -> RiskLevel:
    try:
        return RiskLevel(value)
    except ValueError:
        raise InvalidChecklist(
            f"{where} must be one of {', '.join(lv.value for lv in RiskLevel)}"
        ) from None


def _rule_items(where: str, value: Any, numbers: set[int]) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise InvalidChecklist(f"{where} must be a non-empty list of item numbers")
    for ref in value:
        if not isinstance(ref, int) or isinstance(ref, bool) or ref not in numbers:
            raise InvalidChecklist(f"{where} names no item {ref!r}")
    return tuple(value)


def parse_checklist(data: Any) -> Checklist:
    """Validate a checklist definition (already parsed from JSON) and build the ``Checklist``.

    Everything a score depends on is checked here, once, so that ``score`` can trust it: unique
    item numbers and codes, positive weights that add up to the declared ``max_total``, bands that
    run from 0 upwards without gaps or overlaps and never fall in level as the total rises, and
    rules that name existing items.
    """
    top = _keys("checklist", data, _TOP_KEYS - {"description", "revision"}, _TOP_KEYS)
    version = _int("version", top["version"], 1)
    revision = _int("revision", top.get("revision", 1), 1)
    title = _text("title", top["title"])
    description = _text("description", top["description"]) if "description" in top else ""
    max_total = _int("max_total", top["max_total"], 0)

    raw_items = top["items"]
    if not isinstance(raw_items, list) or not raw_items:
        raise InvalidChecklist("items must be a non-empty list")
    items: list[Item] = []
    for n, raw in enumerate(raw_items):
        where = f"items[{n}]"
        obj = _keys(where, raw, _ITEM_KEYS, _ITEM_KEYS)
        code = obj["code"]
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            raise InvalidChecklist(f"{where}.code must be lower_snake_case starting with a letter")
        items.append(
            Item(
                number=_int(f"{where}.number", obj["number"], 1),
                code=code,
                text=_text(f"{where}.text", obj["text"]),
                weight=_int(f"{where}.weight", obj["weight"], 1),
            )
        )
    numbers = [i.number for i in items]
    number_set = set(numbers)
    if len(number_set) != len(numbers):
        raise InvalidChecklist("item numbers must be unique")
    codes = [i.code for i in items]
    if len(set(codes)) != len(codes):
        raise InvalidChecklist("item codes must be unique")
    weight_sum = sum(i.weight for i in items)
    if weight_sum != max_total:
        raise InvalidChecklist(
            f"max_total is {max_total} but the item weights add up to {weight_sum}"
        )

    raw_bands = top["levels"]
    if not isinstance(raw_bands, list) or not raw_bands:
        raise InvalidChecklist("levels must be a non-empty list")
    bands: list[Band] = []
    expected_min = 0
    for n, raw in enumerate(raw_bands):
        where = f"levels[{n}]"
        obj = _keys(where, raw, _BAND_KEYS - {"max_total"}, _BAND_KEYS)
        level = _level(f"{where}.level", obj["level"])
        low = _int(f"{where}.min_total", obj["min_total"], 0)
        if low != expected_min:
            raise InvalidChecklist(
                f"{where}.min_total must be {expected_min} (no gaps or overlaps)"
            )
        high = obj.get("max_total")
        if high is not None:
            high = _int(f"{where}.max_total", high, low)
        if bands and level.rank < bands[-1].level.rank:
            raise InvalidChecklist(f"{where}: a higher total must never give a lower level")
        bands.append(Band(level=level, min_total=low, max_total=high))
        if high is None:
            if n != len(raw_bands) - 1:
                raise InvalidChecklist(f"{where}: only the last band may be open-ended")
            break
        expected_min = high + 1
    last = bands[-1]
    if last.max_total is not None and last.max_total < max_total:
        raise InvalidChecklist(f"levels must cover every total up to max_total ({max_total})")

    raw_rules = top["rules"]
    if not isinstance(raw_rules, list):
        raise InvalidChecklist("rules must be a list")
    rules: list[Rule] = []
    for n, raw in enumerate(raw_rules):
        where = f"rules[{n}]"
        obj = _keys(where, raw, _RULE_KEYS - {"when_any_yes"}, _RULE_KEYS)
        code = obj["code"]
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            raise InvalidChecklist(f"{where}.code must be lower_snake_case starting with a letter")
        when = _rule_items(f"{where}.when_all_yes", obj["when_all_yes"], number_set)
        when_any = (
            _rule_items(f"{where}.when_any_yes", obj["when_any_yes"], number_set)
            if "when_any_yes" in obj
            else ()
        )
        if set(when) & set(when_any):
            raise InvalidChecklist(f"{where}: an item cannot be in when_all_yes and when_any_yes")
        rules.append(
            Rule(
                code=code,
                level=_level(f"{where}.level", obj["level"]),
                when_all_yes=when,
                description=_text(f"{where}.description", obj["description"]),
                when_any_yes=when_any,
            )
        )
    rule_codes = [r.code for r in rules]
    if len(set(rule_codes)) != len(rule_codes):
        raise InvalidChecklist("rule codes must be unique")

    return Checklist(
        version=version,
        revision=revision,
        title=title,
        description=description,
        max_total=max_total,
        items=tuple(sorted(items, key=lambda i: i.number)),
        bands=tuple(bands),
        rules=tuple(rules),
    )


def _checklists_dir() -> Traversable:
    return resources.files("triage").joinpath("checklists")


def available_versions() -> tuple[int, ...]:
    """The checklist versions shipped with this installation, oldest first."""
    found = []
    for entry in _checklists_dir().iterdir():
        match = re.fullmatch(r"v([1-9][0-9]*)\.json", entry.name)
        if match and entry.is_file():
            found.append(int(match.group(1)))
    return tuple(sorted(found))


@lru_cache(maxsize=16, typed=True)
def load_checklist(version: int) -> Checklist:
    """Load and validate ``checklists/v<version>.json`` from the installed package.

    Old versions stay loadable forever: an assessment is re-read with the version it was scored
    with. The version inside the file must match its name, so a copied file cannot pose as another
    version. Results are cached; ``Checklist`` is immutable.
    """
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ChecklistNotFound(
            f"checklist version must be a positive whole number, not {version!r}"
        )
    entry = _checklists_dir().joinpath(f"v{version}.json")
    if not entry.is_file():
        raise ChecklistNotFound(f"there is no checklist version {version}")
    try:
        data = json.loads(entry.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidChecklist(f"v{version}.json is not valid JSON: {exc}") from None
    try:
        checklist = parse_checklist(data)
    except InvalidChecklist as exc:
        raise InvalidChecklist(f"v{version}.json: {exc}") from None
    if checklist.version != version:
        raise InvalidChecklist(f"v{version}.json declares version {checklist.version}")
    return checklist


# --- scoring ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    """The outcome of one checklist: what an Assessment stores besides the sealed answers.

    ``band_level`` is the level the total alone gives; ``level`` is the computed level after the
    "regardless of the total" rules, whose codes are in ``forced_by`` (every rule that held, even
    when the total was already high enough). ``answers`` has every item, missing ones as unknown.
    ``revision`` is the checklist revision whose rules computed the level.
    """

    version: int
    revision: int
    total: int
    max_total: int
    band_level: RiskLevel
    level: RiskLevel
    forced_by: tuple[str, ...]
    unknown_count: int
    answers: tuple[tuple[int, Answer], ...]

    @property
    def forced(self) -> bool:
        """Whether a rule, not the total, set the level."""
        return self.level.rank > self.band_level.rank

    @property
    def yes_items(self) -> tuple[int, ...]:
        return tuple(number for number, answer in self.answers if answer is Answer.YES)

    @property
    def answered_count(self) -> int:
        """Items answered yes or no."""
        return len(self.answers) - self.unknown_count

    @property
    def incomplete(self) -> bool:
        """More items unknown than answered (DOMAIN.md): such an assessment is shown as
        incomplete and never lowers a level (``assessment_outcome``)."""
        return self.unknown_count > self.answered_count


#: Checklist answers keyed by item number, by item code, or a mix of both. Values are ``Answer``
#: or its text; anything else is refused at run time, which is why the value type is so wide.
Answers = Mapping[int, str] | Mapping[str, str] | Mapping[int | str, str]


def _answer(ref: int | str, value: Any) -> Answer:
    if isinstance(value, str):
        try:
            return Answer(value)
        except ValueError:
            pass
    raise InvalidAnswer(f"the answer to item {ref!r} must be yes, no or unknown")


def score(checklist: Checklist, answers: Answers) -> Score:
    """Score ``answers`` (keyed by item number or code) against ``checklist``.

    Unknown answers and missing items score 0 and are counted, because an assessment made with
    little information must say so rather than look reassuring. An item the checklist lacks, an
    answer other than yes/no/unknown, or one item given twice (say by number and by code) is
    refused: a silently dropped answer could hide a high risk.
    """
    given: dict[int, Answer] = {}
    for ref, value in answers.items():
        item = checklist.item(ref)
        if item.number in given:
            raise InvalidAnswer(f"item {item.number} ({item.code}) is answered more than once")
        given[item.number] = _answer(ref, value)
    full = tuple((i.number, given.get(i.number, Answer.UNKNOWN)) for i in checklist.items)
    yes = {number for number, answer in full if answer is Answer.YES}
    total = sum(i.weight for i in checklist.items if i.number in yes)
    band_level = checklist.band_level(total)
    level = band_level
    forced_by: list[str] = []
    for rule in checklist.rules:
        if rule.holds(yes):
            forced_by.append(rule.code)
            if rule.level.rank > level.rank:
                level = rule.level
    return Score(
        version=checklist.version,
        revision=checklist.revision,
        total=total,
        max_total=checklist.max_total,
        band_level=band_level,
        level=level,
        forced_by=tuple(forced_by),
        unknown_count=sum(1 for _, answer in full if answer is Answer.UNKNOWN),
        answers=full,
    )


# --- professional-judgement override ------------------------------------------------------------

#: Who assesses risk, and so who may change a computed level.
OVERRIDE_ROLES = frozenset({Role.REVIEWER, Role.SUPERVISOR})


def _as_level(value: RiskLevel | str) -> RiskLevel:
    try:
        return RiskLevel(value)
    except ValueError:
        raise UnknownLevel(f"{value!r} is not a risk level") from None


@dataclass(frozen=True)
class Override:
    """The level in force after a reviewer's judgement, and whether it still waits for approval.

    ``needs_supervisor`` is set whenever a *high* computed level is lowered, whoever lowers it:
    approval is four eyes, so a supervisor's own lowering waits for another supervisor. Until it
    is approved, callers keep treating the case as high.
    """

    computed_level: RiskLevel
    level: RiskLevel
    reason: str | None
    by_role: Role
    needs_supervisor: bool

    @property
    def changed(self) -> bool:
        return self.level is not self.computed_level

    @property
    def lowered(self) -> bool:
        return self.level.rank < self.computed_level.rank

    @property
    def raised(self) -> bool:
        return self.level.rank > self.computed_level.rank


def apply_override(
    score: Score, level: RiskLevel | str, reason: str | None, *, by_role: Role | str
) -> Override:
    """Set the level in force to ``level``, by professional judgement (DOMAIN.md).

    Any change, up or down, needs a written reason; keeping the computed level needs none.
    Lowering a *high* level is returned with ``needs_supervisor`` set, never refused: the reviewer
    may propose it, a supervisor decides.
    """
    try:
        role = Role(by_role)
    except ValueError:
        raise OverrideNotPermitted(f"{by_role!r} is not a role") from None
    if role not in OVERRIDE_ROLES:
        raise OverrideNotPermitted(f"a {role.value} may not change a risk level")
    target = _as_level(level)
    written = reason.strip() if isinstance(reason, str) else ""
    if target is not score.level and not written:
        raise OverrideReasonRequired(
            f"changing the level from {score.level.value} to {target.value} needs a written reason"
        )
    return Override(
        computed_level=score.level,
        level=target,
        reason=written or None,
        by_role=role,
        needs_supervisor=score.level is RiskLevel.HIGH and target is not RiskLevel.HIGH,
    )


# --- what an assessment does to the level in force ----------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What recording an assessment does to the case's level.

    ``proposed`` is the level the assessment asks for (computed, or the assessor's override);
    ``level`` is the level in force once it is recorded. ``needs_supervisor``: the proposed level
    is below a *high* level (the case's, or the checklist's own) and waits for a supervisor
    other than the assessor; until then the case keeps ``level`` (high). ``kept``: the
    assessment is incomplete and asked for less than the level before it, which it kept — it
    lowers nothing, with or without a supervisor.
    """

    prior: RiskLevel | None
    proposed: RiskLevel
    level: RiskLevel
    needs_supervisor: bool
    kept: bool

    @property
    def lowers(self) -> bool:
        """Whether the level in force goes down at once."""
        return self.prior is not None and self.level.rank < self.prior.rank


def _highest(*levels: RiskLevel) -> RiskLevel:
    return max(levels, key=lambda lv: lv.rank)


def assessment_outcome(
    prior: RiskLevel | str | None,
    computed: RiskLevel | str,
    proposed: RiskLevel | str,
    *,
    incomplete: bool,
) -> Outcome:
    """The level in force after an assessment whose checklist computed ``computed`` and which
    proposes ``proposed`` (the computed level, or an override) on a case at ``prior`` (``None``
    for no level yet); ``incomplete`` is ``Score.incomplete``. DOMAIN.md's rules:

    - raising, or keeping, the level takes effect at once;
    - an incomplete assessment (more unknown than answered items) never lowers any level: the
      higher of ``prior`` and the computed level stays in force;
    - a level below a *high* one — the case's own (provisional or not), or the checklist's
      computed high — waits for a supervisor's approval, and the case keeps *high* (and so its
      deadline) until then: a computed lowering waits exactly like a professional-judgement one;
    - any other lowering (medium to standard) takes effect at once.
    """
    before = _as_level(prior) if prior is not None else None
    asked = _as_level(proposed)
    floor = _as_level(computed) if before is None else _highest(_as_level(computed), before)
    if asked.rank >= floor.rank:
        return Outcome(before, asked, asked, needs_supervisor=False, kept=False)
    if incomplete:
        return Outcome(before, asked, floor, needs_supervisor=False, kept=True)
    if floor is RiskLevel.HIGH:
        return Outcome(before, asked, floor, needs_supervisor=True, kept=False)
    return Outcome(before, asked, asked, needs_supervisor=False, kept=False)


# --- provisional level from screening signals ---------------------------------------------------

#: Screening signals that make a media or online report provisionally high.
HIGH_SIGNALS = frozenset({"killing", "death", "strangulation", "weapon", "threat_to_kill"})
#: Screening signals that make it provisionally medium.
MEDIUM_SIGNALS = frozenset(
    {"injury", "pregnancy", "children", "prior_incidents", "repeated_violence", "stalking"}
)


def _signal(kind: str) -> str:
    return re.sub(r"[\s\-]+", "_", kind.strip().lower())


def provisional_level_from_signals(kinds: Iterable[str]) -> RiskLevel:
    """The provisional level of a report that has no checklist yet, from its screening signals.

    Kinds are matched case-insensitively, with spaces and hyphens read as underscores. Kinds that
    are not severity signals (``violence``, ``family``…) do not change the level. The result must
    always be shown as provisional until a checklist is scored.
    """
    if isinstance(kinds, str):  # one kind, not its letters
        kinds = [kinds]
    found = {_signal(k) for k in kinds}
    if found & HIGH_SIGNALS:
        return RiskLevel.HIGH
    if found & MEDIUM_SIGNALS:
        return RiskLevel.MEDIUM
    return RiskLevel.STANDARD


# --- response deadlines and the queue -----------------------------------------------------------

#: Time to a decision, by level (DOMAIN.md "Response deadlines"). Configurable: pass your own.
DEFAULT_DEADLINES: Mapping[RiskLevel, timedelta] = MappingProxyType(
    {
        RiskLevel.HIGH: timedelta(hours=24),
        RiskLevel.MEDIUM: timedelta(hours=72),
        RiskLevel.STANDARD: timedelta(days=7),
    }
)


def response_deadline(
    level: RiskLevel | str,
    opened_at: datetime,
    deadlines: Mapping[RiskLevel, timedelta] = DEFAULT_DEADLINES,
) -> datetime:
    """When a decision is due for a case of ``level`` opened at ``opened_at``.

    Pass timezone-aware UTC datetimes: the result keeps ``opened_at``'s timezone, and comparing
    it with a naive ``now`` fails loudly rather than by a few hours.
    """
    lv = _as_level(level)
    try:
        allowed = deadlines[lv]
    except KeyError:
        raise ScoringError(f"no response deadline is configured for level {lv.value}") from None
    return opened_at + allowed


def is_overdue(deadline: datetime, now: datetime) -> bool:
    """Past its deadline; a decision exactly at the deadline is still on time."""
    return now > deadline
