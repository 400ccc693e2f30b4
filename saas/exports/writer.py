"""Writing a tenant archive with constant memory: PostgreSQL streams each table out with COPY."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy.engine import Connection

from saas.db import TenantRef
from saas.exports.format import (
    DATA_DIR,
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


@dataclass
class _HashingWriter:
    """Wraps a zip entry: gathers COPY's row-sized messages into 1 MiB blocks, hashes and counts them.

    COPY delivers one message per row; hashing and deflating each row separately would cost more
    than reading it.
    """

    target: IO[bytes]
    heartbeat: Heartbeat | None = None
    digest: Any = field(default_factory=hashlib.sha256)
    size: int = 0
    _pending: list[bytes] = field(default_factory=list)
    _pending_bytes: int = 0

    def write(self, data: bytes | memoryview) -> None:
        self._pending.append(data)
        self._pending_bytes += len(data)
        if self._pending_bytes >= BLOCK:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        block = b"".join(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        self.digest.update(block)
        self.size += len(block)
        self.target.write(block)
        if self.heartbeat:
            self.heartbeat()


def tables_in_schema(connection: Connection) -> list[TableSpec]:
    """The registry's tables as they exist in the bound schema, which may be at an older revision."""
    from saas.exports.reader import stored_column_types, stored_columns_in_schema

    present = stored_columns_in_schema(connection)
    types = stored_column_types(connection)
    return [
        spec
        if spec.columns == present[spec.name]
        else spec.at_columns(present[spec.name], types.get(spec.name))
        for spec in tenant_tables()
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


def _stream_csv(cursor, spec: TableSpec, out: _HashingWriter) -> int:
    columns = quote_identifiers(spec.columns)
    order = quote_identifiers(spec.primary_key)
    select = f"SELECT {columns} FROM {quote_identifier(spec.name)} ORDER BY {order}"
    query = f"COPY ({select}) TO STDOUT WITH (FORMAT csv, HEADER)"
    with cursor.copy(query) as copy:
        for chunk in copy:
            out.write(chunk)
    return cursor.rowcount


def _stream_jsonl(cursor, spec: TableSpec, out: _HashingWriter) -> int:
    columns = quote_identifiers(spec.columns)
    order = ", ".join(f"r.{quote_identifier(c)}" for c in spec.primary_key)
    rows = f"SELECT {columns} FROM {quote_identifier(spec.name)}"
    select = f"SELECT row_to_json(r) FROM ({rows}) r ORDER BY {order}"
    # CSV mode with quote and delimiter bytes that JSON text never contains raw: PostgreSQL then writes
    # each JSON document verbatim, one per line, and no row passes through Python.
    query = f"COPY ({select}) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
    with cursor.copy(query) as copy:
        for chunk in copy:
            out.write(chunk)
    return cursor.rowcount


def write_archive(
    connection: Connection,
    tenant: TenantRef,
    target: IO[bytes],
    *,
    tenant_name: str,
    schema_version: str,
    progress: Progress | None = None,
    heartbeat: Heartbeat | None = None,
    compresslevel: int = 1,
) -> dict[str, Any]:
    """Write the whole tenant to ``target`` as a ZIP; returns the manifest.

    ``connection`` must be in a transaction bound to the tenant (see ``prepare_export_transaction``).
    """
    specs = tables_in_schema(connection)
    files: dict[str, dict[str, Any]] = {}
    tables: dict[str, Any] = {}
    rows_written = 0
    cursor = connection.connection.driver_connection.cursor()
    with zipfile.ZipFile(
        target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel
    ) as archive:
        for done, spec in enumerate(specs, start=1):
            for suffix, stream in (("csv", _stream_csv), ("jsonl", _stream_jsonl)):
                path = f"{DATA_DIR}/{spec.name}.{suffix}"
                with archive.open(path, "w", force_zip64=True) as entry:
                    writer = _HashingWriter(entry, heartbeat)
                    count = stream(cursor, spec, writer)
                    writer.flush()
                files[path] = {"sha256": writer.digest.hexdigest(), "bytes": writer.size}
                if suffix == "csv":
                    tables[spec.name] = {**spec.describe(), "rows": count}
                    rows_written += count
            if progress:
                progress(done, rows_written)
        readme = README_TEXT.encode()
        archive.writestr(README, readme)
        files[README] = {"sha256": hashlib.sha256(readme).hexdigest(), "bytes": len(readme)}
        manifest = {
            "format": "saas-crm-tenant-export",
            "format_version": FORMAT_VERSION,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "schema_version": schema_version,
            "tenant": {"id": tenant.id, "slug": tenant.slug, "name": tenant_name},
            # Fields that name the source workspace; everything else is the same after a round trip.
            "tenant_identifying_fields": ["created_at", "tenant.id", "tenant.slug", "tenant.name"],
            "table_order": [spec.name for spec in specs],
            "tables": tables,
            "files": files,
        }
        archive.writestr(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
    cursor.close()
    return manifest
