"""Upgrading every tenant schema: in parallel processes, one transaction per tenant, all accounted for.

Alembic's ``context``/``op`` proxies are process globals, so parallelism is by process, not thread.
Each tenant's upgrade runs on a connection that logged in as the tenant's role and commits on its own;
a failing tenant rolls back alone and the others go on. A tenant whose tables are busy (a lock held past
``lock_timeout``) fails fast instead of stalling the run, and is tried again after the others; one still
busy then is reported failed, never skipped. Each tenant's version is read back from its schema in the
transaction that commits it, and a tenant without a result counts as a failure, so none can vanish from
the report. A run killed midway is simply run again: tenants already at head cost a login and one query.

Why one login per tenant, not one connection switching tenants with ``SET ROLE``: the platform user would
have to hold every tenant role, and a function or trigger the tenant planted in its schema, run by a
migration, could ``RESET ROLE`` back to the platform user. The login is the boundary; what is shared per
process is everything around it (one engine, so one dialect set-up; the history read once).
"""

from __future__ import annotations

import math
import multiprocessing
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass

from psycopg import errors as pg_errors
from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from saas.db import TENANT_SCHEMA_PLACEHOLDER, TenantRef, tenant_pools
from saas.migrations import current_revision, head_revision, migrate_connection, rendered_steps
from saas.sql import quote_identifier
from saas.tenant_connections import TenantConnectionSettings, TenantPools, tenant_login_secret

DEFAULT_LOCK_TIMEOUT = 3.0
"""Seconds a tenant's migration waits for a lock before it gives up (and is retried after the others):
a waiting ``ALTER TABLE`` queues every later query on that table behind it, so it must not wait long."""
DEFAULT_RETRIES = 2

_worker_logins: TenantLogins | None = None


@dataclass
class TenantMigrationResult:
    tenant_id: str
    slug: str
    status: str  # "upgraded", "current" or "failed"
    from_version: str | None
    to_version: str | None
    seconds: float
    error: str | None = None
    attempts: int = 1
    busy: bool = False
    """Failed on ``lock_timeout``: worth another attempt once the others are done."""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class TenantLogins:
    """One migrating process's tenant connections: one engine per cell whose every connection logs in as
    the tenant being migrated (``NullPool``: each tenant is visited once, nothing is worth keeping open)."""

    def __init__(self, settings: TenantConnectionSettings) -> None:
        self._settings = settings
        self._tenant: TenantRef | None = None
        self._connect_args: dict[str, object] = {}
        if not settings.prepared_statements:
            self._connect_args["prepare_threshold"] = None
        self._engines: dict[str, Engine] = {}

    def _engine(self, cell: str) -> Engine:
        # One engine per cell, not per tenant: SQLAlchemy's first-connect queries run once per process
        # and cell (they cost more than the login itself).
        engine = self._engines.get(cell)
        if engine is None:
            url = self._settings.server_url(cell)
            engine = create_engine(url, poolclass=NullPool, connect_args=self._connect_args)
            event.listen(engine, "do_connect", self._log_in_as_tenant)
            self._engines[cell] = engine
        return engine

    def dispose(self) -> None:
        for engine in self._engines.values():
            engine.dispose()

    def _log_in_as_tenant(self, dialect, record, cargs, cparams: dict) -> None:
        tenant = self._tenant
        assert tenant is not None, "a tenant connection opened outside TenantLogins.connect"
        cparams["user"] = tenant.role_name
        cparams["password"] = tenant_login_secret(
            self._settings.secret_key, tenant.role_name, tenant.login_version
        )
        cparams["application_name"] = f"saas:{tenant.id}"

    @contextmanager
    def connect(self, tenant: TenantRef) -> Iterator[Connection]:
        """A connection logged in as ``tenant``'s role, its placeholder schema mapped to the tenant's."""
        self._tenant = tenant
        try:
            connection = self._engine(tenant.cell).connect()
        finally:
            self._tenant = None
        with connection:
            yield connection.execution_options(
                schema_translate_map={TENANT_SCHEMA_PLACEHOLDER: tenant.schema_name}
            )


class _NoVersionTable(Exception):
    """A schema with no version table yet (one built by replaying the history from base)."""


