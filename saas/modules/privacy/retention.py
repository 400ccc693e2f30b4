"""Retention policies: contacts untouched for N months, and needed by no module, are deleted on a
schedule; a dry-run preview shows who would go. Modules say whom they still need (registry hooks)."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, union

from saas.db import TenantRef, TenantSession, db
from saas.errors import ValidationError
from saas.i18n import N_
from saas.jobs import enqueue_for_tenant
from saas.modules.core.models import Contact
from saas.modules.privacy.audit import audit_privacy
from saas.modules.privacy.models import RetentionPolicy
from saas.modules.privacy.subject import erase_subject
from saas.modules.registry import DataSubject, registry

JOB = "saas.modules.privacy.retention.apply_retention"
PREVIEW_LIMIT = 50


def months_before(moment: datetime, months: int) -> datetime:
    """The same day ``months`` earlier, or that month's last day."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def get_policy(session: TenantSession) -> RetentionPolicy | None:
    return session.get(RetentionPolicy, 1)


def set_policy(session: TenantSession, *, months: int, enabled: bool, actor: str) -> RetentionPolicy:
    if not 1 <= months <= 240:
        raise ValidationError(N_("Invalid retention period."), {"months": [N_("Enter 1 to 240 months.")]})
    policy = get_policy(session) or RetentionPolicy(id=1)
    policy.months, policy.enabled, policy.updated_at = months, enabled, datetime.now(UTC)
    session.add(policy)
    session.flush()
    audit_privacy(session, "retention.set", actor=actor, details={"months": months, "enabled": enabled})
    return policy


def _expired_contacts(months: int, now: datetime):
    cutoff = months_before(now, months)
    kept = [query for module in registry if module.retention_keep for query in module.retention_keep(cutoff)]
    query = select(Contact).where(Contact.updated_at < cutoff)
    if kept:
        query = query.where(Contact.id.not_in(union(*kept).subquery().select()))
    return query


def preview(session: TenantSession, months: int, now: datetime | None = None) -> tuple[int, list[Contact]]:
    """Dry run: how many contacts a run would delete now, and the first of them by name."""
    query = _expired_contacts(months, now or datetime.now(UTC))
    count = session.scalar(select(func.count()).select_from(query.subquery()))
    return count, list(session.scalars(query.order_by(Contact.sort_name, Contact.id).limit(PREVIEW_LIMIT)))


def apply_retention(session: TenantSession, now: str | None = None) -> dict:
    """Job body: delete every expired contact through each module's erasure hook; counts only."""
    policy = get_policy(session)
    if policy is None or not policy.enabled:
        return {"skipped": "no retention policy is enabled"}
    moment = datetime.fromisoformat(now) if now else datetime.now(UTC)
    report: dict[str, int] = {}
    for contact in session.scalars(_expired_contacts(policy.months, moment)).all():
        for table, count in erase_subject(session, DataSubject(contact.id, contact.email)).items():
            report[table] = report.get(table, 0) + count
    policy.last_run_at, policy.last_report = moment, report
    session.flush()
    audit_privacy(session, "retention.applied", actor="job", details={"months": policy.months, **report})
    db.session.commit()
    return report


def enqueue_retention(tenant_id: str) -> None:
    enqueue_for_tenant(tenant_id, JOB)


def apply_all_retention() -> dict[str, Any]:
    """Periodic: one retention job per tenant (each does nothing without an enabled policy).

    Lapsed, read-only tenants get it too: purging what the tenant promised to purge is a legal duty,
    not a paid feature.
    """
    from saas.jobs.fanout import for_each_tenant

    def queue_retention(ref: TenantRef) -> int:
        enqueue_retention(ref.id)
        return 1

    report = for_each_tenant("apply_all_retention", queue_retention, when_read_only=True)
    return {"queued": len(report.done), **report.as_dict()}
