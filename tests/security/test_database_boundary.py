"""The database boundary: a tenant transaction runs on a connection that logged in as the tenant's role,
so nothing it runs (as injected SQL would) reaches the platform or another tenant."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from saas.db import db, tenant_pools, tenant_session
from saas.modules.core import services
from saas.tenant_connections import tenant_login_secret
from saas.tenants.models import Tenant
from saas.tenants.provisioning import provision_tenant
from saas.tenants.roles import held_tenant_roles, repair_tenant_logins, rotate_tenant_login
from tests.conftest import PASSWORD, bearer, make_token
from tests.security.conftest import superuser_connection

# Each probe is what injected SQL would try first to leave the tenant, then a read of the platform.
ESCAPES = {
    "reset role": "RESET ROLE",
    "reset session authorization": "RESET SESSION AUTHORIZATION",
    "set_config role none": "SELECT set_config('role', 'none', true)",
    "set role none": "SET ROLE NONE",
}


def _contact(fixture, email: str) -> None:
    with tenant_session(fixture.ref) as session:
        services.contacts.create(session, {"first_name": "Ada", "last_name": "L", "email": email})


def _refused(session, sql: str, **params) -> str:
    """Run ``sql`` in its own savepoint; the error PostgreSQL gave (the test fails if it succeeded)."""
    savepoint = session.begin_nested()
    try:
        result = session.execute(text(sql), params)
        rows = result.all() if result.returns_rows else None
    except DBAPIError as error:
        savepoint.rollback()
        return str(error.orig)
    savepoint.rollback()
    pytest.fail(f"{sql!r} was allowed and returned {rows!r}")


def test_a_tenant_transaction_is_logged_in_as_the_tenant_role_not_the_platform_user(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        users = session.execute(text("SELECT current_user, session_user")).one()
    assert users == (tenant_a.ref.role_name, tenant_a.ref.role_name)
    url = tenant_pools().engine_for(tenant_a.ref).url
    assert url.username == tenant_a.ref.role_name
    assert url.password != db.engine.url.password


@pytest.mark.parametrize("escape", sorted(ESCAPES))
def test_resetting_the_role_lands_on_the_tenant_and_the_platform_stays_unreadable(tenant_a, escape):
    with tenant_session(tenant_a.ref) as session:
        session.execute(text(ESCAPES[escape]))
        assert session.execute(text("SELECT current_user")).scalar() == tenant_a.ref.role_name
        for table in ("users", "tenants", "memberships", "api_tokens", "audit_log"):
            assert "permission denied" in _refused(session, f"SELECT * FROM platform.{table}")


def test_tenant_b_cannot_become_tenant_a_or_the_platform_user_by_any_role_switch(tenant_a, tenant_b):
    platform_user = db.engine.url.username
    with tenant_session(tenant_b.ref) as session:
        for target in (tenant_a.ref.role_name, platform_user, "postgres"):
            assert "permission denied" in _refused(session, f'SET ROLE "{target}"')
            assert "permission denied" in _refused(session, "SELECT set_config('role', :r, true)", r=target)
            assert "permission denied" in _refused(session, f'SET SESSION AUTHORIZATION "{target}"')
        assert session.execute(text("SELECT current_user")).scalar() == tenant_b.ref.role_name


def test_tenant_b_cannot_read_or_change_tenant_a_contacts_by_raw_sql(tenant_a, tenant_b):
    _contact(tenant_a, "secret@a.example")
    schema_a = tenant_a.ref.schema_name
    with tenant_session(tenant_b.ref) as session:
        assert "permission denied" in _refused(session, f'SELECT email FROM "{schema_a}".contacts')
        assert "permission denied" in _refused(session, f'DELETE FROM "{schema_a}".contacts')
        assert "permission denied" in _refused(session, f'CREATE TABLE "{schema_a}".planted (x int)')
        session.execute(text(f'SET search_path TO "{schema_a}"'))
        assert "does not exist" in _refused(session, "SELECT email FROM contacts")
    with tenant_session(tenant_a.ref) as session:
        assert session.execute(text("SELECT count(*) FROM contacts")).scalar() == 1


def test_a_tenant_cannot_run_programs_read_server_files_or_reach_other_databases(tenant_a):
    with tenant_session(tenant_a.ref) as session:
        assert "permission denied" in _refused(session, "COPY (SELECT 1) TO PROGRAM 'id'")
        assert "permission denied" in _refused(session, "COPY contacts FROM '/etc/passwd'")
        assert "permission denied" in _refused(session, "SELECT pg_read_file('postgresql.conf')")
        assert "permission denied" in _refused(session, "SELECT lo_import('/etc/passwd')")
        # dblink would open a connection as anyone: tenants may not install extensions (nor is it here).
        refused = _refused(session, "CREATE EXTENSION dblink")
        assert "permission denied" in refused or "not available" in refused
        assert "permission denied" in _refused(session, "CREATE TABLE public.planted (x int)")
        assert "permission denied" in _refused(session, "CREATE ROLE planted")
        assert "permission denied" in _refused(session, "CREATE SCHEMA planted")


def test_the_platform_user_holds_no_tenant_role_after_provisioning(tenant_a, tenant_b):
    with db.engine.connect() as connection:
        held = held_tenant_roles(connection)
        assert tenant_a.ref.role_name not in held and tenant_b.ref.role_name not in held
        with pytest.raises(DBAPIError, match="permission denied"):
            connection.exec_driver_sql(f'SET ROLE "{tenant_a.ref.role_name}"')


def _log_in(fixture, secret: str) -> str:
    url = db.engine.url
    with psycopg.connect(
        host=url.query.get("host") or url.host,
        port=url.port,
        dbname=url.database,
        user=fixture.ref.role_name,
        password=secret,
    ) as connection:
        return connection.execute("SELECT current_user").fetchone()[0]


def test_every_tenant_has_its_own_secret_and_rotation_retires_the_old_one(tenant_a, tenant_b):
    key = tenant_pools().settings.secret_key
    version_before = tenant_a.ref.login_version
    secret_a = tenant_login_secret(key, tenant_a.ref.role_name, tenant_a.ref.login_version)
    assert secret_a != tenant_login_secret(key, tenant_b.ref.role_name, tenant_b.ref.login_version)
    assert _log_in(tenant_a, secret_a) == tenant_a.ref.role_name
    # Tenant A's secret does not open tenant B.
    with pytest.raises(psycopg.OperationalError, match="authentication failed"):
        _log_in(tenant_b, secret_a)

    assert rotate_tenant_login(db.session, [tenant_a.slug], actor="test") == [tenant_a.slug]
    db.session.refresh(tenant_a.tenant)
    rotated = tenant_a.tenant.ref
    assert rotated.login_version == version_before + 1
    with pytest.raises(psycopg.OperationalError, match="authentication failed"):
        _log_in(tenant_a, secret_a)
    assert _log_in(tenant_a, tenant_login_secret(key, rotated.role_name, rotated.login_version))


def test_requests_keep_working_after_a_rotation(client, tenant_a):
    token = make_token(tenant_a)
    assert client.get("/api/v1/contacts", headers=bearer(token)).status_code == 200
    rotate_tenant_login(db.session, [tenant_a.slug], actor="test")
    created = client.post(
        "/api/v1/contacts", json={"first_name": "Grace", "last_name": "H"}, headers=bearer(token)
    )
    assert created.status_code == 201, created.get_json()
    assert (
        client.get("/api/v1/contacts", headers=bearer(token)).get_json()["data"][0]["first_name"] == "Grace"
    )


def test_an_archive_is_loaded_on_the_new_tenants_own_login_and_a_failed_load_leaves_no_role(app_ctx):
    seen: dict[str, object] = {}

    def fill(connection, ref) -> None:
        seen["users"] = tuple(connection.exec_driver_sql("SELECT current_user, session_user").one())
        connection.exec_driver_sql("RESET ROLE")  # what an injected statement in an archive would try
        seen["after reset"] = connection.exec_driver_sql("SELECT current_user").scalar()
        seen["role"] = ref.role_name

    suffix = uuid.uuid4().hex[:8]
    tenant = provision_tenant(f"imp-{suffix}", "Imported", f"imp-{suffix}@example.com", PASSWORD, fill=fill)
    assert seen == {
        "users": (tenant.role_name, tenant.role_name),
        "after reset": tenant.role_name,
        "role": tenant.role_name,
    }

    def failing_fill(connection, ref) -> None:
        seen["failed role"] = ref.role_name
        raise RuntimeError("the archive is broken")

    with pytest.raises(RuntimeError, match="broken"):
        provision_tenant(
            f"imp-{suffix}-2", "Broken", f"imp2-{suffix}@example.com", PASSWORD, fill=failing_fill
        )
    with db.engine.connect() as connection:
        leftover = connection.execute(
            text("SELECT count(*) FROM pg_roles WHERE rolname = :r"), {"r": seen["failed role"]}
        ).scalar()
    assert leftover == 0
    assert db.session.scalar(select(Tenant).where(Tenant.slug == f"imp-{suffix}-2")) is None


def test_tenant_verifiers_use_the_configured_scram_iterations(tenant_a):
    """Tenant secrets are random, so their verifiers skip PostgreSQL's costly default stretching."""
    iterations = tenant_pools().settings.scram_iterations
    with superuser_connection() as su:
        verifier = su.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (tenant_a.ref.role_name,)
        ).fetchone()[0]
    assert verifier.startswith(f"SCRAM-SHA-256${iterations}:")


def test_a_role_made_by_an_older_release_gets_its_login_and_loses_the_platform_user(tenant_a):
    """Before tenant logins, roles were NOLOGIN and the platform user a member of each."""
    role = f'"{tenant_a.ref.role_name}"'
    with db.engine.begin() as connection:
        connection.exec_driver_sql(f"ALTER ROLE {role} NOLOGIN; GRANT {role} TO CURRENT_USER")
    tenant_pools().forget_tenant(tenant_a.ref.id)
    with db.engine.connect() as connection:
        assert tenant_a.ref.role_name in held_tenant_roles(connection)

    assert repair_tenant_logins([tenant_a.ref]) == [tenant_a.slug]
    assert repair_tenant_logins([tenant_a.ref]) == []  # nothing left to repair
    with db.engine.connect() as connection:
        assert tenant_a.ref.role_name not in held_tenant_roles(connection)
    with tenant_session(tenant_a.ref) as session:
        assert session.execute(text("SELECT current_user")).scalar() == tenant_a.ref.role_name
