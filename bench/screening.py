"""Benchmark: screening on the held-back part of the corpus, and its speed.

Prints recall, precision and F1 per language form and per source kind on the texts held back
from training and tuning (``triage.screening_training.split_of``), for three readings:

- ``rules``: the lexicon's rules alone (what screening was before the model);
- ``candidate``: the one verdict's candidates;
- ``reaches``: candidates and the review band together — every text a person will see.

Candidates and the review band are taken from the packaged model's thresholds for each text's
language form (chosen on cross-validation of the training part, printed first). Then the
milliseconds per text of ``screening.screen`` (rules, model and verdict), as the median and the
95th percentile over the held-back texts, and the same for 5 KB articles.

    .venv/bin/python bench/screening.py
    .venv/bin/python bench/screening.py --corpus path/to/other/jsonl/folder --all

``--all`` measures every text of the corpus instead of the held-back part: use it for a corpus
none of the model's texts came from. ``--layers`` also trains the model on the training part
with fewer feature blocks (character n-grams of the folded words only; plus those of their
skeleton; plus word n-grams of the Russian lemmas; plus word n-grams of the skeletal words: the
packaged model's blocks) and prints what each block adds on the held-back part. ``--cv`` prints
only what designs are compared by (docs/screening.md, "What was tried"): the packaged design's
out-of-fold scores on the training part, 4-fold cross-validation grouped by writer, as each
form's precision where its recall is 0.95 and its recall where its precision is 0.90; the
held-back part is not read.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

# Run as a script, bench/ comes first on sys.path, and a bench script named like a module of the
# standard library (bench/queue.py) would shadow it for scikit-learn's imports.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from triage import screening, screening_model  # noqa: E402
from triage.screening_training import (  # noqa: E402
    C,
    Figures,
    Text,
    by_group,
    cross_validated,
    figures,
    load_corpus,
)

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "screening"


def _row(name: str, f: Figures) -> str:
    return (
        f"  {name:<10} n={f.n:<5} incidents={f.incidents:<4} "
        f"recall {f.recall:.3f}  precision {f.precision:.3f}  F1 {f.f1:.3f}"
    )


def report(texts: Sequence[Text], flagged: Sequence[bool], title: str) -> None:
    print(f"{title}")
    print(_row("all", figures(texts, flagged)))
    groups: list[tuple[str, Callable[[Text], str]]] = [
        ("language form", lambda t: t.lang),
        ("source kind", lambda t: t.source),
    ]
    for heading, key in groups:
        print(f"  by {heading}:")
        for name, f in by_group(texts, flagged, key).items():
            print("  " + _row(name, f))


def timings(texts: Sequence[str]) -> tuple[float, float]:
    screening.screen("warm up: the model and the lemmatiser load once")
    spent = []
    for text in texts:
        started = time.perf_counter()
        screening.screen(text)
        spent.append((time.perf_counter() - started) * 1000)
    spent.sort()
    return statistics.median(spent), spent[int(0.95 * (len(spent) - 1))]


def layers(corpus: Path) -> None:
    """What each reading of the words adds: the same training, fewer feature blocks."""
    texts = load_corpus(corpus)
    train = [t for t in texts if t.split == "train"]
    held = [t for t in texts if t.split == "held_back"]
    train_blocks = screening_model.counts([screening_model.views(t.text) for t in train])
    held_blocks = screening_model.counts([screening_model.views(t.text) for t in held])
    labels = np.array([t.incident for t in train])
    names = ("folded", "+skeleton", "+lemmas", "+sk.words")
    print("what each block adds (candidates at probability 0.5, held-back part):")
    for used in range(1, len(names) + 1):
        idf = [screening_model.Idf.fit(b).transformer() for b in train_blocks[:used]]
        x_train = screening_model.weighted(train_blocks[:used], idf)
        x_held = screening_model.weighted(held_blocks[:used], idf)
        model = LogisticRegression(C=C, max_iter=5000, class_weight="balanced")
        model.fit(x_train, labels)
        flagged = list(model.predict_proba(x_held)[:, 1] >= screening.MODEL_CANDIDATE)
        print(_row(names[used - 1], figures(held, flagged)))
        for lang, f in by_group(held, flagged, lambda t: t.lang).items():
            print(f"      {lang:<8} recall {f.recall:.3f}  precision {f.precision:.3f}")
    print()


def threshold_free(texts: Sequence[Text], assessed: Sequence[tuple[float, str]]) -> None:
    """Each form's precision at recall 0.95 and recall at precision 0.90: figures that need no
    threshold, so designs compare before the per-form thresholds are chosen."""
    print("cross-validated by writer on the training part (no threshold):")
    for form in screening_model.FORMS:
        rows = sorted(
            ((p, t.incident) for t, (p, f) in zip(texts, assessed, strict=True) if f == form),
            key=lambda row: -row[0],
        )
        incidents = sum(incident for _p, incident in rows)
        if not incidents:
            continue
        found, at_recall, at_precision = 0, 0.0, 0.0
        for n, (_p, incident) in enumerate(rows, 1):
            found += incident
            if not at_recall and found >= 0.95 * incidents:
                at_recall = found / n
            if found / n >= 0.90:
                at_precision = max(at_precision, found / incidents)
        print(
            f"  {form:<8} precision at recall 0.95: {at_recall:.3f}  "
            f"recall at precision 0.90: {at_precision:.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--all", action="store_true", help="every text, not the held-back part")
    parser.add_argument("--layers", action="store_true", help="also measure each reading's share")
    parser.add_argument("--cv", action="store_true", help="only the cross-validated comparison")
    args = parser.parse_args()
    if args.cv:
        train = [t for t in load_corpus(args.corpus) if t.split == "train"]
        threshold_free(train, cross_validated(train))
        return
    if args.layers:
        layers(args.corpus)

    texts = load_corpus(args.corpus)
    if not args.all:
        texts = [t for t in texts if t.split == "held_back"]
    print(f"{len(texts)} texts ({'all of' if args.all else 'held back from'} {args.corpus})")
    model = screening_model.load()
    cut = ", ".join(f"{f} {model.threshold(f):.2f}" for f in screening_model.FORMS)
    band = ", ".join(f"{f} {model.review_threshold(f):.2f}" for f in screening_model.FORMS)
    print(f"candidate thresholds by language form: {cut}")
    print(f"review band from, by language form: {band}\n")
    found = [screening.screen(t.text) for t in texts]
    report(texts, [screening.rules(t.text).candidate for t in texts], "rules alone")
    report(texts, [f.candidate for f in found], "candidates (the verdict)")
    report(texts, [f.reaches_reviewer for f in found], "reaching a reviewer (candidates + review)")
    review = sum(f.review for f in found)
    print(f"review band: {review} texts ({review / max(1, len(found)):.1%})\n")

    median, p95 = timings([t.text for t in texts])
    print(f"screen(): median {median:.2f} ms, 95th percentile {p95:.2f} ms per text")
    long_texts = [(t.text + "\n\n") * (5120 // max(1, len(t.text)) + 1) for t in texts[:50]]
    median, p95 = timings([t[:5120] for t in long_texts])
    print(f"screen() on 5 KB articles: median {median:.2f} ms, 95th percentile {p95:.2f} ms")


if __name__ == "__main__":
    main()
