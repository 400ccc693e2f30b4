"""Export throughput: a tenant through the export writer vs PostgreSQL's own COPY of the same rows.

Prints rows/s for both, their ratio (goal >= 0.5) and the export's own peak memory (goal < 200 MB).
The export writes every table twice (CSV and JSON Lines) into a deflated ZIP with SHA-256 per file;
the baseline is one CSV COPY of the same rows, discarded, read by the same libpq loop as the export.
The two take turns (``--rounds``) and their times are summed. Each runs in a fresh child process
(the same imports and app in both), where a sampler reads the
process's resident memory every 5 ms from the moment the work starts: the figure is the export's
peak, not this process's lifetime peak (seeding made that 218 MB before the export began).

    .venv/bin/python bench/export.py [--rows 1000000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault(
    "SAAS_INSTANCE_DIR", str(Path(__file__).resolve().parent.parent / "instance" / "bench-export")
)
os.environ.setdefault("SAAS_ENV", "test")

from figures import summary  # bench/ is on the path when a bench runs

from saas import create_app
from saas.db import db, tenant_session
from saas.exports.services import export_tenant_to_file
from saas.exports.writer import copy_out, prepare_export_transaction, tables_in_schema
from saas.migrations import upgrade_platform
from saas.tenants.models import Tenant
from saas.tenants.provisioning import provision_tenant, purge_tenant

PAGE = os.sysconf("SC_PAGE_SIZE")


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


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


def _sampled(work: Callable[[], dict]) -> dict:
    """Run ``work`` while a thread samples resident memory; adds the peak and the start to its result."""
    start = _rss_bytes()
    peak = [start]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.005):
            peak[0] = max(peak[0], _rss_bytes())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        result = work()
    finally:
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
    peak[0] = max(peak[0], _rss_bytes())
    return {**result, "seconds": seconds, "rss_start_mb": start / 1e6, "rss_peak_mb": peak[0] / 1e6}


def _in_child(kind: str, tenant_id: str) -> dict:
    """One measured run in this (fresh) process: the app is built before the sampler starts."""
    app = create_app()
    with app.app_context():
        tenant = db.session.get(Tenant, tenant_id)
        db.session.expunge(tenant)
        if kind == "copy":
            return _sampled(lambda: {"rows": copy_baseline(tenant)})
        with tempfile.NamedTemporaryFile(suffix=".zip") as target:

            def export() -> dict:
                manifest = export_tenant_to_file(tenant, target)
                return {"rows": sum(t["rows"] for t in manifest["tables"].values())}

            result = _sampled(export)
            return {**result, "bytes": os.path.getsize(target.name)}


def copy_baseline(tenant) -> int:
    """PostgreSQL's own COPY ... TO STDOUT (CSV) of the same rows, output discarded; read with the same
    libpq loop as the export (``copy_out``), so the export is not flattered by a slower reader."""
    rows = 0
    with tenant_session(tenant.ref) as session:
        connection = session.connection()
        prepare_export_transaction(connection)
        for spec in tables_in_schema(connection):
            columns = ", ".join(f'"{c}"' for c in spec.columns)
            order = ", ".join(f'"{c}"' for c in spec.primary_key)
            select = f'SELECT {columns} FROM "{spec.name}" ORDER BY {order}'
            rows += copy_out(connection, f"COPY ({select}) TO STDOUT WITH (FORMAT csv, HEADER)", _discard)
    return rows


def _discard(data: bytes) -> None:
    pass


def run_child(kind: str, tenant_id: str) -> dict:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_in_child, kind, tenant_id).result()


def _total(label: str, runs: list[dict]) -> dict:
    """Rows and seconds summed over the turns; memory: the highest peak of any turn."""
    peak = max(runs, key=lambda run: run["rss_peak_mb"] - run["rss_start_mb"])
    total = {**peak, "rows": sum(r["rows"] for r in runs), "seconds": sum(r["seconds"] for r in runs)}
    print(f"{label} turns (s): " + ", ".join(f"{r['seconds']:.2f}" for r in runs))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2, help="turns the COPY and the export take")
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
            print(f"load average before the runs: {os.getloadavg()}")
            run_child("copy", tenant.id)  # warm the server's cache for both alike
            # Alternating turns: a burst of other work on this shared machine falls on both alike.
            baselines, exports = [], []
            for _ in range(args.rounds):
                baselines.append(run_child("copy", tenant.id))
                exports.append(run_child("export", tenant.id))
            baseline, export = _total("COPY", baselines), _total("export", exports)
            print(f"load average after the runs: {os.getloadavg()}")
        finally:
            purge_tenant(tenant.id, actor="bench")

    export_rate = export["rows"] / export["seconds"]
    baseline_rate = baseline["rows"] / baseline["seconds"]
    export_own = export["rss_peak_mb"] - export["rss_start_mb"]
    print(f"rows in all turns: {export['rows']} (baseline {baseline['rows']})")
    print(
        f"export (CSV + JSONL + zip + sha256): {export['seconds']:.2f} s, {export_rate:,.0f} rows/s, "
        f"archive {export['bytes'] / 1e6:.1f} MB"
    )
    print(f"COPY TO STDOUT baseline (CSV once):  {baseline['seconds']:.2f} s, {baseline_rate:,.0f} rows/s")
    print(f"ratio export/COPY: {export_rate / baseline_rate:.2f}")
    print(
        f"export's child process: resident {export['rss_start_mb']:.0f} MB when the export began (app "
        f"built), peak {export['rss_peak_mb']:.0f} MB during it: the export itself {export_own:.0f} MB "
        f"(COPY baseline's child: +{baseline['rss_peak_mb'] - baseline['rss_start_mb']:.0f} MB)"
    )
    summary(
        "full export rows/s vs COPY TO",
        ">= 0.5x COPY",
        export_rate,
        baseline_rate,
        export_rate / baseline_rate,
    )
    summary("export peak memory, the export alone (MB)", "< 200 MB", export_own, None, None)


if __name__ == "__main__":
    main()
