"""Moves of tenants between cells: one row per move with its step, timings and last error, so that
`saas tenants move` resumes an unfinished move and purges old copies after their grace period.

Revision ID: p0019
Revises: p0018
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "p0019"
down_revision = "p0018"
branch_labels = None
depends_on = None

S = "platform"


def upgrade() -> None:
    when = sa.DateTime(timezone=True)
    op.create_table(
        "tenant_moves",
        sa.Column("id", sa.BigInteger, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(12), nullable=False),
        sa.Column("from_cell", sa.String(30), nullable=False),
        sa.Column("to_cell", sa.String(30), nullable=False),
        sa.Column("step", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("started_at", when, server_default=sa.func.now(), nullable=False),
        sa.Column("copied_at", when),
        sa.Column("window_started_at", when),
        sa.Column("window_ended_at", when),
        sa.Column("switched_at", when),
        sa.Column("purge_after", when),
        sa.Column("purged_at", when),
        sa.Column("failed_at", when),
        sa.Column("error", sa.Text),
        sa.Column("report", postgresql.JSONB, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tenant_moves"),
        schema=S,
    )
    op.create_index("ix_tenant_moves_tenant_id", "tenant_moves", ["tenant_id"], schema=S)
    op.create_index(
        "ix_tenant_moves_open",
        "tenant_moves",
        ["tenant_id"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("step IN ('copying', 'copied')"),
    )


def downgrade() -> None:
    op.drop_table("tenant_moves", schema=S)
