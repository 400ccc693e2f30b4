"""Moving a live tenant's schema (and its S3 objects, :mod:`.objects`) to another cell: copy while it
works, a short read-only window for the final copy and its verification, then the directory switch; the
old copy is dropped after a grace period.

Every step is recorded on the move's row (:class:`TenantMove`): a failure anywhere leaves the tenant
working in its old cell, and running the move again resumes it (rows already equal on the target are
not copied again). The CLI (``saas tenants move``) and any operator page call :func:`move_tenant` and
:func:`purge_finished_moves`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from saas.audit import record_audit
from saas.cells import admin_engine
from saas.db import TenantRef, db, tenant_pools
from saas.errors import Conflict, NotFound, SaasError
from saas.migrations import head_revision
from saas.sql import quote_identifier
from saas.tenants.models import Tenant
from saas.tenants.moves import copying, objects
from saas.tenants.moves.models import COPIED, COPYING, OPEN_STEPS, PURGED, SWITCHED, TenantMove
from saas.tenants.moves.window import move_lock_key
from saas.tenants.provisioning import check_cell, tenant_schema_ddl
from saas.tenants.roles import create_tenant_role, drop_tenant_role, release_tenant_role

StepHook = Callable[[str], None]
"""Called after each step by name (``provisioned``, ``copied``, ``read_only``, ``final_copied``,
``verified``, ``switched``): progress output, and the tests' way to fail a move halfway."""

DEFAULT_GRACE_HOURS = 72.0
WINDOW_LOCK_TIMEOUT_SECONDS = 15.0
"""How long the window waits for writes under way (and jobs' table locks) before the attempt gives up."""


class MoveFailed(SaasError):
    """A move's attempt failed; the tenant works in its old cell and the move can be run again."""

    status = 409
    title = "Move failed"


def grace_period() -> timedelta:
    """How long the old copy is kept after the switch (``CELL_MOVE_GRACE_HOURS``, default 72)."""
    return timedelta(hours=float(current_app.config.get("CELL_MOVE_GRACE_HOURS", DEFAULT_GRACE_HOURS)))


def _now() -> datetime:
    return datetime.now(UTC)


def _tenant(slug: str) -> Tenant:
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise NotFound(f"No tenant {slug!r}.")
    return tenant


def open_move(tenant_id: str) -> TenantMove | None:
    return db.session.scalar(
        select(TenantMove).where(TenantMove.tenant_id == tenant_id, TenantMove.step.in_(OPEN_STEPS))
    )


def move_tenant(
    slug: str, to_cell: str, *, actor: str = "cli", on_step: StepHook | None = None
) -> TenantMove:
    """Move tenant ``slug`` to ``to_cell``, or resume its unfinished move there; the finished move.

    Idempotent: a tenant already moved there returns its last move. Raises :class:`MoveFailed` (the
    tenant still works in its old cell; the error is on the move's row) or :class:`Conflict`.
    """
    tenant = _tenant(slug)
    check_cell(to_cell)
    with _one_mover(tenant.id):
        return _move_alone(tenant, to_cell, actor, on_step)


def _move_alone(tenant: Tenant, to_cell: str, actor: str, on_step: StepHook | None) -> TenantMove:
    """:func:`move_tenant` once no other mover of the tenant runs (so what it reads stays true)."""
    slug = tenant.slug
    db.session.refresh(tenant)
    move = open_move(tenant.id)
    if move is None and tenant.cell == to_cell:
        done = db.session.scalar(
            select(TenantMove)
            .where(TenantMove.tenant_id == tenant.id, TenantMove.to_cell == to_cell)
            .order_by(TenantMove.id.desc())
        )
        if done is None:
            raise Conflict(f"Tenant {slug!r} already lives in cell {to_cell!r}.")
        return done
    if move is not None and move.to_cell != to_cell:
        raise Conflict(
            f"Tenant {slug!r} has an unfinished move to cell {move.to_cell!r}: run that one again."
        )
    if move is None:
        move = _start(tenant, to_cell, actor)
    move.attempts += 1
    move.error = move.failed_at = None
    db.session.commit()
    try:
        _run(tenant, move, on_step or (lambda step: None))
    except BaseException as error:
        _record_failure(tenant, move, error, actor)
        if isinstance(error, Exception):
            raise MoveFailed(
                f"Moving {slug!r} to cell {to_cell!r} failed ({type(error).__name__}: {error}); it "
                "still works in its old cell. Run the same command again to resume."
            ) from error
        raise
    return move


