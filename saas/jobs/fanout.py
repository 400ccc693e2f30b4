"""Walking the tenants from a periodic job: one selection rule and one report for every job.

A job visits only the tenants it may serve (active, module on and in the plan, writable unless the job
serves lapsed tenants too, schema at the code's head revision); each visit is isolated, and the report
accounts for every tenant: done, skipped with its reason, or failed with the exception's class.
Within :func:`serving_cell` (a periodic job run by one cell's worker) it walks that cell's tenants only.
"""

from __future__ import annotations

import logging
import traceback
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from rq.timeouts import JobTimeoutException
from sqlalchemy import select

from saas.db import TenantRef, db

log = logging.getLogger(__name__)

# Tenant.status values whose tenants get periodic jobs; any other status is skipped and reported.
RUNNING_STATUSES = frozenset({"active"})

# Why a tenant was skipped.
MODULE_OFF = "module_off"
NOT_IN_PLAN = "not_in_plan"
READ_ONLY = "read_only"
NOT_MIGRATED = "not_migrated"
SCHEMA_UNKNOWN = "schema_unknown"
NO_TENANT = "no_tenant"


_serving_cell: ContextVar[str | None] = ContextVar("serving_cell", default=None)


@contextmanager
def serving_cell(cell: str) -> Iterator[None]:
    """Within: :func:`for_each_tenant` visits the tenants of ``cell`` only; the other cells' workers run
    the same job for theirs (see ``saas.jobs.schedules.run_periodic``). Outside: every tenant."""
    token = _serving_cell.set(cell)
    try:
        yield
    finally:
        _serving_cell.reset(token)


def status_reason(status: str) -> str:
    return f"tenant_{status}"


@dataclass
class FanoutReport:
    """Every tenant a job considered, each in exactly one of ``done``, ``skipped`` or ``failed``."""

    job: str
    done: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    """Tenant id -> reason (``module_off``, ``not_migrated``, ``read_only``, ``tenant_<status>``...)."""
    failed: dict[str, str] = field(default_factory=dict)
    """Tenant id -> the exception's class name (never its message, which may hold personal data)."""
    results: dict[str, Any] = field(default_factory=dict)
    """Tenant id -> what ``work`` returned, for the tenants done."""

    @property
    def tenants(self) -> int:
        return len(self.done) + len(self.skipped) + len(self.failed)

    def as_dict(self) -> dict[str, Any]:
        """The summary a job returns (RQ keeps it) and the CLI prints."""
        return {
            "tenants": self.tenants,
            "done": len(self.done),
            "skipped": dict(self.skipped),
            "failed": dict(self.failed),
        }


@dataclass(frozen=True)
class _Candidate:
    ref: TenantRef
    status: str
    schema_version: str | None


def for_each_tenant(
    job_name: str,
    work: Callable[[TenantRef], Any],
    *,
    module: str | None = None,
    when_read_only: bool = False,
    needs_schema: bool = True,
    tenant_ids: Collection[str] | None = None,
) -> FanoutReport:
    """Run ``work(ref)`` for every tenant this job may serve, one tenant's failure isolated from the rest.

    ``module``: only tenants with that module switched on (and, with billing on, in their plan).
    ``when_read_only``: whether lapsed, read-only tenants still get the job (exports and privacy duties
    do; sending campaigns does not). ``needs_schema``: whether ``work`` touches the tenant schema, so
    the schema must be at the code's head revision. ``tenant_ids``: the job's own candidates (say,
    tenants with a due schedule); ``None`` means every tenant.
    """
    report = FanoutReport(job_name)
    visits = _select(
        report, module=module, when_read_only=when_read_only, needs_schema=needs_schema, tenant_ids=tenant_ids
    )
    # Hold no platform transaction open across the tenants' work (the selection only read).
    db.session.commit()
    for ref in visits:
        try:
            report.results[ref.id] = work(ref)
        except JobTimeoutException:
            raise  # the whole job ran out of time: RQ must see it
        except Exception as error:
            # The next tenant starts from a clean platform session, whatever this one left behind.
            db.session.rollback()
            report.failed[ref.id] = type(error).__name__
            # Frames only: an exception's message may quote a row (names, addresses).
            log.error(
                "job %s failed for tenant %s: %s\n%s",
                job_name,
                ref.id,
                type(error).__name__,
                "".join(traceback.format_tb(error.__traceback__)).rstrip(),
            )
            continue
        report.done.append(ref.id)
    _log_summary(report)
    return report


