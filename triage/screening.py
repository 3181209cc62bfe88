"""Screening of media and online text: is it a candidate report of domestic violence, and why.

Owns the rule of DOMAIN.md, "Screening of media and online text", and the provisional level that
its signals give a report before a checklist is filled. Pure: a text in, a frozen value out; no
I/O, no Flask, no database. The word lists are data in ``triage.screening_lexicon``.

How a text is read (docs/screening.md explains each step and its limits):

1. Words are split out with their character offsets (hyphens split words, apostrophes do not),
   case-folded, ``ё`` read as ``е``, runs of three or more equal letters shortened ("жееену"),
   and Latin look-alike letters inside a Cyrillic word read as Cyrillic.
2. Each word is matched against the lexicon as written, and through a script-independent
   skeleton (``izbil`` = ``избил``, ``áıelin`` = ``äielın`` = ``әйелін``), longest phrase first.
   Short texts that still lack a violence or a family word get one typo's tolerance on Cyrillic
   words of seven letters or more ("сажительницу").
3. Negated violence ("не бил", "never hit") is dropped; ambiguous verbs ("beat", "hit", "побил")
   count only with a person as object; a threat next to a killing word is a threat to kill.
4. A **candidate** needs a violence signal and a family signal near each other (``WINDOW``), in a
   sentence that is not about sport, war or film unless it also reports a concrete event, in a
   text that does not read as general discussion (statistics, a bill, an opinion) — unless a
   pair itself reports a particular event (``_pairs``). That is the rules' own reading
   (``rules``); it misses much of what people write without the usual words.
5. The **verdict** (``screen``) comes from the trained model's probability, with the rules'
   severe signals as a floor: candidate, review band, or not a candidate, and the provisional
   level follows it (``Screening.level``).
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import NamedTuple, TypedDict

from triage import screening_lexicon as lexicon
from triage import screening_model
from triage.screening_text import KK_LATIN_LETTERS as _KK_LATIN_LETTERS
from triage.screening_text import KK_LETTERS as _KK_LETTERS
from triage.screening_text import fold as _fold
from triage.screening_text import is_cyrillic as _is_cyrillic
from triage.screening_text import is_latin as _is_latin
from triage.screening_text import skeleton as _skeleton

# -- public vocabulary ---------------------------------------------------------------------------

SIGNAL_KINDS: tuple[str, ...] = (
    "violence",
    "family",
    "weapon",
    "strangulation",
    "threat_to_kill",
    "threat",
    "death",
    "children",
    "pregnancy",
    "stalking",
    "sexual_harassment",
    "sexual_violence",
    "injury",
    "prior_incidents",
)
"""Kinds a ``Signal`` can have. ``threat`` (a threat that is not a threat to kill) is ours; the
others are DOMAIN.md's."""

CONTEXT_KINDS: tuple[str, ...] = (
    "topic",
    "incident",
    "narrator",
    "general",
    "offtopic",
    "negated",
)
"""Kinds of the cues in ``Screening.context``: they explain a decision but are not signals.
``negated`` is a Kazakh violent verb negated inside it ("ұрмаған", "has not hit")."""

SEVERITY_KINDS = frozenset(SIGNAL_KINDS) - {"violence", "family", "threat"}

WINDOW = 10
"""Near means at most this many words apart; a sentence break counts as ``SENTENCE_COST`` more
words and a paragraph break (a blank line) separates completely."""
SENTENCE_COST = 4

CANDIDATE_THRESHOLD = 0.5
"""The rules read a text as a candidate exactly when their score reaches this (``rules``)."""

CANDIDATE, REVIEW, NOT_CANDIDATE = "candidate", "review", "not_candidate"
VERDICTS = (CANDIDATE, REVIEW, NOT_CANDIDATE)
MODEL_CANDIDATE = 0.5
"""The model's probability from which a text is a candidate when its model names no threshold
for the text's language form. The packaged model names one per form
(``screening_model.Model.threshold``), chosen on cross-validation of the corpus's training part
by writer: the lowest probability at which that form's candidates were right nine times in ten."""
MODEL_REVIEW = screening_model.DEFAULT_REVIEW
"""From this probability up to the candidate threshold a text goes to the review band, when its
model names no review threshold for the text's language form. The packaged model names one per
form (``screening_model.Model.review_threshold``, never above this), chosen on the same
cross-validation: the highest probability from which 97 % of that form's incidents reach a
reviewer."""
SEVERE_KINDS = frozenset({"threat_to_kill", "weapon", "strangulation", "sexual_violence", "death"})
"""Signals that, with a family signal, put a text at least in the review band ..."""
SEVERE_FLOOR = 0.05
"""... unless the model's probability is below this: on cross-validation of the training part no
incident fell under it, while jokes and idioms about "killing" a family member did."""

