"""Migration t0027 (products and quotes) builds what a new workspace gets from the models: the same
columns, constraints and indexes, and the default price book."""

from __future__ import annotations

from sqlalchemy import text

from saas.db import db, tenant_pools, tenant_session
from saas.modules.sfa import products
from saas.tenants.migrations import migrate_tenant
from saas.tenants.models import Tenant

TABLES = (
    "products",
    "price_books",
    "product_prices",
    "quotes",
    "quote_lines",
    "quote_counters",
    "quote_settings",
)


def _shape(fixture) -> dict[str, list]:
    schema = fixture.tenant.schema_name
    queries = {
        "columns": "SELECT table_name, column_name, data_type, character_maximum_length, numeric_precision, "
        "numeric_scale, is_nullable, column_default, is_generated FROM information_schema.columns "
        "WHERE table_schema = :s AND (table_name = ANY(:t) OR (table_name = 'deals' "
        "AND column_name = 'amount_follows_quote')) ORDER BY 1, 2",
        "constraints": "SELECT conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = :s "
        "AND conrelid::regclass::text LIKE ANY(:p) ORDER BY 1",
        "indexes": "SELECT indexname, regexp_replace(indexdef, ' ON .*\\.', ' ON ') FROM pg_indexes "
        "WHERE schemaname = :s AND tablename = ANY(:t) ORDER BY 1",
    }
    patterns = [f"%{table}" for table in TABLES]
    with tenant_pools().engine_for(fixture.ref).connect() as connection:
        return {
            name: [
                tuple(row)
                for row in connection.execute(text(sql), {"s": schema, "t": list(TABLES), "p": patterns})
            ]
            for name, sql in queries.items()
        }


def test_migrating_to_t0027_gives_the_models_schema_and_a_default_price_book(make_tenant):
    fresh, migrated = make_tenant("fresh"), make_tenant("migrated")
    assert migrate_tenant(migrated.ref, target="t0026").to_version == "t0026"
    db.session.get(Tenant, migrated.tenant.id).schema_version = "t0026"
    db.session.commit()
    result = migrate_tenant(migrated.ref, target="t0027")
    assert result.status == "upgraded" and result.to_version == "t0027", result.error
    got, want = _shape(migrated), _shape(fresh)
    for name in want:
        assert sorted(map(str, set(got[name]) ^ set(want[name]))) == [], name
    with tenant_session(migrated.ref) as session:
        assert [(book.name, book.is_default) for book in products.list_price_books(session)] == [
            ("Standard", True)
        ]
