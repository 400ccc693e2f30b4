"""Who calls the API and what they may do: bearer tokens (personal or OAuth2) and their scopes.

A scope is ``<resource>:<read|write>`` where the resource is the first path segment after ``/api/v1/``
and GET/HEAD/OPTIONS read while every other method writes. Scopes are derived from the URL map, so a
new API resource is covered (and grantable) the moment its blueprint is registered. A credential grants
at most its own scopes (:func:`ensure_grantable`); views declare the member roles they need
(:func:`requires_role`) so that they are checked before anything answers for the view.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.api import ratelimit
from saas.api.credential_cache import GLOBAL_KEY, credential_cache, tenant_key, user_key
from saas.api.models import ApiTokenScope, OAuthClient, OAuthToken, digest
from saas.auth.models import ApiToken, Membership, User
from saas.auth.services import TOKEN_PREFIX
from saas.db import TenantRef, db
from saas.errors import PermissionDenied
from saas.tenants import versioned_cache
from saas.tenants.models import Tenant
from saas.tenants.routing import require_role

API_PREFIX = "/api/v1"
ACCESS_TOKEN_PREFIX = "crmat_"  # noqa: S105 - a public marker of OAuth2 access tokens, not a secret
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Paths under /api/v1 that are not resources a token is scoped to.
UNSCOPED = frozenset({"openapi.json", "docs", "oauth"})


@dataclass(frozen=True)
class ApiPrincipal:
    """The caller of one API request."""

    kind: str  # "token" (personal) or "client" (OAuth2 client credentials)
    id: str  # the token's or client's id: what per-token rate limits count
    user: ApiUser
    membership: ApiMember
    scopes: frozenset[str] | None  # None: full access (personal tokens made before scopes)

    def allows(self, scope: str | None) -> bool:
        return scope is None or holds(self.scopes, scope)


def holds(scopes: frozenset[str] | None, scope: str) -> bool:
    """Whether ``scopes`` (None: full access) include ``scope``; ``<resource>:*`` needs both actions."""
    if scopes is None:
        return True
    resource, _, action = scope.partition(":")
    if action == "*":
        return scope in scopes or {f"{resource}:read", f"{resource}:write"} <= scopes
    return scope in scopes or f"{resource}:*" in scopes


class InsufficientScope(PermissionDenied):
    title = "Insufficient scope"

    def __init__(self, scope: str) -> None:
        super().__init__(f"This token lacks the scope {scope}.", required_scope=scope)


class ScopeEscalation(PermissionDenied):
    title = "Scope beyond your own"

    def __init__(self, what: str, missing: list[str]) -> None:
        super().__init__(
            f"A credential grants at most its own scopes: {what} needs {', '.join(missing)}, "
            "which this token lacks.",
            missing_scopes=missing,
        )


def ensure_grantable(own: frozenset[str] | None, wanted: Iterable[str], what: str) -> None:
    """Refuse (403) handing out ``wanted`` scopes, or data they read, beyond the caller's ``own``.

    ``own`` None is full access: a personal token without scopes, or a signed-in admin on the pages.
    """
    missing = sorted({scope for scope in wanted if not holds(own, scope)})
    if missing:
        raise ScopeEscalation(what, missing)


ROLES_ATTRIBUTE = "api_required_roles"


def requires_role(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare the member roles an API view needs (place it right above ``def``).

    The bearer-token check enforces the declaration before If-Match rendering or an idempotent replay
    answers for the view; the view enforces it again, so it is safe however it is reached.
    """

    def declare(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            require_role(*roles)
            return view(*args, **kwargs)

        setattr(checked, ROLES_ATTRIBUTE, roles)
        return checked

    return declare


def enforce_declared_roles(view: Callable[..., Any] | None) -> None:
    """Refuse (403) unless the bound member has a role the view declared with :func:`requires_role`."""
    roles = getattr(view, ROLES_ATTRIBUTE, None)
    if roles:
        require_role(*roles)


def resource_of(rule: str) -> str | None:
    """The resource (first segment after /api/v1/) of a URL rule or path, or None outside the API."""
    if not rule.startswith(API_PREFIX + "/"):
        return None
    resource = rule[len(API_PREFIX) + 1 :].split("/", 1)[0]
    return None if not resource or resource in UNSCOPED or resource.startswith("<") else resource


def required_scope(rule: str, method: str) -> str | None:
    resource = resource_of(rule)
    if resource is None:
        return None
    return f"{resource}:{'read' if method.upper() in READ_METHODS else 'write'}"


def api_scopes(app: Flask) -> list[str]:
    """Every scope some route of the app's API needs, from its URL map."""
    needed = {
        required_scope(rule.rule, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    return sorted(needed - {None})


def parse_scopes(scope: str | None) -> frozenset[str]:
    return frozenset((scope or "").split())


@dataclass(frozen=True)
class ApiUser:
    """The user a credential acts as: plain values, safe to keep across requests and threads."""

    id: uuid.UUID
    email: str
    is_active: bool = True


@dataclass(frozen=True)
class ApiMember:
    """The membership a credential acts through (active when resolved), with its tenant's reference."""

    id: uuid.UUID
    user_id: uuid.UUID
    tenant_id: str
    role: str
    ref: TenantRef
    is_active: bool = True

    @property
    def tenant(self) -> Tenant:
        """The tenant's row, loaded on use (the workspace's OpenAPI document names it)."""
        return db.session.get(Tenant, self.tenant_id)


@dataclass(frozen=True)
class _Resolved:
    principal: ApiPrincipal
    expires_at: datetime | None  # OAuth2 access tokens expire; personal tokens do not


def _member_of(credential: type[ApiToken] | type[OAuthClient]) -> Any:
    """The join to the membership a credential acts through: its user's, in its tenant."""
    return (Membership.user_id == credential.user_id) & (Membership.tenant_id == credential.tenant_id)


def _resolve_personal(session: Session, token_hash: str) -> _Resolved | None:
    row = session.execute(
        select(
            ApiToken.id, User.id.label("user_id"), User.email, Membership.id.label("membership_id"),
            Membership.role, Tenant, ApiTokenScope.scope,
        )
        .join(User, User.id == ApiToken.user_id)
        .join(Membership, _member_of(ApiToken))
        .join(Tenant, Tenant.id == ApiToken.tenant_id)
        .outerjoin(ApiTokenScope, ApiTokenScope.token_id == ApiToken.id)
        .where(
            ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None), User.is_active_flag.is_(True),
            Membership.deactivated_at.is_(None),
        )
    ).one_or_none()  # fmt: skip
    if row is None:
        return None
    scopes = parse_scopes(row.scope) if row.scope is not None else None
    return _Resolved(_principal("token", row.id, row, scopes), None)


def _resolve_access_token(session: Session, token_hash: str) -> _Resolved | None:
    row = session.execute(
        select(
            OAuthClient.id, User.id.label("user_id"), User.email, Membership.id.label("membership_id"),
            Membership.role, Tenant, OAuthToken.scope, OAuthToken.expires_at,
        )
        .select_from(OAuthToken)
        .join(OAuthClient, OAuthClient.id == OAuthToken.client_pk)
        .join(User, User.id == OAuthClient.user_id)
        .join(Membership, _member_of(OAuthClient))
        .join(Tenant, Tenant.id == OAuthClient.tenant_id)
        .where(
            OAuthToken.token_hash == token_hash, OAuthToken.revoked_at.is_(None),
            OAuthClient.revoked_at.is_(None), User.is_active_flag.is_(True),
            Membership.deactivated_at.is_(None),
        )
    ).one_or_none()  # fmt: skip
    if row is None:
        return None
    return _Resolved(_principal("client", row.id, row, parse_scopes(row.scope)), row.expires_at)


def _principal(kind: str, credential_id: uuid.UUID, row: Any, scopes: frozenset[str] | None) -> ApiPrincipal:
    tenant = row.Tenant
    member = ApiMember(row.membership_id, row.user_id, tenant.id, row.role, tenant.ref)
    return ApiPrincipal(kind, str(credential_id), ApiUser(row.user_id, row.email), member, scopes)


def authenticate_bearer(
    session: Session, secret: str, hits: Sequence[ratelimit.Hit] | None = None
) -> ApiPrincipal | None:
    """The principal of a presented bearer secret, or None if it is unknown, expired or revoked.

    One platform query when the credential is not in the cache (:mod:`saas.api.credential_cache`), none
    when it is; a revoked credential or deactivated member is refused from the next request on.

    With ``hits`` (the request's rate limits so far), they and the credential's own limit are counted
    too: a cached credential's in the same Redis round trip that confirms the cache entry; an unknown
    secret's before its look-up, so guessing costs the guesser's budget first.
    """
    if secret.startswith(TOKEN_PREFIX):
        resolve = _resolve_personal
    elif secret.startswith(ACCESS_TOKEN_PREFIX):
        resolve = _resolve_access_token
    else:
        if hits:
            ratelimit.count_and_read(hits)
        return None
    token_hash = digest(secret)
    cache = credential_cache()
    resolved: _Resolved | None = None
    entry = cache.peek(token_hash)
    if entry is not None:
        cached = entry.value.principal
        if hits is None:
            versions = cache.versions(entry.keys)
        else:
            both = [*hits, ratelimit.token_hit(cached.kind, cached.id)]
            # The tenant's cache counters ride along: its custom fields then cost no round trip.
            tenant_counters = versioned_cache.counter_keys(cached.membership.tenant_id)
            values = ratelimit.count_and_read(both, [*entry.keys, *tenant_counters])
            hits = None  # counted
            if values is None:  # the limits live in another Redis than the counters
                versions = cache.versions(entry.keys)
            else:
                versions = values[: len(entry.keys)]
                versioned_cache.prefetch(dict(zip(tenant_counters, values[len(entry.keys) :], strict=True)))
        resolved = cache.confirm(token_hash, entry, versions)
    if resolved is None:
        if hits:
            ratelimit.count_and_read(hits)
        resolved = resolve(session, token_hash)
        if resolved is None:
            return None
        member = resolved.principal.membership
        keys = (GLOBAL_KEY, tenant_key(member.tenant_id), user_key(member.user_id))
        # Read right after the row: a change committed in the sub-millisecond between the two is the one
        # case the counters miss, and the TTL bounds it.
        cache.put(token_hash, resolved, keys, cache.versions(keys))
        if hits is not None:
            principal = resolved.principal
            ratelimit.count_and_read([ratelimit.token_hit(principal.kind, principal.id)])
    if resolved.expires_at is not None and resolved.expires_at <= datetime.now(UTC):
        return None
    return resolved.principal
