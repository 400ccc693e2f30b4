"""Export records and schedules in the platform schema (they outlive a lapsed subscription)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from saas.db import db

EXPORT_STATUSES = ("queued", "running", "done", "failed", "expired")


class Export(db.Model):
    __tablename__ = "exports"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    kind: Mapped[str] = mapped_column(String(20), default="manual")  # manual, scheduled, api
    requested_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    tables_total: Mapped[int] = mapped_column(Integer, default=0)
    tables_done: Mapped[int] = mapped_column(Integer, default=0)
    rows_written: Mapped[int] = mapped_column(BigInteger, default=0)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    storage_key: Mapped[str | None] = mapped_column(String(300))
    schema_version: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)

    def as_dict(self) -> dict[str, object]:
        """Fields for the API schema (which renders the datetimes)."""
        return {
            "id": str(self.id),
            "status": self.status,
            "kind": self.kind,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "tables_total": self.tables_total,
            "tables_done": self.tables_done,
            "rows_written": self.rows_written,
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
            "expires_at": self.expires_at,
            "error": self.error,
        }


class ExportSchedule(db.Model):
    __tablename__ = "export_schedules"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    frequency: Mapped[str] = mapped_column(String(10))  # daily, weekly
    keep_days: Mapped[int] = mapped_column(Integer, default=30)
    next_run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(100))
    # The local hour (workspace time zone) a run starts at, and a weekly run's day (0 = Monday); none:
    # a schedule saved before hours could be chosen runs a whole period after the previous run.
    hour: Mapped[int | None] = mapped_column(SmallInteger)
    weekday: Mapped[int | None] = mapped_column(SmallInteger)


class ExportDestination(db.Model):
    """The workspace's own S3 bucket that scheduled exports are copied to (one per workspace).

    The row exists from the first visit of its page on, holding the external id we generated for the
    workspace's AWS role; it is a destination once ``bucket`` is set. Keys are stored Fernet-encrypted
    and never read back to a page or the API.
    """

    __tablename__ = "export_destinations"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str | None] = mapped_column(String(20))  # aws_role, s3_keys
    bucket: Mapped[str | None] = mapped_column(String(63))
    prefix: Mapped[str] = mapped_column(String(500), default="")
    region: Mapped[str | None] = mapped_column(String(40))
    endpoint_url: Mapped[str | None] = mapped_column(String(2000))
    role_arn: Mapped[str | None] = mapped_column(String(2048))
    access_key_encrypted: Mapped[str | None] = mapped_column(Text)
    secret_key_encrypted: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_by: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    probe_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    probe_reason: Mapped[str | None] = mapped_column(String(40))
    """``ok`` or why the probe object could not be written (a code; the page says it in words)."""
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_key: Mapped[str | None] = mapped_column(String(1100))
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_failure_reason: Mapped[str | None] = mapped_column(String(40))

    @property
    def configured(self) -> bool:
        return bool(self.bucket and self.kind)


DELIVERY_STATUSES = ("pending", "done", "failed")


class ExportDelivery(db.Model):
    """One archive's copy to the workspace's bucket: retried with backoff until done or given up."""

    __tablename__ = "export_deliveries"
    # The retry sweep's question: which pending deliveries are due.
    __table_args__ = (
        Index("ix_export_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    export_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exports.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    key: Mapped[str | None] = mapped_column(String(1100))
    reason: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


IMPORT_STATUSES = ("queued", "verifying", "loading", "configuring", "done", "refused", "failed")
IMPORT_KINDS = ("signup", "restore")


class ArchiveImport(db.Model):
    """A self-serve import of an archive: a new workspace at signup, or a restore into an empty one.

    The uploaded archive waits in the bucket (``storage_key``) until the job has verified and loaded it.
    A signup's import has no tenant until the job created it; only the person who uploaded it sees it.
    """

    __tablename__ = "archive_imports"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(10))
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    requested_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # A signup's workspace, created by the job: its address and name.
    slug: Mapped[str | None] = mapped_column(String(40))
    name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    stage: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    tables_total: Mapped[int] = mapped_column(Integer, default=0)
    tables_done: Mapped[int] = mapped_column(Integer, default=0)
    rows_loaded: Mapped[int] = mapped_column(BigInteger, default=0)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    storage_key: Mapped[str | None] = mapped_column(String(300))
    # {file: [reason, ...]}: why the archive was refused, per file (nothing was written).
    errors: Mapped[dict[str, list[str]]] = mapped_column(JSONB, default=dict)
    # What to re-enter after import: [{"kind": ..., "name": ...}, ...].
    secrets_to_reenter: Mapped[list[dict[str, str]]] = mapped_column(JSONB, default=list)
    error: Mapped[str | None] = mapped_column(Text)

    def as_dict(self) -> dict[str, object]:
        return {
            "id": str(self.id),
            "kind": self.kind,
            "status": self.status,
            "stage": self.stage,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "tables_total": self.tables_total,
            "tables_done": self.tables_done,
            "rows_loaded": self.rows_loaded,
            "errors": self.errors or {},
            "secrets_to_reenter": self.secrets_to_reenter or [],
            "error": self.error,
        }
