"""HTTP load on the real stack: gunicorn serving wsgi:app, GET /api/v1/contacts with bearer tokens.

Seeds N tenants x M contacts (tenants through ``provision_tenant``, tokens through
``create_api_token``, contacts with COPY), starts gunicorn with the repository's gunicorn.conf.py on
127.0.0.1 only, and drives it with a bounded thread + http.client load (count and time). The same
load then runs against a bare Flask app that does the same query on the same kind of connection (one
that logged in as the tenant's own role, whose search_path is its schema, from the same per-tenant
pools with the same limits; no auth, no ORM, no logging or metrics) under the same gunicorn settings:
the ceiling. Both are served at once and loaded in alternating rounds (`--rounds`), so a burst
of other work on the machine falls on both alike. Prints rps, p50/p95/p99 and errors of both and their ratio.

Only 200 answers carrying a page count; the app gets limits of its own far above the load (the test
limits made most answers 429 once), and any other answer fails the run with no ratio printed. The
clients run in several processes so that the client is not the bottleneck.

    .venv/bin/python bench/load.py [--tenants 100] [--contacts 10000] [--seconds 20] [--fresh]
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault(
    "SAAS_INSTANCE_DIR", str(Path(__file__).resolve().parent.parent / "instance" / "bench-load")
)
os.environ.setdefault("SAAS_ENV", "test")

from connection_budget import tenant_connection_budget
from figures import summary  # bench/ is on the path when a bench runs
from flask import Flask, jsonify, request
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from saas import create_app
from saas.auth.services import create_api_token
from saas.config import Settings
from saas.db import TENANT_SCHEMA_PLACEHOLDER, TenantRef, db, tenant_pools
from saas.migrations import upgrade_platform
from saas.modules.core.models import Contact
from saas.tenant_connections import TenantConnectionSettings, TenantPools
from saas.tenants.models import Tenant
from saas.tenants.provisioning import provision_tenant, purge_tenant

REPO = Path(__file__).resolve().parent.parent
SLUG_PREFIX = "loadbench-"
ADMIN_EMAIL = "loadbench-owner@example.com"
ADMIN_PASSWORD = "loadbench-password-1"
PAGE_SIZE = 50
FIRST_NAMES = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim"]
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman"]
_BARE_BEARER = re.compile(r"^(t_([0-9a-f]{12})):([0-9]+)$")
# Tenant roles' passwords derive from this key; the bench's process and both gunicorns must share it.
BENCH_TENANT_DB_SECRET_KEY = "load-bench-tenant-logins"


# --- the ceiling: bare Flask and the same query, served by gunicorn as `load:create_bare_app()` ---


def create_bare_app() -> Flask:
    """Flask plus one SQL query on a connection logged in as the tenant's role (its search_path is its
    schema), from per-tenant pools built as the app builds them; the bearer is ``<schema>:<login version>``.
    """
    settings = Settings.from_environment()
    pools = TenantPools(
        TenantConnectionSettings.from_settings(settings, os.environ["DATABASE_URL"]),
        TENANT_SCHEMA_PLACEHOLDER,
    )
    app = Flask("bare")

    @app.get("/api/v1/contacts")
    def contacts():
        bearer = _BARE_BEARER.match(request.headers.get("Authorization", "").removeprefix("Bearer "))
        if bearer is None:
            return {"error": "unknown tenant"}, 401
        schema, tenant_id, version = bearer.groups()
        tenant = TenantRef(
            id=tenant_id, slug=schema, schema_name=schema, role_name=schema, login_version=int(version)
        )
        with pools.engine_for(tenant).begin() as connection:
            rows = connection.execute(
                text(
                    "SELECT id, first_name, last_name, email, phone, title, account_id, notes, "
                    "created_at, updated_at FROM contacts ORDER BY sort_name, id LIMIT :limit"
                ),
                {"limit": PAGE_SIZE + 1},
            ).mappings()
            data = [dict(row) for row in rows]
        return jsonify({"data": data[:PAGE_SIZE], "next_cursor": None})

    return app


# --- seeding ---


def seeded_tenants(contacts: int) -> list[Tenant] | None:
    """The tenants of an earlier run when each still holds exactly ``contacts`` contacts (and its role
    still logs in with this bench's key)."""
    tenants = list(db.session.scalars(select(Tenant).where(Tenant.slug.startswith(SLUG_PREFIX))))
    for tenant in tenants:
        try:
            with tenant_pools().engine_for(tenant.ref).connect() as connection:
                if connection.execute(select(func.count()).select_from(Contact)).scalar_one() != contacts:
                    return None
        except OperationalError:  # made under another key: its login fails
            return None
    return tenants


def seed(count: int, contacts: int) -> list[Tenant]:
    for tenant in list(db.session.scalars(select(Tenant).where(Tenant.slug.startswith(SLUG_PREFIX)))):
        purge_tenant(tenant.id, actor="bench")
    tenants = []
    for index in range(count):
        tenant = provision_tenant(
            f"{SLUG_PREFIX}{index:04d}", f"Load {index}", ADMIN_EMAIL, ADMIN_PASSWORD, actor="bench"
        )
        copy_contacts(tenant.ref, contacts)
        analyze(tenant.ref, "contacts")
        tenants.append(tenant)
        if (index + 1) % 10 == 0:
            print(f"  seeded {index + 1}/{count} tenants", file=sys.stderr, flush=True)
    with db.engine.connect() as connection:  # the platform's own tables (tenants, users, tokens, ...)
        autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
        tables = autocommit.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'platform'"
        ).scalars()
        autocommit.exec_driver_sql("; ".join(f'ANALYZE platform."{table}"' for table in tables))
    return tenants


