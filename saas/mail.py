"""Sending mail over SMTP (``SMTP_URL``); without it mail is disabled and only that fact is logged
(``saas dev`` sets it to its development inbox).

Mail carries password-reset and privacy-center links, so it travels encrypted to a server whose
certificate is verified, unless the operator explicitly says otherwise:

- ``smtps://host[:465]``: TLS from the first byte;
- ``smtp://host[:587]``: STARTTLS, required: a server that does not offer it gets no mail;
- ``smtp://host[:25]?tls=none``: plaintext, for a relay on the same host or a test sink only.

Certificates are checked against the system's CAs, or ``SMTP_CA_FILE`` (a private CA, the tests' one).
Logs never carry a recipient or a message body: both may be personal data or hold a secret link.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app

log = logging.getLogger(__name__)

TLS_MODES = ("tls", "starttls", "none")


class MailTransportInsecure(smtplib.SMTPException):
    """The server offers no STARTTLS and plaintext was not allowed: the message is not sent."""


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how mail goes, read from ``SMTP_URL``."""

    host: str
    port: int
    tls: str
    """``tls`` (implicit, smtps), ``starttls`` (required) or ``none`` (plaintext, explicitly asked for)."""
    username: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError("SMTP_URL must start with smtp:// or smtps://")
        requested = parse_qs(parts.query).get("tls", [None])[-1]
        if parts.scheme == "smtps":
            tls = "tls"
        elif requested in (None, "starttls"):
            tls = "starttls"
        elif requested == "none":
            tls = "none"
        else:
            raise ValueError("SMTP_URL: tls= must be starttls or none (smtps:// for TLS from the start)")
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or (465 if tls == "tls" else 25),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password or "") if parts.username else None,
        )


def _smtp_url() -> str | None:
    return current_app.config.get("SMTP_URL")


def mail_enabled() -> bool:
    return bool(_smtp_url())


def tls_context() -> ssl.SSLContext:
    """Certificate and host name verified; against ``SMTP_CA_FILE`` when set, else the system's CAs."""
    return ssl.create_default_context(cafile=current_app.config.get("SMTP_CA_FILE") or None)


def send_mail(to: str, subject: str, body: str, *, reply_to: str | None = None) -> bool:
    """Send a plain-text message; returns False (and logs that mail is off) without ``SMTP_URL``."""
    if not _smtp_url():
        # `saas dev` never gets here: it points SMTP_URL at its development inbox (saas.development).
        log.warning("mail is disabled (no SMTP_URL); a message with subject %r was not sent", subject)
        return False
    message = EmailMessage()
    message["From"] = current_app.config.get("MAIL_FROM", "no-reply@localhost")
    message["To"] = to
    message["Subject"] = subject
    if reply_to:  # where answers should go (a workspace's support address), not the sender
        message["Reply-To"] = reply_to
    message.set_content(body)
    with smtp_connection() as smtp:
        smtp.send_message(message)
    return True


@contextmanager
def smtp_connection() -> Iterator[smtplib.SMTP]:
    """One open, encrypted (unless told otherwise), signed-in connection to ``SMTP_URL``, for sending
    many messages (campaign batches). A server that fails verification raises; nothing is sent."""
    url = _smtp_url()
    if not url:
        raise RuntimeError("mail is disabled (no SMTP_URL)")
    target = SmtpTarget.from_url(url)
    try:
        with _open(target) as smtp:
            yield smtp
    except (ssl.SSLError, MailTransportInsecure) as error:
        # Host and reason only: the recipient and the message stay out of the logs.
        log.error("mail not sent: no verified TLS to %s:%s (%s)", target.host, target.port, error)
        raise


@contextmanager
def _open(target: SmtpTarget) -> Iterator[smtplib.SMTP]:
    if target.tls == "tls":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(target.host, target.port, timeout=30, context=tls_context())
    else:
        smtp = smtplib.SMTP(target.host, target.port, timeout=30)
    with smtp:
        if target.tls == "starttls":
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise MailTransportInsecure("the server offers no STARTTLS")
            smtp.starttls(context=tls_context())
            smtp.ehlo()
        if target.username is not None:
            smtp.login(target.username, target.password or "")
        yield smtp
