"""Tables of the service module (tenant schema): tickets and their thread and history, queues, SLA
policies and the business calendar, knowledge base articles."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Unmapped, mapped_column, relationship, unmapped_column

from saas.db import TenantBase
from saas.modules.core.models import Timestamps

STATUSES = ("new", "open", "pending_customer", "solved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_RANK = (
    "CASE priority " + " ".join(f"WHEN '{p}' THEN {rank}" for rank, p in enumerate(PRIORITIES)) + " END"
)
CHANNELS = ("email", "portal", "web_form", "phone", "api")
STRATEGIES = ("manual", "round_robin", "least_loaded")
ARTICLE_STATUSES = ("draft", "published")
MACRO_SCOPES = ("shared", "personal")
MESSAGE_KINDS = ("public", "note")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ServiceCalendar(TenantBase):
    """The tenant's business hours (one row): SLA clocks run only inside them."""

    __tablename__ = "service_calendars"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint(
            "start_minute >= 0 AND end_minute <= 1440 AND start_minute < end_minute", name="hours"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False, default=1)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # ISO weekdays that are working days, 1 = Monday ... 7 = Sunday.
    work_days: Mapped[list[int]] = mapped_column(JSONB, default=lambda: [1, 2, 3, 4, 5])
    start_minute: Mapped[int] = mapped_column(Integer, default=9 * 60)
    end_minute: Mapped[int] = mapped_column(Integer, default=17 * 60)


class ServiceHoliday(TenantBase):
    __tablename__ = "service_holidays"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class SlaPolicy(Timestamps, TenantBase):
    """Targets for one priority, in business minutes."""

    __tablename__ = "sla_policies"
    __table_args__ = (
        CheckConstraint(_one_of("priority", PRIORITIES), name="priority"),
        CheckConstraint("first_response_minutes > 0 AND resolution_minutes > 0", name="positive"),
    )

    priority: Mapped[str] = mapped_column(String(10), primary_key=True)
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)


class Queue(Timestamps, TenantBase):
    __tablename__ = "service_queues"
    __table_args__ = (CheckConstraint(_one_of("strategy", STRATEGIES), name="strategy"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    strategy: Mapped[str] = mapped_column(String(20), default="round_robin")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    # Round robin continues after the member who got the last ticket.
    last_assigned_user_id: Mapped[uuid.UUID | None] = mapped_column()

    members: Mapped[list[QueueMember]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="QueueMember.user_id"
    )

    @property
    def member_ids(self) -> list[uuid.UUID]:
        return [member.user_id for member in self.members]


class QueueMember(TenantBase):
    __tablename__ = "service_queue_members"

    queue_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service_queues.id", ondelete="CASCADE"), primary_key=True
    )
    # A platform user id; no foreign key, since a tenant's role cannot see the platform schema.
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class Ticket(Timestamps, TenantBase):
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(_one_of("status", STATUSES), name="status"),
        CheckConstraint(_one_of("priority", PRIORITIES), name="priority"),
        CheckConstraint(_one_of("channel", CHANNELS), name="channel"),
        CheckConstraint("csat_rating BETWEEN 1 AND 5", name="csat_rating"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="new")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    # The priority's severity (low 0 … urgent 3), kept by PostgreSQL: lists sort by it through an index.
    # Not loaded by the ORM (so not in records' answers or webhook payloads).
    priority_rank: Unmapped[int] = unmapped_column(SmallInteger, Computed(PRIORITY_RANK, persisted=True))
    channel: Mapped[str] = mapped_column(String(10), default="api")
    requester_contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    assignee_user_id: Mapped[uuid.UUID | None] = mapped_column()
    queue_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("service_queues.id", ondelete="SET NULL"))
    tags: Mapped[list[str]] = mapped_column(JSONB, default=list)
    # SLA clock: business minutes used before ``sla_running_since``; not running while paused or solved.
    sla_elapsed_minutes: Mapped[int] = mapped_column(Integer, default=0)
    sla_running_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_response_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_response_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    resolution_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    solved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Message-ID of the mail that opened the ticket, so a redelivered message opens nothing new.
    email_message_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    csat_rating: Mapped[int | None] = mapped_column(Integer)
    csat_comment: Mapped[str | None] = mapped_column(Text)
    csat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    messages: Mapped[list[TicketMessage]] = relationship(
        cascade="all, delete-orphan", order_by="TicketMessage.created_at", passive_deletes=True
    )

    @property
    def reference(self) -> str:
        return self.id.hex[:8].upper()


