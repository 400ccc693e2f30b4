"""Exports to the workspace's own bucket: the destination, each archive's delivery, and the local hour
(and weekday) a scheduled export runs at.

Revision ID: p0016
Revises: p0013
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "p0016"
down_revision = "p0013"
branch_labels = None
depends_on = None

S = "platform"


def upgrade() -> None:
    op.add_column("export_schedules", sa.Column("hour", sa.SmallInteger(), nullable=True), schema=S)
    op.add_column("export_schedules", sa.Column("weekday", sa.SmallInteger(), nullable=True), schema=S)
    op.create_table(
        "export_destinations",
        sa.Column("tenant_id", sa.String(12), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=True),
        sa.Column("bucket", sa.String(63), nullable=True),
        sa.Column("prefix", sa.String(500), nullable=False),
        sa.Column("region", sa.String(40), nullable=True),
        sa.Column("endpoint_url", sa.String(2000), nullable=True),
        sa.Column("role_arn", sa.String(2048), nullable=True),
        sa.Column("access_key_encrypted", sa.Text(), nullable=True),
        sa.Column("secret_key_encrypted", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("probe_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("probe_reason", sa.String(40), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_key", sa.String(1100), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure_reason", sa.String(40), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            [f"{S}.tenants.id"],
            name="fk_export_destinations_tenant_id_tenants",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_export_destinations"),
        schema=S,
    )
    op.create_table(
        "export_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(12), nullable=False),
        sa.Column("export_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key", sa.String(1100), nullable=True),
        sa.Column("reason", sa.String(40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            [f"{S}.tenants.id"],
            name="fk_export_deliveries_tenant_id_tenants",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["export_id"],
            [f"{S}.exports.id"],
            name="fk_export_deliveries_export_id_exports",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_export_deliveries"),
        schema=S,
    )
    op.create_index("ix_export_deliveries_tenant_id", "export_deliveries", ["tenant_id"], schema=S)
    op.create_index("ix_export_deliveries_export_id", "export_deliveries", ["export_id"], schema=S)
    # The retry sweep's question: which pending deliveries are due.
    op.create_index(
        "ix_export_deliveries_due",
        "export_deliveries",
        ["next_attempt_at"],
        schema=S,
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_table("export_deliveries", schema=S)
    op.drop_table("export_destinations", schema=S)
    op.drop_column("export_schedules", "weekday", schema=S)
    op.drop_column("export_schedules", "hour", schema=S)