NEGATED_CAP = 0.85
"""A text whose only violent verb the rules read is negated inside it (Kazakh: "ешқашан
ұрмаған", "never hit") is at most in the review band unless the model's probability reaches
this: the model's n-grams see the stem more surely than the suffix that turns it round. Not
higher: "ұрмайды, бірақ…" ("he doesn't hit, but…") often opens an account of coercive control.
(0.6 until the model weighed short texts by their length, which put a plain "күйеуім мені
ешқашан ұрмаған" at 0.83.)"""
_ACT_KINDS = frozenset(SIGNAL_KINDS) - {"family", "children", "pregnancy", "prior_incidents"}

FUZZY_MAX_WORDS = 400
"""Typo tolerance is tried only on texts of at most this many words (online posts, headlines):
it costs time, and a news article spells its words."""


class SignalDict(TypedDict):
    """The JSON shape of one signal."""

    kind: str
    term: str
    start: int
    end: int


class ScreeningDict(TypedDict):
    """The JSON shape of a screening; stable, documented in docs/screening.md."""

    candidate: bool
    verdict: str
    probability: float | None
    language: str
    score: float
    signals: list[SignalDict]


@dataclass(frozen=True, slots=True)
class Signal:
    """One matched word or phrase: its kind, the lexicon's normal form, and where it was found.

    ``start``/``end`` are character offsets into the screened text (``text[start:end]``), so the
    text itself, which may be sealed, need not be kept with the signal.
    """

    kind: str
    term: str
    start: int
    end: int

    def as_dict(self) -> SignalDict:
        return {"kind": self.kind, "term": self.term, "start": self.start, "end": self.end}


@dataclass(frozen=True, slots=True)
class Screening:
    """The outcome of ``screen``.

    ``reason`` says which rule decided: ``candidate``, ``no_signals``, ``no_violence``,
    ``no_family``, ``not_near``, ``off_topic`` or ``general_discussion``. ``context`` holds the
    cues behind the last two (kinds in ``CONTEXT_KINDS``). Neither is part of ``as_dict``.
    """

    candidate: bool
    language: str
    score: float
    signals: tuple[Signal, ...]
    reason: str = "no_signals"
    context: tuple[Signal, ...] = field(default=())
    verdict: str = "not_candidate"
    probability: float | None = None

    @property
    def review(self) -> bool:
        """Borderline: a reviewer decides whether it reports an incident."""
        return self.verdict == REVIEW

    @property
    def reaches_reviewer(self) -> bool:
        """A candidate or a borderline text: either way a person sees it."""
        return self.verdict != NOT_CANDIDATE

    @property
    def level(self) -> str | None:
        """The provisional level of the one verdict: none for a text that is not a candidate,
        else the level of its signals (so a text rated high is never "not a candidate")."""
        return provisional_level(self.signals) if self.reaches_reviewer else None

    @property
    def kinds(self) -> frozenset[str]:
        """The distinct signal kinds found."""
        return frozenset(s.kind for s in self.signals)

    def as_dict(self) -> ScreeningDict:
        return {
            "candidate": self.candidate,
            "verdict": self.verdict,
            "probability": self.probability,
            "language": self.language,
            "score": self.score,
            "signals": [s.as_dict() for s in self.signals],
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, sort_keys=True)


def provisional_level(signals: Iterable[Signal | str]) -> str:
    """The provisional level of a media or online report from its signals (DOMAIN.md).

    Killing, strangulation, a weapon or a threat to kill give ``high``; injury, pregnancy,
    children, repeated violence or stalking ``medium``; anything else ``standard``. Accepts
    ``Signal`` values or bare kinds, so a stored ``as_dict()`` can be re-levelled.
    """
    from .scoring import provisional_level_from_signals  # the one place the rule lives

    return provisional_level_from_signals(
        s if isinstance(s, str) else s.kind for s in signals
    ).value


# -- normal forms --------------------------------------------------------------------------------

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|%|\U0001f52a|\U0001f5e1|\U0001f52b|\U0001f930")
# -- the compiled lexicon ------------------------------------------------------------------------