def _recorded_version(connection: Connection, tenant: TenantRef) -> str | None:
    """The version the tenant's schema records, in one query (Alembic's own read costs two)."""
    table = f"{quote_identifier(tenant.schema_name)}.alembic_version"
    try:
        return connection.exec_driver_sql(f"SELECT version_num FROM {table}").scalar()
    except DBAPIError as error:
        if isinstance(error.orig, pg_errors.UndefinedTable):
            raise _NoVersionTable from error
        raise


def _is_lock_timeout(error: BaseException) -> bool:
    # Alembic's statements fail wrapped by SQLAlchemy, a replayed script's straight from psycopg.
    return isinstance(error, pg_errors.LockNotAvailable) or isinstance(
        getattr(error, "orig", None), pg_errors.LockNotAvailable
    )


def _bring_to(
    connection: Connection, tenant: TenantRef, wanted: str, before: str | None, lock_timeout: float | None
) -> str | None:
    """Inside the tenant's transaction: migrate from ``before`` unless it is ``wanted`` (then nothing else
    is touched and no Alembic context is built); the version the schema records now. The commit is all
    or nothing, so that is the version it keeps."""
    if before == wanted:
        return before
    if lock_timeout:
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = {max(1, round(lock_timeout * 1000))}")
    script = rendered_steps("tenant", before, wanted)
    if script is None:
        migrate_connection("tenant", connection, wanted, tenant_schema=tenant.schema_name, current=before)
        return _recorded_version(connection, tenant)
    _replay(connection, script)
    after = _recorded_version(connection, tenant)
    if after != wanted:  # a stamp that matched no row: roll the DDL back with it rather than commit half
        raise RuntimeError(f"the replayed script left the schema at {after}, not {wanted}")
    return after


def _replay(connection: Connection, script: str) -> None:
    """Every statement of ``script`` in one round trip (the simple query protocol takes several; nothing
    is a parameter, nothing is prepared), inside the tenant's open transaction."""
    with connection.connection.driver_connection.cursor() as cursor:
        cursor.execute(script.encode(), prepare=False)


def _migrate(
    connect: Callable[[TenantRef], AbstractContextManager[Connection]],
    tenant: TenantRef,
    target: str,
    lock_timeout: float | None,
) -> TenantMigrationResult:
    started = time.perf_counter()
    before: str | None = None
    try:
        wanted = head_revision("tenant") if target == "head" else target
        with connect(tenant) as connection:
            try:
                with connection.begin():
                    before = _recorded_version(connection, tenant)
                    after = _bring_to(connection, tenant, wanted, before, lock_timeout)
            except _NoVersionTable:  # its transaction did nothing else; Alembic creates the table
                with connection.begin():
                    after = _bring_to(connection, tenant, wanted, None, lock_timeout)
        return TenantMigrationResult(
            tenant.id,
            tenant.slug,
            "current" if before == wanted else "upgraded",
            before,
            after,
            time.perf_counter() - started,
        )
    except Exception as error:
        busy = _is_lock_timeout(error)
        message = str(error).splitlines()[0] if str(error) else ""
        return TenantMigrationResult(
            tenant.id,
            tenant.slug,
            "failed",
            before,
            before,
            time.perf_counter() - started,
            error=("lock timeout (tenant busy): " if busy else "") + f"{type(error).__name__}: {message}",
            busy=busy,
        )


def migrate_tenant(
    tenant: TenantRef,
    target: str = "head",
    pools: TenantPools | None = None,
    *,
    lock_timeout: float | None = None,
) -> TenantMigrationResult:
    """Move one tenant schema to ``target`` (revision, ``head`` or an older one) in one transaction."""
    engine = (pools or tenant_pools()).engine_for(tenant)
    return _migrate(lambda _tenant: engine.connect(), tenant, target, lock_timeout)


def _start_worker(settings: TenantConnectionSettings) -> None:
    """A migrating process's set-up, once: its engine, the models and the history (read from disk)."""
    global _worker_logins
    from saas.models import load_all_models

    load_all_models()
    head_revision("tenant")
    _worker_logins = TenantLogins(settings)


def _migrate_batch(
    tenants: list[TenantRef], target: str, lock_timeout: float | None
) -> list[TenantMigrationResult]:
    assert _worker_logins is not None
    return [_migrate(_worker_logins.connect, tenant, target, lock_timeout) for tenant in tenants]


def read_schema_versions(tenants: list[TenantRef]) -> dict[str, str | None]:
    """Each tenant's version as its schema records it (the truth, not the registry's copy)."""
    versions: dict[str, str | None] = {}
    for tenant in tenants:
        with tenant_pools().engine_for(tenant).begin() as connection:
            versions[tenant.id] = current_revision(connection, tenant.schema_name)
    return versions


