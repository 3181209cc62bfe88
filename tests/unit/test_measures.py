"""The measure catalogue and its rules: verification before coercion, four eyes, the victim's
wishes, follow-up dates. Pure: no app, no database."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage.measures import (
    DEFAULT_DURATIONS,
    MEASURES,
    ApprovalRefused,
    ApproverNotSupervisor,
    DecidedBy,
    Measure,
    MeasureError,
    ProposalCheck,
    ReasonRequired,
    SelfApproval,
    UnknownMeasure,
    UnverifiedSource,
    can_approve,
    catalogue,
    check_approver,
    check_proposal,
    end_date_for,
    follow_up_date,
    get_measure,
)
from triage.vocab import MeasureTier, Role, Verification

SUPPORTIVE, PREVENTIVE, COERCIVE, NONE = (
    MeasureTier.SUPPORTIVE,
    MeasureTier.PREVENTIVE,
    MeasureTier.COERCIVE,
    MeasureTier.NONE,
)
UNVERIFIED, CORROBORATED, UNFOUNDED = (
    Verification.UNVERIFIED,
    Verification.CORROBORATED,
    Verification.UNFOUNDED,
)

#: DOMAIN.md "Measures": code → tier, in the table's order.
DOMAIN_TIERS = {
    "contact_victim": SUPPORTIVE,
    "refer_support": SUPPORTIVE,
    "safety_plan": SUPPORTIVE,
    "preventive_talk": PREVENTIVE,
    "preventive_registration": PREVENTIVE,
    "protective_order": COERCIVE,
    "special_requirements": COERCIVE,
    "compulsory_assistance": COERCIVE,
    "administrative_detention": COERCIVE,
    "criminal_referral": COERCIVE,
    "no_action": NONE,
}


# --- the catalogue -------------------------------------------------------------------------------


def test_the_catalogue_is_domain_md_table_in_order() -> None:
    assert {code: m.tier for code, m in MEASURES.items()} == DOMAIN_TIERS
    assert list(MEASURES) == list(DOMAIN_TIERS)


@pytest.mark.parametrize(
    ("code", "decided_by"),
    [
        ("contact_victim", (DecidedBy.REVIEWER,)),
        ("preventive_talk", (DecidedBy.POLICE,)),
        ("protective_order", (DecidedBy.POLICE,)),
        ("special_requirements", (DecidedBy.COURT,)),
        ("compulsory_assistance", (DecidedBy.COURT,)),
        ("administrative_detention", (DecidedBy.POLICE, DecidedBy.COURT)),
        ("criminal_referral", (DecidedBy.INVESTIGATORS,)),
        ("no_action", (DecidedBy.REVIEWER,)),
    ],
)
def test_who_decides(code: str, decided_by: tuple[DecidedBy, ...]) -> None:
    assert MEASURES[code].decided_by == decided_by


def test_every_measure_has_a_label_and_a_code_that_fits_the_column() -> None:
    for code, measure in MEASURES.items():
        assert measure.code == code
        assert measure.label
        assert len(code) <= 32  # Decision.measure is String(32)


def test_protective_order_lasts_30_days_by_default_and_raises_a_follow_up() -> None:
    order = MEASURES["protective_order"]
    assert order.has_end_date
    assert order.default_duration == timedelta(days=30)
    assert "Article 461" in order.notes


def test_special_requirements_have_an_end_date_the_court_sets() -> None:
    requirements = MEASURES["special_requirements"]
    assert requirements.has_end_date
    assert requirements.default_duration is None
    assert "Article 54" in requirements.notes


def test_only_fixed_term_measures_have_end_dates() -> None:
    assert {c for c, m in MEASURES.items() if m.has_end_date} == {
        "protective_order",
        "special_requirements",
    }


def test_sharing_data_for_a_referral_needs_the_victims_consent() -> None:
    assert {c for c, m in MEASURES.items() if m.needs_victim_consent} == {"refer_support"}


def test_aimed_at_aggressor_is_preventive_or_coercive() -> None:
    for measure in MEASURES.values():
        assert measure.aimed_at_aggressor is (measure.tier in {PREVENTIVE, COERCIVE})


def test_durations_are_configurable_defaults() -> None:
    assert dict(DEFAULT_DURATIONS) == {"protective_order": timedelta(days=30)}
    custom = catalogue({"protective_order": timedelta(days=15)})
    assert custom["protective_order"].default_duration == timedelta(days=15)
    assert MEASURES["protective_order"].default_duration == timedelta(days=30)
    no_default = catalogue({})
    assert no_default["protective_order"].default_duration is None


def test_a_duration_for_an_unknown_measure_is_refused() -> None:
    with pytest.raises(UnknownMeasure, match="protection_order"):
        catalogue({"protection_order": timedelta(days=30)})


@pytest.mark.parametrize("days", [0, -1])
def test_a_duration_must_be_positive(days: int) -> None:
    with pytest.raises(MeasureError, match="positive"):
        catalogue({"protective_order": timedelta(days=days)})


def test_get_measure() -> None:
    assert get_measure("safety_plan") is MEASURES["safety_plan"]
    with pytest.raises(UnknownMeasure):
        get_measure("deportation")


# --- proposing: a few cases as a reviewer meets them -------------------------------------------


def test_a_protective_order_on_an_unverified_online_report_is_refused() -> None:
    with pytest.raises(UnverifiedSource, match="record corroboration first"):
        check_proposal(
            "protective_order",
            verification=UNVERIFIED,
            victim_complaint=False,
            against_victim_wishes=False,
            reason="Post shows a threat",
        )


def test_safe_contact_on_an_unverified_report_goes_ahead_at_once() -> None:
    result = check_proposal(
        "contact_victim",
        verification=UNVERIFIED,
        victim_complaint=False,
        against_victim_wishes=False,
        reason=None,
    )
    assert not result.needs_supervisor
    assert result.measure is MEASURES["contact_victim"]


def test_a_corroborated_protective_order_with_a_complaint_still_needs_a_supervisor() -> None:
    result = check_proposal(
        "protective_order",
        verification=CORROBORATED,
        victim_complaint=True,
        against_victim_wishes=False,
        reason=None,
    )
    assert result.needs_supervisor
    assert result.approval_because == ("coercive",)


def test_a_preventive_talk_with_the_victims_complaint_needs_no_approval() -> None:
    result = check_proposal(
        "preventive_talk",
        verification="corroborated",
        victim_complaint=True,
        against_victim_wishes=False,
        reason=None,
    )
    assert not result.needs_supervisor


def test_a_preventive_talk_without_a_complaint_needs_a_supervisor() -> None:
    result = check_proposal(
        MEASURES["preventive_talk"],
        verification=CORROBORATED,
        victim_complaint=False,
        against_victim_wishes=False,
        reason=None,
    )
    assert result.approval_because == ("no_victim_complaint",)


def test_a_court_petition_without_complaint_gives_both_reasons_for_approval() -> None:
    result = check_proposal(
        "special_requirements",
        verification=CORROBORATED,
        victim_complaint=False,
        against_victim_wishes=True,
        reason="Third breach this year; she withdrew her complaint after threats.",
    )
    assert result.approval_because == ("coercive", "no_victim_complaint")
    assert result.reason == "Third breach this year; she withdrew her complaint after threats."


def test_going_against_the_victims_wishes_needs_a_written_reason() -> None:
    with pytest.raises(ReasonRequired, match="victim's wishes"):
        check_proposal(
            "refer_support",
            verification=CORROBORATED,
            victim_complaint=True,
            against_victim_wishes=True,
            reason="   ",
        )


def test_no_action_needs_a_reason() -> None:
    with pytest.raises(ReasonRequired, match="no measure"):
        check_proposal(
            "no_action",
            verification=UNFOUNDED,
            victim_complaint=False,
            against_victim_wishes=False,
            reason=None,
        )


def test_an_unfounded_case_gets_nothing_aimed_at_the_aggressor() -> None:
    with pytest.raises(UnverifiedSource, match="unfounded"):
        check_proposal(
            "preventive_talk",
            verification=UNFOUNDED,
            victim_complaint=True,
            against_victim_wishes=False,
            reason="x",
        )


def test_an_unknown_measure_or_verification_state_is_refused() -> None:
    with pytest.raises(UnknownMeasure):
        check_proposal(
            "exile",
            verification=CORROBORATED,
            victim_complaint=True,
            against_victim_wishes=False,
            reason=None,
        )
    with pytest.raises(MeasureError, match="verification state"):
        check_proposal(
            "safety_plan",
            verification="probably",
            victim_complaint=True,
            against_victim_wishes=False,
            reason=None,
        )


# --- proposing: every combination ----------------------------------------------------------------

REASONS: list[str | None] = [None, "", "  ", "A written reason"]


def _expected(
    tier: MeasureTier,
    verification: Verification,
    complaint: bool,
    against: bool,
    reason: str | None,
) -> type[Exception] | tuple[str, ...]:
    """DOMAIN.md's rules, written as a decision table: the exception, or why approval is needed."""
    written = bool(reason and reason.strip())
    aimed = tier in {PREVENTIVE, COERCIVE}
    if aimed and verification is not CORROBORATED:
        return UnverifiedSource
    if against and not written:
        return ReasonRequired
    if tier is NONE and not written:
        return ReasonRequired
    return (("coercive",) if tier is COERCIVE else ()) + (
        ("no_victim_complaint",) if aimed and not complaint else ()
    )


