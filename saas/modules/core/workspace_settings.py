"""The workspace's one-row settings tables (base currency, phone region): reading and changing one
value, with the change in the platform's audit log."""

from __future__ import annotations

from typing import Any

from saas.audit import record_audit
from saas.db import TenantBase, TenantSession, db
from saas.modules.core.activities import acting_user_id


def audit_admin_change(session: TenantSession, action: str, target: str, details: dict) -> None:
    """An admin's change to workspace settings, in the platform's audit log (committed with the request)."""
    user_id = acting_user_id(session)
    record_audit(
        db.session, action, actor=f"user:{user_id}" if user_id else "system",
        tenant_id=session.tenant.id, target=target, details=details,
    )  # fmt: skip


def setting(session: TenantSession, model: type[TenantBase], attribute: str, default: Any = None) -> Any:
    row = session.get(model, 1)
    return getattr(row, attribute) if row is not None else default


def change_setting(
    session: TenantSession, model: type[TenantBase], attribute: str, value: Any, *, action: str, default: Any
) -> Any:
    """Set the one row's ``attribute`` (creating the row), audited as ``action`` with before and after."""
    before = setting(session, model, attribute, default)
    row = session.get(model, 1)
    if row is None:
        session.add(model(id=1, **{attribute: value}))
    else:
        setattr(row, attribute, value)
    session.flush()
    audit_admin_change(session, action, model.__tablename__, {"from": before, "to": value})
    return value
