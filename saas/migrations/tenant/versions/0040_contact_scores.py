"""Contact scores: rule points 0..100 on each contact and the points per feature behind them, stored by
the hourly scoring job.

Revision ID: t0040
Revises: t0036
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "t0040"
down_revision = "t0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("contacts", sa.Column("rule_score", sa.Integer(), nullable=True))
    op.add_column("contacts", sa.Column("score_factors", postgresql.JSONB(), nullable=True))
    op.create_index(op.f("ix_contacts_rule_score"), "contacts", ["rule_score"])


def downgrade() -> None:
    op.drop_index(op.f("ix_contacts_rule_score"), table_name="contacts")
    op.drop_column("contacts", "score_factors")
    op.drop_column("contacts", "rule_score")
