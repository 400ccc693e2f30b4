"""Contacts' and leads' names written together (王小明) are searchable words only for names in scripts
written without spaces (Han, kana, Hangul): other names gained two unique index words each for nothing.

Revision ID: t0021
Revises: t0020
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from saas.modules.core.models import search_document

revision = "t0021"
down_revision = "t0020"
branch_labels = None
depends_on = None

NAMES = ("first_name", "last_name")
SEARCHED = {
    "contacts": ("first_name", "last_name", "email"),
    "leads": ("first_name", "last_name", "email", "company"),
}


def upgrade() -> None:
    # A generated column's expression cannot be altered in place: drop it and add it back.
    for table, columns in SEARCHED.items():
        op.drop_index(f"ix_{table}_search", table_name=table)
        op.drop_column(table, "search_vector")
        document = search_document(*columns, names=NAMES)
        computed = sa.Computed(document, persisted=True)
        op.add_column(table, sa.Column("search_vector", postgresql.TSVECTOR(), computed, nullable=False))
        op.create_index(f"ix_{table}_search", table, ["search_vector"], postgresql_using="gin")


def downgrade() -> None:
    """Keeps the new document: the history has no copy of the old one (t0016 builds today's too)."""
