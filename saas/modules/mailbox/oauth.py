"""Mailboxes that sign in with OAuth 2.0 (XOAUTH2) through a provider the operator configures
(``MAIL_OAUTH_PROVIDERS``): the connect flow (authorization code with PKCE and state, through Authlib),
and access tokens renewed before they expire or when a server refuses them.

Tokens are kept encrypted as SSO client secrets are: the refresh token is the mailbox's secret, the
access token sits beside it. A renewal the provider refuses marks the mailbox ``reconnect``: its sync
stops until the owner connects again, rather than retrying a grant that will never work.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from authlib.common.encoding import urlsafe_b64decode
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from requests import RequestException
from sqlalchemy import select, text
from sqlalchemy.orm.attributes import set_committed_value

from saas.auth.crypto import SecretUnreadable, decrypt_secret, encrypt_secret
from saas.db import TenantSession, tenant_session
from saas.errors import Conflict, ValidationError
from saas.i18n import N_
from saas.modules.mailbox.models import SECURITIES, Mailbox

log = logging.getLogger(__name__)

HTTP_TIMEOUT_SECONDS = 15
PENDING_SECONDS = 600
"""How long a started connection may take at the provider before its state is refused."""
RENEW_BEFORE = timedelta(seconds=120)
"""An access token this close to its expiry is renewed first, so it cannot lapse mid-sync."""
DEFAULT_EXPIRES_SECONDS = 3600
"""When the provider does not say how long its token lives (``expires_in`` is optional)."""


class MailboxNeedsReconnect(Conflict):
    """The provider refused to renew the mailbox's access (revoked, expired grant): connect again."""


@dataclass(frozen=True)
class OAuthProvider:
    """One provider the operator set up, with the CRM registered at it as an OAuth client."""

    name: str
    label: str
    authorize_url: str
    token_url: str
    client_id: str
    client_secret: str
    scopes: str
    imap_host: str
    smtp_host: str
    imap_port: int = 993
    imap_security: str = "ssl"
    smtp_port: int = 465
    smtp_security: str = "ssl"
    userinfo_url: str | None = None
    """Answers the address (``email``); without it, the ``email`` claim of the token's ID token."""
    caldav_url: str | None = None


def _provider_from(entry: dict[str, Any]) -> OAuthProvider:
    fields = set(OAuthProvider.__dataclass_fields__)
    provider = OAuthProvider(**{key: value for key, value in entry.items() if key in fields})
    if provider.imap_security not in SECURITIES or provider.smtp_security not in SECURITIES:
        raise ValueError(f"mail OAuth provider {provider.name}: unknown security")
    return provider


def configured_providers() -> dict[str, OAuthProvider]:
    """The operator's providers by name: ``MAIL_OAUTH_PROVIDERS``, a JSON list of objects with
    ``OAuthProvider``'s fields (app config first, so tests can set it; the environment otherwise)."""
    raw = current_app.config.get("MAIL_OAUTH_PROVIDERS") or os.environ.get("MAIL_OAUTH_PROVIDERS") or "[]"
    try:
        entries = json.loads(raw) if isinstance(raw, str) else raw
        providers = [_provider_from(entry) for entry in entries]
    except (TypeError, ValueError) as error:
        # A configuration mistake: say which setting, never echo it (it holds client secrets).
        raise RuntimeError(
            f"MAIL_OAUTH_PROVIDERS is not a JSON list of providers: {type(error).__name__}"
        ) from None
    return {provider.name: provider for provider in providers}


def provider_named(name: str | None) -> OAuthProvider:
    provider = configured_providers().get(name or "")
    if provider is None:
        raise ValidationError(
            "This mail provider is not offered.", {"provider": ["Choose a listed provider."]}
        )
    return provider


def _client(
    provider: OAuthProvider, redirect_uri: str | None = None, token: dict[str, Any] | None = None
) -> OAuth2Session:
    return OAuth2Session(
        provider.client_id,
        provider.client_secret,
        scope=provider.scopes,
        redirect_uri=redirect_uri,
        token=token,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a method name, not a secret
    )


# -- connecting ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingConnect:
    """What the browser's session keeps between sending the user to the provider and their return."""

    provider: str
    tenant_id: str
    user_id: str
    state: str
    code_verifier: str
    started_at: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> PendingConnect | None:
        try:
            return cls(**data) if isinstance(data, dict) else None
        except TypeError:
            return None