_SIGNAL_GROUPS = frozenset(SIGNAL_KINDS) | {"topic"}
_NON_SIGNAL = frozenset(CONTEXT_KINDS) | {"ignore"}
_FUZZY_GROUPS = frozenset(SIGNAL_KINDS) - {"children", "pregnancy", "injury", "prior_incidents"}
_FUZZY_MIN = 7


@dataclass(frozen=True, slots=True)
class _Rule:
    lemma: str
    kinds: tuple[str, ...]
    group: str
    lang: str
    weak: bool
    words: tuple[tuple[str, bool], ...]  # (form, is_prefix); "#" is any number, "?" any word


@dataclass(slots=True)
class _Index:
    exact: dict[str, list[_Rule]] = field(default_factory=dict)
    prefix: dict[str, list[_Rule]] = field(default_factory=dict)
    lengths: list[int] = field(default_factory=list)
    numeric: list[_Rule] = field(default_factory=list)

    def add(self, rule: _Rule) -> None:
        form, is_prefix = rule.words[0]
        if form == "#":
            self.numeric.append(rule)
        elif is_prefix:
            self.prefix.setdefault(form, []).append(rule)
        else:
            self.exact.setdefault(form, []).append(rule)

    def freeze(self) -> None:
        self.lengths = sorted({len(k) for k in self.prefix})

    def first(self, form: str) -> tuple[_Rule, ...]:
        """Rules whose first word matches ``form`` (rules that begin with a number aside)."""
        found = list(self.exact.get(form, ()))
        for n in self.lengths:
            if n > len(form):
                break
            found.extend(self.prefix.get(form[:n], ()))
        return tuple(found)


def _parse(pattern: str, convert: Callable[[str], str]) -> tuple[tuple[str, bool], ...]:
    words = []
    for part in pattern.split("_"):
        is_prefix = part.endswith("*")
        stem = part.rstrip("*")
        words.append((stem if stem in ("#", "?") else convert(stem), is_prefix))
    return tuple(words)


def _compile() -> tuple[_Index, _Index, dict[str, list[tuple[_Rule, str, bool]]]]:
    """Index the lexicon once, at import: as written, as skeletons (Russian and Kazakh), and by
    single-letter deletions of long Russian and Kazakh forms (the typo index, see ``_fuzzy_at``)."""
    native, skeleton = _Index(), _Index()
    fuzzy: dict[str, list[tuple[_Rule, str, bool]]] = {}
    for group, by_lang in lexicon.LEXICON.items():
        for lang, terms in by_lang.items():
            for term in terms:
                kinds = tuple(dict.fromkeys((group, *term.also)))
                for pattern in term.patterns.split():
                    words = _parse(pattern, _fold)
                    rule = _Rule(term.lemma, kinds, group, lang, term.weak, words)
                    native.add(rule)
                    if lang in ("ru", "kk"):
                        skel = _parse(pattern, _skeleton)
                        skeleton.add(_Rule(term.lemma, kinds, group, lang, term.weak, skel))
                    form, is_prefix = words[0]
                    if (
                        lang in ("ru", "kk")
                        and group in _FUZZY_GROUPS
                        and len(words) == 1
                        and not term.weak
                        and len(form) >= _FUZZY_MIN
                    ):
                        for variant in {form} | _deletions(form):
                            fuzzy.setdefault(variant, []).append((rule, form, is_prefix))
    native.freeze()
    skeleton.freeze()
    return native, skeleton, fuzzy


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _words(text: str) -> frozenset[str]:
    return frozenset(_fold(w) for w in text.split())


_NATIVE, _SKELETON_INDEX, _FUZZY = _compile()
_PERSON_OBJECTS = _words(lexicon.PERSON_OBJECTS)
_NEGATORS_BEFORE = _words(lexicon.NEGATORS_BEFORE)
_NEGATORS_AFTER = _words(lexicon.NEGATORS_AFTER)
_DETERMINERS = _words(lexicon.DETERMINERS)


