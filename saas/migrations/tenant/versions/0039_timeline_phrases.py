"""Timeline phrases: a system entry keeps, beside its English text, the message and values it was written
from, so each reader sees it in their own language.

Revision ID: t0039
Revises: t0038
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "t0039"
down_revision = "t0038"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("activities", sa.Column("phrases", postgresql.JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("activities", "phrases")
