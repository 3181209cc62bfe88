"""Review's tables: claims history, verification steps, case notes, approvals, follow-ups."""

from __future__ import annotations
