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
from sklearn.model_selection import GroupKFold, StratifiedKFold

from . import screening, screening_model
from .screening_model import Idf, Model, counts, views, weighted

LABELS = ("incident", "not_incident")
LANG_FORMS = ("en", "ru", "ru-latn", "kk", "kk-latn", "kk-ru")
SOURCES = ("media", "online", "direct")
#: The share of the corpus held back from training and tuning, chosen by id.
HELD_BACK_TENTHS = 3
#: Inverse regularisation of the logistic regression (chosen by cross-validation on ``train``).
C = 10.0
#: Each language form's candidate threshold is the lowest probability (within ``THRESHOLDS``)
#: at which that form's candidates were right this often on cross-validation by writer.
TARGET_PRECISION = 0.90
THRESHOLDS = (0.30, 0.70)
#: Each form's review band begins at the highest probability (within ``REVIEW_THRESHOLDS``) at
#: which candidates and the band together found this share of that form's incidents on the same
#: cross-validation: the band absorbs the borderline texts instead of guessing them.
TARGET_REVIEW_RECALL = 0.97
REVIEW_THRESHOLDS = (0.10, 0.30)


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
    # Only the columns some text has: an n-gram no training text has keeps a zero weight under
    # the L2 penalty anyway, and the solver need not carry millions of them.
    used = np.flatnonzero(np.bincount(matrix.indices, minlength=matrix.shape[1]))
    classifier = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
    classifier.fit(matrix[:, used], labels)
    coef = classifier.coef_[0].astype(np.float32)
    keep = np.flatnonzero(np.abs(coef) > 1e-4)
    return Model(used[keep].astype(np.int32), coef[keep], float(classifier.intercept_[0]), idf)


def cross_validated(
    texts: Sequence[Text], *, folds: int = 4, c: float = C, seed: int = 15
) -> list[tuple[float, str]]:
    """Out-of-fold probabilities (and language forms) for ``texts``: what tuning may look at
    without touching the held-back part.

    The folds are grouped by ``origin`` (one writer's set of texts) when there are enough
    writers, so each text is scored by a model that saw nothing its writer wrote: how the model
    does on a new writer, not on more of the same one's texts.
    """
    labels = np.array([t.incident for t in texts])
    origins = np.array([t.origin for t in texts])
    out: list[tuple[float, str]] = [(0.0, "")] * len(texts)
    rows = np.zeros(len(texts))
    if len(set(origins)) >= folds:
        split = GroupKFold(n_splits=folds).split(rows, labels, origins)
    else:
        split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(rows, labels)
    for train_rows, test_rows in split:
        model = fit([texts[i] for i in train_rows], c=c)
        for i, found in zip(
            test_rows, model.assess([texts[i].text for i in test_rows]), strict=True
        ):
            out[i] = found
    return out


def thresholds(texts: Sequence[Text], assessed: Sequence[tuple[float, str]]) -> dict[str, float]:
    """Per language form (as ``screening_model.form_of`` reads it), the lowest probability in
    ``THRESHOLDS`` at which the candidates among ``texts`` reach ``TARGET_PRECISION``; the
    highest bound where none does. Meant for out-of-fold probabilities of the training part."""
    low, high = THRESHOLDS
    grid = [round(low + step / 100, 2) for step in range(round((high - low) * 100) + 1)]
    chosen: dict[str, float] = {}
    for form in screening_model.FORMS:
        rows = [(p, t.incident) for t, (p, f) in zip(texts, assessed, strict=True) if f == form]
        if not rows:
            continue
        chosen[form] = high
        for threshold in grid:
            flagged = [incident for p, incident in rows if p >= threshold]
            if flagged and sum(flagged) / len(flagged) >= TARGET_PRECISION:
                chosen[form] = threshold
                break
    return chosen


def review_thresholds(
    texts: Sequence[Text], assessed: Sequence[tuple[float, str]]
) -> dict[str, float]:
    """Per language form, the highest probability in ``REVIEW_THRESHOLDS`` from which the texts
    of that form among ``texts`` hold ``TARGET_REVIEW_RECALL`` of its incidents; the lowest bound
    where none does. Meant for out-of-fold probabilities of the training part."""
    low, high = REVIEW_THRESHOLDS
    grid = [round(high - step / 100, 2) for step in range(round((high - low) * 100) + 1)]
    chosen: dict[str, float] = {}
    for form in screening_model.FORMS:
        found = [p for t, (p, f) in zip(texts, assessed, strict=True) if f == form and t.incident]
        if not found:
            continue
        chosen[form] = low
        for threshold in grid:
            if sum(p >= threshold for p in found) >= TARGET_REVIEW_RECALL * len(found):
                chosen[form] = threshold
                break
    return chosen


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
    assessed = model.assess([t.text for t in texts])
    return [
        screening.verdict_of(
            screening.rules(t.text),
            p,
            threshold=model.threshold(form),
            review=model.review_threshold(form),
        )
        for t, (p, form) in zip(texts, assessed, strict=True)
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
    """Train on the ``train`` part of ``corpus``, with each language form's candidate threshold
    chosen on cross-validation of that part; record beside the artefact the data's hash, the
    thresholds and the figures on the held-back part (which nothing was tuned on)."""
    texts = load_corpus(corpus)
    train = [t for t in texts if t.split == "train"]
    held_back = [t for t in texts if t.split == "held_back"]
    out_of_fold = cross_validated(train)
    cut = thresholds(train, out_of_fold)
    band = review_thresholds(train, out_of_fold)
    cross = by_group(
        train,
        [p >= cut.get(form, screening_model.DEFAULT_THRESHOLD) for p, form in out_of_fold],
        lambda t: t.lang,
    )
    progress(1)
    model = fit(train)
    chosen = {"thresholds": cut, "review_thresholds": band}
    model = Model(model.indices, model.weights, model.intercept, model.idf, chosen)
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
        "thresholds": cut,
        "threshold_rule": (
            f"per language form: the lowest probability in {THRESHOLDS[0]}-{THRESHOLDS[1]} "
            f"with precision {TARGET_PRECISION} on 4-fold cross-validation of the training "
            "part grouped by writer"
        ),
        "review_thresholds": band,
        "review_rule": (
            f"per language form: the highest probability in {REVIEW_THRESHOLDS[0]}-"
            f"{REVIEW_THRESHOLDS[1]} from which {TARGET_REVIEW_RECALL} of the incidents reach a "
            "reviewer on the same cross-validation"
        ),
        "features": (
            "sublinear tf-idf: char_wb 2-5 of folded, skeletal words; "
            "word 1-2 of lemmas, skeletal words"
        ),
        "weights": int(model.indices.size),
        "held_back_figures": {name: f.as_dict() for name, f in held.items()},
        "cross_validated_candidates_by_form": {name: f.as_dict() for name, f in cross.items()},
    }
    model = Model(model.indices, model.weights, model.intercept, model.idf, meta)
    screening_model.save(model, out)
    screening_model.load.cache_clear()
    return model