def _kk_negated_pattern() -> re.Pattern[str]:
    """A skeleton of a violent verb negated inside it: stem, m/b/p and a vowel, ending (after a
    stem that ends in the suffix's own consonant, the doubled letter is one: теп-пе-ді, tepedi)."""
    stems = sorted(lexicon.KK_NEGATABLE_STEMS.split(), key=len, reverse=True)
    endings = sorted(lexicon.KK_NEGATIVE_ENDINGS.split(), key=len, reverse=True)
    heads = [f"{stem}[ae]" if stem[-1] in "mbp" else f"{stem}[mbp][ae]" for stem in stems]
    return re.compile(f"^(?:{'|'.join(heads)})(?:{'|'.join(endings)})$")


_KK_NEGATED = _kk_negated_pattern()
_FUNCTION_WORDS = {lang: _words(words) for lang, words in lexicon.FUNCTION_WORDS.items()}


# -- words ---------------------------------------------------------------------------------------

_SENTENCE_ENDS = frozenset(".!?…;")
_PARAGRAPH = re.compile(r"\n[^\S\n]*\n")


class _Token(NamedTuple):
    start: int
    end: int
    form: str
    script: str  # "cyr", "lat", "num", or "sym" (emoji, "%", other scripts)
    sentence: int
    paragraph: int
    pos: int  # word index plus SENTENCE_COST per sentence break before it


@lru_cache(maxsize=65536)
def _fold_and_script(word: str) -> tuple[str, str]:
    form = _fold(word)
    return form, _script(form)


def _script(form: str) -> str:
    if form.isdigit():
        return "num"
    if any(_is_cyrillic(c) for c in form):
        return "cyr"
    if any(_is_latin(c) for c in form):
        return "lat"
    return "sym"


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    sentence = paragraph = breaks = 0
    prev_end = 0
    for m in _TOKEN.finditer(text):
        if tokens:
            gap = text[prev_end : m.start()]
            if "\n" in gap and _PARAGRAPH.search(gap):
                paragraph += 1
                sentence += 1
            elif not _SENTENCE_ENDS.isdisjoint(gap):
                sentence += 1
                breaks += 1
        form, script = _fold_and_script(m.group())
        pos = len(tokens) + SENTENCE_COST * breaks
        tokens.append(_Token(m.start(), m.end(), form, script, sentence, paragraph, pos))
        prev_end = m.end()
    return tokens


def _distance(tokens: list[_Token], a: tuple[int, int], b: tuple[int, int]) -> float:
    """Words between two (first, last) spans, sentence breaks weighted; inf across paragraphs."""
    if a[0] > b[0]:
        a, b = b, a
    if tokens[a[1]].paragraph != tokens[b[0]].paragraph:
        return float("inf")
    if b[0] <= a[1]:
        return 0
    return tokens[b[0]].pos - tokens[a[1]].pos


# -- matching ------------------------------------------------------------------------------------


class _Match(NamedTuple):
    rule: _Rule
    first: int
    last: int
    via: str  # "native", "skeleton" or "fuzzy"

    @property
    def span(self) -> tuple[int, int]:
        return (self.first, self.last)


@dataclass(frozen=True, slots=True)
class _Modes:
    """Which skeleton matches a text allows (see ``_modes``)."""

    latin: str  # "en", "ru", "kk" or "any": what its Latin-letter words are written in
    kazakh_cyrillic: bool  # whether Cyrillic words may be Kazakh typed without its letters


def _modes(tokens: list[_Token]) -> _Modes:
    """Guard the skeleton against collisions: "bet" is English in an English text, not бьет."""
    en = ru = kk = 0
    kazakh_cyrillic = False
    for t in tokens:
        if t.script == "lat":
            en += t.form in _FUNCTION_WORDS["en"]
            ru += t.form in _FUNCTION_WORDS["ru_latin"]
            kk += t.form in _FUNCTION_WORDS["kk_latin"] or not _KK_LATIN_LETTERS.isdisjoint(t.form)
        elif t.script == "cyr" and not kazakh_cyrillic:
            kazakh_cyrillic = t.form in _FUNCTION_WORDS["kk"] or not _KK_LETTERS.isdisjoint(t.form)
    if en and en > ru + kk:
        latin = "en"
    elif kk > ru:
        latin = "kk"
    elif ru > kk:
        latin = "ru"
    else:
        latin = "any"
    return _Modes(latin, kazakh_cyrillic)


def _skeleton_allows(rule: _Rule, token: _Token, modes: _Modes) -> bool:
    short = len(rule.words[0][0]) < 4
    if token.script == "cyr":
        return (
            modes.kazakh_cyrillic
            and rule.lang == "kk"
            and rule.group in _SIGNAL_GROUPS
            and not short
        )
    if modes.latin == "en" and (rule.group in _NON_SIGNAL or short):
        return False
    return not short or modes.latin in ("any", rule.lang)


