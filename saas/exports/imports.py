"""Self-serve imports of our own archive: a new workspace at signup, or a restore into an empty one.

Both upload the archive to the bucket and queue one job, which verifies it as ``saas import`` does (every
checksum, the size and entry limits, the definitions and the configuration) before a row is written,
then loads it and applies its configuration; the page and the API poll the import's row for progress.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from saas.audit import record_audit
from saas.auth.models import Membership, User
from saas.billing.entitlements import entitlements_for
from saas.db import TenantRef, db, tenant_pools
from saas.errors import Conflict, NotFound, PermissionDenied, ValidationError
from saas.exports import storage
from saas.exports.models import ArchiveImport
from saas.exports.reader import ArchiveRefused
from saas.exports.services import HEARTBEAT_SECONDS, CheckedArchive, check_archive, import_tenant
from saas.i18n import N_
from saas.sql import quote_identifier
from saas.tenants.models import Tenant

log = logging.getLogger(__name__)

ACTIVE = ("queued", "verifying", "loading", "configuring")
FINISHED = ("done", "refused", "failed")
WORKER_STOPPED = (
    "The import's worker stopped before it finished (it was restarted, or its queue entry was lost); "
    "nothing was written. Start the import again."
)
NOT_EMPTY = N_(
    "This workspace already holds records (%(tables)s). An archive is restored only into an empty "
    "workspace, so that nothing is overwritten: export this one first if you need it, then restore into "
    "a new workspace."
)
READ_ONLY = N_(
    "This workspace is read-only because %(reason)s, so nothing can be restored into it. You can still "
    "export its data; settle the subscription on the billing page to restore."
)
"""Refusals of a restore, filled in where raised (``FilledMessage``): a page shows them whole in the
reader's language."""


def _now() -> datetime:
    return datetime.now(UTC)


def _upload_key(import_id: uuid.UUID) -> str:
    return f"imports/{import_id}.zip"


def _import_cell(record: ArchiveImport) -> str:
    """Where the import's upload waits and its job runs: the restored tenant's cell; a workspace made
    from an archive at signup is made in the default cell."""
    from saas.cells import DEFAULT_CELL, tenant_cell

    return tenant_cell(record.tenant_id) if record.tenant_id else DEFAULT_CELL


# -- starting ----------------------------------------------------------------------------------


def start_signup_import(owner: User, *, slug: str, name: str, upload: IO[bytes]) -> ArchiveImport:
    """Queue a new workspace made from ``upload``, owned by ``owner`` (who signed up and is signed in)."""
    from saas.tenants.provisioning import check_tenant_fields

    checked, errors = check_tenant_fields({"slug": slug, "name": name})
    if errors:
        raise ValidationError("Please correct the marked fields.", errors)
    return _start("signup", owner, upload, slug=checked["slug"], name=checked["name"])


def start_restore(tenant_id: str, membership: Membership, upload: IO[bytes]) -> ArchiveImport:
    """Queue a restore of ``upload`` into the (empty, writable) workspace; owners only. Audited."""
    if membership.role != "owner" or membership.tenant_id != tenant_id:
        raise PermissionDenied("Only an owner of this workspace can restore an archive into it.")
    _refuse_read_only(tenant_id)
    tenant = db.session.get(Tenant, tenant_id)
    _refuse_unless_empty(tenant.ref)
    reap_stalled_imports()
    busy = db.session.scalar(
        select(ArchiveImport.id).where(ArchiveImport.tenant_id == tenant_id, ArchiveImport.status.in_(ACTIVE))
    )
    if busy is not None:
        raise Conflict("A restore into this workspace is already under way.", import_id=str(busy))
    user = db.session.get(User, membership.user_id)
    return _start("restore", user, upload, tenant_id=tenant_id)


