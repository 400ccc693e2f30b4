"""Writing a tenant archive with constant memory: PostgreSQL streams each table out with COPY."""

from __future__ import annotations

import hashlib
import json
import select
import tempfile
import zipfile
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import IO, Any

import psycopg
from psycopg import pq
from sqlalchemy.engine import Connection

from saas.db import TenantRef
from saas.exports import storage
from saas.exports.format import (
    AUDIT_LOG,
    CONFIGURATION,
    DATA_DIR,
    FILES_DIR,
    FORMAT_VERSION,
    MANIFEST,
    README,
    README_TEXT,
    TableSpec,
    tenant_tables,
)
from saas.sql import quote_identifier, quote_identifiers

Progress = Callable[[int, int], None]  # (tables done, rows written so far)
Heartbeat = Callable[[], None]  # "still alive", called as data flows (a big table can take minutes)


BLOCK = 1024 * 1024
IN_FLIGHT = 4
SPOOL_IN_MEMORY = 16 * BLOCK
"""JSON Lines of a table kept in memory while its CSV is written; a bigger table's go to a temporary file."""
"""Blocks handed to the hashing and deflating thread and not yet written: bounds memory to ~4 MiB."""


class _HashingWriter:
    """Wraps a zip entry: gathers COPY's row-sized messages into 1 MiB blocks, which one thread of its
    own hashes and deflates while the next block is read from PostgreSQL.

    COPY delivers one message per row; hashing and deflating each row separately would cost more than
    reading it. zlib and hashlib release the GIL on a block, so on two cores reading and compressing
    overlap instead of taking turns.
    """

    def __init__(self, target: IO[bytes], worker: ThreadPoolExecutor, heartbeat: Heartbeat | None = None):
        self.target = target
        self.heartbeat = heartbeat
        self.digest = hashlib.sha256()
        self.size = 0
        self._worker = worker
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._in_flight: deque[Future] = deque()

    def write(self, data: bytes) -> None:
        self._pending.append(data)
        self._pending_bytes += len(data)
        if self._pending_bytes >= BLOCK:
            self._hand_over()

    def _hand_over(self) -> None:
        if not self._pending:
            return
        block = b"".join(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        self.size += len(block)
        self._in_flight.append(self._worker.submit(self._consume, block))
        while len(self._in_flight) > IN_FLIGHT:
            self._in_flight.popleft().result()
        if self.heartbeat:
            self.heartbeat()

    def _consume(self, block: bytes) -> None:  # on the worker thread, one block at a time, in order
        self.digest.update(block)
        self.target.write(block)

    def flush(self) -> None:
        """Hand over what is gathered and wait until every block is hashed and written."""
        self._hand_over()
        while self._in_flight:
            self._in_flight.popleft().result()


def copy_out(connection: Connection, query: str, write: Callable[[bytes], object]) -> int:
    """Run ``COPY … TO STDOUT`` and pass each message to ``write``; returns the rows copied.

    Straight on libpq (``PQgetCopyData``) rather than psycopg's ``Copy``: its generator machinery costs
    more per row than PostgreSQL spends producing it (2-3x slower on 200k rows, bench/export.py). Runs
    inside the connection's open transaction and consumes every result, so psycopg's state is unchanged.
    """
    pgconn = connection.connection.driver_connection.pgconn
    pgconn.send_query(query.encode())
    _wait_until_ready(pgconn)
    result = pgconn.get_result()
    if result.status != pq.ExecStatus.COPY_OUT:
        _finish(pgconn)
        raise psycopg.errors.error_from_result(result)
    while True:
        size, data = pgconn.get_copy_data(1)
        if size > 0:
            write(data)
        elif size == 0:  # nothing buffered yet: wait for the server without holding the GIL
            select.select([pgconn.socket], [], [])
            pgconn.consume_input()
        else:
            break
    result = pgconn.get_result()
    _finish(pgconn)
    if result.status != pq.ExecStatus.COMMAND_OK:
        raise psycopg.errors.error_from_result(result)
    return int(result.command_tuples or 0)


def _wait_until_ready(pgconn: pq.abc.PGconn) -> None:
    while True:
        pgconn.consume_input()
        if not pgconn.is_busy():
            return
        select.select([pgconn.socket], [], [])


def _finish(pgconn: pq.abc.PGconn) -> None:
    while pgconn.get_result() is not None:
        pass


def tables_in_schema(connection: Connection) -> list[TableSpec]:
    """The registry's tables as they exist in the bound schema, which may be at an older revision."""
    from saas.exports.reader import stored_column_types, stored_columns_in_schema
    from saas.modules.core import objects

    present = stored_columns_in_schema(connection)
    types = stored_column_types(connection)
    # Custom objects' tables after the registry's: they hold references by id only, no foreign keys.
    workspace_tables = [
        TableSpec("core", objects.record_model(name).__table__)
        for name in objects.tables_in_schema(connection)
    ]
    return [
        spec
        if spec.columns == present[spec.name]
        else spec.at_columns(present[spec.name], types.get(spec.name))
        for spec in [*tenant_tables(), *workspace_tables]
        if spec.name in present
    ]


def prepare_export_transaction(connection: Connection) -> None:
    """One consistent snapshot, and output that does not depend on the server's settings."""
    connection.exec_driver_sql(
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; "
        "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; "
        "SET LOCAL IntervalStyle = 'iso_8601'; SET LOCAL bytea_output = 'hex'; "
        "SET LOCAL extra_float_digits = 3"
    )


def _select_list(spec: TableSpec) -> str:
    """The stored columns, with an empty text in place of each secret the archive leaves out."""
    return ", ".join(
        f"''::text AS {quote_identifier(c)}" if c in spec.withheld else quote_identifier(c)
        for c in spec.columns
    )


JSON_COLUMN = "export_row_json"


def _table_query(spec: TableSpec) -> str:
    """One COPY for both files of a table: its CSV columns and, last, the same row as JSON.

    PostgreSQL scans and sorts the table once instead of twice (the JSON Lines COPY alone cost 1.6x the
    CSV one); :class:`_RowSplitter` cuts each row in two. The CSV part is byte for byte the CSV COPY of
    the columns alone (CSV quotes each field on its own value), the JSON part ``row_to_json``'s text.
    """
    columns = _select_list(spec)
    order = ", ".join(f"r.{quote_identifier(c)}" for c in spec.primary_key)
    rows = f"SELECT {columns} FROM {quote_identifier(spec.name)}"
    select = f"SELECT r.*, row_to_json(r) AS {JSON_COLUMN} FROM ({rows}) r ORDER BY {order}"
    return f"COPY ({select}) TO STDOUT WITH (FORMAT csv, HEADER)"


class _RowSplitter:
    """Splits each row of :func:`_table_query` into its CSV line and its JSON line, handing both on in
    blocks of about ``BLOCK`` bytes (per row only a search and two slices: COPY sends a message a row).

    The JSON field comes last and CSV-quoted: ``,"{`` opens it, and cannot occur inside it (every quote
    in it is doubled, and a quote in a JSON string is escaped by a backslash), so the last ``,"{`` of a
    row is where it starts. Unquoting is dropping the outer quotes and halving the doubled ones, done on
    a whole block at once (joining lines with a newline makes no new pair of quotes).
    """

    def __init__(self, csv_write: Callable[[bytes], object], json_write: Callable[[bytes], object]) -> None:
        self.csv_write = csv_write
        self.json_write = json_write
        self.header = True
        self._csv: list[bytes] = []
        self._json: list[bytes] = []
        self._pending = 0

    def __call__(self, data: bytes | memoryview) -> None:
        row = bytes(data)
        if self.header:  # the column names: the CSV header without the JSON column's name
            self.header = False
            self.csv_write(row[: row.rindex(b",")] + b"\n")
            return
        cut = row.rfind(b',"{')
        if cut < 0:
            raise ValueError("a row without its JSON column")
        self._csv.append(row[:cut])
        self._json.append(row[cut + 2 : -2])
        self._pending += len(row)
        if self._pending >= BLOCK:
            self.flush()

    def flush(self) -> None:
        if self._csv:
            self.csv_write(b"\n".join(self._csv) + b"\n")
            self.json_write(b"\n".join(self._json).replace(b'""', b'"') + b"\n")
        self._csv.clear()
        self._json.clear()
        self._pending = 0


def _write_stored_objects(
    connection: Connection,
    spec: TableSpec,
    tenant: TenantRef,
    archive: zipfile.ZipFile,
    worker: ThreadPoolExecutor,
    files: dict[str, dict[str, Any]],
    heartbeat: Heartbeat | None,
) -> None:
    """Copy the objects a table's rows name from the tenant's storage into ``files/``, streamed."""
    column = quote_identifier(spec.object_column)
    query = (
        f"SELECT {column} FROM {quote_identifier(spec.name)} ORDER BY {quote_identifiers(spec.primary_key)}"
    )
    for (name,) in connection.exec_driver_sql(query).all():
        path = f"{FILES_DIR}/{name}"
        with archive.open(path, "w", force_zip64=True) as entry:
            writer = _HashingWriter(entry, worker, heartbeat)
            try:
                key = storage.tenant_object_key(tenant.id, name)
                for chunk in storage.object_chunks(key, cell=tenant.cell):
                    writer.write(chunk)
            finally:
                writer.flush()
        files[path] = {"sha256": writer.digest.hexdigest(), "bytes": writer.size}


def _write_table(
    connection: Connection,
    spec: TableSpec,
    archive: zipfile.ZipFile,
    worker: ThreadPoolExecutor,
    files: dict[str, dict[str, Any]],
    heartbeat: Heartbeat | None,
) -> int:
    """A table's CSV and JSON Lines files from one COPY: the CSV streams into its ZIP entry while the
    JSON Lines wait in a spool (memory, then disk past ``SPOOL_IN_MEMORY``) for the entry after it."""
    csv_path, jsonl_path = f"{DATA_DIR}/{spec.name}.csv", f"{DATA_DIR}/{spec.name}.jsonl"
    with tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY) as spool:
        with archive.open(csv_path, "w", force_zip64=True) as entry:
            writer = _HashingWriter(entry, worker, heartbeat)
            splitter = _RowSplitter(writer.write, spool.write)
            try:
                count = copy_out(connection, _table_query(spec), splitter)
                splitter.flush()
            finally:
                writer.flush()
        files[csv_path] = {"sha256": writer.digest.hexdigest(), "bytes": writer.size}
        spool.seek(0)
        with archive.open(jsonl_path, "w", force_zip64=True) as entry:
            writer = _HashingWriter(entry, worker, heartbeat)
            try:
                while block := spool.read(BLOCK):
                    writer.write(block)
            finally:
                writer.flush()
        files[jsonl_path] = {"sha256": writer.digest.hexdigest(), "bytes": writer.size}
    return count


