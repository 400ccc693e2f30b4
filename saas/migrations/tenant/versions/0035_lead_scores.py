"""Lead scores: rule points, the predicted chance of converting and its factors on each lead; the
workspace's trained model (numbers only).

Revision ID: t0035
Revises: t0033
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "t0035"
down_revision = "t0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("leads", sa.Column("rule_score", sa.Integer(), nullable=True))
    op.add_column("leads", sa.Column("predicted_score", sa.Integer(), nullable=True))
    op.add_column("leads", sa.Column("score_factors", postgresql.JSONB(), nullable=True))
    op.create_index(op.f("ix_leads_predicted_score"), "leads", ["predicted_score"])
    op.create_table(
        "lead_score_models",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("converted", sa.Integer(), nullable=False),
        sa.Column("disqualified", sa.Integer(), nullable=False),
        sa.Column("parameters", postgresql.JSONB(), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_lead_score_models_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_score_models")),
    )


def downgrade() -> None:
    op.drop_table("lead_score_models")
    op.drop_index(op.f("ix_leads_predicted_score"), table_name="leads")
    for column in ("score_factors", "predicted_score", "rule_score"):
        op.drop_column("leads", column)
