"""Tenant exports and export schedules.

Revision ID: p0003
Revises: p0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "p0003"
down_revision = "p0002"
branch_labels = None
depends_on = None

S = "platform"


def upgrade() -> None:
    op.create_table(
        "exports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(12), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("requested_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tables_total", sa.Integer(), nullable=False),
        sa.Column("tables_done", sa.Integer(), nullable=False),
        sa.Column("rows_written", sa.BigInteger(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("storage_key", sa.String(300), nullable=True),
        sa.Column("schema_version", sa.String(64), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], [f"{S}.tenants.id"], name="fk_exports_tenant_id_tenants", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_exports"),
        schema=S,
    )
    op.create_index("ix_exports_tenant_id", "exports", ["tenant_id"], schema=S)
    op.create_table(
        "export_schedules",
        sa.Column("tenant_id", sa.String(12), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("frequency", sa.String(10), nullable=False),
        sa.Column("keep_days", sa.Integer(), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            [f"{S}.tenants.id"],
            name="fk_export_schedules_tenant_id_tenants",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_export_schedules"),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("export_schedules", schema=S)
    op.drop_table("exports", schema=S)
