"""Marketing: sender settings, segments and static lists, campaigns with their links, recipients and
tracking events, lead-capture forms; consent events may come from an unsubscribe link.

Revision ID: t0007
Revises: t0009
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "t0007"
down_revision = "t0010"
branch_labels = None
depends_on = None

SOURCES_BEFORE = "('form', 'privacy_center', 'import', 'staff', 'api')"
SOURCES_AFTER = "('form', 'privacy_center', 'import', 'staff', 'api', 'unsubscribe')"
TABLES = (
    "campaign_events", "segment_members", "marketing_form_submissions", "campaign_recipients",
    "campaign_links", "campaigns", "segments", "marketing_settings", "marketing_forms",
)  # fmt: skip


def _consent_sources(values: str) -> None:
    op.drop_constraint(op.f("ck_consent_events_source"), "consent_events", type_="check")
    op.create_check_constraint(op.f("ck_consent_events_source"), "consent_events", f"source IN {values}")


def upgrade() -> None:
    op.create_table(
        "marketing_forms",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("fields", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("purposes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("create_lead", sa.Boolean(), nullable=False),
        sa.Column("thank_you", sa.String(length=500), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_forms")),
    )
    op.create_table(
        "marketing_settings",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("from_name", sa.String(length=100), nullable=False),
        sa.Column("from_email", sa.String(length=254), nullable=False),
        sa.Column("reply_to", sa.String(length=254), nullable=True),
        sa.Column("postal_address", sa.String(length=300), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_marketing_settings_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_settings")),
    )
    op.create_table(
        "segments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("match", sa.String(length=3), nullable=False),
        sa.Column("rules", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('rules', 'static')", name=op.f("ck_segments_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("segment_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("base_url", sa.String(length=300), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("audience", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'scheduled', 'sending', 'sent', 'cancelled')",
            name=op.f("ck_campaigns_status"),
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_campaigns_segment_id_segments"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_index(op.f("ix_campaigns_segment_id"), "campaigns", ["segment_id"], unique=False)
    op.create_index("ix_campaigns_status_scheduled_at", "campaigns", ["status", "scheduled_at"], unique=False)
    op.create_table(
        "campaign_links",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_links_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_links")),
        sa.UniqueConstraint("campaign_id", "url", name=op.f("uq_campaign_links_campaign_id_url")),
    )
    op.create_table(
        "campaign_recipients",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("clicked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'bounced', 'failed')",
            name=op.f("ck_campaign_recipients_status"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_recipients_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_campaign_recipients_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_recipients")),
        sa.UniqueConstraint(
            "campaign_id", "contact_id", name=op.f("uq_campaign_recipients_campaign_id_contact_id")
        ),
    )
    op.create_index(
        "ix_campaign_recipients_campaign_status",
        "campaign_recipients",
        ["campaign_id", "status"],
        unique=False,
    )
    op.create_index(
        op.f("ix_campaign_recipients_contact_id"), "campaign_recipients", ["contact_id"], unique=False
    )
    op.create_table(
        "marketing_form_submissions",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("form_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("lead_id", sa.Uuid(), nullable=True),
        sa.Column("consents", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "submitted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_marketing_form_submissions_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["form_id"],
            ["marketing_forms.id"],
            name=op.f("fk_marketing_form_submissions_form_id_marketing_forms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_form_submissions")),
    )
    op.create_index(
        op.f("ix_marketing_form_submissions_contact_id"),
        "marketing_form_submissions",
        ["contact_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_marketing_form_submissions_form_id"), "marketing_form_submissions", ["form_id"], unique=False
    )
    op.create_table(
        "segment_members",
        sa.Column("segment_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_segment_members_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_segment_members_segment_id_segments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("segment_id", "contact_id", name=op.f("pk_segment_members")),
    )
    op.create_index(op.f("ix_segment_members_contact_id"), "segment_members", ["contact_id"], unique=False)
    op.create_table(
        "campaign_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("link_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.CheckConstraint("kind IN ('open', 'click', 'unsubscribe')", name=op.f("ck_campaign_events_kind")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_events_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["campaign_links.id"],
            name=op.f("fk_campaign_events_link_id_campaign_links"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["campaign_recipients.id"],
            name=op.f("fk_campaign_events_recipient_id_campaign_recipients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_events")),
    )
    op.create_index(
        "ix_campaign_events_campaign_kind_at",
        "campaign_events",
        ["campaign_id", "kind", "occurred_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_campaign_events_recipient_id"), "campaign_events", ["recipient_id"], unique=False
    )
    _consent_sources(SOURCES_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM consent_events WHERE source = 'unsubscribe'")
    _consent_sources(SOURCES_BEFORE)
    for table in TABLES:
        op.drop_table(table)
