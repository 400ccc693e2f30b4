"""Ready tenant schemas: built ahead, claimed by a signup in its own transaction, never handed out twice
or stale, kept at head by `saas tenants migrate`, and as closed as any tenant's schema."""

from __future__ import annotations

import dataclasses
import threading
import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from saas.db import db, tenant_pools, tenant_session
from saas.errors import ProvisioningError
from saas.jobs import make_worker, queue
from saas.migrations import head_revision, script_directory
from saas.modules.core import services
from saas.modules.sfa.models import Pipeline
from saas.tenants import pool
from saas.tenants.migrations import migrate_tenant
from saas.tenants.models import ReadySchema, Tenant
from saas.tenants.provisioning import provision_tenant
from saas.tenants.roles import held_tenant_roles
from tests.conftest import PASSWORD
from tests.faults.processes import wait_for


@pytest.fixture
def pool_of(app, app_ctx):
    """Turn the pool on at ``size`` for one test; every ready schema it left is dropped afterwards."""
    original = app.config["SAAS_SETTINGS"]

    def _size(size: int) -> None:
        app.config["SAAS_SETTINGS"] = dataclasses.replace(original, ready_schema_pool_size=size)

    yield _size
    app.config["SAAS_SETTINGS"] = original
    db.session.rollback()
    pool.drain_pool()


def _ready_ids() -> set[str]:
    db.session.expire_all()
    return set(db.session.scalars(select(ReadySchema.id)))


def _signup(prefix: str = "pool") -> Tenant:
    suffix = uuid.uuid4().hex[:8]
    return provision_tenant(f"{prefix}-{suffix}", f"Pool {suffix}", f"owner-{suffix}@example.com", PASSWORD)


def _schema_exists(name: str) -> bool:
    return bool(db.session.scalar(text("SELECT count(*) FROM pg_namespace WHERE nspname = :n"), {"n": name}))


def test_a_signup_claims_a_ready_schema_that_works_like_a_built_one(pool_of):
    pool_of(2)
    assert pool.refill_pool() == {"built": 2, "dropped": 0}
    ready = _ready_ids()

    tenant = _signup()

    assert tenant.id in ready and _ready_ids() == ready - {tenant.id}
    assert tenant.schema_name == f"t_{tenant.id}" and tenant.schema_version == head_revision("tenant")
    with tenant_session(tenant.ref) as session:
        assert session.execute(text("SELECT current_user")).scalar() == tenant.role_name
        services.contacts.create(session, {"first_name": "Ada", "email": "ada@example.com"})
        assert session.scalar(select(Pipeline.name))  # the modules' seeds are there
    with db.engine.connect() as connection:
        assert tenant.role_name not in held_tenant_roles(connection)
    assert pool.refill_pool()["built"] == 1  # topped up again


def test_signups_in_a_row_queue_one_refill_not_one_each(pool_of):
    pool_of(2)
    pool.refill_pool()
    jobs = queue()
    jobs.empty()

    _signup(), _signup()

    assert jobs.job_ids == [pool.REFILL_JOB_ID]
    make_worker().work(burst=True)
    assert len(_ready_ids()) == 2  # the one refill topped the pool up for both


def test_with_the_pool_empty_or_off_a_signup_builds_its_own_schema(pool_of):
    pool_of(0)
    assert pool.refill_pool()["built"] == 0
    tenant = _signup()
    assert _schema_exists(tenant.schema_name) and _ready_ids() == set()


def _someone_waits_on_a_lock() -> bool:
    with db.engine.connect() as connection:
        return bool(
            connection.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ).scalar()
        )