def _select(
    report: FanoutReport,
    *,
    module: str | None,
    when_read_only: bool,
    needs_schema: bool,
    tenant_ids: Collection[str] | None,
) -> list[TenantRef]:
    """The tenants to visit; every other candidate goes into ``report.skipped`` with its reason."""
    from saas.billing.entitlements import entitlements_for
    from saas.billing.models import BillingAccount, Plan
    from saas.billing.stripe_client import billing_enabled
    from saas.migrations import head_revision, script_directory
    from saas.modules.registry import registry
    from saas.tenants.models import Tenant

    query = select(Tenant).order_by(Tenant.id)
    if tenant_ids is not None:
        query = query.where(Tenant.id.in_(list(tenant_ids)))
    candidates = [_Candidate(t.ref, t.status, t.schema_version) for t in db.session.scalars(query)]
    # A candidate the job named but the registry no longer holds (purged meanwhile) is still reported.
    found = {candidate.ref.id for candidate in candidates}
    for missing in sorted(set(tenant_ids or ()) - found):
        report.skipped[missing] = NO_TENANT
    # Another cell's tenants are that cell's workers' to serve and report.
    if (cell := _serving_cell.get()) is not None:
        candidates = [candidate for candidate in candidates if candidate.ref.cell == cell]
    if module is not None and registry.get(module) is None:
        raise ValueError(f"no module {module!r}")
    # An always-on module (core, privacy) can be neither switched off nor left out of a plan.
    switchable = module if module is not None and not registry.get(module).always_on else None
    switched_off = _switched_off(switchable) if switchable else set()
    # Entitlements matter with billing on, for a module a plan may leave out or a job lapsed tenants skip.
    # Every account and plan is loaded once: entitlements_for then finds them in the identity map, which
    # holds objects weakly, so this list keeps them there for the whole selection.
    billing_rows = (
        [*db.session.scalars(select(BillingAccount)), *db.session.scalars(select(Plan))]
        if billing_enabled() and (switchable is not None or not when_read_only)
        else None
    )
    head = head_revision("tenant")
    visits: list[TenantRef] = []
    for candidate in candidates:
        reason = None
        if candidate.status not in RUNNING_STATUSES:
            reason = status_reason(candidate.status)
        elif candidate.ref.id in switched_off:
            reason = MODULE_OFF
        elif billing_rows is not None:
            entitlements = entitlements_for(db.session, candidate.ref.id)
            if switchable and not entitlements.includes_module(switchable):
                reason = NOT_IN_PLAN
            elif not when_read_only and not entitlements.can_write:
                reason = READ_ONLY
        if reason is None and needs_schema and candidate.schema_version != head:
            reason = _schema_reason(candidate.schema_version, script_directory("tenant"))
            # Loud on purpose: a rolling release must not hide a tenant the job did not serve.
            log.warning(
                "job %s skipped tenant %s: its schema is at %s, this code needs %s",
                report.job,
                candidate.ref.id,
                candidate.schema_version,
                head,
            )
        if reason is None:
            visits.append(candidate.ref)
        else:
            report.skipped[candidate.ref.id] = reason
    return visits


def _switched_off(module_key: str) -> set[str]:
    """Ids of the tenants that switched ``module_key`` off (a module without a switch row is on)."""
    from saas.modules.switches import ModuleSwitch

    return set(
        db.session.scalars(
            select(ModuleSwitch.tenant_id).where(ModuleSwitch.module_key == module_key, ~ModuleSwitch.enabled)
        )
    )


def _schema_reason(version: str | None, scripts: ScriptDirectory) -> str:
    """``not_migrated`` for an older (or unrecorded) revision; ``schema_unknown`` for one this code
    does not know, i.e. a newer release migrated the tenant while this older worker still runs."""
    if version is None:
        return NOT_MIGRATED
    try:
        known = scripts.get_revision(version) is not None
    except CommandError:  # a revision id this history has never seen
        known = False
    return NOT_MIGRATED if known else SCHEMA_UNKNOWN


def _log_summary(report: FanoutReport) -> None:
    reasons = Counter(report.skipped.values())
    level = logging.WARNING if report.failed else logging.INFO
    log.log(
        level,
        "job %s: %d tenants, %d done, %d skipped %s, %d failed %s",
        report.job,
        report.tenants,
        len(report.done),
        len(report.skipped),
        dict(reasons),
        len(report.failed),
        sorted(report.failed),
    )
