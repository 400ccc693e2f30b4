"""Billing: plans, meters and prices (seeded with the pay-as-you-go plan), billing accounts, the usage
ledger and the Stripe webhook events seen.

Revision ID: p0004
Revises: p0003
Create Date: 2026-11-23
"""

from decimal import Decimal

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "p0004"
down_revision = "p0003"
branch_labels = None
depends_on = None

S = "platform"


def _now_column(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], [f"{S}.tenants.id"], name=f"fk_{table}_tenant_id_tenants", ondelete="CASCADE"
    )


def upgrade() -> None:
    plans = op.create_table(
        "billing_plans",
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("base_fee_amount", sa.Integer(), nullable=True),
        sa.Column("trial_days", sa.Integer(), nullable=False),
        sa.Column("max_seats", sa.Integer(), nullable=True),
        sa.Column("included_modules", postgresql.JSONB(), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("stripe_product_id", sa.String(255), nullable=True),
        sa.Column("stripe_base_price_id", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_billing_plans"),
        schema=S,
    )
    meters = op.create_table(
        "billing_meters",
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("event_name", sa.String(100), nullable=False),
        sa.Column("unit", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("free_allowance", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("stripe_meter_id", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_billing_meters"),
        sa.UniqueConstraint("event_name", name="uq_billing_meters_event_name"),
        schema=S,
    )
    prices = op.create_table(
        "billing_prices",
        sa.Column("plan_key", sa.String(40), nullable=False),
        sa.Column("meter_key", sa.String(40), nullable=False),
        sa.Column("unit_amount_decimal", sa.Numeric(18, 9), nullable=False),
        sa.Column("stripe_price_id", sa.String(255), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_key"], [f"{S}.billing_plans.key"], name="fk_billing_prices_plan_key_billing_plans",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["meter_key"], [f"{S}.billing_meters.key"], name="fk_billing_prices_meter_key_billing_meters",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("plan_key", "meter_key", name="pk_billing_prices"),
        schema=S,
    )  # fmt: skip
    op.create_table(
        "billing_accounts",
        sa.Column("tenant_id", sa.String(12), nullable=False),
        sa.Column("plan_key", sa.String(40), nullable=False),
        sa.Column("stripe_customer_id", sa.String(255), nullable=True),
        sa.Column("stripe_subscription_id", sa.String(255), nullable=True),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("trial_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("current_period_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("current_period_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        sa.Column("has_payment_method", sa.Boolean(), nullable=False),
        sa.Column("lapsed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("setup_attempts", sa.Integer(), nullable=False),
        sa.Column("setup_error", sa.String(500), nullable=True),
        _now_column("created_at"),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        _tenant_fk("billing_accounts"),
        sa.ForeignKeyConstraint(
            ["plan_key"], [f"{S}.billing_plans.key"], name="fk_billing_accounts_plan_key_billing_plans"
        ),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_billing_accounts"),
        sa.UniqueConstraint("stripe_customer_id", name="uq_billing_accounts_stripe_customer_id"),
        schema=S,
    )
    op.create_table(
        "usage_ledger",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("identifier", sa.String(100), nullable=False),
        sa.Column("tenant_id", sa.String(12), nullable=False),
        sa.Column("meter_key", sa.String(40), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        _now_column("recorded_at"),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _now_column("next_attempt_at"),
        sa.Column("last_error", sa.String(500), nullable=True),
        _tenant_fk("usage_ledger"),
        sa.ForeignKeyConstraint(
            ["meter_key"], [f"{S}.billing_meters.key"], name="fk_usage_ledger_meter_key_billing_meters"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_usage_ledger"),
        sa.UniqueConstraint("identifier", name="uq_usage_ledger_identifier"),
        schema=S,
    )
    op.create_index(
        "ix_usage_ledger_tenant_meter_period", "usage_ledger", ["tenant_id", "meter_key", "period"], schema=S
    )
    op.create_index(
        "ix_usage_ledger_unreported",
        "usage_ledger",
        ["next_attempt_at"],
        schema=S,
        postgresql_where=sa.text("reported_at IS NULL"),
    )
    op.create_table(
        "billing_webhook_events",
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("tenant_id", sa.String(12), nullable=True),
        _now_column("received_at"),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("details", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_billing_webhook_events"),
        schema=S,
    )
    op.create_index("ix_billing_webhook_events_tenant_id", "billing_webhook_events", ["tenant_id"], schema=S)
    _seed(plans, meters, prices)


def _seed(plans: sa.Table, meters: sa.Table, prices: sa.Table) -> None:
    """The launch catalogue. It is data: change it in the tables, then run `saas billing sync`."""
    op.bulk_insert(
        plans,
        [
            {
                "key": "payg", "name": "Pay as you go", "currency": "eur", "base_fee_amount": None,
                "description": "No seat licences: pay for the people who sign in, the emails you send "
                "and the contacts you keep beyond the first 1,000.",
                "trial_days": 14, "max_seats": None, "included_modules": None, "is_default": True,
                "active": True, "sort_order": 0, "stripe_product_id": None, "stripe_base_price_id": None,
            }
        ],
    )  # fmt: skip
    meter_rows = [
        ("active_users", "Active users", "crm_active_users", "user-day", "event", 0,
         "Each person who signs in, counted once per day."),
        ("emails_sent", "Marketing emails", "crm_emails_sent", "email", "event", 0,
         "Each marketing email sent."),
        ("contacts_stored", "Stored contacts", "crm_contacts_stored", "contact-day", "gauge", 1000,
         "Contacts beyond the first 1,000, at each day's high-water mark."),
    ]  # fmt: skip
    op.bulk_insert(
        meters,
        [
            {
                "key": key, "name": name, "event_name": event_name, "unit": unit, "kind": kind,
                "free_allowance": allowance, "description": description, "sort_order": order,
                "stripe_meter_id": None,
            }
            for order, (key, name, event_name, unit, kind, allowance, description) in enumerate(meter_rows)
        ],
    )  # fmt: skip
    # Minor units (euro cents) per unit: 30 cents a user-day, 0.1 cent an email, 0.01 cent a contact-day.
    unit_amounts = {"active_users": "30", "emails_sent": "0.1", "contacts_stored": "0.01"}
    op.bulk_insert(
        prices,
        [
            {
                "plan_key": "payg",
                "meter_key": key,
                "unit_amount_decimal": Decimal(amount),
                "stripe_price_id": None,
            }
            for key, amount in unit_amounts.items()
        ],
    )


def downgrade() -> None:
    for table in (
        "billing_webhook_events",
        "usage_ledger",
        "billing_accounts",
        "billing_prices",
        "billing_meters",
        "billing_plans",
    ):
        op.drop_table(table, schema=S)
