"""Per-tenant module switches, kept in the platform schema.

A module with no row is on (new tenants start with everything on during the trial); switching a
module off keeps its data, hides its pages, API and nav, and stops its jobs for that tenant.
"""

from __future__ import annotations

from datetime import datetime

from flask import abort
from sqlalchemy import Boolean, DateTime, ForeignKey, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from saas.audit import record_audit
from saas.db import TenantRef, db
from saas.errors import NotFound, ValidationError
from saas.i18n import N_
from saas.modules.registry import Module, registry
from saas.tenants.models import Tenant


class ModuleSwitch(db.Model):
    __tablename__ = "module_switches"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    module_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    changed_by: Mapped[str] = mapped_column(String(100))


def enabled_module_keys(session: Session, tenant_id: str) -> set[str]:
    """Keys of the modules that are on for this tenant (always-on modules included)."""
    off = set(
        session.scalars(
            select(ModuleSwitch.module_key).where(ModuleSwitch.tenant_id == tenant_id, ~ModuleSwitch.enabled)
        )
    )
    return {module.key for module in registry if module.always_on or module.key not in off}


def is_module_enabled(session: Session, tenant_id: str, key: str) -> bool:
    module = registry.get(key)
    if module is None:
        return False
    if module.always_on:
        return True
    switch = session.get(ModuleSwitch, (tenant_id, key))
    return switch is None or switch.enabled


def switchable_module(key: str) -> Module:
    module = registry.get(key)
    if module is None:
        known = ", ".join(sorted(m.key for m in registry if not m.always_on))
        raise NotFound(
            N_("No module '%(module)s'. Modules that can be switched: %(known)s.", module=key, known=known)
        )
    if module.always_on:
        raise ValidationError(
            N_("The %(module)s module is always on.", module=module.title, translated=("module",)),
            {"module": [N_("always on")]},
        )
    return module


def set_module_enabled(session: Session, tenant_id: str, key: str, enabled: bool, *, actor: str) -> bool:
    """Switch a module on or off for a tenant; returns whether anything changed. Audited."""
    module = switchable_module(key)
    switch = session.get(ModuleSwitch, (tenant_id, module.key))
    was_enabled = switch is None or switch.enabled
    if switch is None:
        switch = ModuleSwitch(tenant_id=tenant_id, module_key=module.key, enabled=enabled, changed_by=actor)
        session.add(switch)
    else:
        switch.enabled = enabled
        switch.changed_by = actor
        switch.changed_at = func.now()
    record_audit(
        session,
        "module.enabled" if enabled else "module.disabled",
        actor=actor,
        tenant_id=tenant_id,
        target=module.key,
        details={"was_enabled": was_enabled},
    )
    return was_enabled != enabled


class ModuleDisabled(NotFound):
    title = N_("Module switched off")
    hint = N_(
        "The address is right and nothing was deleted: the page is back once the module is switched on."
    )


BLUEPRINT_MODULES = "saas_blueprint_modules"


def refuse_requests_to_disabled_modules(tenant: TenantRef, membership: object) -> None:
    """Tenant guard: a switched-off module's pages and API answer 404 saying why."""
    from flask import current_app, request

    key = current_app.extensions.get(BLUEPRINT_MODULES, {}).get(request.blueprint)
    if key and not is_module_enabled(db.session, tenant.id, key):
        title = registry.get(key).title
        raise ModuleDisabled(
            N_(
                "The %(module)s module is switched off for this workspace; an owner or admin can switch it "
                "on under Settings > Modules. Its data is kept.",
                module=title,
                translated=("module",),
            )
        )


def public_workspace(values: dict | None, *module_keys: str, refusal: str = "Not found.") -> Tenant:
    """The workspace whose ``<slug>`` a public URL (outside ``/t/<slug>/``) carries, popped from the
    route's ``values``: 404 when there is none; ``ModuleDisabled(refusal)`` while one of ``module_keys`` is
    switched off for it."""
    slug = (values or {}).pop("slug", None)
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug)) if slug else None
    if tenant is None:
        abort(404)
    for key in module_keys:
        if not is_module_enabled(db.session, tenant.id, key):
            raise ModuleDisabled(refusal)
    return tenant
