"""Provisioning and purging tenants.

A tenant is created in one PostgreSQL transaction: role, schema, tables (from the current
metadata, not by replaying the migration history), version stamp, registry row, admin user,
membership and audit entry. PostgreSQL DDL is transactional, so any failure leaves nothing behind.
In a cell other than the default one (:mod:`saas.cells`) the role and schema are built in the cell's
cluster, committed first, and dropped again if the platform rows then fail.
An import loads the archive on the new tenant's own login instead (see ``provision_tenant``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Collection
from dataclasses import replace
from functools import cache

from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateIndex, CreateTable

from saas.audit import record_audit
from saas.auth.models import Membership, User
from saas.auth.passwords import check_password_policy, hash_password, verify_password
from saas.auth.services import find_user_by_email, normalise_email
from saas.cells import DEFAULT_CELL, admin_engine, cell_directory
from saas.db import (
    TENANT_SCHEMA_PLACEHOLDER,
    TenantBase,
    TenantRef,
    act_as_tenant,
    db,
    tenant_pools,
)
from saas.errors import ProvisioningError, ValidationError
from saas.i18n import N_
from saas.migrations import head_revision
from saas.models import load_all_models
from saas.sql import quote_identifier
from saas.tenants.models import Tenant
from saas.tenants.pool import claim_ready_schema, refill_soon
from saas.tenants.roles import (
    cell_admin_connection,
    create_tenant_role,
    drop_tenant_role,
    release_tenant_role,
)
from saas.tenants.signals import tenant_provisioned

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$")
RESERVED_SLUGS = frozenset(
    {
        "admin", "api", "app", "auth", "billing", "blog", "dashboard", "docs", "help", "login", "logout",
        "mail", "new", "platform", "portal", "postgres", "pricing", "privacy", "public", "root", "saas",
        "settings", "signup", "static", "status", "support", "system", "tenant", "tenants", "www",
    }
)  # fmt: skip


def validate_slug(slug: str) -> str:
    slug = (slug or "").strip()
    if not SLUG_PATTERN.match(slug) or "--" in slug:
        raise ValidationError(
            "Invalid workspace address.",
            {"slug": [N_("Use 3-40 lowercase letters, digits and single hyphens, not at either end.")]},
        )
    if slug in RESERVED_SLUGS:
        raise ValidationError(
            N_("Reserved workspace address."), {"slug": [N_("'%(slug)s' is reserved.", slug=slug)]}
        )
    return slug


def check_cell(cell: str, offered: Collection[str] | None = None) -> None:
    """Refuse a cell the operator did not declare, or (``offered``) does not offer: a tampered form, a
    signup link mailed before the region was withdrawn."""
    names = offered if offered is not None else [declared.name for declared in cell_directory()]
    if cell not in names:
        message = N_("Choose one of the regions offered.")
        raise ValidationError("Unknown region.", {"cell": [message]})


def validate_tenant_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationError("Invalid company name.", {"name": [N_("Enter a name of 1-200 characters.")]})
    return name


_UNQUALIFIED = "tenant_schema_marker"


@cache
def tenant_schema_ddl() -> tuple[str, str]:
    """The DDL of every tenant table with unqualified names, and the head revision it matches.

    Compiled once per process; run inside a transaction whose search_path is the new tenant's
    schema, it builds the whole schema in one round trip.
    """
    load_all_models()
    dialect = postgresql.dialect()
    translate = {
        "schema_translate_map": {TENANT_SCHEMA_PLACEHOLDER: _UNQUALIFIED},
        "render_schema_translate": True,
    }
    statements = []
    for table in TenantBase.metadata.sorted_tables:
        statements.append(str(CreateTable(table).compile(dialect=dialect, **translate)))
        statements += [
            str(CreateIndex(index).compile(dialect=dialect, **translate)) for index in table.indexes
        ]
    # The same version table Alembic creates, so `saas tenants migrate` continues from here.
    statements.append(
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
        "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
    )
    head = head_revision("tenant")
    statements.append(f"INSERT INTO alembic_version (version_num) VALUES ('{head}')")
    ddl = ";\n".join(statement.strip() for statement in statements).replace(f"{_UNQUALIFIED}.", "")
    return ddl, head


def create_tenant_tables(connection: Connection, tenant: TenantRef) -> str:
    """Create every tenant table in the tenant's schema, as its role, and stamp the head revision."""
    ddl, head = tenant_schema_ddl()
    act_as_tenant(connection, tenant)
    connection.exec_driver_sql(ddl)
    _seed_modules(connection, tenant)
    return head


