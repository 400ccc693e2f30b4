"""Languages: a user's own language, and a workspace's default language and time zone.

Revision ID: p0011
Revises: p0010
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "p0011"
down_revision = "p0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: no choice means "the next rule decides" (workspace default, then the browser).
    op.add_column("users", sa.Column("locale", sa.String(16), nullable=True), schema="platform")
    op.add_column("tenants", sa.Column("locale", sa.String(16), nullable=True), schema="platform")
    op.add_column("tenants", sa.Column("time_zone", sa.String(64), nullable=True), schema="platform")


def downgrade() -> None:
    op.drop_column("tenants", "time_zone", schema="platform")
    op.drop_column("tenants", "locale", schema="platform")
    op.drop_column("users", "locale", schema="platform")
