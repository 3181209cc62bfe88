"""Settings, read once from ``TRIAGE_*`` environment variables.

Every knob triage has lives here, with a default that is safe for the embedded mode (SQLite and a
keyring file in the instance folder on one machine). Nothing else in the package reads the
environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
#: Running from a checkout (the tree itself, or an editable install of it), not from a wheel: a
#: checkout has pyproject.toml beside the package, an installed package sits in site-packages.
IN_CHECKOUT = (PROJECT_ROOT / "pyproject.toml").is_file()


def resource_path(name: str) -> Path:
    """Where ``templates``, ``static``, ``migrations`` or ``alembic.ini`` is.

    They live at the checkout's top level; a wheel carries them inside the package
    (pyproject.toml maps them there), and that copy, when present, is the one to use.
    """
    packaged = PACKAGE_DIR / name
    return packaged if packaged.exists() else PROJECT_ROOT / name


def _default_instance_path() -> Path:
    """``instance/`` in the checkout; installed from a wheel, ``instance/`` in the current one."""
    return PROJECT_ROOT / "instance" if IN_CHECKOUT else Path.cwd() / "instance"


class ConfigError(ValueError):
    """A setting has a value triage cannot use; the message names the variable."""


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    """The whole configuration of one triage instance."""

    instance_path: Path = field(default_factory=_default_instance_path)
    #: SQLAlchemy URL; empty means ``sqlite:///<instance_path>/triage.sqlite3``.
    database_url: str = ""
    #: Keyring file; empty means ``<instance_path>/keyring.json``.
    keyring_path: str = ""
    #: The keyring itself (its JSON), for deployments that inject secrets as variables.
    keyring: str = field(default="", repr=False)
    #: Overrides the session-signing secret kept in the keyring.
    secret_key: str = field(default="", repr=False)
    #: Send the session cookie over HTTPS only. On in production behind TLS.
    secure_cookies: bool = False
    #: Minutes of inactivity after which a signed-in user must sign in again.
    session_minutes: int = 30
    #: Argon2id cost; RFC 9106's second recommended option by default.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    #: How many reverse proxies in front of triage set X-Forwarded-For/-Proto/-Host (0: none).
    #: Set it behind a proxy, or every client looks like the proxy to the rate limits.
    trusted_proxies: int = 0
    #: Flask-Limiter storage: ``memory://`` for one process, ``redis://…`` for several.
    ratelimit_storage_url: str = "memory://"
    login_rate_limit: str = "10 per minute"
    #: Every staff account must sign in with a code from an authenticator app too: a signed-in
    #: user without two-step sign-in is sent to set it up before any other page.
    require_two_step: bool = False
    #: Largest request body accepted, in bytes; larger ones get 413 before they are parsed.
    max_request_bytes: int = 8 * 1024 * 1024
    #: Largest attachment (screenshot, photo, document) accepted, in bytes.
    attachment_max_bytes: int = 5 * 1024 * 1024
    #: Largest JSON body the intake API parses, in bytes; larger ones get 413 unread.
    api_max_body_bytes: int = 1024 * 1024
    #: Requests per API token (Flask-Limiter syntax).
    api_rate_limit: str = "120 per minute"
    #: Days a closed case keeps its sealed data before `triage purge` destroys its keys.
    retention_days: int = 1825
    #: Days a feed item screened out (not a candidate) is kept for reviewers to sample and
    #: promote before `triage purge` destroys its data key.
    screened_retention_days: int = 30
    #: Log level for the ``triage`` logger.
    log_level: str = "INFO"
    default_locale: str = "en"
    #: Refuse to start while the database schema is behind the code.
    require_current_schema: bool = True
    testing: bool = False
    #: Review: hours to a decision by risk level (DOMAIN.md "Response deadlines"), minutes a
    #: claim on a case lasts without activity, and days before a measure's end date on which its
    #: follow-up surfaces on the dashboard.
    deadline_high_hours: int = 24
    deadline_medium_hours: int = 72
    deadline_standard_hours: int = 168
    claim_minutes: int = 120
    follow_up_days: int = 5
    #: The legal grounds offered for each measure (a TOML file like triage/legal/grounds.toml);
    #: empty means the shipped list.
    legal_grounds_file: str = ""
    #: The recipients a case can be handed over to (a TOML file like triage/recipients.toml);
    #: empty means the shipped example directory.
    recipients_file: str = ""
    #: Alerts (`triage notify`, docs/alerts.md). The address the app is reached at, for the
    #: link in every alert (``https://triage.example.kz``).
    base_url: str = ""
    #: E-mail: the SMTP server (empty: no e-mail), its port, account, TLS mode (``starttls``,
    #: ``ssl`` or ``none``), the sender's address and how long to wait for the server.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_tls: str = "starttls"
    smtp_from: str = ""
    smtp_timeout_seconds: int = 10
    #: Webhook: where signed alerts are posted (empty: none), the HMAC secret that signs them,
    #: and how long to wait for an answer.
    webhook_url: str = ""
    webhook_secret: str = field(default="", repr=False)
    webhook_timeout_seconds: int = 10
    #: Attempts before a delivery goes to the dead-letter list, and the first wait before a
    #: retry (doubled after each failure, at most six hours).
    notify_max_attempts: int = 6
    notify_backoff_seconds: int = 60
    #: Hours a proposal may wait for a supervisor's approval before its alert is sent.
    approval_alert_hours: int = 24

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.instance_path / 'triage.sqlite3'}"

    @property
    def keyring_file(self) -> Path:
        return Path(self.keyring_path) if self.keyring_path else self.instance_path / "keyring.json"

    @property
    def session_lifetime(self) -> timedelta:
        return timedelta(minutes=self.session_minutes)

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    def with_overrides(self, overrides: Mapping[str, Any]) -> Settings:
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
        values = dict(overrides)
        if "instance_path" in values:
            values["instance_path"] = Path(values["instance_path"])
        return replace(self, **values)


def from_environment(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from ``TRIAGE_<NAME>`` variables (``TRIAGE_DATABASE_URL``, …)."""
    env = os.environ if environ is None else environ
    defaults = Settings()
    values: dict[str, Any] = {}
    for f in fields(Settings):
        name = f"TRIAGE_{f.name.upper()}"
        if name not in env:
            continue
        raw = env[name]
        current = getattr(defaults, f.name)
        if isinstance(current, bool):
            values[f.name] = _bool(name, raw)
        elif isinstance(current, int):
            values[f.name] = _int(name, raw)
        elif isinstance(current, Path):
            values[f.name] = Path(raw).expanduser().resolve()
        else:
            values[f.name] = raw
    return replace(defaults, **values)
