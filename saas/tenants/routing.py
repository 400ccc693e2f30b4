"""Binding a request to its tenant.

Pages live under ``/t/<slug>/``: the slug only chooses among the signed-in user's own memberships
(any other slug is a 404, whether or not it exists). The API finds the tenant from its token. Either
way the request gets one :class:`~saas.db.TenantSession`, committed once at the end of the request.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Response, abort, g, redirect, request, url_for
from flask_login import current_user

from saas.auth.models import Membership
from saas.auth.services import membership_for
from saas.db import TenantRef, TenantSession, db
from saas.errors import PermissionDenied
from saas.i18n import N_

TenantGuard = Callable[[TenantRef, Membership], None]
ACTOR_KEY = "actor_user_id"
"""Key of the acting platform user's id in a request's ``TenantSession.info`` (absent in jobs)."""
_guards: list[TenantGuard] = []


def register_tenant_guard(guard: TenantGuard) -> TenantGuard:
    """Run ``guard`` on every request as soon as it is bound to a tenant (pages and API alike).

    A guard refuses a request by raising a :class:`saas.errors.SaasError` (module off, read-only...).
    """
    if guard not in _guards:
        _guards.append(guard)
    return guard


def bind_request_to_tenant(tenant: TenantRef, membership: Membership) -> None:
    g.tenant = tenant
    g.membership = membership
    for guard in _guards:
        guard(tenant, membership)


ROLE_REFUSALS = {
    ("owner",): N_("Only workspace owners may do this."),
    ("owner", "admin"): N_("Only workspace owners or admins may do this."),
    ("admin", "owner"): N_("Only workspace admins or owners may do this."),
}
"""Who may do a thing, one whole sentence per set of roles (a list of roles does not decline alike)."""


def require_role(*roles: str) -> None:
    """Refuse the request with 403 unless the member's role is one of ``roles``."""
    membership = g.get("membership")
    if membership is None or membership.role not in roles:
        refusal = ROLE_REFUSALS.get(tuple(roles)) or N_(
            "Only these workspace roles may do this: %(roles)s.", roles=", ".join(roles)
        )
        raise PermissionDenied(refusal)


def current_tenant() -> TenantRef:
    tenant = g.get("tenant")
    if tenant is None:
        raise RuntimeError("this request is not bound to a tenant")
    return tenant


def current_tenant_session() -> TenantSession:
    """The request's tenant-bound session, opened on first use."""
    session = g.get("tenant_session")
    if session is None:
        session = g.tenant_session = TenantSession(current_tenant())
        # Who acts in this unit of work: services stamp it on history rows (stage changes, timeline).
        session.info[ACTOR_KEY] = g.membership.user_id
    return session


def bind_page_request_to_tenant() -> Response | None:
    """``before_request`` of every ``/t/<slug>/`` blueprint."""
    slug = g.pop("url_slug", None)
    if slug is None:
        abort(404)
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path))
    membership = membership_for(db.session, current_user.id, slug)
    if membership is None:
        abort(404)
    bind_request_to_tenant(membership.tenant.ref, membership)
    return None


def _pop_slug(endpoint: str | None, values: dict | None) -> None:
    if values is not None and "slug" in values:
        g.url_slug = values.pop("slug")


def _add_slug(endpoint: str, values: dict) -> None:
    tenant = g.get("tenant")
    if tenant is not None and "slug" not in values:
        values["slug"] = tenant.slug


def install_tenant_page_routing(blueprint) -> None:
    """Make ``blueprint`` (mounted at ``/t/<slug>``) tenant-bound; views never see the slug.

    Idempotent, so that a second app built in the same process (tests, tools) reuses the blueprint.
    """
    if getattr(blueprint, "tenant_routing_installed", False):
        return
    blueprint.tenant_routing_installed = True
    blueprint.url_value_preprocessor(_pop_slug)
    blueprint.url_defaults(_add_slug)
    # First of the blueprint's hooks, so its own hooks (role checks...) see the bound tenant.
    blueprint.before_request_funcs.setdefault(None, []).insert(0, bind_page_request_to_tenant)


def finish_tenant_request(response: Response) -> Response:
    """One transaction per request: commit tenant work on success, roll it back on any error."""
    session: TenantSession | None = g.pop("tenant_session", None)
    if session is not None:
        try:
            if response.status_code < 400:
                session.commit()
            else:
                session.rollback()
        finally:
            session.close()
    return response


def discard_tenant_session(exc: BaseException | None = None) -> None:
    session: TenantSession | None = g.pop("tenant_session", None)
    if session is not None:
        session.rollback()
        session.close()


def init_app(app: Flask) -> None:
    app.after_request(finish_tenant_request)
    app.teardown_request(discard_tenant_session)
