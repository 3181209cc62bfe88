"""Per-language-form candidate thresholds: how a text's form is read, how each form's threshold
is chosen on out-of-fold probabilities, and that the packaged model carries one per form and
screening applies it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from triage import screening, screening_model, screening_training
from triage.screening import CANDIDATE, NOT_CANDIDATE, REVIEW
from triage.screening_model import form_of, views
from triage.screening_training import Text


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("My husband hit me again last night and took my phone", "en"),
        ("Муж опять избил жену, соседи вызвали полицию", "ru"),
        ("muzh opyat izbil zhenu, sosedi vyzvali policiyu, ya ne znayu chto delat", "ru-latn"),
        ("Күйеуі әйелін ұрды, көршілер полиция шақырды", "kk"),
        ("kúıeýim meni taǵy urdy, balalar qorqyp qaldy", "kk-latn"),
        ("keshe kuieuim meni urdy jane telefonymdy aldy, bul ush ret", "kk-latn"),
        ("кеше күйеуі тағы пьяный келді, и опять её избил", "kk-ru"),
    ],
)
def test_the_language_form_is_read_from_letters_and_function_words(text: str, form: str) -> None:
    assert form_of(views(text)) == form


def _text(n: int, incident: bool, lang: str) -> Text:
    return Text(f"t-{n}", "", incident, lang, "online", False, False, "writer")


def test_each_form_gets_the_lowest_threshold_that_is_precise_enough() -> None:
    # en: at 0.40 and up the candidates are 9 right in 10; below, a false one joins.
    en = [(0.35, False), *[(0.45, True)] * 9, (0.50, False)]
    # ru: precision never reaches 0.9 inside the bounds: the upper bound.
    ru = [(0.90, True), (0.90, False)]
    rows = [(p, incident, "en") for p, incident in en] + [(p, i, "ru") for p, i in ru]
    texts = [_text(n, incident, form) for n, (_p, incident, form) in enumerate(rows)]
    assessed = [(p, form) for p, _incident, form in rows]
    chosen = screening_training.thresholds(texts, assessed)
    assert chosen == {"en": 0.36, "ru": screening_training.THRESHOLDS[1]}


def test_each_form_gets_the_highest_review_threshold_that_keeps_its_incidents() -> None:
    # en: 97 of its 100 incidents are at 0.25 or more, the other three lower down.
    en = [*[(0.9, True)] * 90, *[(0.25, True)] * 7, (0.2, True), (0.15, True), (0.05, True)]
    en += [(0.28, False)] * 20  # negatives do not move the review threshold
    # ru: a fifth of its incidents are under every bound: the lowest bound.
    ru = [*[(0.8, True)] * 8, (0.05, True), (0.05, True)]
    rows = [(p, incident, "en") for p, incident in en] + [(p, i, "ru") for p, i in ru]
    texts = [_text(n, incident, form) for n, (_p, incident, form) in enumerate(rows)]
    assessed = [(p, form) for p, _incident, form in rows]
    chosen = screening_training.review_thresholds(texts, assessed)
    assert chosen == {"en": 0.25, "ru": screening_training.REVIEW_THRESHOLDS[0]}


def test_the_verdict_uses_the_given_thresholds() -> None:
    calm = screening.rules("Погода в Астане: завтра снег")
    assert screening.verdict_of(calm, 0.45, threshold=0.4) == CANDIDATE
    assert screening.verdict_of(calm, 0.45, threshold=0.6) == REVIEW
    assert screening.verdict_of(calm, 0.2, threshold=0.6, review=0.15) == REVIEW
    assert screening.verdict_of(calm, 0.2, threshold=0.6, review=0.25) == NOT_CANDIDATE


def test_the_packaged_model_has_a_threshold_per_form_and_screen_applies_it() -> None:
    model = screening_model.load()
    low, high = screening_training.THRESHOLDS
    review_low, review_high = screening_training.REVIEW_THRESHOLDS
    assert review_high <= screening.MODEL_REVIEW <= low
    for form in screening_model.FORMS:
        assert low <= model.threshold(form) <= high
        assert review_low <= model.review_threshold(form) <= review_high
    for text in ("Күйеуі әйелін ұрды, көршілер полиция шақырды", "muzh opyat prishel pyanyi"):
        [(probability, form)] = model.assess([text])
        found = screening.screen(text)
        expected = screening.verdict_of(
            screening.rules(text),
            probability,
            threshold=model.threshold(form),
            review=model.review_threshold(form),
        )
        assert found.verdict == expected


def test_training_chooses_thresholds_on_folds_grouped_by_writer(tmp_path: Path) -> None:
    """`triage screening train` on a tiny corpus of four writers: the artefact records a
    threshold for each form it saw, the cross-validated figures and the data's hash, and
    loads back to the same verdicts."""
    rows = []
    for writer in range(4):
        for n in range(6):
            incident = n % 2 == 0
            text = (
                f"муж избил жену {n}, соседи вызвали полицию"
                if incident
                else f"футбольный матч {n} закончился вничью, болельщики довольны"
            )
            rows.append(
                {
                    "id": f"w{writer}-{n:02d}",
                    "text": text,
                    "label": "incident" if incident else "not_incident",
                    "lang": "ru",
                    "source": "online",
                    "origin": f"writer {writer}",
                }
            )
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "corpus-ru.jsonl").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8"
    )
    out = tmp_path / "model"
    model = screening_training.train_and_save(corpus, out)
    loaded = screening_model.load(out)
    assert set(loaded.meta["thresholds"]) == set(loaded.meta["review_thresholds"]) == {"ru"}
    assert loaded.meta["cross_validated_candidates_by_form"]["ru"]["n"] == loaded.meta["trained_on"]
    assert loaded.meta["data_sha256"] == model.meta["data_sha256"]
    texts = screening_training.load_corpus(corpus)
    assert screening_training.verdicts(loaded, texts) == screening_training.verdicts(model, texts)
    assert screening.screen("муж избил жену").probability is not None  # the package's own
