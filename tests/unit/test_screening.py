"""Screening of media and online text: incident reports in Russian, Kazakh and English (in any
script, typed any way) become candidates; sport, war, reviews, "family business" and general talk
about domestic violence do not; signals give the provisional level of DOMAIN.md."""

from __future__ import annotations

import dataclasses
import json
import time
import xml.etree.ElementTree as ET
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage import screening_lexicon
from triage.screening import (
    CANDIDATE_THRESHOLD,
    CONTEXT_KINDS,
    SIGNAL_KINDS,
    Screening,
    Signal,
    provisional_level,
    rules,
    screen,
)

DEMO = resources.files("triage").joinpath("demo_data")


def demo(name: str) -> str:
    return DEMO.joinpath(name).read_text(encoding="utf-8")


def kinds(text: str) -> set[str]:
    return {s.kind for s in rules(text).signals}


def found(text: str, kind: str) -> list[str]:
    """The words of ``text`` that gave signals of ``kind``."""
    return [text[s.start : s.end] for s in rules(text).signals if s.kind == kind]


# -- the sample articles --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "language", "expected"),
    [
        (
            "ru-incident.txt",
            "ru",
            {"violence", "family", "pregnancy", "strangulation", "threat", "threat_to_kill",
             "prior_incidents", "injury"},
        ),
        (
            "en-incident.txt",
            "en",
            {"violence", "family", "threat_to_kill", "weapon", "children", "injury",
             "prior_incidents"},
        ),
        (
            "kk-incident.txt",
            "kk",
            {"violence", "family", "threat", "threat_to_kill", "weapon", "children", "injury",
             "prior_incidents"},
        ),
    ],
)  # fmt: skip
def test_incident_articles_are_candidates_with_their_signals(
    name: str, language: str, expected: set[str]
) -> None:
    result = rules(demo(name))
    assert result.candidate
    assert result.reason == "candidate"
    assert result.language == language
    assert expected <= result.kinds
    assert provisional_level(result.signals) == "high"
    assert result.score >= 0.9


@pytest.mark.parametrize(
    ("name", "language"),
    [("en-unrelated.txt", "en"), ("ru-unrelated.txt", "ru"), ("kk-unrelated.txt", "kk")],
)
def test_unrelated_articles_are_not_candidates(name: str, language: str) -> None:
    result = rules(demo(name))
    assert not result.candidate
    assert result.language == language
    assert result.score < CANDIDATE_THRESHOLD


def test_sport_traps_give_no_violence() -> None:
    """ "aggressive style", "violent clashes": the judo article has no violence signal at all."""
    assert "violence" not in kinds(demo("en-unrelated.txt"))


def test_family_business_gives_no_family() -> None:
    """The tax article's "семейного бизнеса" is consumed as a phrase: no family signal."""
    assert "family" not in kinds(demo("ru-unrelated.txt"))


def test_signals_point_into_the_text() -> None:
    text = demo("ru-incident.txt")
    result = rules(text)
    assert ("избить", "избил") in {(s.term, text[s.start : s.end]) for s in result.signals}
    assert "сожительницу" in found(text, "family")
    assert "беременную" in found(text, "pregnancy")
    assert "душил" in found(text, "strangulation")
    assert "расправой" in found(text, "threat_to_kill")  # "угрожал женщине расправой"
    for s in result.signals:
        assert 0 <= s.start < s.end <= len(text)


def test_kazakh_article_signals() -> None:
    text = demo("kk-incident.txt")
    assert {"әйелін", "зайыбын"} <= set(found(text, "family"))
    assert "ұрып" in found(text, "violence")
    assert found(text, "threat_to_kill") == ["өлтіремін деп"]
    assert found(text, "weapon") == ["пышақ"]


def test_english_article_signals() -> None:
    text = demo("en-incident.txt")
    assert found(text, "threat_to_kill") == ["threatened to kill"]
    assert "knife" in found(text, "weapon")
    assert {"husband", "wife"} <= set(found(text, "family"))


# -- the feed -------------------------------------------------------------------------------------


