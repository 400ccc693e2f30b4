"""Custom objects: a workspace's own kinds of records, each a real table ``co_<key>``; record-type names
in custom fields, saved views, imports and timeline links grow to fit ``co_<key>``.

Revision ID: t0022
Revises: t0021
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "t0022"
down_revision = "t0021"
branch_labels = None
depends_on = None

WIDENED = (
    ("custom_fields", "entity", False),
    ("custom_fields", "reference", True),
    ("saved_views", "entity", False),
    ("activities", "subject_type", True),
    ("import_jobs", "entity", False),
)


def upgrade() -> None:
    op.create_table(
        "custom_objects",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=30), nullable=False),
        sa.Column("singular", sa.String(length=60), nullable=False),
        sa.Column("plural", sa.String(length=60), nullable=False),
        sa.Column("icon", sa.String(length=30), nullable=False),
        sa.Column("name_label", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_objects")),
        sa.UniqueConstraint("key", name=op.f("uq_custom_objects_key")),
    )
    for table, column, nullable in WIDENED:
        op.alter_column(table, column, type_=sa.String(length=63), existing_nullable=nullable)


def downgrade() -> None:
    op.drop_table("custom_objects")
    for table, column, nullable in WIDENED:
        op.alter_column(table, column, type_=sa.String(length=20), existing_nullable=nullable)
