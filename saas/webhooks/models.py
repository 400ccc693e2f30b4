"""Tables of outgoing webhooks (tenant schema): subscriptions and the log of every delivery."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.db import TenantBase
from saas.webhooks.signing import new_secret

DELIVERY_STATUSES = ("pending", "succeeded", "retrying", "failed", "skipped")


class WebhookSubscription(TenantBase):
    """A URL that receives the events it names, signed with its own secret."""

    __tablename__ = "webhook_subscriptions"
    # An archive leaves the secret out and an import makes a new one (saas.exports.format.WITHHELD_SECRETS).
    __table_args__ = {"info": {"withheld_secrets": {"secret": new_secret}}}

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(200))
    # Event names, or ["*"] for every event.
    events: Mapped[list[str]] = mapped_column(JSONB, default=list)
    # Needed in clear to sign each delivery; lives in the tenant's own schema, readable only by its role.
    secret: Mapped[str] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    deliveries: Mapped[list[WebhookDelivery]] = relationship(
        back_populates="subscription", cascade="all, delete-orphan", passive_deletes=True
    )


class WebhookDelivery(TenantBase):
    """One event for one subscription: its payload and how its attempts went (the delivery log)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_subscription_created", "subscription_id", "created_at"),)

    # Also the event id the receiver sees (``Webhook-Id``): the same on every retry, so it can deduplicate.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    subscription: Mapped[WebhookSubscription] = relationship(back_populates="deliveries")