def feed_items() -> list[tuple[str, str, str]]:
    root = ET.fromstring(DEMO.joinpath("feed.xml").read_bytes())  # noqa: S314  (our own file)
    return [
        (
            item.findtext("link", ""),
            item.findtext("title", ""),
            item.findtext("description", ""),
        )
        for item in root.iter("item")
    ]


def test_feed_has_six_items() -> None:
    assert len(feed_items()) == 6


@pytest.mark.parametrize(("link", "title", "description"), feed_items())
def test_feed_items_screen_as_their_articles(link: str, title: str, description: str) -> None:
    slug = link.rsplit("/", 1)[-1]  # e.g. "ru-incident"
    expected_language, kind = slug.split("-")
    for text in (f"{title}\n\n{description}", description):
        result = rules(text)
        assert result.candidate is (kind == "incident"), (slug, result.reason)
        assert result.language == expected_language


def test_feed_headlines_alone() -> None:
    """Headlines are short texts of their own: the Russian and Kazakh ones name the act."""
    titles = {link.rsplit("/", 1)[-1]: title for link, title, _ in feed_items()}
    assert rules(titles["ru-incident"]).candidate
    assert rules(titles["kk-incident"]).candidate
    assert rules(titles["en-incident"]).candidate  # "assault on his wife"
    for slug in ("en-unrelated", "ru-unrelated", "kk-unrelated"):
        assert not rules(titles[slug]).candidate


# -- hand-written cases ---------------------------------------------------------------------------
# (text, language or None for mixed). Written for this module; the second and third groups were
# written before the rules were tuned on them (see docs/screening.md for the numbers).

