"""Currencies: the workspace's base currency and its dated exchange rates.

Revision ID: t0017
Revises: t0016
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "t0017"
down_revision = "t0016"
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "currency_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("base_currency", sa.String(length=3), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_currency_settings_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_currency_settings")),
    )
    op.create_table(
        "exchange_rates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("base_currency", sa.String(length=3), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("rate", sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column("valid_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.CheckConstraint("rate > 0", name=op.f("ck_exchange_rates_rate_positive")),
        sa.CheckConstraint("currency <> base_currency", name=op.f("ck_exchange_rates_not_the_base")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_rates")),
        sa.UniqueConstraint(
            "base_currency",
            "currency",
            "valid_on",
            name=op.f("uq_exchange_rates_base_currency_currency_valid_on"),
        ),
    )
    op.create_index("ix_exchange_rates_lookup", "exchange_rates", ["base_currency", "currency", "valid_on"])


def downgrade() -> None:
    op.drop_index("ix_exchange_rates_lookup", table_name="exchange_rates")
    op.drop_table("exchange_rates")
    op.drop_table("currency_settings")