@contextmanager
def _session_lock(engine: Engine, key: int, *, wait_seconds: float | None) -> Iterator[None]:
    """Hold the advisory lock ``key`` on ``engine``'s server for the block (``wait_seconds`` None: refuse
    at once if taken). A connection whose unlock fails is discarded rather than pooled, so the lock
    can never outlive the block in a pooled connection."""
    with engine.connect() as pooled:
        connection = pooled.execution_options(isolation_level="AUTOCOMMIT")
        if wait_seconds is None:
            taken = connection.exec_driver_sql("SELECT pg_try_advisory_lock(%(k)s)", {"k": key}).scalar()
            if not taken:
                raise Conflict("Another move of this tenant is running.")
        else:
            connection.exec_driver_sql(f"SET lock_timeout = '{int(wait_seconds * 1000)}ms'")
            try:
                connection.exec_driver_sql("SELECT pg_advisory_lock(%(k)s)", {"k": key})
            finally:
                connection.exec_driver_sql("RESET lock_timeout")
        try:
            yield
        finally:
            try:
                connection.exec_driver_sql("SELECT pg_advisory_unlock(%(k)s)", {"k": key})
            except BaseException:
                pooled.invalidate()
                raise


def _one_mover(tenant_id: str) -> AbstractContextManager[None]:
    """Refuse a second mover of the same tenant while one runs (a lock on the platform's server,
    released when the mover ends however it ends)."""
    return _session_lock(db.engine, move_lock_key(tenant_id) ^ 1, wait_seconds=None)


def _start(tenant: Tenant, to_cell: str, actor: str) -> TenantMove:
    """A new move's row; a copy of the tenant left in the target cell by an earlier move away from it
    (not purged yet) is dropped first, so the move starts from an empty schema."""
    target = replace(tenant.ref, cell=to_cell)
    with admin_engine(to_cell).begin() as connection:
        if _role_exists(connection, target.role_name):
            drop_tenant_role(connection, target.role_name)
    for earlier in db.session.scalars(
        select(TenantMove).where(
            TenantMove.tenant_id == tenant.id, TenantMove.from_cell == to_cell, TenantMove.step == SWITCHED
        )
    ):
        earlier.step, earlier.purged_at = PURGED, _now()
    move = TenantMove(
        tenant_id=tenant.id,
        from_cell=tenant.cell,
        to_cell=to_cell,
        step=COPYING,
        attempts=0,
        actor=actor,
        report={},
    )
    db.session.add(move)
    record_audit(
        db.session,
        "tenant.move_started",
        actor=actor,
        tenant_id=tenant.id,
        target=tenant.slug,
        details={"from": tenant.cell, "to": to_cell},
    )
    db.session.commit()
    return move


def _role_exists(connection: Connection, role: str) -> bool:
    return bool(
        connection.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %(r)s", {"r": role}).scalar()
    )


def _record_failure(tenant: Tenant, move: TenantMove, error: BaseException, actor: str) -> None:
    db.session.rollback()
    move.failed_at = _now()
    move.error = f"{type(error).__name__}: {error}"[:2000]
    record_audit(
        db.session,
        "tenant.move_failed",
        actor=actor,
        tenant_id=tenant.id,
        target=tenant.slug,
        details={"to": move.to_cell, "attempt": move.attempts, "error": type(error).__name__},
    )
    db.session.commit()


