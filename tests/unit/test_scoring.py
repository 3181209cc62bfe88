"""Risk scoring: the version-1 checklist, DOMAIN.md's worked examples, overrides, provisional
levels, deadlines and the queue order. Pure: no app, no database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage import scoring
from triage.scoring import (
    DEFAULT_DEADLINES,
    Answer,
    Checklist,
    ChecklistNotFound,
    InvalidAnswer,
    InvalidChecklist,
    OverrideNotPermitted,
    OverrideReasonRequired,
    ScoringError,
    UnknownItem,
    UnknownLevel,
    apply_override,
    assessment_outcome,
    available_versions,
    is_overdue,
    load_checklist,
    parse_checklist,
    provisional_level_from_signals,
    response_deadline,
    score,
)
from triage.vocab import RiskLevel, Role

V1 = load_checklist(1)
HIGH, MEDIUM, STANDARD = RiskLevel.HIGH, RiskLevel.MEDIUM, RiskLevel.STANDARD
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

#: DOMAIN.md "Risk checklist (version 1)": item number → weight.
DOMAIN_WEIGHTS = {
    1: 3, 2: 3, 3: 3, 4: 2, 5: 2, 6: 2, 7: 2, 8: 2, 9: 2, 10: 2, 11: 2,
    12: 3, 13: 1, 14: 1, 15: 1, 16: 1, 17: 1, 18: 1, 19: 1, 20: 1, 21: 2, 22: 1,
}  # fmt: skip


def yes(*numbers: int) -> dict[int, str]:
    return dict.fromkeys(numbers, "yes")


def raw_v1() -> dict[str, Any]:
    text = resources.files("triage").joinpath("checklists/v1.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


# --- the definition file -----------------------------------------------------------------------


def test_v1_matches_the_domain_table() -> None:
    assert V1.version == 1
    assert {i.number: i.weight for i in V1.items} == DOMAIN_WEIGHTS
    assert [i.number for i in V1.items] == list(range(1, 23))
    assert V1.item(1).code == "threat_to_kill"
    assert V1.item("strangulation").number == 2
    assert all(i.text for i in V1.items)


def test_v1_weights_add_up_to_the_declared_maximum_of_39() -> None:
    assert sum(i.weight for i in V1.items) == 39
    assert V1.max_total == 39


def test_v1_bands_and_rules_are_data() -> None:
    assert [(b.level, b.min_total, b.max_total) for b in V1.bands] == [
        (STANDARD, 0, 5),
        (MEDIUM, 6, 11),
        (HIGH, 12, None),
    ]
    assert {r.code: (r.when_all_yes, r.when_any_yes, r.level) for r in V1.rules} == {
        "threat_to_kill_with_danger_sign": ((1,), (2, 5, 6, 8, 12), HIGH),
        "weapon": ((3,), (), HIGH),
        "order_breach": ((11,), (), HIGH),
    }


def test_v1_rules_are_at_their_corrected_revision() -> None:
    """Revision 1 forced high only on items 1 and 2 together; revision 2 is DOMAIN.md's
    correction (a threat to kill with any of 2, 5, 6, 8 or 12). Assessments of revision 1 are
    re-scored by `triage init`."""
    assert V1.revision == 2
    assert score(V1, {}).revision == 2


def test_version_1_is_shipped() -> None:
    assert 1 in available_versions()


@pytest.mark.parametrize("version", [0, -1, 99, "1", True, None])
def test_a_version_that_does_not_exist_is_refused(version: Any) -> None:
    with pytest.raises(ChecklistNotFound):
        load_checklist(version)


def _mutate(path: str, value: Any) -> Any:
    """Return a copy of v1's raw definition with ``path`` (dotted, list indexes as ints) set to
    ``value``, or removed when ``value`` is ``_DELETE``."""
    data = raw_v1()
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    key: Any = int(last) if last.isdigit() else last
    if value is _DELETE:
        del node[key]
    else:
        node[key] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("title", _DELETE, "lacks title"),
        ("title", "   ", "title must be non-empty"),
        ("wieght", 3, "unknown keys: wieght"),
        ("version", "1", "version must be a whole number"),
        ("version", 0, "version must be a whole number"),
        ("max_total", 40, "weights add up to 39"),
        ("items", [], "items must be a non-empty list"),
        ("items.0.weight", 0, "weight must be a whole number of at least 1"),
        ("items.0.weight", True, "weight must be a whole number"),
        ("items.0.weight", 2.5, "weight must be a whole number"),
        ("items.1.number", 1, "item numbers must be unique"),
        ("items.1.code", "threat_to_kill", "item codes must be unique"),
        ("items.0.code", "Threat To Kill", "lower_snake_case"),
        ("items.0.code", "threat_to_kill\n", "lower_snake_case"),
        ("items.0.code", "1st_item", "lower_snake_case"),
        ("rules.0.code", "Rule-1", "lower_snake_case"),
        ("items.0.text", "", "text must be non-empty"),
        ("items.0.colour", "red", "unknown keys: colour"),
        ("items.0", "threat_to_kill", "must be an object"),
        ("levels.1.min_total", 7, "min_total must be 6"),
        ("levels.1.min_total", 5, "min_total must be 6"),
        ("levels.0.min_total", 1, "min_total must be 0"),
        ("levels.1.level", "low", "level must be one of"),
        ("levels.2.level", "medium", None),  # medium above medium is allowed
        ("levels.0.level", "high", "never give a lower level"),
        ("levels.1.max_total", _DELETE, "only the last band may be open-ended"),
        ("levels.2.max_total", 30, "must cover every total up to max_total"),
        ("levels.1.max_total", 4, "max_total must be a whole number of at least 6"),
        ("rules", {}, "rules must be a list"),
        ("rules.0.when_all_yes", [1, 23], "names no item 23"),
        ("rules.0.when_all_yes", [], "non-empty list"),
        ("rules.0.when_all_yes", ["1"], "names no item '1'"),
        ("rules.0.level", "urgent", "level must be one of"),
        ("rules.1.code", "threat_to_kill_with_danger_sign", "rule codes must be unique"),
        ("rules.0.when_any_yes", [], "when_any_yes must be a non-empty list"),
        ("rules.0.when_any_yes", [2, 30], "when_any_yes names no item 30"),
        ("rules.0.when_any_yes", [1, 2], "cannot be in when_all_yes and when_any_yes"),
        ("rules.0.when_any_yes", _DELETE, None),  # a rule may list only when_all_yes
        ("rules.0.when_anyyes", [2], "unknown keys: when_anyyes"),
        ("revision", 0, "revision must be a whole number of at least 1"),
        ("revision", "2", "revision must be a whole number"),
        ("revision", _DELETE, None),  # a first revision need not say so
    ],
)
def test_a_bad_definition_is_refused_with_a_clear_error(
    path: str, value: Any, message: str | None
) -> None:
    data = _mutate(path, value)
    if message is None:
        assert isinstance(parse_checklist(data), Checklist)
        return
    with pytest.raises(InvalidChecklist, match=message):
        parse_checklist(data)


def test_a_definition_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InvalidChecklist, match="must be an object"):
        parse_checklist([1, 2, 3])


def test_an_empty_rule_list_is_a_valid_definition() -> None:
    checklist = parse_checklist(_mutate("rules", []))
    assert score(checklist, yes(3)).level is STANDARD


@pytest.fixture
def checklists_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the loader at a scratch folder, as if an authority had dropped files into it."""
    monkeypatch.setattr(scoring, "_checklists_dir", lambda: tmp_path)
    load_checklist.cache_clear()
    yield tmp_path
    load_checklist.cache_clear()


