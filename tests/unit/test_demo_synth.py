"""The synthetic reports of the demo at scale, without a database: valid by format, spread as
intended, reproducible from their seed, and named in repeat reports in ways that blind-index
linking does and does not recognise."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage import demo_texts, normalise
from triage.demo_synth import Planned, Synth, iin_for, latin, typed_phone
from triage.intake import schema, service
from triage.vocab import Region, SourceKind

NOW = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)


def _reports(count: int, seed: int = 1) -> list[Planned]:
    synth = Synth(seed, NOW)
    return [synth.report(at, n) for n, at in enumerate(synth.arrival_times(count))]


@pytest.fixture(scope="module")
def many() -> list[Planned]:
    return _reports(4000)


@given(
    st.dates(min_value=date(1930, 1, 1), max_value=date(2008, 12, 31)),
    st.booleans(),
    st.integers(0, 2**32),
)
def test_an_iin_is_valid_and_says_the_birth_date_and_sex(
    born: date, female: bool, seed: int
) -> None:
    iin = iin_for(random.Random(seed), born, female=female)
    assert normalise.iin_is_valid(iin)
    assert iin[:6] == born.strftime("%y%m%d")
    century = {True: (4, 6), False: (3, 5)}[female][born.year >= 2000]
    assert int(iin[6]) == century


@pytest.mark.parametrize("name", ["Айгерим Ахметова", "Жулдыз Кенжебаева", "Ерлан Жумабаев"])
def test_a_name_typed_in_latin_letters_has_the_same_skeleton(name: str) -> None:
    assert normalise.name(latin(name)) == normalise.name(name)


@given(st.integers(0, 10**7 - 1), st.sampled_from(demo_texts.MOBILE_CODES), st.integers(0, 99))
def test_every_way_of_typing_a_phone_normalises_to_its_digits(
    rest: int, code: str, seed: int
) -> None:
    digits = f"7{code}{rest:07d}"
    assert normalise.phone(typed_phone(random.Random(seed), digits)) == digits


def test_every_report_is_valid_input(many: list[Planned]) -> None:
    for planned in many:
        parsed = schema.parse(planned.raw)
        assert parsed.source_kind == planned.source_kind.value


def test_reports_arrive_in_order_over_the_last_year(many: list[Planned]) -> None:
    moments = [p.received_at for p in many]
    assert moments == sorted(moments)
    assert NOW - timedelta(days=367) < moments[0] and moments[-1] < NOW
    # The service grows: the last quarter of the year has more reports than the first.
    first = sum(1 for m in moments if m < NOW - timedelta(days=274))
    last = sum(1 for m in moments if m >= NOW - timedelta(days=91))
    assert last > first


def test_regions_follow_their_population(many: list[Planned]) -> None:
    counts = Counter(p.region for p in many)
    assert set(counts) == set(Region)
    total = sum(place.population for place in demo_texts.PLACES)
    for place in demo_texts.PLACES:
        expected = len(many) * place.population / total
        assert 0.6 * expected < counts[place.region] < 1.5 * expected, place.region


def test_sources_languages_and_platforms_are_all_there(many: list[Planned]) -> None:
    kinds = Counter(p.source_kind for p in many)
    assert kinds[SourceKind.DIRECT] > kinds[SourceKind.ONLINE] > kinds[SourceKind.MEDIA] > 0
    by_kind = {k: Counter(p.language for p in many if p.source_kind is k) for k in SourceKind}
    assert set(by_kind[SourceKind.MEDIA]) == {"ru", "kk", "en"}
    assert set(by_kind[SourceKind.ONLINE]) == {"ru", "kk", "mixed", "en"}
    platforms = Counter(p.raw["platform"] for p in many if p.source_kind is SourceKind.ONLINE)
    assert set(platforms) == {name for name, _ in demo_texts.PLATFORMS}
    reporters = Counter(p.raw["reporter"] for p in many if p.source_kind is SourceKind.DIRECT)
    assert len(reporters) == 6


def test_the_same_seed_gives_the_same_reports() -> None:
    assert [p.raw for p in _reports(300, seed=5)] == [p.raw for p in _reports(300, seed=5)]
    assert [p.raw for p in _reports(300, seed=5)] != [p.raw for p in _reports(300, seed=6)]


def _victim_values(planned: Planned) -> set[str]:
    values = service.index_values(schema.parse(planned.raw))
    return {v.normalised for v in values if v.kind in ("victim", "iin", "phone")}


def test_repeat_reports_name_her_so_that_some_link_and_some_cannot(
    many: list[Planned],
) -> None:
    kinds = Counter(p.repeat for p in many if p.repeat)
    assert set(kinds) == {"same", "phone", "iin", "vague"}
    for planned in many:
        if not planned.repeat:
            continue
        family = planned.family
        assert family is not None
        her = family.victim
        known = {
            normalise.name_and_birth(her.name, her.born),
            normalise.phone(her.phone),
            normalise.iin(her.iin),
        }
        found = _victim_values(planned)
        if planned.repeat == "vague":  # a first name in Latin letters: nothing to match on
            assert not found & known
        else:
            assert found & known, planned.repeat
