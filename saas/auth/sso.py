"""Single sign-on per tenant with OpenID Connect (Authlib): the provider's configuration, the
authorization code flow with PKCE, the ID token's verification, and whom a verified token lets in.

A session opened by a tenant's provider proves who someone is to that tenant only (see
:func:`saas.auth.identity_views.sso_session_guard`): an admin's own provider can assert any email,
so it must never open another workspace of the same person.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from flask import current_app
from joserfc import jwt
from joserfc.errors import BadSignatureError, ClaimError, ExpiredTokenError, JoseError
from joserfc.jwk import KeySet
from requests import RequestException
from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.audit import record_audit
from saas.auth.crypto import SecretUnreadable, decrypt_secret, encrypt_secret
from saas.auth.models import Membership, SsoConfig, User
from saas.auth.services import find_user_by_email, normalise_email
from saas.errors import SaasError, ValidationError
from saas.i18n import N_

DISCOVERY_PATH = "/.well-known/openid-configuration"
HTTP_TIMEOUT_SECONDS = 10
CLOCK_LEEWAY_SECONDS = 60
# How long a started sign-in may take at the provider before its state is forgotten.
PENDING_LOGIN_SECONDS = 600
SCOPES = "openid email profile"
JIT_ROLES = ("member", "admin")  # just-in-time membership never makes an owner
# Asymmetric algorithms only: "none" and HMAC (keyed with the client secret) are refused.
SIGNING_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")

REFUSAL_MESSAGES = {
    "provider_error": N_("The identity provider did not sign you in."),
    "state": N_("This sign-in link is not valid any more. Please start again."),
    "provider_unreachable": N_("The identity provider could not be reached. Please try again later."),
    "token": N_("The identity provider's answer could not be verified."),
    "signature": N_("The identity provider's answer could not be verified."),
    "issuer": N_("The identity provider's answer came from the wrong issuer."),
    "audience": N_("The identity provider's answer was not meant for this workspace."),
    "expired": N_("The identity provider's answer has expired. Please start again."),
    "nonce": N_("The identity provider's answer does not belong to this sign-in. Please start again."),
    "no_email": N_("The identity provider did not tell us your email address."),
    "email_unverified": N_("Your email address is not verified at the identity provider."),
    "domain": N_("Your email address is not allowed to join this workspace."),
    "deactivated": N_("Your access to this workspace has been deactivated."),
    "not_configured": N_("Single sign-on is not set up for this workspace."),
}


class SsoRefused(SaasError):
    """A single sign-on attempt was refused; ``reason`` is a key of :data:`REFUSAL_MESSAGES`."""

    status = 403
    title = "Single sign-on failed"

    def __init__(self, reason: str) -> None:
        super().__init__(REFUSAL_MESSAGES[reason])
        self.reason = reason


# -- configuration -----------------------------------------------------------------------------


def get_sso_config(session: Session, tenant_id: str) -> SsoConfig | None:
    return session.get(SsoConfig, tenant_id)


def active_sso_config(session: Session, tenant_id: str) -> SsoConfig | None:
    config = get_sso_config(session, tenant_id)
    return config if config is not None and config.enabled else None


def sso_required(session: Session, tenant_id: str) -> bool:
    config = active_sso_config(session, tenant_id)
    return bool(config and config.sso_required)


def parse_domains(text: str) -> list[str]:
    """Domains from a comma, space or newline separated list, lower-cased, deduplicated, checked."""
    domains: list[str] = []
    for raw in re.split(r"[\s,;]+", (text or "").strip().lower()):
        domain = raw.lstrip("@")
        if not domain:
            continue
        if not _DOMAIN.match(domain):
            raise ValidationError(
                N_("Allowed domains are not valid."),
                {"allowed_domains": [N_("Not a domain: %(entry)s", entry=raw[:100])]},
            )
        if domain not in domains:
            domains.append(domain)
    return domains


def _allow_loopback() -> bool:
    return current_app.config["SAAS_SETTINGS"].environment != "production"


def check_issuer_url(issuer: str) -> str:
    """The issuer, if it is an https URL of a public host (http and loopback only outside production).

    The server fetches this URL on an admin's word, so it must not reach private addresses (SSRF).
    """
    issuer = (issuer or "").strip().rstrip("/")
    parts = urlsplit(issuer)
    error = {"issuer": [N_("An https:// URL of your identity provider, e.g. https://login.example.com")]}
    if len(issuer) > 500 or not parts.hostname or parts.query or parts.fragment:
        raise ValidationError(N_("Issuer URL is not valid."), error)
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except (socket.gaierror, UnicodeError):
        raise ValidationError(N_("Issuer host is unknown."), error) from None
    loopback = all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)
    if loopback and _allow_loopback():
        if parts.scheme not in ("http", "https"):
            raise ValidationError(N_("Issuer URL is not valid."), error)
        return issuer
    if parts.scheme != "https":
        raise ValidationError(N_("Issuer URL must use https."), error)
    if any(not ipaddress.ip_address(a.split("%")[0]).is_global for a in addresses):
        raise ValidationError(N_("Issuer URL must be a public address."), error)
    return issuer


def save_sso_config(
    session: Session,
    tenant_id: str,
    *,
    issuer: str,
    client_id: str,
    client_secret: str,
    allowed_domains: str,
    default_role: str,
    sso_required: bool,
    enabled: bool,
    actor: str,
) -> SsoConfig:
    """Create or change a tenant's provider; an empty ``client_secret`` keeps the stored one. Audited.

    The issuer's discovery document is fetched here, so a wrong URL is reported on the form.
    """
    client_id = (client_id or "").strip()
    if not client_id or len(client_id) > 255:
        raise ValidationError(N_("Client ID is required."), {"client_id": [N_("1-255 characters.")]})
    if default_role not in JIT_ROLES:
        raise ValidationError(
            N_("Default role is not valid."), {"default_role": [N_("Choose one of the listed roles.")]}
        )
    domains = parse_domains(allowed_domains)
    issuer = check_issuer_url(issuer)
    config = get_sso_config(session, tenant_id)
    # An imported provider has no secret yet (archives carry none): it must be entered, not kept.
    if (config is None or not config.client_secret_encrypted) and not client_secret:
        raise ValidationError(
            N_("Client secret is required."), {"client_secret": [N_("Enter the client secret.")]}
        )
    if sso_required and not enabled:
        raise ValidationError(
            N_("Single sign-on must be on to be required."),
            {"sso_required": [N_("Switch single sign-on on first.")]},
        )
    try:
        fetch_provider_metadata(issuer)
    except SsoRefused:
        raise ValidationError(
            N_("The identity provider's discovery document could not be read."),
            {"issuer": [N_("Nothing usable at %(url)s.", url=issuer + DISCOVERY_PATH)]},
        ) from None
    if config is None:
        config = SsoConfig(tenant_id=tenant_id)
        session.add(config)
    config.issuer = issuer
    config.client_id = client_id
    if client_secret:
        config.client_secret_encrypted = encrypt_secret(client_secret)
    config.allowed_domains = domains
    config.default_role = default_role
    config.sso_required = bool(sso_required)
    config.enabled = bool(enabled)
    record_audit(
        session,
        "sso.config_saved",
        actor=actor,
        tenant_id=tenant_id,
        details={
            "issuer": issuer,
            "client_id": client_id,
            "secret_changed": bool(client_secret),
            "allowed_domains": domains,
            "default_role": default_role,
            "sso_required": bool(sso_required),
            "enabled": bool(enabled),
        },
    )
    return config


# -- the flow ----------------------------------------------------------------------------------


def _oauth_client(config: SsoConfig, redirect_uri: str) -> OAuth2Session:
    try:
        secret = decrypt_secret(config.client_secret_encrypted)
    except SecretUnreadable:
        raise SsoRefused("not_configured") from None
    return OAuth2Session(
        config.client_id,
        secret,
        scope=SCOPES,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a method name, not a secret
    )


def _get_json(url: str) -> dict[str, Any]:
    """A public JSON document of the provider (discovery, keys); redirects are not followed."""
    try:
        response = requests.get(url, timeout=HTTP_TIMEOUT_SECONDS, allow_redirects=False)
        response.raise_for_status()
        body = response.json()
    except (RequestException, ValueError):
        raise SsoRefused("provider_unreachable") from None
    if not isinstance(body, dict):
        raise SsoRefused("provider_unreachable")
    return body


def fetch_provider_metadata(issuer: str) -> dict[str, Any]:
    """The provider's discovery document; its ``issuer`` must be exactly the configured one."""
    metadata = _get_json(issuer + DISCOVERY_PATH)
    endpoints = ("authorization_endpoint", "token_endpoint", "jwks_uri")
    if metadata.get("issuer") != issuer or not all(isinstance(metadata.get(k), str) for k in endpoints):
        raise SsoRefused("provider_unreachable")
    return metadata


