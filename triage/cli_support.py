"""What every ``triage`` command module shares: the settings and the checked instance, with a
refusal turned into one clear line (``click.ClickException``), never a traceback."""

from __future__ import annotations

import click

from .config import ConfigError, Settings, from_environment
from .crypto import CryptoError
from .instance import StartupError, open_instance
from .uow import UnitOfWork

#: What opening an instance can refuse with: each says in one line what is wrong.
FAILURES = (StartupError, CryptoError, ConfigError)


def settings() -> Settings:
    try:
        return from_environment()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def opened() -> tuple[Settings, UnitOfWork]:
    """The settings and the unit of work of a checked instance; a refusal is one clear line."""
    found = settings()
    try:
        return found, open_instance(found)
    except FAILURES as exc:
        raise click.ClickException(str(exc)) from None


def unit_of_work() -> UnitOfWork:
    return opened()[1]
