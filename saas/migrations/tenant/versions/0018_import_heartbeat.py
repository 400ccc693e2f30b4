"""Imports beat a heartbeat at every committed batch, so a stalled one (its worker died, its queue entry
was lost with Redis) is found and resumed.

Revision ID: t0018
Revises: t0017
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "t0018"
down_revision = "t0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("import_jobs", sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("import_jobs", "heartbeat_at")
