"""Exports and imports of whole tenants: one service layer for the CLI, pages, API and jobs."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import case, func, select, update

from saas.audit import record_audit
from saas.db import TenantRef, db, tenant_session
from saas.errors import Conflict, NotFound, ValidationError, is_out_of_space
from saas.exports import storage
from saas.exports.definitions import check_definitions
from saas.exports.format import MANIFEST, tenant_tables
from saas.exports.models import Export, ExportSchedule
from saas.exports.reader import (
    ArchiveRefused,
    ImportLimits,
    VerifiedArchive,
    add_custom_columns,
    check_tables_match,
    load_archive,
    read_configuration_files,
    renew_withheld_secrets,
    restore_stored_objects,
    stored_columns_in_schema,
    verify_archive,
)
from saas.exports.writer import prepare_export_transaction, write_archive
from saas.i18n import N_
from saas.migrations import current_revision
from saas.tenants.models import Tenant

log = logging.getLogger(__name__)

MANUAL_KEEP_DAYS = 30
HEARTBEAT_SECONDS = 15
FREQUENCIES = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
ACTIVE_STATUSES = ("queued", "running")
PARTIAL_SUFFIX = ".zip.partial"
NEVER_STARTED = (
    "The export was queued but never started (its queue entry was lost, e.g. Redis restarted); "
    "start a new export."
)
WORKER_STOPPED = "The export worker stopped while writing the archive; start a new export."


def _now() -> datetime:
    return datetime.now(UTC)


def export_tenant_to_file(tenant: Tenant, target: IO[bytes], progress=None, heartbeat=None) -> dict[str, Any]:
    """Stream the tenant into ``target`` from one consistent snapshot; returns the manifest."""
    from saas.exports.configuration import audit_entries, read_configuration

    configuration = read_configuration(db.session, tenant)
    with tenant_session(tenant.ref) as session:
        connection = session.connection()
        prepare_export_transaction(connection)
        return write_archive(
            connection,
            tenant.ref,
            target,
            tenant_name=tenant.name,
            schema_version=current_revision(connection, tenant.schema_name),
            configuration=configuration,
            audit_entries=audit_entries(db.session, tenant.id),
            progress=progress,
            heartbeat=heartbeat,
        )


def _tenant(tenant_id: str) -> Tenant:
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(f"No tenant {tenant_id}.")
    return tenant


def start_export(tenant_id: str, *, requested_by: str, kind: str = "manual") -> Export:
    """Queue an export of the tenant (one at a time per tenant); audited."""
    from saas.cells import tenant_cell
    from saas.jobs import cell_queue

    cell = tenant_cell(tenant_id)
    storage.cell_bucket(cell)  # refuse early when the tenant's cell has no bucket
    reap_stale_exports(tenant_id)
    remove_leftover_partials(tenant_id)
    busy = db.session.scalar(
        select(Export).where(Export.tenant_id == tenant_id, Export.status.in_(ACTIVE_STATUSES))
    )
    if busy is not None:
        raise Conflict("An export of this workspace is already under way.", export_id=str(busy.id))
    export = Export(
        tenant_id=tenant_id,
        kind=kind,
        requested_by=requested_by,
        status="queued",
        tables_total=len(tenant_tables()),
        tables_done=0,
        rows_written=0,
    )
    db.session.add(export)
    db.session.flush()
    record_audit(
        db.session, "export.requested", actor=requested_by, tenant_id=tenant_id, target=str(export.id)
    )
    db.session.commit()
    # The archive is written and stored in the tenant's cell, by its workers.
    job_id = f"export-{export.id}"
    cell_queue(cell).enqueue(run_export, tenant_id, str(export.id), job_timeout=6 * 3600, job_id=job_id)
    return export


def _update_export(export_id: uuid.UUID, **values: Any) -> None:
    """Progress and state writes, each in its own short transaction beside the long export snapshot."""
    db.session.execute(update(Export).where(Export.id == export_id).values(**values))
    db.session.commit()


def run_export(tenant_id: str, export_id: str) -> str:
    """The export job: write the archive to a temporary file, upload it, then publish the record."""
    export = db.session.get(Export, uuid.UUID(export_id))
    if export is None or export.tenant_id != tenant_id:
        raise LookupError(f"export {export_id} of tenant {tenant_id} does not exist")
    if export.status != "queued":
        return export.status  # already handled (a retried or duplicated job)
    tenant = _tenant(tenant_id)
    _update_export(export.id, status="running", started_at=_now(), heartbeat_at=_now())

    def progress(tables_done: int, rows_written: int) -> None:
        # The total was estimated from the registry's tables; a workspace's custom objects add theirs.
        total = func.greatest(Export.tables_total, tables_done)
        _update_export(
            export.id,
            tables_done=tables_done,
            tables_total=total,
            rows_written=rows_written,
            heartbeat_at=_now(),
        )

    last_beat = [time.monotonic()]

    def heartbeat() -> None:
        # Proves the job alive inside a long table, at most every HEARTBEAT_SECONDS.
        if time.monotonic() - last_beat[0] >= HEARTBEAT_SECONDS:
            last_beat[0] = time.monotonic()
            _update_export(export.id, heartbeat_at=_now())

    scratch = _scratch_dir()
    scratch.mkdir(parents=True, exist_ok=True)
    # Named after the export, so that the reaper can tell whose leftover it is once the worker is gone.
    handle, path = tempfile.mkstemp(prefix=f"{export.id}-", suffix=PARTIAL_SUFFIX, dir=scratch)
    try:
        with os.fdopen(handle, "wb") as target:
            manifest = export_tenant_to_file(tenant, target, progress, heartbeat)
        digest, size = _file_sha256(path)
        key = storage.archive_key(tenant_id, export_id)
        storage.upload_archive(path, key, cell=tenant.cell)
        keep_days = _keep_days(tenant_id, export.kind)
        published = db.session.execute(
            update(Export)
            .where(Export.id == export.id, Export.status == "running")
            .values(
                status="done",
                finished_at=_now(),
                storage_key=key,
                sha256=digest,
                size_bytes=size,
                schema_version=manifest["schema_version"],
                tables_total=len(manifest["tables"]),
                expires_at=_now() + timedelta(days=keep_days),
            )
        ).rowcount
        db.session.commit()
        if not published:  # declared failed meanwhile (stale): keep no orphan archive
            storage.delete_archive(key, cell=tenant.cell)
            return "failed"
        record_audit(db.session, "export.completed", actor="job", tenant_id=tenant_id, target=export_id)
        db.session.commit()
        if export.kind == "scheduled":
            _queue_delivery(export)
        return "done"
    except Exception as error:
        db.session.rollback()
        log.exception("export %s of tenant %s failed", export_id, tenant_id)
        # Only while still running: an export the reaper declared failed keeps the reaper's reason.
        db.session.execute(
            update(Export)
            .where(Export.id == export.id, Export.status == "running")
            .values(status="failed", finished_at=_now(), error=_failure_reason(error))
        )
        record_audit(db.session, "export.failed", actor="job", tenant_id=tenant_id, target=export_id)
        db.session.commit()
        return "failed"
    finally:
        Path(path).unlink(missing_ok=True)  # the reaper may have removed it already


OUT_OF_SPACE_REASON = (
    "The server ran out of disk space while writing the archive; nothing was published. "
    "Start a new export once space is freed."
)


def _failure_reason(error: Exception) -> str:
    """What the exports page says about a failed export: in words where we know them, else the error's
    class (never its message: drivers quote statements, and statements can hold personal data)."""
    return OUT_OF_SPACE_REASON if is_out_of_space(error) else type(error).__name__


def _queue_delivery(export: Export) -> None:
    """A copy to the workspace's own bucket, if it has one; the export is done whatever happens here."""
    from saas.exports.destinations import queue_delivery

    try:
        db.session.refresh(export)
        queue_delivery(export)
    except Exception:
        db.session.rollback()
        log.exception("the delivery of export %s could not be queued", export.id)


