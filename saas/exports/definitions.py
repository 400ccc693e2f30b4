"""The definitions an archive brings (custom fields, saved views, saved reports), checked by the rules the
services apply to the API's input, before any row of the archive is loaded.

Valid checksums prove only that the archive is intact, not that its author kept to our rules: a custom
field row names a column that reports and lists put into SQL, so a crafted one must never be loaded.
The rows are read from the CSV files, in the manifest's column order, exactly as ``COPY`` will load them.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from saas.errors import ValidationError
from saas.exports.format import DATA_DIR
from saas.exports.reader import ArchiveRefused, VerifiedArchive, entry_chunks
from saas.modules.core import custom_fields, objects, saved_reports, saved_views
from saas.modules.core.models import CustomField

_TRUE = frozenset({"t", "true", "y", "yes", "on", "1"})
"""PostgreSQL's spellings of a true boolean in COPY input."""
_FALSE = frozenset({"f", "false", "n", "no", "off", "0"})

Errors = dict[str, list[str]]
Definitions = dict[str, list[CustomField]]


def check_definitions(verified: VerifiedArchive) -> None:
    """Refuse the archive, naming each bad row (file and line), when a definition in it breaks a rule."""
    errors: Errors = {}
    with zipfile.ZipFile(verified.path) as archive:
        rows = _TableRows(archive, verified.manifest, errors)
        _check_custom_objects(rows, verified.manifest, errors)
        live = _check_custom_fields(rows, verified.manifest, errors)
        for number, row in rows("saved_views"):
            # Older schema versions have no columns yet: their views show the list's own.
            stored = (row.get("entity"), row.get("query"), row.get("columns", []))
            check = partial(saved_views.check_stored, *stored, live.get(row.get("entity"), []))
            _check(errors, rows.where("saved_views", number), check)
        for number, row in rows("saved_reports"):
            check = partial(
                saved_reports.check_stored, row.get("params"), lambda entity: live.get(entity, [])
            )
            _check(errors, rows.where("saved_reports", number), check)
    if errors:
        where, messages = next(iter(errors.items()))
        raise ArchiveRefused(
            f"The archive holds definitions the application would refuse; {where}: {messages[0]}", errors
        )


def _check_custom_objects(rows: _TableRows, manifest: dict[str, Any], errors: Errors) -> None:
    """Check each custom object as the API defines one, and that every object table of the archive is
    one of them: an archive cannot make the import create any other table."""
    defined: set[str] = set()
    for number, row in rows("custom_objects"):
        where = rows.where("custom_objects", number)
        data = {
            name: row.get(name) for name in ("key", "singular", "plural", "name_label", "icon", "description")
        }
        definition = _check(errors, where, partial(objects.check_object, data))
        if definition is not None:
            defined.add(definition.table_name)
    for table in manifest["tables"]:
        if objects.is_object_table(table) and table not in defined:
            errors[f"{DATA_DIR}/{table}.csv"] = [f"{table} is no custom object's table in the archive."]


def _check_custom_fields(rows: _TableRows, manifest: dict[str, Any], errors: Errors) -> Definitions:
    """Check each custom field as the API defines one; returns the valid live ones by record type."""
    live: Definitions = {}
    seen: set[tuple[str, str]] = set()
    for number, row in rows("custom_fields"):
        where = rows.where("custom_fields", number)
        entity, column = row.get("entity") or "", row.get("column_name") or ""
        if not custom_fields.is_column_name(column):
            errors[where] = [f"{column!r} is not a custom field's column name (cf_ and a key)."]
            continue
        data = {name: row.get(name) for name in ("label", "field_type", "reference", "options", "help_text")}
        data |= {
            "key": column.removeprefix(custom_fields.PREFIX),
            "required": row.get("required"),
            "position": row.get("position"),
            "default_value": row.get("default_value"),
        }
        definition = _check(errors, where, partial(custom_fields.check_definition, entity, data))
        if definition is None:
            continue
        stored_type = _column_types(manifest, entity).get(column)
        if (entity, column) in seen:
            errors[where] = [f"{entity}.{column} is defined twice."]
        elif stored_type != custom_fields.TYPES[definition.field_type].sql:
            errors[where] = [
                f"{entity}.{column} is a {definition.field_type} field, but the archive's column is "
                f"{stored_type or 'missing'}."
            ]
        elif row.get("deleted_at") is None:
            live.setdefault(entity, []).append(definition)
        seen.add((entity, column))
    return live


