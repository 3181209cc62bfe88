"""What alerts run on: the channels (SMTP server, webhook), the link's base address, and the
rules for when a proposal's wait is too long and how failed deliveries are retried. Read from
``Settings`` and checked once, so a wrong setting is one clear line naming its variable."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from ..config import ConfigError, Settings
from ..errors import InvalidInput
from ..users import clean_email

TLS_MODES = ("starttls", "ssl", "none")
#: A retry never waits longer than this, however many attempts failed before.
BACKOFF_CAP = timedelta(hours=6)
#: How long a sender holds a delivery it claimed: longer than any one attempt can take (each
#: network step has its own timeout), so a live sender never loses its claim, while a claim of a
#: sender that died is taken over after it.
CLAIM_FOR = timedelta(minutes=15)
MIN_WEBHOOK_SECRET = 16


def backoff(attempts: int, base: timedelta, cap: timedelta = BACKOFF_CAP) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: ``base``, then doubled each time, at
    most ``cap``. Deterministic, so that the schedule can be stated (and tested) exactly."""
    if attempts < 1:
        return timedelta(0)
    # Doubled in seconds and capped there: ``base * 2**n`` would overflow a timedelta.
    factor: int = 2 ** min(attempts - 1, 64)
    return timedelta(seconds=min(base.total_seconds() * factor, cap.total_seconds()))


@dataclass(frozen=True)
class NotifyRules:
    #: A proposal waiting for approval longer than this raises an alert.
    approval_after: timedelta = timedelta(hours=24)
    #: Attempts per delivery before it goes to the dead-letter list.
    max_attempts: int = 6
    #: The wait before the first retry (``backoff``).
    backoff: timedelta = timedelta(seconds=60)
    claim_for: timedelta = CLAIM_FOR

    def next_wait(self, attempts: int) -> timedelta:
        return backoff(attempts, self.backoff)


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    username: str = ""
    password: str = field(default="", repr=False)
    tls: str = "starttls"
    sender: str = ""
    timeout: float = 10.0


@dataclass(frozen=True)
class WebhookConfig:
    url: str
    secret: str = field(default="", repr=False)
    timeout: float = 10.0


@dataclass(frozen=True)
class NotifyConfig:
    base_url: str = ""
    smtp: SmtpConfig | None = None
    webhook: WebhookConfig | None = None
    rules: NotifyRules = field(default_factory=NotifyRules)

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(name for name, on in (("email", self.smtp), ("webhook", self.webhook)) if on)

    def link(self, case_code: str) -> str:
        """The case page's address: a case code, never anything about a person."""
        return f"{self.base_url}/cases/{case_code}"

    @classmethod
    def from_settings(cls, settings: Settings) -> NotifyConfig:
        return cls(
            base_url=_base_url(settings.base_url),
            smtp=_smtp(settings),
            webhook=_webhook(settings),
            rules=NotifyRules(
                approval_after=timedelta(
                    hours=_at_least("TRIAGE_APPROVAL_ALERT_HOURS", settings.approval_alert_hours)
                ),
                max_attempts=_at_least("TRIAGE_NOTIFY_MAX_ATTEMPTS", settings.notify_max_attempts),
                backoff=timedelta(
                    seconds=_at_least(
                        "TRIAGE_NOTIFY_BACKOFF_SECONDS", settings.notify_backoff_seconds
                    )
                ),
            ),
        )


def _at_least(name: str, value: int, least: int = 1) -> int:
    if value < least:
        raise ConfigError(f"{name} must be at least {least}, not {value}")
    return value


def _http_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} must be an http:// or https:// address")
    if parts.username or parts.password:
        raise ConfigError(f"{name} must not carry a user name or password")
    return value


def _base_url(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    parts = urlsplit(_http_url("TRIAGE_BASE_URL", value))
    if parts.query or parts.fragment:
        raise ConfigError("TRIAGE_BASE_URL must not have a query or fragment")
    return value.rstrip("/")


def _smtp(settings: Settings) -> SmtpConfig | None:
    host = settings.smtp_host.strip()
    if not host:
        return None
    tls = settings.smtp_tls.strip().lower()
    if tls not in TLS_MODES:
        raise ConfigError(f"TRIAGE_SMTP_TLS must be one of {', '.join(TLS_MODES)}, not {tls!r}")
    try:
        sender = clean_email(settings.smtp_from)
    except InvalidInput:
        raise ConfigError(
            "TRIAGE_SMTP_FROM must be a plain address such as triage@example.kz"
        ) from None
    if sender is None:
        raise ConfigError("TRIAGE_SMTP_FROM must be set when TRIAGE_SMTP_HOST is")
    if settings.smtp_password and not settings.smtp_username:
        raise ConfigError("TRIAGE_SMTP_PASSWORD is set but TRIAGE_SMTP_USERNAME is not")
    if settings.smtp_username and tls == "none":
        raise ConfigError("TRIAGE_SMTP_USERNAME needs TLS: set TRIAGE_SMTP_TLS to starttls or ssl")
    return SmtpConfig(
        host=host,
        port=_at_least("TRIAGE_SMTP_PORT", settings.smtp_port),
        username=settings.smtp_username,
        password=settings.smtp_password,
        tls=tls,
        sender=sender,
        timeout=float(_at_least("TRIAGE_SMTP_TIMEOUT_SECONDS", settings.smtp_timeout_seconds)),
    )


def _webhook(settings: Settings) -> WebhookConfig | None:
    url = settings.webhook_url.strip()
    if not url:
        return None
    _http_url("TRIAGE_WEBHOOK_URL", url)
    if len(settings.webhook_secret) < MIN_WEBHOOK_SECRET:
        raise ConfigError(
            f"TRIAGE_WEBHOOK_SECRET must have at least {MIN_WEBHOOK_SECRET} characters "
            "when TRIAGE_WEBHOOK_URL is set"
        )
    return WebhookConfig(
        url=url,
        secret=settings.webhook_secret,
        timeout=float(
            _at_least("TRIAGE_WEBHOOK_TIMEOUT_SECONDS", settings.webhook_timeout_seconds)
        ),
    )