def test_a_signup_that_fails_after_claiming_gives_its_ready_schema_back(app, pool_of):
    """Two signups race for one address: the loser fails at its insert, after it claimed a schema."""
    pool_of(1)
    pool.refill_pool()
    [ready] = _ready_ids()
    slug = f"race-{uuid.uuid4().hex[:8]}"
    failures: list[BaseException] = []

    def loser() -> None:
        with app.app_context():
            try:
                provision_tenant(slug, "Loser", f"loser-{slug}@example.com", PASSWORD)
            except BaseException as error:
                failures.append(error)
            db.session.remove()

    with db.engine.connect() as winner:  # holds the slug, uncommitted, until the loser waits on it
        winner.execute(
            Tenant.__table__.insert().values(
                id="0" * 12, slug=slug, name="Winner", schema_name="t_" + "0" * 12, role_name="t_" + "0" * 12
            )
        )
        thread = threading.Thread(target=loser)
        thread.start()
        wait_for(_someone_waits_on_a_lock, "the loser to reach its insert")
        winner.commit()  # the address is taken: the loser's insert fails and its transaction rolls back
        thread.join()
        winner.execute(Tenant.__table__.delete().where(Tenant.id == "0" * 12))
        winner.commit()
    assert failures and isinstance(failures[0], ProvisioningError), failures
    assert _ready_ids() == {ready} and _schema_exists(f"t_{ready}")


def test_two_signups_at_once_never_get_the_same_schema(app, pool_of):
    pool_of(2)
    pool.refill_pool()
    ready = _ready_ids()
    made: list[str] = []

    def signup() -> None:
        with app.app_context():
            made.append(_signup("twin").id)
            db.session.remove()

    threads = [threading.Thread(target=signup) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(made) == 2 and set(made) == ready


def test_stale_ready_schemas_are_never_claimed_and_refill_replaces_them(pool_of):
    pool_of(2)
    pool.refill_pool()
    behind, wrong_key = sorted(_ready_ids())
    older = script_directory("tenant").get_revision(head_revision("tenant")).down_revision
    assert migrate_tenant(db.session.get(ReadySchema, behind).ref, target=older).status == "upgraded"
    db.session.get(ReadySchema, behind).schema_version = older
    db.session.get(ReadySchema, wrong_key).login_key = (
        "0" * 16
    )  # built under a tenant-login key since changed
    db.session.commit()

    tenant = _signup()
    assert tenant.id not in (behind, wrong_key)  # built, not claimed

    assert pool.refill_pool() == {"built": 2, "dropped": 2}
    assert not {behind, wrong_key} & _ready_ids()
    assert not _schema_exists(f"t_{behind}") and not _schema_exists(f"t_{wrong_key}")


def test_tenants_migrate_keeps_the_pool_at_head(app, pool_of, tenant_a):
    pool_of(1)
    pool.refill_pool()
    [ready] = _ready_ids()
    older = script_directory("tenant").get_revision(head_revision("tenant")).down_revision
    assert migrate_tenant(db.session.get(ReadySchema, ready).ref, target=older).status == "upgraded"
    db.session.get(ReadySchema, ready).schema_version = older
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["tenants", "migrate", "--jobs", "1", "--slug", tenant_a.slug])

    assert result.exit_code == 0, result.output
    assert '"tenants": 1' in result.output  # the summary counts tenants only
    db.session.expire_all()
    assert db.session.get(ReadySchema, ready).schema_version == head_revision("tenant")
    assert _signup().id == ready


def test_a_ready_schema_is_as_closed_as_a_tenants(pool_of, tenant_a):
    pool_of(1)
    pool.refill_pool()
    [ready] = _ready_ids()
    ready_ref = db.session.get(ReadySchema, ready).ref
    db.session.rollback()
    # Its role reaches neither a tenant's schema nor the platform; no tenant's role reaches it.
    for ref, other in ((ready_ref, tenant_a.ref.schema_name), (tenant_a.ref, ready_ref.schema_name)):
        with tenant_pools().engine_for(ref).connect() as connection:
            for sql in (f'SELECT * FROM "{other}".contacts', "SELECT * FROM platform.users"):
                with pytest.raises(DBAPIError, match="permission denied"):
                    connection.exec_driver_sql(sql)
                connection.rollback()
