"""Alembic environment: the same database settings as the app, and the models' metadata.

triage's commands pass an open connection in ``config.attributes["connection"]``; run by hand,
Alembic builds an engine from ``TRIAGE_DATABASE_URL`` or the instance's SQLite file.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from triage import models  # noqa: F401  (registers the tables on Base.metadata)
from triage.config import from_environment
from triage.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    context.configure(
        url=from_environment().sqlalchemy_url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(from_environment().sqlalchemy_url)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
