"""Ready tenant schemas: signup in milliseconds.

Building a tenant's schema (a role, a schema, every table and index, the modules' seed rows) takes a few
hundred milliseconds of DDL. The pool builds a few ahead of time, in the background (``refill_pool``,
every minute, and after each claim), each exactly as provisioning would: same DDL, same seeds, the role
released so the platform user keeps no membership. A signup claims one (``claim_ready_schema``) inside its
own transaction: one row deleted ``FOR UPDATE SKIP LOCKED``, so two signups never get the same schema, and
a signup that fails puts it back by rolling back. The schema's id becomes the tenant's id, so nothing is
renamed. With the pool empty, signup builds a schema as before.

A ready schema is handed out only if it is at the code's head revision and its role's password was derived
from the current tenant-login key; others are dropped by the next refill. ``saas tenants migrate`` upgrades
ready schemas with the tenants, so a deploy does not empty the pool. The pool is kept per cell that
signup offers (:mod:`saas.cells`): a signup claims a schema of the cell it chose.
"""

from __future__ import annotations

import hashlib
import logging
import secrets

from flask import current_app
from sqlalchemy import delete, func, select

from saas.cells import DEFAULT_CELL, cell_directory
from saas.db import TenantRef, db, tenant_pools
from saas.migrations import head_revision
from saas.tenant_connections import tenant_login_secret
from saas.tenants.models import ReadySchema, ready_schema_ref

log = logging.getLogger(__name__)

REFILL_JOB = "saas.tenants.pool.refill_pool"
REFILL_JOB_ID = "ready-schema-refill"  # one id: a queued refill is not queued again


def pool_size() -> int:
    """How many ready schemas to keep (``READY_SCHEMA_POOL_SIZE``; 0 turns the pool off)."""
    return current_app.config["SAAS_SETTINGS"].ready_schema_pool_size


def login_key_fingerprint() -> str:
    """Names the current tenant-login key without revealing it (a role built under another key cannot
    log in)."""
    secret = tenant_login_secret(tenant_pools().settings.secret_key, "ready-schema-pool", 1)
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def _usable(cell: str) -> list:
    """Conditions of a ready schema a signup into ``cell`` may take."""
    return [
        ReadySchema.cell == cell,
        ReadySchema.schema_version == head_revision("tenant"),
        ReadySchema.login_key == login_key_fingerprint(),
    ]