def dash_like_v2() -> dict[str, Any]:
    """An authority's own instrument: 24 unweighted questions, DASH's bands, one rule."""
    return {
        "version": 2,
        "title": "An authority's instrument",
        "max_total": 24,
        "items": [
            {"number": n, "code": f"q{n}", "text": f"Question {n}", "weight": 1}
            for n in range(1, 25)
        ],
        "levels": [
            {"level": "standard", "min_total": 0, "max_total": 9},
            {"level": "medium", "min_total": 10, "max_total": 13},
            {"level": "high", "min_total": 14, "max_total": 24},
        ],
        "rules": [
            {"code": "strangulation", "level": "high", "when_all_yes": [5], "description": "x"},
            {
                "code": "threat_with_weapon",
                "level": "high",
                "when_all_yes": [1],
                "when_any_yes": [2, 3],
                "description": "y",
            },
        ],
    }


def test_a_new_version_is_a_new_file_and_no_code(checklists_dir: Path) -> None:
    (checklists_dir / "v1.json").write_text(json.dumps(raw_v1()), encoding="utf-8")
    (checklists_dir / "v2.json").write_text(json.dumps(dash_like_v2()), encoding="utf-8")
    (checklists_dir / "README.txt").write_text("not a checklist", encoding="utf-8")
    assert available_versions() == (1, 2)
    v2 = load_checklist(2)
    assert score(v2, yes(*range(6, 19))).level is MEDIUM  # 13 yes, DASH's medium
    assert score(v2, yes(*range(6, 20))).level is HIGH  # 14 yes
    assert score(v2, {"q5": "yes"}).forced_by == ("strangulation",)
    assert score(v2, {"q1": "yes", "q3": "yes"}).forced_by == ("threat_with_weapon",)
    assert score(v2, {"q1": "yes"}).level is STANDARD
    assert score(v2, {}).unknown_count == 24
    assert (score(v2, {}).version, score(v2, {}).revision) == (2, 1)


