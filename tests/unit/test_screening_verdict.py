"""The one verdict of screening (``screening.screen``): consistent with its level, with the
rules' severe signals as a floor, its known limits pinned, and the packaged model in step with
the corpus it was trained on."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage import screening, screening_model, screening_training
from triage.screening import CANDIDATE, NOT_CANDIDATE, REVIEW, SEVERE_KINDS, screen

CORPUS = Path(__file__).resolve().parents[1] / "data" / "screening"

WORDS = st.sampled_from(
    [
        "муж",
        "жена",
        "избил",
        "убью",
        "нож",
        "ножом",
        "душил",
        "сосед",
        "вечер",
        "сериал",
        "матч",
        "husband",
        "wife",
        "kill",
        "knife",
        "choked",
        "tomorrow",
        "күйеуі",
        "әйелін",
        "ұрды",
        "өлтіремін",
        "пышақ",
        "келін",
        "ене",
        "football",
        "film",
    ]
)


@settings(max_examples=60, deadline=None)
@given(st.lists(WORDS, min_size=1, max_size=12).map(" ".join))
def test_the_verdict_and_its_level_agree(text: str) -> None:
    found = screen(text)
    assert found.verdict in (CANDIDATE, REVIEW, NOT_CANDIDATE)
    assert found.candidate == (found.verdict == CANDIDATE)
    assert found.reaches_reviewer == (found.verdict != NOT_CANDIDATE)
    assert (found.level is None) == (found.verdict == NOT_CANDIDATE)
    assert found.probability is not None and 0.0 <= found.probability <= 1.0
    if found.kinds & SEVERE_KINDS and "family" in found.kinds and found.probability >= 0.05:
        assert found.verdict != NOT_CANDIDATE


def test_the_verdict_follows_the_probability_bands() -> None:
    calm = screening.rules("Погода в Астане: завтра снег")
    assert screening.verdict_of(calm, 0.9) == CANDIDATE
    assert screening.verdict_of(calm, 0.4) == REVIEW
    assert screening.verdict_of(calm, 0.1) == NOT_CANDIDATE
    threat = screening.rules("Муж сказал жене: убью тебя")
    assert threat.kinds & SEVERE_KINDS and "family" in threat.kinds
    assert screening.verdict_of(threat, 0.1) == REVIEW  # the severe floor
    assert screening.verdict_of(threat, 0.01) == NOT_CANDIDATE  # the model all but rules it out


@pytest.mark.parametrize(
    "text",
    [
        "Соседка рассказала, что вчера муж избил её и выгнал из дома",
        "She told the hotline her ex-husband had choked her on Sunday",
        "Күйеуі әйелін ұрды, көршілер полиция шақырды",
        "muzh opyat izbil zhenu, sosedi vyzvali policiyu",
        "кеше күйеуі тағы пьяный келді, әйелін избил",
    ],
)
def test_reported_and_plain_incidents_are_candidates(text: str) -> None:
    assert screen(text).verdict == CANDIDATE


@pytest.mark.parametrize(
    "text",
    [
        "убил весь вечер на этот сериал",
        "my wife will kill me if I'm late again lol",
        "мама убьёт за двойку 😂",
        "әйелім мені өлтіреді кешіксем",
        "Ол әйелін ұрмады, тек айқайлады да кетті",
    ],
)
def test_idioms_jokes_and_plain_negation_are_not_candidates(text: str) -> None:
    """A joke about "killing" may land in the review band (a family word beside a threat to
    kill is never dropped), but it is never a candidate."""
    assert screen(text).verdict != CANDIDATE


@pytest.mark.xfail(strict=True, reason="known limit: the verb's object is not parsed")
@pytest.mark.parametrize(
    "text",
    ["Сын сказал матери, что избил подушку от злости", "муж пришёл домой, а сосед избил кошку"],
)
def test_known_limit_the_verbs_object(text: str) -> None:
    assert screen(text).verdict != CANDIDATE


@pytest.mark.xfail(strict=True, reason="known limit: a hypothetical reads as a fact")
@pytest.mark.parametrize(
    "text",
    [
        "если бы муж избил жену, она бы ушла",
        "If he ever hits me I will leave him, I told my husband on our first date",
        "Егер күйеуім мені ұрса, кетемін деп айттым",
    ],
)
def test_known_limit_hypotheticals(text: str) -> None:
    assert screen(text).verdict != CANDIDATE


@pytest.mark.parametrize(
    "text",
    [
        "Күйеуім мені ешқашан ұрмаған, біз тату тұрамыз",
        "ағасы қарындасын ұрмаған, көршілер өтірік айтты",
        "Kúieýim meni eshqashan urmaǵan",
        "күйеуі әйелін ешқашан қорқытпаған",
    ],
)
def test_kazakh_negation_inside_the_verb_is_not_a_candidate(text: str) -> None:
    """The model reads the negative suffix (ұр-ма-ған, қорқыт-па-ған) that the rules cannot; a
    borderline one goes to the review band."""
    assert screen(text).verdict != CANDIDATE


@pytest.mark.xfail(strict=True, reason="known limit: Kazakh negation inside a rarer verb")
def test_known_limit_kazakh_negation_inside_a_rarer_verb() -> None:
    assert screen("күйеуі әйелін ешқашан шапалақпен тартпаған").verdict != CANDIDATE


def test_the_packaged_model_was_trained_on_this_corpus() -> None:
    """Change the corpus and the artefact is out of date: run `triage screening train`."""
    meta = screening_model.load().meta
    train = [t for t in screening_training.load_corpus(CORPUS) if t.split == "train"]
    assert meta["trained_on"] == len(train)
    assert meta["data_sha256"] == screening_model.data_hash(
        (t.id, "incident" if t.incident else "not_incident", t.text) for t in train
    )


def test_the_held_back_figures_are_what_the_model_gives() -> None:
    """The figures recorded beside the artefact are reproduced from the held-back part."""
    model = screening_model.load()
    held_back = [t for t in screening_training.load_corpus(CORPUS) if t.split == "held_back"]
    found = screening_training.verdict_figures(
        held_back, screening_training.verdicts(model, held_back)
    )
    recorded = model.meta["held_back_figures"]
    assert {name: f.as_dict() for name, f in found.items()} == recorded


def test_the_split_is_fixed_by_id() -> None:
    assert screening_training.split_of("ru-0001") == screening_training.split_of("ru-0001")
    ids = [f"x-{n:04d}" for n in range(2000)]
    held = sum(screening_training.split_of(i) == "held_back" for i in ids)
    assert 0.25 < held / len(ids) < 0.35


# -- Kazakh negation inside the verb, read by the rules ------------------------------------------


@pytest.mark.parametrize(
    ("word", "negated"),
    [
        ("ұрмаған", True),
        ("ұрмайды", True),
        ("urmaǵan", True),  # the 2021 Latin alphabet
        ("urmagan", True),  # chat typing
        ("қорқытпаған", True),
        ("теппеді", True),  # теп-пе-ді: the doubled letter
        ("өлтірмеді", True),
        ("ұрды", False),
        ("ұрады", False),  # present, affirmative
        ("ұрған", False),
        ("ұрмақ", False),  # "is going to hit"
        ("ұрпақ", False),  # "generation"
        ("тебеді", False),  # "kicks"
        ("тепті", False),
    ],
)
def test_a_kazakh_violent_verb_negated_inside_it_is_read_as_negated(
    word: str, negated: bool
) -> None:
    reading = screening.rules(f"Күйеуі әйелін {word}")
    assert any(cue.kind == "negated" for cue in reading.context) is negated
    if negated:
        assert not reading.kinds & {"violence", "threat"}, "a negated act is no act"


def test_a_text_whose_only_act_is_negated_is_a_candidate_only_when_the_model_is_sure() -> None:
    only_negated = screening.rules("Күйеуім мені ешқашан ұрмаған")
    affirmed = screening.rules("Күйеуім мені ұрмады, бірақ өлтіремін деп қорқытты")
    cap = screening.NEGATED_CAP
    assert screening.verdict_of(only_negated, cap - 0.05, threshold=0.4, review=0.2) == REVIEW
    assert screening.verdict_of(only_negated, cap, threshold=0.4, review=0.2) == CANDIDATE
    assert screening.verdict_of(affirmed, cap - 0.05, threshold=0.4, review=0.2) == CANDIDATE
