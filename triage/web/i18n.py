"""The interface languages and how a request's language is chosen."""

from __future__ import annotations

from pathlib import Path

from flask import g, request, session
from flask_babel import get_locale

#: Interface languages, with their own names (never translated).
LOCALES = {"en": "English", "ru": "Русский", "kk": "Қазақша"}
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def select_locale(default: str) -> str:
    """The language the user chose (kept in the session, or for the public pages, which keep no
    session, named in the page's own ``g.page_locale``), else the browser's, else the default."""
    chosen = g.get("page_locale") or session.get("locale")
    if chosen in LOCALES:
        return str(chosen)
    return request.accept_languages.best_match(list(LOCALES)) or default


def current_language() -> str:
    """The language of the current request's pages, as a code of ``LOCALES``."""
    locale = get_locale()
    code = locale.language if locale is not None else "en"
    return code if code in LOCALES else "en"
