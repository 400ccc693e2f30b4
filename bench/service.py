"""The service module at 50k tickets and 10k knowledge base articles in one tenant.

Prints p50/p95 (ms) of the ticket views and the knowledge base search through the API, each against
a baseline in the same run: the views against the bare SQL the app sent (captured from the tenant's engine,
run on a raw connection of that engine: logged in as the tenant's role, whose search_path is its
schema), the full-text search against the ILIKE scan a search box without the GIN index would do
(on the same raw connection; it finds every match, then takes the page). Then one run of the SLA
breach job over every ticket (about a tenth of them late) and the cost of the business-hours
arithmetic per call.

    .venv/bin/python bench/service.py [--tickets 50000] [--articles 10000] [--repeat 100]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault(
    "SAAS_INSTANCE_DIR", str(Path(__file__).resolve().parent.parent / "instance" / "bench-service")
)
os.environ.setdefault("SAAS_ENV", "test")

from figures import percentile, summary, timed  # bench/ is on the path when a bench runs
from sqlalchemy import event, select

from saas import create_app
from saas.auth.services import create_api_token
from saas.db import db, tenant_pools, tenant_session
from saas.migrations import upgrade_platform
from saas.modules.service import sla
from saas.modules.service.business_hours import (
    BusinessCalendar,
    add_business_minutes,
    business_minutes_between,
)
from saas.tenants.models import Tenant
from saas.tenants.provisioning import provision_tenant, purge_tenant

SLUG = "bench-service"
ADMIN_EMAIL = "bench-service@example.com"
ADMIN_PASSWORD = "bench-service-password-1"
WORDS = ("printer", "invoice", "login", "password", "vpn", "refund", "shipping", "account", "export",
         "billing", "report", "sync")  # fmt: skip


def seed(tenant: Tenant, tickets: int, articles: int) -> None:
    """Rows made by the database itself (generate_series): statuses, priorities, due times spread out.

    Logged in as the tenant's role: the platform user cannot write (or read) a tenant schema."""
    words = "ARRAY[" + ",".join(f"'{w}'" for w in WORDS) + "]"
    schema = tenant.schema_name
    engine = tenant_pools().engine_for(tenant.ref)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f'INSERT INTO "{schema}".tickets (id, subject, description, status, priority, channel, tags, '
            "sla_elapsed_minutes, sla_running_since, first_response_due_at, resolution_due_at, "
            "first_response_breached, resolution_breached, created_at, updated_at) "
            "SELECT gen_random_uuid(), 'Ticket ' || i || ' about ' || (" + words + ")[1 + mod(i, 12)], "
            "'Customer writes about ' || (" + words + ")[1 + mod(i * 7, 12)], "
            "(ARRAY['new','open','pending_customer','solved','closed'])[1 + mod(i, 5)], "
            "(ARRAY['low','normal','high','urgent'])[1 + mod(i, 4)], 'email', '[]', 0, now(), "
            "now() + (mod(i, 200) - 20) * interval '1 hour', "
            "now() + (mod(i, 400) - 40) * interval '1 hour', "
            "false, false, now() - i * interval '1 minute', now() FROM generate_series(1, %(n)s) AS i",
            {"n": tickets},
        )
        connection.exec_driver_sql(
            f'INSERT INTO "{schema}".kb_articles (id, title, body, status, created_at, updated_at) '
            "SELECT gen_random_uuid(), 'How to fix ' || (" + words + ")[1 + mod(i, 12)] || ' problem ' || i, "
            "repeat('Step by step guide about ' || ("
            + words
            + ")[1 + mod(i * 5, 12)] || ' settings. ', 20), "
            "'published', now(), now() FROM generate_series(1, %(n)s) AS i",
            {"n": articles},
        )
    with engine.connect() as connection:
        auto = connection.execution_options(isolation_level="AUTOCOMMIT")
        auto.exec_driver_sql(f'ANALYZE "{schema}".tickets; ANALYZE "{schema}".kb_articles')