def test_a_file_whose_version_disagrees_with_its_name_is_refused(checklists_dir: Path) -> None:
    (checklists_dir / "v3.json").write_text(json.dumps(dash_like_v2()), encoding="utf-8")
    with pytest.raises(InvalidChecklist, match="declares version 2"):
        load_checklist(3)


def test_a_file_that_is_not_json_is_refused(checklists_dir: Path) -> None:
    (checklists_dir / "v2.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidChecklist, match="not valid JSON"):
        load_checklist(2)


def test_the_loader_names_the_file_in_its_error(checklists_dir: Path) -> None:
    bad = dash_like_v2()
    bad["max_total"] = 25
    (checklists_dir / "v2.json").write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(InvalidChecklist, match=r"v2\.json: max_total is 25"):
        load_checklist(2)


# --- DOMAIN.md's worked examples ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("yes_items", "total", "level", "forced_by"),
    [
        ((1, 2), 6, HIGH, ("threat_to_kill_with_danger_sign",)),
        ((1, 5), 5, HIGH, ("threat_to_kill_with_danger_sign",)),
        ((5, 6, 7), 6, MEDIUM, ()),
        ((13, 14, 15), 3, STANDARD, ()),
        ((4, 5, 6, 8, 9, 12), 13, HIGH, ()),
        ((21, 22), 3, STANDARD, ()),
    ],
)
def test_worked_examples(
    yes_items: tuple[int, ...], total: int, level: RiskLevel, forced_by: tuple[str, ...]
) -> None:
    result = score(V1, yes(*yes_items))
    assert (result.total, result.level, result.forced_by) == (total, level, forced_by)
    assert result.unknown_count == 22 - len(yes_items)
    assert result.version == 1


def test_worked_example_every_item_unknown() -> None:
    result = score(V1, dict.fromkeys(range(1, 23), "unknown"))
    assert (result.total, result.level, result.unknown_count) == (0, STANDARD, 22)
    assert result == score(V1, {})


def test_items_1_and_2_are_high_by_rule_not_by_total() -> None:
    result = score(V1, yes(1, 2))
    assert result.band_level is MEDIUM
    assert result.forced


