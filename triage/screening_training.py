"""Training and measuring the screening model on the labelled corpus (``tests/data/screening``).

The corpus is JSON Lines, one text a line, written independently of the lexicon (its README says
by whom and how). Its split is fixed by each text's id, so adding texts never moves one from the
held-back part into training: tune on ``train`` (cross-validated), report on ``held_back``, never
the other way round. ``triage screening train`` runs ``train_and_save``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from . import screening, screening_model
from .screening_model import Idf, Model, counts, views, weighted

LABELS = ("incident", "not_incident")
LANG_FORMS = ("en", "ru", "ru-latn", "kk", "kk-latn", "kk-ru")
SOURCES = ("media", "online", "direct")
#: The share of the corpus held back from training and tuning, chosen by id.
HELD_BACK_TENTHS = 3
#: Inverse regularisation of the logistic regression (chosen by cross-validation on ``train``).
C = 10.0


class CorpusError(ValueError):
    """A corpus file is missing, malformed, or has a text with a wrong field."""


@dataclass(frozen=True)
class Text:
    id: str
    text: str
    incident: bool
    lang: str
    source: str
    hard: bool
    severe: bool
    origin: str

    @property
    def split(self) -> str:
        return split_of(self.id)


def split_of(item_id: str) -> str:
    """``held_back`` for about three tenths of the ids, ``train`` for the rest; fixed for ever."""
    bucket = int(hashlib.sha256(item_id.encode("utf-8")).hexdigest(), 16) % 10
    return "held_back" if bucket < HELD_BACK_TENTHS else "train"


def load_corpus(folder: Path) -> list[Text]:
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise CorpusError(f"no *.jsonl corpus files in {folder}")
    texts: list[Text] = []
    seen: set[str] = set()
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path.name} line {number}"
            try:
                row = json.loads(line)
                item = Text(
                    id=str(row["id"]),
                    text=str(row["text"]),
                    incident=_label(row["label"]),
                    lang=str(row["lang"]),
                    source=str(row["source"]),
                    hard=bool(row.get("hard", False)),
                    severe=bool(row.get("severe", False)),
                    origin=str(row.get("origin", "")),
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise CorpusError(f"{where}: {exc}") from None
            if item.lang not in LANG_FORMS or item.source not in SOURCES:
                raise CorpusError(f"{where}: unknown lang {item.lang!r} or source {item.source!r}")
            if item.id in seen:
                raise CorpusError(f"{where}: id {item.id} appears twice")
            seen.add(item.id)
            texts.append(item)
    return texts


def _label(value: object) -> bool:
    if value not in LABELS:
        raise ValueError(f"label must be one of {', '.join(LABELS)}, not {value!r}")
    return value == "incident"


def fit(texts: Sequence[Text], *, c: float = C) -> Model:
    """A model trained on ``texts`` (all of them: the caller picks the split)."""
    blocks = counts([views(t.text) for t in texts])
    idf = tuple(Idf.fit(block) for block in blocks)
    matrix = weighted(blocks, [i.transformer() for i in idf])
    labels = np.array([t.incident for t in texts])
    classifier = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
    classifier.fit(matrix, labels)
    coef = classifier.coef_[0].astype(np.float32)
    keep = np.flatnonzero(np.abs(coef) > 1e-4).astype(np.int32)
    return Model(keep, coef[keep], float(classifier.intercept_[0]), idf)


def cross_validated(
    texts: Sequence[Text], *, folds: int = 5, c: float = C, seed: int = 15
) -> list[float]:
    """Out-of-fold probabilities for ``texts``: what tuning may look at without touching the
    held-back part."""
    labels = np.array([t.incident for t in texts])
    out = np.zeros(len(texts))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_rows, test_rows in splitter.split(np.zeros(len(texts)), labels):
        model = fit([texts[i] for i in train_rows], c=c)
        out[test_rows] = model.probabilities([texts[i].text for i in test_rows])
    return [float(p) for p in out]


@dataclass(frozen=True)
class Figures:
    n: int
    incidents: int
    true_positive: int
    false_positive: int

    @property
    def recall(self) -> float:
        return self.true_positive / self.incidents if self.incidents else 1.0

    @property
    def precision(self) -> float:
        flagged = self.true_positive + self.false_positive
        return self.true_positive / flagged if flagged else 1.0

    @property
    def f1(self) -> float:
        r, p = self.recall, self.precision
        return 2 * r * p / (r + p) if r + p else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "incidents": self.incidents,
            "recall": round(self.recall, 3),
            "precision": round(self.precision, 3),
            "f1": round(self.f1, 3),
        }


def figures(texts: Iterable[Text], flagged: Iterable[bool]) -> Figures:
    n = incidents = tp = fp = 0
    for text, flag in zip(texts, flagged, strict=True):
        n += 1
        incidents += text.incident
        tp += text.incident and flag
        fp += (not text.incident) and flag
    return Figures(n, incidents, tp, fp)


def by_group(
    texts: Sequence[Text], flagged: Sequence[bool], key: Callable[[Text], str]
) -> dict[str, Figures]:
    groups: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        groups.setdefault(key(text), []).append(i)
    return {
        name: figures([texts[i] for i in rows], [flagged[i] for i in rows])
        for name, rows in sorted(groups.items())
    }


def verdicts(model: Model, texts: Sequence[Text]) -> list[str]:
    """The one verdict (``screening.verdict_of``) of each text under ``model``."""
    probabilities = model.probabilities([t.text for t in texts])
    return [
        screening.verdict_of(screening.rules(t.text), p)
        for t, p in zip(texts, probabilities, strict=True)
    ]


def verdict_figures(texts: Sequence[Text], found: Sequence[str]) -> dict[str, Figures]:
    """Figures of the candidates alone, and of everything that reaches a reviewer (candidates
    and the review band)."""
    return {
        "candidate": figures(texts, [v == screening.CANDIDATE for v in found]),
        "reaches_reviewer": figures(texts, [v != screening.NOT_CANDIDATE for v in found]),
    }


def train_and_save(
    corpus: Path,
    out: Path = screening_model.ARTEFACT,
    *,
    progress: Callable[[int], object] = lambda _n: None,
) -> Model:
    """Train on the ``train`` part of ``corpus``; record beside the artefact the data's hash and
    the figures on the held-back part (which nothing was tuned on)."""
    texts = load_corpus(corpus)
    train = [t for t in texts if t.split == "train"]
    held_back = [t for t in texts if t.split == "held_back"]
    progress(1)
    model = fit(train)
    progress(1)
    held = verdict_figures(held_back, verdicts(model, held_back))
    progress(1)
    meta = {
        "trained_on": len(train),
        "held_back": len(held_back),
        "data_sha256": screening_model.data_hash(
            (t.id, "incident" if t.incident else "not_incident", t.text) for t in train
        ),
        "c": C,
        "features": "sublinear tf-idf: char_wb 2-5 of folded, skeletal words; word 1-2 of lemmas",
        "weights": int(model.indices.size),
        "held_back_figures": {name: f.as_dict() for name, f in held.items()},
    }
    model = Model(model.indices, model.weights, model.intercept, model.idf, meta)
    screening_model.save(model, out)
    screening_model.load.cache_clear()
    return model
