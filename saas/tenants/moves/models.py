"""The record of each move of a tenant between cells (platform schema): one row per move, its step and
timings, so a rerun of the command resumes where the last attempt stopped."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from saas.db import db

COPYING = "copying"
"""The target is being built and filled while the tenant keeps working in its old cell."""
COPIED = "copied"
"""The first copy is done; the read-only window, final copy and verification come next."""
SWITCHED = "switched"
"""The directory names the new cell; the old copy is kept (unwritable) until its grace period ends."""
PURGED = "purged"
"""The old copy is dropped."""
OPEN_STEPS = (COPYING, COPIED)
"""Steps of a move that a rerun resumes; at most one such move per tenant."""


class TenantMove(db.Model):
    __tablename__ = "tenant_moves"
    __table_args__ = (
        # One unfinished move per tenant: a second command resumes it rather than starting another.
        Index(
            "ix_tenant_moves_open",
            "tenant_id",
            unique=True,
            postgresql_where=text("step IN ('copying', 'copied')"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    # No foreign key: the record (and the old copy it points at) outlives a purged tenant.
    tenant_id: Mapped[str] = mapped_column(String(12), index=True)
    from_cell: Mapped[str] = mapped_column(String(30))
    to_cell: Mapped[str] = mapped_column(String(30))
    step: Mapped[str] = mapped_column(String(20), default=COPYING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    actor: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    copied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    window_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    window_ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    switched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    purge_after: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
    """The last attempt's failure (class and message), cleared when a later attempt finishes."""
    report: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    """Figures of the last attempt: seconds per phase, tables and rows copied, tables recopied."""

    def as_dict(self) -> dict[str, Any]:
        def at(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "id": self.id,
            "tenant_id": self.tenant_id,
            "from": self.from_cell,
            "to": self.to_cell,
            "step": self.step,
            "attempts": self.attempts,
            "started_at": at(self.started_at),
            "copied_at": at(self.copied_at),
            "window_started_at": at(self.window_started_at),
            "window_ended_at": at(self.window_ended_at),
            "switched_at": at(self.switched_at),
            "purge_after": at(self.purge_after),
            "purged_at": at(self.purged_at),
            "failed_at": at(self.failed_at),
            "error": self.error,
            "report": self.report,
        }