def test_the_issues_threat_to_kill_with_escalation_is_high_and_incomplete() -> None:
    """Issue 10: "threat to kill: yes", "escalating: yes", the other 20 items unknown. The total
    alone is standard; the rule makes it high, and 20 unknown against 2 answered is incomplete."""
    result = score(V1, {"threat_to_kill": "yes", "escalation": "yes"})
    assert (result.total, result.band_level, result.level) == (5, STANDARD, HIGH)
    assert (result.unknown_count, result.answered_count, result.incomplete) == (20, 2, True)


# --- band edges and forcing rules ----------------------------------------------------------------

# Answer sets that reach a total without touching items 1, 2, 3 or 11 (the rule items).
BAND_EDGES = [
    ((), 0, STANDARD),
    ((13, 14, 15, 16, 17), 5, STANDARD),
    ((13, 14, 15, 16, 17, 18), 6, MEDIUM),
    ((4, 13, 14, 15, 16, 17, 18, 19, 20, 22), 11, MEDIUM),
    ((4, 13, 14, 15, 16, 17, 18, 19, 20, 21), 12, HIGH),
]


@pytest.mark.parametrize(("yes_items", "total", "level"), BAND_EDGES)
def test_band_edges(yes_items: tuple[int, ...], total: int, level: RiskLevel) -> None:
    result = score(V1, yes(*yes_items))
    assert (result.total, result.level, result.band_level, result.forced_by) == (
        total,
        level,
        level,
        (),
    )


def test_every_item_yes_is_39_and_high() -> None:
    result = score(V1, yes(*range(1, 23)))
    assert (result.total, result.level, result.unknown_count) == (39, HIGH, 0)
    assert set(result.forced_by) == {"threat_to_kill_with_danger_sign", "weapon", "order_breach"}
    assert not result.forced  # the total alone was high already


@pytest.mark.parametrize(
    ("yes_items", "total", "forced_by"),
    [
        ((3,), 3, ("weapon",)),
        ((11,), 2, ("order_breach",)),
        ((1, 2), 6, ("threat_to_kill_with_danger_sign",)),
        ((1, 5), 5, ("threat_to_kill_with_danger_sign",)),
        ((1, 6), 5, ("threat_to_kill_with_danger_sign",)),
        ((1, 8), 5, ("threat_to_kill_with_danger_sign",)),
        ((1, 12), 6, ("threat_to_kill_with_danger_sign",)),
        ((1, 5, 6, 8), 9, ("threat_to_kill_with_danger_sign",)),
        ((1, 2, 3, 11), 11, ("threat_to_kill_with_danger_sign", "weapon", "order_breach")),
    ],
)
def test_each_forcing_rule_makes_the_level_high(
    yes_items: tuple[int, ...], total: int, forced_by: tuple[str, ...]
) -> None:
    result = score(V1, yes(*yes_items))
    assert (result.total, result.level, result.forced_by) == (total, HIGH, forced_by)
    assert result.forced


@pytest.mark.parametrize(
    "yes_items", [(1,), (2,), (1, 13), (2, 13), (1, 4), (1, 7), (1, 22), (5,), (12,), (5, 8)]
)
def test_a_threat_to_kill_or_a_danger_sign_alone_does_not_force(
    yes_items: tuple[int, ...],
) -> None:
    result = score(V1, yes(*yes_items))
    assert result.level is STANDARD
    assert result.forced_by == ()


def test_a_rule_does_not_fire_on_unknown_or_no() -> None:
    assert score(V1, {1: "yes", 2: "unknown", 3: "no", 11: "unknown"}).level is STANDARD
    assert score(V1, {1: "yes", 5: "no", 6: "no", 8: "unknown", 12: "no"}).level is STANDARD
    assert score(V1, {1: "unknown", 5: "yes"}).level is STANDARD


# --- answers --------------------------------------------------------------------------------------


