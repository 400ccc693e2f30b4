"""Vendor import throughput: a 100k-row HubSpot contacts export through the migration from another CRM,
against the CSV import of the same contacts, in the same process, each into a new workspace.

The vendor path is what an admin gets: the upload check with its dry run (``create_vendor_import``: the
ZIP read, the first rows classified, unknown columns suggested as custom fields), then the job body
``run_vendor_import`` (a custom field for "Lifecycle Stage", the CSV import's validation, dedupe and COPY
per 1,000-row batch, the external id of every row remembered, owners matched by email, an unsubscribe
event in the consent ledger for every 9th contact). The CSV path imports the same contacts' five mapped
columns through ``create_import`` and ``run_import``. Prints rows/s of both and their ratio.

    .venv/bin/python bench/vendor_import.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import secrets
import time
from pathlib import Path

os.environ.setdefault(
    "SAAS_INSTANCE_DIR", str(Path(__file__).resolve().parent.parent / "instance" / "bench-vendor-import")
)
os.environ.setdefault("SAAS_ENV", "test")

from figures import summary  # bench/ is on the path when a bench runs
from sqlalchemy import func, select

from saas import create_app
from saas.db import db, tenant_session
from saas.migrations import upgrade_platform
from saas.modules.core import imports
from saas.modules.core.models import Contact, ExternalRecord
from saas.modules.core.vendor_imports import service
from saas.tenants.provisioning import provision_tenant, purge_tenant
from tests.modules.core.vendor_files import hubspot_contacts, zipped


def same_contacts_as_csv(export: bytes) -> bytes:
    """The export's contacts as a plain CSV of the five columns the CSV import maps."""
    rows = csv.DictReader(io.StringIO(export.decode("utf-8-sig")))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["First name", "Last name", "Email", "Phone", "Job title"])
    for row in rows:
        writer.writerow(
            [row["First Name"], row["Last Name"], row["Email"], row["Phone Number"], row["Job Title"]]
        )
    return buffer.getvalue().encode()


def vendor_import(tenant, content: bytes) -> tuple[float, float, int]:
    """(seconds of the upload check with its dry run, seconds of the job, contacts stored)."""
    started = time.perf_counter()
    with tenant_session(tenant.ref) as session:
        job = service.create_vendor_import(
            session, vendor="hubspot", files=[("hubspot-contacts.zip", content)]
        )
        job.status = "queued"  # start_vendor_import would queue it for a worker; the body runs here
        job_id = job.id
    uploaded = time.perf_counter()
    with tenant_session(tenant.ref) as session:
        result = service.run_vendor_import(session, str(job_id))
    finished = time.perf_counter()
    assert result["status"] == "done" and result["error_rows"] == 0, result
    with tenant_session(tenant.ref) as session:
        stored = session.scalar(select(func.count()).select_from(Contact))
        assert session.scalar(select(func.count()).select_from(ExternalRecord)) == stored
    return uploaded - started, finished - uploaded, stored


def csv_import(tenant, content: bytes) -> tuple[float, float, int]:
    started = time.perf_counter()
    with tenant_session(tenant.ref) as session:
        job = imports.create_import(session, entity="contacts", filename="contacts.csv", content=content)
        job.status = "queued"
        job_id = job.id
    uploaded = time.perf_counter()
    with tenant_session(tenant.ref) as session:
        result = imports.run_import(session, str(job_id))
    finished = time.perf_counter()
    assert result["status"] == "done" and result["error_rows"] == 0, result
    with tenant_session(tenant.ref) as session:
        stored = session.scalar(select(func.count()).select_from(Contact))
    return uploaded - started, finished - uploaded, stored


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    if args.rows > 100_000:
        parser.error("at most 100,000 rows: the machine is shared")
    app = create_app()
    with app.app_context():
        upgrade_platform(db.engine)
        run = secrets.token_hex(3)
        owner = f"bench-hubspot-{run}@example.com"  # half the contacts are theirs in the export
        tenants = [
            provision_tenant(f"bench-vendor-{kind}-{run}", f"Bench {kind}", f"bench-{kind}-{run}@example.com",
                             "bench-pass-1")
            for kind in ("hubspot", "csv")
        ]  # fmt: skip
        export = hubspot_contacts(args.rows, owner_email=owner)
        content = zipped({"hubspot-crm-exports-all-contacts.csv": export})
        plain = same_contacts_as_csv(export)
        try:
            vendor_check, vendor_job, vendor_stored = vendor_import(tenants[0], content)
            csv_check, csv_job, csv_stored = csv_import(tenants[1], plain)
        finally:
            for tenant in tenants:
                purge_tenant(tenant.id, actor="bench")
    assert vendor_stored == csv_stored == args.rows, (vendor_stored, csv_stored)
    vendor_rate = args.rows / (vendor_check + vendor_job)
    csv_rate = args.rows / (csv_check + csv_job)
    print(
        f"rows: {args.rows}; HubSpot export {len(export) / 1_048_576:.1f} MB, "
        f"plain CSV {len(plain) / 1_048_576:.1f} MB"
    )
    print(
        f"HubSpot import (upload check + dry run {vendor_check:.2f} s, job {vendor_job:.2f} s): "
        f"{vendor_rate:,.0f} rows/s"
    )
    print(
        f"CSV import of the same contacts (upload check {csv_check:.2f} s, job {csv_job:.2f} s): "
        f"{csv_rate:,.0f} rows/s"
    )
    print(f"ratio HubSpot import / CSV import: {vendor_rate / csv_rate:.2f}")
    summary(
        "HubSpot contacts import rows/s vs CSV import",
        "report",
        vendor_rate,
        csv_rate,
        vendor_rate / csv_rate,
    )
    print(f"load average (1, 5, 15 min) at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