POSITIVE: list[tuple[str, str | None]] = [
    # Russian
    ("Муж избил жену в Алматы, женщина госпитализирована.", "ru"),
    ("Вчера сосед опять избил свою жену, она вся в синяках", "ru"),
    ("мой муж бьет меня каждый день помогите пожалуйста", "ru"),
    ("Бывший муж преследует меня и угрожает убить", "ru"),
    ("В Караганде мужчина задушил сожительницу", "ru"),
    ("Сын избил мать до потери сознания", "ru"),
    ("отчим изнасиловал падчерицу, возбуждено уголовное дело", "ru"),
    ("Свекровь рассказала, что сын ударил невестку ножом", "ru"),
    ("муж угрожал мне ножом при детях", "ru"),
    ("МУЖ ИЗБИЛ БЕРЕМЕННУЮ ЖЕНУ!!! 😡😡", "ru"),
    ("муж избииил жену", "ru"),
    ("он сказал жене: убью тебя", "ru"),
    ("Мужчина зарезал супругу на глазах у детей", "ru"),
    ("бывшая жена рассказала, что её избивали годами", "ru"),
    ("Брат жестоко избил сестру, её увезли в больницу", "ru"),
    # Kazakh
    ("Күйеуі әйелін ұрып-соғып, ауруханаға түсірді.", "kk"),
    ("Шымкентте ер адам зайыбын пышақтап өлтірді", "kk"),
    ("кеше күйеуім мені ұрды, көмектесіңдер", "kk"),
    ("Ол әйелін өлтіремін деп қорқытқан", "kk"),
    ("Баласы анасын ұрып-соққаны үшін ұсталды", "kk"),
    ("күйеуі жүкті әйелін тұншықтырды", "kk"),
    # English
    ("My husband hit me again last night and I am scared", "en"),
    ("Man arrested after stabbing his wife in Shymkent", "en"),
    ("She said her ex-boyfriend strangled her and threatened to kill her", "en"),
    ("A father was detained for beating his 5-year-old son", "en"),
    ("her husband punched her in front of the children", "en"),
    # Russian typed in Latin letters
    ("muzh izbil zhenu vchera", "ru"),
    ("moi muzh bet menya pomogite", "ru"),
    ("on ubil zhenu", "ru"),
    ("byvshii muzh ugrozhal mne nozhom", "ru"),
    ("muj menya dushil", "ru"),
    # Kazakh in the Latin alphabets of 2018 and 2021, and typed without Kazakh letters
    ("kúıeýi áıelin urdy", "kk"),
    ("Ol áıelin óltiremin dep qorqytty", "kk"),
    ("küieuı äielın ūrdy", "kk"),
    ("kuieuim meni urdy", "kk"),
    ("кеше куйеуим мени урды", "kk"),
    # Kazakh and Russian mixed
    ("кеше муж мені избил, көмектесіңдер", None),
    ("муж әйелін ұрды", None),
    ("Күйеуі мені постоянно бьет, не знаю что делать", None),
    ("my muzh izbil menya", None),
    # typos
    ("муж угражал жене", "ru"),
    ("муж изнаселовал жену", "ru"),
    ("сожитель избевал сажительницу", "ru"),
    # -- written before tuning (second group)
    ("В Актобе задержан мужчина, который облил жену бензином и угрожал поджечь", "ru"),
    ("Жительница Костаная обратилась в полицию: сожитель систематически избивал её", "ru"),
    ("Дочь рассказала, что отец душил мать на кухне", "ru"),
    ("Пьяный зять избил тёщу и разбил окна", "ru"),
    ("Мужчина выстрелил в бывшую жену из охотничьего ружья", "ru"),
    ("Полиция: муж нанёс жене несколько ударов ножом", "ru"),
    ("Женщина скончалась в больнице после того как её избил муж", "ru"),
    ("Сожитель держал её взаперти и угрожал расправой, рассказала пострадавшая", "ru"),
    ("помогите муж опять поднял на меня руку при ребенке", "ru"),
    ("Қарағандыда күйеуі әйелін балтамен шауып өлтірді", "kk"),
    ("Ақтөбеде бір ер адам бұрынғы әйелін аңдып, қорқытып жүрген", "kk"),
    ("Келінін ұрған енесі жауапқа тартылды", "kk"),
    ("Әкесі қызын ұрып-соғып, үйден қуып шықты", "kk"),
    ("Police say the woman's partner choked her until she lost consciousness", "en"),
    ("Almaty man jailed for repeatedly assaulting his pregnant girlfriend", "en"),
    ("Her brother-in-law threatened her with a gun, neighbours said", "en"),
    ("A 30-year-old woman was killed by her husband in Taraz on Sunday", "en"),
    ("muzh menya izbil, ya beremennaya", "ru"),
    ("sozhitel ugrozhaet ubit menya", "ru"),
    ("Kúıeýim meni kúnde urady", "kk"),
    ("Ákesi balasyn urdy", "kk"),
    ("муж вчера снова ұрды мені", None),
    ("күйеуім избил меня, что делать?", None),
    ("ex-husband stalking me for months, police won't help", "en"),
    ("свекровь избивает невестку, соседи слышат крики", "ru"),
    # -- written before tuning (third group): longer texts, celebrities, sentence breaks
    (
        "В Атырау мужчина избил жену. Его задержали. По данным МВД, в этом году "
        "зарегистрировано более 2 тысяч случаев бытового насилия, депутаты Мажилиса обсуждают "
        "законопроект.",
        "ru",
    ),
    ("Футболист местного клуба избил жену, сообщает полиция", "ru"),
    ("Actor arrested after assaulting his wife at their home, police said", "en"),
    ("Её муж пришёл пьяный.\nОн избил её и сломал ей руку.", "ru"),
    ("сосед бьет жену каждую ночь, слышно через стену, что делать", "ru"),
    ("Менің күйеуім мені ұрады, балаларымды да ұрады", "kk"),
    ("Жұбайы оны пышақпен қорқытты", "kk"),
    ("He choked his girlfriend during an argument, court hears", "en"),
    ("zhena skazala chto muzh ee bil", "ru"),
    ("муж изнасиловал жену, она боится заявлять", "ru"),
    ("ex follows me everywhere and texts threats to my mum", "en"),
    ("Отец избил 7-летнего сына за плохие оценки", "ru"),
]

