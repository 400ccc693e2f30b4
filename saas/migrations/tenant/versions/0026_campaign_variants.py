"""Campaign variants per language: a campaign's subject and bodies in more languages, and the variant
each recipient was given at the snapshot (None: the campaign's own, the default).

Revision ID: t0026
Revises: t0025
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "t0026"
down_revision = "t0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaign_variants",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_variants_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_variants")),
        sa.UniqueConstraint("campaign_id", "locale", name=op.f("uq_campaign_variants_campaign_id_locale")),
    )
    op.add_column("campaign_recipients", sa.Column("locale", sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column("campaign_recipients", "locale")
    op.drop_table("campaign_variants")
