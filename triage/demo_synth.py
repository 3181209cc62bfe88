"""Synthetic reports for the demo at scale: invented people with identifiers valid by format,
families that are reported again (sometimes in a way blind-index linking recognises, sometimes
not), and articles, posts and narratives assembled from ``demo_texts``.

Pure: a seeded ``random.Random`` in, plain values out — the same seed gives the same reports. The
reports are raw input for ``intake.schema.parse``, exactly what a form or the API would send.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from . import demo_texts as texts
from . import normalise
from .vocab import Region, Relationship, ReporterKind, SourceKind

T = TypeVar("T")

#: How often each source kind reports, and in which language.
SOURCE_KINDS = ((SourceKind.DIRECT, 42), (SourceKind.MEDIA, 22), (SourceKind.ONLINE, 36))
LANGUAGES = {
    SourceKind.DIRECT: (("ru", 58), ("kk", 30), ("mixed", 6), ("en", 6)),
    SourceKind.MEDIA: (("ru", 58), ("kk", 36), ("en", 6)),
    SourceKind.ONLINE: (("ru", 50), ("kk", 25), ("mixed", 20), ("en", 5)),
}
REPORTERS = (
    (ReporterKind.VICTIM, 35),
    (ReporterKind.RELATIVE, 20),
    (ReporterKind.NEIGHBOUR, 15),
    (ReporterKind.WITNESS, 8),
    (ReporterKind.PROFESSIONAL, 12),
    (ReporterKind.ANONYMOUS, 10),
)
#: Share of direct reports about a family reported before, and how the new report names her:
#: ``same`` (name and birth date), ``phone`` (another way of typing her number), ``iin`` — all
#: three link by blind index — or ``vague`` (a first name in Latin letters), which does not.
REPEAT_SHARE = 0.16
REPEAT_KINDS = (("same", 45), ("phone", 25), ("iin", 10), ("vague", 20))
#: How recently the family of a repeat report was first reported.
REPEAT_WITHIN = timedelta(days=90)
DAYS = 365


def pick(rng: random.Random, weighted: Sequence[tuple[T, int]]) -> T:
    """One of the values, as often as its weight says."""
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


# -- identifiers ------------------------------------------------------------------------------


def iin_for(rng: random.Random, born: date, *, female: bool) -> str:
    """A twelve-digit IIN valid by format (DOMAIN.md "Identifiers"): birth date, century and
    sex, a serial, and the check digit; serials whose check digit cannot be made are skipped."""
    century = (4 if female else 3) if born.year < 2000 else (6 if female else 5)
    while True:
        head = f"{born:%y%m%d}{century}{rng.randrange(10_000):04d}"
        digits = [int(d) for d in head]
        check = sum(w * d for w, d in zip(range(1, 12), digits, strict=True)) % 11
        if check == 10:
            weights = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
            check = sum(w * d for w, d in zip(weights, digits, strict=True)) % 11
        if check != 10:
            return f"{head}{check}"


def phone_digits(rng: random.Random) -> str:
    """A Kazakh mobile number as its eleven digits: 7, the operator's code, seven more."""
    return f"7{rng.choice(texts.MOBILE_CODES)}{rng.randrange(10_000_000):07d}"


def typed_phone(rng: random.Random, digits: str) -> str:
    """The number as people type it: every form normalises to the same digits."""
    code, rest = digits[1:4], digits[4:]
    return rng.choice(
        (
            f"+7 {code} {rest[:3]} {rest[3:5]} {rest[5:]}",
            f"8 ({code}) {rest[:3]}-{rest[3:5]}-{rest[5:]}",
            f"8{code}{rest}",
            f"+7{code}{rest}",
            f"{code} {rest[:3]} {rest[3:]}",
        )
    )


def latin(name: str) -> str:
    """A Cyrillic name in Latin letters as people type it (Айгерим Ахметова → Aigerim
    Akhmetova): the blind index's skeleton reads both the same."""
    out = "".join(texts.LATIN.get(c.lower(), c.lower()) for c in name)
    return " ".join(w.capitalize() for w in out.split(" "))


def spaced_iin(iin: str) -> str:
    return f"{iin[:6]} {iin[6:]}"


# -- people and families ----------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    name: str
    born: date
    female: bool
    iin: str
    phone: str

    def age_on(self, day: date) -> int:
        return day.year - self.born.year - ((day.month, day.day) < (self.born.month, self.born.day))