def _start(kind: str, user: User, upload: IO[bytes], **values: Any) -> ArchiveImport:
    from saas.jobs import cell_queue

    record = ArchiveImport(
        kind=kind,
        requested_by=user.id,
        status="queued",
        stage="Waiting for a worker",
        errors={},
        secrets_to_reenter=[],
        tables_total=0,
        tables_done=0,
        rows_loaded=0,
        size_bytes=0,
        **values,
    )
    cell = _import_cell(record)
    storage.cell_bucket(cell)  # refuse before anything is written when the cell has no bucket
    db.session.add(record)
    db.session.flush()
    record.storage_key = _upload_key(record.id)
    storage.upload_stream(upload, record.storage_key, "application/zip", cell=cell)
    record_audit(
        db.session,
        f"archive_import.{kind}_requested",
        actor=str(user.id),
        tenant_id=values.get("tenant_id"),
        target=str(record.id),
    )
    db.session.commit()
    job_id = f"archive-import-{record.id}"
    cell_queue(cell).enqueue(run_import, str(record.id), job_timeout=6 * 3600, job_id=job_id)
    return record


def _refuse_read_only(tenant_id: str) -> None:
    entitlements = entitlements_for(db.session, tenant_id)
    if not entitlements.can_write:
        raise PermissionDenied(N_(READ_ONLY, reason=entitlements.read_only_reason, translated=("reason",)))


def _refuse_unless_empty(ref: TenantRef) -> None:
    with tenant_pools().engine_for(ref).connect() as connection:
        holding = tables_with_records(connection)
    if holding:
        raise Conflict(N_(NOT_EMPTY, tables=", ".join(holding)))


def tables_with_records(connection: Connection) -> list[str]:
    """The record tables (every record type of the registry, custom objects' too) that hold a row.

    Seeded settings, pipelines and definitions do not count: a restore replaces them with the archive's.
    """
    from saas.modules.core import objects
    from saas.modules.registry import registry

    tables = {record_type.table for module in registry for record_type in module.record_types}
    tables |= set(objects.tables_in_schema(connection))
    present = set(
        connection.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        ).scalars()
    )
    return [
        table
        for table in sorted(tables & present)
        if connection.exec_driver_sql(f"SELECT EXISTS (SELECT 1 FROM {quote_identifier(table)})").scalar()
    ]


# -- reading ----------------------------------------------------------------------------------


def get_tenant_import(tenant_id: str, import_id: uuid.UUID) -> ArchiveImport:
    """An import into this workspace: a restore, or the signup import that made it (another workspace's
    is not found, whatever its id)."""
    record = db.session.get(ArchiveImport, import_id)
    if record is None or record.tenant_id != tenant_id:
        raise NotFound(N_("No restore %(id)s in this workspace.", id=import_id))
    return _current(record)


def get_own_signup_import(user_id: uuid.UUID, import_id: uuid.UUID) -> ArchiveImport:
    """A signup import of this person (anybody else's is not found)."""
    record = db.session.get(ArchiveImport, import_id)
    if record is None or record.kind != "signup" or record.requested_by != user_id:
        raise NotFound(N_("No import %(id)s.", id=import_id))
    return _current(record)


def _stale_cutoff() -> datetime:
    return _now() - timedelta(seconds=current_app.config["SAAS_SETTINGS"].export_stale_seconds)


def _current(record: ArchiveImport) -> ArchiveImport:
    """The import as shown: one whose job stopped giving signs of life is failed first."""
    if record.status in ACTIVE and (record.heartbeat_at or record.created_at) < _stale_cutoff():
        reap_stalled_imports()
        db.session.refresh(record)
    return record


def reap_stalled_imports() -> int:
    """Mark imports whose job gave no sign of life for ``EXPORT_STALE_SECONDS`` as failed (the loading
    transaction died with the worker, so nothing was written); returns how many."""
    cutoff = _stale_cutoff()
    reaped = db.session.execute(
        update(ArchiveImport)
        .where(ArchiveImport.status.in_(ACTIVE))
        .where(func.coalesce(ArchiveImport.heartbeat_at, ArchiveImport.created_at) < cutoff)
        .values(status="failed", stage=None, finished_at=_now(), error=WORKER_STOPPED)
    ).rowcount
    db.session.commit()
    return reaped