def analyze(tenant: TenantRef, *tables: str) -> None:
    """ANALYZE tables of a tenant schema, as the tenant's role (the platform user cannot reach them)."""
    with tenant_pools().engine_for(tenant).connect() as connection:
        autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
        autocommit.exec_driver_sql("; ".join(f'ANALYZE "{tenant.schema_name}"."{t}"' for t in tables))


def copy_contacts(tenant: TenantRef, count: int) -> None:
    """Bulk-load contacts with COPY as the tenant's role: seeding is setup, not what the bench measures."""
    raw = tenant_pools().engine_for(tenant).raw_connection()
    try:
        with raw.cursor() as cursor:
            columns = "id, first_name, last_name, email, title"
            with cursor.copy(f'COPY "{tenant.schema_name}".contacts ({columns}) FROM STDIN') as copy:
                for i in range(count):
                    first, last = FIRST_NAMES[i % len(FIRST_NAMES)], LAST_NAMES[(i // 7) % len(LAST_NAMES)]
                    email = f"{first.lower()}.{last.lower()}.{i}@example.com"
                    copy.write_row((uuid.uuid4(), first, f"{last}{i:06d}", email, "Engineer"))
        raw.commit()
    finally:
        raw.close()


# --- serving and load ---


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(
    target: str, env: dict[str, str], workers: int, threads: int, log: Path | None = None
) -> tuple[subprocess.Popen, int]:
    """gunicorn serving ``target`` on a free loopback port, once it listens; its output goes to ``log``."""
    port = free_loopback_port()
    env = {
        **os.environ,
        **env,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_THREADS": str(threads),
        "DB_POOL_SIZE": str(threads),
    }
    command = [sys.executable, "-m", "gunicorn", target, "-c", str(REPO / "gunicorn.conf.py")]
    command += ["--pythonpath", str(REPO / "bench")]
    output = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (the child keeps it)
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=output, stderr=output)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn {target} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"gunicorn {target} did not listen within 60 s")


@dataclass
class LoadResult:
    """Latencies of successful (200 with a page of contacts) answers only; every other answer is a failure."""

    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    seconds: float = 0.0
    failure_samples: list[str] = field(default_factory=list)

    def merge(self, other: LoadResult) -> None:
        self.latencies += other.latencies
        self.failures += other.failures
        self.failure_samples += other.failure_samples[:3]


