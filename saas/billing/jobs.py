"""Billing's background jobs and the periodic ones among them (run by ``saas scheduler``).

These are platform jobs: each names the tenant it works for, or walks the billing accounts itself.
"""

from __future__ import annotations

import logging
from typing import Any

from rq import Retry
from sqlalchemy import select

from saas.billing.models import BillingAccount
from saas.billing.services import record_setup_failure, set_up_subscription
from saas.billing.stripe_client import billing_enabled
from saas.billing.usage import record_contacts_stored, report_usage_to_stripe
from saas.db import TenantRef, db
from saas.jobs import queue
from saas.jobs.fanout import for_each_tenant
from saas.jobs.schedules import PeriodicJob, register_periodic
from saas.tenants.models import Tenant

log = logging.getLogger(__name__)

# Stripe outages are usually short: retry soon, then ever more patiently (seconds).
SETUP_RETRY = Retry(max=6, interval=[30, 120, 600, 1800, 3600, 3600])


def schedule_setup_retry(tenant_id: str) -> None:
    """Queue :func:`retry_billing_setup`; if Redis is down too, the periodic sweep still finds the tenant."""
    try:
        queue().enqueue(retry_billing_setup, tenant_id, retry=SETUP_RETRY)
    except Exception:
        log.exception("could not queue the billing setup retry of tenant %s", tenant_id)


def retry_billing_setup(tenant_id: str) -> dict[str, str]:
    """Create the tenant's Stripe customer and trial subscription; raises (so RQ retries) on failure."""
    if not billing_enabled():
        return {"skipped": "billing is off"}
    try:
        account = set_up_subscription(tenant_id)
    except Exception as error:
        db.session.rollback()
        record_setup_failure(tenant_id, error)
        raise
    return {"tenant_id": tenant_id, "status": account.status}


def sweep_pending_setups() -> dict[str, Any]:
    """Set up billing for every tenant still without a subscription (missed retries, billing newly on)."""
    if not billing_enabled():
        return {"skipped": 1}
    with_subscription = select(BillingAccount.tenant_id).where(
        BillingAccount.stripe_subscription_id.is_not(None)
    )
    tenant_ids = list(db.session.scalars(select(Tenant.id).where(Tenant.id.not_in(with_subscription))))

    def set_up(ref: TenantRef) -> str:
        try:
            return set_up_subscription(ref.id).status
        except Exception as error:
            db.session.rollback()
            record_setup_failure(ref.id, error)
            raise

    # Platform work only (Stripe and the billing account): the tenant schema's version does not matter.
    report = for_each_tenant(
        "sweep_pending_setups", set_up, when_read_only=True, needs_schema=False, tenant_ids=tenant_ids
    )
    return {"set_up": len(report.done), **report.as_dict()}


def report_usage_job() -> dict[str, int | bool]:
    if not billing_enabled():
        return {"skipped": True}
    return report_usage_to_stripe().as_dict()


def sample_contacts_stored() -> dict[str, Any]:
    """Sample every billed tenant's contact count into the ``contacts_stored`` gauge.

    Read-only tenants are sampled too: their contacts are still stored; billing decides what is charged.
    """
    if not billing_enabled():
        return {"tenants": 0}
    billed = list(db.session.scalars(select(BillingAccount.tenant_id)))
    report = for_each_tenant(
        "sample_contacts_stored", record_contacts_stored, when_read_only=True, tenant_ids=billed
    )
    return {"contacts": sum(report.results.values()), **report.as_dict()}


# Billing is the platform's: each job runs once, on the default cell, and reaches every tenant's cell.
BILLING_PERIODIC_JOBS = (
    PeriodicJob("saas.billing.jobs.report_usage_job", interval=60, per_cell=False),
    # Several samples a day make the contacts gauge a daily high-water mark.
    PeriodicJob("saas.billing.jobs.sample_contacts_stored", interval=3600, per_cell=False),
    PeriodicJob("saas.billing.jobs.sweep_pending_setups", interval=600, per_cell=False),
)


def register_periodic_jobs() -> None:
    for job in BILLING_PERIODIC_JOBS:
        register_periodic(job)