@dataclass(frozen=True)
class PendingLogin:
    """What the browser's session keeps between leaving for the provider and coming back."""

    tenant_id: str
    state: str
    nonce: str
    code_verifier: str
    started_at: float
    invitation: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()

    @classmethod
    def from_dict(cls, data: object) -> PendingLogin | None:
        try:
            return cls(**data) if isinstance(data, dict) else None
        except TypeError:
            return None


def begin_login(
    config: SsoConfig, redirect_uri: str, invitation: str | None = None
) -> tuple[str, PendingLogin]:
    """The provider's authorization URL (code flow, PKCE S256, fresh state and nonce) and what to remember."""
    metadata = fetch_provider_metadata(config.issuer)
    pending = PendingLogin(
        tenant_id=config.tenant_id,
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(64),
        started_at=time.time(),
        invitation=invitation,
    )
    url, _ = _oauth_client(config, redirect_uri).create_authorization_url(
        metadata["authorization_endpoint"],
        state=pending.state,
        nonce=pending.nonce,
        code_verifier=pending.code_verifier,
    )
    return url, pending


def _refusal_for(error: JoseError) -> SsoRefused:
    if isinstance(error, ExpiredTokenError):
        return SsoRefused("expired")
    if isinstance(error, ClaimError) and error.claim in ("aud", "azp"):
        return SsoRefused("audience")
    if isinstance(error, ClaimError) and error.claim == "iss":
        return SsoRefused("issuer")
    if isinstance(error, ClaimError) and error.claim == "nonce":
        return SsoRefused("nonce")
    if isinstance(error, BadSignatureError):
        return SsoRefused("signature")
    return SsoRefused("token")


