"""`saas tenants migrate`: every tenant is upgraded or reported; a broken one stops nobody else."""

from __future__ import annotations

import json

from sqlalchemy import select

from saas.db import db, tenant_pools
from saas.migrations import alembic_config, head_revision
from saas.tenants.migrations import migrate_tenant, read_schema_versions
from saas.tenants.models import Tenant

PREVIOUS = "t0001"


def _rewind(fixture) -> None:
    """Put a tenant back one revision, as if it had been created before the newest migration."""
    result = migrate_tenant(fixture.ref, target=PREVIOUS)
    assert result.status == "upgraded" and result.to_version == PREVIOUS, result.error
    db.session.get(Tenant, fixture.tenant.id).schema_version = PREVIOUS
    db.session.commit()


def _break(fixture) -> None:
    """Make the next revision fail for this tenant: an object already holds the name it creates."""
    with tenant_pools().engine_for(fixture.ref).begin() as connection:
        connection.exec_driver_sql(
            f'CREATE INDEX ix_contacts_email_lower ON "{fixture.tenant.schema_name}".contacts (phone)'
        )


def _run_migrate(app, slugs, jobs):
    args = ["tenants", "migrate", "--jobs", str(jobs)]
    for slug in slugs:
        args += ["--slug", slug]
    return app.test_cli_runner().invoke(args=args)


def test_migrate_upgrades_all_but_the_broken_tenant_and_exits_non_zero(app, make_tenant):
    tenants = [make_tenant(f"mig{i}") for i in range(4)]
    for fixture in tenants:
        _rewind(fixture)
    broken = tenants[1]
    _break(broken)

    result = _run_migrate(app, [t.slug for t in tenants], jobs=2)

    assert result.exit_code == 1, result.output
    lines = [json.loads(line) for line in result.stdout.strip().splitlines() if line.startswith("{")]
    per_tenant = {line["slug"]: line for line in lines if "slug" in line}
    summary = next(line["summary"] for line in lines if "summary" in line)
    assert set(per_tenant) == {t.slug for t in tenants}  # every tenant accounted for
    assert per_tenant[broken.slug]["status"] == "failed"
    assert "ix_contacts_email_lower" in per_tenant[broken.slug]["error"]
    assert summary == {
        "tenants": 4, "upgraded": 3, "current": 0, "failed": 1, "failed_tenants": [broken.slug]
    }  # fmt: skip

    versions = read_schema_versions([t.ref for t in tenants])
    head = head_revision("tenant")
    assert versions == {t.tenant.id: (PREVIOUS if t is broken else head) for t in tenants}
    db.session.expire_all()
    registry = dict(db.session.execute(select(Tenant.id, Tenant.schema_version).where(
        Tenant.id.in_([t.tenant.id for t in tenants])
    )).all())  # fmt: skip
    assert registry == versions


def test_migrate_is_resumable_after_the_broken_tenant_is_fixed(app, make_tenant):
    good, broken = make_tenant("res-good"), make_tenant("res-broken")
    for fixture in (good, broken):
        _rewind(fixture)
    _break(broken)
    assert _run_migrate(app, [good.slug, broken.slug], jobs=1).exit_code == 1

    with tenant_pools().engine_for(broken.ref).begin() as connection:
        connection.exec_driver_sql(f'DROP INDEX "{broken.tenant.schema_name}".ix_contacts_email_lower')
    rerun = _run_migrate(app, [good.slug, broken.slug], jobs=2)

    assert rerun.exit_code == 0, rerun.output
    statuses = {
        line["slug"]: line["status"] for line in map(json.loads, rerun.stdout.strip().splitlines()[:-1])
    }
    assert statuses == {good.slug: "current", broken.slug: "upgraded"}


def test_migration_history_has_one_head_and_revisions_run_in_order():
    from alembic.script import ScriptDirectory

    for history in ("platform", "tenant"):
        script = ScriptDirectory.from_config(alembic_config(history))
        assert len(script.get_heads()) == 1, f"{history} history has several heads"


def test_platform_models_match_platform_migrations(app_ctx):
    """Autogenerate finds nothing to add: the models and the migration history agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from saas.db import PLATFORM_SCHEMA, PlatformBase
    from saas.models import load_all_models

    load_all_models()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_schemas": True,
                "version_table_schema": PLATFORM_SCHEMA,
                "include_name": lambda name, type_, parent: type_ != "schema" or name == PLATFORM_SCHEMA,
            },
        )
        assert compare_metadata(context, PlatformBase.metadata) == []
