"""One COPY per table writes each table's CSV and JSON Lines: the same bytes as a COPY of each alone."""

from __future__ import annotations

import zipfile

import pytest

from saas.db import tenant_session
from saas.exports.services import export_tenant_to_file
from saas.exports.writer import copy_out, prepare_export_transaction, tables_in_schema
from saas.modules.core.services import accounts, contacts
from saas.sql import quote_identifier, quote_identifiers
from tests.exports.fixtures import fill_every_table

pytestmark = pytest.mark.usefixtures("s3")

# Text that could fool a splitter: the JSON column's opening, quotes, separators, newlines, backslashes.
AWKWARD = [
    'a,"{b',
    '",{"',
    '{"key": "value"}',
    'line one\nline two\r\n"quoted", \\"escaped\\"',
    '\\,\\"{',
    "ünïcode ✓ 中文",
    "",
]


def test_each_table_is_written_as_its_own_csv_and_json_copies_would_write_it(tenant_a, tmp_path):
    fill_every_table(tenant_a)
    with tenant_session(tenant_a.ref) as session:
        for text in AWKWARD:
            account = accounts.create(session, {"name": text or "-", "notes": text})
            contacts.create(session, {"last_name": text or "-", "notes": text, "account_id": account.id})
    path = tmp_path / "export.zip"
    with open(path, "wb") as target:
        export_tenant_to_file(tenant_a.tenant, target)
    with zipfile.ZipFile(path) as archive, tenant_session(tenant_a.ref) as session:
        connection = session.connection()
        prepare_export_transaction(connection)
        specs = tables_in_schema(connection)
        assert {"contacts", "accounts"} <= {spec.name for spec in specs}
        for spec in specs:
            csv, jsonl = _separately(connection, spec)
            assert archive.read(f"data/{spec.name}.csv") == csv, spec.name
            assert archive.read(f"data/{spec.name}.jsonl") == jsonl, spec.name


def _separately(connection, spec) -> tuple[bytes, bytes]:
    """The table's CSV and JSON Lines as two COPYs of their own (how the export read them before)."""
    columns = ", ".join(
        f"''::text AS {quote_identifier(c)}" if c in spec.withheld else quote_identifier(c)
        for c in spec.columns
    )
    order = quote_identifiers(spec.primary_key)
    table = quote_identifier(spec.name)
    row_order = ", ".join(f"r.{quote_identifier(c)}" for c in spec.primary_key)
    csv = f"COPY (SELECT {columns} FROM {table} ORDER BY {order}) TO STDOUT WITH (FORMAT csv, HEADER)"
    jsonl = (
        f"COPY (SELECT row_to_json(r) FROM (SELECT {columns} FROM {table}) r ORDER BY {row_order}) "
        "TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
    )
    return _copied(connection, csv), _copied(connection, jsonl)


def _copied(connection, query: str) -> bytes:
    chunks: list[bytes] = []
    copy_out(connection, query, lambda data: chunks.append(bytes(data)))
    return b"".join(chunks)
