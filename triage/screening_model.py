"""The trained half of screening: a linear classifier over character and word n-grams.

Character n-grams cope with what word lists cannot: inflection (Russian and Kazakh endings),
transliteration and misspelling. Each text is read three ways — its folded words, their
script-independent skeleton (``избил`` = ``izbil``, ``әйелін`` = ``äielin``), and Russian words
reduced to their lemma by pymorphy3 — hashed into one sparse vector, and scored by a logistic
regression. The model is small (its non-zero weights only), explainable (every word's share of
the score can be shown), loaded once from the package, and versioned with the hash of the data it
was trained on and the figures it reached on the held-back part (``triage/screening_data/``).

Pure apart from reading its own artefact: text in, numbers out; no Flask, no database.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer

from .screening_text import fold, skeleton

ARTEFACT = Path(__file__).resolve().parent / "screening_data"
FORMAT = "triage-screening-model/1"

_WORD = re.compile(r"[^\W_]+")
_KK_ONLY = frozenset("әғқңөұүһі")
_CHAR_FEATURES = 2**20
_WORD_FEATURES = 2**19


@lru_cache(maxsize=1)
def _morph() -> Any:
    import pymorphy3  # loaded on first use: its dictionaries take a moment and some memory

    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=200_000)
def _lemma(word: str) -> str:
    """A Russian Cyrillic word's normal form (избила → избить); other words as they are."""
    if not any("\u0400" <= c <= "\u04ff" for c in word) or not _KK_ONLY.isdisjoint(word):
        return word
    return str(_morph().parse(word)[0].normal_form)


@dataclass(frozen=True)
class Views:
    """The three readings of a text the features are taken from, word by word."""

    spans: tuple[tuple[int, int], ...]
    folded: tuple[str, ...]
    skeletal: tuple[str, ...]
    lemmas: tuple[str, ...]


def views(text: str) -> Views:
    spans, folded = [], []
    for match in _WORD.finditer(text):
        spans.append(match.span())
        folded.append(fold(match.group()))
    return Views(
        spans=tuple(spans),
        folded=tuple(folded),
        skeletal=tuple(skeleton(w) or w for w in folded),
        lemmas=tuple(_lemma(w) for w in folded),
    )


def _hashing(analyzer: str, ngrams: tuple[int, int], n_features: int) -> HashingVectorizer:
    return HashingVectorizer(
        analyzer=analyzer,
        ngram_range=ngrams,
        n_features=n_features,
        alternate_sign=False,
        norm=None,
        lowercase=False,
        token_pattern=r"\S+",  # noqa: S106 (a regular expression, not a password)
    )


#: The three readings and how each is hashed: character n-grams of the folded and of the
#: skeletal words (within word boundaries), word unigrams and bigrams of the lemmas.
_BLOCKS = (
    ("folded", _hashing("char_wb", (2, 5), _CHAR_FEATURES)),
    ("skeletal", _hashing("char_wb", (2, 5), _CHAR_FEATURES)),
    ("lemmas", _hashing("word", (1, 2), _WORD_FEATURES)),
)
N_FEATURES = 2 * _CHAR_FEATURES + _WORD_FEATURES


def counts(all_views: Sequence[Views]) -> list[csr_matrix]:
    """Raw n-gram counts of many texts, one matrix per reading."""
    return [
        csr_matrix(vectorizer.transform([" ".join(getattr(v, name)) for v in all_views]))
        for name, vectorizer in _BLOCKS
    ]


@dataclass(frozen=True)
class Idf:
    """Inverse document frequencies of one reading: for the n-grams seen in training, and the
    value every unseen one gets (scikit-learn's smoothed formula)."""

    indices: np.ndarray[Any, np.dtype[np.int32]]
    values: np.ndarray[Any, np.dtype[np.float32]]
    unseen: float
    size: int

    @classmethod
    def fit(cls, matrix: csr_matrix) -> Idf:
        documents = matrix.shape[0]
        frequency = np.bincount(matrix.indices, minlength=matrix.shape[1])
        seen = np.flatnonzero(frequency).astype(np.int32)
        values = np.log((1 + documents) / (1 + frequency[seen])) + 1
        return cls(
            seen, values.astype(np.float32), float(np.log(1 + documents) + 1), matrix.shape[1]
        )

    def transformer(self) -> TfidfTransformer:
        dense = np.full(self.size, self.unseen, dtype=np.float64)
        dense[self.indices] = self.values
        transformer = TfidfTransformer(sublinear_tf=True)
        transformer.idf_ = dense
        return transformer


