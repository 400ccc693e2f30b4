"""Tenant database roles: created able to log in, rotated, repaired and dropped by the platform user.

A tenant's connections log in as its role with a password derived from a key (never stored). The
platform's database user needs CREATEROLE to manage these roles, but it is a member of a tenant role
only inside the transaction that provisions or drops it: afterwards no ``SET ROLE`` path leads from
the platform user into a tenant, and none leads out of a tenant at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from saas.cells import DEFAULT_CELL, admin_engine
from saas.db import TenantRef, tenant_pools
from saas.sql import quote_identifier
from saas.tenant_connections import scram_verifier, tenant_login_secret


def _login_clause(connection: Connection, tenant: TenantRef) -> str:
    settings = tenant_pools().settings
    secret = tenant_login_secret(settings.secret_key, tenant.role_name, tenant.login_version)
    # A verifier, not the password: the secret never appears in SQL text or the server's logs.
    verifier = scram_verifier(connection, tenant.role_name, secret, settings.scram_iterations)
    return f"LOGIN PASSWORD '{verifier}'"


def create_tenant_role(connection: Connection, tenant: TenantRef) -> None:
    """Create the role (able to log in) and its schema; the caller holds the role until it releases it."""
    role, schema = quote_identifier(tenant.role_name), quote_identifier(tenant.schema_name)
    connection.exec_driver_sql(
        f"CREATE ROLE {role} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS "
        f"{_login_clause(connection, tenant)}; "
        f"ALTER ROLE {role} SET search_path TO {schema}; "
        # Needed for CREATE SCHEMA ... AUTHORIZATION and to build the tables as the role.
        f"GRANT {role} TO CURRENT_USER; "
        f"CREATE SCHEMA {schema} AUTHORIZATION {role}"
    )


def release_tenant_role(connection: Connection, tenant: TenantRef) -> None:
    """End the provisioning transaction's hold on the role: the platform user keeps no membership."""
    connection.exec_driver_sql(
        f"RESET ROLE; RESET search_path; REVOKE {quote_identifier(tenant.role_name)} FROM CURRENT_USER"
    )


def set_tenant_login(connection: Connection, tenant: TenantRef, held: set[str]) -> None:
    """(Re)set the role's password for ``tenant.login_version`` and its search path; drop the membership
    if the platform user is among ``held`` (``held_tenant_roles``, read once by the caller).

    Repairs roles made before tenants logged in (NOLOGIN, the platform user a member of them).
    """
    role, schema = quote_identifier(tenant.role_name), quote_identifier(tenant.schema_name)
    connection.exec_driver_sql(f"ALTER ROLE {role} {_login_clause(connection, tenant)}")
    connection.exec_driver_sql(f"ALTER ROLE {role} SET search_path TO {schema}")
    if tenant.role_name in held:
        connection.exec_driver_sql(f"REVOKE {role} FROM CURRENT_USER")


def drop_tenant_role(connection: Connection, role_name: str) -> None:
    """Drop the role and everything it owns (its schema), taking the membership that needs."""
    role = quote_identifier(role_name)
    connection.exec_driver_sql(
        f"GRANT {role} TO CURRENT_USER; DROP OWNED BY {role} CASCADE; DROP ROLE {role}"
    )


def held_tenant_roles(connection: Connection) -> set[str]:
    """Tenant roles the current user can act as (SET ROLE) or whose privileges it inherits."""
    rows = connection.exec_driver_sql(
        "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
        "WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = CURRENT_USER) "
        "AND (m.set_option OR m.inherit_option) AND r.rolname ~ '^t_[0-9a-f]{12}$'"
    )
    return {row[0] for row in rows}


def roles_needing_repair(connection: Connection, tenants: list[TenantRef], held: set[str]) -> list[TenantRef]:
    """Tenants whose role cannot log in, or that the platform user still holds (``held``)."""
    no_login = {
        row[0]
        for row in connection.exec_driver_sql(
            "SELECT rolname FROM pg_roles WHERE NOT rolcanlogin AND rolname ~ '^t_[0-9a-f]{12}$'"
        )
    }
    return [t for t in tenants if t.role_name in held or t.role_name in no_login]


@contextmanager
def cell_admin_connection(platform: Session | Connection, cell: str) -> Iterator[Connection]:
    """A connection that manages tenant roles in ``cell``: in the default cell the platform session's (or
    connection's) own (one transaction with the directory rows), elsewhere a transaction on the cell's
    admin engine that commits when the block ends, before the platform's (re-running the operation
    repairs a half-done one).
    """
    if cell == DEFAULT_CELL:
        yield platform if isinstance(platform, Connection) else platform.connection()
        return
    with admin_engine(cell).begin() as connection:
        yield connection


def by_cell(tenants: list[TenantRef]) -> dict[str, list[TenantRef]]:
    """``tenants`` grouped by their cell, in their order."""
    groups: dict[str, list[TenantRef]] = {}
    for tenant in tenants:
        groups.setdefault(tenant.cell, []).append(tenant)
    return groups


def repair_tenant_logins(tenants: list[TenantRef]) -> list[str]:
    """Give every tenant in ``tenants`` that needs it a login (see ``set_tenant_login``), each in its own
    cell's cluster; their slugs."""
    needing: list[TenantRef] = []
    for cell, members in by_cell(tenants).items():
        with admin_engine(cell).begin() as connection:
            held = held_tenant_roles(connection)
            repaired = roles_needing_repair(connection, members, held)
            for tenant in repaired:
                set_tenant_login(connection, tenant, held)
        needing += repaired
    return [tenant.slug for tenant in needing]


def rotate_tenant_login(session: Session, slugs: list[str] | None, *, actor: str) -> list[str]:
    """Move the named tenants (``None``: all) to a new derived password; connections made with the old
    one are closed in this process and, elsewhere, age out of their pools (``TENANT_POOL_IDLE_SECONDS``)."""
    from saas.audit import record_audit
    from saas.tenants.models import Tenant

    query = select(Tenant).order_by(Tenant.slug)
    if slugs is not None:
        query = query.where(Tenant.slug.in_(slugs))
    rotated: dict[str, str] = {}  # tenant id -> slug
    held: dict[str, set[str]] = {}  # cell -> roles the admin user holds there
    for tenant in session.scalars(query):
        tenant.db_login_version += 1
        with cell_admin_connection(session, tenant.cell) as connection:
            if tenant.cell not in held:
                held[tenant.cell] = held_tenant_roles(connection)
            set_tenant_login(connection, tenant.ref, held[tenant.cell])
        record_audit(
            session, "tenant.db_secret_rotated", actor=actor, tenant_id=tenant.id, target=tenant.slug
        )
        rotated[tenant.id] = tenant.slug
    session.commit()
    for tenant_id in rotated:
        tenant_pools().forget_tenant(tenant_id)
    return list(rotated.values())
