"""Privacy center branding: name, logo, colour and privacy policy link per tenant.

Revision ID: t0006
Revises: t0005
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "t0006"
down_revision = "t0005"
branch_labels = None
depends_on = None

COLUMNS = (("brand_name", 200), ("brand_logo_url", 500), ("brand_color", 7), ("policy_url", 500))


def upgrade() -> None:
    for name, length in COLUMNS:
        op.add_column("privacy_settings", sa.Column(name, sa.String(length=length), nullable=True))


def downgrade() -> None:
    for name, _ in COLUMNS:
        op.drop_column("privacy_settings", name)