def weighted(blocks: Sequence[csr_matrix], idfs: Sequence[TfidfTransformer]) -> csr_matrix:
    """Sublinear tf-idf of each reading, each row normalised per reading, joined."""
    return csr_matrix(hstack([t.transform(b) for b, t in zip(blocks, idfs, strict=True)]))


@dataclass(frozen=True, eq=False)
class Model:
    """A logistic regression over tf-idf ``features``: its non-zero weights, its intercept and
    the inverse document frequencies of its training data."""

    indices: np.ndarray[Any, np.dtype[np.int32]]
    weights: np.ndarray[Any, np.dtype[np.float32]]
    intercept: float
    idf: tuple[Idf, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def _dense(self) -> np.ndarray[Any, np.dtype[np.float32]]:
        dense = np.zeros(N_FEATURES, dtype=np.float32)
        dense[self.indices] = self.weights
        return dense

    @cached_property
    def _transformers(self) -> tuple[TfidfTransformer, ...]:
        return tuple(i.transformer() for i in self.idf)

    def features(self, all_views: Sequence[Views]) -> csr_matrix:
        return weighted(counts(all_views), self._transformers)

    def probabilities(self, texts: Iterable[str]) -> list[float]:
        matrix = self.features([views(t) for t in texts])
        logits = matrix @ self._dense + self.intercept
        return [float(p) for p in 1.0 / (1.0 + np.exp(-logits))]

    def probability(self, text: str) -> float:
        return self.probabilities([text])[0]

    def word_shares(self, text: str) -> list[tuple[int, int, float]]:
        """Each word's share of the score (character offsets and weight), largest first.

        A word's share is the weighted sum of its own character n-grams (they never cross a word
        boundary) in the text's vector: what a reviewer sees highlighted as "why".
        """
        v = views(text)
        if not v.spans:
            return []
        contribution = self.features([v]).multiply(self._dense).tocsr()
        by_feature = np.zeros(N_FEATURES, dtype=np.float32)
        by_feature[contribution.indices] = contribution.data
        alone = [Views((span,), (f,), (k,), ("",)) for span, f, k in zip(*_words(v), strict=True)]
        folded, skeletal, _ = counts(alone)
        shares = []
        for n, (start, end) in enumerate(v.spans):
            own = folded.indices[folded.indptr[n] : folded.indptr[n + 1]]
            skel = skeletal.indices[skeletal.indptr[n] : skeletal.indptr[n + 1]] + _CHAR_FEATURES
            shares.append((start, end, float(by_feature[own].sum() + by_feature[skel].sum())))
        return sorted(shares, key=lambda s: -s[2])


def _words(v: Views) -> tuple[tuple[tuple[int, int], ...], tuple[str, ...], tuple[str, ...]]:
    return v.spans, v.folded, v.skeletal


def save(model: Model, folder: Path = ARTEFACT) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = {
        "indices": model.indices,
        "weights": model.weights.astype(np.float16),
        "intercept": np.array([model.intercept]),
    }
    for n, idf in enumerate(model.idf):
        arrays[f"idf{n}_indices"] = idf.indices
        arrays[f"idf{n}_values"] = idf.values.astype(np.float16)
        arrays[f"idf{n}_meta"] = np.array([idf.unseen, idf.size])
    np.savez_compressed(folder / "model.npz", **arrays)
    meta = {"format": FORMAT, **model.meta}
    (folder / "model.json").write_text(
        json.dumps(meta, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )


@lru_cache(maxsize=1)
def load(folder: Path = ARTEFACT) -> Model:
    """The packaged model, read once per process."""
    meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise ValueError(f"{folder / 'model.json'} is not a {FORMAT} artefact")
    with np.load(folder / "model.npz") as data:
        idf = tuple(
            Idf(
                indices=data[f"idf{n}_indices"].astype(np.int32),
                values=data[f"idf{n}_values"].astype(np.float32),
                unseen=float(data[f"idf{n}_meta"][0]),
                size=int(data[f"idf{n}_meta"][1]),
            )
            for n in range(len(_BLOCKS))
        )
        return Model(
            indices=data["indices"].astype(np.int32),
            weights=data["weights"].astype(np.float32),
            intercept=float(data["intercept"][0]),
            idf=idf,
            meta=meta,
        )


def data_hash(texts_and_labels: Iterable[tuple[str, str, str]]) -> str:
    """SHA-256 over (id, label, text) of the training data, in id order: names what was used."""
    digest = hashlib.sha256()
    for item_id, label, text in sorted(texts_and_labels):
        digest.update(json.dumps([item_id, label, text], ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
