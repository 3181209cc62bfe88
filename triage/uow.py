"""The unit of work: where every transaction begins and ends.

Each request, command and background job writes inside one visible block::

    with uow.begin() as session:
        decisions.approve(session, user, decision_id, version=version)

The block commits when it ends normally and rolls back on any exception; nowhere else in triage
commits or rolls back. Pages that only read use ``uow.read()``, a transaction that cannot write
(PostgreSQL refuses it, SQLite is put in ``query_only``) and never takes SQLite's write lock.

The unit of work also carries what services need beyond the session — the keyring and the
password hasher — on the session it opens (``Session.info``), so that a service receives them
with its session argument and no domain module looks anything up in a global or in Flask.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from .crypto import Keyring, KeyringSource
from .db import READ_ONLY
from .passwords import Passwords

_KEYRING = "triage.keyring"
_PASSWORDS = "triage.passwords"


class UnitOfWork:
    """Opens transactions on ``engine`` whose sessions carry ``keyring`` and ``passwords``."""

    def __init__(
        self,
        engine: Engine,
        keyring: KeyringSource | Keyring,
        passwords: Passwords | None = None,
    ) -> None:
        source = keyring if isinstance(keyring, KeyringSource) else KeyringSource(keyring)
        self.engine = engine
        self.keyring = source
        self.passwords = passwords or Passwords.default()
        info: dict[str, Any] = {_KEYRING: source, _PASSWORDS: self.passwords}
        self._sessions = sessionmaker(engine, expire_on_commit=False, info=info)
        self._readers = sessionmaker(
            engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False, info=info
        )

    @contextmanager
    def begin(self) -> Iterator[Session]:
        """One read-write transaction: committed if the block ends normally, else rolled back."""
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """One transaction that only reads: a write inside it fails instead of being kept."""
        with self._readers() as session, session.begin():
            if self.engine.dialect.name == "postgresql":
                session.execute(text("SET TRANSACTION READ ONLY"))
            else:
                # The pool turns the flag off again when the connection is returned
                # (``db.make_engine``), so it never reaches another block.
                session.execute(text("PRAGMA query_only = ON"))
            yield session


def keyring_of(session: Session) -> KeyringSource:
    """The keyring of the unit of work that opened ``session``."""
    source = session.info.get(_KEYRING)
    if not isinstance(source, KeyringSource):
        raise RuntimeError("this session was not opened by a unit of work: it carries no keyring")
    return source


def passwords_of(session: Session) -> Passwords:
    """The password hasher of the unit of work that opened ``session``."""
    passwords = session.info.get(_PASSWORDS)
    if not isinstance(passwords, Passwords):
        raise RuntimeError("this session was not opened by a unit of work: it has no hasher")
    return passwords
