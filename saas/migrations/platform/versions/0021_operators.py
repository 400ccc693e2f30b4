"""Platform operators: the user accounts (platform staff) that may open the operator pages under
/operator/. Granted and revoked only by ``saas operators grant|revoke``, never by a web path.

Revision ID: p0021
Revises: p0019
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "p0021"
down_revision = "p0019"
branch_labels = None
depends_on = None

S = "platform"


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("user_id", sa.Uuid, nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("granted_by", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_operators"),
        sa.ForeignKeyConstraint(
            ["user_id"], [f"{S}.users.id"], name="fk_operators_user_id_users", ondelete="CASCADE"
        ),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("operators", schema=S)