def _run(tenant: Tenant, move: TenantMove, on_step: StepHook) -> None:
    source_ref = tenant.ref
    target_ref = replace(source_ref, cell=move.to_cell)
    report: dict[str, Any] = {}
    started = time.perf_counter()
    layout = _prepare_target(source_ref, target_ref)
    on_step("provisioned")
    if move.step == COPYING:
        report["first_copy"] = _first_copy(source_ref, target_ref, layout)
        move.step, move.copied_at = COPIED, _now()
        move.report = report
        db.session.commit()
    # Every attempt copies the objects before the window (its ledger is its own), so the window only
    # carries what changes meanwhile.
    ledger = objects.ObjectLedger()
    report["objects"] = {"first_copy": objects.copy_objects(tenant.id, source_ref.cell, move.to_cell, ledger)}
    move.report = report
    db.session.commit()
    on_step("copied")
    _final_window(tenant, move, source_ref, target_ref, layout, report, on_step, ledger)
    report["total_seconds"] = round(time.perf_counter() - started, 3)
    move.report = report
    db.session.commit()


def _prepare_target(source: TenantRef, target: TenantRef) -> dict[str, copying.Table]:
    """The tenant's role and schema in the target cell, at the source's revision (which must be the
    newest), with its custom tables and columns, foreign keys set aside; the tables to copy."""
    with admin_engine(target.cell).begin() as connection:
        if not _role_exists(connection, target.role_name):
            create_tenant_role(connection, target)
            release_tenant_role(connection, target)
    with _tenant_connection(source) as source_connection, _tenant_connection(target) as target_connection:
        version = copying.schema_version(source_connection)
        if version != head_revision("tenant"):
            raise MoveFailed(
                f"The tenant's schema is at {version}, not the newest: run `saas tenants migrate`."
            )
        if not copying.tables(target_connection):
            target_connection.exec_driver_sql(tenant_schema_ddl()[0])
        copying.match_extra_columns(source_connection, target_connection)
        layout = copying.tables(source_connection)
        copying.check_same_layout(layout, copying.tables(target_connection))
        copying.set_foreign_keys_aside(target_connection)
    return layout


@contextmanager
def _tenant_connection(tenant: TenantRef, *, snapshot: bool = False) -> Iterator[Connection]:
    """A transaction on the tenant's own login in ``tenant.cell``, committed at the end of the block;
    ``snapshot``: one consistent view of every table (repeatable read)."""
    with tenant_pools().engine_for(tenant).connect() as connection:
        if snapshot:
            connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        copying.settle_text_output(connection)
        yield connection
        connection.commit()


def _both_states(
    source: Connection, target: Connection, layout: dict[str, copying.Table]
) -> tuple[dict[str, copying.TableState], dict[str, copying.TableState]]:
    """Both sides' table states, read at the same time on their two servers."""
    with ThreadPoolExecutor(2, thread_name_prefix="move-checksums") as pool:
        on_target = pool.submit(copying.states, target, layout)
        return copying.states(source, layout), on_target.result()


def _copy_differing(
    source: Connection, target: Connection, layout: dict[str, copying.Table]
) -> dict[str, Any]:
    """Copy the rows that differ between the two sides: a whole table when the target's is empty or most
    of it differs, else only the differing buckets. The source's states and what was done."""
    began = time.perf_counter()
    source_states, target_states = _both_states(source, target, layout)
    compared = time.perf_counter()
    copied: dict[str, int] = {}
    rows = 0
    for name, table in layout.items():
        buckets = source_states[name].differing(target_states[name])
        if not buckets:
            continue
        whole = target_states[name].rows == 0 or len(buckets) > copying.BUCKETS // 2
        if target_states[name].rows == 0:
            rows += copying.load_table(source, target, name, table)
        else:
            rows += copying.copy_table(source, target, name, table, None if whole else buckets)
        copied[name] = None if whole else buckets
    return {
        "states": source_states,
        "target_states": target_states,
        "tables": len(layout),
        "rewritten": copied,
        "tables_copied": sorted(copied),
        "buckets_copied": sum(copying.BUCKETS if b is None else len(b) for b in copied.values()),
        "rows_copied": rows,
        "compare_seconds": round(compared - began, 3),
        "copy_seconds": round(time.perf_counter() - compared, 3),
    }


