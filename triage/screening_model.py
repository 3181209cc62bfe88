"""The trained half of screening: a linear classifier over character and word n-grams.

Character n-grams cope with what word lists cannot: inflection (Russian and Kazakh endings),
transliteration and misspelling. Each text is read three ways — its folded words, their
script-independent skeleton (``избил`` = ``izbil``, ``әйелін`` = ``äielin``), and Russian words
reduced to their lemma by pymorphy3 — and four blocks of n-grams are taken from them (character
n-grams of the folded and of the skeletal words, word n-grams of the lemmas and of the skeletal
words), hashed into one sparse vector and scored by a logistic regression. The model is small
(its non-zero weights only), explainable (every word's share of the score can be shown), loaded
once from the package, and versioned with the hash of the data it was trained on and the figures
it reached on the held-back part (``triage/screening_data/``).

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

from .screening_lexicon import FUNCTION_WORDS
from .screening_text import KK_LATIN_LETTERS, KK_LETTERS, fold, is_cyrillic, is_latin, skeleton

ARTEFACT = Path(__file__).resolve().parent / "screening_data"
FORMAT = "triage-screening-model/3"

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


#: The language forms of the corpus, which the candidate threshold is chosen for.
FORMS = ("en", "ru", "ru-latn", "kk", "kk-latn", "kk-ru")
_EN = frozenset(FUNCTION_WORDS["en"].split())
_RU_SK = frozenset(
    skeleton(fold(w)) for w in (FUNCTION_WORDS["ru"] + " " + FUNCTION_WORDS["ru_latin"]).split()
)
_KK_SK = frozenset(
    skeleton(fold(w)) for w in (FUNCTION_WORDS["kk"] + " " + FUNCTION_WORDS["kk_latin"]).split()
)
_RU_LATIN_SK = _RU_SK - _KK_SK - _EN
_KK_LATIN_SK = _KK_SK - _RU_SK - _EN
_RU_ONLY = frozenset(FUNCTION_WORDS["ru"].split()) - frozenset(FUNCTION_WORDS["kk"].split())


def form_of(v: Views) -> str:
    """The language form a text is written in (one of ``FORMS``), from its letters and function
    words: Latin text is English, Russian or Kazakh by which function words it has; Cyrillic text
    with Kazakh letters is Kazakh, or Kazakh–Russian code-switching when a Russian function word
    is among its words; other Cyrillic text is Russian."""
    latin = sum(is_latin(c) for w in v.folded for c in w)
    cyrillic = sum(is_cyrillic(c) for w in v.folded for c in w)
    if latin > cyrillic:
        en = sum(w in _EN for w in v.folded)
        kk = sum(
            s in _KK_LATIN_SK or not KK_LATIN_LETTERS.isdisjoint(w)
            for w, s in zip(v.folded, v.skeletal, strict=True)
        )
        ru = sum(s in _RU_LATIN_SK for s in v.skeletal)
        if en and en >= max(ru, kk):
            return "en"
        return "kk-latn" if kk >= ru and kk else "ru-latn" if ru else "en"
    kazakh = sum(not KK_LETTERS.isdisjoint(w) for w in v.folded)
    if kazakh < 0.05 * max(1, len(v.folded)):
        return "ru"
    return "kk-ru" if any(w in _RU_ONLY for w in v.folded) else "kk"


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


#: The feature blocks, each a reading and how it is hashed: character n-grams of the folded and
#: of the skeletal words (within word boundaries), word unigrams and bigrams of the lemmas and of
#: the skeletal words. The skeletal words are what ``избил жену`` and ``izbil zhenu`` share as a
#: phrase; on cross-validation by writer they raised every form's recall at precision 0.9.
_BLOCKS = (
    ("folded", _hashing("char_wb", (2, 5), _CHAR_FEATURES)),
    ("skeletal", _hashing("char_wb", (2, 5), _CHAR_FEATURES)),
    ("lemmas", _hashing("word", (1, 2), _WORD_FEATURES)),
    ("skeletal", _hashing("word", (1, 2), _WORD_FEATURES)),
)
N_FEATURES = 2 * _CHAR_FEATURES + 2 * _WORD_FEATURES
_SKELETAL_WORDS = 2 * _CHAR_FEATURES + _WORD_FEATURES  # where the last block's columns begin
DEFAULT_THRESHOLD = 0.5
DEFAULT_REVIEW = 0.3


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


#: How a reading's normalised row is weighed by how many distinct n-grams it has: by
#: ``(REFERENCE_NGRAMS / n) ** LENGTH_POWER``. Unit rows made a short text's score the intercept
#: plus a few n-grams' worth (the score of a unit row grows with the square root of its
#: n-grams), so a plain headline ("man jailed for beating wife") fell below every threshold:
#: on cross-validation by writer (sets 1-9) the incidents under 13 words were found at 0.63.
#: The fourth root keeps most of what a long text adds and lets a short one count: recall of
#: those short incidents 0.80 at the same precision, precision at recall 0.95 up in five forms
#: of six (0.904 -> 0.912 on average). 126 n-grams is the size at which a row keeps its unit norm
#: (a typical text's four readings then weigh together as four unit rows did).
LENGTH_POWER = 0.25
REFERENCE_NGRAMS = 126.0


def _by_length(out: csr_matrix) -> csr_matrix:
    """``out``'s rows (each of unit norm) weighed by their number of n-grams, in place."""
    sizes = np.diff(out.indptr)
    factor = (REFERENCE_NGRAMS / np.maximum(sizes, 1)) ** LENGTH_POWER
    out.data *= np.repeat(factor, sizes)
    return out


