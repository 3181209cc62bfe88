"""Alerts: when a high-risk case passes its deadline, a follow-up falls due or a proposal has
waited too long for approval, the people who hold or supervise the case hear of it by e-mail and
by a signed webhook — a case code and a link, never a person's data (docs/alerts.md).

``due`` finds what fell due, ``deliveries`` raises it once and keeps each delivery's state,
``channels`` sends, ``messages`` words it, ``signing`` signs the webhook, ``service`` is the run
behind `triage notify`.
"""

from .rules import NotifyConfig, NotifyRules
from .service import Preview, Summary, preview, run

__all__ = ["NotifyConfig", "NotifyRules", "Preview", "Summary", "preview", "run"]
