"""Migration in from other CRMs: vendor imports, the rows they did not import, and the vendor records
each of ours came from (so that a second run creates nothing twice).

Revision ID: t0030
Revises: t0027
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "t0030"
down_revision = "t0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vendor_imports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("vendor", sa.String(length=20), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("choices", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("dry_run", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("processed_rows", sa.Integer(), nullable=False),
        sa.Column("imported_rows", sa.Integer(), nullable=False),
        sa.Column("duplicate_rows", sa.Integer(), nullable=False),
        sa.Column("skipped_rows", sa.Integer(), nullable=False),
        sa.Column("error_rows", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor_imports")),
    )
    op.create_table(
        "vendor_import_rows",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("import_id", sa.Uuid(), nullable=False),
        sa.Column("object", sa.String(length=63), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("raw", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["vendor_imports.id"],
            name=op.f("fk_vendor_import_rows_import_id_vendor_imports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor_import_rows")),
    )
    op.create_index(op.f("ix_vendor_import_rows_import_id"), "vendor_import_rows", ["import_id"])
    op.create_table(
        "external_records",
        sa.Column("vendor", sa.String(length=20), nullable=False),
        sa.Column("object", sa.String(length=63), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("record_type", sa.String(length=63), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("import_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["vendor_imports.id"],
            name=op.f("fk_external_records_import_id_vendor_imports"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("vendor", "object", "external_id", name=op.f("pk_external_records")),
    )


def downgrade() -> None:
    op.drop_table("external_records")
    op.drop_index(op.f("ix_vendor_import_rows_import_id"), table_name="vendor_import_rows")
    op.drop_table("vendor_import_rows")
    op.drop_table("vendor_imports")
