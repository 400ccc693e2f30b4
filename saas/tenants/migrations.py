"""Upgrading every tenant schema: in parallel processes, one transaction per tenant, all accounted for.

Alembic's ``context``/``op`` proxies are process globals, so parallelism is by process, not thread.
Each tenant's upgrade runs on a connection that logged in as the tenant's role and commits on its own;
a failing tenant rolls back alone and the others go on.
After the run every tenant's real schema version is read back, so a tenant that was silently skipped
counts as a failure instead of vanishing from the report.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace

from sqlalchemy import select

from saas.db import TENANT_SCHEMA_PLACEHOLDER, TenantRef, tenant_pools
from saas.migrations import current_revision, head_revision, migrate_connection
from saas.tenant_connections import TenantConnectionSettings, TenantPools

_process_pools: TenantPools | None = None


@dataclass
class TenantMigrationResult:
    tenant_id: str
    slug: str
    status: str  # "upgraded", "current" or "failed"
    from_version: str | None
    to_version: str | None
    seconds: float
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def migrate_tenant(
    tenant: TenantRef, target: str = "head", pools: TenantPools | None = None
) -> TenantMigrationResult:
    """Move one tenant schema to ``target`` (revision, ``head`` or an older one) in one transaction."""
    started = time.perf_counter()
    before: str | None = None
    try:
        with (pools or tenant_pools()).engine_for(tenant).begin() as connection:
            before = current_revision(connection, tenant.schema_name)
            wanted = head_revision("tenant") if target == "head" else target
            if before == wanted:
                return TenantMigrationResult(
                    tenant.id, tenant.slug, "current", before, before, time.perf_counter() - started
                )
            migrate_connection("tenant", connection, wanted, tenant_schema=tenant.schema_name)
            after = current_revision(connection, tenant.schema_name)
        return TenantMigrationResult(
            tenant.id, tenant.slug, "upgraded", before, after, time.perf_counter() - started
        )
    except Exception as error:
        return TenantMigrationResult(
            tenant.id,
            tenant.slug,
            "failed",
            before,
            before,
            time.perf_counter() - started,
            error=f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}",
        )


def _migrate_in_worker(
    settings: TenantConnectionSettings, tenant: TenantRef, target: str
) -> TenantMigrationResult:
    global _process_pools
    if _process_pools is None:
        # One connection and one engine at a time per worker process: each tenant is visited once.
        _process_pools = TenantPools(
            replace(settings, max_connections=1, per_tenant=1, max_tenants=1), TENANT_SCHEMA_PLACEHOLDER
        )
    return migrate_tenant(tenant, target, _process_pools)


def read_schema_versions(tenants: list[TenantRef]) -> dict[str, str | None]:
    """Each tenant's version as its schema records it (the truth, not the registry's copy)."""
    versions: dict[str, str | None] = {}
    for tenant in tenants:
        with tenant_pools().engine_for(tenant).begin() as connection:
            versions[tenant.id] = current_revision(connection, tenant.schema_name)
    return versions


def migrate_all_tenants(
    tenants: list[TenantRef], *, jobs: int = 4, target: str = "head", on_result=None
) -> list[TenantMigrationResult]:
    """Migrate ``tenants`` with ``jobs`` processes; returns one result per tenant, failures included."""
    from saas.tenants.roles import repair_tenant_logins

    # Tenants made before tenants logged in as their own role get their login first.
    repair_tenant_logins(tenants)
    settings = tenant_pools().settings
    results: dict[str, TenantMigrationResult] = {}
    if jobs <= 1:
        for tenant in tenants:
            results[tenant.id] = result = migrate_tenant(tenant, target)
            if on_result:
                on_result(result)
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = {
                pool.submit(_migrate_in_worker, settings, tenant, target): tenant for tenant in tenants
            }
            for future, tenant in futures.items():
                try:
                    result = future.result()
                except Exception as error:  # a worker process died: still account for the tenant
                    result = TenantMigrationResult(
                        tenant.id, tenant.slug, "failed", None, None, 0.0, error=f"worker failed: {error}"
                    )
                results[tenant.id] = result
                if on_result:
                    on_result(result)

    # Verify against the schemas themselves: nobody is skipped while the report says all is well.
    wanted = head_revision("tenant") if target == "head" else target
    actual = read_schema_versions(tenants)
    for tenant in tenants:
        result = results[tenant.id]
        if result.status != "failed" and actual[tenant.id] != wanted:
            result.status = "failed"
            result.error = f"schema is at {actual[tenant.id]}, expected {wanted}"
        result.to_version = actual[tenant.id]
    return [results[tenant.id] for tenant in tenants]


def record_versions(session, results: list[TenantMigrationResult]) -> None:
    """Copy each tenant's real schema version into the registry."""
    from saas.tenants.models import Tenant

    by_id = {r.tenant_id: r for r in results}
    for tenant in session.scalars(select(Tenant).where(Tenant.id.in_(by_id))):
        tenant.schema_version = by_id[tenant.id].to_version
