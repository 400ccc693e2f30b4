"""The platform audit log: who did what to which tenant, when, from where.

Entries carry identifiers, never personal data of contacts, so the log can outlive an erasure.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import has_request_context, request
from sqlalchemy import BigInteger, DateTime, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from saas.db import db


class AuditEntry(db.Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    tenant_id: Mapped[str | None] = mapped_column(String(12), index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))
    # Set on entries that came in with an archive: the workspace they were written in (their history).
    imported_from: Mapped[str | None] = mapped_column(String(100))


def record_audit(
    session: Session,
    action: str,
    *,
    actor: str,
    tenant_id: str | None = None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry to ``session``; it commits with the change it describes."""
    entry = AuditEntry(
        action=action,
        actor=actor,
        tenant_id=tenant_id,
        target=target,
        details=details or {},
        ip=request.remote_addr if has_request_context() else None,
    )
    session.add(entry)
    return entry
