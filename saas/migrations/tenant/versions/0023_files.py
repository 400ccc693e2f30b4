"""Files attached to records: one row per file, its bytes in object storage under the tenant's prefix.

Revision ID: t0023
Revises: t0022
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "t0023"
down_revision = "t0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("record_type", sa.String(length=63), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=127), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("object_name", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("uploaded_by_contact_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_files_size")),
        sa.ForeignKeyConstraint(
            ["uploaded_by_contact_id"],
            ["contacts.id"],
            name=op.f("fk_files_uploaded_by_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files")),
        sa.UniqueConstraint("object_name", name=op.f("uq_files_object_name")),
    )
    op.create_index("ix_files_record", "files", ["record_type", "record_id"])
    op.create_index(op.f("ix_files_message_id"), "files", ["message_id"])
    op.create_index(op.f("ix_files_uploaded_by_contact_id"), "files", ["uploaded_by_contact_id"])


def downgrade() -> None:
    op.drop_table("files")
