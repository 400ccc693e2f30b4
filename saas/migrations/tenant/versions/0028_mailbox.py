"""Mailbox sync: members' own mailboxes, each folder's sync position, kept mail as threads of messages
with attachments, and the threads' timeline entries.

Revision ID: t0028
Revises: t0026
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "t0028"
down_revision = "t0026"
branch_labels = None
depends_on = None

NOW = sa.text("now()")
SECURITIES = "('ssl', 'starttls', 'none')"


def upgrade() -> None:
    op.create_table(
        "mailboxes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_user_id", sa.Uuid(), nullable=False),
        sa.Column("email_address", sa.String(length=254), nullable=False),
        sa.Column("imap_host", sa.String(length=253), nullable=False),
        sa.Column("imap_port", sa.Integer(), nullable=False),
        sa.Column("imap_security", sa.String(length=10), nullable=False),
        sa.Column("smtp_host", sa.String(length=253), nullable=False),
        sa.Column("smtp_port", sa.Integer(), nullable=False),
        sa.Column("smtp_security", sa.String(length=10), nullable=False),
        sa.Column("username", sa.String(length=254), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=True),
        sa.Column("sent_folder", sa.String(length=255), nullable=True),
        sa.Column("sharing", sa.String(length=10), nullable=False),
        sa.Column("first_sync_days", sa.Integer(), nullable=False),
        sa.Column("excluded", postgresql.ARRAY(sa.String(length=254)), nullable=False),
        sa.Column("status", sa.String(length=15), nullable=False),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.CheckConstraint(f"imap_security IN {SECURITIES}", name=op.f("ck_mailboxes_imap_security")),
        sa.CheckConstraint(f"smtp_security IN {SECURITIES}", name=op.f("ck_mailboxes_smtp_security")),
        sa.CheckConstraint("sharing IN ('full', 'metadata')", name=op.f("ck_mailboxes_sharing")),
        sa.CheckConstraint("status IN ('connected', 'disconnected')", name=op.f("ck_mailboxes_status")),
        sa.CheckConstraint("first_sync_days BETWEEN 1 AND 3650", name=op.f("ck_mailboxes_first_sync_days")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailboxes")),
        sa.UniqueConstraint(
            "owner_user_id", "email_address", name=op.f("uq_mailboxes_owner_user_id_email_address")
        ),
    )
    op.create_index(op.f("ix_mailboxes_owner_user_id"), "mailboxes", ["owner_user_id"])
    op.create_table(
        "mail_folders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("mailbox_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("highest_modseq", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailboxes.id"],
            name=op.f("fk_mail_folders_mailbox_id_mailboxes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_folders")),
        sa.UniqueConstraint("mailbox_id", "name", name=op.f("uq_mail_folders_mailbox_id_name")),
    )
    op.create_table(
        "mail_threads",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("mailbox_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=998), nullable=False),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailboxes.id"],
            name=op.f("fk_mail_threads_mailbox_id_mailboxes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_threads")),
    )
    op.create_index(op.f("ix_mail_threads_mailbox_id"), "mail_threads", ["mailbox_id"])
    op.create_table(
        "mail_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("mailbox_id", sa.Uuid(), nullable=False),
        sa.Column("thread_id", sa.Uuid(), nullable=False),
        sa.Column("folder", sa.String(length=255), nullable=True),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("uid", sa.BigInteger(), nullable=True),
        sa.Column("message_id_header", sa.String(length=998), nullable=True),
        sa.Column("in_reply_to", sa.String(length=998), nullable=True),
        sa.Column("references", sa.Text(), nullable=True),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("subject", sa.String(length=998), nullable=False),
        sa.Column("from_address", sa.String(length=254), nullable=False),
        sa.Column("from_name", sa.String(length=200), nullable=True),
        sa.Column("to_addresses", postgresql.ARRAY(sa.String(length=254)), nullable=False),
        sa.Column("cc_addresses", postgresql.ARRAY(sa.String(length=254)), nullable=False),
        sa.Column("participants", postgresql.ARRAY(sa.String(length=254)), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("opens", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("ck_mail_messages_direction")),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailboxes.id"],
            name=op.f("fk_mail_messages_mailbox_id_mailboxes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["mail_threads.id"],
            name=op.f("fk_mail_messages_thread_id_mail_threads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_messages")),
        sa.UniqueConstraint(
            "mailbox_id",
            "folder",
            "uidvalidity",
            "uid",
            name=op.f("uq_mail_messages_mailbox_id_folder_uidvalidity_uid"),
        ),
        sa.UniqueConstraint(
            "mailbox_id", "message_id_header", name=op.f("uq_mail_messages_mailbox_id_message_id_header")
        ),
    )
    op.create_index(op.f("ix_mail_messages_thread_id"), "mail_messages", ["thread_id"])
    op.create_index(
        "ix_mail_messages_participants", "mail_messages", ["participants"], postgresql_using="gin"
    )
    op.create_table(
        "mail_attachments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=127), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("object_name", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["mail_messages.id"],
            name=op.f("fk_mail_attachments_message_id_mail_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_attachments")),
        sa.UniqueConstraint("object_name", name=op.f("uq_mail_attachments_object_name")),
    )
    op.create_index(op.f("ix_mail_attachments_message_id"), "mail_attachments", ["message_id"])
    op.create_table(
        "mail_thread_entries",
        sa.Column("thread_id", sa.Uuid(), nullable=False),
        sa.Column("activity_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["mail_threads.id"],
            name=op.f("fk_mail_thread_entries_thread_id_mail_threads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activities.id"],
            name=op.f("fk_mail_thread_entries_activity_id_activities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("thread_id", "activity_id", name=op.f("pk_mail_thread_entries")),
    )
    op.create_index(op.f("ix_mail_thread_entries_activity_id"), "mail_thread_entries", ["activity_id"])


def downgrade() -> None:
    for table in ("mail_thread_entries", "mail_attachments", "mail_messages", "mail_threads", "mail_folders"):
        op.drop_table(table)
    op.drop_table("mailboxes")
