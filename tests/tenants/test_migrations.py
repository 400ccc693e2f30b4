"""`saas tenants migrate`: every tenant is upgraded or reported; a broken one stops nobody else."""

from __future__ import annotations

import json

from sqlalchemy import select, text

from saas.db import db, tenant_pools, tenant_session
from saas.migrations import (
    alembic_config,
    head_revision,
    migrate_connection,
    rendered_steps,
    script_directory,
)
from saas.modules.core import services
from saas.tenants.migrations import migrate_tenant, read_schema_versions
from saas.tenants.models import Tenant
from saas.tenants.roles import held_tenant_roles

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


def _run_migrate(app, slugs, jobs, *options: str):
    args = ["tenants", "migrate", "--jobs", str(jobs), *options]
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


def _outcome(result) -> tuple[dict[str, dict], dict]:
    """The command's per-tenant lines by slug, and its summary."""
    lines = [json.loads(line) for line in result.stdout.strip().splitlines() if line.startswith("{")]
    per_tenant = {line["slug"]: line for line in lines if "slug" in line}
    return per_tenant, next(line["summary"] for line in lines if "summary" in line)


def _contacts(fixture) -> list[tuple]:
    with tenant_pools().engine_for(fixture.ref).connect() as connection:
        return connection.execute(
            text(f'SELECT id, first_name, email FROM "{fixture.tenant.schema_name}".contacts ORDER BY id')
        ).all()


def test_a_busy_tenant_is_reported_failed_not_skipped_and_the_rerun_completes(app, make_tenant):
    tenants = [make_tenant(f"busy{i}") for i in range(5)]
    outsider = make_tenant("busy-out")  # not in the run: it must stay exactly as it is
    older = script_directory("tenant").get_revision(head_revision("tenant")).down_revision
    for fixture in (*tenants, outsider):
        with tenant_session(fixture.ref) as session:
            services.contacts.create(
                session, {"first_name": fixture.slug, "email": f"c@{fixture.slug}.example"}
            )
        assert migrate_tenant(fixture.ref, target=older).status == "upgraded"
    data_before = {fixture.slug: _contacts(fixture) for fixture in (*tenants, outsider)}
    slugs = [t.slug for t in tenants]
    busy = tenants[2]

    # Another transaction of the busy tenant holds its version row: the upgrade waits at its stamp.
    holder = tenant_pools().engine_for(busy.ref).connect()
    holder.execute(text(f'SELECT 1 FROM "{busy.tenant.schema_name}".alembic_version FOR UPDATE'))
    try:
        first = _run_migrate(app, slugs, 2, "--lock-timeout", "0.2", "--retries", "1")
    finally:
        holder.rollback()
        holder.close()

    assert first.exit_code == 1, first.output
    per_tenant, summary = _outcome(first)
    assert set(per_tenant) == set(slugs)  # every tenant accounted for, the busy one included
    assert per_tenant[busy.slug]["status"] == "failed"
    assert per_tenant[busy.slug]["error"].startswith("lock timeout")
    assert per_tenant[busy.slug]["attempts"] == 2  # tried again after the others, then reported
    assert {slug: line["status"] for slug, line in per_tenant.items() if slug != busy.slug} == {
        slug: "upgraded" for slug in slugs if slug != busy.slug
    }
    assert summary == {
        "tenants": 5, "upgraded": 4, "current": 0, "failed": 1, "failed_tenants": [busy.slug]
    }  # fmt: skip
    assert f"{busy.slug}: lock timeout" in first.stderr
    head = head_revision("tenant")
    assert read_schema_versions([t.ref for t in tenants]) == {
        t.tenant.id: (older if t is busy else head) for t in tenants
    }

    rerun = _run_migrate(app, slugs, 2)

    assert rerun.exit_code == 0, rerun.output
    per_tenant, summary = _outcome(rerun)
    assert {slug: line["status"] for slug, line in per_tenant.items()} == {
        slug: ("upgraded" if slug == busy.slug else "current") for slug in slugs
    }
    assert summary["failed"] == 0 and summary["current"] == 4 and summary["upgraded"] == 1
    assert read_schema_versions([t.ref for t in (*tenants, outsider)]) == {
        **{t.tenant.id: head for t in tenants},
        outsider.tenant.id: older,
    }
    with db.engine.connect() as connection:  # the platform user holds no tenant role afterwards
        assert not held_tenant_roles(connection) & {t.ref.role_name for t in (*tenants, outsider)}
    assert {fixture.slug: _contacts(fixture) for fixture in (*tenants, outsider)} == data_before


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


def _catalog(fixture) -> dict[str, list[tuple]]:
    """A schema's tables, columns, indexes and constraints as its own login sees them (schema name masked)."""
    schema = fixture.tenant.schema_name
    queries = {
        "columns": "SELECT table_name, column_name, data_type, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_schema = :s ORDER BY 1, 2",
        "indexes": "SELECT tablename, indexname, replace(indexdef, :s, 'S') FROM pg_indexes "
        "WHERE schemaname = :s ORDER BY 1, 2",
        "constraints": "SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
        "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = :s ORDER BY 1, 2",
        "version": "SELECT version_num FROM alembic_version",
    }
    with tenant_pools().engine_for(fixture.ref).connect() as connection:
        return {name: connection.execute(text(sql), {"s": schema}).all() for name, sql in queries.items()}


def _through_alembic(fixture, target: str) -> None:
    with tenant_pools().engine_for(fixture.ref).begin() as connection:
        migrate_connection("tenant", connection, target, tenant_schema=fixture.tenant.schema_name)


def test_a_rendered_range_replays_to_the_schema_alembic_builds_both_ways(make_tenant):
    head, older = head_revision("tenant"), "t0032"
    assert rendered_steps("tenant", older, head) is not None
    # Through t0033, which reads the database: not renderable ahead, so those tenants go through Alembic.
    assert rendered_steps("tenant", PREVIOUS, head) is None
    replayed, reference = make_tenant("render-replay"), make_tenant("render-alembic")
    assert _catalog(replayed) == _catalog(reference)

    assert migrate_tenant(replayed.ref, target=older).to_version == older  # the rendered downgrade
    _through_alembic(reference, older)
    at_older = _catalog(replayed)
    assert at_older == _catalog(reference) and at_older["version"] == [(older,)]

    assert migrate_tenant(replayed.ref).to_version == head  # the rendered upgrade
    _through_alembic(reference, head)
    assert _catalog(replayed) == _catalog(reference)
    assert _catalog(replayed)["columns"] != at_older["columns"]  # the range did change something


def test_a_replay_failing_in_its_last_revision_leaves_nothing_of_the_earlier_ones(make_tenant):
    fixture = make_tenant("render-fail")
    head, older = head_revision("tenant"), "t0032"
    assert migrate_tenant(fixture.ref, target=older).status == "upgraded"
    # t0036, late in the range, creates ``sequences``: a table of that name makes the script fail late.
    with tenant_pools().engine_for(fixture.ref).begin() as connection:
        connection.execute(text("CREATE TABLE sequences (id int)"))
    before = _catalog(fixture)

    result = migrate_tenant(fixture.ref)

    assert result.status == "failed" and "sequences" in result.error
    assert _catalog(fixture) == before  # the mailbox columns of t0038 and the rest rolled back too
    with tenant_pools().engine_for(fixture.ref).begin() as connection:
        connection.execute(text("DROP TABLE sequences"))
    assert migrate_tenant(fixture.ref).to_version == head