def _client_process(
    port: int, bearers: list[str], seconds: float, threads: int, max_requests: int, seed: int
) -> LoadResult:
    """One client process: ``threads`` keep-alive clients until ``seconds`` pass or ``max_requests``."""
    result = LoadResult()
    lock = threading.Lock()
    budget = iter(range(max_requests))
    deadline = time.monotonic() + seconds

    def client(thread_seed: int) -> None:
        chooser = random.Random(thread_seed)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = LoadResult()
        while time.monotonic() < deadline:
            with lock:
                if next(budget, None) is None:
                    break
            headers = {"Authorization": f"Bearer {chooser.choice(bearers)}"}
            started = time.perf_counter()
            try:
                connection.request("GET", f"/api/v1/contacts?limit={PAGE_SIZE}", headers=headers)
                response = connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as error:
                mine.failures += 1
                mine.failure_samples.append(repr(error))
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            elapsed = time.perf_counter() - started
            if response.status == 200 and b'"id"' in body:  # a 200 with an empty page is wrong too
                mine.latencies.append(elapsed)
            else:  # 429, 5xx, 401...: never counted as served
                mine.failures += 1
                mine.failure_samples.append(f"{response.status} {body[:120]!r}")
        connection.close()
        with lock:
            result.merge(mine)

    pool = [threading.Thread(target=client, args=(seed * 1000 + i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return result


def run_load(
    port: int, bearers: list[str], *, seconds: float, concurrency: int, processes: int, max_requests: int
) -> LoadResult:
    """``concurrency`` keep-alive clients spread over ``processes`` client processes, so the client's
    own GIL is not what limits the figure."""
    per_process = [concurrency // processes + (i < concurrency % processes) for i in range(processes)]
    started = time.monotonic()
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [
            pool.submit(_client_process, port, bearers, seconds, n, max_requests // processes, i)
            for i, n in enumerate(per_process)
            if n
        ]
        result = LoadResult()
        for future in futures:
            result.merge(future.result())
    result.seconds = time.monotonic() - started
    return result


@dataclass(frozen=True)
class Figures:
    rps: float
    p50_ms: float
    p95_ms: float


def report(label: str, result: LoadResult) -> Figures:
    count = len(result.latencies)
    rps = count / result.seconds if result.seconds else 0.0
    cuts = statistics.quantiles(result.latencies, n=100, method="inclusive") if count > 1 else [0.0] * 99
    print(
        f"{label:<28} ok {count:>7}  failed {result.failures:>4}  rps {rps:>8.1f}  "
        f"p50 {cuts[49] * 1000:6.1f} ms  p95 {cuts[94] * 1000:6.1f} ms  p99 {cuts[98] * 1000:6.1f} ms"
    )
    for sample in result.failure_samples[:5]:
        print(f"  failure: {sample}")
    return Figures(rps, cuts[49] * 1000, cuts[94] * 1000)


def measure(targets: dict[str, tuple[str, dict[str, str], list[str]]], args: argparse.Namespace) -> dict:
    """Serve every target at once and load them in turns (``--rounds`` of ``seconds / rounds`` each):
    another engineer's burst on this shared machine then lands on both sides alike, not on one."""
    served = {}
    try:
        for name, (target, env, _) in targets.items():
            served[name] = start_gunicorn(target, env, args.workers, args.threads)
        load = {"concurrency": args.concurrency, "processes": args.client_processes}
        results = {name: LoadResult() for name in targets}
        for name, (_, port) in served.items():  # warm-up: pools, caches, imports
            run_load(port, targets[name][2], seconds=3, max_requests=600, **load)
        per_round = args.seconds / args.rounds
        for _ in range(args.rounds):
            for name, (_, port) in served.items():
                cap = args.max_requests // args.rounds
                one = run_load(port, targets[name][2], seconds=per_round, max_requests=cap, **load)
                results[name].merge(one)
                results[name].seconds += one.seconds
        return results
    finally:
        for process, _ in served.values():
            process.terminate()
            process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--contacts", type=int, default=10_000, help="contacts per tenant")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured time per target")
    parser.add_argument("--rounds", type=int, default=4, help="turns the targets take, alternating")
    parser.add_argument("--max-requests", type=int, default=200_000, help="request cap per target")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients in all")
    parser.add_argument("--client-processes", type=int, default=2, help="client processes they run in")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per process")
    parser.add_argument("--fresh", action="store_true", help="re-seed even if an earlier run's data fits")
    args = parser.parse_args()

    # Tenant roles' passwords derive from this key: this process and both gunicorns use the same one.
    os.environ.setdefault("TENANT_DB_SECRET_KEY", BENCH_TENANT_DB_SECRET_KEY)
    app = create_app()
    with app.app_context():
        upgrade_platform(db.engine)
        started = time.perf_counter()
        tenants = None if args.fresh else seeded_tenants(args.contacts)
        if tenants is None or len(tenants) != args.tenants:
            tenants = seed(args.tenants, args.contacts)
            seconds = time.perf_counter() - started
            print(f"seeded {args.tenants} tenants x {args.contacts} contacts in {seconds:.1f} s")
        else:
            print(f"reusing {len(tenants)} tenants x {args.contacts} contacts from an earlier run")
        tokens = []
        for tenant in tenants:
            tokens.append(create_api_token(db.session, tenant.slug, ADMIN_EMAIL, "load bench")[1])
        db.session.commit()
        bare_bearers = [f"{tenant.schema_name}:{tenant.db_login_version}" for tenant in tenants]
        services = {
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": app.config["REDIS_URL"],
            "SECRET_KEY": "load-bench-secret",
            "TENANT_DB_SECRET_KEY": os.environ["TENANT_DB_SECRET_KEY"],
            "SAAS_ENV": "production",
            # The bench's own limits, far above what it can send: a 429 would be a failed run, not a figure.
            "API_RATE_LIMIT_PER_TOKEN": "100000000/minute",
            "API_RATE_LIMIT_PER_IP": "100000000/minute",
            # No worker recycling mid-run: a restart costs the app (imports, pools) more than the bare app.
            "GUNICORN_MAX_REQUESTS": "0",
            # Both gunicorns' workers at once within max_connections: refusals would be measured, not speed.
            "TENANT_POOL_MAX_CONNECTIONS": str(
                tenant_connection_budget(2 * args.workers, tenant_pools().settings.max_connections)
            ),
        }

    print(f"load average before the run: {os.getloadavg()}")
    print(
        f"load: {args.concurrency} clients in {args.client_processes} processes, {args.seconds:.0f} s or "
        f"{args.max_requests} requests per target in {args.rounds} alternating rounds;\n"
        f"  gunicorn {args.workers} workers x {args.threads} "
        f"threads on 127.0.0.1; GET /api/v1/contacts?limit={PAGE_SIZE}; only 200s with a page count"
    )
    # The ceiling gets the app's environment too, so its tenant pools have the same URL, key and limits.
    results = measure(
        {"app": ("wsgi:app", services, tokens), "bare": ("load:create_bare_app()", services, bare_bearers)},
        args,
    )
    app_result, bare_result = results["app"], results["bare"]
    app = report("app (gunicorn wsgi:app)", app_result)
    bare = report("ceiling (bare Flask+query)", bare_result)
    print(f"load average after the run: {os.getloadavg()}")
    if app_result.failures or bare_result.failures:
        # A ratio over failed answers means nothing: say so loudly and print none.
        print(f"FAILED: {app_result.failures} app and {bare_result.failures} ceiling answers were not 200")
        sys.exit(1)
    ratio = app.rps / bare.rps if bare.rps else 0.0
    print(f"ratio app / ceiling: {ratio:.2f}")
    summary("API list throughput over HTTP (req/s)", ">= 0.6x bare", app.rps, bare.rps, ratio)
    p95_ratio = app.p95_ms / bare.p95_ms if bare.p95_ms else None
    summary("API list p95 over HTTP, 8 clients (ms)", "< 30 ms", app.p95_ms, bare.p95_ms, p95_ratio)


if __name__ == "__main__":
    main()
