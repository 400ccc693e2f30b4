"""Billing's background jobs and the periodic ones among them (run by ``saas scheduler``).

These are platform jobs: each names the tenant it works for, or walks the billing accounts itself.
"""

from __future__ import annotations

import logging

from rq import Retry
from sqlalchemy import select

from saas.billing.models import BillingAccount
from saas.billing.services import record_setup_failure, set_up_subscription
from saas.billing.stripe_client import billing_enabled
from saas.billing.usage import record_contacts_stored, report_usage_to_stripe
from saas.db import db
from saas.jobs import queue
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


def sweep_pending_setups() -> dict[str, int]:
    """Set up billing for every tenant still without a subscription (missed retries, billing newly on)."""
    if not billing_enabled():
        return {"skipped": 1}
    with_subscription = select(BillingAccount.tenant_id).where(
        BillingAccount.stripe_subscription_id.is_not(None)
    )
    tenant_ids = list(db.session.scalars(select(Tenant.id).where(Tenant.id.not_in(with_subscription))))
    done = failed = 0
    for tenant_id in tenant_ids:
        try:
            set_up_subscription(tenant_id)
            done += 1
        except Exception as error:
            db.session.rollback()
            record_setup_failure(tenant_id, error)
            failed += 1
    return {"set_up": done, "failed": failed}


def report_usage_job() -> dict[str, int | bool]:
    if not billing_enabled():
        return {"skipped": True}
    return report_usage_to_stripe().as_dict()


def sample_contacts_stored() -> dict[str, int]:
    """Sample every billed tenant's contact count into the ``contacts_stored`` gauge."""
    if not billing_enabled():
        return {"tenants": 0}
    tenants = list(
        db.session.scalars(select(Tenant).join(BillingAccount, BillingAccount.tenant_id == Tenant.id))
    )
    refs = [tenant.ref for tenant in tenants]
    db.session.remove()
    for ref in refs:
        record_contacts_stored(ref)
    return {"tenants": len(refs)}


BILLING_PERIODIC_JOBS = (
    PeriodicJob("saas.billing.jobs.report_usage_job", interval=60),
    # Several samples a day make the contacts gauge a daily high-water mark.
    PeriodicJob("saas.billing.jobs.sample_contacts_stored", interval=3600),
    PeriodicJob("saas.billing.jobs.sweep_pending_setups", interval=600),
)


def register_periodic_jobs() -> None:
    for job in BILLING_PERIODIC_JOBS:
        register_periodic(job)
