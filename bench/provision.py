"""Provisioning speed: 50 tenants through ``provision_tenant`` versus replaying the Alembic history.

Prints p50/p95 of the full provisioning (role, schema, tables, stamp, registry rows, owner, audit;
argon2 hashing of the admin password included) and of its schema part alone, then the p50 of
building the same schema by replaying every tenant migration from base, and the ratio.

    SAAS_INSTANCE_DIR=instance/bench .venv/bin/python bench/provision.py [--tenants 50]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import time
from pathlib import Path

os.environ.setdefault("SAAS_INSTANCE_DIR", str(Path(__file__).resolve().parent.parent / "instance" / "bench"))
os.environ.setdefault("SAAS_ENV", "test")

from figures import percentile  # bench/ is on the path when a bench runs

from saas import create_app
from saas.db import TenantRef, db
from saas.migrations import upgrade_platform
from saas.tenants.migrations import migrate_tenant
from saas.tenants.provisioning import create_tenant_tables, provision_tenant, purge_tenant


def new_schema_and_role(connection) -> TenantRef:
    tenant_id = secrets.token_hex(6)
    ref = TenantRef(
        id=tenant_id, slug=f"bench-{tenant_id}", schema_name=f"t_{tenant_id}", role_name=f"t_{tenant_id}"
    )
    connection.exec_driver_sql(
        f'CREATE ROLE "{ref.role_name}" NOLOGIN; GRANT "{ref.role_name}" TO CURRENT_USER; '
        f'CREATE SCHEMA "{ref.schema_name}" AUTHORIZATION "{ref.role_name}"'
    )
    return ref


def drop(refs: list[TenantRef]) -> None:
    for ref in refs:  # one transaction each: dropping many schemas at once exhausts the lock table
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                f'DROP OWNED BY "{ref.role_name}" CASCADE; DROP ROLE "{ref.role_name}"'
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=50)
    args = parser.parse_args()
    app = create_app()
    with app.app_context():
        upgrade_platform(db.engine)
        run = secrets.token_hex(3)

        full: list[float] = []
        created = []
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
            started = time.perf_counter()
            with db.engine.begin() as connection:
                ref = new_schema_and_role(connection)
                create_tenant_tables(connection, ref)
            from_metadata.append((time.perf_counter() - started) * 1000)
            scratch.append(ref)

            started = time.perf_counter()
            with db.engine.begin() as connection:
                ref = new_schema_and_role(connection)
            result = migrate_tenant(db.engine, ref, target="head")
            replayed.append((time.perf_counter() - started) * 1000)
            assert result.status == "upgraded", result.error
            scratch.append(ref)

        for tenant_id in created:
            purge_tenant(tenant_id, actor="bench")
        drop(scratch)

    p50_full, p95_full = statistics.median(full), percentile(full, 95)
    p50_meta, p95_meta = statistics.median(from_metadata), percentile(from_metadata, 95)
    p50_replay = statistics.median(replayed)
    print(f"tenants: {args.tenants}")
    print(f"provision_tenant (full, incl. argon2 hash): p50 {p50_full:.1f} ms  p95 {p95_full:.1f} ms")
    print(f"schema from metadata (role+schema+tables+stamp): p50 {p50_meta:.1f} ms  p95 {p95_meta:.1f} ms")
    print(f"schema by replaying Alembic history from base:   p50 {p50_replay:.1f} ms")
    print(f"ratio replay/metadata (schema part): {p50_replay / p50_meta:.1f}x")
    print(f"ratio replay/full provision: {p50_replay / p50_full:.2f}x")


if __name__ == "__main__":
    main()
