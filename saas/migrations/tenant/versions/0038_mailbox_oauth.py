"""Mailbox OAuth: how a mailbox signs in (password or an operator-configured OAuth provider), its access
token and when it expires (the refresh token is the mailbox's secret), and the "needs reconnecting" status;
calendars that sign in with that mailbox's token at the provider's CalDAV endpoint.

Revision ID: t0038
Revises: t0032
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "t0038"
down_revision = "t0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "mailboxes",
        sa.Column("auth_method", sa.String(length=10), server_default="password", nullable=False),
    )
    op.add_column("mailboxes", sa.Column("oauth_provider", sa.String(length=50), nullable=True))
    op.add_column("mailboxes", sa.Column("access_token_encrypted", sa.Text(), nullable=True))
    op.add_column("mailboxes", sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(
        op.f("ck_mailboxes_auth_method"), "mailboxes", "auth_method IN ('password', 'oauth2')"
    )
    op.drop_constraint(op.f("ck_mailboxes_status"), "mailboxes", type_="check")
    op.create_check_constraint(
        op.f("ck_mailboxes_status"), "mailboxes", "status IN ('connected', 'disconnected', 'reconnect')"
    )
    op.add_column(
        "calendar_connections",
        sa.Column("auth_method", sa.String(length=10), server_default="password", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("calendar_connections", "auth_method")
    op.execute("UPDATE mailboxes SET status = 'disconnected' WHERE status = 'reconnect'")
    op.drop_constraint(op.f("ck_mailboxes_status"), "mailboxes", type_="check")
    op.create_check_constraint(
        op.f("ck_mailboxes_status"), "mailboxes", "status IN ('connected', 'disconnected')"
    )
    op.drop_constraint(op.f("ck_mailboxes_auth_method"), "mailboxes", type_="check")
    for column in ("token_expires_at", "access_token_encrypted", "oauth_provider", "auth_method"):
        op.drop_column("mailboxes", column)
