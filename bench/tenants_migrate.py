"""Tenant migrations at scale: N tenants, one new revision (a column and an index) applied to all.

Set-up: real tenants (role, schema, every table and seed row, registry row) built the way provisioning
and the ready-schema pool build them (``create_tenant_role`` + ``create_tenant_tables``, one platform
transaction each, two at a time), without an owner account; tenants a ``--keep`` run left are reused. A
bench-only Alembic revision goes into a temporary copy of the tenant history
(``SAAS_TENANT_MIGRATIONS_DIR``; the product's history is untouched).

Measured, in the same run and on the same tenants:

- **ours**: ``migrate_all_tenants`` with ``--jobs`` processes, as ``saas tenants migrate`` runs (each
  tenant's upgrade on a connection that logged in as the tenant's own role, through Alembic);
- **resume**: the same command again with every tenant at head (what a rerun after a kill costs per
  tenant already done);
- **baseline**: the same DDL and version stamp, one transaction per tenant, by a bare loop on ``--jobs``
  platform connections that switch into each tenant's role (GRANT, SET ROLE, DDL, REVOKE: one round trip,
  psql-style; no login, no Alembic). That is the physical floor our login-per-tenant model is measured
  against, not a way the product may migrate (see ``saas/tenants/migrations.py``).

Then every schema is checked, on its own login, to have the column and the bench revision.

    .venv/bin/python bench/tenants_migrate.py [--tenants 300] [--jobs 2] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault(
    "SAAS_INSTANCE_DIR", str(Path(__file__).resolve().parent.parent / "instance" / "bench-migrate")
)
os.environ.setdefault("SAAS_ENV", "test")

from figures import summary  # bench/ is on the path when a bench runs
from flask import Flask
from sqlalchemy import delete, select

from saas import create_app
from saas.db import TenantRef, db, tenant_pools
from saas.migrations import head_revision, script_location, upgrade_platform
from saas.sql import quote_identifier
from saas.tenants.migrations import TenantLogins, TenantMigrationResult, migrate_all_tenants
from saas.tenants.models import Tenant
from saas.tenants.provisioning import create_tenant_tables
from saas.tenants.roles import create_tenant_role, drop_tenant_role, held_tenant_roles, release_tenant_role

SLUG_PREFIX = "migbench-"
BENCH_REVISION = "bench_score"
BENCH_REVISION_FILE = '''\
"""Bench only: a nullable column and an index on contacts.

Revision ID: {revision}
Revises: {down_revision}
"""

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down_revision}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("contacts", sa.Column("bench_score", sa.Integer(), nullable=True))
    op.create_index("ix_contacts_bench_score", "contacts", ["bench_score"])


def downgrade() -> None:
    op.drop_index("ix_contacts_bench_score", table_name="contacts")
    op.drop_column("contacts", "bench_score")
'''
# The baseline's statements: what the revision above makes Alembic send, and the version stamp.
BASELINE_UP = (
    "ALTER TABLE {schema}.contacts ADD COLUMN bench_score INTEGER; "
    "CREATE INDEX ix_contacts_bench_score ON {schema}.contacts (bench_score); "
    "UPDATE {schema}.alembic_version SET version_num = '{revision}'"
)
BASELINE_DOWN = (
    "DROP INDEX {schema}.ix_contacts_bench_score; ALTER TABLE {schema}.contacts DROP COLUMN bench_score; "
    "UPDATE {schema}.alembic_version SET version_num = '{revision}'"
)


def bench_refs() -> list[TenantRef]:
    query = select(Tenant).where(Tenant.slug.startswith(SLUG_PREFIX)).order_by(Tenant.slug)
    refs = [tenant.ref for tenant in db.session.scalars(query)]
    db.session.rollback()
    return refs


def _in_threads(app: Flask, jobs: int, items: list, work: Callable[[object], None]) -> None:
    """``work`` on every item, ``jobs`` at a time (the server does the work; threads only wait on it)."""

    def run(item: object) -> None:
        with app.app_context():
            work(item)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(run, items))


def build_tenants(app: Flask, first: int, count: int, jobs: int) -> None:
    """``count`` real tenants, each built in one platform transaction as provisioning builds one."""

    def build(index: object) -> None:
        tenant_id = os.urandom(6).hex()
        ref = TenantRef(tenant_id, f"{SLUG_PREFIX}{index:05d}", f"t_{tenant_id}", f"t_{tenant_id}")
        with db.engine.begin() as connection:
            create_tenant_role(connection, ref)
            version = create_tenant_tables(connection, ref)
            release_tenant_role(connection, ref)
            connection.execute(
                Tenant.__table__.insert().values(
                    id=ref.id, slug=ref.slug, name=f"Bench {index}", schema_name=ref.schema_name,
                    role_name=ref.role_name, status="active", schema_version=version,
                )
            )  # fmt: skip
        if index % 100 == 99:
            print(f"  built {index + 1 - first}/{count}", file=sys.stderr, flush=True)

    _in_threads(app, jobs, list(range(first, first + count)), build)


def purge(app: Flask, refs: list[TenantRef], jobs: int) -> None:
    """Drop the bench tenants' roles and schemas and their registry rows (they have nothing else)."""

    def drop(ref: object) -> None:
        with db.engine.begin() as connection:
            drop_tenant_role(connection, ref.role_name)  # type: ignore[attr-defined]
            connection.execute(delete(Tenant).where(Tenant.id == ref.id))  # type: ignore[attr-defined]

    _in_threads(app, jobs, refs, drop)


