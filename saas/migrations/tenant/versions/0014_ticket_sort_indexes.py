"""Ticket lists sort by priority (a stored severity rank), SLA due times and last change through indexes.

Revision ID: t0014
Revises: t0013
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "t0014"
down_revision = "t0013"
branch_labels = None
depends_on = None

# Written out, not imported: a migration must keep meaning what it meant when it was written.
PRIORITY_RANK = (
    "CASE priority WHEN 'low' THEN 0 WHEN 'normal' THEN 1 WHEN 'high' THEN 2 WHEN 'urgent' THEN 3 END"
)
INDEXES = {
    "ix_tickets_resolution_due_at_id": ["resolution_due_at", "id"],
    "ix_tickets_first_response_due_at_id": ["first_response_due_at", "id"],
    "ix_tickets_priority_rank_id": ["priority_rank", "id"],
    "ix_tickets_updated_at_id": ["updated_at", "id"],
}


def upgrade() -> None:
    op.add_column(
        "tickets",
        sa.Column(
            "priority_rank", sa.SmallInteger(), sa.Computed(PRIORITY_RANK, persisted=True), nullable=False
        ),
    )
    op.drop_index("ix_tickets_resolution_due_at", table_name="tickets")
    for name, columns in INDEXES.items():
        op.create_index(name, "tickets", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="tickets")
    op.create_index("ix_tickets_resolution_due_at", "tickets", ["resolution_due_at"])
    op.drop_column("tickets", "priority_rank")
