"""Copying one tenant schema between two cells' servers, each side on the tenant's own login: tables by
binary COPY, compared by row count and checksum, foreign keys set aside while tables are refilled."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from saas.exports.reader import stored_column_types, stored_columns_in_schema
from saas.exports.writer import copy_out
from saas.sql import quote_identifier


@dataclass(frozen=True)
class TableState:
    """What a table holds, comparable across servers: its row count and a checksum of its rows."""

    rows: int
    checksum: str


class SchemaMismatch(RuntimeError):
    """The two copies' tables or columns differ, so their rows cannot be compared or copied."""


def settle_text_output(connection: Connection) -> None:
    """Values print the same on both servers (time zone, date and float formats), so checksums agree."""
    connection.exec_driver_sql(
        "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; "
        "SET LOCAL IntervalStyle = 'iso_8601'; SET LOCAL bytea_output = 'hex'; "
        "SET LOCAL extra_float_digits = 3"
    )


def tables(connection: Connection) -> dict[str, list[str]]:
    """Every table of the bound schema with its stored (not generated) columns, in column order."""
    return stored_columns_in_schema(connection)


def table_state(connection: Connection, table: str, columns: list[str]) -> TableState:
    """Row count and the md5 of the table's rows' md5s in sorted order (columns by name, so the same
    rows agree whatever order the columns were added in; sorted in the "C" collation, which every
    server orders the same)."""
    row = ", ".join(quote_identifier(column) for column in sorted(columns))
    count, checksum = connection.exec_driver_sql(
        f"SELECT count(*), coalesce(md5(string_agg(h, '' ORDER BY h COLLATE \"C\")), '') "
        f"FROM (SELECT md5(ROW({row})::text) AS h FROM {quote_identifier(table)}) rows"
    ).one()
    return TableState(int(count), checksum)


def states(connection: Connection, layout: dict[str, list[str]]) -> dict[str, TableState]:
    return {table: table_state(connection, table, columns) for table, columns in layout.items()}


def copy_table(source: Connection, target: Connection, table: str, columns: list[str]) -> int:
    """Replace the target table's rows with the source's, streamed in PostgreSQL's binary format
    (no parsing on either side); the rows copied. The target's foreign keys must be set aside."""
    name = quote_identifier(table)
    listed = ", ".join(quote_identifier(column) for column in columns)
    target.exec_driver_sql(f"TRUNCATE {name}")
    cursor = target.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {name} ({listed}) FROM STDIN (FORMAT binary)") as copy_in:
        return copy_out(source, f"COPY {name} ({listed}) TO STDOUT (FORMAT binary)", copy_in.write)


def foreign_keys(connection: Connection) -> list[tuple[str, str, str]]:
    """(table, constraint, definition) of every foreign key in the bound schema."""
    rows = connection.exec_driver_sql(
        "SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
        "JOIN pg_class c ON c.oid = k.conrelid "
        "WHERE k.contype = 'f' AND k.connamespace = current_schema()::regnamespace "
        "ORDER BY c.relname, k.conname"
    ).all()
    return [(table, name, definition) for table, name, definition in rows]


def set_foreign_keys_aside(target: Connection) -> None:
    """Drop the target's foreign keys, so tables can be refilled one by one in any order (the source's
    definitions bring them back: :func:`restore_foreign_keys`)."""
    for table, name, _ in foreign_keys(target):
        target.exec_driver_sql(
            f"ALTER TABLE {quote_identifier(table)} DROP CONSTRAINT {quote_identifier(name)}"
        )


def restore_foreign_keys(target: Connection, definitions: Iterable[tuple[str, str, str]]) -> None:
    """Add back every foreign key of ``definitions`` the target lacks (each checks the copied rows)."""
    present = {(table, name) for table, name, _ in foreign_keys(target)}
    for table, name, definition in definitions:
        if (table, name) not in present:
            target.exec_driver_sql(
                f"ALTER TABLE {quote_identifier(table)} ADD CONSTRAINT {quote_identifier(name)} {definition}"
            )


def sequences(connection: Connection) -> dict[str, tuple[int, bool]]:
    """Each sequence of the bound schema with its last value and whether that value was handed out."""
    names = connection.exec_driver_sql(
        "SELECT relname FROM pg_class WHERE relkind = 'S' "
        "AND relnamespace = current_schema()::regnamespace ORDER BY relname"
    ).scalars()
    found = {}
    for name in list(names):
        last, called = connection.exec_driver_sql(
            f"SELECT last_value, is_called FROM {quote_identifier(name)}"
        ).one()
        found[name] = (int(last), bool(called))
    return found


def set_sequences(target: Connection, values: dict[str, tuple[int, bool]]) -> None:
    for name, (last, called) in values.items():
        target.exec_driver_sql(
            "SELECT setval(%(name)s::regclass, %(last)s, %(called)s)",
            {"name": quote_identifier(name), "last": last, "called": called},
        )


def schema_version(connection: Connection) -> str | None:
    return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def match_extra_columns(source: Connection, target: Connection) -> None:
    """Give the target (built from the models) what the tenant added itself: its custom objects' tables
    and its custom fields' columns, made by the same code an archive's import uses."""
    from saas.modules.core import objects
    from saas.modules.core.custom_fields import recreate_column

    objects.recreate_tables(target, objects.tables_in_schema(source))
    present = stored_column_types(target)
    for table, columns in stored_column_types(source).items():
        for column, sql_type in columns.items():
            if table in present and column not in present[table]:
                recreate_column(target, table, column, sql_type)


def check_same_layout(source: dict[str, list[str]], target: dict[str, list[str]]) -> None:
    """Refuse two schemas whose tables or columns differ (named in the message)."""
    differing = sorted(
        table
        for table in set(source) | set(target)
        if sorted(source.get(table, [])) != sorted(target.get(table, []))
    )
    if differing:
        raise SchemaMismatch(f"the copies' tables or columns differ: {', '.join(differing[:10])}")