class StatementCapture:
    def __init__(self, table: str) -> None:
        self.table, self.statement = table, None

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if f".{self.table}" in statement and "LIMIT" in statement:
            self.statement = (statement, parameters)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=50_000)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=100)
    args = parser.parse_args()
    app = create_app()
    with app.app_context():
        upgrade_platform(db.engine)
        old = db.session.scalar(select(Tenant).where(Tenant.slug == SLUG))
        if old is not None:
            purge_tenant(old.id, actor="bench")
        tenant = provision_tenant(SLUG, "Bench service", ADMIN_EMAIL, ADMIN_PASSWORD, actor="bench")
        started = time.perf_counter()
        seed(tenant, args.tickets, args.articles)
        seconds = time.perf_counter() - started
        print(
            f"seeded {args.tickets:,} tickets, {args.articles:,} articles in {seconds:.1f} s", file=sys.stderr
        )
        _, secret = create_api_token(db.session, SLUG, ADMIN_EMAIL, "bench")
        db.session.commit()
        headers = {"Authorization": f"Bearer {secret}"}
        client = app.test_client()
        # The app's requests for the tenant run on this engine (one pool, logged in as the tenant's role);
        # the baselines run on a raw connection of it: the tenant's login and schema, nothing else.
        engine = tenant_pools().engine_for(tenant.ref)
        raw = engine.raw_connection()
        raw.driver_connection.autocommit = True

        rows = []
        for label, url in (
            ("tickets, all, first page", "/api/v1/tickets?limit=50"),
            ("tickets, unassigned", "/api/v1/tickets?view=unassigned&limit=50"),
            ("tickets, breaching soon", "/api/v1/tickets?view=breaching&limit=50"),
            ("tickets, most urgent first", "/api/v1/tickets?sort=-priority&limit=50"),
            ("tickets, resolution due first", "/api/v1/tickets?sort=resolution_due_at&limit=50"),
            ("contacts (core; reference)", "/api/v1/contacts?limit=50"),
        ):
            capture = StatementCapture("contacts" if "contacts" in url else "tickets")
            event.listen(engine, "before_cursor_execute", capture)
            response = client.get(url, headers=headers)
            event.remove(engine, "before_cursor_execute", capture)
            assert response.status_code == 200, response.get_json()
            statement, parameters = capture.statement

            def through_app(url: str = url) -> None:
                assert client.get(url, headers=headers).status_code == 200

            def bare_sql(statement: str = statement, parameters: object = parameters) -> None:
                with raw.driver_connection.cursor() as cursor:
                    cursor.execute(statement, parameters).fetchall()

            rows.append((label, len(response.get_json()["data"]), timed(through_app, args.repeat, warmup=3),
                         "bare SQL", timed(bare_sql, args.repeat, warmup=3)))  # fmt: skip

        search_url = "/api/v1/kb/articles?q=vpn+settings"
        found = client.get(search_url, headers=headers).get_json()["data"]

        def ilike_scan() -> None:
            # Every match is found, then the page taken: ``ORDER BY id LIMIT 20`` alone let PostgreSQL walk
            # the primary key and stop at the 20th match, a scan faster than the index it is to justify.
            with raw.driver_connection.cursor() as cursor:
                cursor.execute(
                    "WITH matches AS MATERIALIZED (SELECT id FROM kb_articles WHERE status = 'published' "
                    "AND (title ILIKE %s OR body ILIKE %s) AND (title ILIKE %s OR body ILIKE %s)) "
                    "SELECT id FROM matches ORDER BY id LIMIT 20",
                    ("%vpn%", "%vpn%", "%settings%", "%settings%"),
                ).fetchall()

        rows.append(("kb full-text search (API)", len(found),
                     timed(lambda: client.get(search_url, headers=headers), args.repeat, warmup=3),
                     "ILIKE scan", timed(ilike_scan, args.repeat, warmup=3)))  # fmt: skip
        # Back into the pool as the tenant's sessions expect it (the breach job below may get it).
        raw.driver_connection.autocommit = False
        raw.close()

        started = time.perf_counter()
        with tenant_session(tenant.ref) as session:
            first = sla.mark_breaches(session)
        first_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        with tenant_session(tenant.ref) as session:
            sla.mark_breaches(session)
        again_ms = (time.perf_counter() - started) * 1000

    calendar = BusinessCalendar(timezone="Europe/Berlin", holidays=frozenset())
    start = datetime(2026, 11, 20, 15, 17, tzinfo=UTC)
    adding = timed(lambda: add_business_minutes(calendar, start, 4800), 2000, warmup=3)
    add_us = statistics.median(adding) * 1000
    end = start + timedelta(days=30)
    between = timed(lambda: business_minutes_between(calendar, start, end), 2000, warmup=3)
    between_us = statistics.median(between) * 1000

    print(f"service module, {args.tickets:,} tickets and {args.articles:,} articles in one tenant; "
          f"{args.repeat} requests per case (ms)")  # fmt: skip
    print(
        f"{'case':<30} {'rows':>5} {'app p50':>8} {'app p95':>8}   "
        f"{'baseline':<10} {'p50':>8} {'p95':>8} {'ratio':>7}"
    )
    for label, count, app_ms, baseline, base_ms in rows:
        app50, base50 = statistics.median(app_ms), statistics.median(base_ms)
        summary(f"service: {label} p50 (ms)", f"vs {baseline}", app50, base50, app50 / base50)
        print(f"{label:<30} {count:>5} {app50:>8.2f} {percentile(app_ms, 95):>8.2f}   {baseline:<10} "
              f"{base50:>8.2f} {percentile(base_ms, 95):>8.2f} {app50 / base50:>6.1f}x")  # fmt: skip
    print(
        f"breach job over {args.tickets:,} tickets: flagged {first['first_response']:,} first-response and "
        f"{first['resolution']:,} resolution breaches in {first_ms:,.0f} ms; "
        f"second run (nothing new) {again_ms:,.0f} ms"
    )
    print(
        f"business hours: add 4800 min (10 working days) {add_us:.1f} µs; "
        f"minutes over 30 days {between_us:.1f} µs"
    )


if __name__ == "__main__":
    main()