COMBINATIONS = list(
    itertools.product(MEASURES, list(Verification), [True, False], [True, False], REASONS)
)


@pytest.mark.parametrize(
    ("code", "verification", "complaint", "against", "reason"),
    COMBINATIONS,
    ids=[
        f"{c}-{v.value}-{'complaint' if k else 'no_complaint'}-{'against' if a else 'wished'}-{r!r}"
        for c, v, k, a, r in COMBINATIONS
    ],
)
def test_every_combination(
    code: str, verification: Verification, complaint: bool, against: bool, reason: str | None
) -> None:
    expected = _expected(MEASURES[code].tier, verification, complaint, against, reason)

    def propose() -> ProposalCheck:
        return check_proposal(
            code,
            verification=verification,
            victim_complaint=complaint,
            against_victim_wishes=against,
            reason=reason,
        )

    if isinstance(expected, type):
        with pytest.raises(expected):
            propose()
    else:
        result = propose()
        assert result.approval_because == expected
        assert result.needs_supervisor is bool(expected)
        assert result.reason == (reason.strip() if reason and reason.strip() else None)


def test_the_combination_table_covers_every_tier_and_outcome() -> None:
    """Guard the table above against silently shrinking."""
    outcomes = {_expected(MEASURES[c].tier, v, k, a, r) for c, v, k, a, r in COMBINATIONS}
    assert UnverifiedSource in outcomes
    assert ReasonRequired in outcomes
    assert {(), ("coercive",), ("no_victim_complaint",), ("coercive", "no_victim_complaint")} <= {
        o for o in outcomes if isinstance(o, tuple)
    }
    assert len(COMBINATIONS) == 11 * 3 * 2 * 2 * 4


