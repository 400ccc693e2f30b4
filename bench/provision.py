"""Provisioning speed: 50 tenants through ``provision_tenant`` versus replaying the Alembic history.

First the signups as production runs them: each claims a schema the ready pool built beforehand (the
pool is filled before the clock starts, as the worker keeps it filled); the claim alone is timed too.
Then the pool is off and each signup builds its schema. For those it prints p50/p95 of the full
provisioning (role, schema, tables, stamp, registry rows, owner, audit; argon2 hashing of the admin
password included) and of its schema part alone, then the p50 of building the same schema by replaying
every tenant migration from base, and the ratio.

Both schema figures make the role and schema with provisioning's own helpers (``create_tenant_role``,
``release_tenant_role``: a role that logs in, the platform user holding it only inside that
transaction). From metadata, the tables are built in the same transaction, as provisioning does. The
replay commits the role first, then runs ``migrate_tenant`` on a connection that logged in as the new
role (as ``saas tenants migrate`` does); that first login (a SCRAM handshake) is made before its clock
restarts, so the figure is role + schema + replay, like the metadata one.

With ``--against-django-tenants`` the same PostgreSQL then provisions as many tenants with
django-tenants (``bench/django_tenants_side.py``, in a child process) when Django and django-tenants are
importable there: nothing is installed by the bench; see that file for installing them for the bench
only. The ratio printed is django-tenants' p50 over ours, for the full provisioning and the schema part.

    SAAS_INSTANCE_DIR=instance/bench .venv/bin/python bench/provision.py [--tenants 50]
        [--against-django-tenants [--django-path instance/bench-django]]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("SAAS_INSTANCE_DIR", str(Path(__file__).resolve().parent.parent / "instance" / "bench"))
os.environ.setdefault("SAAS_ENV", "test")

from figures import percentile, summary  # bench/ is on the path when a bench runs

from saas import create_app
from saas.db import TenantRef, db, tenant_pools
from saas.migrations import upgrade_platform
from saas.tenants import pool
from saas.tenants.migrations import migrate_tenant
from saas.tenants.provisioning import create_tenant_tables, provision_tenant, purge_tenant
from saas.tenants.roles import create_tenant_role, drop_tenant_role, release_tenant_role


def new_ref() -> TenantRef:
    tenant_id = secrets.token_hex(6)
    return TenantRef(
        id=tenant_id, slug=f"bench-{tenant_id}", schema_name=f"t_{tenant_id}", role_name=f"t_{tenant_id}"
    )


def drop(refs: list[TenantRef]) -> None:
    for ref in refs:  # one transaction each: dropping many schemas at once exhausts the lock table
        tenant_pools().forget_tenant(ref.id)
        with db.engine.begin() as connection:
            drop_tenant_role(connection, ref.role_name)


BENCH = Path(__file__).resolve().parent


def django_tenants_p50(database_url: str, tenants: int, django_path: Path) -> float | None:
    """django-tenants' p50 (ms) on the same PostgreSQL, or None (said why) when it is not importable."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(django_path), str(BENCH)])}
    probe = subprocess.run(
        [sys.executable, "-c", "import django, django_tenants"], env=env, capture_output=True, check=False
    )
    if probe.returncode != 0:
        print(f"django-tenants is not importable (looked in {django_path}): see bench/django_tenants_side.py")
        return None
    # The URL (with the platform password) goes by environment, not on a command line others can list.
    done = subprocess.run(
        [sys.executable, str(BENCH / "django_tenants_side.py"), str(tenants)],
        env={**env, "BENCH_DATABASE_URL": database_url}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"django-tenants side failed:\n{done.stderr[-3000:]}")
    timings = json.loads(done.stdout.strip().splitlines()[-1])["ms"]
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--against-django-tenants", action="store_true")
    parser.add_argument(
        "--django-path", type=Path, default=BENCH.parent / "instance" / "bench-django",
        help="where Django and django-tenants were installed for the bench (pip --target)",
    )  # fmt: skip
    args = parser.parse_args()
    print(f"load average before the run: {os.getloadavg()}")
    app = create_app()
    with app.app_context():
        upgrade_platform(db.engine)
        run = secrets.token_hex(3)

        # Signups that claim a schema the pool built beforehand (outside the clock), as production runs.
        settings = app.config["SAAS_SETTINGS"]
        app.config["SAAS_SETTINGS"] = dataclasses.replace(settings, ready_schema_pool_size=args.tenants)
        pool.refill_pool()
        claim: list[float] = []
        for _ in range(args.tenants):
            started = time.perf_counter()
            assert pool.claim_ready_schema() is not None
            claim.append((time.perf_counter() - started) * 1000)
            db.session.rollback()  # handed back: only the claim itself is timed here
        pooled: list[float] = []
        created = []
        for i in range(args.tenants):
            started = time.perf_counter()
            tenant = provision_tenant(
                f"bench-{run}-p{i}", f"Bench {i}", f"bench-{run}-p{i}@example.com", "bench-password-1"
            )
            pooled.append((time.perf_counter() - started) * 1000)
            created.append(tenant.id)
        app.config["SAAS_SETTINGS"] = dataclasses.replace(settings, ready_schema_pool_size=0)
        pool.drain_pool()  # the refills queued after each claim would otherwise rebuild it

        full: list[float] = []
        for i in range(args.tenants):
            started = time.perf_counter()
            tenant = provision_tenant(
                f"bench-{run}-{i}", f"Bench {i}", f"bench-{run}-{i}@example.com", "bench-password-1"
            )
            full.append((time.perf_counter() - started) * 1000)
            created.append(tenant.id)

        from_metadata: list[float] = []
        replayed: list[float] = []
        scratch: list[TenantRef] = []
        for _ in range(args.tenants):
            ref = new_ref()
            started = time.perf_counter()
            with db.engine.begin() as connection:
                create_tenant_role(connection, ref)
                create_tenant_tables(connection, ref)
                release_tenant_role(connection, ref)
            from_metadata.append((time.perf_counter() - started) * 1000)
            scratch.append(ref)

            ref = new_ref()
            started = time.perf_counter()
            with db.engine.begin() as connection:
                create_tenant_role(connection, ref)
                release_tenant_role(connection, ref)
            role_ms = (time.perf_counter() - started) * 1000
            scratch.append(ref)
            # The new role's first login (and its pool), outside the clock: the metadata path has none.
            tenant_pools().engine_for(ref).connect().close()
            started = time.perf_counter()
            result = migrate_tenant(ref, target="head")
            replayed.append(role_ms + (time.perf_counter() - started) * 1000)
            assert result.status == "upgraded", result.error

        for tenant_id in created:
            purge_tenant(tenant_id, actor="bench")
        drop(scratch)
        database_url = app.config["SQLALCHEMY_DATABASE_URI"]
    django_p50 = None
    if args.against_django_tenants:
        django_p50 = django_tenants_p50(database_url, args.tenants, args.django_path)

    p50_full, p95_full = statistics.median(full), percentile(full, 95)
    p50_meta, p95_meta = statistics.median(from_metadata), percentile(from_metadata, 95)
    p50_replay = statistics.median(replayed)
    p50_pooled, p95_pooled = statistics.median(pooled), percentile(pooled, 95)
    p50_claim = statistics.median(claim)
    print(f"tenants: {args.tenants}")
    print(f"provision_tenant from the ready pool (full): p50 {p50_pooled:.1f} ms  p95 {p95_pooled:.1f} ms")
    print(f"claiming a ready schema (the schema part with the pool): p50 {p50_claim:.2f} ms")
    print(f"provision_tenant building its schema (full): p50 {p50_full:.1f} ms  p95 {p95_full:.1f} ms")
    print(f"schema from metadata (role+schema+tables+stamp): p50 {p50_meta:.1f} ms  p95 {p95_meta:.1f} ms")
    print(f"schema by replaying Alembic history from base:   p50 {p50_replay:.1f} ms")
    print(f"ratio replay/metadata (schema part): {p50_replay / p50_meta:.1f}x")
    print(f"ratio replay/full provision: {p50_replay / p50_full:.2f}x")
    if django_p50 is not None:
        print(f"django-tenants (schema + tenant apps' migrations, no role, no user): p50 {django_p50:.1f} ms")
        full_ratio, schema_ratio = django_p50 / p50_full, django_p50 / p50_meta
        print(f"ratio django-tenants/ours: full {full_ratio:.1f}x, schema part {schema_ratio:.1f}x")
        full_ratio = django_p50 / p50_pooled
        print(f"ratio django-tenants/ours with the pool: full {full_ratio:.1f}x")
    summary("provisioning p50, full, ready pool (ms)", "< 50 ms, >= 5x django-tenants", p50_pooled,
            django_p50, django_p50 / p50_pooled if django_p50 else None)  # fmt: skip
    summary("provisioning p50, schema part, ready pool (ms)", "< 15 ms", p50_claim, django_p50,
            django_p50 / p50_claim if django_p50 else None)  # fmt: skip
    summary("provisioning p50, full, pool empty (ms)", "fallback", p50_full, django_p50,
            django_p50 / p50_full if django_p50 else None)  # fmt: skip
    summary("provisioning p50, schema part, pool empty (ms)", "fallback", p50_meta, django_p50,
            django_p50 / p50_meta if django_p50 else None)  # fmt: skip


if __name__ == "__main__":
    main()
