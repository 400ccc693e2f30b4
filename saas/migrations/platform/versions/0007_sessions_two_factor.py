"""Sign-in security: revocable browser sessions, TOTP two-factor with recovery codes, the workspace's
"require two-factor for password sign-ins" setting.

Revision ID: p0007
Revises: p0006
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "p0007"
down_revision = "p0006"
branch_labels = None
depends_on = None

S = "platform"
NOW = sa.func.now()


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], [f"{S}.users.id"], name=f"fk_{table}_user_id_users", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(200), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        _user_fk("user_sessions"),
        sa.PrimaryKeyConstraint("id", name="pk_user_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_user_sessions_token_hash"),
        schema=S,
    )
    op.create_index("ix_user_sessions_user_id", "user_sessions", ["user_id"], schema=S)
    op.create_table(
        "user_two_factor",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("enabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        _user_fk("user_two_factor"),
        sa.PrimaryKeyConstraint("user_id", name="pk_user_two_factor"),
        schema=S,
    )
    op.create_table(
        "user_recovery_codes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        _user_fk("user_recovery_codes"),
        sa.PrimaryKeyConstraint("id", name="pk_user_recovery_codes"),
        schema=S,
    )
    op.create_index("ix_user_recovery_codes_user_id", "user_recovery_codes", ["user_id"], schema=S)
    op.create_table(
        "workspace_security",
        sa.Column("tenant_id", sa.String(12), nullable=False),
        sa.Column("require_two_factor", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            [f"{S}.tenants.id"],
            name="fk_workspace_security_tenant_id_tenants",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_workspace_security"),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("workspace_security", schema=S)
    op.drop_table("user_recovery_codes", schema=S)
    op.drop_table("user_two_factor", schema=S)
    op.drop_table("user_sessions", schema=S)