def _first_copy(source: TenantRef, target: TenantRef, layout: dict[str, copying.Table]) -> dict[str, Any]:
    with (
        _tenant_connection(source, snapshot=True) as source_connection,
        _tenant_connection(target) as target_connection,
    ):
        done = _copy_differing(source_connection, target_connection, layout)
    done.pop("target_states")
    done.pop("rewritten")
    done["rows"] = sum(state.rows for state in done.pop("states").values())
    return done


def _read_only_window(source: TenantRef) -> AbstractContextManager[None]:
    """Hold the tenant's move lock exclusively on the old cell's server (see :mod:`.window`): it waits
    for the writes under way, then every new write is refused until the block ends."""
    return _session_lock(
        admin_engine(source.cell), move_lock_key(source.id), wait_seconds=WINDOW_LOCK_TIMEOUT_SECONDS
    )


def _final_window(
    tenant: Tenant,
    move: TenantMove,
    source: TenantRef,
    target: TenantRef,
    layout: dict[str, copying.Table],
    report: dict[str, Any],
    on_step: StepHook,
    ledger: objects.ObjectLedger,
) -> None:
    window_began = time.perf_counter()
    window_started_at = _now()
    with _read_only_window(source), _tenant_connection(source, snapshot=True) as source_connection:
        # Jobs do not pass the request guard: their writes wait on these locks, and after the switch
        # the revoked privileges refuse them, so none is applied to the copy left behind.
        listed = ", ".join(quote_identifier(table) for table in layout)
        source_connection.exec_driver_sql(
            f"SET LOCAL lock_timeout = '{int(WINDOW_LOCK_TIMEOUT_SECONDS * 1000)}ms'"
        )
        source_connection.exec_driver_sql(f"LOCK TABLE {listed} IN SHARE MODE")
        copying.check_same_layout(layout, copying.tables(source_connection))
        on_step("read_only")
        with _tenant_connection(target) as target_connection:
            final = _copy_differing(source_connection, target_connection, layout)
            sequence_values = copying.sequences(source_connection)
            copying.set_sequences(target_connection, sequence_values)
            copying.restore_foreign_keys(target_connection, copying.foreign_keys(source_connection))
        report["objects"]["final_copy"] = objects.copy_objects(source.id, source.cell, target.cell, ledger)
        on_step("final_copied")
        verified_began = time.perf_counter()
        expected, compared = final.pop("states"), final.pop("target_states")
        rewritten = final.pop("rewritten")
        version = copying.schema_version(source_connection)
        _verify(target, layout, expected, compared, rewritten, sequence_values, version)
        report["objects"]["verified"] = objects.verify_objects(source.id, source.cell, target.cell, ledger)
        final["verify_seconds"] = round(time.perf_counter() - verified_began, 3)
        final["rows"] = sum(state.rows for state in expected.values())
        on_step("verified")
        _leave_behind(source_connection, source)
        _switch(tenant, move, window_started_at)
        source_connection.commit()  # the revoked privileges, and the table locks go
    move.window_ended_at = _now()
    report["final_copy"] = final
    report["window_seconds"] = round(time.perf_counter() - window_began, 3)
    tenant_pools().forget_tenant(tenant.id)
    on_step("switched")


