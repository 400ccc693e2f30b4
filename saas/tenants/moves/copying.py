"""Copying one tenant schema between two cells' servers, each side on the tenant's own login: tables by
binary COPY, compared by row counts and checksums per bucket of rows, foreign keys set aside while tables
are refilled."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from saas.exports.reader import stored_column_types, stored_columns_in_schema
from saas.exports.writer import copy_out
from saas.sql import quote_identifier

BUCKETS = 256
"""Each table's rows fall into this many buckets by their hash; a bucket that differs between the two
sides is copied again alone, so a few changed rows in a big table cost a few hundred rows in the window."""


@dataclass(frozen=True)
class TableState:
    """What a table holds, comparable across servers: per bucket, its row count and a checksum."""

    buckets: dict[int, tuple[int, str]]

    @property
    def rows(self) -> int:
        return sum(count for count, _ in self.buckets.values())

    def differing(self, other: TableState) -> list[int]:
        """The buckets whose rows differ between ``self`` and ``other``."""
        keys = set(self.buckets) | set(other.buckets)
        return sorted(key for key in keys if self.buckets.get(key) != other.buckets.get(key))


class SchemaMismatch(RuntimeError):
    """The two copies' tables or columns differ, so their rows cannot be compared or copied."""


def settle_text_output(connection: Connection) -> None:
    """Values print the same on both servers (time zone, date and float formats), so checksums agree."""
    connection.exec_driver_sql(
        "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; "
        "SET LOCAL IntervalStyle = 'iso_8601'; SET LOCAL bytea_output = 'hex'; "
        "SET LOCAL extra_float_digits = 3"
    )


@dataclass(frozen=True)
class Table:
    """A table to copy: its stored (not generated) columns and the columns that sort its rows into
    buckets (its primary key; all its columns when it has none)."""

    columns: tuple[str, ...]
    key: tuple[str, ...]


def tables(connection: Connection) -> dict[str, Table]:
    """Every table of the bound schema (but Alembic's version table)."""
    keys: dict[str, list[str]] = {}
    for table, column in connection.exec_driver_sql(
        "SELECT c.relname, a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indisprimary AND c.relnamespace = current_schema()::regnamespace ORDER BY 1, 2"
    ):
        keys.setdefault(table, []).append(column)
    return {
        table: Table(tuple(columns), tuple(keys.get(table) or sorted(columns)))
        for table, columns in stored_columns_in_schema(connection).items()
    }


def _text_md5(columns: tuple[str, ...]) -> str:
    """The md5 of the columns' text (by name, so the same rows agree whatever order the columns were
    added in; the text is the same on both servers after :func:`settle_text_output`)."""
    return f"md5(ROW({', '.join(quote_identifier(column) for column in sorted(columns))})::text)"


def _bucket(table: Table) -> str:
    """A row's bucket, 0-255, from its key: a changed row stays in its bucket."""
    return f"get_byte(decode({_text_md5(table.key)}, 'hex'), 0)"


def _in_buckets(table: Table, buckets: list[int]) -> str:
    return f"{_bucket(table)} IN ({', '.join(str(int(bucket)) for bucket in buckets)})"


def table_state(
    connection: Connection, name: str, table: Table, buckets: list[int] | None = None
) -> TableState:
    """Per bucket (``buckets``: only those): row count and the md5 of its rows' md5s in sorted order (the
    "C" collation, which every server orders the same), in one scan of the table."""
    where = f" WHERE {_in_buckets(table, buckets)}" if buckets is not None else ""
    rows = connection.exec_driver_sql(
        "SELECT b, count(*), md5(string_agg(h, '' ORDER BY h COLLATE \"C\")) "
        f"FROM (SELECT {_bucket(table)} AS b, {_text_md5(table.columns)} AS h "
        f"FROM {quote_identifier(name)}{where}) rows GROUP BY b"
    ).all()
    return TableState({int(bucket): (int(count), checksum) for bucket, count, checksum in rows})


def states(connection: Connection, layout: dict[str, Table]) -> dict[str, TableState]:
    return {name: table_state(connection, name, table) for name, table in layout.items()}


def copy_table(
    source: Connection, target: Connection, name: str, table: Table, buckets: list[int] | None = None
) -> int:
    """Replace the target table's rows (``buckets``: only those buckets' rows) with the source's, streamed
    in PostgreSQL's binary format (no parsing on either side); the rows copied. The target's foreign keys
    must be set aside."""
    quoted = quote_identifier(name)
    listed = ", ".join(quote_identifier(column) for column in table.columns)
    rows = f"SELECT {listed} FROM {quoted}"
    if buckets is None:
        target.exec_driver_sql(f"TRUNCATE {quoted}")
    else:
        target.exec_driver_sql(f"DELETE FROM {quoted} WHERE {_in_buckets(table, buckets)}")
        rows += f" WHERE {_in_buckets(table, buckets)}"
    cursor = target.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {quoted} ({listed}) FROM STDIN (FORMAT binary)") as copy_in:
        return copy_out(source, f"COPY ({rows}) TO STDOUT (FORMAT binary)", copy_in.write)


def secondary_indexes(connection: Connection, table: str) -> list[tuple[str, str]]:
    """(name, definition) of the table's indexes that back no constraint: cheaper built once after a
    bulk load than kept up to date row by row (as pg_restore does)."""
    rows = connection.exec_driver_sql(
        "SELECT ic.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
        "WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = %(table)s "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1",
        {"table": table},
    ).all()
    return [(name, definition) for name, definition in rows]


def load_table(source: Connection, target: Connection, name: str, table: Table) -> int:
    """Fill an empty target table: its secondary indexes are dropped and built again after the rows, in
    the same transaction (a failure leaves them as they were)."""
    indexes = secondary_indexes(target, name)
    if indexes:
        target.exec_driver_sql("; ".join(f"DROP INDEX {quote_identifier(index)}" for index, _ in indexes))
    rows = copy_table(source, target, name, table)
    for _, definition in indexes:
        target.exec_driver_sql(definition)
    return rows


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


def check_same_layout(source: dict[str, Table], target: dict[str, Table]) -> None:
    """Refuse two schemas whose tables, columns or keys differ (named in the message)."""
    differing = sorted(
        name
        for name in set(source) | set(target)
        if name not in source
        or name not in target
        or sorted(source[name].columns) != sorted(target[name].columns)
        or source[name].key != target[name].key
    )
    if differing:
        raise SchemaMismatch(f"the copies' tables or columns differ: {', '.join(differing[:10])}")
