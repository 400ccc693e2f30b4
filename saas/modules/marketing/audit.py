"""Audit entries of marketing actions (who scheduled, cancelled, changed the sender), no personal data."""

from __future__ import annotations

from typing import Any

from flask import g

from saas.audit import record_audit
from saas.db import TenantSession, db
from saas.modules.marketing.models import Campaign


def audit_marketing(
    session: TenantSession, action: str, campaign: Campaign | None, details: dict[str, Any] | None = None
) -> None:
    """Add the entry to the platform session; the request commits it with the tenant's change."""
    membership = g.get("membership")
    record_audit(
        db.session,
        f"marketing.{action}",
        actor=str(membership.user_id) if membership else "job",
        tenant_id=session.tenant.id,
        target=str(campaign.id) if campaign else None,
        details=details or ({"status": campaign.status} if campaign else None),
    )
