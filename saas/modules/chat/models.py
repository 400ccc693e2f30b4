"""Tables of the live chat module (tenant schema): a visitor's chat and its messages."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.db import TenantBase
from saas.modules.core.models import Timestamps

STATUSES = ("waiting", "active", "closed")
"""Waiting for an agent, being answered, over (filed as a ticket)."""
AUTHORS = ("visitor", "agent")


class Chat(Timestamps, TenantBase):
    """A conversation a website visitor started in the widget.

    The visitor holds a bearer token for it (only its hash is kept); an email, when given, links the
    chat to that contact, and erasing the contact erases the chat with it.
    """

    __tablename__ = "chats"
    __table_args__ = (CheckConstraint("status IN ('waiting', 'active', 'closed')", name="status"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    status: Mapped[str] = mapped_column(String(10), default="waiting", index=True)
    visitor_name: Mapped[str | None] = mapped_column(String(100))
    visitor_email: Mapped[str | None] = mapped_column(String(254))
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    page_url: Mapped[str | None] = mapped_column(String(500))
    # A platform user id; no foreign key, since a tenant's role cannot see the platform schema.
    assignee_user_id: Mapped[uuid.UUID | None] = mapped_column()
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    messages: Mapped[list[ChatMessage]] = relationship(
        cascade="all, delete-orphan",
        order_by="(ChatMessage.created_at, ChatMessage.id)",
        passive_deletes=True,
    )

    @property
    def visitor_label(self) -> str:
        return self.visitor_name or self.visitor_email or ""


class ChatMessage(TenantBase):
    __tablename__ = "chat_messages"
    __table_args__ = (CheckConstraint("author IN ('visitor', 'agent')", name="author"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    chat_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(10))
    author_user_id: Mapped[uuid.UUID | None] = mapped_column()
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
