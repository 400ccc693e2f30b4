"""API list requests across many tenants: tenant logins (per-tenant pools) against the old shared pool.

Provisions ``--tenants`` workspaces (1,000 by default; kept between runs in instance/bench-pools), each
with a few contacts and an API token, then times ``GET /api/v1/contacts`` through the app (in-process
test client, one request at a time) in three runs over the same tenants and the same code:

- **cold**: round-robin over every tenant with the product's pools (``TENANT_POOL_MAX_CONNECTIONS``,
  default 20): the LRU cannot hold them all, so each request logs in anew (SCRAM) as its tenant;
- **warm**: round-robin over as many tenants as the cap holds, so every request finds its pooled login;
- **shared (baseline)**: the same two runs (every tenant, then the warm set) on the code's former model,
  one shared pool of the platform user with ``SET LOCAL ROLE`` + ``search_path`` per transaction. The
  bench grants the platform user membership in the tenant roles for this run only (that is what made
  the old model unsafe) and revokes it afterwards.

Only 200 answers count; connections PostgreSQL holds are read from ``pg_stat_activity`` after each run.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import time
from pathlib import Path

os.environ.setdefault(
    "SAAS_INSTANCE_DIR", str(Path(__file__).resolve().parent.parent / "instance" / "bench-pools")
)
os.environ.setdefault("SAAS_ENV", "test")

from figures import percentile  # bench/ is on the path when a bench runs
from sqlalchemy import event, select, text

from saas import create_app
from saas.auth.models import Membership, User
from saas.auth.passwords import hash_password
from saas.auth.services import create_api_token
from saas.db import TENANT_SCHEMA_PLACEHOLDER, TenantRef, db
from saas.migrations import upgrade_platform
from saas.sql import quote_identifier
from saas.tenant_connections import TenantPools
from saas.tenants.models import Tenant
from saas.tenants.provisioning import create_tenant_tables
from saas.tenants.roles import create_tenant_role, release_tenant_role

PREFIX = "bench-pools"
EMAIL = "bench-pools@example.com"


def _bench_user() -> User:
    user = db.session.scalar(select(User).where(User.email == EMAIL))
    if user is None:
        user = User(email=EMAIL, password_hash=hash_password(secrets.token_urlsafe(16)), is_active_flag=True)
        db.session.add(user)
        db.session.commit()
    return user


def _add_tenant(user: User, number: int) -> None:
    """Provisioning's own steps (role, schema, tables, owner) without the argon2 of a new admin."""
    tenant_id = secrets.token_hex(6)
    ref = TenantRef(tenant_id, f"{PREFIX}-{number}", f"t_{tenant_id}", f"t_{tenant_id}")
    connection = db.session.connection()
    create_tenant_role(connection, ref)
    version = create_tenant_tables(connection, ref)
    connection.exec_driver_sql(
        "INSERT INTO contacts (id, first_name, last_name, email, created_at, updated_at) "
        "SELECT gen_random_uuid(), 'Ada' || n, 'Lovelace', 'ada' || n || '@example.org', now(), now() "
        "FROM generate_series(1, 10) n"
    )
    release_tenant_role(connection, ref)
    db.session.add(
        Tenant(
            id=ref.id,
            slug=ref.slug,
            name=ref.slug,
            schema_name=ref.schema_name,
            role_name=ref.role_name,
            status="active",
            schema_version=version,
        )
    )
    db.session.flush()
    db.session.add(Membership(user_id=user.id, tenant_id=ref.id, role="owner"))
    db.session.commit()


def tenants_with_tokens(count: int) -> list[tuple[TenantRef, str]]:
    user = _bench_user()
    have = db.session.scalar(
        select(db.func.count()).select_from(Tenant).where(Tenant.slug.like(f"{PREFIX}-%"))
    )
    started = time.perf_counter()
    for number in range(have, count):
        _add_tenant(user, number)
    if count > have:
        print(f"provisioned {count - have} tenants in {time.perf_counter() - started:.0f} s")
    tenants = db.session.scalars(select(Tenant).where(Tenant.slug.like(f"{PREFIX}-%")).order_by(Tenant.slug))
    refs = [tenant.ref for tenant in tenants][:count]
    tokens = [create_api_token(db.session, ref.slug, EMAIL, "bench")[1] for ref in refs]
    db.session.commit()
    return list(zip(refs, tokens, strict=True))


def server_connections() -> int:
    with db.engine.connect() as connection:
        return connection.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        ).scalar()


