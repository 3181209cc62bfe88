"""The configurable rules review runs on: response deadlines by level, how long a claim lasts
without activity, how many days before a measure's end its follow-up surfaces, the legal grounds
offered for each measure, and the recipients a case can be handed over to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from .. import legal, recipients
from ..config import Settings
from ..legal import LegalGrounds, default_grounds
from ..measures import FOLLOW_UP_DAYS_BEFORE
from ..recipients import Directory, default_directory
from ..scoring import DEFAULT_DEADLINES
from ..vocab import RiskLevel


@dataclass(frozen=True)
class ReviewRules:
    deadlines: Mapping[RiskLevel, timedelta] = field(default_factory=lambda: DEFAULT_DEADLINES)
    claim_for: timedelta = timedelta(hours=2)
    follow_up_days: int = FOLLOW_UP_DAYS_BEFORE
    legal: LegalGrounds = field(default_factory=default_grounds)
    recipients: Directory = field(default_factory=default_directory)

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
            legal=legal.load(settings.legal_grounds_file or None),
            recipients=recipients.load(settings.recipients_file or None),
        )
