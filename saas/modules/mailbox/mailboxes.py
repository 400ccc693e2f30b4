"""Connecting a member's own mailbox, its settings, and disconnecting it.

The password (or app password), or the OAuth provider's token, is checked against both servers before
anything is stored, then kept encrypted; disconnecting forgets it and either keeps or deletes the mail
synced so far.
"""

from __future__ import annotations

import imaplib
import re
import smtplib
import ssl
import uuid
from typing import Any

from email_validator import EmailNotValidError, validate_email
from imapclient.exceptions import IMAPClientError
from sqlalchemy import select

from saas.auth.crypto import encrypt_secret
from saas.db import TenantSession
from saas.errors import NotFound, ValidationError
from saas.i18n import N_
from saas.modules.mailbox.connections import check_server, open_imap, open_smtp
from saas.modules.mailbox.models import SECURITIES, SHARING_LEVELS, Mailbox, MailThread
from saas.modules.mailbox.oauth import OAuthProvider, store_token
from saas.modules.mailbox.threads import drop_threads, refresh_entries

DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}$|^\[?[0-9a-fA-F:.]+\]?$")
DEFAULT_FIRST_SYNC_DAYS = 30


def own_mailbox(session: TenantSession, user_id: uuid.UUID | None) -> Mailbox | None:
    """The member's mailbox (connected or kept after disconnecting), if any."""
    if user_id is None:
        return None
    return session.scalar(
        select(Mailbox).where(Mailbox.owner_user_id == user_id).order_by(Mailbox.created_at.desc()).limit(1)
    )


def require_own_mailbox(session: TenantSession, user_id: uuid.UUID | None) -> Mailbox:
    mailbox = own_mailbox(session, user_id)
    if mailbox is None:
        raise NotFound("You have no mailbox connected.")
    return mailbox


def parse_exclusions(value: str | list[str] | None) -> list[str]:
    """Addresses and domains, one per line or comma-separated; refuses anything that is neither."""
    items = value if isinstance(value, list) else re.split(r"[\s,;]+", value or "")
    found, wrong = [], []
    for item in (i.strip().lower().lstrip("@") for i in items):
        if not item:
            continue
        if ("@" in item and DOMAIN.match(item.rsplit("@", 1)[1])) or DOMAIN.match(item):
            found.append(item[:254])
        else:
            wrong.append(item)
    if wrong:
        entries = ", ".join(wrong[:5])
        raise ValidationError(
            N_("Some entries are neither an address nor a domain:"),
            {
                "excluded": [
                    N_("Some entries are neither an address nor a domain: %(entries)s", entries=entries)
                ]
            },
        )
    return sorted(set(found))


