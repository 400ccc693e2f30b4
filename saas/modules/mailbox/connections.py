"""Opening a mailbox's IMAP and SMTP connections with the owner's credentials.

Certificates are always verified; a plaintext connection is refused except to loopback where the
deployment allows it (tests, a local Dovecot). The host must resolve to public addresses only, as a
webhook's must, so a mailbox cannot be pointed at the deployment's own network.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl

from flask import current_app
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from saas.auth.crypto import decrypt_secret
from saas.db import TenantSession
from saas.errors import Conflict, ValidationError
from saas.modules.mailbox.models import Mailbox
from saas.modules.mailbox.oauth import access_token
from saas.webhooks.ssrf import UnsafeWebhookURL, address_allowed, resolve_addresses

TIMEOUT_SECONDS = 30


def loopback_allowed() -> bool:
    """``MAILBOX_ALLOW_LOOPBACK``: on by default only in test mode."""
    configured = current_app.config.get("MAILBOX_ALLOW_LOOPBACK")
    if configured is not None:
        return bool(configured)
    flag = os.environ.get("MAILBOX_ALLOW_LOOPBACK", "").strip().lower()
    if flag:
        return flag in {"1", "true", "yes", "on"}
    return getattr(current_app.config.get("SAAS_SETTINGS"), "environment", "") == "test"


def check_server(host: str, port: int, security: str, field: str) -> None:
    """Refuse (422 on ``field``) a server the product must not connect to, or plaintext off loopback."""
    try:
        addresses = resolve_addresses(host, port)
    except UnsafeWebhookURL:
        raise ValidationError(
            "The server's name cannot be resolved.", {field: ["Check the host name."]}
        ) from None
    loopback = loopback_allowed()
    if not addresses or not all(address_allowed(address, loopback) for address in addresses):
        raise ValidationError(
            "The server is on a private network.", {field: ["Give the provider's public host name."]}
        )
    if security == "none" and not all(address.is_loopback for address in addresses):
        raise ValidationError(
            "Unencrypted connections are refused.", {field: ["Choose SSL/TLS or STARTTLS."]}
        )


def password_of(mailbox: Mailbox) -> str:
    if not mailbox.secret_encrypted:
        raise Conflict("This mailbox is disconnected: connect it again to sync or send.")
    return decrypt_secret(mailbox.secret_encrypted)


def open_imap(
    mailbox: Mailbox, password: str | None = None, session: TenantSession | None = None
) -> IMAPClient:
    """A logged-in IMAP client for the mailbox (``password`` while connecting, else the stored one; an
    OAuth mailbox signs in with XOAUTH2, renewing its token through ``session``'s tenant)."""
    check_server(mailbox.imap_host, mailbox.imap_port, mailbox.imap_security, "imap_host")
    context = ssl.create_default_context()
    client = IMAPClient(
        mailbox.imap_host,
        port=mailbox.imap_port,
        ssl=mailbox.imap_security == "ssl",
        ssl_context=context,
        timeout=TIMEOUT_SECONDS,
    )
    try:
        if mailbox.imap_security == "starttls":
            client.starttls(context)
        if mailbox.auth_method == "oauth2":
            _with_fresh_token(
                session, mailbox, LoginError, lambda token: client.oauth2_login(mailbox.username, token)
            )
        else:
            client.login(mailbox.username, password if password is not None else password_of(mailbox))
    except BaseException:
        _close_quietly(client)
        raise
    return client


def _with_fresh_token(
    session: TenantSession | None, mailbox: Mailbox, refused: type[Exception], login
) -> None:
    """Log in with the access token; when the server refuses it (revoked or lapsed before its stated
    expiry), renew it once and try again."""
    try:
        login(access_token(session, mailbox))
    except refused:
        if session is None:
            raise  # connecting: the token is brand new and nothing is stored yet to renew
        login(access_token(session, mailbox, renew=True))


def _xoauth2(username: str, token: str):
    """smtplib's authobject for XOAUTH2: the initial response, then an empty answer to the server's
    error challenge so that it ends the exchange with its refusal."""
    initial = f"user={username}\x01auth=Bearer {token}\x01\x01"
    return lambda challenge=None: initial if challenge is None else ""


def open_smtp(
    mailbox: Mailbox, password: str | None = None, session: TenantSession | None = None
) -> smtplib.SMTP:
    """A connected SMTP client for the mailbox, logged in where the server offers authentication."""
    check_server(mailbox.smtp_host, mailbox.smtp_port, mailbox.smtp_security, "smtp_host")
    context = ssl.create_default_context()
    if mailbox.smtp_security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            mailbox.smtp_host, mailbox.smtp_port, timeout=TIMEOUT_SECONDS, context=context
        )
    else:
        client = smtplib.SMTP(mailbox.smtp_host, mailbox.smtp_port, timeout=TIMEOUT_SECONDS)
    try:
        client.ehlo()
        if mailbox.smtp_security == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if mailbox.auth_method == "oauth2" and client.has_extn("auth"):
            _with_fresh_token(
                session, mailbox, smtplib.SMTPAuthenticationError,
                lambda token: client.auth("XOAUTH2", _xoauth2(mailbox.username, token)),
            )  # fmt: skip
        elif client.has_extn("auth"):
            client.login(mailbox.username, password if password is not None else password_of(mailbox))
    except BaseException:
        client.close()
        raise
    return client


def _close_quietly(client: IMAPClient) -> None:
    with contextlib.suppress(OSError):
        client.shutdown()


def logout_quietly(client: IMAPClient) -> None:
    """End a session whose connection may be what failed: nothing more to tell the server then."""
    with contextlib.suppress(Exception):
        client.logout()
