"""Ready tenant schemas: built ahead of signups, claimed by one in a single short transaction.

Revision ID: p0017
Revises: p0016
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "p0017"
down_revision = "p0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ready_schemas",
        sa.Column("id", sa.String(12), primary_key=True),
        sa.Column("schema_version", sa.String(64), nullable=False),
        sa.Column("login_key", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema="platform",
    )


def downgrade() -> None:
    op.drop_table("ready_schemas", schema="platform")
