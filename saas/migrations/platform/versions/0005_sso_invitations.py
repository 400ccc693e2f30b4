"""Identity: per-tenant OpenID Connect single sign-on, invitations, deactivated memberships.

Revision ID: p0005
Revises: p0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "p0005"
down_revision = "p0004"
branch_labels = None
depends_on = None

S = "platform"


def upgrade() -> None:
    op.add_column("memberships", sa.Column("deactivated_at", sa.DateTime(timezone=True)), schema=S)
    op.create_table(
        "sso_configs",
        sa.Column("tenant_id", sa.String(12), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("client_secret_encrypted", sa.Text(), nullable=False),
        sa.Column("allowed_domains", postgresql.JSONB(), nullable=False),
        sa.Column("default_role", sa.String(20), nullable=False),
        sa.Column("sso_required", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], [f"{S}.tenants.id"], name="fk_sso_configs_tenant_id_tenants", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_sso_configs"),
        schema=S,
    )
    op.create_table(
        "invitations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(12), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("invited_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], [f"{S}.tenants.id"], name="fk_invitations_tenant_id_tenants", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["invited_by"], [f"{S}.users.id"], name="fk_invitations_invited_by_users", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_invitations"),
        schema=S,
    )
    op.create_index("ix_invitations_tenant_id", "invitations", ["tenant_id"], schema=S)


def downgrade() -> None:
    op.drop_index("ix_invitations_tenant_id", table_name="invitations", schema=S)
    op.drop_table("invitations", schema=S)
    op.drop_table("sso_configs", schema=S)
    op.drop_column("memberships", "deactivated_at", schema=S)
