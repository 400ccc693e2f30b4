"""Metering of stored files: the ``storage_gb_months`` meter of the usage ledger.

A GB-month is one gigabyte (10^9 bytes) kept for a whole month; a day's share is
``bytes / (10^9 x days in that month)``. The ledger holds whole numbers, so the meter counts millionths
of a GB-month (``KB-month``): a day's quantity is ``ceil(bytes / (1000 x days in month))``. It is a gauge
sampled every hour: the ledger keeps each day's highest sample, and a month's days add up to its
GB-months (x 10^6).
"""

from __future__ import annotations

import calendar
import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from saas.billing.models import BillingAccount
from saas.billing.stripe_client import billing_enabled
from saas.billing.usage import record_usage
from saas.db import TenantRef, db, tenant_session
from saas.jobs.fanout import for_each_tenant
from saas.modules.files.services import remove_orphaned_files, stored_bytes

METER = "storage_gb_months"
UNITS_PER_GB_MONTH = 1_000_000


def day_quantity(size_bytes: int, day: datetime) -> int:
    """One day's storage of ``size_bytes`` in the meter's unit (millionths of a GB-month), rounded up."""
    days_in_month = calendar.monthrange(day.year, day.month)[1]
    return math.ceil(size_bytes * UNITS_PER_GB_MONTH / (1_000_000_000 * days_in_month))


def record_storage_used(tenant: TenantRef, at: datetime | None = None, *, billed: bool = True) -> int:
    """Drop the tenant's files whose record is gone (so a deleted record's files are neither kept nor
    billed), then sample its stored bytes into the gauge when it is ``billed``; returns the bytes."""
    at = at or datetime.now(UTC)
    with tenant_session(tenant) as session:
        remove_orphaned_files(session)
        size = stored_bytes(session)
    if billed:
        record_usage(tenant.id, METER, "files", day_quantity(size, at), at)
    return size


def sample_storage_used() -> dict[str, Any]:
    """Periodic job over every tenant (read-only ones too: their files are still stored); billed tenants'
    bytes go to the ledger (nothing is recorded while billing is off)."""
    billed = set(db.session.scalars(select(BillingAccount.tenant_id))) if billing_enabled() else set()

    def tidy_and_sample(ref: TenantRef) -> int:
        return record_storage_used(ref, billed=ref.id in billed)

    report = for_each_tenant("sample_storage_used", tidy_and_sample, when_read_only=True)
    return {"bytes": sum(report.results.values()), **report.as_dict()}
