"""Admin changes to the service setup (SLA policies, calendar, holidays, queues): owners and admins
only, each in the platform audit log (identifiers and figures, no customer data)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from saas.audit import record_audit
from saas.db import TenantSession, db
from saas.modules.core.activities import acting_user_id
from saas.modules.service import queues, sla
from saas.modules.service.models import Queue, ServiceCalendar, ServiceHoliday, SlaPolicy
from saas.modules.settings import ADMIN_ROLES
from saas.tenants.routing import require_role


def audit(session: TenantSession, action: str, target: str, details: dict[str, Any] | None = None) -> None:
    """Refused (403) unless an owner or admin acts; else an audit entry committed with the change."""
    require_role(*ADMIN_ROLES)
    record_audit(
        db.session,
        f"service.{action}",
        actor=f"user:{acting_user_id(session)}",
        tenant_id=session.tenant.id,
        target=target,
        details=details,
    )


def set_policy(session: TenantSession, priority: str, first_response: int, resolution: int) -> SlaPolicy:
    audit(session, "sla_policy.set", priority, {"first_response": first_response, "resolution": resolution})
    return sla.set_policy(session, priority, first_response, resolution)


def update_calendar(session: TenantSession, data: dict[str, Any]) -> ServiceCalendar:
    audit(session, "calendar.updated", "calendar", dict(data))
    return sla.update_calendar(session, data)


def add_holiday(session: TenantSession, day: date, name: str) -> ServiceHoliday:
    audit(session, "holiday.added", day.isoformat())
    return sla.add_holiday(session, day, name)


def remove_holiday(session: TenantSession, day: date) -> None:
    audit(session, "holiday.removed", day.isoformat())
    sla.remove_holiday(session, day)


def create_queue(session: TenantSession, data: dict[str, Any]) -> Queue:
    audit(session, "queue.created", data.get("name", ""), {"strategy": data.get("strategy")})
    return queues.create_queue(session, data)


def update_queue(session: TenantSession, queue_id: uuid.UUID, data: dict[str, Any]) -> Queue:
    audit(session, "queue.updated", str(queue_id), {"fields": sorted(data)})
    return queues.update_queue(session, queue_id, data)


def delete_queue(session: TenantSession, queue_id: uuid.UUID) -> None:
    audit(session, "queue.deleted", str(queue_id))
    queues.delete_queue(session, queue_id)
