"""Service: tickets with their thread and history, queues and members, SLA policies, the business
calendar and holidays, knowledge base categories and articles (with a full-text index).

Existing tenants get what new tenants get at provisioning: business hours Mon-Fri 09:00-17:00 UTC,
an SLA policy per priority, and a default "Support" queue (round robin).

Revision ID: t0008
Revises: t0009
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "t0008"
down_revision = "t0009"
branch_labels = None
depends_on = None

# Kept here, not imported: a migration must not change when the module's defaults change later.
DEFAULT_TARGETS = {"urgent": (60, 240), "high": (240, 960), "normal": (480, 1920), "low": (960, 4800)}
ARTICLE_DOCUMENT = (
    "(setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')"
    " || to_tsvector('english'::regconfig, coalesce(body, '')))"
)
TABLES = (
    "ticket_messages", "ticket_events", "tickets", "service_queue_members", "kb_articles", "sla_policies",
    "service_queues", "service_holidays", "service_calendars", "kb_categories",
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "kb_categories",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_categories")),
        sa.UniqueConstraint("name", name=op.f("uq_kb_categories_name")),
    )
    op.create_table(
        "service_calendars",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("work_days", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("end_minute", sa.Integer(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_service_calendars_single_row")),
        sa.CheckConstraint(
            "start_minute >= 0 AND end_minute <= 1440 AND start_minute < end_minute",
            name=op.f("ck_service_calendars_hours"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_calendars")),
    )
    op.create_table(
        "service_holidays",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_service_holidays")),
    )
    op.create_table(
        "service_queues",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("strategy", sa.String(length=20), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("last_assigned_user_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "strategy IN ('manual', 'round_robin', 'least_loaded')", name=op.f("ck_service_queues_strategy")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_queues")),
        sa.UniqueConstraint("name", name=op.f("uq_service_queues_name")),
    )
    op.create_table(
        "sla_policies",
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "priority IN ('low', 'normal', 'high', 'urgent')", name=op.f("ck_sla_policies_priority")
        ),
        sa.CheckConstraint(
            "first_response_minutes > 0 AND resolution_minutes > 0", name=op.f("ck_sla_policies_positive")
        ),
        sa.PrimaryKeyConstraint("priority", name=op.f("pk_sla_policies")),
    )
    op.create_table(
        "kb_articles",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("category_id", sa.Uuid(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("author_user_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('draft', 'published')", name=op.f("ck_kb_articles_status")),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["kb_categories.id"],
            name=op.f("fk_kb_articles_category_id_kb_categories"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_articles")),
    )
    op.create_table(
        "service_queue_members",
        sa.Column("queue_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["service_queues.id"],
            name=op.f("fk_service_queue_members_queue_id_service_queues"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("queue_id", "user_id", name=op.f("pk_service_queue_members")),
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("requester_contact_id", sa.Uuid(), nullable=True),
        sa.Column("assignee_user_id", sa.Uuid(), nullable=True),
        sa.Column("queue_id", sa.Uuid(), nullable=True),
        sa.Column("tags", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("sla_elapsed_minutes", sa.Integer(), nullable=False),
        sa.Column("sla_running_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_response_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_response_breached", sa.Boolean(), nullable=False),
        sa.Column("resolution_breached", sa.Boolean(), nullable=False),
        sa.Column("solved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("email_message_id", sa.String(length=255), nullable=True),
        sa.Column("csat_rating", sa.Integer(), nullable=True),
        sa.Column("csat_comment", sa.Text(), nullable=True),
        sa.Column("csat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "channel IN ('email', 'portal', 'web_form', 'phone', 'api')", name=op.f("ck_tickets_channel")
        ),
        sa.CheckConstraint(
            "priority IN ('low', 'normal', 'high', 'urgent')", name=op.f("ck_tickets_priority")
        ),
        sa.CheckConstraint(
            "status IN ('new', 'open', 'pending_customer', 'solved', 'closed')",
            name=op.f("ck_tickets_status"),
        ),
        sa.CheckConstraint("csat_rating BETWEEN 1 AND 5", name=op.f("ck_tickets_csat_rating")),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["service_queues.id"],
            name=op.f("fk_tickets_queue_id_service_queues"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["requester_contact_id"],
            ["contacts.id"],
            name=op.f("fk_tickets_requester_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("email_message_id", name=op.f("uq_tickets_email_message_id")),
    )
    op.create_index("ix_tickets_created_at_id", "tickets", ["created_at", "id"], unique=False)
    op.create_index(
        op.f("ix_tickets_requester_contact_id"), "tickets", ["requester_contact_id"], unique=False
    )
    op.create_index("ix_tickets_resolution_due_at", "tickets", ["resolution_due_at"], unique=False)
    op.create_index("ix_tickets_status_assignee", "tickets", ["status", "assignee_user_id"], unique=False)
    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("actor", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_events_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_events")),
    )
    op.create_index(
        "ix_ticket_events_ticket_id_created_at", "ticket_events", ["ticket_id", "created_at"], unique=False
    )
    op.create_table(
        "ticket_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author_user_id", sa.Uuid(), nullable=True),
        sa.Column("author_contact_id", sa.Uuid(), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("email_message_id", sa.String(length=255), nullable=True),
        sa.Column("mail_status", sa.String(length=10), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('public', 'note')", name=op.f("ck_ticket_messages_kind")),
        sa.ForeignKeyConstraint(
            ["author_contact_id"],
            ["contacts.id"],
            name=op.f("fk_ticket_messages_author_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_messages_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_messages")),
        sa.UniqueConstraint("email_message_id", name=op.f("uq_ticket_messages_email_message_id")),
    )
    op.create_index(
        op.f("ix_ticket_messages_author_contact_id"), "ticket_messages", ["author_contact_id"], unique=False
    )
    op.create_index(op.f("ix_ticket_messages_ticket_id"), "ticket_messages", ["ticket_id"], unique=False)

    op.create_index(
        "ix_kb_articles_search", "kb_articles", [sa.text(ARTICLE_DOCUMENT)], postgresql_using="gin"
    )
    op.execute(
        "INSERT INTO service_calendars (id, timezone, work_days, start_minute, end_minute) "
        "VALUES (1, 'UTC', '[1, 2, 3, 4, 5]', 540, 1020)"
    )
    for priority, (first, resolution) in DEFAULT_TARGETS.items():
        op.execute(
            sa.text(
                "INSERT INTO sla_policies (priority, first_response_minutes, resolution_minutes) "
                "VALUES (:p, :f, :r)"
            ).bindparams(p=priority, f=first, r=resolution)
        )
    op.execute(
        "INSERT INTO service_queues (id, name, strategy, is_default) "
        "VALUES (gen_random_uuid(), 'Support', 'round_robin', true)"
    )


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