class TicketMessage(TenantBase):
    """One entry of a ticket's thread: a public reply (the customer sees it) or an internal note."""

    __tablename__ = "ticket_messages"
    __table_args__ = (CheckConstraint("kind IN ('public', 'note')", name="kind"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10), default="public")
    body: Mapped[str] = mapped_column(Text)
    author_user_id: Mapped[uuid.UUID | None] = mapped_column()
    author_contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(String(10), default="api")
    # Message-ID of an inbound mail, so a redelivered message is not added twice.
    email_message_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # Staff replies mailed to the requester: pending until the outbox job sends them.
    mail_status: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TicketEvent(TenantBase):
    """A ticket's history: every change, who made it, old and new values."""

    __tablename__ = "ticket_events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(40))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column()
    actor: Mapped[str] = mapped_column(String(20), default="system")  # user, customer, system
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Macro(Timestamps, TenantBase):
    """A canned reply and/or set of ticket changes an agent applies in one step. Shared macros belong to
    the workspace (admins keep them); personal ones to their owner alone. Empty fields change nothing."""

    __tablename__ = "service_macros"
    __table_args__ = (
        CheckConstraint(_one_of("scope", MACRO_SCOPES), name="scope"),
        CheckConstraint("scope = 'shared' OR owner_user_id IS NOT NULL", name="personal_owner"),
        CheckConstraint(_one_of("reply_kind", MESSAGE_KINDS), name="reply_kind"),
        CheckConstraint("status IS NULL OR " + _one_of("status", STATUSES), name="status"),
        CheckConstraint("priority IS NULL OR " + _one_of("priority", PRIORITIES), name="priority"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(10), default="personal")
    # The member a personal macro belongs to (a platform user id, no foreign key: see QueueMember).
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    # Text with merge fields ({{ ticket.subject }}), checked when the macro is saved.
    reply: Mapped[str | None] = mapped_column(Text)
    reply_kind: Mapped[str] = mapped_column(String(10), default="public")
    status: Mapped[str | None] = mapped_column(String(20))
    priority: Mapped[str | None] = mapped_column(String(10))
    queue_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("service_queues.id", ondelete="SET NULL"))
    assignee_user_id: Mapped[uuid.UUID | None] = mapped_column()
    # Added to the ticket's tags (the ticket keeps its others).
    tags: Mapped[list[str]] = mapped_column(JSONB, default=list)


class ArticleCategory(Timestamps, TenantBase):
    __tablename__ = "kb_categories"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Article(Timestamps, TenantBase):
    __tablename__ = "kb_articles"
    __table_args__ = (
        CheckConstraint(_one_of("status", ARTICLE_STATUSES), name="status"),
        # Full-text search over title (weighted higher) and body; ARTICLE_DOCUMENT is the same expression.
        Index(
            "ix_kb_articles_search",
            text(
                "(setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')"
                " || to_tsvector('english'::regconfig, coalesce(body, '')))"
            ),
            postgresql_using="gin",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    category_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("kb_categories.id", ondelete="SET NULL"))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    author_user_id: Mapped[uuid.UUID | None] = mapped_column()

    category: Mapped[ArticleCategory | None] = relationship(lazy="joined")


# The indexed document of an article; searches must use exactly this expression to use the index.
ARTICLE_TITLE = func.setweight(
    func.to_tsvector(
        literal_column("'english'::regconfig"), func.coalesce(Article.title, literal_column("''"))
    ),
    literal_column("'A'"),
)
ARTICLE_DOCUMENT = ARTICLE_TITLE.op("||")(
    func.to_tsvector(
        literal_column("'english'::regconfig"), func.coalesce(Article.body, literal_column("''"))
    )
)

Index("ix_tickets_status_assignee", Ticket.status, Ticket.assignee_user_id)
Index("ix_tickets_resolution_due_at_id", Ticket.resolution_due_at, Ticket.id)
Index("ix_tickets_first_response_due_at_id", Ticket.first_response_due_at, Ticket.id)
Index("ix_tickets_priority_rank_id", Ticket.__table__.c.priority_rank, Ticket.id)
Index("ix_tickets_updated_at_id", Ticket.updated_at, Ticket.id)
Index("ix_tickets_created_at_id", Ticket.created_at, Ticket.id)
Index("ix_ticket_events_ticket_id_created_at", TicketEvent.ticket_id, TicketEvent.created_at)
