"""The mailbox module's tables (tenant schema): connected mailboxes, each folder's sync state, and the
kept mail as threads of messages with their attachments."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.db import TenantBase
from saas.modules.core.models import Activity, Timestamps

SECURITIES = ("ssl", "starttls", "none")
"""How a connection is protected: TLS from the first byte, STARTTLS, or none (loopback only)."""
SHARING_LEVELS = ("full", "metadata")
"""What the workspace's other members see of a mailbox's mail: the whole message, or subject and
metadata only."""
AUTH_METHODS = ("password", "oauth2")
"""How a mailbox signs in: a password (or app password), or XOAUTH2 with an operator's OAuth provider."""
STATUSES = ("connected", "disconnected", "reconnect")
"""``reconnect``: the OAuth provider refused to renew access; sync stopped until the owner connects again."""


class Mailbox(Timestamps, TenantBase):
    """One member's own mailbox. ``secret_encrypted`` is the password, or with OAuth the refresh token
    (Fernet, as SSO client secrets); disconnecting empties it and the access token, so a disconnected
    mailbox can neither sync nor send."""

    __tablename__ = "mailboxes"
    __table_args__ = (
        CheckConstraint(f"imap_security IN {SECURITIES}", name="imap_security"),
        CheckConstraint(f"smtp_security IN {SECURITIES}", name="smtp_security"),
        CheckConstraint(f"sharing IN {SHARING_LEVELS}", name="sharing"),
        CheckConstraint(f"status IN {STATUSES}", name="status"),
        CheckConstraint(f"auth_method IN {AUTH_METHODS}", name="auth_method"),
        CheckConstraint("first_sync_days BETWEEN 1 AND 3650", name="first_sync_days"),
        UniqueConstraint("owner_user_id", "email_address"),
        # An archive leaves the password and tokens out; an imported mailbox waits for its owner to
        # connect it again.
        {
            "info": {
                "withheld_secrets": {"secret_encrypted": lambda: None, "access_token_encrypted": lambda: None}
            }
        },
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    owner_user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    """A platform user id; no foreign key, since a tenant's role cannot see the platform schema."""
    email_address: Mapped[str] = mapped_column(String(254))
    imap_host: Mapped[str] = mapped_column(String(253))
    imap_port: Mapped[int] = mapped_column(Integer)
    imap_security: Mapped[str] = mapped_column(String(10))
    smtp_host: Mapped[str] = mapped_column(String(253))
    smtp_port: Mapped[int] = mapped_column(Integer)
    smtp_security: Mapped[str] = mapped_column(String(10))
    username: Mapped[str] = mapped_column(String(254))
    secret_encrypted: Mapped[str | None] = mapped_column(Text)
    auth_method: Mapped[str] = mapped_column(String(10), default="password", server_default="password")
    oauth_provider: Mapped[str | None] = mapped_column(String(50))
    """The operator's provider name (``MAIL_OAUTH_PROVIDERS``) an OAuth mailbox renews its tokens with."""
    access_token_encrypted: Mapped[str | None] = mapped_column(Text)
    token_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_folder: Mapped[str | None] = mapped_column(String(255))
    """The server's Sent folder (found by its \\Sent flag); None until the first sync finds it."""
    sharing: Mapped[str] = mapped_column(String(10), default="metadata")
    first_sync_days: Mapped[int] = mapped_column(Integer, default=30)
    excluded: Mapped[list[str]] = mapped_column(ARRAY(String(254)), default=list)
    """Addresses (``ceo@example.com``) and domains (``example.com``) whose mail is never kept."""
    status: Mapped[str] = mapped_column(String(15), default="connected")
    last_synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(500))

    folders: Mapped[list[MailFolder]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class MailFolder(TenantBase):
    """How far one folder of a mailbox is synced: the UIDs seen up to ``last_uid`` under
    ``uidvalidity``, and the folder's HIGHESTMODSEQ (CONDSTORE) when the server has one."""

    __tablename__ = "mail_folders"
    __table_args__ = (UniqueConstraint("mailbox_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    mailbox_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(10))  # inbox, sent
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    highest_modseq: Mapped[int | None] = mapped_column(BigInteger)


class MailThread(TenantBase):
    """A conversation: messages joined by In-Reply-To/References. Its timeline entries (kind ``email``)
    are on every matched contact's, their account's and one open deal's timelines."""

    __tablename__ = "mail_threads"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    mailbox_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(998))
    last_message_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MailMessage(TenantBase):
    """One kept message. Unique per mailbox by its place on the server (folder, UIDVALIDITY, UID) and by
    its Message-ID, so a resumed or repeated sync never stores it twice."""

    __tablename__ = "mail_messages"
    __table_args__ = (
        UniqueConstraint("mailbox_id", "folder", "uidvalidity", "uid"),
        UniqueConstraint("mailbox_id", "message_id_header"),
        CheckConstraint("direction IN ('in', 'out')", name="direction"),
        Index("ix_mail_messages_participants", "participants", postgresql_using="gin"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    mailbox_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    thread_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mail_threads.id", ondelete="CASCADE"), index=True
    )
    folder: Mapped[str | None] = mapped_column(String(255))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    uid: Mapped[int | None] = mapped_column(BigInteger)
    message_id_header: Mapped[str | None] = mapped_column(String(998))
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    references: Mapped[str | None] = mapped_column(Text)
    direction: Mapped[str] = mapped_column(String(3))
    subject: Mapped[str] = mapped_column(String(998))
    from_address: Mapped[str] = mapped_column(String(254))
    from_name: Mapped[str | None] = mapped_column(String(200))
    to_addresses: Mapped[list[str]] = mapped_column(ARRAY(String(254)), default=list)
    cc_addresses: Mapped[list[str]] = mapped_column(ARRAY(String(254)), default=list)
    participants: Mapped[list[str]] = mapped_column(ARRAY(String(254)), default=list)
    """Every address of From, To and Cc, lower-cased: what personal-data requests look people up by."""
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    body_text: Mapped[str] = mapped_column(Text, default="")
    opens: Mapped[int] = mapped_column(Integer, default=0)
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    thread: Mapped[MailThread] = relationship()
    attachments: Mapped[list[MailAttachment]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="MailAttachment.name"
    )


class MailAttachment(TenantBase):
    """An attachment of a kept message, so of its timeline entry. Its bytes are in object storage under
    the tenant's prefix (``object_name``); without storage configured, the message's text names it."""

    __tablename__ = "mail_attachments"
    __table_args__ = ({"info": {"stored_objects": "object_name"}},)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mail_messages.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    object_name: Mapped[str] = mapped_column(String(64), unique=True)


class MailThreadEntry(TenantBase):
    """Which timeline entries (core's activities, kind ``email``) show a thread."""

    __tablename__ = "mail_thread_entries"

    thread_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mail_threads.id", ondelete="CASCADE"), primary_key=True
    )
    activity_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True, index=True
    )

    # Only to order a batch's inserts (a thread and its entry's activity before the entry).
    thread: Mapped[MailThread] = relationship()
    activity: Mapped[Activity] = relationship()
