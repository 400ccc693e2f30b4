"""Moving a tenant between cells (``saas tenants move``) vs a bare ``pg_dump -n <schema> | pg_restore`` of
the same schema between the same two servers.

A tenant of ``--contacts`` contacts (default 100k) with deals (a fifth as many) and tickets (a tenth) is
built in the default cell; a second embedded PostgreSQL is cell ``b``. The baseline pipes pg_dump's
custom format into pg_restore (pgserver's own binaries, the servers' version) and is dropped again; then
the move runs twice: quiet (nothing written during the copy) and busy (contacts, deals and tickets change
between the first copy and the read-only window, so those tables are copied again inside it). Printed:
each move's total time and read-only window, and their ratios to the dump and restore, which would be
all window: writes must stop for the whole of it. With ``--files N`` (default 200, 100 KB each) the
tenant also has N files in S3 (moto's server on loopback, one bucket per cell), which the move carries
too; the pg_dump baseline has none.

    .venv/bin/python bench/move.py [--contacts 100000] [--files 200]
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import subprocess
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault(
    "SAAS_INSTANCE_DIR", str(Path(__file__).resolve().parent.parent / "instance" / "bench-move")
)
os.environ.setdefault("SAAS_ENV", "test")

from figures import summary  # bench/ is on the path when a bench runs
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, make_url

from saas import create_app
from saas.cells import DEFAULT_CELL, Cell
from saas.config import Settings
from saas.db import db, tenant_pools, tenant_session
from saas.embedded import embedded_database_url, embedded_redis_url, normalise_database_url
from saas.migrations import upgrade_platform
from saas.tenants.moves.service import move_tenant, purge_finished_moves
from saas.tenants.provisioning import provision_tenant, purge_tenant

CELL_B = "b"
INSTANCE = Path(os.environ["SAAS_INSTANCE_DIR"])


def pg_bin(name: str) -> str:
    import pgserver

    return str(Path(pgserver.__file__).resolve().parent / "pginstall" / "bin" / name)


def libpq(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def s3_endpoint() -> str:
    """moto's S3 server on a free loopback port, with a bucket per cell."""
    import logging
    import socket

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "bench")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ThreadedMotoServer(ip_address="127.0.0.1", port=port).start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    for bucket in ("bench-cell-a", "bench-cell-b"):
        client.create_bucket(Bucket=bucket)
    return endpoint


def two_cell_app(files: int):
    cell_b = INSTANCE / "cell-b"
    database_url, redis_url = embedded_database_url(cell_b), embedded_redis_url(cell_b)
    settings = Settings.from_environment()
    endpoint = s3_endpoint() if files else None
    settings = replace(
        settings,
        s3_bucket="bench-cell-a" if files else None,
        s3_endpoint_url=endpoint,
        cells=(
            Cell(name=DEFAULT_CELL, region="a", label="Cell A"),
            Cell(
                CELL_B,
                "b",
                "Cell B",
                database_url=database_url,
                redis_url=redis_url,
                s3_bucket="bench-cell-b" if files else None,
            ),
        ),
    )
    return create_app(settings), normalise_database_url(database_url)


def seed(tenant, contacts: int) -> None:
    with tenant_session(tenant.ref) as session:
        connection = session.connection()
        connection.exec_driver_sql(
            "INSERT INTO contacts (id, first_name, last_name, email, phone, title) SELECT gen_random_uuid(), "
            "'Fïrst ' || i, 'Last ' || i, 'p' || i || '@example.com', '+49 30 ' || i, 'Title' "
            f"FROM generate_series(1, {contacts}) i"
        )
        connection.exec_driver_sql(
            "INSERT INTO deals (id, name, currency, pipeline_id, stage_id, status, amount, "
            "amount_follows_quote) SELECT gen_random_uuid(), 'Deal ' || i, 'EUR', s.pipeline_id, s.id, "
            "'open', i * 10, false "
            f"FROM generate_series(1, {contacts // 5}) i, (SELECT id, pipeline_id FROM stages LIMIT 1) s"
        )
        connection.exec_driver_sql(
            "INSERT INTO tickets (id, subject, status, priority, channel, sla_elapsed_minutes, "
            "first_response_breached, resolution_breached, tags) SELECT gen_random_uuid(), 'Ticket ' || i, "
            f"'new', 'normal', 'api', 0, false, false, '{{}}' FROM generate_series(1, {contacts // 10}) i"
        )


def store_files(tenant, files: int) -> None:
    from saas.exports import storage

    for index in range(files):
        content = secrets.token_bytes(100 * 1024)
        key = storage.tenant_object_key(tenant.id, f"bench-{index}")
        storage.upload_stream(io.BytesIO(content), key, "application/octet-stream", cell=tenant.cell)


def touch(tenant) -> None:
    """Writes between the first copy and the window: a few rows in each of the big tables."""
    with tenant_session(tenant.ref) as session:
        connection = session.connection()
        connection.exec_driver_sql(
            "UPDATE contacts SET title = 'Changed' WHERE id IN (SELECT id FROM contacts LIMIT 5)"
        )
        connection.exec_driver_sql(
            "UPDATE deals SET name = name || '!' WHERE id IN (SELECT id FROM deals LIMIT 5)"
        )
        connection.exec_driver_sql(
            "UPDATE tickets SET subject = 'Re' WHERE id IN (SELECT id FROM tickets LIMIT 5)"
        )
    from saas.exports import storage

    if storage.storage_configured(tenant.cell):  # and a few files are uploaded meanwhile
        for index in range(3):
            key = storage.tenant_object_key(tenant.id, f"late-{secrets.token_hex(4)}-{index}")
            storage.upload_stream(io.BytesIO(b"late" * 1000), key, "text/plain", cell=tenant.cell)


