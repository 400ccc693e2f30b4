"""Duplicate detection's expression indexes (normalised phones, names, web domains) and the definitions of
each tenant's custom fields.

Revision ID: t0010
Revises: t0008
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from saas.modules.core.normalise import company_key, phone_digits, web_domain

revision = "t0010"
down_revision = "t0008"
branch_labels = None
depends_on = None

NOW = sa.text("now()")
# Expressions built by the same functions as the queries', so that PostgreSQL uses the indexes.
INDEXES = (
    ("ix_contacts_phone_digits", "contacts", phone_digits(sa.column("phone"))),
    ("ix_contacts_last_name_lower", "contacts", sa.func.lower(sa.column("last_name"))),
    ("ix_accounts_domain_key", "accounts", web_domain(sa.column("domain"))),
    ("ix_accounts_name_key", "accounts", company_key(sa.column("name"))),
    ("ix_accounts_phone_digits", "accounts", phone_digits(sa.column("phone"))),
    ("ix_leads_phone_digits", "leads", phone_digits(sa.column("phone"))),
    ("ix_leads_last_name_lower", "leads", sa.func.lower(sa.column("last_name"))),
)


def upgrade() -> None:
    for name, table, expression in INDEXES:
        op.create_index(name, table, [expression])
    op.create_table(
        "custom_fields",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("column_name", sa.String(length=63), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("field_type", sa.String(length=20), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("default_value", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("help_text", sa.String(length=300), nullable=True),
        sa.Column("options", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_fields")),
        sa.UniqueConstraint("entity", "column_name", name=op.f("uq_custom_fields_entity_column_name")),
    )


def downgrade() -> None:
    op.drop_table("custom_fields")
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
