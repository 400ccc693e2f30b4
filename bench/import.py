"""CSV import throughput: 100k contacts (some duplicated in the file) through the import service and
job, against PostgreSQL's own ``COPY FROM`` of the same file into a table shaped like ``contacts``.

The import path is what a user gets: the upload check (decode, delimiter, header, row count), then the
job body ``run_import`` (schema validation of every row, dedupe by email against the tenant and within
the file, COPY of each 1,000-row batch with its progress committed). The baseline loads the same CSV with
one ``COPY ... (FORMAT csv)`` into a scratch table created ``LIKE contacts INCLUDING ALL`` (same columns,
generated sort key and indexes): no validation, no dedupe; on a raw connection logged in as the tenant's
role, as the import's own connections are. Prints rows/s of both and their ratio.

    .venv/bin/python bench/import.py [--rows 100000] [--duplicate-every 20] [--profile out.prof]

``--profile`` runs the job body under cProfile, writes the stats to the file and prints the top costs
(the rates are then those of a profiled run: compare them only with other profiled runs).
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import os
import pstats
import secrets
import time
from pathlib import Path

os.environ.setdefault(
    "SAAS_INSTANCE_DIR", str(Path(__file__).resolve().parent.parent / "instance" / "bench-import")
)
os.environ.setdefault("SAAS_ENV", "test")

from figures import summary  # bench/ is on the path when a bench runs
from sqlalchemy import func, select

from saas import create_app
from saas.db import db, tenant_pools, tenant_session
from saas.migrations import upgrade_platform
from saas.modules.core import imports
from saas.modules.core.models import Contact, ImportJob
from saas.tenants.provisioning import provision_tenant, purge_tenant

TITLES = ("Engineer", "Buyer", "CFO", "Head of Sales", "Office Manager", "")


def make_csv(rows: int, duplicate_every: int) -> tuple[bytes, int]:
    """A contacts file and how many of its rows repeat an earlier email (in another letter case)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["First name", "Last name", "Email", "Phone", "Job title"])
    duplicates = 0
    for i in range(rows):
        if duplicate_every and i % duplicate_every == duplicate_every - 1:
            n, duplicates = i - duplicate_every // 2, duplicates + 1  # a row that is no repeat itself
            email = f"Person.{n}@Company{n % 500}.example"
        else:
            n = i
            email = f"person.{n}@company{n % 500}.example"
        writer.writerow([f"First{n}", f"Last{n}", email, f"+49 30 {n:07d}", TITLES[n % len(TITLES)]])
    return buffer.getvalue().encode(), duplicates


def copy_baseline(tenant, content: bytes) -> float:
    """Seconds to COPY the same file into a scratch table shaped like the tenant's contacts, as its role."""
    schema = tenant.schema_name
    engine = tenant_pools().engine_for(tenant.ref)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f'CREATE TABLE "{schema}".bench_copy (LIKE "{schema}".contacts INCLUDING ALL); '
            f'ALTER TABLE "{schema}".bench_copy ALTER COLUMN id SET DEFAULT gen_random_uuid()'
        )
    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()
        started = time.perf_counter()
        with cursor.copy(
            f'COPY "{schema}".bench_copy (first_name, last_name, email, phone, title) '
            "FROM STDIN (FORMAT csv, HEADER true)"
        ) as copy:
            copy.write(content)
        raw.driver_connection.commit()
        elapsed = time.perf_counter() - started
        cursor.execute(f'SELECT count(*) FROM "{schema}".bench_copy')
        copied = cursor.fetchone()[0]
        cursor.execute(f'DROP TABLE "{schema}".bench_copy')
        raw.driver_connection.commit()
    finally:
        raw.close()
    assert copied == content.count(b"\n") - 1, copied
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--duplicate-every", type=int, default=20, help="every Nth row repeats an email")
    parser.add_argument("--profile", metavar="FILE", help="profile the job body, write its stats here")
    args = parser.parse_args()
    if args.rows > 100_000:
        parser.error("at most 100,000 rows: the machine is shared")
    profiler = cProfile.Profile() if args.profile else None
    app = create_app()
    with app.app_context():
        upgrade_platform(db.engine)
        run = secrets.token_hex(3)
        tenant = provision_tenant(
            f"bench-import-{run}", "Bench import", f"bench-{run}@example.com", "bench-pass-1"
        )
        content, duplicates = make_csv(args.rows, args.duplicate_every)
        try:
            started, cpu_started = time.perf_counter(), time.process_time()
            with tenant_session(tenant.ref) as session:
                job = imports.create_import(session, entity="contacts", filename="bench.csv", content=content)
                job.status = "queued"  # start_import would also queue it for a worker; we run the body here
                job_id = job.id
            uploaded = time.perf_counter()
            with tenant_session(tenant.ref) as session:
                if profiler:
                    profiler.enable()
                result = imports.run_import(session, str(job_id))
                if profiler:
                    profiler.disable()
            finished, cpu_seconds = time.perf_counter(), time.process_time() - cpu_started
            with tenant_session(tenant.ref) as session:
                job = session.get(ImportJob, job_id)
                stored = session.scalar(select(func.count()).select_from(Contact))
                distinct = session.scalar(select(func.count(func.distinct(func.lower(Contact.email)))))
            assert result["status"] == "done" and job.error_rows == 0, (result, job.message)
            assert job.duplicate_rows == duplicates and stored == distinct == args.rows - duplicates
            copy_seconds = copy_baseline(tenant, content)
        finally:
            purge_tenant(tenant.id, actor="bench")

    if profiler:
        profiler.dump_stats(args.profile)
        stats = pstats.Stats(args.profile)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
    import_seconds = finished - started
    import_rate = args.rows / import_seconds
    copy_rate = args.rows / copy_seconds
    print(f"rows in file: {args.rows} ({len(content) / 1_048_576:.1f} MB), duplicates in file: {duplicates}")
    print(
        f"import (upload check + job): {import_seconds:.2f} s  = {import_rate:,.0f} rows/s  "
        f"(upload check {uploaded - started:.2f} s, job {finished - uploaded:.2f} s); "
        f"imported {job.imported_rows}, duplicates skipped {job.duplicate_rows}"
    )
    # On a busy machine the wall time says little; this process's CPU time is the import's own cost.
    print(f"CPU time of this process during the import: {cpu_seconds:.2f} s (PostgreSQL's not counted)")
    print(f"COPY FROM of the same file into LIKE contacts: {copy_seconds:.2f} s  = {copy_rate:,.0f} rows/s")
    print(f"ratio import/COPY: {import_rate / copy_rate:.2f} (goal >= 0.25)")
    summary("CSV import with dedupe rows/s vs COPY FROM", ">= 0.25x COPY", import_rate, copy_rate,
            import_rate / copy_rate)  # fmt: skip
    # Both figures share the machine with whatever else runs; the load says how busy it was.
    print(f"load average (1, 5, 15 min) at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
