"""Provisioning: what a new tenant gets, and that a failure leaves nothing behind."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select, text

from saas.audit import AuditEntry
from saas.auth.models import Membership, User
from saas.db import db, tenant_pools
from saas.errors import ValidationError
from saas.migrations import head_revision
from saas.tenants.migrations import migrate_tenant
from saas.tenants.models import Tenant
from saas.tenants.provisioning import provision_tenant
from saas.tenants.roles import held_tenant_roles
from tests.conftest import PASSWORD


def _footprint() -> dict[str, int]:
    """Counts of everything provisioning creates, to compare before and after a failure."""
    connection = db.session.connection()
    return {
        "schemas": connection.scalar(text("SELECT count(*) FROM pg_namespace WHERE nspname ~ '^t_'")),
        "roles": connection.scalar(text("SELECT count(*) FROM pg_roles WHERE rolname ~ '^t_'")),
        "tenants": db.session.scalar(select(func.count()).select_from(Tenant)),
        "users": db.session.scalar(select(func.count()).select_from(User)),
        "memberships": db.session.scalar(select(func.count()).select_from(Membership)),
        "audit": db.session.scalar(select(func.count()).select_from(AuditEntry)),
    }


def test_provisioning_creates_schema_role_tables_owner_and_audit(make_tenant):
    fixture = make_tenant("prov")
    tenant = fixture.tenant
    connection = db.session.connection()
    assert tenant.schema_name == f"t_{tenant.id}"
    owner = connection.scalar(
        text(
            "SELECT r.rolname FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner WHERE n.nspname = :s"
        ),
        {"s": tenant.schema_name},
    )
    assert owner == tenant.role_name
    can_login = connection.scalar(
        text("SELECT rolcanlogin FROM pg_roles WHERE rolname = :r"), {"r": tenant.role_name}
    )
    # The tenant's own connections log in as its role; the platform user keeps no way into it.
    assert can_login is True
    assert tenant.role_name not in held_tenant_roles(connection)
    tables = set(
        connection.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": tenant.schema_name}
        )
    )
    assert {"contacts", "accounts", "alembic_version"} <= tables
    with tenant_pools().engine_for(tenant.ref).connect() as own:
        version = own.scalar(text(f'SELECT version_num FROM "{tenant.schema_name}".alembic_version'))
    assert version == head_revision("tenant") == tenant.schema_version
    membership = db.session.scalar(select(Membership).where(Membership.tenant_id == tenant.id))
    assert membership.role == "owner" and membership.user.email == fixture.email
    assert db.session.scalar(
        select(AuditEntry).where(AuditEntry.tenant_id == tenant.id, AuditEntry.action == "tenant.provisioned")
    )


def _catalog(schema: str) -> dict[str, list]:
    """The shape of a schema as PostgreSQL sees it: columns, constraints and indexes."""
    connection = db.session.connection()
    columns = connection.execute(
        text(
            "SELECT table_name, column_name, data_type, character_maximum_length, is_nullable, "
            "column_default, generation_expression FROM information_schema.columns "
            "WHERE table_schema = :s ORDER BY table_name, column_name"
        ),
        {"s": schema},
    ).all()
    constraints = connection.execute(
        text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE connamespace = :s ::regnamespace ORDER BY 2"
        ),
        {"s": schema},
    ).all()
    indexes = connection.execute(
        text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = :s ORDER BY 1"), {"s": schema}
    ).all()
    strip = lambda value: value.replace(schema, "<schema>") if isinstance(value, str) else value  # noqa: E731
    return {
        "columns": [tuple(map(strip, row)) for row in columns],
        "constraints": [tuple(map(strip, row)) for row in constraints],
        "indexes": [tuple(map(strip, row)) for row in indexes],
    }


def test_schema_from_metadata_matches_schema_from_replaying_history(make_tenant):
    provisioned = make_tenant("meta").tenant
    replayed = make_tenant("replay").tenant
    # Rebuild the second tenant's schema by replaying the whole Alembic history from base.
    assert migrate_tenant(replayed.ref, target="base").status == "upgraded"
    result = migrate_tenant(replayed.ref, target="head")
    assert result.status == "upgraded", result.error
    assert result.from_version is None and result.to_version == head_revision("tenant")
    assert _catalog(provisioned.schema_name) == _catalog(replayed.schema_name)


def test_duplicate_slug_is_refused_and_leaves_nothing(make_tenant):
    existing = make_tenant("dup")
    before = _footprint()
    with pytest.raises(ValidationError) as caught:
        provision_tenant(existing.slug, "Another", f"x-{uuid.uuid4().hex[:6]}@example.com", PASSWORD)
    assert "slug" in caught.value.errors
    assert _footprint() == before


@pytest.mark.parametrize(
    ("slug", "name", "email", "password", "field"),
    [
        ("ab", "Name", "ok@example.com", PASSWORD, "slug"),
        ("Has-Caps", "Name", "ok@example.com", PASSWORD, "slug"),
        ("-edge", "Name", "ok@example.com", PASSWORD, "slug"),
        ("double--hyphen", "Name", "ok@example.com", PASSWORD, "slug"),
        ("x" * 41, "Name", "ok@example.com", PASSWORD, "slug"),
        ("admin", "Name", "ok@example.com", PASSWORD, "slug"),
        ("good-slug", "", "ok@example.com", PASSWORD, "name"),
        ("good-slug", "Name", "not-an-email", PASSWORD, "admin_email"),
        ("good-slug", "Name", "ok@example.com", "short", "admin_password"),
    ],
)
def test_invalid_provisioning_input_is_refused_and_leaves_nothing(
    app_ctx, slug, name, email, password, field
):
    before = _footprint()
    with pytest.raises(ValidationError) as caught:
        provision_tenant(slug, name, email, password)
    assert field in caught.value.errors
    assert _footprint() == before


def test_failure_after_schema_exists_rolls_back_schema_role_and_rows(app_ctx):
    """A real database failure at the last step (the audit insert) undoes everything before it."""
    connection = db.session.connection()
    connection.exec_driver_sql(
        "CREATE FUNCTION platform.refuse_audit() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'injected failure'; END $$; "
        "CREATE TRIGGER refuse_audit BEFORE INSERT ON platform.audit_log "
        "FOR EACH ROW EXECUTE FUNCTION platform.refuse_audit()"
    )
    db.session.commit()
    try:
        before = _footprint()
        with pytest.raises(Exception, match="injected failure"):
            provision_tenant(
                f"fail-{uuid.uuid4().hex[:6]}", "Fails", f"f-{uuid.uuid4().hex[:6]}@example.com", PASSWORD
            )
        assert _footprint() == before
    finally:
        db.session.rollback()
        db.session.connection().exec_driver_sql(
            "DROP TRIGGER refuse_audit ON platform.audit_log; DROP FUNCTION platform.refuse_audit()"
        )
        db.session.commit()


def test_existing_user_must_prove_password_to_own_another_tenant(make_tenant):
    first = make_tenant("first")
    with pytest.raises(ValidationError):
        provision_tenant(f"second-{uuid.uuid4().hex[:6]}", "Second", first.email, "wrong-password-123")
    second = provision_tenant(f"second-{uuid.uuid4().hex[:6]}", "Second", first.email, first.password)
    user = db.session.scalar(select(User).where(User.email == first.email))
    assert {m.tenant_id for m in user.memberships} == {first.tenant.id, second.id}


def test_cli_creates_and_lists_tenants(app):
    runner = app.test_cli_runner()
    slug = f"cli-{uuid.uuid4().hex[:6]}"
    result = runner.invoke(
        args=["tenants", "create", "--slug", slug, "--name", "Cli Co", "--admin-email", f"{slug}@example.com",
              "--admin-password", PASSWORD]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout.strip().splitlines()[-1])
    assert created["slug"] == slug and created["schema"] == f"t_{created['id']}"
    listed = runner.invoke(args=["tenants", "list", "--json"])
    assert listed.exit_code == 0
    assert any(t["slug"] == slug and t["id"] == created["id"] for t in json.loads(listed.stdout))
    bad = runner.invoke(
        args=["tenants", "create", "--slug", "BAD", "--name", "x", "--admin-email", "a@example.com",
              "--admin-password", PASSWORD]
    )  # fmt: skip
    assert bad.exit_code == 2