def test_items_may_be_named_by_number_or_code() -> None:
    by_number = score(V1, {1: "yes", 2: "no", 14: "yes"})
    by_code = score(
        V1, {"threat_to_kill": "yes", "strangulation": "no", "children_involved": "yes"}
    )
    mixed_keys: dict[int | str, str] = {
        "threat_to_kill": Answer.YES,
        2: Answer.NO,
        "children_involved": "yes",
    }
    mixed = score(V1, mixed_keys)
    assert by_number == by_code == mixed
    assert by_number.total == 4
    assert by_number.yes_items == (1, 14)


def test_missing_items_count_as_unknown() -> None:
    result = score(V1, {1: "no", 2: "no"})
    assert result.unknown_count == 20
    assert len(result.answers) == 22
    assert dict(result.answers)[3] is Answer.UNKNOWN


def test_all_no_has_no_unknowns() -> None:
    result = score(V1, dict.fromkeys(range(1, 23), "no"))
    assert (result.total, result.unknown_count, result.level) == (0, 0, STANDARD)
    assert not result.incomplete


@pytest.mark.parametrize(
    ("answered", "incomplete"), [(0, True), (2, True), (10, True), (11, False), (12, False)]
)
def test_more_unknown_than_answered_is_incomplete(answered: int, incomplete: bool) -> None:
    """22 items: 11 unknown against 11 answered is complete, 12 against 10 is not. A "no" is an
    answer as much as a "yes"."""
    result = score(V1, dict.fromkeys(range(1, answered + 1), "no"))
    assert result.incomplete is incomplete
    assert score(V1, dict.fromkeys(range(1, answered + 1), "yes")).incomplete is incomplete


@pytest.mark.parametrize("item", [0, 23, -1, "unknown_code", "1", True, 1.0, None])
def test_an_unknown_item_is_refused(item: Any) -> None:
    with pytest.raises(UnknownItem):
        score(V1, {item: "yes"})


@pytest.mark.parametrize("answer", ["maybe", "YES", "Yes", "", True, 1, None, "y"])
def test_an_answer_other_than_yes_no_unknown_is_refused(answer: Any) -> None:
    with pytest.raises(InvalidAnswer, match="yes, no or unknown"):
        score(V1, {1: answer})


def test_one_item_answered_twice_is_refused() -> None:
    with pytest.raises(InvalidAnswer, match="more than once"):
        twice: dict[int | str, str] = {1: "yes", "threat_to_kill": "no"}
        score(V1, twice)


def test_scoring_errors_are_value_errors() -> None:
    """Callers that only know ValueError still refuse bad input."""
    for exc in (UnknownItem, InvalidAnswer, InvalidChecklist, ChecklistNotFound, UnknownLevel):
        assert issubclass(exc, ScoringError)
        assert issubclass(exc, ValueError)


# --- properties -----------------------------------------------------------------------------------

answer_values = st.sampled_from(["yes", "no", "unknown"])
answer_sets = st.dictionaries(st.integers(min_value=1, max_value=22), answer_values)


@given(answer_sets)
def test_total_is_within_0_and_39_and_counts_add_up(answers: dict[int, str]) -> None:
    result = score(V1, dict(answers))
    assert 0 <= result.total <= 39
    assert result.total == sum(DOMAIN_WEIGHTS[n] for n, a in answers.items() if a == "yes")
    missing = 22 - len(answers)
    assert result.unknown_count == missing + sum(1 for a in answers.values() if a == "unknown")


@given(answer_sets, st.integers(min_value=1, max_value=22))
def test_adding_a_yes_never_lowers_total_or_level(answers: dict[int, str], item: int) -> None:
    before = score(V1, dict(answers))
    after = score(V1, {**answers, item: "yes"})
    assert after.total >= before.total
    assert after.level.rank >= before.level.rank


@given(answer_sets, st.randoms(use_true_random=False), st.data())
def test_order_of_answers_and_how_items_are_named_do_not_matter(
    answers: dict[int, str], rnd: Any, data: st.DataObject
) -> None:
    pairs = list(answers.items())
    rnd.shuffle(pairs)
    renamed: dict[int | str, str] = {}
    for number, answer in pairs:
        by_code = data.draw(st.booleans())
        renamed[V1.item(number).code if by_code else number] = answer
    assert score(V1, renamed) == score(V1, dict(answers))