def _word_matches(token: _Token, word: tuple[str, bool], skeletal: bool) -> bool:
    form, is_prefix = word
    if form == "#":
        return token.script == "num"
    if form == "?":
        return True
    have = _skeleton(token.form) if skeletal else token.form
    return have.startswith(form) if is_prefix else have == form


@lru_cache(maxsize=65536)
def _candidates(form: str, skeletal: bool) -> tuple[_Rule, ...]:
    if skeletal:
        return _SKELETON_INDEX.first(_skeleton(form))
    return _NATIVE.first(form)


def _match_at(tokens: list[_Token], i: int, modes: _Modes) -> list[_Match]:
    token = tokens[i]
    found: list[_Match] = []
    passes: list[tuple[str, tuple[_Rule, ...]]] = [("native", _candidates(token.form, False))]
    if token.script == "num":
        passes.append(("native", tuple(_NATIVE.numeric)))
    elif token.script == "lat" or (token.script == "cyr" and modes.kazakh_cyrillic):
        passes.append(("skeleton", _candidates(token.form, True)))
    for via, rules in passes:
        skeletal = via == "skeleton"
        for rule in rules:
            if skeletal and not _skeleton_allows(rule, token, modes):
                continue
            last = i + len(rule.words) - 1
            if last >= len(tokens) or tokens[last].sentence != token.sentence:
                continue
            if all(
                _word_matches(tokens[i + k], rule.words[k], skeletal)
                for k in range(1, len(rule.words))
            ):
                found.append(_Match(rule, i, last, via))
    return found


def _typo_at(a: str, b: str) -> int | None:
    """Where ``a`` and ``b`` first differ, if they are one typo apart (one letter added, dropped
    or changed, or two neighbours swapped); None if they are equal or further apart."""
    if a == b or abs(len(a) - len(b)) > 1:
        return None
    k = 0
    while k < min(len(a), len(b)) and a[k] == b[k]:
        k += 1
    if len(a) != len(b):
        shorter, longer = (a, b) if len(a) < len(b) else (b, a)
        return k if shorter[k:] == longer[k + 1 :] else None
    if a[k + 1 :] == b[k + 1 :]:
        return k
    swapped = k + 1 < len(a) and a[k] == b[k + 1] and a[k + 1] == b[k]
    return k if swapped and a[k + 2 :] == b[k + 2 :] else None


def _fuzzy_at(tokens: list[_Token], i: int) -> list[_Match]:
    """Long Cyrillic words one typo away from a violence or family form ("сажительницу").

    The typo must not be the first letter, nor, for a stem, its last letter: words that differ
    there are usually other words ("задушевный" is not "задушен…", "удалил" is not "ударил").
    """
    form = tokens[i].form
    rules: dict[int, _Rule] = {}
    for n in range(_FUZZY_MIN - 1, len(form) + 1):
        head = form[:n]
        for variant in {head} | _deletions(head):
            for rule, stem, is_prefix in _FUZZY.get(variant, ()):
                if not is_prefix and n != len(form):
                    continue
                at = _typo_at(head, stem)
                limit = len(stem) - 1 if is_prefix else len(stem) + 1
                if at is not None and 0 < at < limit:
                    rules[id(rule)] = rule
    return [_Match(rule, i, i, "fuzzy") for rule in rules.values()]


def _match(tokens: list[_Token], modes: _Modes) -> list[_Match]:
    """Longest match first, left to right; a word inside a matched phrase is not matched again."""
    matches: list[_Match] = []
    covered = [False] * len(tokens)
    i = 0
    while i < len(tokens):
        found = _match_at(tokens, i, modes)
        if not found:
            i += 1
            continue
        last = max(m.last for m in found)
        matches.extend(m for m in found if m.last == last)
        for k in range(i, last + 1):
            covered[k] = True
        i = last + 1
    kinds = {k for m in matches for k in m.rule.kinds}
    if len(tokens) <= FUZZY_MAX_WORDS and not {"violence", "family"} <= kinds:
        for i, token in enumerate(tokens):
            if not covered[i] and token.script == "cyr" and len(token.form) >= _FUZZY_MIN:
                matches.extend(_fuzzy_at(tokens, i))
    return matches