def _settings(data: dict[str, Any], errors: dict[str, list[str]]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "sharing" in data:
        if data["sharing"] not in SHARING_LEVELS:
            errors["sharing"] = ["Choose whole messages or subject and metadata only."]
        values["sharing"] = data["sharing"]
    if "first_sync_days" in data:
        try:
            days = int(data["first_sync_days"])
            if not 1 <= days <= 3650:
                raise ValueError
            values["first_sync_days"] = days
        except (TypeError, ValueError):
            errors["first_sync_days"] = ["A number of days from 1 to 3650."]
    if "excluded" in data:
        try:
            values["excluded"] = parse_exclusions(data["excluded"])
        except ValidationError as error:
            errors.update(error.errors)
    return values


def _server(data: dict[str, Any], prefix: str, errors: dict[str, list[str]]) -> dict[str, Any]:
    host = (data.get(f"{prefix}_host") or "").strip()
    if not HOST.match(host):
        errors[f"{prefix}_host"] = ["Give the server's host name."]
    try:
        port = int(data.get(f"{prefix}_port") or 0)
        if not 1 <= port <= 65535:
            raise ValueError
    except (TypeError, ValueError):
        errors[f"{prefix}_port"] = ["A port from 1 to 65535."]
        port = 0
    security = data.get(f"{prefix}_security") or "ssl"
    if security not in SECURITIES:
        errors[f"{prefix}_security"] = ["Choose SSL/TLS, STARTTLS or none."]
    return {f"{prefix}_host": host, f"{prefix}_port": port, f"{prefix}_security": security}


def connect_mailbox(session: TenantSession, user_id: uuid.UUID, data: dict[str, Any]) -> Mailbox:
    """Check the credentials against both servers and store the mailbox (replacing the member's
    disconnected one, whose mail then stays on it)."""
    errors: dict[str, list[str]] = {}
    try:
        address = validate_email(
            data.get("email_address") or "", check_deliverability=False
        ).normalized.lower()
    except EmailNotValidError:
        errors["email_address"] = ["Give the mailbox's email address."]
        address = ""
    values = {**_server(data, "imap", errors), **_server(data, "smtp", errors)}
    values |= _settings(data, errors)
    username = (data.get("username") or address).strip()
    password = data.get("password") or ""
    if not password:
        errors["password"] = ["Give the password or an app password of the mailbox."]
    if errors:
        raise ValidationError("Check the mailbox's details.", errors)
    mailbox = _mailbox_for(session, user_id, address, values)
    mailbox.username = username[:254]
    mailbox.auth_method, mailbox.oauth_provider = "password", None
    mailbox.access_token_encrypted = mailbox.token_expires_at = None
    _try_logins(mailbox, password)
    mailbox.secret_encrypted = encrypt_secret(password)
    mailbox.status, mailbox.last_error = "connected", None
    session.add(mailbox)
    session.flush()
    return mailbox


def _mailbox_for(session: TenantSession, user_id: uuid.UUID, address: str, values: dict[str, Any]) -> Mailbox:
    """The member's mailbox row for ``address`` with the servers of ``values`` (checked): their earlier
    row for the same address, or a new one when they have none connected."""
    check_server(values["imap_host"], values["imap_port"], values["imap_security"], "imap_host")
    check_server(values["smtp_host"], values["smtp_port"], values["smtp_security"], "smtp_host")
    mailbox = own_mailbox(session, user_id)
    if mailbox is None or mailbox.email_address != address:
        if mailbox is not None and mailbox.status != "disconnected":
            raise ValidationError(
                "You already have a connected mailbox.", {"email_address": ["Disconnect it first."]}
            )
        mailbox = Mailbox(id=uuid.uuid4(), owner_user_id=user_id, email_address=address, excluded=[])
        mailbox.sharing, mailbox.first_sync_days = "metadata", DEFAULT_FIRST_SYNC_DAYS
    for key, value in values.items():
        setattr(mailbox, key, value)
    return mailbox


def connect_oauth_mailbox(
    session: TenantSession, user_id: uuid.UUID, provider: OAuthProvider, address: str, token: dict[str, Any]
) -> Mailbox:
    """Store the mailbox a provider granted access to (``oauth.exchange_code``) once XOAUTH2 logins to
    its IMAP and SMTP servers work; reconnecting a mailbox that needed it keeps its mail and settings."""
    values = {
        "imap_host": provider.imap_host, "imap_port": provider.imap_port,
        "imap_security": provider.imap_security, "smtp_host": provider.smtp_host,
        "smtp_port": provider.smtp_port, "smtp_security": provider.smtp_security,
    }  # fmt: skip
    mailbox = _mailbox_for(session, user_id, address, values)
    mailbox.username, mailbox.auth_method, mailbox.oauth_provider = address, "oauth2", provider.name
    store_token(mailbox, token)
    mailbox.status, mailbox.last_error = "connected", None
    _try_logins(mailbox, None)
    session.add(mailbox)
    session.flush()
    return mailbox


def _try_logins(mailbox: Mailbox, password: str | None) -> None:
    """Log in to IMAP and SMTP once; refuse with the server's reason, in the field it concerns."""
    try:
        open_imap(mailbox, password).logout()
    except (IMAPClientError, imaplib.IMAP4.error, OSError, ssl.SSLError) as error:
        raise ValidationError(
            "The IMAP server refused the connection or the login.", {"imap_host": [_reason(error)]}
        ) from None
    try:
        open_smtp(mailbox, password).quit()
    except (smtplib.SMTPException, OSError, ssl.SSLError) as error:
        raise ValidationError(
            "The SMTP server refused the connection or the login.", {"smtp_host": [_reason(error)]}
        ) from None


def _reason(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:300]


def update_settings(session: TenantSession, mailbox: Mailbox, data: dict[str, Any]) -> Mailbox:
    """Sharing level, first-sync window and exclusions; a new sharing level rewrites the timeline."""
    errors: dict[str, list[str]] = {}
    values = _settings(data, errors)
    if errors:
        raise ValidationError("Check the mailbox's settings.", errors)
    sharing_changed = "sharing" in values and values["sharing"] != mailbox.sharing
    for key, value in values.items():
        setattr(mailbox, key, value)
    session.flush()
    if sharing_changed:
        for thread in session.scalars(select(MailThread).where(MailThread.mailbox_id == mailbox.id)):
            refresh_entries(session, mailbox, thread)
    return mailbox


def disconnect_mailbox(session: TenantSession, mailbox: Mailbox, *, keep_mail: bool) -> int:
    """Forget the credentials; with ``keep_mail`` False delete the synced mail too. Returns messages
    deleted."""
    mailbox.secret_encrypted = mailbox.access_token_encrypted = mailbox.token_expires_at = None
    mailbox.status = "disconnected"
    if keep_mail:
        session.flush()
        return 0
    thread_ids = list(session.scalars(select(MailThread.id).where(MailThread.mailbox_id == mailbox.id)))
    deleted = drop_threads(session, thread_ids)
    session.delete(session.get(Mailbox, mailbox.id))
    session.flush()
    return deleted