@given(answer_sets)
def test_the_level_agrees_with_the_bands_and_rules(answers: dict[int, str]) -> None:
    result = score(V1, dict(answers))
    yes_set = {n for n, a in answers.items() if a == "yes"}
    band = STANDARD if result.total <= 5 else MEDIUM if result.total <= 11 else HIGH
    ruled = (1 in yes_set and bool(yes_set & {2, 5, 6, 8, 12})) or bool(yes_set & {3, 11})
    assert result.level is (HIGH if ruled else band)


# --- overrides ------------------------------------------------------------------------------------

SCORE_HIGH = score(V1, yes(3))  # high by rule
SCORE_MEDIUM = score(V1, yes(5, 6, 7))
SCORE_STANDARD = score(V1, yes(13))


@pytest.mark.parametrize(
    ("computed", "target", "needs_supervisor", "raised", "lowered"),
    [
        (SCORE_HIGH, MEDIUM, True, False, True),
        (SCORE_HIGH, STANDARD, True, False, True),
        (SCORE_MEDIUM, STANDARD, False, False, True),
        (SCORE_MEDIUM, HIGH, False, True, False),
        (SCORE_STANDARD, MEDIUM, False, True, False),
        (SCORE_STANDARD, HIGH, False, True, False),
    ],
)
@pytest.mark.parametrize("role", [Role.REVIEWER, Role.SUPERVISOR, "reviewer"])
def test_an_override_with_a_reason_sets_the_level_in_force(
    computed: scoring.Score,
    target: RiskLevel,
    needs_supervisor: bool,
    raised: bool,
    lowered: bool,
    role: Role | str,
) -> None:
    result = apply_override(
        computed, target, "  Known to police; victim in hiding.  ", by_role=role
    )
    assert result.level is target
    assert result.computed_level is computed.level
    assert result.needs_supervisor is needs_supervisor
    assert (result.raised, result.lowered, result.changed) == (raised, lowered, True)
    assert result.reason == "Known to police; victim in hiding."


def test_a_supervisor_lowering_high_still_needs_another_supervisor() -> None:
    result = apply_override(SCORE_HIGH, "medium", "Weapon was a toy", by_role=Role.SUPERVISOR)
    assert result.needs_supervisor


@pytest.mark.parametrize("reason", [None, "", "   \n\t"])
@pytest.mark.parametrize(
    ("computed", "target"),
    [
        (SCORE_HIGH, MEDIUM),
        (SCORE_MEDIUM, HIGH),
        (SCORE_STANDARD, MEDIUM),
        (SCORE_MEDIUM, STANDARD),
    ],
)
def test_any_change_needs_a_written_reason(
    computed: scoring.Score, target: RiskLevel, reason: str | None
) -> None:
    with pytest.raises(OverrideReasonRequired):
        apply_override(computed, target, reason, by_role=Role.REVIEWER)


@pytest.mark.parametrize("computed", [SCORE_HIGH, SCORE_MEDIUM, SCORE_STANDARD])
def test_keeping_the_computed_level_needs_no_reason(computed: scoring.Score) -> None:
    result = apply_override(computed, computed.level, None, by_role=Role.REVIEWER)
    assert result.level is computed.level
    assert not result.changed
    assert not result.needs_supervisor
    assert result.reason is None


@pytest.mark.parametrize("role", [Role.CASEWORKER, Role.AUDITOR, Role.ADMIN, "nobody"])
def test_only_reviewers_and_supervisors_change_a_level(role: Role | str) -> None:
    with pytest.raises(OverrideNotPermitted):
        apply_override(SCORE_STANDARD, HIGH, "judgement", by_role=role)


