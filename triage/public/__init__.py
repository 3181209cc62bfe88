"""The public way in: a report form anyone may send without an account, a receipt instead of an
account to come back with, and the exchange between reviewers and that reporter.

``receipts`` makes and checks receipts, ``form_tokens`` the public form's signed single-use
tokens (the form's CSRF guard, time check and replay guard in one, with no cookie), ``images``
strips metadata from photos before they are sealed, and ``service`` files a public report through
intake's normal path and runs the follow-up. See docs/public-reporting.md.
"""