def claim_ready_schema(cell: str = DEFAULT_CELL) -> tuple[TenantRef, str] | None:
    """Take a ready schema of ``cell`` for a tenant being provisioned in ``db.session``'s transaction: its
    ref and version, or None when there is none. Committed with the tenant's row, or given back by a
    rollback (the schema itself is already in the cell, so claiming needs no DDL there)."""
    if pool_size() <= 0:
        return None
    claimed = db.session.execute(
        delete(ReadySchema)
        .where(
            ReadySchema.id
            == select(ReadySchema.id)
            .where(*_usable(cell))
            .order_by(ReadySchema.created_at)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        .returning(ReadySchema.id, ReadySchema.schema_version)
    ).first()
    if claimed is None:
        return None
    return ready_schema_ref(claimed.id, cell), claimed.schema_version


def build_ready_schema(cell: str = DEFAULT_CELL) -> str:
    """Build one ready schema in ``cell`` and record it; returns its id. In the default cell one
    transaction; elsewhere the cell's commits first, so a crash in between leaves at worst an unrecorded
    schema in the cell, never a recorded one that does not exist."""
    from saas.tenants.provisioning import create_tenant_tables
    from saas.tenants.roles import cell_admin_connection, create_tenant_role, release_tenant_role

    ready_id = secrets.token_hex(6)
    ref = ready_schema_ref(ready_id, cell)
    with db.engine.begin() as connection:
        with cell_admin_connection(connection, cell) as cell_connection:
            create_tenant_role(cell_connection, ref)
            version = create_tenant_tables(cell_connection, ref)
            release_tenant_role(cell_connection, ref)
        connection.execute(
            ReadySchema.__table__.insert().values(
                id=ready_id, schema_version=version, login_key=login_key_fingerprint(), cell=cell
            )
        )
    return ready_id


def drop_ready_schema(ready_id: str) -> bool:
    """Drop one ready schema and its role, unless a signup holds it; returns whether it was dropped."""
    from saas.tenants.roles import cell_admin_connection, drop_tenant_role

    with db.engine.begin() as connection:
        taken = connection.execute(
            delete(ReadySchema)
            .where(
                ReadySchema.id
                == select(ReadySchema.id)
                .where(ReadySchema.id == ready_id)
                .with_for_update(skip_locked=True)
                .scalar_subquery()
            )
            .returning(ReadySchema.id, ReadySchema.cell)
        ).first()
        if taken is None:
            return False
        with cell_admin_connection(connection, taken.cell) as cell_connection:
            drop_tenant_role(cell_connection, f"t_{ready_id}")
    return True


def refill_pool() -> dict[str, int]:
    """Periodic (and after each claim): drop ready schemas no signup may take, build up to the pool size
    in every cell signup offers.

    Safe to run twice at once: each build is its own schema, and the count is read again before each."""
    size = pool_size()
    offered = [cell.name for cell in cell_directory().signup_cells()]
    stale = db.session.scalars(
        select(ReadySchema.id).where(
            (ReadySchema.schema_version != head_revision("tenant"))
            | (ReadySchema.login_key != login_key_fingerprint())
            | ReadySchema.cell.not_in(offered)
        )
    ).all()
    db.session.rollback()
    dropped = sum(drop_ready_schema(ready_id) for ready_id in stale)
    built = 0
    for cell in offered:
        count = select(func.count()).select_from(ReadySchema).where(*_usable(cell))
        while db.session.scalar(count) < size:
            db.session.rollback()  # the next count sees other builders' commits
            build_ready_schema(cell)
            built += 1
    db.session.rollback()
    if built or dropped:
        log.info("ready schema pool: %d built, %d dropped", built, dropped)
    return {"built": built, "dropped": dropped}


def refill_soon() -> None:
    """After a claim: queue a refill now rather than at the next minute. Signup never waits on (or fails
    for) Redis: the periodic refill catches up."""
    from redis.exceptions import RedisError
    from rq.job import JobStatus

    from saas.jobs import queue
    from saas.jobs.schedules import run_periodic

    if not current_app.config.get("REDIS_URL"):
        return
    try:
        waiting = queue().fetch_job(REFILL_JOB_ID)
        if waiting is not None and waiting.get_status(refresh=False) == JobStatus.QUEUED:
            return  # a burst of signups queues one refill, not one each
        queue().enqueue(run_periodic, REFILL_JOB, job_id=REFILL_JOB_ID, at_front=True)
    except RedisError:
        log.warning("could not queue a ready schema refill; the periodic one will")


def drain_pool() -> int:
    """Drop every ready schema no signup holds (``saas tenants pool drain``); returns how many."""
    ids = db.session.scalars(select(ReadySchema.id)).all()
    db.session.rollback()
    return sum(drop_ready_schema(ready_id) for ready_id in ids)


def ready_schema_refs() -> list[TenantRef]:
    """The ready schemas, for ``saas tenants migrate`` to keep them at head with the tenants."""
    return [ready.ref for ready in db.session.scalars(select(ReadySchema).order_by(ReadySchema.created_at))]


def record_ready_versions(versions: dict[str, str | None]) -> None:
    """After a migration run: each ready schema's real version (one left behind is dropped by the next
    refill)."""
    for ready in db.session.scalars(select(ReadySchema).where(ReadySchema.id.in_(versions))):
        if versions[ready.id]:
            ready.schema_version = versions[ready.id]