def list_tenant_imports(tenant_id: str, limit: int = 20) -> list[ArchiveImport]:
    reap_stalled_imports()
    return list(
        db.session.scalars(
            select(ArchiveImport)
            .where(ArchiveImport.tenant_id == tenant_id)
            .order_by(ArchiveImport.created_at.desc())
            .limit(limit)
        )
    )


def progress(record: ArchiveImport) -> dict[str, Any]:
    """What a status page polls: the figures that change while the job runs."""
    return {
        "status": record.status,
        "stage": record.stage,
        "tables_done": record.tables_done,
        "tables_total": record.tables_total,
        "rows_loaded": record.rows_loaded,
    }


# -- the job ----------------------------------------------------------------------------------


def _update(import_id: uuid.UUID, **values: Any) -> None:
    """Progress in its own short transaction, beside the long loading one."""
    db.session.execute(
        update(ArchiveImport).where(ArchiveImport.id == import_id).values(heartbeat_at=_now(), **values)
    )
    db.session.commit()


def run_import(import_id: str) -> str:
    """The job: fetch the upload, verify it completely, then load and configure; returns the outcome."""
    record = db.session.get(ArchiveImport, uuid.UUID(import_id))
    if record is None:
        raise LookupError(f"archive import {import_id} does not exist")
    if record.status != "queued":
        return record.status  # a duplicated or retried job
    cell = _import_cell(record)
    scratch = current_app.config["SAAS_SETTINGS"].instance_dir / "imports"
    scratch.mkdir(parents=True, exist_ok=True)
    handle, path = tempfile.mkstemp(prefix=f"{record.id}-", suffix=".zip", dir=scratch)
    try:
        _update(record.id, status="verifying", stage="Verifying every file of the archive")
        with os.fdopen(handle, "wb") as target:
            for chunk in storage.object_chunks(record.storage_key, cell=cell):
                target.write(chunk)
        _update(record.id, size_bytes=Path(path).stat().st_size)
        if record.kind == "restore":
            _refuse_read_only(record.tenant_id)
        checked = check_archive(path)
        tables = len(checked.verified.manifest["table_order"])
        _update(record.id, status="loading", stage="Loading the records", tables_total=tables)
        outcome = _restore(record, checked) if record.kind == "restore" else _create(record, checked)
        return outcome
    except ArchiveRefused as refused:
        return _finish_refused(record, refused.errors, refused.detail)
    except (ValidationError, PermissionDenied, Conflict) as refused:
        return _finish_refused(
            record, getattr(refused, "errors", None) or {"archive": [refused.detail]}, refused.detail
        )
    except Exception as error:
        db.session.rollback()
        log.exception("archive import %s failed", import_id)
        _update(record.id, status="failed", stage=None, finished_at=_now(), error=type(error).__name__)
        record_audit(
            db.session, "archive_import.failed", actor="job", tenant_id=record.tenant_id, target=import_id
        )
        db.session.commit()
        return "failed"
    finally:
        Path(path).unlink(missing_ok=True)
        if record.storage_key:
            storage.delete_object(record.storage_key, cell=cell)  # no longer needed, whatever happened


def _finish_refused(record: ArchiveImport, errors: dict[str, list[str]], detail: str) -> str:
    db.session.rollback()
    _update(record.id, status="refused", stage=None, finished_at=_now(), errors=errors, error=detail)
    record_audit(
        db.session,
        "archive_import.refused",
        actor="job",
        tenant_id=record.tenant_id,
        target=str(record.id),
        details={"files": sorted(errors)[:50]},
    )
    db.session.commit()
    return "refused"


def _progress(record: ArchiveImport):
    def progress(table: str, tables_done: int, rows_loaded: int) -> None:
        _update(record.id, stage=f"Loaded {table}", tables_done=tables_done, rows_loaded=rows_loaded)

    return progress


def _heartbeat(record: ArchiveImport):
    """Proves the job alive inside a long table, at most every HEARTBEAT_SECONDS."""
    last = [time.monotonic()]

    def heartbeat() -> None:
        if time.monotonic() - last[0] >= HEARTBEAT_SECONDS:
            last[0] = time.monotonic()
            _update(record.id)

    return heartbeat