def _column_types(manifest: dict[str, Any], table: str) -> dict[str, str]:
    description = manifest["tables"].get(table, {})
    return {column["name"]: column["type"] for column in description.get("columns", [])}


def _check(errors: Errors, where: str, check: Callable[[], Any]) -> Any:
    """Run one service's check; its refusal becomes the row's reason (with the field it names)."""
    try:
        return check()
    except ValidationError as error:
        details = [f"{field}: {'; '.join(messages)}" for field, messages in error.errors.items()]
        errors[where] = [error.detail + (f" ({', '.join(details)})" if details else "")]
    except (KeyError, TypeError, ValueError) as error:  # a value of the wrong kind where text was expected
        errors[where] = [f"Not a valid definition: {type(error).__name__}: {error}"]
    return None


class _TableRows:
    """The rows of a table's CSV file as ``COPY`` reads them: after the header line, by the manifest's
    column order (``COPY … HEADER`` skips the header without reading it, so its names prove nothing)."""

    def __init__(self, archive: zipfile.ZipFile, manifest: dict[str, Any], errors: Errors) -> None:
        self.archive, self.manifest, self.errors = archive, manifest, errors

    def where(self, table: str, number: int) -> str:
        return f"{DATA_DIR}/{table}.csv line {number}"

    def __call__(self, table: str) -> Iterator[tuple[int, dict[str, Any]]]:
        description = self.manifest["tables"].get(table)
        if description is None:  # an archive from a schema version before this table
            return
        columns = [(c["name"], c["type"]) for c in description["columns"] if "generated" not in c]
        info = self.archive.getinfo(f"{DATA_DIR}/{table}.csv")
        stream = io.BufferedReader(_ChunkReader(entry_chunks(self.archive, info)))
        text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
        reader = csv.reader(text, strict=True)
        try:
            next(reader, None)
            for cells in reader:
                where = self.where(table, reader.line_num)
                if len(cells) != len(columns):
                    self.errors[where] = [f"{len(cells)} values for {len(columns)} columns."]
                    continue
                try:
                    row = {
                        name: _value(cell, sql_type)
                        for (name, sql_type), cell in zip(columns, cells, strict=True)
                    }
                except ValueError as error:
                    self.errors[where] = [f"Not a valid value: {error}"]
                    continue
                yield reader.line_num, row
        except (csv.Error, UnicodeDecodeError) as error:
            self.errors[self.where(table, reader.line_num)] = [f"Not valid CSV: {error}"]


def _value(cell: str, sql_type: str) -> Any:
    """A CSV cell as PostgreSQL would store it, for the column types definitions use."""
    if cell == "":  # NULL (an empty text is refused by every rule that reads it anyway)
        return None
    kind = sql_type.upper()
    if kind == "BOOLEAN":
        if cell.lower() not in _TRUE | _FALSE:
            raise ValueError(f"{cell!r} is not a boolean")
        return cell.lower() in _TRUE
    if kind in ("JSON", "JSONB"):
        return json.loads(cell)
    if kind in ("INTEGER", "SMALLINT", "BIGINT"):
        return int(cell)
    return cell


class _ChunkReader(io.RawIOBase):
    """Blocks of bytes as a readable stream, so that the CSV module reads an entry without holding it."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._pending = chunks, b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            self._pending = next(self._chunks, b"")
            if not self._pending:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size
