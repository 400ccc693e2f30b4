"""Tenant migrations at scale: 1,000 tenants, one new revision (a column and an index) applied to all.

Provisions the tenants through ``provision_tenant`` (sharing one admin user: the argon2 check then
costs one verification per tenant instead of one hash per user), then writes a bench-only Alembic
revision into a temporary copy of the tenant history (``SAAS_TENANT_MIGRATIONS_DIR``; the product's
history is untouched) and runs ``migrate_all_tenants`` as ``saas tenants migrate`` does (each tenant's
upgrade on a connection that logged in as the tenant's own role). Prints the total, per-tenant p50/p95,
migrated and failed counts, and checks every schema really has the column (asking each tenant's own
login: the platform user cannot see into tenant schemas).

Baseline (issue 26's side-by-side run on this machine, not repeated here): django-tenants 4.0.1 needs
106 ms per tenant for the same change on empty tables run one after another, and 44 ms per tenant with
its parallel executor in 2 processes. The comparison printed is like for like: ours with ``--jobs``
processes against django-tenants with as many (1 or 2; for other counts no django-tenants figure exists).

    .venv/bin/python bench/tenants_migrate.py [--tenants 1000] [--jobs 2] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault(
    "SAAS_INSTANCE_DIR", str(Path(__file__).resolve().parent.parent / "instance" / "bench-migrate")
)
os.environ.setdefault("SAAS_ENV", "test")

from figures import summary  # bench/ is on the path when a bench runs
from sqlalchemy import select, text

from saas import create_app
from saas.db import TenantRef, db, tenant_pools
from saas.migrations import head_revision, script_location, upgrade_platform
from saas.tenants.migrations import migrate_all_tenants, read_schema_versions, record_versions
from saas.tenants.models import Tenant
from saas.tenants.provisioning import provision_tenant, purge_tenant

SLUG_PREFIX = "migbench-"
ADMIN_EMAIL = "migbench-owner@example.com"
ADMIN_PASSWORD = "migbench-password-1"
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


def bench_tenants() -> list[Tenant]:
    return list(db.session.scalars(select(Tenant).where(Tenant.slug.startswith(SLUG_PREFIX))))


def purge_bench_tenants() -> int:
    """Remove tenants an earlier run left behind (through the product's own purge)."""
    tenants = bench_tenants()
    for tenant in tenants:
        purge_tenant(tenant.id, actor="bench")
    return len(tenants)


def provision(count: int) -> tuple[list[TenantRef], float]:
    started = time.perf_counter()
    refs = []
    for index in range(count):
        tenant = provision_tenant(
            f"{SLUG_PREFIX}{index:05d}", f"Bench {index}", ADMIN_EMAIL, ADMIN_PASSWORD, actor="bench"
        )
        refs.append(tenant.ref)
        if (index + 1) % 100 == 0:
            print(f"  provisioned {index + 1}/{count}", file=sys.stderr, flush=True)
    return refs, time.perf_counter() - started


def history_with_bench_revision(folder: Path) -> Path:
    """A copy of the tenant history plus one revision on top of the product's head."""
    copy = folder / "tenant"
    shutil.copytree(script_location("tenant"), copy)
    source = BENCH_REVISION_FILE.format(revision=BENCH_REVISION, down_revision=head_revision("tenant"))
    (copy / "versions" / f"{BENCH_REVISION}.py").write_text(source)
    return copy


def schemas_with_bench_column(refs: list[TenantRef]) -> int:
    """How many tenants see the new column in their own schema, each asked on its own login."""
    found = 0
    for ref in refs:
        with tenant_pools().engine_for(ref).connect() as connection:
            found += connection.execute(
                text(
                    "SELECT count(*) FROM information_schema.columns WHERE table_name = 'contacts' "
                    "AND column_name = 'bench_score' AND table_schema = :schema"
                ),
                {"schema": ref.schema_name},
            ).scalar_one()
    return found


# django-tenants 4.0.1 (Django 5.2, same PostgreSQL), column + index, by processes: issue 26's run.
DJANGO_TENANTS_MS_PER_TENANT = {1: 106, 2: 44}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument(
        "--jobs", type=int, default=2, help="parallel processes (saas tenants migrate --jobs)"
    )
    parser.add_argument("--keep", action="store_true", help="leave the bench tenants in place afterwards")
    args = parser.parse_args()

    app = create_app()
    with app.app_context():
        upgrade_platform(db.engine)
        leftovers = purge_bench_tenants()
        if leftovers:
            print(f"purged {leftovers} tenants left by an earlier run", file=sys.stderr)

        refs, provision_seconds = provision(args.tenants)
        product_head = head_revision("tenant")

        with tempfile.TemporaryDirectory(prefix="tenant-history-") as folder:
            os.environ["SAAS_TENANT_MIGRATIONS_DIR"] = str(history_with_bench_revision(Path(folder)))
            try:
                started = time.perf_counter()
                results = migrate_all_tenants(refs, jobs=args.jobs)
                total = time.perf_counter() - started
                record_versions(db.session, results)
                db.session.commit()
                versions = read_schema_versions(refs)
            finally:
                del os.environ["SAAS_TENANT_MIGRATIONS_DIR"]

        per_tenant = [r.seconds for r in results]
        cuts = statistics.quantiles(per_tenant, n=100, method="inclusive")
        migrated = sum(r.status == "upgraded" for r in results)
        failed = [r for r in results if r.status == "failed"]
        at_bench_head = sum(version == BENCH_REVISION for version in versions.values())
        with_column = schemas_with_bench_column(refs)
        skipped = len(refs) - len(results) + sum(r.status == "current" for r in results)

        print(f"tenants:                 {len(refs)} (provisioned in {provision_seconds:.1f} s)")
        print(f"revision:                {product_head} -> {BENCH_REVISION} (add column + index on contacts)")
        print(f"jobs:                    {args.jobs}")
        print(
            f"total migrate time:      {total:.2f} s  ({total / len(refs) * 1000:.1f} ms per tenant overall)"
        )
        print(
            f"per-tenant p50 / p95:    {cuts[49] * 1000:.1f} ms / {cuts[94] * 1000:.1f} ms (in its process)"
        )
        print(f"migrated:                {migrated}")
        print(f"failed:                  {len(failed)}")
        print(f"skipped:                 {skipped}")
        print(f"schemas at {BENCH_REVISION}:  {at_bench_head}; with the new column: {with_column}")
        django_ms = DJANGO_TENANTS_MS_PER_TENANT.get(args.jobs)
        if django_ms is None:
            print(f"baseline: no django-tenants figure for {args.jobs} processes (measured: 1 and 2)")
        else:
            print(
                f"baseline (django-tenants in {args.jobs} process(es), issue 26's run): "
                f"{django_ms} ms/tenant, "
                f"~{django_ms * len(refs) / 1000:.0f} s for {len(refs)} tenants"
            )
        ours_ms = total / len(refs) * 1000
        summary(
            f"migrate {len(refs)} tenants, {args.jobs} jobs (ms/tenant)", "< 10 ms (1,000 in < 10 s)",
            ours_ms, django_ms, ours_ms / django_ms if django_ms else None,
        )  # fmt: skip
        for result in failed[:10]:
            print(f"  FAILED {result.slug}: {result.error}")

        if not args.keep:
            started = time.perf_counter()
            purge_bench_tenants()
            print(
                f"cleanup: purged {len(refs)} tenants in {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
            )

        ok = not failed and skipped == 0 and at_bench_head == with_column == len(refs)
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
