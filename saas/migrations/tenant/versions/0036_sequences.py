"""Sales sequences: sequences (a salesperson's emails, tasks and waits), enrolments (a contact's run, its
step, next run and salesperson), their history (idempotency keys of each step), and the email outbox.

Revision ID: t0036
Revises: t0037
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "t0036"
down_revision = "t0037"
branch_labels = None
depends_on = None

JSON = postgresql.JSONB(astext_type=sa.Text())
STATUSES = "('active', 'paused', 'finished', 'replied', 'booked', 'unsubscribed', 'stopped', 'failed')"


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "sequences",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("owner_user_id", sa.Uuid(), nullable=True),
        sa.Column("steps", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sequences")),
    )
    op.create_table(
        "sequence_enrolments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sequence_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("steps", JSON, nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("wait_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.CheckConstraint(f"status IN {STATUSES}", name=op.f("ck_sequence_enrolments_status")),
        sa.ForeignKeyConstraint(
            ["sequence_id"],
            ["sequences.id"],
            name=op.f("fk_sequence_enrolments_sequence_id_sequences"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_sequence_enrolments_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sequence_enrolments")),
    )
    op.create_index(
        "uq_sequence_enrolments_live",
        "sequence_enrolments",
        ["sequence_id", "contact_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('active', 'paused')"),
    )
    op.create_index(
        "ix_sequence_enrolments_due",
        "sequence_enrolments",
        ["next_run_at"],
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_index("ix_sequence_enrolments_contact", "sequence_enrolments", ["contact_id"])
    op.create_index("ix_sequence_enrolments_sequence", "sequence_enrolments", ["sequence_id", "user_id"])
    op.create_table(
        "sequence_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("enrolment_id", sa.Uuid(), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("attempt_key", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["sequence_enrolments.id"],
            name=op.f("fk_sequence_events_enrolment_id_sequence_enrolments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sequence_events")),
        sa.UniqueConstraint(
            "enrolment_id",
            "step_index",
            "attempt_key",
            name=op.f("uq_sequence_events_enrolment_id_step_index_attempt_key"),
        ),
    )
    op.create_index(op.f("ix_sequence_events_enrolment_id"), "sequence_events", ["enrolment_id"])
    op.create_table(
        "sequence_emails",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("enrolment_id", sa.Uuid(), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=998), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id_header", sa.String(length=998), nullable=True),
        sa.Column("mail_thread_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'failed', 'skipped')",
            name=op.f("ck_sequence_emails_status"),
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["sequence_enrolments.id"],
            name=op.f("fk_sequence_emails_enrolment_id_sequence_enrolments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_sequence_emails_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sequence_emails")),
        sa.UniqueConstraint(
            "enrolment_id", "step_index", name=op.f("uq_sequence_emails_enrolment_id_step_index")
        ),
    )
    op.create_index(op.f("ix_sequence_emails_contact_id"), "sequence_emails", ["contact_id"])
    op.create_index("ix_sequence_emails_status", "sequence_emails", ["status"])
    op.create_index("ix_sequence_emails_thread", "sequence_emails", ["mail_thread_id"])
    op.create_index("ix_sequence_emails_message_id", "sequence_emails", ["message_id_header"])


def downgrade() -> None:
    for table in ("sequence_emails", "sequence_events", "sequence_enrolments", "sequences"):
        op.drop_table(table)
