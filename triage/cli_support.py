"""What every ``triage`` command module shares: the settings and the checked instance, with a
refusal turned into one clear line (``click.ClickException``), never a traceback."""

from __future__ import annotations

import importlib
from typing import Any

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


class LazyGroup(click.Group):
    """A group whose named subcommands are imported only when one of them is run or asked for
    (``lazy_subcommands``: name → ``"module:attribute"``), the pattern of Click's documentation
    ("Lazily Loading Subcommands"): a command that needs little starts with little."""

    def __init__(self, *args: Any, lazy_subcommands: dict[str, str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = dict(lazy_subcommands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_subcommands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_subcommands:
            return self._load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def _load(self, cmd_name: str) -> click.Command:
        module_name, attribute = self.lazy_subcommands[cmd_name].split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module_name}:{attribute} is not a click command")
        return command
