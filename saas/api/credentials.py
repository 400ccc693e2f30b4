"""Issuing and revoking API credentials of a tenant: OAuth2 clients and scoped personal tokens.

Shared by the admin page, the API and tests; every change is audited (identifiers only). A credential
is issued with at most the scopes of whoever issues it (``within``), so no token can mint a wider one.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from saas.api.access import ensure_grantable
from saas.api.models import ApiTokenScope, OAuthClient, OAuthToken, digest
from saas.audit import record_audit
from saas.auth.models import ApiToken
from saas.auth.services import create_api_token
from saas.errors import NotFound, ValidationError
from saas.i18n import N_

CLIENT_ID_PREFIX = "crmc_"


def clean_scopes(
    scopes: Collection[str] | str, known: Collection[str], *, within: frozenset[str] | None = None
) -> str:
    """Requested scopes as a sorted, space-separated string; unknown ones, and any beyond the issuer's
    own ``within`` (None: full access), are refused."""
    names = scopes.split() if isinstance(scopes, str) else [str(s).strip() for s in scopes]
    names = sorted(set(filter(None, names)))
    if not names:
        raise ValidationError(
            N_("Choose at least one scope."), {"scopes": [N_("Choose at least one scope.")]}
        )
    unknown = [name for name in names if name not in known and not _is_wildcard(name, known)]
    if unknown:
        raise ValidationError(
            N_("Unknown scope."), {"scopes": [N_("Unknown scope: %(scope)s", scope=unknown[0][:100])]}
        )
    ensure_grantable(within, names, "this credential")
    return " ".join(names)


def _is_wildcard(name: str, known: Collection[str]) -> bool:
    resource, _, action = name.partition(":")
    return action == "*" and any(scope.startswith(resource + ":") for scope in known)


def _clean_name(name: str) -> str:
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name or len(name) > 100:
        raise ValidationError(
            N_("A name is required (1-100 characters)."), {"name": [N_("1-100 characters.")]}
        )
    return name


def create_client(
    session: Session,
    tenant_id: str,
    user_id: uuid.UUID,
    name: str,
    scopes: Collection[str],
    known: Collection[str],
    *,
    within: frozenset[str] | None = None,
) -> tuple[OAuthClient, str]:
    """A client-credentials client acting as ``user_id``; the secret is returned once, never stored.

    ``within`` is the issuing credential's own scopes (None: full access, as a signed-in admin has).
    """
    secret = secrets.token_urlsafe(32)
    client = OAuthClient(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        user_id=user_id,
        name=_clean_name(name),
        client_id=CLIENT_ID_PREFIX + secrets.token_hex(12),
        client_secret_hash=digest(secret),
        scope=clean_scopes(scopes, known, within=within),
    )
    session.add(client)
    session.flush()
    record_audit(
        session, "api_client.created", actor=str(user_id), tenant_id=tenant_id, target=str(client.id),
        details={"name": client.name, "scope": client.scope},
    )  # fmt: skip
    return client, secret


def list_clients(session: Session, tenant_id: str) -> list[OAuthClient]:
    return list(
        session.scalars(
            select(OAuthClient).where(OAuthClient.tenant_id == tenant_id).order_by(OAuthClient.created_at)
        )
    )


def get_client(session: Session, tenant_id: str, client_pk: uuid.UUID) -> OAuthClient:
    client = session.get(OAuthClient, client_pk)
    if client is None or client.tenant_id != tenant_id:
        raise NotFound(N_("No such API client."))
    return client


def revoke_client(session: Session, tenant_id: str, client_pk: uuid.UUID, actor: str) -> OAuthClient:
    """Revoke a client and every token it holds; takes effect on the next request."""
    client = get_client(session, tenant_id, client_pk)
    now = datetime.now(UTC)
    if client.revoked_at is None:
        client.revoked_at = now
        session.execute(
            update(OAuthToken)
            .where(OAuthToken.client_pk == client.id, OAuthToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        record_audit(session, "api_client.revoked", actor=actor, tenant_id=tenant_id, target=str(client.id))
    return client


def create_scoped_token(
    session: Session,
    tenant_slug: str,
    email: str,
    name: str,
    scopes: Collection[str],
    known: Collection[str],
    *,
    within: frozenset[str] | None = None,
) -> tuple[ApiToken, str]:
    """A personal API token limited to ``scopes`` (``create_api_token`` alone gives full access).

    ``within``: the issuer's own scopes; None (the default) is the operator's CLI, which has full access.
    """
    scope = clean_scopes(scopes, known, within=within)
    token, secret = create_api_token(session, tenant_slug, email, name)
    session.add(ApiTokenScope(token_id=token.id, scope=scope))
    session.flush()
    return token, secret


def list_api_tokens(session: Session, tenant_id: str) -> list[tuple[ApiToken, str | None]]:
    """The tenant's personal tokens with their scopes (None: full access)."""
    rows = session.execute(
        select(ApiToken, ApiTokenScope.scope)
        .outerjoin(ApiTokenScope, ApiTokenScope.token_id == ApiToken.id)
        .where(ApiToken.tenant_id == tenant_id)
        .order_by(ApiToken.created_at)
    )
    return [(token, scope) for token, scope in rows]


def revoke_api_token(session: Session, tenant_id: str, token_id: uuid.UUID, actor: str) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or token.tenant_id != tenant_id:
        raise NotFound(N_("No such API token."))
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        record_audit(session, "api_token.revoked", actor=actor, tenant_id=tenant_id, target=str(token.id))
    return token