@dataclass
class Family:
    """The victim and the alleged aggressor that one or more direct reports are about."""

    victim: Person
    aggressor: Person
    relationship: Relationship
    region: Region
    town: tuple[str, str, str]
    address: str


def _born(rng: random.Random, on: date, age: int) -> date:
    return on - timedelta(days=365 * age + rng.randrange(365))


def _ages(rng: random.Random, relationship: Relationship) -> tuple[int, int]:
    """Victim's and aggressor's ages, as the relationship makes plausible."""
    if relationship is Relationship.ADULT_CHILD:
        mother = rng.randint(45, 78)
        return mother, max(18, mother - rng.randint(20, 32))
    if relationship is Relationship.PARENT:
        daughter = rng.randint(18, 34)
        return daughter, daughter + rng.randint(20, 32)
    if relationship is Relationship.IN_LAW:
        victim = rng.randint(20, 40)
        return victim, victim + rng.randint(22, 35)
    victim = round(rng.triangular(18, 68, 32))
    if relationship is Relationship.SIBLING:
        return victim, max(18, victim + rng.randint(-6, 8))
    return victim, max(18, victim + round(rng.gauss(3, 4)))


def new_family(rng: random.Random, on: date, region_town: tuple[Region, int]) -> Family:
    region, town_index = region_town
    place = next(p for p in texts.PLACES if p.region is region)
    relationship = pick(rng, texts.RELATIONSHIPS)
    victim_age, aggressor_age = _ages(rng, relationship)
    surname = rng.choice(texts.FAMILY_NAMES)
    married = relationship in (Relationship.SPOUSE, Relationship.ADULT_CHILD, Relationship.SIBLING)
    her_surname = surname if married or rng.random() < 0.3 else rng.choice(texts.FAMILY_NAMES)
    victim_born = _born(rng, on, victim_age)
    aggressor_born = _born(rng, on, aggressor_age)
    victim = Person(
        f"{rng.choice(texts.WOMEN)} {her_surname}а",
        victim_born,
        True,
        iin_for(rng, victim_born, female=True),
        phone_digits(rng),
    )
    aggressor = Person(
        f"{rng.choice(texts.MEN)} {surname}",
        aggressor_born,
        False,
        iin_for(rng, aggressor_born, female=False),
        phone_digits(rng),
    )
    town = place.towns[town_index]
    address = (
        f"{town[0]}, ул. {rng.choice(texts.STREETS)}, д. {rng.randint(1, 180)}, "
        f"кв. {rng.randint(1, 140)}"
    )
    return Family(victim, aggressor, relationship, region, town, address)