def _create(record: ArchiveImport, checked: CheckedArchive) -> str:
    owner = db.session.get(User, record.requested_by)
    result = import_tenant(
        checked.verified.path,
        slug=record.slug,
        name=record.name,
        actor=str(owner.id),
        owner=owner,
        checked=checked,
        progress=_progress(record),
        heartbeat=_heartbeat(record),
    )
    return _finish_done(record, result.tenant.id, result.secrets_to_reenter)


def _restore(record: ArchiveImport, checked: CheckedArchive) -> str:
    from saas.exports.configuration import apply_configuration
    from saas.exports.services import archive_filler, renewed_webhook_secrets
    from saas.tenants.provisioning import refill_tenant_schema

    tenant = db.session.get(Tenant, record.tenant_id)
    owner = db.session.scalar(
        select(Membership).where(
            Membership.tenant_id == tenant.id,
            Membership.user_id == record.requested_by,
            Membership.role == "owner",
        )
    )
    if owner is None:
        raise PermissionDenied("The person who started this restore is no longer an owner of the workspace.")

    def still_empty(connection: Connection) -> None:
        holding = tables_with_records(connection)
        if holding:
            raise Conflict(N_(NOT_EMPTY, tables=", ".join(holding)))

    rows: dict[str, int] = {}
    version = refill_tenant_schema(
        tenant.ref,
        checked.verified.schema_version,
        archive_filler(checked, rows, _progress(record), _heartbeat(record)),
        before=still_empty,
    )
    _update(record.id, status="configuring", stage="Applying the configuration")
    tenant = db.session.get(Tenant, record.tenant_id)
    tenant.schema_version = version
    to_reenter: list[dict[str, Any]] = []
    if checked.configuration is not None:
        to_reenter += apply_configuration(
            db.session,
            tenant,
            owner,
            checked.configuration,
            checked.audit_log,
            source_tenant_id=checked.source_tenant_id,
            actor=str(record.requested_by),
        )
    to_reenter += renewed_webhook_secrets(checked)
    record_audit(
        db.session,
        "tenant.restored",
        actor=str(record.requested_by),
        tenant_id=tenant.id,
        target=str(record.id),
        details={"rows": sum(rows.values()), "schema_version": checked.verified.schema_version},
    )
    db.session.commit()
    return _finish_done(record, tenant.id, to_reenter)


def _finish_done(record: ArchiveImport, tenant_id: str, to_reenter: list[dict[str, Any]]) -> str:
    _update(
        record.id,
        status="done",
        stage=None,
        finished_at=_now(),
        tenant_id=tenant_id,
        secrets_to_reenter=to_reenter,
    )
    record_audit(
        db.session, "archive_import.completed", actor="job", tenant_id=tenant_id, target=str(record.id)
    )
    db.session.commit()
    return "done"


# -- after the import --------------------------------------------------------------------------


def send_invitations(tenant_id: str, actor: Membership, link_for) -> tuple[int, int]:
    """Mail every open invitation of the workspace (those an import made, waiting for the owner); returns
    (mailed, not mailed). ``link_for(token)`` makes the invitation's link."""
    from saas.auth.members import invitation_token, list_open_invitations, mail_invitation

    if actor.role != "owner" or actor.tenant_id != tenant_id:
        raise PermissionDenied("Only an owner can send the imported invitations.")
    name = db.session.get(Tenant, tenant_id).name
    mailed = failed = 0
    for invitation in list_open_invitations(db.session, tenant_id):
        if mail_invitation(invitation, name, link_for(invitation_token(invitation))):
            mailed += 1
        else:
            failed += 1
    record_audit(
        db.session, "archive_import.invitations_sent", actor=str(actor.user_id), tenant_id=tenant_id,
        details={"mailed": mailed, "not_mailed": failed},
    )  # fmt: skip
    db.session.commit()
    return mailed, failed
