"""Reading an archive back: verify everything first, then load it into an empty tenant schema."""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy.engine import Connection

from saas.errors import ValidationError
from saas.exports.format import (
    DATA_DIR,
    FILES_DIR,
    FORMAT_VERSION,
    MANIFEST,
    README,
    SAFE_OBJECT_NAME,
    tenant_tables,
)
from saas.sql import quote_identifier, quote_identifiers

MAX_MANIFEST_BYTES = 20 * 1024 * 1024
CHUNK = 1024 * 1024
RATIO_FLOOR = 1024 * 1024
"""Entries up to this size are not held to the ratio limit: a small file of repeats is no bomb."""


@dataclass(frozen=True)
class ImportLimits:
    """What an archive may declare in its ZIP directory (``IMPORT_MAX_*`` settings); checked first."""

    max_bytes: int
    max_entries: int
    max_ratio: int


class ArchiveRefused(ValidationError):
    title = "Archive refused"


@dataclass(frozen=True)
class VerifiedArchive:
    path: str
    manifest: dict[str, Any]

    @property
    def schema_version(self) -> str:
        return self.manifest["schema_version"]


def _refuse(message: str, name: str = "archive") -> ArchiveRefused:
    return ArchiveRefused(message, {name: [message]})


def _safe_member(name: str) -> bool:
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts and "\\" not in name


def verify_archive(path: str, limits: ImportLimits) -> VerifiedArchive:
    """Check the archive completely (limits, format, paths, sizes, every SHA-256) before anything is created.

    The limits are checked on the ZIP's central directory alone, so a zip bomb is refused before a
    single byte of it is inflated.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise _refuse(f"Not a readable ZIP archive: {error}") from error
    with archive:
        _check_limits(archive.infolist(), limits)
        names = {info.filename: info for info in archive.infolist()}
        unsafe = [name for name in names if not _safe_member(name)]
        if unsafe:
            raise _refuse(f"Unsafe path in archive: {unsafe[0]}", unsafe[0])
        if MANIFEST not in names:
            raise _refuse("The archive has no manifest.json.", MANIFEST)
        if names[MANIFEST].file_size > MAX_MANIFEST_BYTES:
            raise _refuse("manifest.json is too large.", MANIFEST)
        try:
            manifest = json.loads(b"".join(entry_chunks(archive, names[MANIFEST])))
        except ValueError as error:
            raise _refuse(f"manifest.json is not valid JSON: {error}", MANIFEST) from error
        if manifest.get("format_version") != FORMAT_VERSION:
            raise _refuse(
                f"Unsupported format version {manifest.get('format_version')!r}; "
                f"this version reads {FORMAT_VERSION}.",
                MANIFEST,
            )
        declared = manifest.get("files") or {}
        for name in names:
            if name != MANIFEST and name not in declared:
                raise _refuse(f"{name} is not listed in the manifest.", name)
        for name, expected in declared.items():
            _check_entry(archive, names, name, expected)
        for table in manifest.get("table_order", []):
            if f"{DATA_DIR}/{table}.csv" not in declared:
                raise _refuse(f"Table {table} has no CSV file.", table)
    return VerifiedArchive(path=path, manifest=manifest)


def _check_limits(infos: list[zipfile.ZipInfo], limits: ImportLimits) -> None:
    if len(infos) > limits.max_entries:
        raise _refuse(
            f"The archive holds {len(infos)} files; at most {limits.max_entries} are accepted "
            "(IMPORT_MAX_ENTRIES)."
        )
    total = sum(info.file_size for info in infos)
    if total > limits.max_bytes:
        raise _refuse(
            f"The archive would unpack to {total} bytes; at most {limits.max_bytes} are accepted "
            "(IMPORT_MAX_BYTES)."
        )
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR and ratio > limits.max_ratio:
            raise _refuse(
                f"{info.filename} would unpack {ratio:.0f} times its compressed size; at most "
                f"{limits.max_ratio} is accepted (IMPORT_MAX_RATIO).",
                info.filename,
            )


def entry_chunks(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """An entry's inflated bytes in blocks, stopped as soon as they exceed the size the directory declares
    (a forged directory entry must not let more through than the limits were checked against)."""
    inflated = 0
    try:
        with archive.open(info) as entry:
            while chunk := entry.read(CHUNK):
                inflated += len(chunk)
                if inflated > info.file_size:
                    raise _refuse(
                        f"{info.filename} unpacks to more than the {info.file_size} bytes it declares.",
                        info.filename,
                    )
                yield chunk
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as error:  # truncated or corrupted data
        raise _refuse(f"{info.filename} cannot be read: {error}", info.filename) from error


def _check_entry(
    archive: zipfile.ZipFile, names: dict[str, zipfile.ZipInfo], name: str, expected: dict
) -> None:
    if not (name == README or name.startswith(f"{DATA_DIR}/") or name.startswith(f"{FILES_DIR}/")):
        raise _refuse(f"Unexpected file {name}.", name)
    if name.startswith(f"{FILES_DIR}/") and not SAFE_OBJECT_NAME.fullmatch(
        name.removeprefix(f"{FILES_DIR}/")
    ):
        raise _refuse(f"Unsafe path in archive: {name}", name)
    info = names.get(name)
    if info is None:
        raise _refuse(f"{name} is missing from the archive.", name)
    if info.file_size != expected.get("bytes"):
        raise _refuse(f"{name} has {info.file_size} bytes, the manifest says {expected.get('bytes')}.", name)
    digest = hashlib.sha256()
    for chunk in entry_chunks(archive, info):
        digest.update(chunk)
    if digest.hexdigest() != expected.get("sha256"):
        raise _refuse(f"{name} does not match its SHA-256 checksum.", name)


def check_tables_match(verified: VerifiedArchive, current_columns: dict[str, list[str]]) -> None:
    """Every table of the archive exists with the same stored columns at the archive's schema version."""
    for table, description in verified.manifest["tables"].items():
        if table not in current_columns:
            raise _refuse(f"Table {table} is unknown at schema version {verified.schema_version}.", table)
        stored = [c["name"] for c in description["columns"] if "generated" not in c]
        if stored != current_columns[table]:
            raise _refuse(f"Columns of {table} do not match schema version {verified.schema_version}.", table)


