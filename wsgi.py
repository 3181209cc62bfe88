"""The WSGI entry point: ``gunicorn wsgi:app``, ``flask --app wsgi run``.

The app is built from the ``TRIAGE_*`` environment variables, exactly as ``triage serve`` builds
it (``create_app()`` with no overrides); it refuses to build on a missing or wrong keyring or an
unmigrated database.
"""

from triage import create_app

app = create_app()