def dump_and_restore(tenant, target_admin: URL) -> float:
    """``pg_dump -Fc -n schema`` as the tenant's own login on cell a, piped into ``pg_restore`` as cell b's
    admin user (no owner or privileges: the tenant role need not exist there); the schema is dropped after."""
    settings = tenant_pools().settings
    ref = tenant.ref
    source = settings.login_url(ref)
    started = time.perf_counter()
    dump = subprocess.Popen(
        [pg_bin("pg_dump"), "-Fc", "-n", ref.schema_name, "-d", libpq(source)], stdout=subprocess.PIPE
    )
    restore = subprocess.run(
        [pg_bin("pg_restore"), "--no-owner", "--no-privileges", "-d", libpq(target_admin)],
        stdin=dump.stdout,
        capture_output=True,
        text=True,
    )
    dump.stdout.close()
    if dump.wait() != 0 or restore.returncode != 0:
        raise SystemExit(f"pg_dump | pg_restore failed: {restore.stderr[-2000:]}")
    seconds = time.perf_counter() - started
    engine = create_engine(target_admin)
    with engine.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA "{ref.schema_name}" CASCADE')
    engine.dispose()
    return seconds


def one_move(tenant, to_cell: str, busy: bool) -> dict:
    marks: dict[str, float] = {}

    def mark(step: str) -> None:
        marks[step] = time.perf_counter()
        if busy and step == "copied":
            touch(tenant)

    started = time.perf_counter()
    move = move_tenant(tenant.slug, to_cell, actor="bench", on_step=mark)
    total = time.perf_counter() - started
    report = move.report
    final = report["final_copy"]
    return {
        "total": total,
        "window": report["window_seconds"],
        "recopied": final["tables_copied"],
        "rows": final["rows"],
        "first_copy_rows": report["first_copy"]["rows_copied"],
        "final": final,
        "first": report["first_copy"],
        "objects": report["objects"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=200)
    args = parser.parse_args()
    app, cell_b_admin = two_cell_app(args.files)
    with app.app_context():
        upgrade_platform(db.engine)
        run = secrets.token_hex(3)
        tenant = provision_tenant(
            f"bench-move-{run}", "Bench", f"bench-move-{run}@example.com", "bench-password-1"
        )
        try:
            started = time.perf_counter()
            seed(tenant, args.contacts)
            store_files(tenant, args.files)
            print(
                f"seeded {args.contacts} contacts, {args.contacts // 5} deals, {args.contacts // 10} tickets "
                f"in {time.perf_counter() - started:.1f} s; load average {os.getloadavg()}"
            )
            baseline = dump_and_restore(tenant, make_url(cell_b_admin))
            quiet = one_move(tenant, CELL_B, busy=False)  # a -> b
            busy = one_move(tenant, DEFAULT_CELL, busy=True)  # b -> a, with writes during the copy
        finally:
            purge_finished_moves(
                actor="bench",
                now=db.session.scalar(db.select(db.func.now() + db.text("interval '3650 days'"))),
            )
            purge_tenant(tenant.id, actor="bench")
    print(f"rows moved: {quiet['rows']} (all tables)")
    print(f"pg_dump -Fc -n schema | pg_restore:   {baseline:.2f} s (writes stopped for all of it)")
    for label, move in (("quiet", quiet), ("busy", busy)):
        print(
            f"move ({label}): total {move['total']:.2f} s, read-only window {move['window']:.2f} s; "
            f"tables copied again in the window: {move['recopied'] or 'none'}; "
            f"window: compare {move['final']['compare_seconds']:.2f} s, "
            f"copy {move['final']['copy_seconds']:.2f} s, verify {move['final']['verify_seconds']:.2f} s"
        )
        first = move["first"]
        print(
            f"  first copy (tenant working): compare {first['compare_seconds']:.2f} s, "
            f"copy {first['copy_seconds']:.2f} s of {first['rows_copied']} rows"
        )
        first_objects, final_objects = move["objects"]["first_copy"], move["objects"]["final_copy"]
        if "objects" in first_objects:
            print(
                f"  objects: first copy {first_objects['objects_copied']} "
                f"({first_objects['bytes_copied']} bytes) in {first_objects['seconds']:.2f} s; in the "
                f"window {final_objects['objects_copied']} copied in {final_objects['seconds']:.2f} s, "
                f"{move['objects']['verified']} verified"
            )
        print(
            f"  ratio total/dump+restore {move['total'] / baseline:.2f}, "
            f"window/dump+restore {move['window'] / baseline:.2f}"
        )
    summary(
        "tenant move read-only window (s), quiet",
        "< dump|restore",
        quiet["window"],
        baseline,
        quiet["window"] / baseline,
    )
    summary(
        "tenant move read-only window (s), busy",
        "< dump|restore",
        busy["window"],
        baseline,
        busy["window"] / baseline,
    )
    summary("tenant move total (s)", "-", quiet["total"], baseline, quiet["total"] / baseline)


if __name__ == "__main__":
    main()