def _batches(tenants: list[TenantRef], jobs: int) -> list[list[TenantRef]]:
    """Several tenants per task (fewer round trips to the workers), small enough to keep both busy."""
    size = max(1, min(50, math.ceil(len(tenants) / (jobs * 8))))
    return [tenants[i : i + size] for i in range(0, len(tenants), size)]


def _run_parallel(
    pool: ProcessPoolExecutor,
    tenants: list[TenantRef],
    jobs: int,
    target: str,
    lock_timeout: float | None,
) -> Iterator[TenantMigrationResult]:
    """Results as batches finish; a batch whose worker died yields a failure for each of its tenants."""
    futures: dict[Future, list[TenantRef]] = {
        pool.submit(_migrate_batch, batch, target, lock_timeout): batch for batch in _batches(tenants, jobs)
    }
    while futures:
        done, _ = wait(futures, return_when=FIRST_COMPLETED)
        for future in done:
            batch = futures.pop(future)
            try:
                yield from future.result()
            except Exception as error:  # still account for every tenant of the batch
                for tenant in batch:
                    yield TenantMigrationResult(
                        tenant.id, tenant.slug, "failed", None, None, 0.0, error=f"worker failed: {error}"
                    )


def migrate_all_tenants(
    tenants: list[TenantRef],
    *,
    jobs: int = 4,
    target: str = "head",
    on_result: Callable[[TenantMigrationResult], None] | None = None,
    lock_timeout: float | None = DEFAULT_LOCK_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
) -> list[TenantMigrationResult]:
    """Migrate ``tenants`` with ``jobs`` processes; one result per tenant, failures included.

    Tenants that failed on ``lock_timeout`` are tried again, up to ``retries`` times, after the rest.
    """
    from saas.tenants.roles import repair_tenant_logins

    # Tenants made before tenants logged in as their own role get their login first.
    repair_tenant_logins(tenants)
    settings = tenant_pools().settings
    wanted = head_revision("tenant") if target == "head" else target
    results: dict[str, TenantMigrationResult] = {}

    def attempts(run: Callable[[list[TenantRef]], Iterator[TenantMigrationResult]]) -> None:
        pending = tenants
        for attempt in range(1, retries + 2):
            for result in run(pending):
                result.attempts = attempt
                results[result.tenant_id] = result
                final = not result.busy or attempt == retries + 1
                if final and on_result:
                    on_result(result)
            pending = [t for t in pending if results[t.id].busy]
            if not pending:
                return

    if jobs <= 1:
        logins = TenantLogins(settings)
        attempts(lambda batch: (_migrate(logins.connect, t, wanted, lock_timeout) for t in batch))
        logins.dispose()
    else:
        # Forked workers start at once with the modules and the history already loaded; a spawned one
        # re-imports the app first (~2.5 s of CPU each, a quarter of the budget for 1,000 tenants). A
        # forked worker never touches the connections it inherits (it opens its own engine) and ends
        # with os._exit, so nothing of the parent's is closed or reused.
        context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
        with ProcessPoolExecutor(
            max_workers=jobs, mp_context=context, initializer=_start_worker, initargs=(settings,)
        ) as pool:
            attempts(lambda batch: _run_parallel(pool, batch, jobs, wanted, lock_timeout))

    for tenant in tenants:
        result = results.get(tenant.id)
        if result is None:  # nobody is skipped while the report says all is well
            result = results[tenant.id] = TenantMigrationResult(
                tenant.id, tenant.slug, "failed", None, None, 0.0, error="no result from any worker"
            )
        elif result.status != "failed" and result.to_version != wanted:
            result.status = "failed"
            result.error = f"schema is at {result.to_version}, expected {wanted}"
    return [results[tenant.id] for tenant in tenants]


def record_versions(session, results: list[TenantMigrationResult]) -> None:
    """Copy each tenant's real schema version into the registry."""
    from saas.tenants.models import Tenant

    by_id = {r.tenant_id: r for r in results}
    ids = list(by_id)
    for start in range(0, len(ids), 5000):  # bounded IN lists, whatever the number of tenants
        chunk = ids[start : start + 5000]
        for tenant in session.scalars(select(Tenant).where(Tenant.id.in_(chunk))):
            tenant.schema_version = by_id[tenant.id].to_version
