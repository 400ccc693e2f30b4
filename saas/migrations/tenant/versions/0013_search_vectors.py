"""Contacts, accounts, leads and deals are searched by word through a generated tsvector and a GIN index.

Revision ID: t0013
Revises: t0012
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from saas.modules.core.models import search_document

revision = "t0013"
down_revision = "t0012"
branch_labels = None
depends_on = None

# The searchable fields of each table, as the models declare them (saas.modules.core.models.search_document).
SEARCHED = {
    "contacts": ("first_name", "last_name", "email"),
    "accounts": ("name", "domain"),
    "leads": ("first_name", "last_name", "email", "company"),
    "deals": ("name",),
}


def upgrade() -> None:
    for table, columns in SEARCHED.items():
        op.add_column(
            table,
            sa.Column(
                "search_vector",
                postgresql.TSVECTOR(),
                sa.Computed(search_document(*columns), persisted=True),
                nullable=False,
            ),
        )
        op.create_index(f"ix_{table}_search", table, ["search_vector"], postgresql_using="gin")


def downgrade() -> None:
    for table in SEARCHED:
        op.drop_index(f"ix_{table}_search", table_name=table)
        op.drop_column(table, "search_vector")
