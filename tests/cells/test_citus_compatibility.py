"""The tenant schema stays compatible with Citus schema-based sharding (docs/operations.md): nothing in the
catalog ties a tenant schema to the directory or to another tenant (foreign keys, views, triggers,
column defaults), and every statement a tenant connection runs names no schema but its own."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from tests.cells.conftest import CELL_B
from tests.conftest import bearer, login, make_token

pytestmark = pytest.mark.usefixtures("leave_no_cell_b_tenants")

TENANT = r"^t_[0-9a-f]{12}$"
SCHEMA_NAME = re.compile(r"\b(t_[0-9a-f]{12}|platform)\b")

# Each query lists catalog links that cross from one schema to another where either end is a tenant
# schema (or a tenant schema and the platform): Citus places each tenant schema on one node alone.
CROSSING_LINKS = {
    "foreign keys": """
        SELECT c.conname FROM pg_constraint c
        JOIN pg_class s ON s.oid = c.conrelid JOIN pg_class t ON t.oid = c.confrelid
        WHERE c.contype = 'f' AND s.relnamespace <> t.relnamespace
          AND (s.relnamespace::regnamespace::text ~ :tenant OR t.relnamespace::regnamespace::text ~ :tenant)
    """,
    "views": """
        SELECT v.relname FROM pg_class v
        JOIN pg_rewrite r ON r.ev_class = v.oid
        JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
             AND d.refclassid = 'pg_class'::regclass
        JOIN pg_class t ON t.oid = d.refobjid
        WHERE v.relkind IN ('v', 'm') AND t.relnamespace <> v.relnamespace
          AND (v.relnamespace::regnamespace::text ~ :tenant OR t.relnamespace::regnamespace::text ~ :tenant)
    """,
    "triggers": """
        SELECT g.tgname FROM pg_trigger g
        JOIN pg_class s ON s.oid = g.tgrelid JOIN pg_proc p ON p.oid = g.tgfoid
        WHERE NOT g.tgisinternal AND p.pronamespace <> s.relnamespace
          AND p.pronamespace <> 'pg_catalog'::regnamespace
          AND (s.relnamespace::regnamespace::text ~ :tenant OR p.pronamespace::regnamespace::text ~ :tenant)
    """,
    "column defaults": """
        SELECT s.relname FROM pg_attrdef a
        JOIN pg_class s ON s.oid = a.adrelid
        JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = a.oid
             AND d.refclassid = 'pg_class'::regclass
        JOIN pg_class t ON t.oid = d.refobjid
        WHERE t.relnamespace <> s.relnamespace
          AND (s.relnamespace::regnamespace::text ~ :tenant OR t.relnamespace::regnamespace::text ~ :tenant)
    """,
    "functions naming another schema": """
        SELECT p.proname FROM pg_proc p
        WHERE (p.pronamespace::regnamespace::text ~ :tenant AND p.prosrc ~ 'platform\\.')
           OR (p.pronamespace::regnamespace::text = 'platform' AND p.prosrc ~ 't_[0-9a-f]{12}')
    """,
}


@pytest.mark.parametrize("kind", sorted(CROSSING_LINKS))
def test_no_catalog_link_crosses_a_tenant_schema(servers, make_cell_tenant, kind):
    make_cell_tenant("default", "citus")  # at least one tenant schema on each server
    make_cell_tenant(CELL_B, "citus")
    for server in servers.values():
        with server.engine.connect() as connection:
            tenants = connection.execute(
                text("SELECT count(*) FROM pg_namespace WHERE nspname ~ :tenant"), {"tenant": TENANT}
            ).scalar()
            crossing = connection.execute(text(CROSSING_LINKS[kind]), {"tenant": TENANT}).scalars().all()
        assert tenants > 0
        assert crossing == [], f"{kind} crossing schemas on cell {server.name}: {crossing}"


def test_every_statement_of_a_tenant_connection_stays_in_its_own_schema(app, app_ctx, make_cell_tenant):
    tenant = make_cell_tenant(CELL_B, "stmt")
    token = make_token(tenant)
    seen: list[tuple[str, str]] = []  # (login role, statement) of every tenant connection

    def record(connection, cursor, statement, parameters, context, executemany):
        role = connection.engine.url.username or ""
        if re.match(TENANT, role):
            seen.append((role, statement))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        client = app.test_client()
        headers = bearer(token)
        person = {"first_name": "Iva", "last_name": "C"}
        contact = client.post("/api/v1/contacts", json=person, headers=headers)
        assert contact.status_code == 201, contact.get_json()
        deal = client.post("/api/v1/deals", json={"name": "Citus"}, headers=headers)
        assert deal.status_code == 201, deal.get_json()
        assert client.get("/api/v1/contacts", headers=headers).status_code == 200
        login(client, tenant.email, tenant.password)
        for page in ("contacts", "deals", "settings"):
            assert client.get(f"/t/{tenant.slug}/{page}").status_code == 200
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert len(seen) > 10
    strays = [
        (role, statement)
        for role, statement in seen
        if any(name != role for name in SCHEMA_NAME.findall(statement))
    ]
    assert strays == [], f"tenant statements naming another schema: {strays[:3]}"
