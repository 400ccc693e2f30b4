"""Search that native speakers trust: the search documents fold ё to е, Arabic letter forms to the
Persian ones, Arabic and Persian digits to 0-9, and drop harakat and zero-width joiners; contacts and
leads also hold their first and last names written together in both orders (王小明 finds 小明 王).

Revision ID: t0016
Revises: t0015
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from saas.modules.core.models import search_document

revision = "t0016"
down_revision = "t0015"
branch_labels = None
depends_on = None

# The searchable fields of each table and the names written together, as the models declare them.
NAMES = ("first_name", "last_name")
SEARCHED = {
    "contacts": (("first_name", "last_name", "email"), NAMES),
    "accounts": (("name", "domain"), None),
    "leads": (("first_name", "last_name", "email", "company"), NAMES),
    "deals": (("name",), None),
}


def _rebuild(document_of) -> None:
    # A generated column's expression cannot be altered in place: drop it and add it back.
    for table, (columns, names) in SEARCHED.items():
        op.drop_index(f"ix_{table}_search", table_name=table)
        op.drop_column(table, "search_vector")
        op.add_column(
            table,
            sa.Column(
                "search_vector",
                postgresql.TSVECTOR(),
                sa.Computed(document_of(columns, names), persisted=True),
                nullable=False,
            ),
        )
        op.create_index(f"ix_{table}_search", table, ["search_vector"], postgresql_using="gin")


def upgrade() -> None:
    _rebuild(lambda columns, names: search_document(*columns, names=names))


def downgrade() -> None:
    # Without the joined names; the letter folding stays (the earlier document had no version of its own).
    _rebuild(lambda columns, names: search_document(*columns))