def baseline(app: Flask, refs: list[TenantRef], jobs: int, statements: str, revision: str) -> float:
    """The bare loop: ``jobs`` platform connections, one transaction and one round trip per tenant."""
    chunks = [refs[i::jobs] for i in range(jobs)]

    def loop(chunk: object) -> None:
        with db.engine.connect() as connection:
            for ref in chunk:  # type: ignore[attr-defined]
                role = quote_identifier(ref.role_name)
                ddl = statements.format(schema=quote_identifier(ref.schema_name), revision=revision)
                with connection.begin():
                    connection.exec_driver_sql(
                        f"GRANT {role} TO CURRENT_USER; SET LOCAL ROLE {role}; {ddl}; "
                        f"RESET ROLE; REVOKE {role} FROM CURRENT_USER"
                    )

    started = time.perf_counter()
    _in_threads(app, jobs, chunks, loop)
    return time.perf_counter() - started


def history_with_bench_revision(folder: Path) -> Path:
    """A copy of the tenant history plus one revision on top of the product's head."""
    copy = folder / "tenant"
    shutil.copytree(script_location("tenant"), copy)
    source = BENCH_REVISION_FILE.format(revision=BENCH_REVISION, down_revision=head_revision("tenant"))
    (copy / "versions" / f"{BENCH_REVISION}.py").write_text(source)
    return copy


def check_schemas(refs: list[TenantRef]) -> tuple[int, int]:
    """(tenants at the bench revision, tenants whose contacts have the column), each asked on its login."""
    logins = TenantLogins(tenant_pools().settings)
    at_revision = with_column = 0
    for ref in refs:
        with logins.connect(ref) as connection:
            version, column = connection.exec_driver_sql(
                "SELECT (SELECT version_num FROM alembic_version), count(*) FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = 'contacts' "
                "AND column_name = 'bench_score'"
            ).one()
        at_revision += version == BENCH_REVISION
        with_column += column
    logins.dispose()
    return at_revision, with_column