@pytest.mark.parametrize("level", ["urgent", "", "HIGH"])
def test_an_override_to_an_unknown_level_is_refused(level: str) -> None:
    with pytest.raises(UnknownLevel):
        apply_override(SCORE_STANDARD, level, "judgement", by_role=Role.REVIEWER)


# --- what an assessment does to the level in force ----------------------------------------------


@pytest.mark.parametrize(
    ("prior", "computed", "proposed", "incomplete", "level", "waits", "kept"),
    [
        # Raising or keeping the level takes effect at once, complete or not.
        (STANDARD, HIGH, HIGH, False, HIGH, False, False),
        (STANDARD, MEDIUM, MEDIUM, True, MEDIUM, False, False),
        (HIGH, HIGH, HIGH, True, HIGH, False, False),
        (None, STANDARD, STANDARD, True, STANDARD, False, False),
        (MEDIUM, STANDARD, HIGH, False, HIGH, False, False),
        # A complete checklist below the case's (provisional) high waits for a supervisor.
        (HIGH, MEDIUM, MEDIUM, False, HIGH, True, False),
        (HIGH, STANDARD, STANDARD, False, HIGH, True, False),
        # ... and so does a judgement below the checklist's own high, as before.
        (STANDARD, HIGH, MEDIUM, False, HIGH, True, False),
        (None, HIGH, STANDARD, False, HIGH, True, False),
        # Lowering medium (the case's or the checklist's) to standard is at once.
        (MEDIUM, STANDARD, STANDARD, False, STANDARD, False, False),
        (STANDARD, MEDIUM, STANDARD, False, STANDARD, False, False),
        # An incomplete assessment lowers nothing, high or medium, computed or chosen.
        (HIGH, STANDARD, STANDARD, True, HIGH, False, True),
        (HIGH, STANDARD, MEDIUM, True, HIGH, False, True),
        (MEDIUM, STANDARD, STANDARD, True, MEDIUM, False, True),
        (STANDARD, HIGH, MEDIUM, True, HIGH, False, True),
    ],
)
def test_assessment_outcome(
    prior: RiskLevel | None,
    computed: RiskLevel,
    proposed: RiskLevel,
    incomplete: bool,
    level: RiskLevel,
    waits: bool,
    kept: bool,
) -> None:
    result = assessment_outcome(prior, computed, proposed, incomplete=incomplete)
    assert (result.level, result.needs_supervisor, result.kept) == (level, waits, kept)
    assert result.proposed is proposed
    assert result.lowers is (prior is not None and level.rank < prior.rank)


def test_a_checklist_cannot_lower_a_provisional_high_by_itself() -> None:
    """Issue 10's done-when, in the pure rule: whatever a checklist computes below high, a case
    that was high stays high until a supervisor approves — complete or not."""
    for answers in ({}, yes(13), yes(5, 6, 7), yes(4, 5, 6), dict.fromkeys(range(1, 23), "no")):
        result = score(V1, answers)
        assert result.level is not HIGH
        outcome = assessment_outcome(HIGH, result.level, result.level, incomplete=result.incomplete)
        assert outcome.level is HIGH
        assert outcome.needs_supervisor is not result.incomplete
        assert not outcome.lowers


@given(
    st.sampled_from([None, *RiskLevel]),
    st.sampled_from(list(RiskLevel)),
    st.sampled_from(list(RiskLevel)),
    st.booleans(),
)
def test_an_outcome_never_lowers_high_nor_lowers_when_incomplete(
    prior: RiskLevel | None, computed: RiskLevel, proposed: RiskLevel, incomplete: bool
) -> None:
    result = assessment_outcome(prior, computed, proposed, incomplete=incomplete)
    if result.lowers:
        assert prior is not HIGH and not incomplete
    assert result.level.rank >= computed.rank or (not incomplete and result.level is proposed)
    if result.needs_supervisor:
        assert result.level is HIGH and proposed is not HIGH and not incomplete


