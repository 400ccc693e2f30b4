"""Sending mail over SMTP (``SMTP_URL``); without it mail is disabled and only that fact is logged.

``SMTP_URL`` is ``smtp://[user:password@]host[:port]`` (STARTTLS when the server offers it) or
``smtps://...`` (TLS from the start). Logs never carry a recipient or a message body: both may be
personal data or hold a secret link.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from flask import current_app

log = logging.getLogger(__name__)


def _smtp_url() -> str | None:
    return current_app.config.get("SMTP_URL")


def mail_enabled() -> bool:
    return bool(_smtp_url())


def send_mail(to: str, subject: str, body: str, *, reply_to: str | None = None) -> bool:
    """Send a plain-text message; returns False (and logs that mail is off) without ``SMTP_URL``."""
    if not _smtp_url():
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
    """One open, signed-in connection to ``SMTP_URL``, for sending many messages (campaign batches)."""
    url = _smtp_url()
    if not url:
        raise RuntimeError("mail is disabled (no SMTP_URL)")
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("SMTP_URL must start with smtp:// or smtps://")
    smtp_class = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    default_port = 465 if parts.scheme == "smtps" else 25
    with smtp_class(parts.hostname or "localhost", parts.port or default_port, timeout=30) as smtp:
        if parts.scheme == "smtp":
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls()
                smtp.ehlo()
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        yield smtp
