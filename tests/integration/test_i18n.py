"""The interface in English, Russian and Kazakh: complete catalogues whose placeholders match,
compiled files that match their sources, and the language a person chooses or their browser
asks for."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parents[2] / "triage" / "translations"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _catalog(locale: str):
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=locale)


@pytest.mark.parametrize("locale", ["ru", "kk"])
def test_every_message_is_translated_with_its_placeholders(locale: str) -> None:
    with (TRANSLATIONS / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    catalog = _catalog(locale)
    expected = {m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id}
    present = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    assert expected <= present, f"{locale}: messages missing: {sorted(expected - present)[:5]}"
    for message in catalog:
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        assert all(strings), f"{locale}: not translated: {ids[0]!r}"
        wanted = sorted(set(PLACEHOLDER.findall(ids[0])))
        for text in strings:
            assert sorted(set(PLACEHOLDER.findall(text))) == wanted, (
                f"{locale}: placeholders of {ids[0]!r}"
            )
        assert not message.fuzzy, f"{locale}: fuzzy: {ids[0]!r}"


@pytest.mark.parametrize("locale", ["ru", "kk"])
def test_the_compiled_catalogue_matches_its_source(locale: str) -> None:
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo").open("rb") as handle:
        compiled = {m.id: m.string for m in read_mo(handle) if m.id}
    source = {m.id: m.string for m in _catalog(locale) if m.id}
    assert compiled == source, f"{locale}: run `pybabel compile -d triage/translations`"


def test_the_chosen_language_is_used_on_every_page(client) -> None:
    english = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in english and "<h1>Sign in</h1>" in english
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', english).group(1)  # type: ignore[union-attr]
    switched = client.post(
        "/language", data={"csrf_token": token, "locale": "ru", "next": "/login"}
    )
    assert switched.status_code == 302 and switched.headers["Location"] == "/login"
    russian = client.get("/login").get_data(as_text=True)
    assert '<html lang="ru">' in russian
    assert "<h1>Sign in</h1>" not in russian and re.search("[а-яё]", russian)
    assert client.post("/language", data={"csrf_token": token, "locale": "xx"}).status_code == 400
    assert (
        client.post(
            "/language", data={"csrf_token": token, "locale": "kk", "next": "https://evil.example/"}
        ).headers["Location"]
        == "/"
    )


def test_the_browser_language_is_the_default(client) -> None:
    page = client.get("/login", headers={"Accept-Language": "kk-KZ,kk;q=0.9,ru;q=0.8"})
    html = page.get_data(as_text=True)
    assert '<html lang="kk">' in html and re.search("[әғқңөұүһі]", html)
    assert '<html lang="en">' in client.get("/login", headers={"Accept-Language": "de"}).get_data(
        as_text=True
    )
