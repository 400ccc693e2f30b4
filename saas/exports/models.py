"""Export records and schedules in the platform schema (they outlive a lapsed subscription)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text, func
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
