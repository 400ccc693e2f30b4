"""Reading an archive back: verify everything first, then load it into an empty tenant schema."""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from saas.errors import ValidationError
from saas.exports.format import (
    AUDIT_LOG,
    CONFIGURATION,
    DATA_DIR,
    FILES_DIR,
    MANIFEST,
    READABLE_VERSIONS,
    README,
    SAFE_OBJECT_NAME,
    tenant_tables,
)
from saas.sql import quote_identifier, quote_identifiers

if TYPE_CHECKING:
    from saas.db import TenantRef

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
        if manifest.get("format_version") not in READABLE_VERSIONS:
            raise _refuse(
                f"Unsupported format version {manifest.get('format_version')!r}; "
                f"this version reads {', '.join(map(str, READABLE_VERSIONS))}.",
                MANIFEST,
            )
        if not isinstance(manifest, dict) or not _is_file_map(manifest.get("files")):
            raise _refuse("manifest.json does not map file names to their checksum and size.", MANIFEST)
        declared = manifest["files"]
        # Every file is checked and each one at fault named: the person uploading sees all reasons at once.
        errors: dict[str, list[str]] = {}
        for name in names:
            if name != MANIFEST and name not in declared:
                errors[name] = [f"{name} is not listed in the manifest."]
        for name, expected in sorted(declared.items()):
            try:
                _check_entry(archive, names, name, expected)
            except ArchiveRefused as refused:
                errors.update(refused.errors)
        if problems := _manifest_problems(manifest):
            errors.setdefault(MANIFEST, []).append(f"manifest.json is not valid: {'; '.join(problems)}.")
        else:
            for table in manifest["table_order"]:
                if f"{DATA_DIR}/{table}.csv" not in declared:
                    errors.setdefault(table, []).append(f"Table {table} has no CSV file.")
        if errors:
            first = next(iter(errors.values()))[0]
            more = f" ({len(errors) - 1} more files refused)" if len(errors) > 1 else ""
            raise ArchiveRefused(first + more, errors)
    return VerifiedArchive(path=path, manifest=manifest)


def _is_file_map(files: Any) -> bool:
    return isinstance(files, dict) and all(isinstance(v, dict) for v in files.values())


def _manifest_problems(manifest: dict[str, Any]) -> list[str]:
    """What is wrong with the manifest's own structure, before anything trusts it (an edited one is
    refused with its reasons, not a crash)."""
    problems = []
    tables = manifest.get("tables")
    if not isinstance(tables, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("columns"), list) and isinstance(v.get("rows"), int)
        for v in tables.values()
    ):
        problems.append("its tables are not a map of table names to their columns and row count")
    order = manifest.get("table_order")
    if (
        not isinstance(order, list)
        or not all(isinstance(name, str) for name in order)
        or set(order) != set(tables if isinstance(tables, dict) else ())
    ):
        problems.append("its table order does not list exactly its tables")
    if not isinstance(manifest.get("schema_version"), str):
        problems.append("it names no schema version")
    return problems


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
    if not (name in (README, CONFIGURATION, AUDIT_LOG) or name.startswith((f"{DATA_DIR}/", f"{FILES_DIR}/"))):
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


def load_archive(
    connection: Connection,
    verified: VerifiedArchive,
    progress: Callable[[str, int, int], None] | None = None,
    heartbeat: Callable[[], None] | None = None,
) -> dict[str, int]:
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
                    if heartbeat:
                        heartbeat()
            loaded[table] = cursor.rowcount
            expected = verified.manifest["tables"][table]["rows"]
            if loaded[table] != expected:
                raise _refuse(f"{table}: loaded {loaded[table]} rows, the manifest says {expected}.", table)
            if progress:
                progress(table, len(loaded), sum(loaded.values()))
    cursor.close()
    return loaded


def restore_stored_objects(connection: Connection, verified: VerifiedArchive, tenant: TenantRef) -> int:
    """Put every object the loaded rows name back into the new tenant's storage, streamed from the
    archive (whose checksums ``verify_archive`` checked), in the bucket of ``tenant.cell``; returns how
    many. Refuses a row whose object name is unsafe or whose object the archive lacks."""
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
                    key = storage.tenant_object_key(tenant.id, name)
                    storage.upload_stream(entry, key, "application/octet-stream", cell=tenant.cell)
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


def read_configuration_files(verified: VerifiedArchive) -> tuple[dict[str, Any] | None, list[Any]]:
    """The archive's configuration and audit log (format 2), checked by checksum already; a format 1
    archive has neither. Refuses JSON that does not parse, naming the file and line."""
    declared = verified.manifest.get("files") or {}
    if CONFIGURATION not in declared:
        return None, []
    with zipfile.ZipFile(verified.path) as archive:
        try:
            configuration = json.loads(b"".join(entry_chunks(archive, archive.getinfo(CONFIGURATION))))
        except ValueError as error:
            raise _refuse(f"{CONFIGURATION} is not valid JSON: {error}", CONFIGURATION) from error
        audit_log: list[Any] = []
        if AUDIT_LOG in declared:
            text = b"".join(entry_chunks(archive, archive.getinfo(AUDIT_LOG))).decode("utf-8", "replace")
            for number, line in enumerate(text.splitlines(), start=1):
                try:
                    audit_log.append(json.loads(line))
                except ValueError as error:
                    where = f"{AUDIT_LOG} line {number}"
                    raise _refuse(f"{where} is not valid JSON: {error}", where) from error
    return configuration, audit_log


def renew_withheld_secrets(connection: Connection, verified: VerifiedArchive) -> int:
    """Give every row whose secret the archive left out a new one (a format 1 archive's secrets are
    replaced too: a secret that travelled is no secret any more). Returns how many were made."""
    present = stored_columns_in_schema(connection)
    renewed = 0
    for spec in tenant_tables():
        if spec.name not in verified.manifest["tables"]:
            continue
        for column, fresh in spec.withheld.items():
            if column not in present.get(spec.name, []):
                continue
            (key_column,) = spec.primary_key  # tables holding secrets have one id column
            key = quote_identifier(key_column)
            table = quote_identifier(spec.name)
            for (value,) in connection.exec_driver_sql(f"SELECT {key} FROM {table}").all():
                connection.exec_driver_sql(
                    f"UPDATE {table} SET {quote_identifier(column)} = %s WHERE {key} = %s", (fresh(), value)
                )
                renewed += 1
    return renewed
