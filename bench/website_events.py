"""Website activity ingestion: page views per second through the real endpoint, and cost per view.

Posts batches the way the tracking script does (text/plain JSON from a listed origin, ``--batch`` views
each, visitors and visits reused as on a real site) through the app's own request handling (Flask test
client: routing, tenant lookup, switch, origin check, rate limits, parsing, one visitor upsert and one
multi-row INSERT, commit). Baselines in the same run, on a raw connection of the tenant's engine (its role,
its schema): the same rows written by a bare multi-row INSERT per batch, and by one INSERT per view.

    .venv/bin/python bench/website_events.py [--batches 2000] [--batch 10] [--visitors 500]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault(
    "SAAS_INSTANCE_DIR", str(Path(__file__).resolve().parent.parent / "instance" / "bench-website")
)
os.environ.setdefault("SAAS_ENV", "test")

from figures import summary  # bench/ is on the path when a bench runs
from sqlalchemy import insert, select, text

from saas import create_app
from saas.db import db, tenant_pools, tenant_session
from saas.migrations import upgrade_platform
from saas.modules.website import site
from saas.modules.website.models import WebsitePageView, WebsiteVisitor
from saas.tenants.models import Tenant
from saas.tenants.provisioning import provision_tenant, purge_tenant

SLUG = "bench-website"
ORIGIN = "https://www.bench.example"
PATHS = ("/", "/pricing", "/docs", "/blog/launch", "/contact", "/features", "/about")


def batches(count: int, size: int, visitors: int) -> list[dict]:
    """``count`` script batches: each from one of ``visitors`` browsers, in one of its few visits."""
    rng = random.Random(7)
    browsers = [(uuid.uuid4(), [uuid.uuid4() for _ in range(3)]) for _ in range(visitors)]
    made = []
    for _ in range(count):
        visitor, visits = rng.choice(browsers)
        events = [
            {
                "path": rng.choice(PATHS),
                "title": "Bench page",
                "referrer": "https://search.example/",
                "ago": i * 500,
            }
            for i in range(size)
        ]
        made.append({"visitor": str(visitor), "session": str(rng.choice(visits)), "events": events})
    return made


def rows_of(batch: dict, now: datetime) -> list[dict]:
    return [
        {"visitor_id": uuid.UUID(batch["visitor"]), "session_id": uuid.UUID(batch["session"]),
         "occurred_at": now, "path": event["path"], "title": event["title"], "referrer": "https://search.example"}
        for event in batch["events"]
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--visitors", type=int, default=500)
    args = parser.parse_args()
    app = create_app()
    app.config.update(
        WEBSITE_EVENTS_RATE_LIMIT="1000000 per minute", WEBSITE_WORKSPACE_RATE_LIMIT="1000000 per minute"
    )
    with app.app_context():
        upgrade_platform(db.engine)
        old = db.session.scalar(select(Tenant).where(Tenant.slug == SLUG))
        if old is not None:
            purge_tenant(old.id, actor="bench")
        tenant = provision_tenant(
            SLUG, "Bench website", "bench-website@example.com", "bench-website-pw-1", actor="bench"
        )
        db.session.commit()
        with tenant_session(tenant.ref) as session:
            site.update_settings(session, {"origins": [ORIGIN], "retention_days": 90})
        work = batches(args.batches, args.batch, args.visitors)
        views = args.batches * args.batch
        client = app.test_client()
        headers = {"Origin": ORIGIN, "Content-Type": "text/plain"}
        bodies = [json.dumps(batch) for batch in work]
        for body in bodies[:20]:  # warm-up: pools, caches, prepared statements
            client.post(f"/w/{SLUG}/events", data=body, headers=headers)
        started = time.perf_counter()
        for body in bodies:
            response = client.post(f"/w/{SLUG}/events", data=body, headers=headers)
            assert response.status_code == 202, response.get_data(as_text=True)
        endpoint = time.perf_counter() - started

        engine = tenant_pools().engine_for(tenant.ref)
        now = datetime.now(UTC)
        with engine.begin() as connection:  # the visitors exist already: the baselines write views only
            connection.execute(text("TRUNCATE website_page_views"))
        started = time.perf_counter()
        for batch in work:
            with engine.begin() as connection:
                connection.execute(insert(WebsitePageView).values(rows_of(batch, now)))
        bare = time.perf_counter() - started
        started = time.perf_counter()
        for batch in work:
            with engine.begin() as connection:
                for row in rows_of(batch, now):
                    connection.execute(insert(WebsitePageView).values(row))
        single = time.perf_counter() - started
        with tenant_session(tenant.ref) as session:
            stored = session.scalar(select(db.func.count()).select_from(WebsitePageView))
            browsers = session.scalar(select(db.func.count()).select_from(WebsiteVisitor))
        print(f"{views:,} views in {args.batches:,} batches of {args.batch} from {browsers:,} browsers; "
              f"{stored:,} rows after the baselines")  # fmt: skip

    per_view = endpoint / views * 1000
    bare_per_view = bare / views * 1000
    single_per_view = single / views * 1000
    print(f"endpoint:               {views / endpoint:10,.0f} views/s   {per_view:.3f} ms per view")
    print(f"bare multi-row INSERT:  {views / bare:10,.0f} views/s   {bare_per_view:.3f} ms per view")
    print(f"one INSERT per view:    {views / single:10,.0f} views/s   {single_per_view:.3f} ms per view")
    print(f"endpoint / bare multi-row INSERT: {per_view / bare_per_view:.2f}x per view; "
          f"one INSERT per view / bare: {single_per_view / bare_per_view:.2f}x")  # fmt: skip
    summary(
        "website views/s through /w/<slug>/events",
        "-",
        views / endpoint,
        views / bare,
        per_view / bare_per_view,
    )
    print("(single-threaded client; a batch is one request)", file=sys.stderr)


if __name__ == "__main__":
    main()