# -- filtering -----------------------------------------------------------------------------------


def _neighbour(tokens: list[_Token], i: int, j: int) -> _Token | None:
    """Token j if it is in the same sentence as token i."""
    if 0 <= j < len(tokens) and tokens[j].sentence == tokens[i].sentence:
        return tokens[j]
    return None


def _keep(tokens: list[_Token], m: _Match, people: set[int]) -> bool:
    """Drop negated violence ("не бил") and weak verbs without a person nearby ("beat the team")."""
    if "violence" in m.rule.kinds:
        before = _neighbour(tokens, m.first, m.first - 1)
        after = _neighbour(tokens, m.last, m.last + 1)
        if before is not None and before.form in _NEGATORS_BEFORE:
            return False
        if after is not None and after.form in _NEGATORS_AFTER:
            return False
    if m.rule.weak:
        before = _neighbour(tokens, m.first, m.first - 1)
        if before is not None and before.form in _DETERMINERS:
            return False
        window = (
            range(m.first - 3, m.first) if m.rule.lang == "kk" else range(m.last + 1, m.last + 4)
        )
        for j in window:
            t = _neighbour(tokens, m.first, j)
            if t is not None and (t.form in _PERSON_OBJECTS or j in people):
                return True
        return False
    return True


def _threats_to_kill(tokens: list[_Token], matches: list[_Match]) -> set[int]:
    """Killing words just after a threat ("угрожал ей убийством", "threatened to kill") or just
    before one ("өлтіремін деп қорқытты") are a threat to kill, not a death."""
    threats = [m for m in matches if "threat" in m.rule.kinds]
    out: set[int] = set()
    for n, m in enumerate(matches):
        if "death" not in m.rule.kinds or "violence" not in m.rule.kinds:
            continue
        for t in threats:
            if tokens[t.first].sentence != tokens[m.first].sentence:
                continue
            if 0 < m.first - t.last <= 3 or 0 < t.first - m.last <= 2:
                out.add(n)
    return out


_RU_PAST = ("л", "ла", "лся", "лась")
_KK_PAST = (
    "ды",
    "ді",
    "ты",
    "ті",
    "дым",
    "дім",
    "ған",
    "ген",
    "қан",
    "кен",
    "аны",
    "ені",
    "ып",
    "іп",
)
_KK_PRESENT = ("ады", "еді", "йды", "йді")
_SKELETON_PRESENT = ("adi", "edi", "idi")
_SKELETON_PAST = {
    "ru": ("l", "la", "lsia", "las"),
    "kk": ("di", "ti", "gan", "gen", "kan", "ken", "ip"),
}


def _is_past(tokens: list[_Token], m: _Match) -> bool:
    """A single past-tense violent verb ("избил", "ұрды", "stabbed"): a particular event."""
    if m.first != m.last or "violence" not in m.rule.kinds:
        return False
    token = tokens[m.first]
    form = token.form
    if m.via == "skeleton":
        skeleton = _skeleton(form)
        return skeleton.endswith(_SKELETON_PAST.get(m.rule.lang, ())) and not (
            m.rule.lang == "kk" and skeleton.endswith(_SKELETON_PRESENT)
        )
    if m.rule.lang == "ru":
        return form.endswith(_RU_PAST)
    if m.rule.lang == "kk":
        return form.endswith(_KK_PAST) and not form.endswith(_KK_PRESENT)
    if m.rule.lang == "en":
        return form.endswith("ed") or form in ("beaten", "struck")
    return False


# -- deciding ------------------------------------------------------------------------------------


def screen(text: str) -> Screening:
    """Screen one text (a headline, an article, a post) for a report of domestic violence: the
    one verdict that intake, feed import and the provisional level all follow.

    The trained model (``triage.screening_model``) gives the probability; the rules give the
    signals a reviewer reads and the risk cues of the level. A probability of at least the
    model's threshold for the text's language form is a candidate; from the form's review
    threshold it is borderline and goes to the review band; and a threat to kill, a weapon,
    strangling, sexual violence or a death read together with a family word is at least in the
    review band unless the model all but rules it out (``SEVERE_FLOOR``).
    """
    reading = rules(text)
    model = screening_model.load()
    [(probability, form)] = model.assess([text])
    verdict = verdict_of(
        reading, probability, threshold=model.threshold(form), review=model.review_threshold(form)
    )
    return replace(
        reading,
        candidate=verdict == CANDIDATE,
        verdict=verdict,
        probability=round(probability, 4),
    )


