"""Why screening read a text as it did, shown in the text itself: the words the rules matched
(a signal, labelled in the reader's language) and the words that weigh most in the model's
score are marked, everything else is escaped text."""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext
from markupsafe import Markup, escape

from .. import screening, screening_model
from .labels import label_of

#: How many of the model's heaviest words are marked, and the least share that counts.
MODEL_WORDS = 6
MODEL_SHARE = 0.15
MODEL_MIN_LETTERS = 4


def marks(text: str) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, title) spans to mark, in text order."""
    found: dict[tuple[int, int], list[str]] = {}
    for signal in screening.rules(text).signals:
        found.setdefault((signal.start, signal.end), []).append(label_of("signal", signal.kind))
    shares = screening_model.load().word_shares(text)
    # Capitalised words are mostly names and places: weight they carry is noise to a reviewer.
    heavy = [(a, b) for a, b, share in shares if share >= MODEL_SHARE and not text[a].isupper()][
        :MODEL_WORDS
    ]
    for span in heavy:
        found.setdefault(span, []).append(str(gettext("weighs in the screening model's score")))
    spans, last_end = [], -1
    for (start, end), titles in sorted(found.items()):
        if start < last_end:
            continue  # a phrase already covers this word
        spans.append((start, end, "; ".join(dict.fromkeys(titles))))
        last_end = end
    return spans


def highlight(text: object) -> Markup:
    """``text`` as escaped HTML with its marks (``<mark class="signal" title="…">``)."""
    if not isinstance(text, str) or not text:
        return escape("" if text is None else text)
    out, at = [], 0
    for start, end, title in marks(text):
        out.append(escape(text[at:start]))
        out.append(
            Markup('<mark class="signal" title="{}">{}</mark>').format(title, text[start:end])
        )
        at = end
    out.append(escape(text[at:]))
    return Markup("").join(out)


def register(app: Flask) -> None:
    app.add_template_filter(highlight, "highlight")
