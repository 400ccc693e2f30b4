"""Indexes for keyset-paginated lists and email look-ups on contacts and accounts.

Revision ID: t0002
Revises: t0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "t0002"
down_revision = "t0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_accounts_sort_name_id", "accounts", ["sort_name", "id"])
    op.create_index("ix_contacts_sort_name_id", "contacts", ["sort_name", "id"])
    op.create_index("ix_contacts_email_lower", "contacts", [sa.text("lower(email)")])


def downgrade() -> None:
    op.drop_index("ix_contacts_email_lower", table_name="contacts")
    op.drop_index("ix_contacts_sort_name_id", table_name="contacts")
    op.drop_index("ix_accounts_sort_name_id", table_name="accounts")
