"""The workspace's default phone region: numbers typed without a country code are read in it.

Revision ID: t0020
Revises: t0019
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "t0020"
down_revision = "t0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "phone_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=2), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_phone_settings_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_settings")),
    )


def downgrade() -> None:
    op.drop_table("phone_settings")
