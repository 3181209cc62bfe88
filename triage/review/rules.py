"""The configurable numbers review runs on: response deadlines by level, how long a claim lasts
without activity, and how many days before a measure's end its follow-up surfaces."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from ..config import Settings
from ..measures import FOLLOW_UP_DAYS_BEFORE
from ..scoring import DEFAULT_DEADLINES
from ..vocab import RiskLevel


@dataclass(frozen=True)
class ReviewRules:
    deadlines: Mapping[RiskLevel, timedelta] = field(default_factory=lambda: DEFAULT_DEADLINES)
    claim_for: timedelta = timedelta(hours=2)
    follow_up_days: int = FOLLOW_UP_DAYS_BEFORE

    @classmethod
    def from_settings(cls, settings: Settings) -> ReviewRules:
        return cls(
            deadlines={
                RiskLevel.HIGH: timedelta(hours=settings.deadline_high_hours),
                RiskLevel.MEDIUM: timedelta(hours=settings.deadline_medium_hours),
                RiskLevel.STANDARD: timedelta(hours=settings.deadline_standard_hours),
            },
            claim_for=timedelta(minutes=settings.claim_minutes),
            follow_up_days=settings.follow_up_days,
        )