@given(
    st.sampled_from([c for c, m in MEASURES.items() if m.tier is SUPPORTIVE]),
    st.sampled_from(list(Verification)),
    st.booleans(),
    st.one_of(st.none(), st.text()),
)
def test_supportive_measures_never_wait(
    code: str, verification: Verification, complaint: bool, reason: str | None
) -> None:
    result = check_proposal(
        code,
        verification=verification,
        victim_complaint=complaint,
        against_victim_wishes=False,
        reason=reason,
    )
    assert not result.needs_supervisor


# --- approving ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("proposer", "approver", "role", "allowed"),
    [
        (1, 2, Role.SUPERVISOR, True),
        (1, 2, "supervisor", True),
        ("a1", "b2", Role.SUPERVISOR, True),
        (1, 1, Role.SUPERVISOR, False),  # never one's own
        (1, "1", Role.SUPERVISOR, False),  # the same user, however the id is spelt
        (1, 2, Role.REVIEWER, False),
        (1, 2, Role.CASEWORKER, False),
        (1, 2, Role.AUDITOR, False),
        (1, 2, Role.ADMIN, False),
        (1, 2, "root", False),
        (None, 2, Role.SUPERVISOR, False),
        (1, None, Role.SUPERVISOR, False),
    ],
)
def test_can_approve(proposer: Any, approver: Any, role: Role | str, allowed: bool) -> None:
    assert can_approve(proposer, approver, role) is allowed
    if allowed:
        check_approver(proposer, approver, role)
    else:
        with pytest.raises(ApprovalRefused):
            check_approver(proposer, approver, role)