def verify_id_token(
    id_token: str, *, metadata: dict[str, Any], config: SsoConfig, nonce: str, access_token: str | None
) -> dict[str, Any]:
    """The ID token's claims after checking signature (provider's JWKS), issuer, audience, expiry, nonce."""
    key_set_data = _get_json(metadata["jwks_uri"])
    offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [alg for alg in offered if alg in SIGNING_ALGORITHMS]
    try:
        decoded = jwt.decode(id_token, KeySet.import_key_set(key_set_data), algorithms=algorithms)
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            options={
                "iss": {"essential": True, "value": config.issuer},
                "aud": {"essential": True, "value": config.client_id},
                "exp": {"essential": True},
                "nonce": {"essential": True, "value": nonce},
            },
            params={"nonce": nonce, "client_id": config.client_id, "access_token": access_token},
        )
        claims.validate(leeway=CLOCK_LEEWAY_SECONDS)
    except JoseError as error:
        raise _refusal_for(error) from None
    except ValueError:  # a malformed token or key set
        raise SsoRefused("token") from None
    return dict(claims)


def complete_login(
    config: SsoConfig, pending: PendingLogin | None, args: dict[str, str], redirect_uri: str
) -> dict[str, Any]:
    """Check the provider's answer (state first), exchange the code with its verifier, verify the ID token."""
    state = args.get("state") or ""
    if (
        pending is None
        or pending.tenant_id != config.tenant_id
        or time.time() - pending.started_at > PENDING_LOGIN_SECONDS
        or not hmac.compare_digest(state.encode(), pending.state.encode())
    ):
        raise SsoRefused("state")
    if args.get("error") or not args.get("code"):
        raise SsoRefused("provider_error")
    metadata = fetch_provider_metadata(config.issuer)
    try:
        token = _oauth_client(config, redirect_uri).fetch_token(
            metadata["token_endpoint"],
            grant_type="authorization_code",
            code=args["code"],
            code_verifier=pending.code_verifier,
            timeout=HTTP_TIMEOUT_SECONDS,
        )
    except RequestException:
        raise SsoRefused("provider_unreachable") from None
    except (AuthlibBaseError, ValueError):  # the provider refused the code or answered nonsense
        raise SsoRefused("provider_error") from None
    if not isinstance(token.get("id_token"), str):
        raise SsoRefused("token")
    return verify_id_token(
        token["id_token"],
        metadata=metadata,
        config=config,
        nonce=pending.nonce,
        access_token=token.get("access_token"),
    )


