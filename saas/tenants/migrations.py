"""Upgrading every tenant schema: in parallel processes, one transaction per tenant, all accounted for.

Alembic's ``context``/``op`` proxies are process globals, so parallelism is by process, not thread.
Each tenant's upgrade commits on its own; a failing tenant rolls back alone and the others go on.
After the run every tenant's real schema version is read back, so a tenant that was silently skipped
counts as a failure instead of vanishing from the report.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass

from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine

from saas.db import TenantRef, enter_tenant
from saas.migrations import current_revision, head_revision, migrate_connection

_process_engines: dict[str, Engine] = {}


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


def migrate_tenant(engine: Engine, tenant: TenantRef, target: str = "head") -> TenantMigrationResult:
    """Move one tenant schema to ``target`` (revision, ``head`` or an older one) in one transaction."""
    started = time.perf_counter()
    before: str | None = None
    try:
        with engine.begin() as connection:
            enter_tenant(connection, tenant)
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


def _migrate_in_worker(database_url: str, tenant: TenantRef, target: str) -> TenantMigrationResult:
    engine = _process_engines.get(database_url)
    if engine is None:
        engine = _process_engines[database_url] = create_engine(database_url, pool_size=1)
    return migrate_tenant(engine, tenant, target)


def read_schema_versions(engine: Engine, tenants: list[TenantRef]) -> dict[str, str | None]:
    """Each tenant's version as its schema records it (the truth, not the registry's copy)."""
    versions: dict[str, str | None] = {}
    for tenant in tenants:
        with engine.begin() as connection:
            enter_tenant(connection, tenant)
            versions[tenant.id] = current_revision(connection, tenant.schema_name)
    return versions


def migrate_all_tenants(
    engine: Engine, tenants: list[TenantRef], *, jobs: int = 4, target: str = "head", on_result=None
) -> list[TenantMigrationResult]:
    """Migrate ``tenants`` with ``jobs`` processes; returns one result per tenant, failures included."""
    database_url = engine.url.render_as_string(hide_password=False)
    results: dict[str, TenantMigrationResult] = {}
    if jobs <= 1:
        for tenant in tenants:
            results[tenant.id] = result = migrate_tenant(engine, tenant, target)
            if on_result:
                on_result(result)
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = {
                pool.submit(_migrate_in_worker, database_url, tenant, target): tenant for tenant in tenants
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
    actual = read_schema_versions(engine, tenants)
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
