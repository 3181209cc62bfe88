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
    #: Connections each process keeps open to the database, and how many more it may open at a
    #: burst (``db.make_engine``); PostgreSQL's ``max_connections`` must cover every server's
    #: workers × (size + overflow).
    db_pool_size: int = 5
    db_max_overflow: int = 10
    #: PostgreSQL cancels any statement running longer than this many milliseconds (0: never).
    db_statement_timeout_ms: int = 0
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
    #: Hours after sign-in at which a session ends however active it is (enforced on the server).
    session_absolute_hours: int = 12
    #: Where sessions live: empty for the database (the embedded default), or a Redis URL
    #: (``redis://HOST:6379/1``) shared by every server.
    session_redis_url: str = ""
    #: Account lockout (``triage.lockout``): after this many sign-in failures in a row the account
    #: refuses every sign-in for ``lockout_minutes``, doubled at each further failure, at most
    #: ``lockout_max_minutes``.
    lockout_threshold: int = 5
    lockout_minutes: int = 15
    lockout_max_minutes: int = 240
    #: Device cookies (``triage.web.device_cookies``): a browser the account signed in from
    #: within this many days is not subject to its lockout (0: no device cookies) ...
    device_cookie_days: int = 30
    #: ... until this many wrong passwords or codes are sent with that cookie; then it is denied.
    device_cookie_failures: int = 5
    #: Argon2id cost; RFC 9106's second recommended option by default.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    #: How many reverse proxies in front of triage set X-Forwarded-For/-Proto/-Host (0: none).
    #: Set it behind a proxy, or every client looks like the proxy to the rate limits.
    trusted_proxies: int = 0
    #: Flask-Limiter storage: ``database`` (counters in the database, shared by every worker on
    #: it), ``redis://…`` for several servers, or ``memory://`` (each process counts alone).
    ratelimit_storage_url: str = "database"
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
    #: How log lines are written: ``json`` (one JSON object a line) or ``text`` (for a terminal).
    log_format: str = "json"
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
    #: Signed checkpoints of the audit chain's head (docs/audit.md): the append-only JSON Lines
    #: file they are written to (empty: ``<instance_path>/checkpoints.jsonl``), the auditor's URL
    #: each is also POSTed to (empty: none), and an optional HMAC secret for that POST.
    checkpoint_file: str = ""
    checkpoint_webhook: str = ""
    checkpoint_webhook_secret: str = field(default="", repr=False)
    #: Background jobs (docs/jobs.md). The Redis URL Celery's broker uses (``triage worker``;
    #: empty: no worker, the jobs run from the CLI), its queue's name, the seconds after which
    #: a task whose worker died is delivered again, and how long a feed's lock lasts unrenewed.
    jobs_broker_url: str = ""
    jobs_queue: str = "triage"
    jobs_visibility_seconds: int = 3600
    jobs_lock_seconds: int = 300
    #: The feeds the worker (or ``triage poll-feeds``) polls: URLs or files, separated by spaces
    #: or commas; and the minutes between polls, alerts runs and checkpoints (0: not scheduled).
    feeds: str = ""
    feed_poll_minutes: int = 15
    notify_minutes: int = 5
    checkpoint_minutes: int = 60
    #: The folder the worker writes each day's signed audit export to, for the oversight bodies
    #: (empty: no daily export).
    export_dir: str = ""
    #: Where the keyring comes from (docs/encryption.md): empty picks ``env`` when
    #: TRIAGE_KEYRING or TRIAGE_KEYRING_B64 is set and ``file`` otherwise; ``module:factory``
    #: names a provider of one's own (a KMS).
    keyring_provider: str = ""
    #: The keyring's JSON, base64-encoded (the ``env`` provider), for secret stores that inject
    #: one-line values.
    keyring_b64: str = field(default="", repr=False)
    #: The public way in (``/report``, docs/public-reporting.md): whether it is open; where
    #: its quick-exit button sends the page (a neutral site); the limits per client address and
    #: for all addresses together (Flask-Limiter syntax); the fewest seconds between opening the
    #: form and sending it (a bot's time check) and the minutes a form stays valid; and how many
    #: files one submission may carry.
    public_reporting: bool = True
    public_exit_url: str = "https://www.gismeteo.kz/"
    public_rate_limit: str = "5 per minute;30 per day"
    public_global_rate_limit: str = "300 per hour"
    public_min_seconds: int = 3
    public_form_minutes: int = 120
    public_max_files: int = 3

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
    def session_absolute_lifetime(self) -> timedelta:
        return timedelta(hours=self.session_absolute_hours)

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