def _seed_modules(connection: Connection, tenant: TenantRef) -> None:
    """Let each module fill the new tenant's tables, inside the provisioning transaction."""
    from saas.modules.registry import registry

    seeds = [module.seed for module in registry if module.seed is not None]
    if not seeds:
        return
    translated = connection.execution_options(
        schema_translate_map={TENANT_SCHEMA_PLACEHOLDER: tenant.schema_name}
    )
    # Bound to the open connection, the session joins its transaction and never commits it.
    with Session(bind=translated) as session:
        for seed in seeds:
            seed(session)
        session.flush()


def _admin_user(email: str, password: str) -> User:
    """The existing user for ``email`` (who must prove it with their password) or a new one."""
    user = find_user_by_email(db.session, email)
    if user is None:
        user = User(email=email, password_hash=hash_password(password), is_active_flag=True)
        db.session.add(user)
        return user
    if not verify_password(user.password_hash, password):
        raise ValidationError(
            "This email already has an account.",
            {"admin_email": [N_("Sign in with this email's password, or use another email.")]},
        )
    return user


SchemaFiller = Callable[[Connection, TenantRef], None]

FIELD_CHECKS: dict[str, Callable[[str], str | None]] = {
    "slug": validate_slug,
    "name": validate_tenant_name,
    "admin_email": lambda value: normalise_email(value, field="admin_email"),
    "admin_password": lambda value: check_password_policy(value, field="admin_password"),
}
"""How each field of a new tenant is checked: the cleaned value, ``None`` (kept as given) or a
:class:`ValidationError`."""


