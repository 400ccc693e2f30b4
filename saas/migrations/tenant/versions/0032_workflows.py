"""Workflows: workflows (trigger, conditions, steps), enrolments (a record's run, its step and next run),
step runs (history and idempotency keys), the email outbox, and periodic triggers' state.

Revision ID: t0032
Revises: t0031
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "t0032"
down_revision = "t0031"
branch_labels = None
depends_on = None

JSON = postgresql.JSONB(astext_type=sa.Text())


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "workflows",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("trigger", JSON, nullable=False),
        sa.Column("conditions", JSON, nullable=False),
        sa.Column("steps", JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("base_url", sa.String(length=300), nullable=True),
        sa.Column("round_robin", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflows")),
    )
    op.create_table(
        "workflow_enrolments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workflow_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("steps", JSON, nullable=False),
        sa.Column("record_type", sa.String(length=63), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("wait_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("chain", JSON, nullable=False),
        sa.Column("trigger_event", sa.String(length=100), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'done', 'stopped', 'failed', 'refused')",
            name=op.f("ck_workflow_enrolments_status"),
        ),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_workflow_enrolments_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_workflow_enrolments_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_enrolments")),
    )
    op.create_index(
        "uq_workflow_enrolments_live",
        "workflow_enrolments",
        ["workflow_id", "record_id"],
        unique=True,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_index(
        "ix_workflow_enrolments_due",
        "workflow_enrolments",
        ["next_run_at"],
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_index("ix_workflow_enrolments_record", "workflow_enrolments", ["record_type", "record_id"])
    op.create_index("ix_workflow_enrolments_workflow", "workflow_enrolments", ["workflow_id", "enrolled_at"])
    op.create_table(
        "workflow_step_runs",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("enrolment_id", sa.Uuid(), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("attempt_key", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["workflow_enrolments.id"],
            name=op.f("fk_workflow_step_runs_enrolment_id_workflow_enrolments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_step_runs")),
        sa.UniqueConstraint(
            "enrolment_id",
            "step_index",
            "attempt_key",
            name=op.f("uq_workflow_step_runs_enrolment_id_step_index_attempt_key"),
        ),
    )
    op.create_index(op.f("ix_workflow_step_runs_enrolment_id"), "workflow_step_runs", ["enrolment_id"])
    op.create_table(
        "workflow_emails",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("enrolment_id", sa.Uuid(), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("template_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'failed', 'skipped')",
            name=op.f("ck_workflow_emails_status"),
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["workflow_enrolments.id"],
            name=op.f("fk_workflow_emails_enrolment_id_workflow_enrolments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_workflow_emails_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_emails")),
        sa.UniqueConstraint(
            "enrolment_id", "step_index", name=op.f("uq_workflow_emails_enrolment_id_step_index")
        ),
    )
    op.create_index(op.f("ix_workflow_emails_contact_id"), "workflow_emails", ["contact_id"])
    op.create_index("ix_workflow_emails_status", "workflow_emails", ["status"])
    op.create_table(
        "workflow_segment_members",
        sa.Column("workflow_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_workflow_segment_members_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_workflow_segment_members_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workflow_id", "contact_id", name=op.f("pk_workflow_segment_members")),
    )
    op.create_table(
        "workflow_date_hits",
        sa.Column("workflow_id", sa.Uuid(), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_workflow_date_hits_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workflow_id", "record_id", "due_on", name=op.f("pk_workflow_date_hits")),
    )


def downgrade() -> None:
    for table in (
        "workflow_date_hits",
        "workflow_segment_members",
        "workflow_emails",
        "workflow_step_runs",
        "workflow_enrolments",
        "workflows",
    ):
        op.drop_table(table)