def _verify(
    target: TenantRef,
    layout: dict[str, copying.Table],
    expected: dict[str, copying.TableState],
    compared: dict[str, copying.TableState],
    rewritten: dict[str, list[int] | None],
    sequence_values: dict[str, tuple[int, bool]],
    version: str | None,
) -> None:
    """Every table's row counts and checksums, every sequence and the revision of the committed target
    must equal the source's (read in the window's snapshot). The buckets (or whole tables) the window
    rewrote are read again; the rest is as just ``compared`` inside the window (nothing else writes the
    target)."""
    with _tenant_connection(target) as connection:
        found = dict(compared)
        for name, buckets in rewritten.items():
            fresh = copying.table_state(connection, name, layout[name], buckets)
            if buckets is not None:
                kept = {b: state for b, state in compared[name].buckets.items() if b not in buckets}
                fresh = copying.TableState({**kept, **fresh.buckets})
            found[name] = fresh
        differing = sorted(table for table in layout if found[table] != expected[table])
        if differing:
            raise copying.SchemaMismatch(f"verification failed for tables: {', '.join(differing[:10])}")
        if copying.sequences(connection) != sequence_values:
            raise copying.SchemaMismatch("verification failed: sequences differ")
        if copying.schema_version(connection) != version:
            raise copying.SchemaMismatch("verification failed: schema versions differ")


def _leave_behind(source_connection: Connection, source: TenantRef) -> None:
    """Make the old copy unwritable (committed with the switch): writes still aimed at it fail, and
    the request guard sends such requests to retry in the new cell."""
    role, schema = quote_identifier(source.role_name), quote_identifier(source.schema_name)
    source_connection.exec_driver_sql(
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA {schema} FROM {role}; "
        f"REVOKE CREATE ON SCHEMA {schema} FROM {role}"
    )


def _switch(tenant: Tenant, move: TenantMove, window_started_at: datetime) -> None:
    """The directory names the new cell from this commit on (cached credentials are invalidated by it)."""
    tenant.cell = move.to_cell
    move.step, move.switched_at = SWITCHED, _now()
    move.window_started_at = window_started_at
    move.purge_after = move.switched_at + grace_period()
    record_audit(
        db.session,
        "tenant.moved",
        actor=move.actor,
        tenant_id=tenant.id,
        target=tenant.slug,
        details={"from": move.from_cell, "to": move.to_cell, "attempts": move.attempts},
    )
    db.session.commit()


def purge_finished_moves(*, actor: str = "cli", now: datetime | None = None) -> list[dict[str, Any]]:
    """Drop the old copies of switched moves whose grace period is over (each in its old cell: the schema,
    its role, and its objects in that cell's bucket unless the tenant's cell shares it); what was done,
    one entry per move. A tenant that lives in that cell again keeps its copy there."""
    now = now or _now()
    done = []
    due = db.session.scalars(
        select(TenantMove)
        .where(TenantMove.step == SWITCHED, TenantMove.purge_after <= now)
        .order_by(TenantMove.id)
    ).all()
    for move in due:
        tenant = db.session.get(Tenant, move.tenant_id)
        outcome = "dropped"
        if tenant is not None and tenant.cell == move.from_cell:
            outcome = "kept: the tenant lives in that cell again"
        else:
            role = tenant.role_name if tenant is not None else f"t_{move.tenant_id}"
            with admin_engine(move.from_cell).begin() as connection:
                if _role_exists(connection, role):
                    drop_tenant_role(connection, role)
            lives_in = tenant.cell if tenant is not None else move.to_cell
            objects.purge_objects(move.tenant_id, move.from_cell, lives_in)
        move.step, move.purged_at = PURGED, now
        record_audit(
            db.session,
            "tenant.move_purged",
            actor=actor,
            tenant_id=move.tenant_id,
            target=tenant.slug if tenant is not None else move.tenant_id,
            details={"cell": move.from_cell, "outcome": outcome},
        )
        db.session.commit()
        done.append(
            {"move": move.id, "tenant_id": move.tenant_id, "cell": move.from_cell, "outcome": outcome}
        )
    return done