def write_archive(
    connection: Connection,
    tenant: TenantRef,
    target: IO[bytes],
    *,
    tenant_name: str,
    schema_version: str,
    configuration: dict[str, Any] | None = None,
    audit_entries: Iterable[dict[str, Any]] = (),
    progress: Progress | None = None,
    heartbeat: Heartbeat | None = None,
    # Deflate level 1: on bench/export.py's rows it keeps 92% of level 6's ratio (CSV 4.7 vs 5.1, JSON
    # Lines 7.9 vs 8.6) in under half the time; deflating is what costs most after the COPYs.
    compresslevel: int = 1,
) -> dict[str, Any]:
    """Write the whole tenant to ``target`` as a ZIP; returns the manifest.

    ``connection`` must be in a transaction bound to the tenant (see ``prepare_export_transaction``).
    """
    specs = tables_in_schema(connection)
    files: dict[str, dict[str, Any]] = {}
    tables: dict[str, Any] = {}
    rows_written = 0
    with (
        zipfile.ZipFile(
            target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel
        ) as archive,
        ThreadPoolExecutor(1, thread_name_prefix="export-deflate") as worker,
    ):
        for done, spec in enumerate(specs, start=1):
            count = _write_table(connection, spec, archive, worker, files, heartbeat)
            tables[spec.name] = {**spec.describe(), "rows": count}
            rows_written += count
            if progress:
                progress(done, rows_written)
        for spec in specs:
            if spec.object_column is not None:
                _write_stored_objects(connection, spec, tenant, archive, worker, files, heartbeat)
        if configuration is not None:
            _write_small(archive, files, CONFIGURATION, _canonical_json(configuration, indent=2))
            lines = b"".join(_canonical_json(entry) + b"\n" for entry in audit_entries)
            _write_small(archive, files, AUDIT_LOG, lines)
        _write_small(archive, files, README, README_TEXT.encode())
        manifest = {
            "format": "saas-crm-tenant-export",
            "format_version": FORMAT_VERSION,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "schema_version": schema_version,
            "tenant": {"id": tenant.id, "slug": tenant.slug, "name": tenant_name},
            # Fields that name the source workspace; everything else is the same after a round trip.
            "tenant_identifying_fields": ["created_at", "tenant.id", "tenant.slug", "tenant.name"],
            "withheld_secrets": withheld_secrets(specs),
            "table_order": [spec.name for spec in specs],
            "tables": tables,
            "files": files,
        }
        archive.writestr(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


def _canonical_json(value: Any, indent: int | None = None) -> bytes:
    """One spelling per value (sorted keys, UTF-8), so the same configuration is the same bytes."""
    return json.dumps(value, indent=indent, sort_keys=True, ensure_ascii=False, default=str).encode()


def _write_small(archive: zipfile.ZipFile, files: dict[str, dict[str, Any]], path: str, data: bytes) -> None:
    archive.writestr(path, data)
    files[path] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def withheld_secrets(specs: list[TableSpec]) -> list[str]:
    """Every secret the archive leaves out: the tables' secret columns and the configuration's."""
    from saas.exports.configuration import WITHHELD_CONFIGURATION_SECRETS

    columns = [f"{spec.name}.{column}" for spec in specs for column in spec.withheld]
    return sorted(columns + list(WITHHELD_CONFIGURATION_SECRETS))
