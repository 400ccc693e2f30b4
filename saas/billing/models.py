"""Billing tables in the platform schema: plans, meters and prices (data, not code), each tenant's
billing account, the usage ledger and the Stripe webhook events already seen.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from saas.db import db

METER_KINDS = ("event", "gauge")
"""``event``: each ledger row is a fact (a sign-in, an email). ``gauge``: one row per day holding that
day's high-water mark above the free allowance; reported once the day is over."""


class Plan(db.Model):
    __tablename__ = "billing_plans"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    currency: Mapped[str] = mapped_column(String(3))
    # Optional flat monthly fee in the currency's minor unit (cents); None means usage only.
    base_fee_amount: Mapped[int | None] = mapped_column(Integer)
    trial_days: Mapped[int] = mapped_column(Integer, default=14)
    max_seats: Mapped[int | None] = mapped_column(Integer)
    # Module keys the plan includes; None means every module.
    included_modules: Mapped[list[str] | None] = mapped_column(JSONB)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    stripe_product_id: Mapped[str | None] = mapped_column(String(255))
    stripe_base_price_id: Mapped[str | None] = mapped_column(String(255))


class Meter(db.Model):
    __tablename__ = "billing_meters"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # The Stripe meter's event_name; unique among a Stripe account's active meters.
    event_name: Mapped[str] = mapped_column(String(100), unique=True)
    unit: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))
    free_allowance: Mapped[int] = mapped_column(BigInteger, default=0)
    description: Mapped[str] = mapped_column(String(500), default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    stripe_meter_id: Mapped[str | None] = mapped_column(String(255))


class MeteredPrice(db.Model):
    """What one unit of a meter costs on a plan, in minor units (may be fractional: 0.1 cent)."""

    __tablename__ = "billing_prices"

    plan_key: Mapped[str] = mapped_column(
        ForeignKey("billing_plans.key", ondelete="CASCADE"), primary_key=True
    )
    meter_key: Mapped[str] = mapped_column(
        ForeignKey("billing_meters.key", ondelete="CASCADE"), primary_key=True
    )
    unit_amount_decimal: Mapped[Decimal] = mapped_column(Numeric(18, 9))
    stripe_price_id: Mapped[str | None] = mapped_column(String(255))


class BillingAccount(db.Model):
    """A tenant's Stripe customer and the last known state of its subscription."""

    __tablename__ = "billing_accounts"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    plan_key: Mapped[str] = mapped_column(ForeignKey("billing_plans.key"))
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255))
    # Stripe's subscription status, or "pending" until the customer and subscription exist.
    status: Mapped[str] = mapped_column(String(30), default="pending")
    trial_ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    current_period_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    current_period_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    has_payment_method: Mapped[bool] = mapped_column(Boolean, default=False)
    # When the tenant became read-only; the purge grace period counts from here.
    lapsed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    setup_attempts: Mapped[int] = mapped_column(Integer, default=0)
    setup_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UsageRecord(db.Model):
    """One billable fact, written locally first; ``identifier`` is Stripe's meter event identifier."""

    __tablename__ = "usage_ledger"
    __table_args__ = (
        Index("ix_usage_ledger_tenant_meter_period", "tenant_id", "meter_key", "period"),
        # The reporting job's work queue: only rows not yet reported.
        Index("ix_usage_ledger_unreported", "next_attempt_at", postgresql_where=text("reported_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    identifier: Mapped[str] = mapped_column(String(100), unique=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    meter_key: Mapped[str] = mapped_column(ForeignKey("billing_meters.key"))
    period: Mapped[date] = mapped_column(Date)
    subject: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(String(500))


class WebhookEvent(db.Model):
    """A Stripe event id seen at ``/billing/webhook``; its presence makes a replay a no-op."""

    __tablename__ = "billing_webhook_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    # No foreign key: the record of what Stripe told us outlives a purged tenant.
    tenant_id: Mapped[str | None] = mapped_column(String(12), index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