# -- the reports ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    """One synthetic report: its raw input, when it arrives, and what the simulation needs to
    know about it later (what it says, for the checklist; what the victim said she wants)."""

    raw: dict[str, Any]
    received_at: datetime
    source_kind: SourceKind
    region: Region
    language: str
    categories: tuple[str, ...]
    items: frozenset[int]
    #: Measures the victim refused in this report (``contact_victim``, ``refer_support``).
    refused: frozenset[str] = frozenset()
    #: She reported herself and said yes to support services.
    consents: bool = False
    #: A repeat report about a family already reported, and how it names her.
    repeat: str | None = None
    family: Family | None = field(default=None, compare=False)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _low(text: str) -> str:
    return text[:1].lower() + text[1:]


class Synth:
    """Draws reports one after another from one seeded generator."""

    def __init__(self, seed: int | str, now: datetime) -> None:
        self.rng = random.Random(f"triage-demo:{seed}")  # noqa: S311 (a reproducible demo)
        self.now = now.astimezone(UTC)
        #: The families reported within ``REPEAT_WITHIN``, oldest first.
        self.families: deque[tuple[datetime, Family]] = deque()
        self._places = [(p.region, n) for p in texts.PLACES for n in range(len(p.towns))]
        self._place_weights = [p.population / len(p.towns) for p in texts.PLACES for _ in p.towns]

    # -- when -------------------------------------------------------------------------------

    def arrival_times(self, count: int) -> list[datetime]:
        """``count`` moments over the last year, in order: more of them lately (the service
        grows), more in the evening and at night, when most incidents happen."""
        rng = self.rng
        hours = [1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5, 6, 7, 8, 9, 9, 8, 6, 3]
        moments = []
        for _ in range(count):
            day = DAYS * (1 - (rng.random() ** 0.8))  # days ago, thinner further back
            hour = rng.choices(range(24), weights=hours)[0]
            start = self.now - timedelta(days=int(day) + 1)
            moment = start.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60))
            moments.append(min(moment, self.now - timedelta(minutes=1)))
        return sorted(moments)

    # -- what -------------------------------------------------------------------------------

    def report(self, at: datetime, serial: int) -> Planned:
        """The ``serial``-th synthetic report, arriving ``at``."""
        rng = self.rng
        kind = pick(rng, SOURCE_KINDS)
        language = pick(rng, LANGUAGES[kind])
        if kind is SourceKind.DIRECT:
            return self._direct(at, language)
        region, town_index = rng.choices(self._places, weights=self._place_weights)[0]
        place = next(p for p in texts.PLACES if p.region is region)
        town = place.towns[town_index]
        if kind is SourceKind.MEDIA:
            return self._media(at, serial, language, region, town)
        return self._online(at, serial, language, region, town)

    def _occurred(self, at: datetime) -> date:
        back = self.rng.choices((0, 1, 2, 5, 20), weights=(50, 25, 12, 9, 4))[0]
        return at.date() - timedelta(days=self.rng.randint(0, back) if back > 1 else back)

    def _incident(self, language: str) -> texts.Incident:
        found = texts.INCIDENTS[language]
        return self.rng.choices(found, weights=[i.weight for i in found])[0]

    def _context(self, language: str) -> list[texts.Piece]:
        pieces = texts.CONTEXT[language]
        return self.rng.sample(pieces, self.rng.choices((0, 1, 2, 3), weights=(25, 40, 25, 10))[0])

    def _relation(self, language: str, relationship: Relationship) -> dict[str, str]:
        nominative, _ = texts.RELATION_WORDS[language][relationship]
        return {"rel": nominative, "Rel": _cap(nominative)}

    def _media(
        self, at: datetime, serial: int, language: str, region: Region, town: tuple[str, ...]
    ) -> Planned:
        rng = self.rng
        lang = language
        name = town[{"ru": 0, "kk": 1, "en": 2}[lang]]
        relationship = pick(rng, texts.RELATIONSHIPS)
        incident = self._incident(lang)
        context = self._context(lang)
        age = round(rng.triangular(19, 70, 33))
        slots = {"town": name, "age": str(age), **self._relation(lang, relationship)}
        attribution = rng.choice(texts.ATTRIBUTIONS[lang])
        sentence = incident.sentence.format(**slots)
        body = [
            rng.choice(texts.INTROS[lang]).format(**slots),
            attribution + _low(sentence) if attribution else sentence,
            *(p.text for p in context),
            rng.choice(texts.OUTCOMES[lang]),
        ]
        occurred = self._occurred(at)
        published = min(at.date(), occurred + timedelta(days=rng.randint(0, 2)))
        outlet, host = self._outlet(lang, town)
        slug = {"ru": "proisshestviya", "kk": "oqigalar", "en": "incidents"}[lang]
        raw = {
            "source_kind": "media",
            "region": region.value,
            "occurred_on": occurred.isoformat(),
            "categories": sorted(set(incident.categories).union(*(p.categories for p in context))),
            "outlet": outlet,
            "url": f"https://{host}/{published:%Y/%m/%d}/{slug}-{serial}",
            "published_on": published.isoformat(),
            "language": lang,
            "headline": incident.headline.format(**slots),
            "text": " ".join(body),
        }
        return self._planned(raw, at, SourceKind.MEDIA, region, language, incident, context)

    def _outlet(self, language: str, town: tuple[str, ...]) -> tuple[str, str]:
        rng = self.rng
        national = [(n, h) for n, h, lang in texts.OUTLETS if lang == language]
        slug = town[2].lower().replace(" ", "-")
        if language == "ru" and rng.random() < 0.5:
            return f"{town[0]} сегодня", f"{slug}-segodnya.example.kz"
        if language == "kk" and rng.random() < 0.5:
            return f"{town[1]} жаршысы", f"{slug}-zharshysy.example.kz"
        return rng.choice(national)

    def _online(
        self, at: datetime, serial: int, language: str, region: Region, town: tuple[str, ...]
    ) -> Planned:
        rng = self.rng
        name = town[{"ru": 0, "kk": 1, "mixed": 0, "en": 2}[language]]
        post = rng.choice(texts.POSTS[language])
        opener = rng.choice(texts.POST_OPENERS[language]).format(town=name)
        closer = rng.choice(texts.POST_CLOSERS[language])
        text = " ".join(part for part in (opener, post.text, closer.text) if part)
        platform = pick(rng, texts.PLATFORMS)
        handle = f"{rng.choice(texts.HANDLE_WORDS)}_{rng.choice(texts.HANDLE_WORDS)}{serial % 97}"
        captured = at - timedelta(minutes=rng.randint(5, 600))
        raw = {
            "source_kind": "online",
            "region": region.value,
            "occurred_on": self._occurred(captured).isoformat(),
            "categories": sorted(set(post.categories)),
            "platform": platform,
            "post_url": _post_url(platform, handle, serial, town[2]),
            "author_handle": f"@{handle}",
            "captured_at": captured.isoformat(timespec="seconds"),
            "captured_text": text,
        }
        pieces = [post, closer]
        return Planned(
            raw,
            at,
            SourceKind.ONLINE,
            region,
            language,
            tuple(raw["categories"]),
            frozenset(i for p in pieces for i in p.items),
        )

    def _planned(
        self,
        raw: dict[str, Any],
        at: datetime,
        kind: SourceKind,
        region: Region,
        language: str,
        incident: texts.Incident,
        context: Sequence[texts.Piece],
        **more: Any,
    ) -> Planned:
        items = frozenset(incident.items).union(*(p.items for p in context))
        return Planned(raw, at, kind, region, language, tuple(raw["categories"]), items, **more)

    # -- direct reports: a family, new or reported before ------------------------------------

    def _family(self, at: datetime) -> tuple[Family, str | None]:
        """A new family, or (``REPEAT_SHARE`` of the time) one reported in the last
        ``REPEAT_WITHIN``, the more recent the likelier, with the way the report names her."""
        rng = self.rng
        if rng.random() < REPEAT_SHARE:
            since = at - REPEAT_WITHIN
            while self.families and self.families[0][0] < since:
                self.families.popleft()
            if self.families:
                chosen = int(len(self.families) * rng.triangular(0, 1, 1))
                return self.families[min(chosen, len(self.families) - 1)][1], pick(
                    rng, REPEAT_KINDS
                )
        region_town = rng.choices(self._places, weights=self._place_weights)[0]
        family = new_family(rng, at.date(), region_town)
        self.families.append((at, family))
        return family, None

    def _direct(self, at: datetime, language: str) -> Planned:
        rng = self.rng
        family, repeat = self._family(at)
        reporter = pick(rng, REPORTERS)
        if repeat == "vague" and reporter is ReporterKind.VICTIM:
            reporter = ReporterKind.NEIGHBOUR  # she would give her own name in full
        lang = "ru" if language == "mixed" else language
        incident = self._incident(lang)
        context = self._context(lang)
        if language == "mixed":  # a caseworker's note that slips into Kazakh
            context = [*context, rng.choice(texts.CONTEXT["kk"])]
        slots = {"town": family.town[{"ru": 0, "kk": 1, "en": 2}[lang]]}
        slots.update(self._relation(lang, family.relationship))
        opener = texts.NARRATIVE_OPENERS[lang][reporter.value]
        sentence = incident.sentence.format(**slots)
        first = opener + (_low(sentence) if opener.endswith(", ") else sentence)
        narrative = " ".join([first, *(p.text for p in context)])
        on = at.date()
        victim = self._victim(family, reporter, repeat, on)
        aggressor: dict[str, Any] = {}
        if rng.random() < 0.8:
            aggressor["name"] = family.aggressor.name
        if rng.random() < 0.7 or not aggressor:
            aggressor["age"] = family.aggressor.age_on(on)
        if rng.random() < 0.12:
            aggressor["birth_date"] = family.aggressor.born.isoformat()
        categories = sorted(set(incident.categories).union(*(p.categories for p in context)))
        raw: dict[str, Any] = {
            "source_kind": "direct",
            "region": family.region.value,
            "occurred_on": self._occurred(at).isoformat(),
            "categories": categories,
            "reporter": reporter.value,
            "victim": victim,
            "aggressor": aggressor,
            "relationship": family.relationship.value,
            "narrative": narrative,
            "children_present": "yes"
            if "children" in categories
            else rng.choice(("no", "unknown")),
        }
        if reporter not in (ReporterKind.VICTIM, ReporterKind.ANONYMOUS):
            helper = f"{rng.choice(texts.WOMEN)} {rng.choice(texts.FAMILY_NAMES)}а"
            raw["reporter_name"] = helper
            raw["reporter_contact"] = typed_phone(rng, phone_digits(rng))
        if rng.random() < 0.5:
            raw["place"] = rng.choice(texts.PLACES_OF_INCIDENT[lang])
        refused: set[str] = set()
        consents = False
        her_own = reporter is ReporterKind.VICTIM
        may = pick(rng, (("yes", 70), ("no", 15), ("unknown", 15)) if her_own else
                   (("yes", 25), ("no", 15), ("unknown", 60)))  # fmt: skip
        raw["may_contact"] = may
        if may == "yes":
            raw["safe_contact"] = rng.choice(texts.SAFE_CONTACT[lang])
        elif may == "no":
            refused.add("contact_victim")
        support = pick(rng, (("yes", 55), ("no", 20), ("unknown", 25)) if her_own else
                       (("yes", 10), ("no", 10), ("unknown", 80)))  # fmt: skip
        raw["consent_support_services"] = support
        if support == "no":
            refused.add("refer_support")
        consents = her_own and support == "yes"
        if her_own:
            raw["victim_complaint"] = rng.random() < 0.45
            if rng.random() < 0.6:
                raw["wishes"] = rng.choice(texts.WISHES[lang])
        elif reporter is ReporterKind.RELATIVE and rng.random() < 0.1:
            raw["victim_complaint"] = True
        return self._planned(
            raw,
            at,
            SourceKind.DIRECT,
            family.region,
            language,
            incident,
            context,
            refused=frozenset(refused),
            consents=consents,
            repeat=repeat,
            family=family,
        )

    def _victim(
        self, family: Family, reporter: ReporterKind, repeat: str | None, on: date
    ) -> dict[str, Any]:
        """What the reporter knows of her. A repeat report names her as ``repeat`` says."""
        rng = self.rng
        her = family.victim
        if repeat == "phone":
            found: dict[str, Any] = {"phone": typed_phone(rng, her.phone)}
            found["name"] = latin(her.name) if rng.random() < 0.5 else her.name
            return found
        if repeat == "iin":
            return {"name": her.name.split(" ")[0], "iin": spaced_iin(her.iin)}
        if repeat == "vague":
            return {"name": latin(her.name.split(" ")[0]), "age": her.age_on(on)}
        knows = {
            ReporterKind.VICTIM: (1.0, 1.0, 0.85, 0.35, 0.6),
            ReporterKind.RELATIVE: (1.0, 0.5, 0.5, 0.1, 0.4),
            ReporterKind.NEIGHBOUR: (0.7, 0.05, 0.1, 0.0, 0.9),
            ReporterKind.WITNESS: (0.4, 0.0, 0.05, 0.0, 0.5),
            ReporterKind.PROFESSIONAL: (1.0, 0.7, 0.3, 0.4, 0.2),
            ReporterKind.ANONYMOUS: (0.4, 0.0, 0.1, 0.0, 0.6),
        }[reporter]
        name, born, phone, iin, address = (rng.random() < p for p in knows)
        if repeat == "same":
            name = born = True
        found = {}
        if name:
            found["name"] = her.name
        if born:
            found["birth_date"] = her.born.isoformat()
        else:
            found["age"] = her.age_on(on)
        if phone:
            found["phone"] = typed_phone(rng, her.phone)
        if iin:
            found["iin"] = her.iin
        if address:
            found["address"] = family.address
        return found


def _post_url(platform: str, handle: str, serial: int, town: str) -> str:
    slug = normalise.name(town).replace(" ", "")
    number = 1000 + serial
    return {
        "telegram": f"https://t.me/{slug}_chat_demo/{number}",
        "instagram": f"https://www.instagram.com/p/Demo{number:x}/",
        "tiktok": f"https://www.tiktok.com/@{handle}/video/7{number:018d}",
        "facebook": f"https://www.facebook.com/groups/{slug}.demo/posts/{number}/",
        "forum": f"https://forum.{slug}.example.kz/topic/{number}",
        "whatsapp": f"https://whatsapp.com/channel/Demo{slug}{number}",
        "vk": f"https://vk.com/wall-{number % 10_000_000}_{number}",
        "x": f"https://x.com/{handle}/status/1{number:018d}",
        "threads": f"https://www.threads.net/@{handle}/post/Demo{number:x}",
        "youtube": f"https://www.youtube.com/watch?v=demo{number:07x}",
    }[platform]
