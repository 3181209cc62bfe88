"""Review: the reviewer queue, claims, risk assessment, verification, decisions and their
four-eyes approval, follow-ups and closing.

Business rules only: each function takes a session and the acting user, enforces the user's
region scope, appends its audit events in the caller's transaction, and returns a value or raises
a named error from ``triage.review.errors``. The views in ``triage.views.review`` parse and render.
"""
