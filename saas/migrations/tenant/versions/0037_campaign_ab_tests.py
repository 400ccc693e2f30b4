"""Campaign A/B tests: a campaign's test (sample share, metric, wait, arms, the winner once chosen), each
recipient's arm, and the ``held`` status of the audience waiting for the winner.

Revision ID: t0037
Revises: t0039
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "t0037"
down_revision = "t0039"
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('queued', 'sending', 'sent', 'bounced', 'failed')"
NEW_STATUSES = "status IN ('queued', 'sending', 'sent', 'bounced', 'failed', 'held')"


def upgrade() -> None:
    op.create_table(
        "campaign_ab_tests",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("sample_percent", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=10), nullable=False),
        sa.Column("wait_hours", sa.Integer(), nullable=False),
        sa.Column("arms", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("decide_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("winner", sa.Integer(), nullable=True),
        sa.Column("decision", sa.String(length=10), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "sample_percent BETWEEN 1 AND 90", name=op.f("ck_campaign_ab_tests_sample_percent")
        ),
        sa.CheckConstraint("metric IN ('opens', 'clicks')", name=op.f("ck_campaign_ab_tests_metric")),
        sa.CheckConstraint("wait_hours BETWEEN 1 AND 720", name=op.f("ck_campaign_ab_tests_wait_hours")),
        sa.CheckConstraint(
            "decision IN ('best_rate', 'tie', 'no_data')", name=op.f("ck_campaign_ab_tests_decision")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_ab_tests_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_campaign_ab_tests")),
    )
    op.add_column("campaign_recipients", sa.Column("ab_arm", sa.Integer(), nullable=True))
    op.drop_constraint(op.f("ck_campaign_recipients_status"), "campaign_recipients", type_="check")
    op.create_check_constraint(op.f("ck_campaign_recipients_status"), "campaign_recipients", NEW_STATUSES)


def downgrade() -> None:
    op.execute("UPDATE campaign_recipients SET status = 'queued' WHERE status = 'held'")
    op.drop_constraint(op.f("ck_campaign_recipients_status"), "campaign_recipients", type_="check")
    op.create_check_constraint(op.f("ck_campaign_recipients_status"), "campaign_recipients", OLD_STATUSES)
    op.drop_column("campaign_recipients", "ab_arm")
    op.drop_table("campaign_ab_tests")
