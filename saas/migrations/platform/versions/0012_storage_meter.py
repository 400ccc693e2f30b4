"""The ``storage_gb_months`` meter: files kept on records, billed per GB-month.

The ledger holds whole numbers, so the meter counts millionths of a GB-month (unit ``KB-month``);
see saas/modules/files/usage.py. Pay as you go charges 10 euro cents a GB-month.

Revision ID: p0012
Revises: p0011
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "p0012"
down_revision = "p0011"
branch_labels = None
depends_on = None

S = "platform"


def upgrade() -> None:
    op.execute(
        sa.text(
            f"INSERT INTO {S}.billing_meters (key, name, event_name, unit, kind, free_allowance, "
            "description, sort_order) VALUES ('storage_gb_months', 'File storage', 'crm_storage_gb_months', "
            "'KB-month', "
            "'gauge', 0, 'Files kept on records: a millionth of a GB-month per KB-month, each day at its "
            "high-water mark.', 3) ON CONFLICT (key) DO NOTHING"
        )
    )
    # Minor units (euro cents) per KB-month: 10 cents a GB-month is 0.00001 cents a KB-month.
    op.execute(
        sa.text(
            f"INSERT INTO {S}.billing_prices (plan_key, meter_key, unit_amount_decimal) "
            f"SELECT key, 'storage_gb_months', 0.00001 FROM {S}.billing_plans WHERE key = 'payg' "
            "ON CONFLICT DO NOTHING"
        )
    )


def downgrade() -> None:
    op.execute(sa.text(f"DELETE FROM {S}.billing_prices WHERE meter_key = 'storage_gb_months'"))
    op.execute(sa.text(f"DELETE FROM {S}.billing_meters WHERE key = 'storage_gb_months'"))