def load_archive(connection: Connection, verified: VerifiedArchive) -> dict[str, int]:
    """COPY every table in from the archive (streamed); returns rows loaded per table.

    ``connection`` is in the provisioning transaction, bound to the new tenant's role and schema, whose
    tables are empty; any failure rolls the whole import back.
    """
    cursor = connection.connection.driver_connection.cursor()
    loaded: dict[str, int] = {}
    with zipfile.ZipFile(verified.path) as archive:
        for table in verified.manifest["table_order"]:
            columns = [
                c["name"] for c in verified.manifest["tables"][table]["columns"] if "generated" not in c
            ]
            target = f"{quote_identifier(table)} ({quote_identifiers(columns)})"
            query = f"COPY {target} FROM STDIN WITH (FORMAT csv, HEADER)"
            with cursor.copy(query) as copy:
                for chunk in entry_chunks(archive, archive.getinfo(f"{DATA_DIR}/{table}.csv")):
                    copy.write(chunk)
            loaded[table] = cursor.rowcount
            expected = verified.manifest["tables"][table]["rows"]
            if loaded[table] != expected:
                raise _refuse(f"{table}: loaded {loaded[table]} rows, the manifest says {expected}.", table)
    cursor.close()
    return loaded


def restore_stored_objects(connection: Connection, verified: VerifiedArchive, tenant_id: str) -> int:
    """Put every object the loaded rows name back into the new tenant's storage, streamed from the
    archive (whose checksums ``verify_archive`` checked); returns how many. Refuses a row whose object
    name is unsafe or whose object the archive lacks."""
    from saas.exports import storage

    declared = verified.manifest.get("files") or {}
    restored = 0
    with zipfile.ZipFile(verified.path) as archive:
        for spec in tenant_tables():
            if spec.object_column is None or spec.name not in verified.manifest["tables"]:
                continue
            query = f"SELECT {quote_identifier(spec.object_column)} FROM {quote_identifier(spec.name)}"
            for (name,) in connection.exec_driver_sql(query).all():
                path = f"{FILES_DIR}/{name}"
                if not SAFE_OBJECT_NAME.fullmatch(name or "") or path not in declared:
                    raise _refuse(f"{spec.name}: the archive has no stored object {name!r}.", spec.name)
                with archive.open(path) as entry:
                    storage.upload_stream(
                        entry, storage.tenant_object_key(tenant_id, name), "application/octet-stream"
                    )
                restored += 1
    return restored


def stored_column_types(connection: Connection) -> dict[str, dict[str, str]]:
    """Each table's stored columns with PostgreSQL's name of their type (``format_type``)."""
    rows = connection.exec_driver_sql(
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped"
    ).all()
    types: dict[str, dict[str, str]] = {}
    for table, column, sql_type in rows:
        types.setdefault(table, {})[column] = sql_type
    return types


def add_custom_columns(connection: Connection, verified: VerifiedArchive) -> None:
    """Recreate the archive's custom field columns (typed, indexed) before its rows are loaded; a column
    that is neither declared nor a valid custom field is left out, and the column check refuses it."""
    from saas.modules.core.custom_fields import recreate_column

    present = stored_columns_in_schema(connection)
    for table, description in verified.manifest["tables"].items():
        for column in description["columns"]:
            if table in present and column["name"] not in present[table] and "generated" not in column:
                recreate_column(connection, table, column["name"], column["type"])


def stored_columns_in_schema(connection: Connection) -> dict[str, list[str]]:
    """The stored (not generated) columns of every table in the current schema, in column order."""
    rows = connection.exec_driver_sql(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND is_generated = 'NEVER' "
        "AND table_name <> 'alembic_version' "
        "ORDER BY table_name, ordinal_position"
    ).all()
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        columns.setdefault(table, []).append(column)
    return columns
