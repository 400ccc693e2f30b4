"""Tables of the notifications module (tenant schema): one row per recipient and event, and each member's
choice of a daily digest mail."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from saas.db import TenantBase

KINDS = ("mentioned", "assigned", "deal_moved", "sla_at_risk", "import_finished")


class Notification(TenantBase):
    """Something one member is told of. ``record_type``/``record_id`` say which record it links to
    (a table of the registry's record types); ``details`` holds what its sentence names (the actor's email,
    the new stage), kept as written so a later rename does not rewrite history."""

    __tablename__ = "notifications"
    __table_args__ = (
        # The bell counts a member's unread ones on every page.
        Index("ix_notifications_user_unread", "user_id", "read_at", "created_at"),
        # A job that runs again (an SLA warning every few minutes) tells each member once.
        Index("uq_notifications_user_dedupe", "user_id", "dedupe_key", unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # A platform user id; no foreign key, since a tenant's role cannot see the platform schema.
    user_id: Mapped[uuid.UUID] = mapped_column()
    kind: Mapped[str] = mapped_column(String(30))
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column()
    record_type: Mapped[str | None] = mapped_column(String(63))
    record_id: Mapped[uuid.UUID | None] = mapped_column()
    record_label: Mapped[str] = mapped_column(String(300), default="")
    excerpt: Mapped[str | None] = mapped_column(Text)
    """The words that mentioned the member (a note's first lines)."""
    details: Mapped[dict] = mapped_column(JSONB, default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    mailed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When the digest mailed it; None: not yet (or its recipient takes no digest)."""


class NotificationSetting(TenantBase):
    """A member's choice: ``digest`` mails their unread notifications once a day instead of only showing
    them in the workspace."""

    __tablename__ = "notification_settings"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    digest: Mapped[bool] = mapped_column(Boolean, default=False)
    base_url: Mapped[str | None] = mapped_column(String(300))
    """The address the member chose the digest on (``https://crm.example.com``): the mail's links start
    there, since a job has no request to build them from (as a campaign keeps its ``base_url``)."""
    last_digest_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
