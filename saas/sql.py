"""The one way a name (table, column, index) reaches SQL text: quoted by :func:`quote_identifier`.

Values always travel as bound parameters; names cannot, so every name is quoted here, and a name that
PostgreSQL would silently change (cut at 63 bytes, a NUL byte) is refused instead of quoted.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import literal_column
from sqlalchemy.sql.elements import ColumnElement

MAX_IDENTIFIER_BYTES = 63
"""PostgreSQL's NAMEDATALEN - 1: a longer name is truncated without error, and could name another column."""


class UnsafeIdentifier(ValueError):
    """A name that cannot be quoted faithfully; callers validate names at the edge, so this is a bug."""


def quote_identifier(name: str) -> str:
    """``name`` as a quoted SQL identifier: ``"`` doubled inside, so no name can end the quoting."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise UnsafeIdentifier(f"unsafe SQL identifier {name!r}")
    if len(name.encode()) > MAX_IDENTIFIER_BYTES:
        raise UnsafeIdentifier(f"SQL identifier longer than {MAX_IDENTIFIER_BYTES} bytes: {name!r}")
    return '"' + name.replace('"', '""') + '"'


def quote_identifiers(names: list[str] | tuple[str, ...]) -> str:
    """A comma-separated list of quoted names (a column list)."""
    return ", ".join(quote_identifier(name) for name in names)


def qualified_column(table: str, column: str, type_: Any = None) -> ColumnElement:
    """``"table"."column"`` as an SQLAlchemy column, for names only known at run time (custom fields)."""
    return literal_column(f"{quote_identifier(table)}.{quote_identifier(column)}", type_=type_)