# --- provisional levels ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kinds", "level"),
    [
        (["killing"], HIGH),
        (["death"], HIGH),
        (["strangulation"], HIGH),
        (["weapon"], HIGH),
        (["threat_to_kill"], HIGH),
        (["Threat to kill"], HIGH),
        (["threat-to-kill"], HIGH),
        (["injury"], MEDIUM),
        (["pregnancy"], MEDIUM),
        (["children"], MEDIUM),
        (["prior_incidents"], MEDIUM),
        (["repeated_violence"], MEDIUM),
        (["stalking"], MEDIUM),
        (["violence", "family"], STANDARD),
        ([], STANDARD),
        (["children", "weapon", "family"], HIGH),
        (["pregnancy", "stalking"], MEDIUM),
        ("weapon", HIGH),  # one kind as a bare string, not its letters
        (iter(["injury"]), MEDIUM),
    ],
)
def test_provisional_level_from_signals(kinds: Any, level: RiskLevel) -> None:
    assert provisional_level_from_signals(kinds) is level


@given(st.lists(st.sampled_from(sorted(scoring.HIGH_SIGNALS | scoring.MEDIUM_SIGNALS | {"x"}))))
def test_more_signals_never_lower_the_provisional_level(kinds: list[str]) -> None:
    base = provisional_level_from_signals(kinds)
    for extra in scoring.HIGH_SIGNALS | scoring.MEDIUM_SIGNALS:
        assert provisional_level_from_signals([*kinds, extra]).rank >= base.rank


# --- deadlines, overdue, queue order --------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "due"),
    [
        (HIGH, datetime(2026, 3, 2, 9, 0, tzinfo=UTC)),
        (MEDIUM, datetime(2026, 3, 4, 9, 0, tzinfo=UTC)),
        (STANDARD, datetime(2026, 3, 8, 9, 0, tzinfo=UTC)),
        ("high", datetime(2026, 3, 2, 9, 0, tzinfo=UTC)),
    ],
)
def test_default_response_deadlines(level: RiskLevel | str, due: datetime) -> None:
    assert response_deadline(level, T0) == due


def test_default_deadlines_are_24h_72h_7d_and_read_only() -> None:
    assert dict(DEFAULT_DEADLINES) == {
        HIGH: timedelta(hours=24),
        MEDIUM: timedelta(hours=72),
        STANDARD: timedelta(days=7),
    }
    with pytest.raises(TypeError):
        DEFAULT_DEADLINES[HIGH] = timedelta(0)  # type: ignore[index]


def test_deadlines_are_configurable() -> None:
    deadlines = {
        HIGH: timedelta(hours=12),
        MEDIUM: timedelta(hours=48),
        STANDARD: timedelta(days=5),
    }
    assert response_deadline(HIGH, T0, deadlines) == T0 + timedelta(hours=12)
    assert response_deadline(STANDARD, T0, deadlines) == T0 + timedelta(days=5)


def test_a_level_without_a_configured_deadline_is_an_error() -> None:
    with pytest.raises(ScoringError, match="no response deadline"):
        response_deadline(MEDIUM, T0, {HIGH: timedelta(hours=1)})


def test_an_unknown_level_has_no_deadline() -> None:
    with pytest.raises(UnknownLevel):
        response_deadline("urgent", T0)


def test_the_deadline_keeps_the_timezone() -> None:
    assert response_deadline(HIGH, T0).tzinfo is UTC


def test_overdue_only_after_the_deadline() -> None:
    due = response_deadline(HIGH, T0)
    assert not is_overdue(due, due - timedelta(seconds=1))
    assert not is_overdue(due, due)
    assert is_overdue(due, due + timedelta(microseconds=1))
    assert is_overdue(due, T0 + timedelta(hours=25))
    assert not is_overdue(response_deadline(STANDARD, T0), T0 + timedelta(hours=25))


def test_a_deadline_follows_the_level_from_scoring() -> None:
    """The pieces fit: a rule-forced high case is due within a day."""
    result = score(V1, yes(11))
    assert response_deadline(result.level, T0) == T0 + timedelta(hours=24)
