"""Tables of the meetings module (tenant schema): a user's calendar connection, their booking link's
settings, meetings (one per iCalendar UID) with the contacts they involve, and booked slots."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.db import TenantBase
from saas.modules.core.models import Timestamps

SOURCES = ("crm", "calendar", "booking")
"""Where a meeting was made: scheduled in the CRM, found in the user's calendar, booked by a visitor."""


class CalendarConnection(Timestamps, TenantBase):
    """A user's own CalDAV calendar; the password is stored encrypted (``saas.auth.crypto``).

    ``sync_token`` (RFC 6578) is where the last pull stopped: the next one asks only for what changed.
    """

    __tablename__ = "calendar_connections"
    # An archive leaves the password out; an imported calendar waits for its owner to enter it again.
    __table_args__ = {"info": {"withheld_secrets": {"password_encrypted": lambda: ""}}}

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # A platform user id; no foreign key, since a tenant's role cannot see the platform schema.
    user_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    """The address the user gave (server, principal or calendar)."""
    calendar_url: Mapped[str] = mapped_column(String(2000))
    """The calendar found there, which meetings are written to and read from."""
    username: Mapped[str] = mapped_column(String(254))
    password_encrypted: Mapped[str] = mapped_column(Text)
    auth_method: Mapped[str] = mapped_column(String(10), default="password", server_default="password")
    """``password``, or ``provider``: the bearer token of the user's mailbox connected through an OAuth
    provider (its CalDAV endpoint; ``password_encrypted`` is empty then)."""
    sync_token: Mapped[str | None] = mapped_column(Text)
    last_synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(500))


class BookingSettings(Timestamps, TenantBase):
    """A user's booking link ``/b/<workspace>/<handle>`` and the slots it offers.

    The handle is chosen by the user (never their email); without ``enabled`` the link answers 404.
    """

    __tablename__ = "booking_settings"
    __table_args__ = (
        CheckConstraint("slot_minutes BETWEEN 5 AND 480", name="slot_minutes"),
        CheckConstraint("buffer_minutes BETWEEN 0 AND 240", name="buffer_minutes"),
        CheckConstraint(
            "start_minute >= 0 AND end_minute <= 1440 AND start_minute < end_minute", name="hours"
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    handle: Mapped[str] = mapped_column(String(40), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    title: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64))
    """The user's working hours are in this zone."""
    work_days: Mapped[str] = mapped_column(String(7), default="12345")
    """ISO weekdays (1 Monday .. 7 Sunday) the user takes meetings on."""
    start_minute: Mapped[int] = mapped_column(Integer, default=9 * 60)
    end_minute: Mapped[int] = mapped_column(Integer, default=17 * 60)
    slot_minutes: Mapped[int] = mapped_column(Integer, default=30)
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=0)
    """Kept free before and after every busy time."""
    notice_minutes: Mapped[int] = mapped_column(Integer, default=120)
    """The earliest slot offered is this far from now."""
    horizon_days: Mapped[int] = mapped_column(Integer, default=14)


class BookingTeam(Timestamps, TenantBase):
    """A team's booking link ``/b/<workspace>/<handle>``: the free slots of any of its members, each
    booking given to a member free then (the one with the fewest bookings to come)."""

    __tablename__ = "booking_teams"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    handle: Mapped[str] = mapped_column(String(40), unique=True)
    """Shares its namespace with the users' handles (checked on saving either)."""
    title: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    members: Mapped[list[BookingTeamMember]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )


class BookingTeamMember(TenantBase):
    __tablename__ = "booking_team_members"

    team_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("booking_teams.id", ondelete="CASCADE"), primary_key=True
    )
    # A platform user id; no foreign key, since a tenant's role cannot see the platform schema.
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class Meeting(Timestamps, TenantBase):
    """A meeting of a user with one or more contacts, the same event as in the user's calendar (``uid``)."""

    __tablename__ = "meetings"
    __table_args__ = (
        CheckConstraint("source IN ('crm', 'calendar', 'booking')", name="source"),
        CheckConstraint("ends_at > starts_at", name="period"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    uid: Mapped[str] = mapped_column(String(255), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(500))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(String(10))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    event_href: Mapped[str | None] = mapped_column(String(2000))
    """The event's address in the user's calendar, once written or read there."""
    etag: Mapped[str | None] = mapped_column(String(255))
    pushed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)

    attendees: Mapped[list[MeetingContact]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, back_populates="meeting"
    )


class MeetingContact(TenantBase):
    """A contact at a meeting, and the meeting's entry on their timeline."""

    __tablename__ = "meeting_contacts"
    __table_args__ = (UniqueConstraint("meeting_id", "contact_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    activity_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("activities.id", ondelete="SET NULL"))

    meeting: Mapped[Meeting] = relationship(back_populates="attendees")


class Booking(TenantBase):
    """A slot a visitor booked on a user's link. ``(user_id, starts_at)`` is unique: of two visitors who
    pick the same slot at once, the database lets one in."""

    __tablename__ = "bookings"
    __table_args__ = (UniqueConstraint("user_id", "starts_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column()
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    visitor_name: Mapped[str] = mapped_column(String(200))
    visitor_email: Mapped[str] = mapped_column(String(254))
    visitor_time_zone: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(16))
    """The language the visitor booked in: their confirmation's."""
    note: Mapped[str | None] = mapped_column(Text)
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    meeting_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("meetings.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
