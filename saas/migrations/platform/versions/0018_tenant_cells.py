"""Cells: the directory records which cell (cluster, Redis, bucket in one region) holds each tenant's schema
and each ready schema. Every tenant made before is in the default cell.

Revision ID: p0018
Revises: p0015
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "p0018"
down_revision = "p0015"
branch_labels = None
depends_on = None

S = "platform"


def upgrade() -> None:
    for table in ("tenants", "ready_schemas"):
        op.add_column(
            table, sa.Column("cell", sa.String(30), nullable=False, server_default="default"), schema=S
        )
    # Refills and claims pick a cell's ready schemas.
    op.create_index("ix_ready_schemas_cell", "ready_schemas", ["cell"], schema=S)


def downgrade() -> None:
    op.drop_index("ix_ready_schemas_cell", table_name="ready_schemas", schema=S)
    for table in ("tenants", "ready_schemas"):
        op.drop_column(table, "cell", schema=S)
