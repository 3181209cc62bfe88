"""Review's pure parts: the settings behind deadlines and claims, the provisional level from report
categories, the measure options a case offers, and the duration shown in the queue."""

from __future__ import annotations

from datetime import timedelta

import pytest

from triage.config import Settings, from_environment
from triage.models import Case
from triage.review.decisions import options_for
from triage.review.rules import ReviewRules
from triage.review.triaging import provisional_level
from triage.vocab import RiskLevel


def test_rules_default_to_the_domain_numbers() -> None:
    rules = ReviewRules.from_settings(Settings())
    assert rules.deadlines == {
        RiskLevel.HIGH: timedelta(hours=24),
        RiskLevel.MEDIUM: timedelta(hours=72),
        RiskLevel.STANDARD: timedelta(days=7),
    }
    assert rules.claim_for == timedelta(hours=2)
    assert rules.follow_up_days == 5


def test_rules_come_from_triage_variables() -> None:
    settings = from_environment(
        {
            "TRIAGE_DEADLINE_HIGH_HOURS": "12",
            "TRIAGE_DEADLINE_MEDIUM_HOURS": "48",
            "TRIAGE_DEADLINE_STANDARD_HOURS": "120",
            "TRIAGE_CLAIM_MINUTES": "45",
            "TRIAGE_FOLLOW_UP_DAYS": "7",
        }
    )
    rules = ReviewRules.from_settings(settings)
    assert rules.deadlines[RiskLevel.HIGH] == timedelta(hours=12)
    assert rules.deadlines[RiskLevel.STANDARD] == timedelta(hours=120)
    assert rules.claim_for == timedelta(minutes=45)
    assert rules.follow_up_days == 7


@pytest.mark.parametrize(
    ("signals", "categories", "level"),
    [
        ((), ("killing",), RiskLevel.HIGH),
        (("weapon",), ("battery",), RiskLevel.HIGH),
        ((), ("persecution",), RiskLevel.MEDIUM),
        ((), ("minor_harm",), RiskLevel.MEDIUM),
        ((), ("children", "battery"), RiskLevel.MEDIUM),
        ((), ("battery", "threat", "psychological"), RiskLevel.STANDARD),
        ((), (), RiskLevel.STANDARD),
    ],
)
def test_provisional_level_from_signals_and_categories(signals, categories, level) -> None:
    assert provisional_level(signals, categories) is level


def _case(verification: str, complaint: bool) -> Case:
    return Case(verification=verification, victim_complaint=complaint)


def test_an_unverified_case_offers_only_measures_for_the_victim() -> None:
    options = {o.measure.code: o for o in options_for(_case("unverified", False))}
    refused = {code for code, o in options.items() if o.refused}
    assert refused == {
        "preventive_talk",
        "preventive_registration",
        "protective_order",
        "special_requirements",
        "compulsory_assistance",
        "administrative_detention",
        "criminal_referral",
    }
    assert options["contact_victim"].approval_because == ()


def test_approval_reasons_depend_on_tier_and_complaint() -> None:
    without = {o.measure.code: o for o in options_for(_case("corroborated", False))}
    assert without["preventive_talk"].approval_because == ("no_victim_complaint",)
    assert without["protective_order"].approval_because == ("coercive", "no_victim_complaint")
    with_complaint = {o.measure.code: o for o in options_for(_case("corroborated", True))}
    assert with_complaint["preventive_talk"].approval_because == ()
    assert with_complaint["protective_order"].approval_because == ("coercive",)
    assert with_complaint["safety_plan"].approval_because == ()


def test_legal_end_limits_follow_the_law_and_the_configured_term() -> None:
    from datetime import date

    from triage import measures
    from triage.review.decisions import legal_end_limit

    special = measures.get_measure("special_requirements")
    order = measures.get_measure("protective_order")
    assert legal_end_limit(special, date(2026, 3, 1)) == date(2027, 3, 1)
    assert legal_end_limit(special, date(2028, 2, 29)) == date(2029, 2, 28)
    assert legal_end_limit(order, date(2026, 3, 1)) == date(2026, 3, 31)
    assert legal_end_limit(measures.get_measure("safety_plan"), date(2026, 3, 1)) is None
