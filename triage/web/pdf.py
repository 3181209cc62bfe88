"""HTML to PDF with WeasyPrint, offline: the documents' stylesheet comes from ``static/``, the
fonts from the system (Debian's DejaVu and Noto, which have every Kazakh and Russian letter), and
no URL is ever fetched — a document that names one gets nothing, so no data can leave by it."""

from __future__ import annotations

import logging
from functools import cache
from typing import Any, NoReturn

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetchingError

from ..config import resource_path

__all__ = ["pdf_of"]

# WeasyPrint logs each CSS property it ignores and each refused URL; those say nothing about a
# person, but they are noise in the server log.
logging.getLogger("weasyprint").setLevel(logging.ERROR)
logging.getLogger("fontTools").setLevel(logging.ERROR)


class OfflineFetcher(URLFetcher):  # type: ignore[misc]
    """Refuses every URL: a document is drawn from its own HTML and stylesheet only."""

    def fetch(self, url: str, headers: Any = None) -> NoReturn:
        raise URLFetchingError("triage documents fetch nothing")


@cache
def _stylesheet() -> tuple[CSS, FontConfiguration]:
    fonts = FontConfiguration()
    css = CSS(
        string=(resource_path("static") / "documents.css").read_text(encoding="utf-8"),
        font_config=fonts,
        url_fetcher=OfflineFetcher(),
    )
    return css, fonts


def pdf_of(html: str) -> bytes:
    """The PDF of a document's HTML (``templates/documents/``)."""
    css, fonts = _stylesheet()
    document = HTML(string=html, base_url=None, url_fetcher=OfflineFetcher())
    data = document.write_pdf(stylesheets=[css], font_config=fonts)
    assert isinstance(data, bytes)
    return data