def verdict_of(
    reading: Screening,
    probability: float,
    *,
    threshold: float = MODEL_CANDIDATE,
    review: float = MODEL_REVIEW,
) -> str:
    """The verdict from the model's ``probability`` and the rules' ``reading`` of one text; a
    candidate from ``threshold``, the review band from ``review`` (the model's for the text's
    language form). A text whose only violent verb is negated inside it (Kazakh: "ұрмаған")
    is a candidate only from ``NEGATED_CAP``."""
    if probability >= threshold:
        only_negated = not reading.kinds & _ACT_KINDS and any(
            cue.kind == "negated" for cue in reading.context
        )
        if not only_negated or probability >= NEGATED_CAP:
            return CANDIDATE
        return REVIEW
    severe = bool(reading.kinds & SEVERE_KINDS) and "family" in reading.kinds
    if probability >= review or (severe and probability >= SEVERE_FLOOR):
        return REVIEW
    return NOT_CANDIDATE


def rules(text: str) -> Screening:
    """What the lexicon's rules read in a text: its signals, and their own candidate test.

    Never raises and is deterministic, whatever the text. The score is a fixed scale, not a
    probability: 0.0 no violence or family word; 0.1 only one of the two; 0.2 both but not near;
    0.3 near but off-topic or general discussion; 0.5 a candidate, plus 0.1 per distinct severity
    kind (up to three) and 0.05 per concrete-incident cue (up to four), at most 1.0. So a text is
    a candidate exactly when its score is at least ``CANDIDATE_THRESHOLD``.
    """
    tokens = _tokenize(text)
    modes = _modes(tokens)
    matches = _match(tokens, modes)
    people = {m.first for m in matches if {"family", "children"} & set(m.rule.kinds)}
    people |= {m.last for m in matches if {"family", "children"} & set(m.rule.kinds)}
    negated = {i for i, t in enumerate(tokens) if _KK_NEGATED.match(_skeleton(t.form))}
    matches = [m for m in matches if _keep(tokens, m, people) and m.last not in negated]
    to_kill = _threats_to_kill(tokens, matches)
    # Family nouns that are also general cues are plurals ("wives", "мужья"): people in general.
    plural = {m.span for m in matches if "general" in m.rule.kinds}

    signals: dict[tuple[str, int, int], Signal] = {}
    context: dict[tuple[str, int, int], Signal] = {}
    violent: list[_Match] = []
    family: list[_Match] = []
    offtopic_sentences: set[int] = set()
    concrete_sentences: set[int] = set()
    narrator_sentences: set[int] = set()
    # Cues are counted once per place, however many rules (ru and kk, native and skeleton) agree.
    general_at: set[tuple[int, int]] = set()
    offtopic_at: set[tuple[int, int]] = set()
    concrete_at: set[tuple[int, int]] = set()
    for n, m in enumerate(matches):
        start, end = tokens[m.first].start, tokens[m.last].end
        for kind in m.rule.kinds:
            if n in to_kill and kind == "death":
                kind = "threat_to_kill"
            target = context if kind in CONTEXT_KINDS else signals if kind in SIGNAL_KINDS else None
            if target is not None:
                target.setdefault((kind, start, end), Signal(kind, m.rule.lemma, start, end))
        kinds = set(m.rule.kinds)
        sentence = tokens[m.first].sentence
        if "violence" in kinds:
            violent.append(m)
        if "family" in kinds and m.span not in plural:
            family.append(m)
        if "general" in kinds:
            general_at.add(m.span)
        if "offtopic" in kinds:
            offtopic_at.add(m.span)
            offtopic_sentences.add(sentence)
        if "incident" in kinds or _is_past(tokens, m):
            concrete_at.add(m.span)
            concrete_sentences.add(sentence)
        elif "narrator" in kinds:
            concrete_at.add(m.span)
            narrator_sentences.add(sentence)
    general, offtopic, concrete = len(general_at), len(offtopic_at), len(concrete_at)

    shadowed = offtopic_sentences - concrete_sentences
    specific = concrete_sentences | narrator_sentences
    near, in_context, concrete_pair = _pairs(tokens, violent, family, shadowed, specific)
    cues = general + offtopic
    # General discussion: enough general or off-topic cues, no pair reporting a particular event,
    # and not much that is concrete anywhere else in the text either.
    discussion = cues >= 2 and not concrete_pair and 3 * concrete <= cues

    for i in negated:
        token = tokens[i]
        context.setdefault(
            ("negated", token.start, token.end),
            Signal("negated", token.form, token.start, token.end),
        )
    ordered = tuple(sorted(signals.values(), key=lambda s: (s.start, s.end, s.kind)))
    severity = {s.kind for s in ordered} & SEVERITY_KINDS
    if not violent and not family:
        reason, score = ("no_signals" if not ordered else "no_violence"), 0.0
    elif not violent or not family:
        reason, score = ("no_family" if violent else "no_violence"), 0.1
    elif not near:
        reason, score = "not_near", 0.2
    elif not in_context:
        reason, score = "off_topic", 0.3
    elif discussion:
        reason, score = ("off_topic" if offtopic > general else "general_discussion"), 0.3
    else:
        reason = "candidate"
        score = min(1.0, 0.5 + 0.1 * min(len(severity), 3) + 0.05 * min(concrete, 4))
    return Screening(
        candidate=reason == "candidate",
        verdict=CANDIDATE if reason == "candidate" else NOT_CANDIDATE,
        language=_language(tokens, matches),
        score=round(score, 2),
        signals=ordered,
        reason=reason,
        context=tuple(sorted(context.values(), key=lambda s: (s.start, s.end, s.kind))),
    )