NEGATIVE: list[tuple[str, str | None]] = [
    # sport
    ("Our team beat the champions 3-0 in an aggressive match", "en"),
    ("Violent clashes marked the heavyweight final", "en"),
    ("Сборная Казахстана разгромила соперника со счётом 5:0", "ru"),
    ("Қазақстан құрамасы Өзбекстанды жеңді", "kk"),
    ("My son's team beat them in the final", "en"),
    ("Боксёр нокаутировал соперника в первом раунде, его брат болел на трибуне", "ru"),
    # war and politics
    ("Russian troops shelled the city, killing dozens of civilians", "en"),
    ("В результате обстрела погибли мирные жители", "ru"),
    ("Соғыс кезінде әскерлер қаланы атқылады", "kk"),
    ("The opposition leader was attacked by police during the protest", "en"),
    ("Президент подписал указ о выборах", "ru"),
    # film and book reviews
    ("In the film, the hero beats his wife and the director shows it without mercy", "en"),
    (
        "В фильме муж избивает жену, а режиссёр показывает это без прикрас. "
        "Актриса сыграла блестяще",
        "ru",
    ),
    ("The novel follows a woman whose husband abuses her; the author's prose is precise", "en"),
    ("Фильмде кейіпкер әйелін ұрады, режиссер бұл сахнаны шебер түсірген", "kk"),
    # family business
    ("Family business owners will get a tax break", "en"),
    ("Семейный бизнес получит налоговые льготы", "ru"),
    ("Отбасылық бизнес үшін жаңа салық режимі енгізілді", "kk"),
    ("The family-owned firm beat its competitors on price", "en"),
    # general discussion: statistics, bills, opinion
    ("По данным МВД, в прошлом году зарегистрировано более 5 тысяч случаев бытового насилия", "ru"),
    ("Статистика: каждая третья женщина в Казахстане подвергалась насилию со стороны мужа", "ru"),
    ("Мажилис принял законопроект об ужесточении наказания за побои в семье", "ru"),
    ("Депутаты обсудили поправки: за избиение жены будет уголовная ответственность", "ru"),
    ("Parliament passed a bill that criminalises beating a wife or husband", "en"),
    (
        "According to the ministry, 40 percent of women have experienced violence from husbands",
        "en",
    ),
    ("Why do wives stay with husbands who beat them? Society must change", "en"),
    (
        "Тұрмыстық зорлық-зомбылық туралы заң жобасы Мәжілісте қаралды, депутаттар күйеуі "
        "әйелін ұрса жаза күшейеді деді",
        "kk",
    ),
    ("Статистикаға сәйкес, жыл сайын мыңдаған әйелдер күйеулерінен зорлық көреді", "kk"),
    ("Бытовое насилие — проблема всего общества, эксперты считают что мужья должны", "ru"),
    # everyday family life, negation, idioms
    ("Муж подарил жене цветы на годовщину", "ru"),
    ("My husband and I bet on the match", "en"),
    ("The song was a hit with my mother", "en"),
    ("Муж не бил жену, это клевета", "ru"),
    ("He never hit his wife", "en"),
    ("Жена купила мужу новый телефон, а он удалил её фото", "ru"),
    ("Анна рассказала о балансе семейного бюджета", "ru"),
    ("My wife is a great cook and our kids love her", "en"),
    ("Күйеуі әйеліне гүл сыйлады", "kk"),
    ("Девушка встретила дедушку на вокзале", "ru"),
    ("Это уголовное преследование семьи журналиста", "ru"),
    ("Бывший министр избил журналиста", "ru"),
    ("The heart beat of the family", "en"),
    ("Our family doctor was attacked by a dog", "en"),
    ("мама сказала что я бью рекорды", "ru"),
    ("задушевный разговор мужа и жены", "ru"),
    # -- written before tuning (second group)
    ("Казахстанский боксёр избил соперника и защитил титул чемпиона", "ru"),
    ("Fans clashed violently after the derby; the striker's wife watched from the stands", "en"),
    ("Головкин жеңіске жетті, әйелі мен балалары қуанды", "kk"),
    ("В сериале героиня убивает мужа, зрители в восторге от финала", "ru"),
    ("The book tells of a mother who kills her daughter's abuser", "en"),
    ("Правительство обсудило санкции и военные учения у границы", "ru"),
    ("Soldiers killed in the attack left behind wives and children", "en"),
    ("Семейное предприятие из Караганды экспортирует мясо", "ru"),
    ("Family firm from Pavlodar wins export award", "en"),
    ("Отбасылық кәсіпкерлікке қолдау көрсетіледі", "kk"),
    (
        "По данным исследования ООН, 17 процентов женщин подвергались насилию со стороны партнёра",
        "ru",
    ),
    ("Эксперты: закон о бытовом насилии нужно ужесточить", "ru"),
    ("The new law on domestic violence takes effect in June, lawmakers said", "en"),
    ("Зорлық-зомбылық көрген әйелдерге көмек орталықтары ашылады", "kk"),
    ("Opinion: we must stop blaming wives who leave violent husbands", "en"),
    ("Мама испекла торт, а папа починил кран", "ru"),
    ("Менің анам мен әкем саяхатқа кетті", "kk"),
    ("My dad beat me at chess again", "en"),
    ("Жена побила рекорд по плаванию", "ru"),
    ("The family dog was killed by a car", "en"),
    ("Отец и сын победили в турнире по борьбе", "ru"),
    ("Мать погибла в ДТП вместе с сыном", "ru"),
    ("Her husband died of cancer last year", "en"),
    ("Ученые выяснили, что дети, которых били родители, чаще болеют", "ru"),
    # -- written before tuning (third group)
    (
        "Новый фильм о домашнем насилии.\n\nВ картине героиня уходит от мужа, который её бьёт. "
        "Режиссёр снял тяжёлую драму, актриса сыграла превосходно.",
        "ru",
    ),
    (
        "Review: the thriller's villain strangles his wife in the first act, and the plot never "
        "recovers",
        "en",
    ),
    ("Каждая пятая казахстанка сталкивалась с насилием со стороны мужа, показал опрос", "ru"),
    ("Жыл сайын Қазақстанда мыңдаған әйел күйеуінен зорлық көреді, дейді сарапшылар", "kk"),
    (
        "Lawmakers debated whether a husband who hits his wife should face jail, the bill says",
        "en",
    ),
    ("Муж и жена открыли семейный бизнес в Алматы", "ru"),
    ("The team's captain and his wife attended the championship final", "en"),
    ("Сын депутата победил в чемпионате по боксу", "ru"),
    ("Жена застрелила оленя на охоте", "ru"),
    ("Муж помог жене донести сумки", "ru"),
    ("Ten soldiers were killed; their families were notified", "en"),
    ("Wife beater? No, this is a review of the band's new album", "en"),
]

