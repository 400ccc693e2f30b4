"""A contact's preferred language, set from the public form or privacy-center page they used; the
privacy center, the portal and every mail to them speak it.

Revision ID: t0019
Revises: t0018
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "t0019"
down_revision = "t0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("contacts", sa.Column("preferred_locale", sa.String(16), nullable=True))


def downgrade() -> None:
    op.drop_column("contacts", "preferred_locale")