def _pairs(
    tokens: list[_Token],
    violent: list[_Match],
    family: list[_Match],
    shadowed: set[int],
    concrete: set[int],
) -> tuple[bool, bool, bool]:
    """Whether some violence is near a family word; whether such a pair is in context; and whether
    one in context is concrete.

    A pair is out of context when its violence sits in a sentence with an off-topic cue (sport,
    war, film) and no concrete-incident marker (sentences in ``shadowed``). A pair is concrete
    when the sentence of either word reports a particular event (sentences in ``concrete``: an
    incident marker, a narrator, or a past-tense violent verb such as "избил").
    """
    near = in_context = False
    family = sorted(family, key=lambda m: tokens[m.first].pos)
    starts = [tokens[m.first].pos for m in family]
    longest = max((tokens[m.last].pos - tokens[m.first].pos for m in family), default=0)
    for v in violent:
        lo = bisect_left(starts, tokens[v.first].pos - WINDOW - longest)
        hi = bisect_right(starts, tokens[v.last].pos + WINDOW)
        for f in family[lo:hi]:
            if _distance(tokens, v.span, f.span) > WINDOW:
                continue
            near = True
            if tokens[v.first].sentence in shadowed:
                continue
            in_context = True
            if tokens[v.first].sentence in concrete or tokens[f.first].sentence in concrete:
                return True, True, True
    return near, in_context, False


def _language(tokens: list[_Token], matches: list[_Match]) -> str:
    """ "ru", "kk", "en", or "und": a vote of letters, function words and lexicon matches.

    Kazakh letters (ә ғ қ ң ө ұ ү һ і, or á ı ú… in Latin) and Kazakh function words vote kk;
    other Cyrillic words lean ru; Latin words vote by function words and by which lexicon they
    matched (English as written, or Russian or Kazakh through the skeleton). Mixed Kazakh and
    Russian text goes to whichever has more votes.
    """
    votes = {"ru": 0.0, "kk": 0.0, "en": 0.0}
    for t in tokens:
        f = t.form
        if t.script == "cyr":
            if f in _FUNCTION_WORDS["kk"] or not _KK_LETTERS.isdisjoint(f):
                votes["kk"] += 1
            elif f in _FUNCTION_WORDS["ru"]:
                votes["ru"] += 1
            else:
                votes["ru"] += 0.35
        elif t.script == "lat":
            if f in _FUNCTION_WORDS["kk_latin"] or not _KK_LATIN_LETTERS.isdisjoint(f):
                votes["kk"] += 1
            elif f in _FUNCTION_WORDS["en"]:
                votes["en"] += 1
            elif f in _FUNCTION_WORDS["ru_latin"]:
                votes["ru"] += 1
            else:
                votes["en"] += 0.2
    for m in matches:
        if tokens[m.first].script == "lat" and m.rule.lang in votes:
            votes[m.rule.lang] += 0.5
    best = max(votes, key=lambda lang: (votes[lang], lang == "ru", lang == "kk"))
    return best if votes[best] >= 0.5 else "und"
