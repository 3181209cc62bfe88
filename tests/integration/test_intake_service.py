"""Intake's rules that do not depend on the way in: who may make a report corroborated, and what
a direct report's own words say about urgency."""

from __future__ import annotations

import pytest
from flask import Flask

from triage.intake import schema, service
from triage.web.deps import uow_of

FROM_THE_VICTIM = {
    "source_kind": "direct",
    "region": "karaganda",
    "reporter": "victim",
    "victim": {"name": "Example Person"},
    "relationship": "spouse",
    "categories": ["psychological"],
    "victim_complaint": True,
    "narrative": "My husband strangled me last night and said he would kill me with a knife.",
}


@pytest.mark.parametrize(
    ("attested", "verification", "complaint"),
    [(True, "corroborated", True), (False, "unverified", False)],
)
def test_only_a_caseworker_can_vouch_that_the_victim_herself_reports(
    app: Flask, attested: bool, verification: str, complaint: bool
) -> None:
    with app.app_context(), uow_of(app).begin() as session:
        filed = service.file(
            session, schema.parse(FROM_THE_VICTIM), actor="system", attested=attested
        )
        assert filed.report.verification == verification
        assert filed.case.verification == verification
        assert filed.case.victim_complaint is complaint


def test_a_direct_narrative_is_screened_for_urgency(app: Flask) -> None:
    with app.app_context(), uow_of(app).begin() as session:
        filed = service.file(session, schema.parse(FROM_THE_VICTIM), actor="system", attested=True)
        assert {"strangulation", "weapon"} <= set(filed.report.signals)
        assert filed.case.risk_level == "high" and filed.case.risk_provisional


def test_unknown_wishes_are_not_a_refusal_and_yes_needs_a_safe_way() -> None:
    report = schema.parse(FROM_THE_VICTIM)
    assert report.may_contact == "unknown" and report.consent_support_services == "unknown"
    with pytest.raises(schema.InvalidReport) as refused:
        schema.parse({**FROM_THE_VICTIM, "may_contact": "yes"})
    assert "safe_contact" in refused.value.errors
    with pytest.raises(schema.InvalidReport) as bad:
        schema.parse({**FROM_THE_VICTIM, "may_contact": True})
    assert "may_contact" in bad.value.errors
