"""Self-serve archive imports (a new workspace at signup, a restore into an empty one), and audit entries
that came in with an archive keep the workspace they were first written in.

Revision ID: p0015
Revises: p0017
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "p0015"
down_revision = "p0017"
branch_labels = None
depends_on = None

S = "platform"


def upgrade() -> None:
    op.create_table(
        "archive_imports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("tenant_id", sa.String(12), nullable=True),
        sa.Column("requested_by", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(40), nullable=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("stage", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tables_total", sa.Integer(), nullable=False),
        sa.Column("tables_done", sa.Integer(), nullable=False),
        sa.Column("rows_loaded", sa.BigInteger(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("storage_key", sa.String(300), nullable=True),
        sa.Column("errors", postgresql.JSONB(), nullable=False),
        sa.Column("secrets_to_reenter", postgresql.JSONB(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            [f"{S}.tenants.id"],
            name="fk_archive_imports_tenant_id_tenants",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            [f"{S}.users.id"],
            name="fk_archive_imports_requested_by_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_archive_imports"),
        schema=S,
    )
    op.create_index("ix_archive_imports_tenant_id", "archive_imports", ["tenant_id"], schema=S)
    op.create_index("ix_archive_imports_requested_by", "archive_imports", ["requested_by"], schema=S)
    # Adding a column rewrites no row: the append-only triggers (p0009) guard UPDATE, not ALTER.
    op.add_column("audit_log", sa.Column("imported_from", sa.String(100), nullable=True), schema=S)


def downgrade() -> None:
    op.drop_column("audit_log", "imported_from", schema=S)
    op.drop_table("archive_imports", schema=S)
