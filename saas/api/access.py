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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.api.models import ApiTokenScope, OAuthToken, digest
from saas.auth.models import Membership, User
from saas.auth.services import TOKEN_PREFIX, find_api_token
from saas.errors import PermissionDenied
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
    user: User
    membership: Membership
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


def _active_membership(session: Session, user_id: uuid.UUID, tenant_id: str) -> Membership | None:
    membership = session.scalar(
        select(Membership).where(Membership.user_id == user_id, Membership.tenant_id == tenant_id)
    )
    # Deactivated members (sso's Membership.deactivated_at) lose their tokens and clients with them.
    if membership is None or not getattr(membership, "is_active", True) or not membership.user.is_active:
        return None
    return membership


def authenticate_bearer(session: Session, secret: str) -> ApiPrincipal | None:
    """The principal of a presented bearer secret, or None if it is unknown, expired or revoked.

    Looked up on every request, never cached: a revoked token is refused at once.
    """
    if not secret:
        return None
    if secret.startswith(TOKEN_PREFIX):
        token = find_api_token(session, secret)
        if token is None:
            return None
        membership = _active_membership(session, token.user_id, token.tenant_id)
        if membership is None:
            return None
        row = session.get(ApiTokenScope, token.id)
        scopes = parse_scopes(row.scope) if row is not None else None
        return ApiPrincipal("token", str(token.id), token.user, membership, scopes)
    if secret.startswith(ACCESS_TOKEN_PREFIX):
        token = session.scalar(select(OAuthToken).where(OAuthToken.token_hash == digest(secret)))
        if token is None or token.revoked_at is not None or token.expires_at <= datetime.now(UTC):
            return None
        client = token.client
        if client.revoked_at is not None:
            return None
        membership = _active_membership(session, client.user_id, client.tenant_id)
        if membership is None:
            return None
        return ApiPrincipal("client", str(client.id), client.user, membership, parse_scopes(token.scope))
    return None
