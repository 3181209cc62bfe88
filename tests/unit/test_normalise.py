"""Normal forms of identifying values: the same person, phone or article gives one form however it
was typed, and different ones stay apart, since blind indexes link reports on exact matches."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage import normalise

# -- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "Айгүл Серікқызы",  # Kazakh Cyrillic
        "АЙГҮЛ СЕРІКҚЫЗЫ",
        "Aigul Serikkyzy",  # English transliteration
        "serikkyzy  AIGUL",  # other order, case and spacing
        "  Aigul\tSerikkyzy\n",
        "Aigúl Serikqyzy",  # Kazakh Latin 2018 (ú for ү, q for қ)
        "Aıgúl Serıkqyzy",  # Kazakh Latin 2018 (ı for й and і)
        "Aigül Serıkqyzy",  # Kazakh Latin 2021 (ü for ү)
        "Aygul Serikkizi",
        "Серікқызы Айгүл",
    ],
)
def test_kazakh_name_spellings_share_one_form(spelling: str) -> None:
    assert normalise.name(spelling) == normalise.name("Айгүл Серікқызы")


@pytest.mark.parametrize(
    "spelling", ["Ирина Иванова", "Irina Ivanova", "IVANOVA irina", "иванова   ирина"]
)
def test_russian_name_spellings_share_one_form(spelling: str) -> None:
    assert normalise.name(spelling) == normalise.name("Ирина Иванова")


@pytest.mark.parametrize(
    ("cyrillic", "latin"),
    [
        ("Жанар Ахметова", "Zhanar Akhmetova"),
        ("Жанар Ахметова", "Janar Ahmetova"),
        ("Жанар Ахметова", "Dzhanar Akhmetova"),
        ("Шынар", "Şynar"),  # Kazakh Latin 2021 ş
        ("Нұрсұлтан", "Nūrsūltan"),  # Kazakh Latin 2021 ū
        ("Ғалым", "Ğalym"),
        ("Ғалым", "Ǵalym"),  # Kazakh Latin 2018 ǵ
        ("Өмірзақ", "Ömirzaq"),
        ("Әсем", "Äsem"),
        ("Әсем", "Ásem"),
        ("Аңсар", "Ańsar"),
        ("Дәурен", "Dáýren"),  # Kazakh Latin 2018 ý for у
        ("Қуаныш", "Qýanysh"),
        ("Қуаныш", "Kuanysh"),
        ("Игорь", "Igor'"),
        ("Фёдор", "Fedor"),
        ("Юлия", "Yuliya"),
        ("Александр", "Alexandr"),
        ("Анна-Мария", "Anna Maria"),
    ],
)
def test_cyrillic_and_latin_spellings_match(cyrillic: str, latin: str) -> None:
    assert normalise.name(cyrillic) == normalise.name(latin)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Айгүл Серікқызы", "Айгерим Серікқызы"),
        ("Aigul Serikkyzy", "Aigul Nurlanqyzy"),
        ("Ирина Иванова", "Ирина Иванов"),
        ("Irina Ivanova", "Irina Petrova"),
        ("Ирина Иванова", "Марина Иванова"),
        ("Айгүл Серікқызы", "Айгүл"),
    ],
)
def test_different_names_differ(one: str, other: str) -> None:
    assert normalise.name(one) != normalise.name(other)


def test_a_name_reduces_to_lower_case_latin_words() -> None:
    assert normalise.name("Айгүл Серікқызы") == "aigul serikizi"
    assert normalise.name("  ") == ""


def test_name_and_birth_keeps_the_date_apart() -> None:
    born = date(1991, 3, 8)
    assert normalise.name_and_birth("Ирина Иванова", born) == normalise.name_and_birth(
        "ivanova IRINA", born
    )
    assert normalise.name_and_birth("Ирина Иванова", born) != normalise.name_and_birth(
        "Ирина Иванова", date(1991, 3, 9)
    )


@given(st.lists(st.sampled_from(["Айгүл", "Серікқызы", "Ирина", "Ivanova", "Qýanysh"]), max_size=4))
def test_name_form_ignores_word_order(words: list[str]) -> None:
    assert normalise.name(" ".join(words)) == normalise.name(" ".join(reversed(words)))


# -- phones ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "+7 701 123 45 67",
        "8 (701) 123-45-67",
        "7011234567",
        "87011234567",
        "+7(701)1234567",
        " 8-701-123-45-67 ",
    ],
)
def test_mobile_numbers_reduce_to_digits_with_country_code(typed: str) -> None:
    assert normalise.phone(typed) == "77011234567"


@pytest.mark.parametrize("typed", ["8 (7172) 12-34-56", "+7 7172 123456", "7172123456"])
def test_city_numbers_reduce_to_digits_with_country_code(typed: str) -> None:
    assert normalise.phone(typed) == "77172123456"


def test_different_phones_differ() -> None:
    assert normalise.phone("+7 701 123 45 67") != normalise.phone("+7 701 123 45 68")
    assert normalise.phone("+7 701 123 45 67") != normalise.phone("+7 702 123 45 67")


# -- URLs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "https://example.kz/news/123",
        "http://example.kz/news/123",
        "https://www.example.kz/news/123",
        "https://example.kz/news/123/",
        "HTTPS://WWW.Example.KZ/news/123/",
        "https://example.kz/news/123?utm_source=facebook&utm_medium=social",
        "https://example.kz/news/123?UTM_CAMPAIGN=x&fbclid=abc",
        "https://example.kz/news/123#comments",
        "https://example.kz:443/news/123",
        "example.kz/news/123",
        "www.example.kz/news/123/",
        "  https://www.example.kz/news/123/  ",
    ],
)
def test_url_variants_of_one_article_match(typed: str) -> None:
    assert normalise.url(typed) == "example.kz/news/123"


def test_meaningful_query_parameters_are_kept_in_a_stable_order() -> None:
    assert normalise.url("https://forum.kz/t?b=2&a=1&utm_source=x") == "forum.kz/t?a=1&b=2"
    assert normalise.url("https://forum.kz/t?a=1&b=2") == normalise.url(
        "https://forum.kz/t?b=2&a=1"
    )


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("https://example.kz/news/123", "https://example.kz/news/124"),
        ("https://example.kz/news/123", "https://example.kz/news"),
        ("https://example.kz/news/123", "https://other.kz/news/123"),
        ("https://forum.kz/t?id=1", "https://forum.kz/t?id=2"),
        ("https://example.kz/news/123", "https://example.kz:8443/news/123"),
    ],
)
def test_different_urls_differ(one: str, other: str) -> None:
    assert normalise.url(one) != normalise.url(other)


# -- IIN (DOMAIN.md, "Identifiers") ------------------------------------------------------------

_CENTURY_DIGITS = {1800: (1, 2), 1900: (3, 4), 2000: (5, 6)}


def _check_digit(first_eleven: str) -> int | None:
    """The check digit as DOMAIN.md defines it, or None when the number cannot be valid."""
    numbers = [int(d) for d in first_eleven]
    check = sum(w * n for w, n in zip(range(1, 12), numbers, strict=True)) % 11
    if check == 10:
        second = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]
        check = sum(w * n for w, n in zip(second, numbers, strict=True)) % 11
        if check == 10:
            return None
    return check


def _first_eleven(born: date, female: bool, serial: int) -> str:
    century_digit = _CENTURY_DIGITS[born.year // 100 * 100][1 if female else 0]
    return f"{born:%y%m%d}{century_digit}{serial:04d}"


def _iin(born: date, female: bool, serial: int) -> str:
    body = _first_eleven(born, female, serial)
    check = _check_digit(body)
    assert check is not None, "this serial gives no valid IIN; pick another"
    return f"{body}{check}"


def _serial_where(born: date, want_first_check_ten: bool, want_invalid: bool) -> int:
    """A serial number whose first weighted sum gives 10 (and, if asked, the second too)."""
    for serial in range(10_000):
        body = _first_eleven(born, False, serial)
        numbers = [int(d) for d in body]
        first = sum(w * n for w, n in zip(range(1, 12), numbers, strict=True)) % 11
        if (first == 10) != want_first_check_ten:
            continue
        if (_check_digit(body) is None) == want_invalid:
            return serial
    raise AssertionError("no such serial")


@pytest.mark.parametrize(
    ("born", "female", "serial"),
    [
        (date(1990, 5, 15), True, 123),
        (date(1985, 12, 31), False, 4567),
        (date(2001, 1, 1), True, 1),
        (date(1899, 7, 4), False, 9998),
        (date(2000, 2, 29), False, 42),  # 2000 was a leap year
    ],
)
def test_constructed_iins_are_valid(born: date, female: bool, serial: int) -> None:
    value = _iin(born, female, serial)
    assert len(value) == 12
    assert normalise.iin_is_valid(value)


def test_the_second_weights_are_used_when_the_first_give_ten() -> None:
    born = date(1978, 9, 21)
    serial = _serial_where(born, want_first_check_ten=True, want_invalid=False)
    value = _iin(born, False, serial)
    assert normalise.iin_is_valid(value)
    others = [d for d in "0123456789" if d != value[11]]
    assert not any(normalise.iin_is_valid(value[:11] + d) for d in others)


def test_an_iin_whose_second_check_also_gives_ten_is_invalid() -> None:
    born = date(1978, 9, 21)
    serial = _serial_where(born, want_first_check_ten=True, want_invalid=True)
    body = _first_eleven(born, False, serial)
    assert not any(normalise.iin_is_valid(f"{body}{d}") for d in range(10))


@given(
    born=st.dates(min_value=date(1800, 1, 1), max_value=date(2099, 12, 31)),
    female=st.booleans(),
    serial=st.integers(0, 9999),
)
def test_exactly_one_check_digit_is_valid(born: date, female: bool, serial: int) -> None:
    body = _first_eleven(born, female, serial)
    expected = _check_digit(body)
    valid = [d for d in range(10) if normalise.iin_is_valid(f"{body}{d}")]
    assert valid == ([] if expected is None else [expected])


def test_a_wrong_check_digit_is_refused() -> None:
    value = _iin(date(1990, 5, 15), True, 123)
    wrong = (int(value[-1]) + 1) % 10
    assert not normalise.iin_is_valid(value[:-1] + str(wrong))


@pytest.mark.parametrize(
    ("yymmdd", "century_digit"),
    [
        ("901315", 4),  # month 13
        ("900230", 4),  # 30 February
        ("900000", 4),  # day and month zero
        ("000229", 3),  # 1900 was not a leap year
        ("900515", 0),  # no such century digit
        ("900515", 7),
        ("900515", 9),
    ],
)
def test_a_bad_birth_date_or_century_is_refused(yymmdd: str, century_digit: int) -> None:
    body = f"{yymmdd}{century_digit}0123"
    check = _check_digit(body)
    # Whatever the check digit, the number is refused: the date part is impossible.
    digits = range(10) if check is None else [check]
    assert not any(normalise.iin_is_valid(f"{body}{d}") for d in digits)


def test_the_leap_day_of_a_leap_year_is_accepted() -> None:
    assert normalise.iin_is_valid(_iin(date(2000, 2, 29), True, 7))
    assert normalise.iin_is_valid(_iin(date(1996, 2, 29), True, 7))


def test_wrong_lengths_are_refused() -> None:
    value = _iin(date(1990, 5, 15), True, 123)
    assert not normalise.iin_is_valid(value[:11])
    assert not normalise.iin_is_valid(value + "0")
    assert not normalise.iin_is_valid("")
    assert not normalise.iin_is_valid("9005154O1234")  # a letter O where a digit belongs


def test_spacing_in_a_typed_iin_is_ignored() -> None:
    value = _iin(date(1990, 5, 15), True, 123)
    spaced = f" {value[:6]} {value[6:9]}-{value[9:]} "
    assert normalise.iin(spaced) == value
    assert normalise.iin_is_valid(spaced)