def begin_connect(
    provider: OAuthProvider, tenant_id: str, user_id: uuid.UUID, redirect_uri: str
) -> tuple[str, PendingConnect]:
    """The provider's authorization address to send the user to, and what to keep until they return."""
    pending = PendingConnect(
        provider=provider.name,
        tenant_id=tenant_id,
        user_id=str(user_id),
        state=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(64),
        started_at=time.time(),
    )
    url, _ = _client(provider, redirect_uri).create_authorization_url(
        provider.authorize_url,
        state=pending.state,
        code_verifier=pending.code_verifier,
        access_type="offline",  # Google hands out a refresh token only when asked like this
        prompt="consent",
    )
    return url, pending


def _refused(reason: str) -> ValidationError:
    return ValidationError(reason, {"provider": [reason]})


def _expiry(token: dict[str, Any]) -> datetime:
    try:
        seconds = int(token.get("expires_in") or DEFAULT_EXPIRES_SECONDS)
    except (TypeError, ValueError):
        seconds = DEFAULT_EXPIRES_SECONDS
    return datetime.now(UTC) + timedelta(seconds=seconds)


def _address_of(provider: OAuthProvider, token: dict[str, Any]) -> str:
    """The mailbox's address: from the userinfo endpoint, or the ID token's ``email`` claim. The ID token
    came straight from the token endpoint over TLS, which OpenID Connect accepts instead of a
    signature check (Core 3.1.3.7); the IMAP login with it proves the address anyway."""
    claims: dict[str, Any] = {}
    if provider.userinfo_url:
        try:
            response = _client(provider, token=token).get(provider.userinfo_url, timeout=HTTP_TIMEOUT_SECONDS)
            claims = response.json() if response.ok else {}
        except (RequestException, ValueError):
            raise _refused("The provider could not be reached: try again.") from None
    elif isinstance(token.get("id_token"), str):
        claims = _unverified_claims(token["id_token"])
    address = claims.get("email") or claims.get("preferred_username") or ""
    try:
        return validate_email(address, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise _refused("The provider did not tell the mailbox's address.") from None


def _unverified_claims(id_token: str) -> dict[str, Any]:
    try:
        claims = json.loads(urlsafe_b64decode(id_token.split(".")[1].encode() + b"=="))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def exchange_code(
    provider: OAuthProvider, pending: PendingConnect | None, args: dict[str, str], redirect_uri: str
) -> tuple[str, dict[str, Any]]:
    """Check the returning browser's state and trade its code (with the PKCE verifier) for tokens;
    returns the mailbox's address and the token."""
    state = args.get("state") or ""
    if (
        pending is None
        or pending.provider != provider.name
        or time.time() - pending.started_at > PENDING_SECONDS
        or not hmac.compare_digest(state.encode(), pending.state.encode())
    ):
        raise _refused("The connection expired or did not start here: start it again.")
    if args.get("error") or not args.get("code"):
        raise _refused("The provider did not grant access to the mailbox.")
    try:
        token = _client(provider, redirect_uri).fetch_token(
            provider.token_url,
            grant_type="authorization_code",
            code=args["code"],
            code_verifier=pending.code_verifier,
            timeout=HTTP_TIMEOUT_SECONDS,
        )
    except RequestException:
        raise _refused("The provider could not be reached: try again.") from None
    except (AuthlibBaseError, ValueError):
        raise _refused("The provider refused to grant access to the mailbox.") from None
    if not token.get("access_token") or not token.get("refresh_token"):
        raise _refused("The provider granted no lasting access (no refresh token).")
    return _address_of(provider, token), dict(token)


def store_token(mailbox: Mailbox, token: dict[str, Any]) -> None:
    """Keep a token the provider issued, encrypted; a renewal without a new refresh token keeps the old."""
    mailbox.access_token_encrypted = encrypt_secret(token["access_token"])
    if token.get("refresh_token"):
        mailbox.secret_encrypted = encrypt_secret(token["refresh_token"])
    mailbox.token_expires_at = _expiry(token)


# -- using and renewing the access token ------------------------------------------------------------

_TOKEN_COLUMNS = ("access_token_encrypted", "secret_encrypted", "token_expires_at", "status", "last_error")


def _stale(mailbox: Mailbox) -> bool:
    expires = mailbox.token_expires_at
    return (
        not mailbox.access_token_encrypted or expires is None or expires - RENEW_BEFORE <= datetime.now(UTC)
    )


def access_token(session: TenantSession, mailbox: Mailbox, *, renew: bool = False) -> str:
    """A usable access token for the mailbox: the stored one, or a renewed one when it is about to
    expire or ``renew`` (a server just refused it). Raises MailboxNeedsReconnect when the provider
    refuses the renewal."""
    if mailbox.status != "connected" or not mailbox.secret_encrypted:
        raise Conflict("This mailbox is disconnected: connect it again to sync or send.")
    if renew or _stale(mailbox):
        _renew(session, mailbox, refused_token=mailbox.access_token_encrypted if renew else None)
    try:
        return decrypt_secret(mailbox.access_token_encrypted or "")
    except SecretUnreadable:
        raise MailboxNeedsReconnect("The mailbox's access cannot be read: connect it again.") from None


def _renew(session: TenantSession, mailbox: Mailbox, refused_token: str | None) -> None:
    """Renew in a transaction of its own, committed whatever the caller does next: the provider may have
    retired the old refresh token already, so the new one must never be lost with a rollback. The row
    lock makes a concurrent sync and send renew once, the second one using the first one's token."""
    with tenant_session(session.tenant) as own:
        own.execute(text("SET LOCAL lock_timeout = '10s'"))
        row = own.scalar(select(Mailbox).where(Mailbox.id == mailbox.id).with_for_update())
        if row is None or row.status != "connected" or not row.secret_encrypted:
            raise Conflict("This mailbox is disconnected: connect it again to sync or send.")
        already_renewed = refused_token is not None and row.access_token_encrypted != refused_token
        if already_renewed or (refused_token is None and not _stale(row)):
            pass  # another worker renewed it while this one waited for the lock
        else:
            _renew_row(row)
        own.commit()
        # The caller's copy takes the committed values without becoming dirty.
        for column in _TOKEN_COLUMNS:
            set_committed_value(mailbox, column, getattr(row, column))
    if mailbox.status == "reconnect":
        raise MailboxNeedsReconnect(mailbox.last_error or "Connect the mailbox again.")


def _renew_row(row: Mailbox) -> None:
    try:
        provider = provider_named(row.oauth_provider)
    except ValidationError:
        _mark_reconnect(row, "The mailbox's provider is no longer offered: connect it again.")
        return
    try:
        refresh_token = decrypt_secret(row.secret_encrypted or "")
    except SecretUnreadable:
        _mark_reconnect(row, "The mailbox's access cannot be read: connect it again.")
        return
    try:
        token = _client(provider).refresh_token(
            provider.token_url, refresh_token=refresh_token, timeout=HTTP_TIMEOUT_SECONDS
        )
    except (AuthlibBaseError, ValueError) as error:
        # The provider answered and said no (invalid_grant: revoked or expired): only a new consent helps.
        log.info("mailbox %s: the provider refused to renew access (%s)", row.id, type(error).__name__)
        _mark_reconnect(row, "The provider refused to renew access to the mailbox: connect it again.")
        return
    # A provider that cannot be reached (RequestException) is a passing failure: it propagates and the
    # next run tries again with the same refresh token.
    store_token(row, dict(token))
    log.info("mailbox %s: access token renewed", row.id)


def _mark_reconnect(row: Mailbox, reason: str) -> None:
    row.status, row.last_error = "reconnect", reason
    row.access_token_encrypted, row.token_expires_at = None, None


def calendar_provider(session: TenantSession, user_id: uuid.UUID) -> OAuthProvider | None:
    """The provider whose calendar the user may connect: their mailbox's, when it offers CalDAV."""
    from saas.modules.mailbox.mailboxes import own_mailbox

    mailbox = own_mailbox(session, user_id)
    if mailbox is None or mailbox.auth_method != "oauth2":
        return None
    provider = configured_providers().get(mailbox.oauth_provider or "")
    return provider if provider is not None and provider.caldav_url else None


def provider_calendar(session: TenantSession, user_id: uuid.UUID) -> tuple[str, str, str]:
    """(CalDAV address, account, access token) of the provider the user's mailbox is connected through,
    for their calendar there; a ValidationError when there is none to use."""
    from saas.modules.mailbox.mailboxes import own_mailbox

    provider = calendar_provider(session, user_id)
    mailbox = own_mailbox(session, user_id)
    if provider is None or mailbox is None:
        raise ValidationError(
            N_("Connect your mailbox through a provider that offers a calendar first."),
            {"url": [N_("No provider calendar to connect.")]},
        )
    if mailbox.status != "connected":
        raise ValidationError(
            N_("Your mailbox needs reconnecting: connect it again, then its calendar works again."),
            {"url": [N_("The provider no longer grants access.")]},
        )
    return provider.caldav_url or "", mailbox.email_address, access_token(session, mailbox)
