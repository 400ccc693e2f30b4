"""Privacy: consent purposes, notices and events; data subject requests and their trail; used
privacy-center links; the suppression list and its salt.

Existing tenants get the default purposes that new tenants get at provisioning.

Revision ID: t0004
Revises: t0003
Create Date: 2026-11-23
"""

import uuid

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "t0004"
down_revision = "t0003"
branch_labels = None
depends_on = None

# Kept here, not imported: a migration must not change when the module's defaults change later.
_WITHDRAW = "You can withdraw at any time."
DEFAULT_PURPOSES = (
    ("email_marketing", "Email marketing", f"We may send you news and offers by email. {_WITHDRAW}"),
    ("sms_marketing", "SMS marketing", f"We may send you news and offers by text message. {_WITHDRAW}"),
    ("profiling", "Profiling", "We may analyse your interactions with us to tailor what we show you."),
    (
        "third_party_sharing",
        "Sharing with partners",
        "We may share your contact details with selected partners.",
    ),
)
CLOCK = sa.text("clock_timestamp()")
NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "consent_purposes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=50), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_purposes")),
        sa.UniqueConstraint("key", name=op.f("uq_consent_purposes_key")),
    )
    op.create_table(
        "consent_notices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("purpose_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.ForeignKeyConstraint(
            ["purpose_id"], ["consent_purposes.id"],
            name=op.f("fk_consent_notices_purpose_id_consent_purposes"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_notices")),
        sa.UniqueConstraint("purpose_id", "version", name=op.f("uq_consent_notices_purpose_id_version")),
    )  # fmt: skip
    op.create_table(
        "consent_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("purpose_id", sa.Uuid(), nullable=False),
        sa.Column("notice_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("lawful_basis", sa.String(length=30), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), server_default=CLOCK, nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.CheckConstraint(
            "status IN ('granted', 'withdrawn', 'pending')", name=op.f("ck_consent_events_status")
        ),
        sa.CheckConstraint(
            "source IN ('form', 'privacy_center', 'import', 'staff', 'api')",
            name=op.f("ck_consent_events_source"),
        ),
        sa.CheckConstraint(
            "lawful_basis IN ('consent', 'contract', 'legal_obligation', 'vital_interests', 'public_task', "
            "'legitimate_interests')",
            name=op.f("ck_consent_events_lawful_basis"),
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_consent_events_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["consent_notices.id"],
            name=op.f("fk_consent_events_notice_id_consent_notices"), ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["purpose_id"], ["consent_purposes.id"],
            name=op.f("fk_consent_events_purpose_id_consent_purposes"), ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_events")),
    )  # fmt: skip
    op.create_index("ix_consent_events_contact_purpose", "consent_events", ["contact_id", "purpose_id", "id"])
    op.create_table(
        "privacy_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("verification_method", sa.String(length=50), nullable=True),
        sa.Column("assignee_user_id", sa.Uuid(), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=CLOCK, nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("report", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.CheckConstraint(
            "kind IN ('access', 'portability', 'rectification', 'erasure', 'restriction', 'objection')",
            name=op.f("ck_privacy_requests_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('received', 'verified', 'in_progress', 'completed', 'rejected')",
            name=op.f("ck_privacy_requests_status"),
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_privacy_requests_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_requests")),
    )
    op.create_index(op.f("ix_privacy_requests_contact_id"), "privacy_requests", ["contact_id"])
    op.create_index("ix_privacy_requests_status_due", "privacy_requests", ["status", "due_at"])
    op.create_table(
        "privacy_request_steps",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=50), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=CLOCK, nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["privacy_requests.id"],
            name=op.f("fk_privacy_request_steps_request_id_privacy_requests"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_request_steps")),
    )  # fmt: skip
    op.create_index(op.f("ix_privacy_request_steps_request_id"), "privacy_request_steps", ["request_id"])
    op.create_table(
        "privacy_link_uses",
        sa.Column("link_id", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("link_id", name=op.f("pk_privacy_link_uses")),
    )
    op.create_table(
        "privacy_settings",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("suppression_salt", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_privacy_settings_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_settings")),
    )
    op.create_table(
        "suppressed_emails",
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("email_hash", name=op.f("pk_suppressed_emails")),
    )
    _seed_default_purposes()


def _seed_default_purposes() -> None:
    purposes = sa.table("consent_purposes", sa.column("id", sa.Uuid()), sa.column("key"), sa.column("title"))
    notices = sa.table(
        "consent_notices",
        sa.column("id", sa.Uuid()),
        sa.column("purpose_id", sa.Uuid()),
        sa.column("version"),
        sa.column("text"),
    )
    for key, title, text in DEFAULT_PURPOSES:
        purpose_id = uuid.uuid4()
        op.execute(purposes.insert().values(id=purpose_id, key=key, title=title))
        op.execute(notices.insert().values(id=uuid.uuid4(), purpose_id=purpose_id, version=1, text=text))


def downgrade() -> None:
    for table in (
        "suppressed_emails", "privacy_settings", "privacy_link_uses", "privacy_request_steps",
        "privacy_requests", "consent_events", "consent_notices", "consent_purposes",
    ):  # fmt: skip
        op.drop_table(table)
