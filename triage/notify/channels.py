"""The two ways an alert leaves triage: an e-mail through the SMTP server and a signed POST to
the webhook. Each either returns (the server accepted the message, the webhook answered 2xx) or
raises ``DeliveryFailed`` with a short code; nothing else counts as sent.

A failure's code is made from the protocol's status (``smtp_550``, ``http_503``) or the kind of
failure (``timeout``, ``connection``, ``tls``), never from the server's words: an SMTP refusal
quotes the address back, and neither the code nor a log line may carry it.
"""

from __future__ import annotations

import http.client
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from typing import Any

from . import signing
from .rules import SmtpConfig, WebhookConfig


class DeliveryFailed(Exception):
    """An attempt that did not deliver; ``code`` says why in a few characters."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code[:32]


def _smtp_code(exc: smtplib.SMTPException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        return f"smtp_{codes[0]}" if codes else "smtp_refused"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "smtp_auth"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"smtp_{exc.smtp_code}"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return "smtp_unsupported"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "smtp_disconnected"
    return "smtp_error"


def _connect(config: SmtpConfig) -> smtplib.SMTP:
    if config.tls == "ssl":
        return smtplib.SMTP_SSL(
            config.host, config.port, timeout=config.timeout, context=ssl.create_default_context()
        )
    smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
    if config.tls == "starttls":
        try:
            smtp.starttls(context=ssl.create_default_context())
        except BaseException:
            smtp.close()
            raise
    return smtp


def send_email(config: SmtpConfig, message: EmailMessage, to: str) -> None:
    """Hand ``message`` to the SMTP server for ``to`` alone; returns once the server accepted
    it (the answer to the message's data was 250). A failure to say goodbye afterwards does not
    undo that."""
    try:
        smtp = _connect(config)
    except smtplib.SMTPException as exc:
        raise DeliveryFailed(_smtp_code(exc)) from None
    except TimeoutError:
        raise DeliveryFailed("timeout") from None
    except ssl.SSLError:
        raise DeliveryFailed("tls") from None
    except OSError:
        raise DeliveryFailed("connection") from None
    try:
        if config.username:
            smtp.login(config.username, config.password)
        refused = smtp.send_message(message, from_addr=config.sender, to_addrs=[to])
        if refused:
            raise DeliveryFailed("smtp_refused")
    except smtplib.SMTPException as exc:
        raise DeliveryFailed(_smtp_code(exc)) from None
    except TimeoutError:
        raise DeliveryFailed("timeout") from None
    except OSError:
        raise DeliveryFailed("connection") from None
    finally:
        _goodbye(smtp)


def _goodbye(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A webhook that redirects has not accepted the alert: a 3xx is a failure like any other,
    and the signed body is never sent on to an address nobody configured."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects())


def post_webhook(config: WebhookConfig, body: bytes, *, delivery_id: str, timestamp: int) -> None:
    """POST ``body`` signed at ``timestamp``; returns once the webhook answered 2xx."""
    request = urllib.request.Request(  # noqa: S310 (the URL is checked to be http or https)
        config.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "triage-notify",
            signing.SIGNATURE_HEADER: signing.sign(config.secret, body, timestamp),
            signing.DELIVERY_HEADER: delivery_id,
        },
    )
    try:
        with _OPENER.open(request, timeout=config.timeout) as response:
            status = int(response.status)
            response.read(65536)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise DeliveryFailed(f"http_{exc.code}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            raise DeliveryFailed("timeout") from None
        if isinstance(reason, ssl.SSLError):
            raise DeliveryFailed("tls") from None
        raise DeliveryFailed("connection") from None
    except TimeoutError:
        raise DeliveryFailed("timeout") from None
    except ssl.SSLError:
        raise DeliveryFailed("tls") from None
    except (http.client.HTTPException, OSError):
        raise DeliveryFailed("bad_response") from None
    if not 200 <= status < 300:
        raise DeliveryFailed(f"http_{status}")


__all__ = ["DeliveryFailed", "post_webhook", "send_email"]
