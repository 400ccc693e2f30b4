"""Per-tenant module switches.

Revision ID: p0002
Revises: p0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "p0002"
down_revision = "p0001"
branch_labels = None
depends_on = None

S = "platform"


def upgrade() -> None:
    op.create_table(
        "module_switches",
        sa.Column("tenant_id", sa.String(12), nullable=False),
        sa.Column("module_key", sa.String(40), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("changed_by", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            [f"{S}.tenants.id"],
            name="fk_module_switches_tenant_id_tenants",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "module_key", name="pk_module_switches"),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("module_switches", schema=S)