# Known limits, kept visible: the object of a verb is not parsed, so "killed a fly" said to a wife
# reads like a killing near a family member (docs/screening.md, "Known limits").
KNOWN_FALSE_POSITIVES: list[str] = [
    "Муж сказал жене, что убил муху",
    "муж мусор выносил, а сосед по подъезду избил кошку",
]


def ids(prefix: str, cases: list[tuple[str, str | None]]) -> list[str]:
    return [f"{prefix}{n:02d}-{language or 'mixed'}" for n, (_, language) in enumerate(cases)]


@pytest.mark.parametrize(("text", "language"), POSITIVE, ids=ids("pos", POSITIVE))
def test_reports_are_candidates(text: str, language: str | None) -> None:
    result = rules(text)
    assert result.candidate, (result.reason, result.signals)
    assert {"violence", "family"} <= result.kinds
    if language is not None:
        assert result.language == language


@pytest.mark.parametrize(("text", "language"), NEGATIVE, ids=ids("neg", NEGATIVE))
def test_non_reports_are_not_candidates(text: str, language: str | None) -> None:
    result = rules(text)
    assert not result.candidate, (result.reason, result.signals)
    if language is not None:
        assert result.language == language


@pytest.mark.xfail(strict=True, reason="known limit: the verb's object is not parsed")
@pytest.mark.parametrize("text", KNOWN_FALSE_POSITIVES, ids=["fly", "cat"])
def test_known_false_positives(text: str) -> None:
    assert not rules(text).candidate