def timed_round_robin(client, tenants: list[tuple[TenantRef, str]], rounds: int) -> tuple[list[float], int]:
    samples: list[float] = []
    failed = 0
    for _ in range(rounds):
        for _ref, token in tenants:
            started = time.perf_counter()
            response = client.get("/api/v1/contacts?limit=10", headers={"Authorization": f"Bearer {token}"})
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code == 200 and len(response.get_json()["data"]) == 10:
                samples.append(elapsed)
            else:
                failed += 1
    return samples, failed


class SharedPool:
    """The former model for the baseline: the platform user's pool, ``SET LOCAL ROLE`` per transaction."""

    def __init__(self, engine) -> None:
        self.engine = engine
        event.listen(engine, "begin", self._enter_tenant)

    def engine_for(self, tenant: TenantRef):
        return self.engine.execution_options(
            schema_translate_map={TENANT_SCHEMA_PLACEHOLDER: tenant.schema_name}, bench_tenant=tenant
        )

    @staticmethod
    def _enter_tenant(connection) -> None:
        tenant = connection.get_execution_options().get("bench_tenant")
        if tenant is not None:
            connection.exec_driver_sql(
                f"SET LOCAL ROLE {quote_identifier(tenant.role_name)}; "
                f"SET LOCAL search_path TO {quote_identifier(tenant.schema_name)}"
            )

    def close(self) -> None:
        event.remove(self.engine, "begin", self._enter_tenant)


def _grant_platform_user(refs: list[TenantRef], grant: bool) -> None:
    verb = "GRANT {role} TO CURRENT_USER" if grant else "REVOKE {role} FROM CURRENT_USER"
    with db.engine.begin() as connection:
        for ref in refs:
            connection.exec_driver_sql(verb.format(role=quote_identifier(ref.role_name)))


def report(name: str, samples: list[float], failed: int, connections: int) -> float:
    p50 = statistics.median(samples)
    print(
        f"{name:<34} {len(samples):>6} ok {failed:>3} failed   p50 {p50:6.2f} ms   "
        f"p95 {percentile(samples, 95):6.2f} ms   PostgreSQL connections after: {connections}"
    )
    return p50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    app = create_app()
    app.config.update(TESTING=True)
    with app.app_context():
        upgrade_platform(db.engine)
        tenants = tenants_with_tokens(args.tenants)
        refs = [ref for ref, _ in tenants]
        pools: TenantPools = app.extensions["tenant_pools"]
        cap = pools.settings.max_connections
        client = app.test_client()
        print(
            f"{len(tenants)} tenants, {args.rounds} rounds each, TENANT_POOL_MAX_CONNECTIONS={cap}, "
            f"TENANT_POOL_SIZE={pools.settings.per_tenant}, platform pool size "
            f"{db.engine.pool.size()}; GET /api/v1/contacts?limit=10 through the app, one at a time"
        )

        timed_round_robin(client, tenants[:5], 1)  # imports, first compilations
        cold = report(
            f"tenant logins, {len(tenants)} round-robin",
            *timed_round_robin(client, tenants, args.rounds),
            server_connections(),
        )
        working_set = tenants[:cap]
        timed_round_robin(client, working_set, 1)
        warm = report(
            f"tenant logins, {len(working_set)} warm round-robin",
            *timed_round_robin(client, working_set, max(args.rounds, len(tenants) // len(working_set))),
            server_connections(),
        )
        pools.dispose()

        _grant_platform_user(refs, grant=True)
        shared = SharedPool(db.engine)
        app.extensions["tenant_pools"] = shared
        try:
            timed_round_robin(client, tenants[:5], 1)
            baseline = report(
                f"shared pool + SET ROLE, {len(tenants)} r-r",
                *timed_round_robin(client, tenants, args.rounds),
                server_connections(),
            )
            timed_round_robin(client, working_set, 1)
            baseline_warm = report(
                f"shared pool + SET ROLE, {len(working_set)} r-r",
                *timed_round_robin(client, working_set, max(args.rounds, len(tenants) // len(working_set))),
                server_connections(),
            )
        finally:
            app.extensions["tenant_pools"] = pools
            shared.close()
            _grant_platform_user(refs, grant=False)
        print(
            f"p50 against the shared pool over the same tenants: cold {cold / baseline:.2f}x, "
            f"warm {warm / baseline_warm:.2f}x (1.00 = as fast; above: slower)"
        )


if __name__ == "__main__":
    main()
