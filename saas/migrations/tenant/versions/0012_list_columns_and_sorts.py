"""Saved views keep their visible columns; lists sorted newest first follow an index.

Revision ID: t0012
Revises: t0011
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "t0012"
down_revision = "t0011"
branch_labels = None
depends_on = None

CREATED_AT_INDEXES = ("contacts", "accounts", "leads", "deals")


def upgrade() -> None:
    op.add_column(
        "saved_views",
        sa.Column(
            "columns",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
    )
    for table in CREATED_AT_INDEXES:
        op.create_index(f"ix_{table}_created_at_id", table, ["created_at", "id"])


def downgrade() -> None:
    for table in CREATED_AT_INDEXES:
        op.drop_index(f"ix_{table}_created_at_id", table_name=table)
    op.drop_column("saved_views", "columns")