def test_precision_and_recall_on_the_hand_written_cases() -> None:
    """The figures docs/screening.md reports; known false positives count against precision."""
    negatives = [t for t, _ in NEGATIVE] + KNOWN_FALSE_POSITIVES
    tp = sum(rules(t).candidate for t, _ in POSITIVE)
    fp = sum(rules(t).candidate for t in negatives)
    precision, recall = tp / (tp + fp), tp / len(POSITIVE)
    assert len(POSITIVE) + len(negatives) >= 40
    assert precision >= 0.97
    assert recall == 1.0


# -- rules, one at a time -------------------------------------------------------------------------


def test_word_forms_of_russian_and_kazakh() -> None:
    for verb in ("избил", "избила", "избивал", "избиение"):
        assert "violence" in kinds(verb), verb
    for noun in ("жену", "жена", "женой", "жене"):
        assert "family" in kinds(noun), noun
    for verb in ("ұрды", "ұрып", "ұрған"):
        assert "violence" in kinds(verb), verb
    for noun in ("әйелін", "әйелі", "әйеліне"):
        assert "family" in kinds(noun), noun


@pytest.mark.parametrize(
    ("word", "kind"),
    [
        ("мужчина", "family"),  # муж… is listed form by form
        ("женщина", "family"),
        ("женский", "family"),
        ("семь", "family"),
        ("билет", "violence"),
        ("избиратели", "violence"),
        ("ранее", "injury"),
        ("расправил", "violence"),
        ("травматолог", "weapon"),
        ("карусель", "weapon"),
        ("детали", "children"),
        ("задушевный", "strangulation"),
        ("ударение", "violence"),
        ("қызмет", "family"),  # service, not қызы
        ("ұрлық", "violence"),  # theft, not ұру
        ("ұрпақ", "violence"),
        ("әйел", "family"),  # woman; wife is әйелі
        ("әйелдер", "family"),
        ("stable", "weapon"),
        ("battery", "violence"),
        ("strange", "strangulation"),
        ("rapeseed", "sexual_violence"),
        ("therapist", "sexual_violence"),
        ("exam", "family"),
        ("minor harm", "children"),
    ],
)
def test_stems_do_not_catch_other_words(word: str, kind: str) -> None:
    assert kind not in kinds(word)


def test_near_means_within_the_window() -> None:
    assert rules("муж избил жену").candidate
    filler = " ".join(["потом"] * 12)
    far = rules(f"муж {filler} избил")
    assert not far.candidate
    assert far.reason == "not_near"


def test_a_sentence_break_costs_distance_and_a_paragraph_break_separates() -> None:
    assert rules("Её муж пришёл пьяный. Избил").candidate
    assert not rules(
        "Муж пришёл пьяный. Потом долго кричал и ругался на всех вокруг. Избил"
    ).candidate
    broken = rules("Вчера пришёл муж.\n\nИзбил")
    assert broken.reason == "not_near"


def test_negation_cancels_violence() -> None:
    assert "violence" not in kinds("он не бил")
    assert "violence" not in kinds("he never hit her")
    assert "violence" not in kinds("ол ұрған жоқ")
    assert "violence" in kinds("не только избил, но и угрожал")


def test_weak_verbs_need_a_person() -> None:
    assert "violence" in kinds("he beat his wife")
    assert "violence" in kinds("he hit her")
    assert "violence" not in kinds("they beat the record")
    assert "violence" not in kinds("a hit")
    assert "violence" not in kinds("жена побила рекорд")
    assert "violence" in kinds("побил жену")


def test_a_threat_then_a_killing_word_is_a_threat_to_kill() -> None:
    assert "threat_to_kill" in kinds("угрожал ей убийством")
    assert "threat_to_kill" in kinds("he threatened to kill her")
    assert "threat_to_kill" in kinds("ол өлтіремін деп қорқытты")
    assert "threat_to_kill" in kinds("убью тебя")
    assert "death" not in kinds("угрожал ей убийством")
    assert "death" in kinds("убил жену")


def test_dying_is_not_violence() -> None:
    result = rules("Жена погибла в аварии")
    assert "death" in result.kinds
    assert "violence" not in result.kinds
    assert not result.candidate


