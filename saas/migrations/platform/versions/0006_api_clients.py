"""API access: OAuth2 client-credentials clients and their tokens; scopes of personal API tokens.

Revision ID: p0006
Revises: p0005
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "p0006"
down_revision = "p0005"
branch_labels = None
depends_on = None

S = "platform"
NOW = sa.func.now()


def upgrade() -> None:
    op.create_table(
        "oauth_clients",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(12), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("client_secret_hash", sa.String(64), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], [f"{S}.tenants.id"], name="fk_oauth_clients_tenant_id_tenants", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], [f"{S}.users.id"], name="fk_oauth_clients_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_oauth_clients"),
        sa.UniqueConstraint("client_id", name="uq_oauth_clients_client_id"),
        schema=S,
    )
    op.create_index("ix_oauth_clients_tenant_id", "oauth_clients", ["tenant_id"], schema=S)
    op.create_table(
        "oauth_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_pk", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_pk"],
            [f"{S}.oauth_clients.id"],
            name="fk_oauth_tokens_client_pk_oauth_clients",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_oauth_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_oauth_tokens_token_hash"),
        schema=S,
    )
    op.create_index("ix_oauth_tokens_client_pk", "oauth_tokens", ["client_pk"], schema=S)
    op.create_index("ix_oauth_tokens_expires_at", "oauth_tokens", ["expires_at"], schema=S)
    op.create_table(
        "api_token_scopes",
        sa.Column("token_id", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["token_id"],
            [f"{S}.api_tokens.id"],
            name="fk_api_token_scopes_token_id_api_tokens",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_id", name="pk_api_token_scopes"),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("api_token_scopes", schema=S)
    op.drop_table("oauth_tokens", schema=S)
    op.drop_table("oauth_clients", schema=S)
