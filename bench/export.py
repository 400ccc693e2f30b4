"""Export throughput: a 1M-row tenant through the export writer vs PostgreSQL's own COPY of the same rows.

Prints rows/s for both, their ratio (goal >= 0.5) and the process's peak RSS (goal < 200 MB). The
export writes every table twice (CSV and JSON Lines) into a deflated ZIP with SHA-256 per file; the
baseline is one CSV COPY of the same rows, discarded.

    .venv/bin/python bench/export.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import tempfile
import time
from pathlib import Path

os.environ.setdefault(
    "SAAS_INSTANCE_DIR", str(Path(__file__).resolve().parent.parent / "instance" / "bench-export")
)
os.environ.setdefault("SAAS_ENV", "test")

from saas import create_app
from saas.db import db, tenant_session
from saas.exports.services import export_tenant_to_file
from saas.exports.writer import prepare_export_transaction, tables_in_schema
from saas.migrations import upgrade_platform
from saas.tenants.provisioning import provision_tenant, purge_tenant


def seed(tenant, rows: int) -> None:
    accounts, contacts = rows // 5, rows * 3 // 5
    activities = rows - accounts - contacts
    with tenant_session(tenant.ref) as session:
        connection = session.connection()
        connection.exec_driver_sql(
            "INSERT INTO accounts (id, name, domain, industry, notes) SELECT gen_random_uuid(), "
            "'Company ' || i, 'c' || i || '.example', 'Industry, \"quoted\"', repeat('note ', 10) "
            f"FROM generate_series(1, {accounts}) i"
        )
        connection.exec_driver_sql(
            "INSERT INTO contacts (id, first_name, last_name, email, phone, title) SELECT gen_random_uuid(), "
            "'Fïrst ' || i, 'Last ' || i, 'p' || i || '@example.com', '+49 30 ' || i, 'Title' "
            f"FROM generate_series(1, {contacts}) i"
        )
        connection.exec_driver_sql(
            "INSERT INTO activities (id, kind, subject, body) SELECT gen_random_uuid(), 'note', "
            "'Subject ' || i, E'Line one\\nline two, with comma' "
            f"FROM generate_series(1, {activities}) i"
        )


def copy_baseline(tenant) -> tuple[int, float]:
    """PostgreSQL's own COPY ... TO STDOUT (CSV) of the same rows, output discarded."""
    rows = 0
    started = time.perf_counter()
    with tenant_session(tenant.ref) as session:
        connection = session.connection()
        prepare_export_transaction(connection)
        cursor = connection.connection.driver_connection.cursor()
        for spec in tables_in_schema(connection):
            columns = ", ".join(f'"{c}"' for c in spec.columns)
            order = ", ".join(f'"{c}"' for c in spec.primary_key)
            select = f'SELECT {columns} FROM "{spec.name}" ORDER BY {order}'
            query = f"COPY ({select}) TO STDOUT WITH (FORMAT csv, HEADER)"
            with cursor.copy(query) as copy:
                for _ in copy:
                    pass
            rows += cursor.rowcount
    return rows, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    app = create_app()
    with app.app_context():
        upgrade_platform(db.engine)
        run = secrets.token_hex(3)
        tenant = provision_tenant(
            f"bench-exp-{run}", "Bench", f"bench-exp-{run}@example.com", "bench-password-1"
        )
        try:
            started = time.perf_counter()
            seed(tenant, args.rows)
            print(f"seeded {args.rows} rows in {time.perf_counter() - started:.1f} s")
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

            baseline_rows, baseline_seconds = copy_baseline(tenant)
            with tempfile.NamedTemporaryFile(suffix=".zip") as target:
                started = time.perf_counter()
                manifest = export_tenant_to_file(tenant, target)
                export_seconds = time.perf_counter() - started
                size = os.path.getsize(target.name)
            exported_rows = sum(t["rows"] for t in manifest["tables"].values())
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        finally:
            purge_tenant(tenant.id, actor="bench")

    export_rate = exported_rows / export_seconds
    baseline_rate = baseline_rows / baseline_seconds
    print(f"rows: {exported_rows} (baseline {baseline_rows})")
    print(
        f"export (CSV + JSONL + zip + sha256): {export_seconds:.2f} s, {export_rate:,.0f} rows/s, "
        f"archive {size / 1e6:.1f} MB"
    )
    print(f"COPY TO STDOUT baseline (CSV once):  {baseline_seconds:.2f} s, {baseline_rate:,.0f} rows/s")
    print(f"ratio export/COPY: {export_rate / baseline_rate:.2f}")
    print(f"peak RSS: {peak:.0f} MB (before export {rss_before:.0f} MB)")


if __name__ == "__main__":
    main()
