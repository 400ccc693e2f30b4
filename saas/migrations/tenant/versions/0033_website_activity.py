"""Website activity: site settings, consenting visitors, their raw page views and the daily roll-up;
the ``website_analytics`` consent purpose for workspaces that have none of that key.

Revision ID: t0033
Revises: t0034
Create Date: 2026-12-07
"""

import uuid

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "t0033"
down_revision = "t0034"
branch_labels = None
depends_on = None

NOW = sa.text("now()")
# As saas.modules.website.consent words it; a migration keeps its own copy (the code may change later).
PURPOSE_KEY = "website_analytics"
PURPOSE_TITLE = "Website analytics"
PURPOSE_NOTICE = (
    "We may record the pages you view on our website under a random identifier, and link them to you "
    "once you fill in one of our forms or click a link in our emails. You can withdraw at any time."
)


def upgrade() -> None:
    op.create_table(
        "website_settings",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("origins", postgresql.ARRAY(sa.String(length=200)), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("rolled_up_through", sa.Date(), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_website_settings_single_row")),
        sa.CheckConstraint(
            "retention_days BETWEEN 3 AND 730", name=op.f("ck_website_settings_retention_days")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_website_settings")),
    )
    op.create_table(
        "website_visitors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("identified_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_website_visitors_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_website_visitors")),
    )
    op.create_index(op.f("ix_website_visitors_contact_id"), "website_visitors", ["contact_id"])
    op.create_table(
        "website_page_views",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("visitor_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=True),
        sa.Column("referrer", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["website_visitors.id"],
            name=op.f("fk_website_page_views_visitor_id_website_visitors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_website_page_views")),
    )
    op.create_index(op.f("ix_website_page_views_occurred_at"), "website_page_views", ["occurred_at"])
    op.create_index(
        "ix_website_page_views_visitor_id_occurred_at", "website_page_views", ["visitor_id", "occurred_at"]
    )
    op.create_table(
        "website_daily_pages",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("visitors", sa.Integer(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "path", name=op.f("pk_website_daily_pages")),
    )
    _add_purpose()


def _add_purpose() -> None:
    purpose_id = uuid.uuid4()
    inserted = op.get_bind().execute(
        sa.text(
            "INSERT INTO consent_purposes (id, key, title) SELECT :id, CAST(:key AS varchar), :title "
            "WHERE NOT EXISTS (SELECT 1 FROM consent_purposes WHERE key = CAST(:key AS varchar))"
        ),
        {"id": purpose_id, "key": PURPOSE_KEY, "title": PURPOSE_TITLE},
    )
    if inserted.rowcount:
        op.get_bind().execute(
            sa.text(
                "INSERT INTO consent_notices (id, purpose_id, version, text) VALUES (:id, :purpose, 1, :text)"
            ),
            {"id": uuid.uuid4(), "purpose": purpose_id, "text": PURPOSE_NOTICE},
        )


def downgrade() -> None:
    # The consent purpose stays: the ledger's events may point at it.
    for table in ("website_daily_pages", "website_page_views", "website_visitors", "website_settings"):
        op.drop_table(table)