def timed_migration(
    refs: list[TenantRef], jobs: int, target: str
) -> tuple[float, list[TenantMigrationResult]]:
    started = time.perf_counter()
    results = migrate_all_tenants(refs, jobs=jobs, target=target)
    return time.perf_counter() - started, results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tenants", type=int, default=300)
    parser.add_argument(
        "--jobs", type=int, default=2, help="parallel processes (saas tenants migrate --jobs)"
    )
    parser.add_argument("--keep", action="store_true", help="leave the bench tenants for the next run")
    args = parser.parse_args()

    app = create_app()
    with app.app_context():
        upgrade_platform(db.engine)
        product_head = head_revision("tenant")
        refs = bench_refs()
        started = time.perf_counter()
        if len(refs) < args.tenants:
            build_tenants(app, len(refs), args.tenants - len(refs), args.jobs)
            refs = bench_refs()
        build_seconds = time.perf_counter() - started
        refs = refs[: args.tenants]
        print(f"set-up: {len(refs)} tenants ready in {build_seconds:.1f} s", file=sys.stderr)

        with tempfile.TemporaryDirectory(prefix="tenant-history-") as folder:
            os.environ["SAAS_TENANT_MIGRATIONS_DIR"] = str(history_with_bench_revision(Path(folder)))
            try:
                # A run a --keep run left half done, or an older product head: every tenant at the
                # product's head first (untimed).
                migrate_all_tenants(refs, jobs=args.jobs, target=product_head)
                base_up = baseline(app, refs, args.jobs, BASELINE_UP, BENCH_REVISION)
                baseline(app, refs, args.jobs, BASELINE_DOWN, product_head)
                total, results = timed_migration(refs, args.jobs, "head")
                at_bench_head, with_column = check_schemas(refs)
                resume_total, resumed = timed_migration(refs, args.jobs, "head")
                down_total, _ = timed_migration(refs, args.jobs, product_head)
            finally:
                del os.environ["SAAS_TENANT_MIGRATIONS_DIR"]
        with db.engine.connect() as connection:
            memberships = len(held_tenant_roles(connection) & {ref.role_name for ref in refs})

        n = len(refs)
        per_tenant = [r.seconds for r in results]
        cuts = statistics.quantiles(per_tenant, n=100, method="inclusive") if n > 1 else per_tenant * 99
        migrated = sum(r.status == "upgraded" for r in results)
        failed = [r for r in results if r.status == "failed"] + [r for r in resumed if r.status == "failed"]
        skipped = n - migrated
        ours_ms, base_ms = total / n * 1000, base_up / n * 1000

        print(f"tenants:                 {n}")
        print(f"revision:                {product_head} -> {BENCH_REVISION} (add column + index on contacts)")
        print(f"jobs:                    {args.jobs} (processes for ours, connections for the baseline)")
        print(f"ours:                    {total:.2f} s, {n / total:.0f} tenants/s, {ours_ms:.1f} ms/tenant")
        print(
            f"  per tenant p50 / p95:  {cuts[49] * 1000:.1f} ms / {cuts[94] * 1000:.1f} ms (in its process)"
        )
        print(
            f"baseline (bare loop):    {base_up:.2f} s, {n / base_up:.0f} tenants/s, {base_ms:.1f} ms/tenant"
        )
        print(f"ours / baseline:         {ours_ms / base_ms:.2f}x the time")
        print(f"resume (all at head):    {resume_total:.2f} s, {resume_total / n * 1000:.1f} ms/tenant")
        print(f"downgrade (ours):        {down_total:.2f} s, {down_total / n * 1000:.1f} ms/tenant")
        print(f"migrated: {migrated}  failed: {len(failed)}  skipped: {skipped}")
        print(f"schemas at {BENCH_REVISION}: {at_bench_head}; with the new column: {with_column}")
        print(f"platform user's memberships in bench tenant roles afterwards: {memberships}")
        summary(
            f"migrate {n} tenants, {args.jobs} jobs (ms/tenant)", "< 10 ms (1,000 in < 10 s)",
            ours_ms, base_ms, ours_ms / base_ms,
        )  # fmt: skip
        for result in failed[:10]:
            print(f"  FAILED {result.slug}: {result.error}")

        if not args.keep:
            started = time.perf_counter()
            purge(app, bench_refs(), args.jobs)
            print(f"cleanup: purged in {time.perf_counter() - started:.1f} s", file=sys.stderr)

        ok = not failed and skipped == 0 and at_bench_head == with_column == n and memberships == 0
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
