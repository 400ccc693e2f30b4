"""The archive format: which tables, in which order, described how.

Tables come from the module registry (every module's models), ordered so that a table comes after
the tables it references; the import loads them in that order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Table

from saas.db import TenantBase
from saas.modules.registry import registry

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
"""Version 1 archives (data only, webhook secrets in the clear) still import; their secrets are replaced."""
MANIFEST = "manifest.json"
README = "README.md"
DATA_DIR = "data"
FILES_DIR = "files"
STORED_OBJECTS = "stored_objects"
"""A table's ``info`` key naming its column of stored object names (files on records): each such object
travels in the archive as ``files/<name>`` and is put back into the new tenant's storage on import."""
NOT_ARCHIVED = "not_archived"
"""A table's ``info`` key marking operational rows that are not the workspace's data (kept API answers):
archives leave the table out and an import leaves it empty."""
CONFIG_DIR = "config"
CONFIGURATION = f"{CONFIG_DIR}/workspace.json"
AUDIT_LOG = f"{CONFIG_DIR}/audit_log.jsonl"
WITHHELD_SECRETS = "withheld_secrets"
"""A table's ``info`` key mapping each column that holds a secret to the function making a fresh one: the
archive writes an empty text in its place and an import fills in a new secret (secrets never travel)."""
SAFE_OBJECT_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class TableSpec:
    module: str
    table: Table
    stored_columns: tuple[str, ...] | None = None
    """Set when the schema is at an older revision than the models: the columns it really has."""
    undeclared_types: tuple[tuple[str, str], ...] = ()
    """PostgreSQL's types of stored columns the models do not declare (a tenant's custom fields)."""

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def columns(self) -> list[str]:
        """Stored columns in declaration order; generated columns are derived again on import."""
        if self.stored_columns is not None:
            return list(self.stored_columns)
        return [c.name for c in self.table.columns if c.computed is None]

    def at_columns(self, columns: list[str], undeclared_types: dict[str, str] | None = None) -> TableSpec:
        return TableSpec(self.module, self.table, tuple(columns), tuple((undeclared_types or {}).items()))

    @property
    def withheld(self) -> dict[str, Callable[[], str]]:
        """Columns whose secret the archive leaves out, with what makes a fresh one on import."""
        return self.table.info.get(WITHHELD_SECRETS, {})

    def _describe_stored(self, name: str) -> dict[str, object]:
        if name in self.table.columns:
            described = _describe_column(self.table.columns[name])
            return {**described, "withheld": True} if name in self.withheld else described
        return {"name": name, "type": dict(self.undeclared_types)[name], "nullable": True}

    @property
    def object_column(self) -> str | None:
        """The column naming this table's stored objects, if its rows own any."""
        return self.table.info.get(STORED_OBJECTS)

    @property
    def primary_key(self) -> list[str]:
        return [c.name for c in self.table.primary_key.columns]

    def describe(self) -> dict[str, object]:
        return {
            "module": self.module,
            # Stored columns in the data files' order, then the generated ones.
            "columns": [self._describe_stored(name) for name in self.columns]
            + [_describe_column(c) for c in self.table.columns if c.computed is not None],
            "primary_key": self.primary_key,
            "foreign_keys": self._describe_foreign_keys(),
        }

    def _describe_foreign_keys(self) -> list[dict[str, object]]:
        """In a stable order: SQLAlchemy keeps a table's constraints in a set, whose order changes from one
        process to the next (string hashing), and two exports of the same data must be the same bytes."""
        described = [
            {
                "columns": [c.name for c in fk.columns],
                "references": fk.referred_table.name,
                "referenced_columns": [e.column.name for e in fk.elements],
                "on_delete": fk.ondelete,
            }
            for fk in self.table.foreign_key_constraints
        ]
        return sorted(described, key=lambda fk: (fk["columns"], fk["references"], fk["referenced_columns"]))


def _describe_column(column) -> dict[str, object]:
    return {
        "name": column.name,
        "type": str(column.type.compile(dialect=_dialect())),
        "nullable": column.nullable,
        **({"generated": str(column.computed.sqltext)} if column.computed is not None else {}),
    }


def _dialect():
    from sqlalchemy.dialects import postgresql

    return postgresql.dialect()


def tenant_tables() -> list[TableSpec]:
    """Every tenant table of every registered module, parents before children."""
    registry.load_models()
    owner: dict[str, str] = {}
    for module in registry:
        for mapper in TenantBase.registry.mappers:
            if mapper.class_.__module__ == module.models:
                for table in mapper.tables:
                    owner[table.name] = module.key
    return [
        TableSpec(owner.get(t.name, "core"), t)
        for t in TenantBase.metadata.sorted_tables
        if not t.info.get(NOT_ARCHIVED)
    ]


README_TEXT = """# Tenant export

This archive holds everything one workspace of the CRM stored, in open formats, so that another
system (or a new workspace of ours, with `saas import`) can read it.

## Layout

- `manifest.json` — what is in the archive: format version, the workspace it came from, when it was
  made, the database schema version, and for every table its columns (name, SQL type, nullable,
  generated), primary key, foreign keys and row count; the SHA-256 and size of every other file.
- `data/<table>.csv` — one file per table. RFC 4180 CSV, UTF-8, a header row, comma separated,
  fields quoted with `"` where needed (a `"` inside a field is doubled). An empty unquoted field is
  NULL; an empty string is written as `""`. Timestamps are ISO 8601 in UTC, numbers are exact decimal
  text, binary columns are hex (`\\x…`), JSON columns are JSON text.
- `data/<table>.jsonl` — the same rows as JSON Lines: one JSON object per line, keys are column
  names, values as in PostgreSQL's `row_to_json` (NULL is `null`).
- `files/<name>` — the content of uploaded files and attachments, one per row of a table that stores
  files (`files`: its `object_name` column names the entry; its `sha256` and `size_bytes` describe it).
- `config/workspace.json` — the workspace's configuration: members (email, role, joined or invited),
  single sign-on (without its client secret), API clients (name and scope, without secrets), module
  switches and the two-factor rule.
- `config/audit_log.jsonl` — the workspace's audit log, oldest first, one JSON object per line.

## Secrets

No password, password hash, two-factor secret, session, token or client secret is in this archive.
Columns that hold a secret (`withheld` in the manifest, listed under `withheld_secrets`) are written
as an empty text; an import makes new ones, and the secrets to enter again are listed after it.

Rows are ordered by primary key. Generated columns (listed with `generated` in the manifest, e.g.
`sort_name`) are not in the data files: they are derived from the others.

## Identifiers

Record ids are UUIDs and are kept on import, so relations survive. Columns ending in `_user_id`
refer to people in the workspace's user directory; `config/workspace.json` lists its members by email.

## Checking an archive

Every file's SHA-256 is in `manifest.json` under `files`; `sha256sum` on the extracted files must
give the same values. `saas import` refuses an archive whose files do not match.
"""
