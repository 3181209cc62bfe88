"""Bringing an instance up: the folder, the keyring, the schema, and the checks before serving.

``init_instance`` is idempotent and never makes a new keyring for a database that already holds
sealed data. ``check_startup`` is what the app and every command run first: a missing, unreadable
or wrong keyring, or a schema behind the code, stops them with a message that says what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from . import audit, kek_checks, keyring_providers, legal, recipients
from .config import Settings, resource_path
from .crypto import Keyring, KeyringError, write_keyring
from .db import make_engine, prepare_sqlite_file
from .models import DataKey, InstanceMeta
from .passwords import Passwords
from .review.decisions import migrate_grounds
from .review.rescoring import rescore_assessments
from .review.rules import ReviewRules
from .uow import UnitOfWork

FINGERPRINT_KEY = "keyring_fingerprint"


class StartupError(Exception):
    """The instance cannot start; the message tells the operator what to do."""


def alembic_config() -> Config:
    config = Config(str(resource_path("alembic.ini")))
    config.set_main_option("script_location", str(resource_path("migrations")))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the migrations folder has no revisions"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine, revision: str = "head", *, downgrade: bool = False) -> None:
    """Run Alembic to ``revision`` on ``engine``, in one transaction.

    On SQLite, foreign keys are switched off for the migration: Alembic's batch mode rebuilds a
    table by copying it and dropping the old one, and with foreign keys on, that drop would
    cascade into the rows that refer to it. The keys are checked before the transaction commits.
    """
    config = alembic_config()
    with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:  # must happen outside a transaction, straight on the driver's connection
            connection.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                if downgrade:
                    command.downgrade(config, revision)
                else:
                    command.upgrade(config, revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise StartupError(
                            f"the migration would leave {len(broken)} broken references; "
                            "it was rolled back"
                        )
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys = ON")  # type: ignore[union-attr]


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _holds_sealed_data(engine: Engine) -> bool:
    tables = set(inspect(engine).get_table_names())
    with Session(engine) as session:
        if "instance_meta" in tables and session.get(InstanceMeta, FINGERPRINT_KEY) is not None:
            return True
        if "data_key" in tables and session.scalar(select(func.count()).select_from(DataKey)):
            return True
    return False


def _sqlite_file_missing(engine: Engine) -> bool:
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.query.get("uri"):
        return False
    database = url.database
    return database is not None and database not in ("", ":memory:") and not Path(database).exists()


def _check_keyring_matches(session: Session, ring: Keyring) -> None:
    stored = session.get(InstanceMeta, FINGERPRINT_KEY)
    if stored is not None and stored.value != ring.fingerprint:
        raise KeyringError(
            "the keyring does not belong to this database (its fingerprint differs); "
            "point TRIAGE_KEYRING_PATH at the keyring this database was sealed with"
        )
    in_use = set(session.scalars(select(DataKey.kek_id).distinct()))
    missing = in_use - ring.kek_ids
    if missing:
        raise KeyringError(
            "the keyring lacks key-encryption keys that wrap stored data: "
            + ", ".join(sorted(missing))
            + "; restore the keyring that holds them"
        )


@dataclass(frozen=True)
class InitResult:
    keyring_created: bool
    keyring_path: Path | None
    revision: str


def init_instance(settings: Settings) -> InitResult:
    """Create the instance folder and keyring if needed, and migrate the database to head."""
    settings.instance_path.mkdir(mode=0o700, parents=True, exist_ok=True)
    engine = engine_for(settings)
    try:
        created = False
        chosen = keyring_providers.provider(settings)
        keyring_path = chosen.path if isinstance(chosen, keyring_providers.FileProvider) else None
        if keyring_path is None or keyring_path.exists():
            ring = chosen.load()
        else:
            if _holds_sealed_data(engine):
                raise StartupError(
                    f"no keyring at {settings.keyring_file}, but the database already holds sealed "
                    "data: a new keyring could never open it. Restore the keyring this database "
                    "was sealed with (or point TRIAGE_KEYRING_PATH at it) and run init again."
                )
            ring = Keyring.generate()
            write_keyring(settings.keyring_file, ring)
            created = True
        grounds = _legal_grounds(settings)
        prepare_sqlite_file(engine)
        migrate(engine)
        with Session(engine) as session, session.begin():
            _check_keyring_matches(session, ring)
            kek_checks.verify(session, ring, setting=keyring_setting(settings))
            kek_checks.record(session, ring)
            if session.get(InstanceMeta, FINGERPRINT_KEY) is None:
                session.add(InstanceMeta(key=FINGERPRINT_KEY, value=ring.fingerprint))
                audit.append(
                    session,
                    actor=audit.SYSTEM_ACTOR,
                    action="instance.initialised",
                    details={"active_kek": ring.active_kek, "keyring_created": created},
                )
        # Data steps a migration cannot take, having no keys: they read sealed values.
        with UnitOfWork(engine, ring, Passwords.from_settings(settings)).begin() as session:
            migrate_grounds(session, grounds)
            rescore_assessments(session, rules=ReviewRules.from_settings(settings))
        return InitResult(created, keyring_path, head_revision())
    except OperationalError as exc:
        raise StartupError(
            f"cannot reach the database at {_safe_url(settings.sqlalchemy_url)}: {exc.orig}"
        ) from None
    finally:
        engine.dispose()


def _legal_grounds(settings: Settings) -> legal.LegalGrounds:
    """The configured legal grounds and recipients, checked: a file triage cannot use stops it
    here, with a message naming the setting, rather than on the first decision."""
    try:
        recipients.load(settings.recipients_file or None)
    except recipients.RecipientsError as exc:
        raise StartupError(f"{exc} (TRIAGE_RECIPIENTS_FILE)") from None
    try:
        return legal.load(settings.legal_grounds_file or None)
    except legal.LegalGroundsError as exc:
        raise StartupError(f"{exc} (TRIAGE_LEGAL_GROUNDS_FILE)") from None


def keyring_setting(settings: Settings) -> str:
    """The setting the keyring came from, for a message that says what to fix."""
    if settings.keyring:
        return "TRIAGE_KEYRING"
    return f"TRIAGE_KEYRING_PATH={settings.keyring_file}"


def check_startup(settings: Settings, engine: Engine) -> Keyring:
    """Load the keyring and make sure it, the schema and the legal grounds file fit; else
    refuse."""
    ring = keyring_providers.load(settings)
    _legal_grounds(settings)
    try:
        # Connecting to a missing SQLite file would leave an empty one behind.
        revision = None if _sqlite_file_missing(engine) else current_revision(engine)
        if revision is None:
            raise StartupError(
                f"the database at {_safe_url(settings.sqlalchemy_url)} is not initialised: "
                "run `triage init`"
            )
        if settings.require_current_schema and revision != head_revision():
            raise StartupError(
                f"the database schema is at revision {revision} but this code needs "
                f"{head_revision()}: run `triage init` to migrate it"
            )
        with Session(engine) as session:
            if session.get(InstanceMeta, FINGERPRINT_KEY) is None:
                raise StartupError(
                    "the database was migrated but never initialised with a keyring: "
                    "run `triage init`"
                )
            _check_keyring_matches(session, ring)
            kek_checks.verify(session, ring, setting=keyring_setting(settings))
    except OperationalError as exc:
        raise StartupError(
            f"cannot reach the database at {_safe_url(settings.sqlalchemy_url)}: {exc.orig}"
        ) from None
    return ring


def engine_for(settings: Settings) -> Engine:
    """The engine of the instance's database, with its pool and timeout settings."""
    return make_engine(
        settings.sqlalchemy_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        statement_timeout_ms=settings.db_statement_timeout_ms,
    )


def open_instance(settings: Settings) -> UnitOfWork:
    """The unit of work of a checked instance: what the app and every command run on.

    Refuses (``StartupError`` or ``KeyringError``) a missing, wrong or unreadable keyring or an
    unmigrated database, like ``check_startup``.
    """
    engine = engine_for(settings)
    ring = check_startup(settings, engine)
    source = keyring_providers.source(settings, ring)
    return UnitOfWork(engine, source, Passwords.from_settings(settings))
