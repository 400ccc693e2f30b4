"""Workflow throughput with 100k runs enrolled: enrolments advanced per second by the engine's job
(``advance_due``: a batch of 200 due runs locked with SKIP LOCKED per transaction, each run in a savepoint,
its workflow's steps executed, one history row per step under its idempotency key, the run's new
position), against a bare baseline in the same run: the same number of rows moved on by a plain UPDATE of
their step counter, in transactions of the same batch size.

Each run takes two steps: a branch on a field of its contact (read through the record type's service)
and a wait of a day (recorded, the run parked until then). Seeding (contacts, runs) is COPY.

    .venv/bin/python bench/workflows.py [--enrolled 100000] [--advance 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault(
    "SAAS_INSTANCE_DIR", str(Path(__file__).resolve().parent.parent / "instance" / "bench-workflows")
)
os.environ.setdefault("SAAS_ENV", "test")

from figures import summary  # bench/ is on the path when a bench runs
from load import analyze, copy_contacts
from sqlalchemy import select, text

from saas import create_app
from saas.db import db, tenant_pools, tenant_session
from saas.migrations import upgrade_platform
from saas.modules.workflows.runs import BATCH, advance_due
from saas.modules.workflows.workflows import create_workflow
from saas.tenants.models import Tenant
from saas.tenants.provisioning import provision_tenant, purge_tenant

SLUG = "bench-workflows"
STEPS = [
    {"type": "branch", "condition": {"field": "title", "op": "equals", "value": "Engineer"}},
    {"type": "wait", "amount": 1, "unit": "days"},
]


def seeded_tenant(enrolled: int) -> tuple[Tenant, uuid.UUID]:
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == SLUG))
    if tenant is not None:
        purge_tenant(tenant.id, actor="bench")
    tenant = provision_tenant(SLUG, "Bench workflows", "bench-workflows@example.com", "bench-password-1",
                              actor="bench")  # fmt: skip
    started = time.perf_counter()
    copy_contacts(tenant.ref, enrolled)
    with tenant_session(tenant.ref) as session:
        workflow = create_workflow(
            session,
            {"name": "Bench", "enabled": True, "steps": STEPS,
             "trigger": {"type": "record_created", "record_type": "contacts"}},
            user_id=None, base_url=None,
        )  # fmt: skip
        workflow_id = workflow.id
    now = datetime.now(UTC)
    steps = json.dumps(STEPS)
    raw = tenant_pools().engine_for(tenant.ref).raw_connection()
    try:
        with raw.cursor() as cursor:
            ids = [row[0] for row in cursor.execute(f'SELECT id FROM "{tenant.schema_name}".contacts')]
            columns = ("id, workflow_id, version, steps, record_type, record_id, contact_id, status, "
                       "step_index, next_run_at, chain, trigger_event, enrolled_at")  # fmt: skip
            with cursor.copy(
                f'COPY "{tenant.schema_name}".workflow_enrolments ({columns}) FROM STDIN'
            ) as copy:
                for contact_id in ids:
                    copy.write_row((uuid.uuid4(), workflow_id, 1, steps, "contacts", contact_id, contact_id,
                                    "active", 0, now, "[]", "contact.created", now))  # fmt: skip
        raw.commit()
    finally:
        raw.close()
    analyze(tenant.ref, "contacts", "workflow_enrolments")
    print(
        f"seeded {enrolled:,} contacts and their runs in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return tenant, workflow_id


def bench_engine(tenant: Tenant, advance: int) -> float:
    with tenant_session(tenant.ref) as session:
        started = time.perf_counter()
        result = advance_due(session, limit=advance)
        elapsed = time.perf_counter() - started
    assert result["advanced"] == advance, result
    with tenant_pools().engine_for(tenant.ref).connect() as connection:
        parked = connection.execute(
            text("SELECT count(*) FROM workflow_enrolments WHERE step_index = 1 AND status = 'active'")
        ).scalar_one()
        history = connection.execute(text("SELECT count(*) FROM workflow_step_runs")).scalar_one()
    assert parked == advance and history == 2 * advance, (parked, history)
    print(
        f"engine: {advance:,} runs advanced (2 steps each) in {elapsed:.2f} s: "
        f"{advance / elapsed:,.0f} runs/s"
    )
    return elapsed


def bench_baseline(tenant: Tenant, advance: int) -> float:
    """The same number of due rows moved on by a bare UPDATE, a transaction per batch of the same size."""
    engine = tenant_pools().engine_for(tenant.ref)
    started = time.perf_counter()
    moved = 0
    while moved < advance:
        with engine.begin() as connection:
            moved += connection.execute(
                text(
                    "UPDATE workflow_enrolments SET step_index = step_index + 1, "
                    "next_run_at = next_run_at + interval '1 day' WHERE id IN "
                    "(SELECT id FROM workflow_enrolments WHERE status = 'active' AND next_run_at <= now() "
                    "ORDER BY next_run_at LIMIT :size FOR UPDATE SKIP LOCKED)"
                ),
                {"size": min(BATCH, advance - moved)},
            ).rowcount
    elapsed = time.perf_counter() - started
    print(
        f"baseline: {advance:,} bare UPDATEs of a step counter in {elapsed:.2f} s: "
        f"{advance / elapsed:,.0f} rows/s"
    )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--enrolled", type=int, default=100_000, help="runs enrolled (one per contact)")
    parser.add_argument("--advance", type=int, default=20_000, help="of them, how many to advance")
    args = parser.parse_args()
    if not 0 < args.advance <= args.enrolled // 2:
        parser.error("--advance must be between 1 and half of --enrolled (the baseline needs its own rows)")
    app = create_app()
    with app.app_context():
        upgrade_platform(db.engine)
        tenant, _ = seeded_tenant(args.enrolled)
        print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs\n")
        engine = bench_engine(tenant, args.advance)
        baseline = bench_baseline(tenant, args.advance)
        print(f"\nthe engine takes {engine / baseline:.1f}x the bare UPDATEs' time "
              f"({args.advance / engine:,.0f} vs {args.advance / baseline:,.0f} per second)")  # fmt: skip
        summary(f"workflow runs advanced per second, {args.enrolled:,} enrolled", "-", args.advance / engine,
                args.advance / baseline, engine / baseline)  # fmt: skip
        purge_tenant(tenant.id, actor="bench")


if __name__ == "__main__":
    main()
