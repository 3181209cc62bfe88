"""Demo data for review: the demo cases get their provisional level and deadline."""

from __future__ import annotations

from sqlalchemy.orm import Session

from .cases import triage_new_cases
from .rules import ReviewRules


def triage_demo_cases(session: Session, rules: ReviewRules | None = None) -> int:
    """Put the demo cases in the queue's order; returns how many were triaged now."""
    return triage_new_cases(session, rules=rules)