def check_tenant_fields(values: dict[str, str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Check every field present in ``values`` at once (and whether the slug is free): the cleaned
    values and the messages of every field at fault, so a form can show them all in one answer."""
    checked, errors = dict(values), {}
    for field, value in values.items():
        try:
            cleaned = FIELD_CHECKS[field](value)
        except ValidationError as error:
            errors.update(error.errors or {field: [error.detail]})
            continue
        if cleaned is not None:
            checked[field] = cleaned
    slug = checked.get("slug") if "slug" not in errors else None
    if slug and db.session.scalar(select(Tenant.id).where(Tenant.slug == slug)):
        errors["slug"] = [N_("'%(slug)s' is already taken.", slug=slug)]
    return checked, errors


def provision_tenant(
    slug: str,
    name: str,
    admin_email: str,
    admin_password: str,
    *,
    actor: str = "signup",
    schema_version: str | None = None,
    fill: SchemaFiller | None = None,
    owner: User | None = None,
    configure: Callable[[Tenant, Membership], None] | None = None,
    cell: str = DEFAULT_CELL,
) -> Tenant:
    """Create a tenant with its schema, role, tables and owner; all or nothing.

    By default the tables are created at the newest revision and modules seed them, in one platform
    transaction. With ``fill`` (an import), the role is committed first, then the schema is built empty
    at ``schema_version``, ``fill`` loads it on the tenant's own login and the schema is migrated to the
    newest revision, in one tenant transaction; the registry rows follow. A failure anywhere drops the
    role and its schema again.

    ``cell``: where the schema and role are made (:mod:`saas.cells`). Outside the default cell (whose
    cluster is the platform's) the cell's transaction commits first and a later failure drops the role
    there again.

    ``owner`` is an account that already proved itself (a signed-in person importing an archive): no
    password is asked. ``configure`` adds platform rows (an archive's configuration) in the same
    transaction as the tenant and its owner's membership.
    """
    fields = {"slug": slug, "name": name}
    if owner is None:
        fields.update(admin_email=admin_email, admin_password=admin_password)
    checked, errors = check_tenant_fields(fields)
    if errors:
        raise ValidationError("Please correct the marked fields.", errors)
    slug, name = checked["slug"], checked["name"]
    check_cell(cell)

    tenant_id = secrets.token_hex(6)
    ref = TenantRef(
        id=tenant_id, slug=slug, schema_name=f"t_{tenant_id}", role_name=f"t_{tenant_id}", cell=cell
    )
    session = db.session
    # Whether the role is committed outside the platform transaction, so a failure must drop it.
    committed_elsewhere = False
    try:
        user = owner or _admin_user(checked["admin_email"], admin_password)
        ready = claim_ready_schema(cell) if fill is None else None
        if ready is not None:  # built ahead, exactly as below; its id becomes the tenant's
            ready_ref, version = ready
            ref = replace(ready_ref, slug=slug)
        elif fill is None:
            committed_elsewhere = cell != DEFAULT_CELL
            with cell_admin_connection(session, cell) as connection:
                create_tenant_role(connection, ref)
                version = create_tenant_tables(connection, ref)
                release_tenant_role(connection, ref)
        else:
            # It drops the role itself if the load fails; afterwards a failure here must.
            version = _import_as_new_role(ref, schema_version or head_revision("tenant"), fill)
            committed_elsewhere = True
        tenant = Tenant(
            id=ref.id,
            slug=slug,
            name=name,
            schema_name=ref.schema_name,
            role_name=ref.role_name,
            cell=ref.cell,
            status="active",
            schema_version=version,
        )
        session.add(tenant)
        session.flush()
        membership = Membership(user_id=user.id, tenant_id=tenant.id, role="owner")
        session.add(membership)
        session.flush()
        if configure is not None:
            configure(tenant, membership)
        record_audit(
            session,
            "tenant.imported" if fill else "tenant.provisioned",
            actor=actor,
            tenant_id=tenant.id,
            target=slug,
        )
        session.commit()
    except IntegrityError as error:
        session.rollback()
        if committed_elsewhere:
            _drop_committed_role(ref)
        raise ProvisioningError(
            N_("Workspace '%(slug)s' could not be created: it already exists.", slug=slug)
        ) from error
    except BaseException:
        session.rollback()
        if committed_elsewhere:
            _drop_committed_role(ref)
        raise
    if ready is not None:
        refill_soon()
    tenant_provisioned.send(ref, actor=actor)
    return tenant


def _import_as_new_role(tenant: TenantRef, version: str, fill: SchemaFiller) -> str:
    """An import: the role and its empty schema are committed first, so the archive is loaded by the
    tenant's own login, never inside a transaction holding the platform's privileges. Any failure
    drops the role and everything it owns again."""
    with admin_engine(tenant.cell).begin() as connection:
        create_tenant_role(connection, tenant)
        release_tenant_role(connection, tenant)
    try:
        with tenant_pools().engine_for(tenant).begin() as connection:
            return _build_and_fill(connection, tenant, version, fill)
    except BaseException:
        _drop_committed_role(tenant)
        raise


def refill_tenant_schema(
    tenant: TenantRef,
    version: str,
    fill: SchemaFiller,
    *,
    before: Callable[[Connection], None] | None = None,
) -> str:
    """Replace every table of an existing tenant with ``fill``'s at ``version`` (then migrated to the
    newest revision), in one transaction on the tenant's own login: a failure leaves it as it was.

    Its tables are locked first and ``before`` may then refuse (a restore checks the workspace is still
    empty), so no write slips in between the check and the replacement.
    """
    with tenant_pools().engine_for(tenant).begin() as connection:
        tables = (
            connection.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
            )
            .scalars()
            .all()
        )
        listed = ", ".join(quote_identifier(t) for t in tables)
        if tables:
            connection.exec_driver_sql(f"LOCK TABLE {listed} IN ACCESS EXCLUSIVE MODE")
        if before is not None:
            before(connection)
        if tables:
            connection.exec_driver_sql(f"DROP TABLE {listed} CASCADE")
        return _build_and_fill(connection, tenant, version, fill)


def _drop_committed_role(tenant: TenantRef) -> None:
    tenant_pools().forget_tenant(tenant.id)
    with admin_engine(tenant.cell).begin() as connection:
        drop_tenant_role(connection, tenant.role_name)


def _build_and_fill(connection: Connection, tenant: TenantRef, version: str, fill: SchemaFiller) -> str:
    """Empty tables at ``version``, filled by ``fill``, then upgraded to the newest revision.

    ``connection`` is logged in as the tenant (its search path is its schema).
    """
    from saas.migrations import current_revision, migrate_connection

    head = head_revision("tenant")
    if version == head:
        connection.exec_driver_sql(tenant_schema_ddl()[0])
    else:
        migrate_connection("tenant", connection, version, tenant_schema=tenant.schema_name)
        # Data migrations on the way (e.g. a default pipeline) must not mix with the archive's rows.
        tables = (
            connection.exec_driver_sql(
                "SELECT tablename FROM pg_tables "
                "WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
            )
            .scalars()
            .all()
        )
        if tables:
            connection.exec_driver_sql(
                "TRUNCATE " + ", ".join(quote_identifier(t) for t in tables) + " CASCADE"
            )
    fill(connection, tenant)
    if version != head:
        migrate_connection("tenant", connection, "head", tenant_schema=tenant.schema_name)
    return current_revision(connection, tenant.schema_name)


def purge_tenant(tenant_id: str, *, actor: str) -> None:
    """Delete a tenant for good: its schema, its role and its registry rows."""
    session = db.session
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        return
    ref = tenant.ref
    tenant_pools().forget_tenant(ref.id)
    # DROP OWNED removes the schema and everything in it, then the role can go (in the tenant's cell).
    with cell_admin_connection(session, ref.cell) as connection:
        drop_tenant_role(connection, ref.role_name)
    session.delete(tenant)
    record_audit(session, "tenant.purged", actor=actor, tenant_id=ref.id, target=ref.slug)
    session.commit()