def _file_sha256(path: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as source:
        while chunk := source.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _keep_days(tenant_id: str, kind: str) -> int:
    if kind == "scheduled":
        schedule = db.session.get(ExportSchedule, tenant_id)
        if schedule is not None:
            return schedule.keep_days
    return MANUAL_KEEP_DAYS


def _scratch_dir() -> Path:
    return current_app.config["SAAS_SETTINGS"].instance_dir / "exports"


def reap_stale_exports(tenant_id: str | None = None) -> int:
    """Mark exports whose worker stopped (no heartbeat for a while) as failed, and remove what they left
    half written; returns how many. The periodic run (all tenants) also sweeps older leftovers.

    The reason tells the two cases apart: a queued export that no worker ever took (its queue entry
    was lost) from one whose worker stopped while writing.
    """
    stale_after = current_app.config["SAAS_SETTINGS"].export_stale_seconds
    cutoff = _now() - timedelta(seconds=stale_after)
    query = (
        update(Export)
        .where(Export.status.in_(ACTIVE_STATUSES))
        .where(db.func.coalesce(Export.heartbeat_at, Export.created_at) < cutoff)
        .values(
            status="failed",
            finished_at=_now(),
            # PostgreSQL evaluates SET against the row as it was: "queued" means never started.
            error=case((Export.status == "queued", NEVER_STARTED), else_=WORKER_STOPPED),
        )
    )
    if tenant_id is not None:
        query = query.where(Export.tenant_id == tenant_id)
    reaped = db.session.execute(query).rowcount
    db.session.commit()
    if reaped or tenant_id is None:
        remove_leftover_partials(tenant_id)
    return reaped


def remove_leftover_partials(tenant_id: str | None = None) -> int:
    """Delete half-written archives of exports that are no longer queued or running: scratch files in
    this instance's directory and unfinished S3 multipart uploads. Returns how many were removed.

    A partial whose export is queued or running is never touched. With ``tenant_id``, only that
    tenant's exports are considered; without, also partials whose export no longer exists (its tenant
    was deleted).
    """
    files: dict[uuid.UUID, list[Path]] = {}
    for path in _scratch_dir().glob(f"*{PARTIAL_SUFFIX}"):
        if (export_id := _uuid_or_none(path.name[:36])) is not None:
            files.setdefault(export_id, []).append(path)
    uploads: dict[uuid.UUID, list[tuple[str, str, str]]] = {}
    for cell in _cells_holding_archives(tenant_id):
        for key, upload_id in storage.unfinished_uploads(storage.archive_prefix(tenant_id), cell=cell):
            if (export_id := _uuid_or_none(Path(key).name.removesuffix(".zip"))) is not None:
                uploads.setdefault(export_id, []).append((cell, key, upload_id))
    candidates = files.keys() | uploads.keys()
    if not candidates:
        return 0
    rows = dict(db.session.execute(select(Export.id, Export).where(Export.id.in_(candidates))).all())

    def leftover(export_id: uuid.UUID) -> bool:
        export = rows.get(export_id)
        if export is None:
            return tenant_id is None
        return export.status not in ACTIVE_STATUSES and tenant_id in (None, export.tenant_id)

    removed = 0
    for export_id in filter(leftover, candidates):
        for path in files.get(export_id, []):
            path.unlink(missing_ok=True)
            removed += 1
        for cell, key, upload_id in uploads.get(export_id, []):
            storage.abort_upload(key, upload_id, cell=cell)
            removed += 1
        log.info("removed the partial archive(s) of export %s", export_id)
    return removed


def _cells_holding_archives(tenant_id: str | None) -> list[str]:
    """The cells whose buckets hold ``tenant_id``'s archives (every cell with a bucket when None)."""
    from saas.cells import cell_directory, tenant_cell

    cells = [tenant_cell(tenant_id)] if tenant_id else [cell.name for cell in cell_directory()]
    return [cell for cell in cells if storage.storage_configured(cell)]


def _uuid_or_none(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def list_exports(tenant_id: str, limit: int = 50) -> list[Export]:
    reap_stale_exports(tenant_id)
    return list(
        db.session.scalars(
            select(Export)
            .where(Export.tenant_id == tenant_id)
            .order_by(Export.created_at.desc())
            .limit(limit)
        )
    )


def get_export(tenant_id: str, export_id: uuid.UUID) -> Export:
    export = db.session.get(Export, export_id)
    if export is None or export.tenant_id != tenant_id:
        raise NotFound(N_("No export %(id)s.", id=export_id))
    return export


def download_link(tenant_id: str, export_id: uuid.UUID, *, actor: str, expires_in: int | None = None) -> str:
    """A presigned, short-lived link to a finished archive; every link handed out is audited."""
    export = get_export(tenant_id, export_id)
    if export.status != "done" or not export.storage_key:
        if export.status == "failed":
            raise Conflict(N_("Export %(id)s failed; only finished exports can be downloaded.", id=export_id))
        if export.status == "expired":
            raise Conflict(
                N_("Export %(id)s has expired; only finished exports can be downloaded.", id=export_id)
            )
        raise Conflict(
            N_("Export %(id)s is not finished yet; only finished exports can be downloaded.", id=export_id)
        )
    tenant = _tenant(tenant_id)
    filename = f"{tenant.slug}-export-{export.created_at:%Y%m%d-%H%M%S}.zip"
    url = storage.presigned_download_url(export.storage_key, filename, expires_in, cell=tenant.cell)
    record_audit(db.session, "export.downloaded", actor=actor, tenant_id=tenant_id, target=str(export_id))
    db.session.commit()
    return url


def next_scheduled_run(schedule: ExportSchedule, time_zone: str | None, after: datetime) -> datetime:
    """The first run after ``after``: at the schedule's hour in the workspace's time zone (and, weekly,
    on its weekday); a schedule without an hour runs one whole period after ``after``.

    Local wall-clock arithmetic, so a nightly run stays at its hour across daylight-saving changes.
    """
    if schedule.hour is None:
        return after + FREQUENCIES[schedule.frequency]
    zone = ZoneInfo(time_zone or "UTC")
    local = after.astimezone(zone)
    run = local.replace(hour=schedule.hour, minute=0, second=0, microsecond=0)
    if schedule.frequency == "weekly":
        run += timedelta(days=((schedule.weekday or 0) - run.weekday()) % 7)
    step = timedelta(days=7 if schedule.frequency == "weekly" else 1)
    while run <= local:
        run += step
    return run.astimezone(UTC)


def set_schedule(
    tenant_id: str,
    *,
    frequency: str,
    keep_days: int,
    enabled: bool,
    actor: str,
    hour: int | None = None,
    weekday: int | None = None,
) -> ExportSchedule:
    """Save the schedule (audited): off, daily at ``hour`` (workspace time), or weekly on ``weekday``."""
    errors: dict[str, list[str]] = {}
    if frequency not in FREQUENCIES:
        errors["frequency"] = ["Choose daily or weekly."]
    if not 1 <= keep_days <= 365:
        errors["keep_days"] = ["Between 1 and 365."]
    if hour is not None and not 0 <= hour <= 23:
        errors["hour"] = ["An hour from 0 to 23."]
    if weekday is not None and not 0 <= weekday <= 6:
        errors["weekday"] = ["A weekday from 0 (Monday) to 6 (Sunday)."]
    if errors:
        raise ValidationError(next(iter(errors.values()))[0], errors)
    time_zone = _tenant(tenant_id).time_zone  # read first: no half-made schedule is flushed by the query
    schedule = db.session.get(ExportSchedule, tenant_id)
    if schedule is None:
        schedule = ExportSchedule(tenant_id=tenant_id)
        db.session.add(schedule)
    timing = (frequency, hour, weekday if frequency == "weekly" else None)
    if timing != (schedule.frequency, schedule.hour, schedule.weekday) or schedule.next_run_at is None:
        schedule.frequency, schedule.hour, schedule.weekday = timing
        schedule.next_run_at = next_scheduled_run(schedule, time_zone, _now())
    schedule.keep_days, schedule.enabled, schedule.updated_by = keep_days, enabled, actor
    record_audit(
        db.session,
        "export.schedule_changed",
        actor=actor,
        tenant_id=tenant_id,
        details={
            "frequency": frequency,
            "keep_days": keep_days,
            "enabled": enabled,
            "hour": hour,
            "weekday": schedule.weekday,
        },
    )
    db.session.commit()
    return schedule


def get_schedule(tenant_id: str) -> ExportSchedule | None:
    return db.session.get(ExportSchedule, tenant_id)


def run_due_schedules(now: datetime | None = None) -> dict[str, Any]:
    """Periodic job: start the exports whose schedule is due; returns how many started, and per tenant.

    Read-only (lapsed) tenants keep their scheduled exports: taking one's data out must always work. A
    tenant whose schema is not migrated yet keeps its due date and is exported on a later run.
    """
    from saas.jobs.fanout import for_each_tenant

    now = now or _now()
    due = select(ExportSchedule.tenant_id).where(ExportSchedule.enabled, ExportSchedule.next_run_at <= now)
    tenant_ids = list(db.session.scalars(due))

    def start_scheduled(ref: TenantRef) -> str:
        schedule = db.session.get(ExportSchedule, ref.id)
        if schedule is None or not schedule.enabled or schedule.next_run_at > now:
            return "not_due"  # changed since it was selected
        schedule.next_run_at = next_scheduled_run(
            schedule, _tenant(ref.id).time_zone, max(schedule.next_run_at, now)
        )
        db.session.commit()
        try:
            start_export(ref.id, requested_by="schedule", kind="scheduled")
        except Conflict:
            log.info("scheduled export of tenant %s skipped: one is under way", ref.id)
            return "busy"
        return "started"

    report = for_each_tenant("run_due_schedules", start_scheduled, when_read_only=True, tenant_ids=tenant_ids)
    started = sum(outcome == "started" for outcome in report.results.values())
    return {"started": started, **report.as_dict()}


def expire_old_exports(now: datetime | None = None) -> int:
    """Periodic job: delete archives past their keep date from S3 and mark them expired."""
    now = now or _now()
    expired = db.session.execute(
        select(Export, Tenant.cell)
        .join(Tenant, Tenant.id == Export.tenant_id)
        .where(Export.status == "done", Export.expires_at <= now)
    ).all()
    for export, cell in expired:
        if export.storage_key:
            storage.delete_archive(export.storage_key, cell=cell)
        export.status = "expired"
        record_audit(
            db.session, "export.expired", actor="job", tenant_id=export.tenant_id, target=str(export.id)
        )
        db.session.commit()
    return len(expired)


@dataclass
class ImportResult:
    tenant: Tenant
    rows: dict[str, int]
    schema_version_in_archive: str
    secrets_to_reenter: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class CheckedArchive:
    """An archive that passed every check: its files, its definitions and its configuration."""

    verified: VerifiedArchive
    configuration: dict[str, Any] | None
    audit_log: list[dict[str, Any]]

    @property
    def source_tenant_id(self) -> str | None:
        tenant = self.verified.manifest.get("tenant")
        return str(tenant.get("id"))[:100] if isinstance(tenant, dict) and tenant.get("id") else None


LoadProgress = Callable[[str, int, int], None]  # (table, tables done, rows loaded so far)


def import_limits() -> ImportLimits:
    settings = current_app.config["SAAS_SETTINGS"]
    return ImportLimits(settings.import_max_bytes, settings.import_max_entries, settings.import_max_ratio)


def check_archive(path: str) -> CheckedArchive:
    """Everything the CLI and the self-serve import check before a row is written; an
    :class:`ArchiveRefused` names each file at fault."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from saas.exports.configuration import check_configuration
    from saas.migrations import alembic_config

    verified = verify_archive(path, import_limits())
    try:
        known = ScriptDirectory.from_config(alembic_config("tenant")).get_revision(verified.schema_version)
    except CommandError:
        known = None
    if known is None:
        raise ArchiveRefused(
            f"The archive's schema version {verified.schema_version} is unknown here "
            "(was it made by a newer version?).",
            {MANIFEST: ["unknown schema version"]},
        )
    check_definitions(verified)
    configuration, audit_log = read_configuration_files(verified)
    if configuration is not None:
        errors = check_configuration(configuration, audit_log)
        if errors:
            raise ArchiveRefused("The archive's configuration cannot be applied.", errors)
    return CheckedArchive(verified, configuration, audit_log)


def archive_filler(
    checked: CheckedArchive,
    rows: dict[str, int],
    progress: LoadProgress | None = None,
    heartbeat: Callable[[], None] | None = None,
):
    """The schema filler of an import: the archive's tables, then its stored objects (last)."""

    def fill(connection, tenant_ref: TenantRef) -> None:
        from saas.modules.core.objects import recreate_tables

        verified = checked.verified
        recreate_tables(connection, verified.manifest["tables"])
        add_custom_columns(connection, verified)
        check_tables_match(verified, stored_columns_in_schema(connection))
        rows.update(load_archive(connection, verified, progress, heartbeat))
        renew_withheld_secrets(connection, verified)
        # Last, so that a refused archive stored nothing; objects of a rolled-back import stay unnamed.
        restore_stored_objects(connection, verified, tenant_ref)

    return fill


def _configurer(checked: CheckedArchive, actor: str, found: list[dict[str, Any]]):
    """Applies the archive's configuration beside the new owner's membership; collects what to re-enter."""
    from saas.exports.configuration import apply_configuration

    def configure(tenant: Tenant, owner) -> None:
        if checked.configuration is not None:
            found.extend(
                apply_configuration(
                    db.session,
                    tenant,
                    owner,
                    checked.configuration,
                    checked.audit_log,
                    source_tenant_id=checked.source_tenant_id,
                    actor=actor,
                )
            )
        found.extend(renewed_webhook_secrets(checked))

    return configure


def renewed_webhook_secrets(checked: CheckedArchive) -> list[dict[str, Any]]:
    rows = checked.verified.manifest["tables"].get("webhook_subscriptions", {}).get("rows", 0)
    return [{"kind": "webhook_secrets", "name": str(rows)}] if rows else []


def import_tenant(
    path: str,
    *,
    slug: str,
    name: str,
    admin_email: str = "",
    admin_password: str = "",
    actor: str,
    owner=None,
    checked: CheckedArchive | None = None,
    progress: LoadProgress | None = None,
    heartbeat: Callable[[], None] | None = None,
) -> ImportResult:
    """Create a new tenant from an archive: verify everything first, then load in one transaction.

    ``owner`` is a signed-in account (self-serve import), else the admin email and password make one.
    """
    from saas.tenants.provisioning import provision_tenant

    checked = checked or check_archive(path)
    rows: dict[str, int] = {}
    to_reenter: list[dict[str, Any]] = []
    tenant = provision_tenant(
        slug,
        name,
        admin_email,
        admin_password,
        actor=actor,
        schema_version=checked.verified.schema_version,
        fill=archive_filler(checked, rows, progress, heartbeat),
        owner=owner,
        configure=_configurer(checked, actor, to_reenter),
    )
    return ImportResult(
        tenant=tenant,
        rows=rows,
        schema_version_in_archive=checked.verified.schema_version,
        secrets_to_reenter=to_reenter,
    )