def test_domestic_violence_as_a_topic_does_not_pair_with_itself() -> None:
    """ "насилие в семье" is violence, but its family word is part of the phrase."""
    assert not rules("насилие в семье недопустимо").candidate
    assert not rules("domestic violence is a crime").candidate
    assert rules("задержан за бытовое насилие в отношении жены").candidate


def test_general_discussion_has_reason() -> None:
    result = rules("Статистика: каждая третья женщина подвергалась насилию со стороны мужа")
    assert result.reason == "general_discussion"
    assert {c.kind for c in result.context} >= {"general"}


def test_off_topic_has_reason() -> None:
    result = rules("In the film, the hero beats his wife")
    assert result.reason == "off_topic"
    assert "offtopic" in {c.kind for c in result.context}


def test_a_concrete_event_survives_an_off_topic_word() -> None:
    assert rules("Боец ММА избил жену, его задержали").candidate


def test_emoji_signals() -> None:
    assert "weapon" in kinds("муж 🔪 жена")
    assert "pregnancy" in kinds("🤰")


def test_homoglyphs_and_letter_runs() -> None:
    assert rules("муж избил жeну").candidate  # Latin e inside a Cyrillic word
    assert rules("мууууж избииил жеееену").candidate


def test_kazakh_dotted_capital_and_case() -> None:
    assert rules("KÚIEÝI ÁIELIN URDY").candidate
    assert rules("Күйеуi әйелiн ұрды").candidate  # Latin i typed for Kazakh і


# -- language -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("", "und"),
        ("12345", "und"),
        ("😀 😀", "und"),
        ("!!!", "und"),
        ("Сегодня в Астане тепло", "ru"),
        ("Бүгін Астанада жылы", "kk"),
        ("It is warm in Astana today", "en"),
        ("segodnya v Astane teplo, ya doma", "ru"),
        ("Búgin Astanada jyly, men úıdemin", "kk"),
    ],
)
def test_language(text: str, language: str) -> None:
    assert rules(text).language == language


# -- provisional level ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signal_kinds", "level"),
    [
        ({"violence", "family", "death"}, "high"),
        ({"violence", "family", "strangulation"}, "high"),
        ({"violence", "family", "weapon"}, "high"),
        ({"violence", "family", "threat_to_kill"}, "high"),
        ({"violence", "family", "injury"}, "medium"),
        ({"violence", "family", "pregnancy"}, "medium"),
        ({"violence", "family", "children"}, "medium"),
        ({"violence", "family", "prior_incidents"}, "medium"),
        ({"violence", "family", "stalking"}, "medium"),
        ({"violence", "family", "injury", "weapon"}, "high"),  # high wins
        ({"violence", "family"}, "standard"),
        ({"violence", "family", "threat"}, "standard"),
        # DOMAIN.md lists neither sexual kind among the provisional-level triggers
        ({"violence", "family", "sexual_violence"}, "standard"),
        ({"sexual_harassment"}, "standard"),
        (set(), "standard"),
    ],
)
def test_provisional_level(signal_kinds: set[str], level: str) -> None:
    assert provisional_level(signal_kinds) == level
    as_signals = [Signal(kind, "term", 0, 1) for kind in signal_kinds]
    assert provisional_level(as_signals) == level


def test_provisional_level_from_stored_json() -> None:
    stored = json.loads(rules(demo("ru-incident.txt")).to_json())
    assert provisional_level(s["kind"] for s in stored["signals"]) == "high"


def test_provisional_level_of_screened_texts() -> None:
    assert provisional_level(rules("муж избил жену").signals) == "standard"
    assert provisional_level(rules("муж избил беременную жену").signals) == "medium"
    assert provisional_level(rules("муж избил жену при детях").signals) == "medium"
    assert provisional_level(rules("муж душил жену").signals) == "high"


# -- the value and its JSON -----------------------------------------------------------------------