def _tfidf(block: csr_matrix, idf: np.ndarray[Any, np.dtype[np.float64]]) -> csr_matrix:
    """Sublinear tf-idf of one reading's counts, each row normalised (as ``TfidfTransformer``
    with ``sublinear_tf=True`` does), then weighed by its length (``_by_length``)."""
    out = csr_matrix(block, dtype=np.float64, copy=True)
    out.data = (np.log(out.data) + 1.0) * idf[out.indices]
    rows = np.repeat(np.arange(out.shape[0]), np.diff(out.indptr))
    norms = np.sqrt(np.bincount(rows, weights=out.data**2, minlength=out.shape[0]))
    norms[norms == 0] = 1.0
    out.data /= norms[rows]
    return _by_length(out)


def weighted(blocks: Sequence[csr_matrix], idfs: Sequence[TfidfTransformer]) -> csr_matrix:
    """Sublinear tf-idf of each reading, each row normalised per reading and weighed by its
    length (``_by_length``), joined: what ``Model.features`` computes, through scikit-learn."""
    return csr_matrix(
        hstack(
            [
                _by_length(csr_matrix(t.transform(b), dtype=np.float64))
                for b, t in zip(blocks, idfs, strict=True)
            ]
        )
    )


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

    @cached_property
    def _idf_dense(self) -> tuple[np.ndarray[Any, np.dtype[np.float64]], ...]:
        return tuple(np.asarray(t.idf_, dtype=np.float64) for t in self._transformers)

    def features(self, all_views: Sequence[Views]) -> csr_matrix:
        """The same vectors as ``weighted`` (sublinear tf-idf, each reading normalised), computed
        directly on the sparse counts: scikit-learn's checks cost more than the arithmetic on
        one short text."""
        return csr_matrix(
            hstack(
                [_tfidf(b, idf) for b, idf in zip(counts(all_views), self._idf_dense, strict=True)]
            )
        )

    def _logits(self, matrix: csr_matrix) -> np.ndarray[Any, Any]:
        # Gathers the weights of the n-grams present: no product over all N_FEATURES columns.
        rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
        contribution = matrix.data * self._dense[matrix.indices]
        return np.bincount(rows, weights=contribution, minlength=matrix.shape[0]) + self.intercept

    def probabilities(self, texts: Iterable[str]) -> list[float]:
        return [p for p, _form in self.assess(texts)]

    def probability(self, text: str) -> float:
        return self.probabilities([text])[0]

    def assess(self, texts: Iterable[str]) -> list[tuple[float, str]]:
        """Each text's probability of reporting an incident, and its language form."""
        all_views = [views(t) for t in texts]
        if not all_views:
            return []
        logits = self._logits(self.features(all_views))
        return [
            (float(p), form_of(v))
            for p, v in zip(1.0 / (1.0 + np.exp(-logits)), all_views, strict=True)
        ]

    def threshold(self, form: str) -> float:
        """The probability from which a text of this language form is a candidate: chosen per
        form on cross-validation of the training part (``model.json``'s ``thresholds``), 0.5
        for a form without one."""
        return float(self.meta.get("thresholds", {}).get(form, DEFAULT_THRESHOLD))

    def review_threshold(self, form: str) -> float:
        """The probability from which a text of this language form goes at least to the review
        band: chosen per form on cross-validation of the training part
        (``model.json``'s ``review_thresholds``), ``DEFAULT_REVIEW`` for a form without one."""
        return float(self.meta.get("review_thresholds", {}).get(form, DEFAULT_REVIEW))

    def word_shares(self, text: str) -> list[tuple[int, int, float]]:
        """Each word's share of the score (character offsets and weight), largest first.

        A word's share is the weighted sum of its own character n-grams (they never cross a word
        boundary) and of its skeleton as a word in the text's vector: what a reviewer sees
        highlighted as "why". Word bigrams and lemmas are left out: they belong to no one word.
        """
        v = views(text)
        if not v.spans:
            return []
        contribution = self.features([v]).multiply(self._dense).tocsr()
        by_feature = np.zeros(N_FEATURES, dtype=np.float32)
        by_feature[contribution.indices] = contribution.data
        alone = [Views((span,), (f,), (k,), ("",)) for span, f, k in zip(*_words(v), strict=True)]
        folded, skeletal, _, word = counts(alone)
        shares = []
        for n, (start, end) in enumerate(v.spans):
            own = folded.indices[folded.indptr[n] : folded.indptr[n + 1]]
            skel = skeletal.indices[skeletal.indptr[n] : skeletal.indptr[n + 1]] + _CHAR_FEATURES
            whole = word.indices[word.indptr[n] : word.indptr[n + 1]] + _SKELETAL_WORDS
            share = by_feature[own].sum() + by_feature[skel].sum() + by_feature[whole].sum()
            shares.append((start, end, float(share)))
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