# -- who gets in -------------------------------------------------------------------------------


def audit_refusal(session: Session, tenant_id: str, refusal: SsoRefused) -> None:
    record_audit(
        session,
        "sso.login_refused",
        actor="anonymous",
        tenant_id=tenant_id,
        details={"reason": refusal.reason},
    )


def admit_sso_user(
    session: Session, config: SsoConfig, claims: dict[str, Any], *, invitation_token: str | None = None
) -> User:
    """The user a verified ID token signs in to ``config``'s tenant: a member, an invitee, or (just in
    time) someone of an allowed domain. Audited; the caller commits."""
    from saas.auth import members

    email_claim = claims.get("email")
    if not isinstance(email_claim, str) or not email_claim:
        raise SsoRefused("no_email")
    if claims.get("email_verified") is False:
        raise SsoRefused("email_unverified")
    try:
        email = normalise_email(email_claim)
    except ValidationError:
        raise SsoRefused("no_email") from None
    tenant_id = config.tenant_id
    user = find_user_by_email(session, email)
    if user is not None and not user.is_active:
        raise SsoRefused("deactivated")
    membership = (
        session.scalar(
            select(Membership).where(Membership.user_id == user.id, Membership.tenant_id == tenant_id)
        )
        if user
        else None
    )
    if membership is not None and not membership.is_active:
        raise SsoRefused("deactivated")
    invitation = members.open_invitation(session, invitation_token, tenant_id) if invitation_token else None
    invited = membership is None and invitation is not None and invitation.email == email
    if membership is None and not invited and email.rsplit("@", 1)[1] not in (config.allowed_domains or []):
        raise SsoRefused("domain")
    if user is None:  # the provider vouches for the address: an account without a password
        user = User(email=email, password_hash=None, is_active_flag=True)
        session.add(user)
        session.flush()
    if invited:
        members.accept_invitation(session, invitation, user=user, email=email, password=None)
    elif membership is None:
        session.add(Membership(user_id=user.id, tenant_id=tenant_id, role=config.default_role))
        record_audit(
            session,
            "sso.member_joined",
            actor=str(user.id),
            tenant_id=tenant_id,
            target=str(user.id),
            details={"role": config.default_role},
        )
    user.last_login_at = datetime.now(UTC)
    record_audit(session, "sso.login", actor=str(user.id), tenant_id=tenant_id, target=str(user.id))
    return user


def password_barred_workspace(session: Session, user: User) -> str | None:
    """The slug of a workspace to send a password sign-in to when every workspace of ``user`` requires
    single sign-on (a password then opens nothing), else None."""
    active = [m for m in user.memberships if m.is_active]
    required = [m for m in active if sso_required(session, m.tenant_id)]
    return required[0].tenant.slug if active and len(required) == len(active) else None