def test_json_shape_is_stable() -> None:
    result = screen("Муж избил жену ножом")
    data = result.as_dict()
    assert set(data) == {"candidate", "verdict", "probability", "language", "score", "signals"}
    assert data["verdict"] in ("candidate", "review")
    assert isinstance(data["probability"], float)
    assert data["language"] == "ru"
    assert isinstance(data["score"], float)
    for signal in data["signals"]:
        assert set(signal) == {"kind", "term", "start", "end"}
    assert json.loads(result.to_json()) == data
    assert {"kind": "weapon", "term": "нож", "start": 15, "end": 20} in data["signals"]


def test_screening_is_frozen() -> None:
    result = rules("муж избил жену")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.candidate = False  # type: ignore[misc]
    assert isinstance(result, Screening)
    assert isinstance(result.signals, tuple)


def test_score_scale() -> None:
    assert rules("").score == 0.0
    assert rules("жена").score == 0.1
    assert rules("муж избил жену").score == 0.55  # 0.5, plus 0.05 for the past-tense verb
    assert rules(demo("ru-incident.txt")).score == 1.0


# -- the lexicon itself ---------------------------------------------------------------------------


def test_lexicon_is_well_formed() -> None:
    """Guards for people who extend the lexicon: known kinds, lower case, е for ё, no stray "*"."""
    groups = set(SIGNAL_KINDS) | set(CONTEXT_KINDS) | {"ignore"}
    for group, by_language in screening_lexicon.LEXICON.items():
        assert group in groups, group
        assert set(by_language) <= {"ru", "kk", "en", "xx"}, group
        for terms in by_language.values():
            for term in terms:
                assert set(term.also) <= set(SIGNAL_KINDS), term
                for pattern in term.patterns.split():
                    assert pattern == pattern.lower(), pattern
                    assert "ё" not in pattern, pattern
                    words = pattern.split("_")
                    assert words[0] not in ("?", ""), pattern
                    for word in words:
                        assert word.rstrip("*") and "*" not in word.rstrip("*"), pattern


# -- speed ----------------------------------------------------------------------------------------


def test_a_5_kb_article_screens_in_well_under_10_ms() -> None:
    text = (demo("ru-incident.txt") + "\n\n") * 6
    text = text.encode()[:5120].decode(errors="ignore")
    rules(text)
    best = min(_timed(text) for _ in range(15))
    assert best < 0.010


def _timed(text: str) -> float:
    start = time.perf_counter()
    rules(text)
    return time.perf_counter() - start


@pytest.mark.parametrize(
    "text",
    ["a" * 100_000, "-" * 100_000, "'a" * 50_000, "а-" * 50_000, "муж избил " * 5_000],
)
def test_no_pathological_inputs(text: str) -> None:
    assert _timed(text) < 2.0


# -- properties -----------------------------------------------------------------------------------

LEXICON_WORDS = sorted(
    {
        word.rstrip("*")
        for by_language in screening_lexicon.LEXICON.values()
        for terms in by_language.values()
        for term in terms
        for pattern in term.patterns.split()
        for word in pattern.split("_")
        if word not in ("#", "?")
    }
)
texts = st.one_of(
    st.text(),
    st.lists(
        st.one_of(
            st.sampled_from(LEXICON_WORDS),
            st.sampled_from([".", ",", "!", "\n", "\n\n", "-", "'", "🔪", "%", "1"]),
            st.text(max_size=8),
        ),
        max_size=40,
    ).map(" ".join),
)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_screen_invariants(text: str) -> None:
    result = rules(text)
    assert result == rules(text)  # deterministic
    assert 0.0 <= result.score <= 1.0
    assert result.candidate == (result.score >= CANDIDATE_THRESHOLD)
    assert result.language in ("ru", "kk", "en", "und")
    if result.candidate:
        assert {"violence", "family"} <= result.kinds
    for signal in result.signals:
        assert signal.kind in SIGNAL_KINDS
        assert 0 <= signal.start < signal.end <= len(text)
    for cue in result.context:
        assert cue.kind in CONTEXT_KINDS
    assert list(result.signals) == sorted(result.signals, key=lambda s: (s.start, s.end, s.kind))
    assert json.loads(result.to_json()) == result.as_dict()