def test_approval_refusals_say_why() -> None:
    with pytest.raises(SelfApproval):
        check_approver(7, 7, Role.SUPERVISOR)
    with pytest.raises(ApproverNotSupervisor):
        check_approver(7, 8, Role.REVIEWER)
    # Own proposal is the first refusal even for a non-supervisor.
    with pytest.raises(SelfApproval):
        check_approver(7, 7, Role.REVIEWER)


# --- dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("end", "days_before", "follow_up"),
    [
        (date(2026, 3, 31), 5, date(2026, 3, 26)),
        (date(2026, 3, 3), 5, date(2026, 2, 26)),
        (date(2026, 1, 2), 5, date(2025, 12, 28)),
        (date(2024, 3, 2), 5, date(2024, 2, 26)),  # leap year
        (date(2026, 3, 31), 0, date(2026, 3, 31)),
        (date(2026, 3, 31), 10, date(2026, 3, 21)),
    ],
)
def test_follow_up_date(end: date, days_before: int, follow_up: date) -> None:
    assert follow_up_date(end, days_before) == follow_up


def test_follow_up_defaults_to_5_days_before() -> None:
    assert follow_up_date(date(2026, 3, 31)) == date(2026, 3, 26)


def test_follow_up_keeps_a_datetime_a_datetime() -> None:
    end = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    assert follow_up_date(end) == datetime(2026, 3, 26, 12, 0, tzinfo=UTC)


def test_a_negative_lead_time_is_refused() -> None:
    with pytest.raises(MeasureError):
        follow_up_date(date(2026, 3, 31), -1)


def test_a_protective_order_ends_after_30_days_and_is_followed_up_before() -> None:
    order = MEASURES["protective_order"]
    ends = end_date_for(order, date(2026, 1, 1))
    assert ends == date(2026, 1, 31)
    assert ends is not None
    assert follow_up_date(ends) == date(2026, 1, 26)


@pytest.mark.parametrize("code", ["special_requirements", "contact_victim", "no_action"])
def test_no_default_end_date_without_a_fixed_term(code: str) -> None:
    assert end_date_for(MEASURES[code], date(2026, 1, 1)) is None


@given(st.dates(min_value=date(2000, 1, 10)), st.integers(min_value=0, max_value=9))
def test_follow_up_is_always_the_given_days_before(end: date, days_before: int) -> None:
    assert (end - follow_up_date(end, days_before)).days == days_before


def test_measures_are_immutable() -> None:
    with pytest.raises(AttributeError):
        MEASURES["protective_order"].tier = SUPPORTIVE  # type: ignore[misc]
    with pytest.raises(TypeError):
        MEASURES["x"] = MEASURES["no_action"]  # type: ignore[index]
    assert isinstance(MEASURES["no_action"], Measure)
