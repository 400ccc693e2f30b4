"""A user's own time zone: the zone their pages show times in, in every workspace.

Revision ID: p0013
Revises: p0012
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "p0013"
down_revision = "p0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: no choice means each workspace's time zone (then UTC), as before.
    op.add_column("users", sa.Column("time_zone", sa.String(64), nullable=True), schema="platform")


def downgrade() -> None:
    op.drop_column("users", "time_zone", schema="platform")
