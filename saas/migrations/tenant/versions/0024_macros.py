"""Service macros: canned replies and ticket changes an agent applies in one step, shared with the
workspace or personal to one member.

Revision ID: t0024
Revises: t0023
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "t0024"
down_revision = "t0023"
branch_labels = None
depends_on = None

NOW = sa.text("now()")
# Kept here, not imported: a migration must not change when the module's lists change later.
STATUSES = "'new', 'open', 'pending_customer', 'solved', 'closed'"
PRIORITIES = "'low', 'normal', 'high', 'urgent'"


def upgrade() -> None:
    op.create_table(
        "service_macros",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("owner_user_id", sa.Uuid(), nullable=True),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("reply_kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("priority", sa.String(length=10), nullable=True),
        sa.Column("queue_id", sa.Uuid(), nullable=True),
        sa.Column("assignee_user_id", sa.Uuid(), nullable=True),
        sa.Column("tags", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.CheckConstraint("scope IN ('shared', 'personal')", name=op.f("ck_service_macros_scope")),
        sa.CheckConstraint(
            "scope = 'shared' OR owner_user_id IS NOT NULL", name=op.f("ck_service_macros_personal_owner")
        ),
        sa.CheckConstraint("reply_kind IN ('public', 'note')", name=op.f("ck_service_macros_reply_kind")),
        sa.CheckConstraint(
            f"status IS NULL OR status IN ({STATUSES})", name=op.f("ck_service_macros_status")
        ),
        sa.CheckConstraint(
            f"priority IS NULL OR priority IN ({PRIORITIES})", name=op.f("ck_service_macros_priority")
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["service_queues.id"],
            name=op.f("fk_service_macros_queue_id_service_queues"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_macros")),
    )
    op.create_index(op.f("ix_service_macros_owner_user_id"), "service_macros", ["owner_user_id"])


def downgrade() -> None:
    op.drop_table("service_macros")
