"""Tenant roles log in with their own derived password: the version of that password per tenant.

The roles themselves get their login on the next ``saas tenants migrate`` (``repair_tenant_logins``),
which needs the key the passwords are derived from.

Revision ID: p0010
Revises: p0009
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "p0010"
down_revision = "p0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "tenants",
        sa.Column("db_login_version", sa.Integer(), nullable=False, server_default="1"),
        schema="platform",
    )


def downgrade() -> None:
    op.drop_column("tenants", "db_login_version", schema="platform")
