"""Booking links: a user's public page of free slots, and booking one.

Booking is safe against two visitors picking the same slot at once: the user's settings row is locked
for the booking's transaction (bookings of one user queue behind each other), the slot is checked again
against the calendar and the bookings already made, and ``(user_id, starts_at)`` is unique in the
database as the last word. The event is written to the user's calendar inside that transaction, so a
booking that could not reach the calendar is not made; confirmations are mailed once it commits.
"""

from __future__ import annotations

import functools
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import available_timezones

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from saas.db import TenantSession
from saas.errors import Conflict, SaasError, ValidationError
from saas.i18n import N_
from saas.jobs import enqueue_after_commit
from saas.modules.core.services import contacts
from saas.modules.meetings import caldav_access
from saas.modules.meetings.connections import connection_of, credentials
from saas.modules.meetings.meetings import attend, contacts_by_email, new_uid
from saas.modules.meetings.models import Booking, BookingSettings, BookingTeam, Meeting
from saas.modules.meetings.slots import Availability, free_slots
from saas.modules.meetings.sync import write_to_calendar
from saas.webhooks.events import emit

CONFIRMATION_JOB = "saas.modules.meetings.invitations.send_booking_confirmations"
UNREACHABLE = N_("The calendar cannot be reached right now. Please try again later.")
HANDLE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
SETTING_RANGES = {
    "slot_minutes": (5, 480),
    "buffer_minutes": (0, 240),
    "notice_minutes": (0, 60 * 24 * 30),
    "horizon_days": (1, 90),
    "start_minute": (0, 1439),
    "end_minute": (1, 1440),
}


class CalendarUnavailable(SaasError):
    """The user's calendar did not take the booking's event: nothing is booked."""

    status = 503
    title = "Service unavailable"


@functools.cache
def sorted_time_zones() -> tuple[str, ...]:
    """Every IANA zone name a visitor or user may choose, in order (read from the system's tz database
    once: listing it walks the files)."""
    return tuple(sorted(zone for zone in available_timezones() if "/" in zone or zone == "UTC"))


def is_time_zone(name: str | None) -> bool:
    return bool(name) and name in _zone_names()


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(sorted_time_zones())


def settings_of(session: TenantSession, user_id: uuid.UUID) -> BookingSettings | None:
    return session.get(BookingSettings, user_id)


def save_settings(session: TenantSession, user_id: uuid.UUID, data: dict[str, Any]) -> BookingSettings:
    """Create or change the user's booking link; every field is checked, the handle is unique."""
    errors: dict[str, list[str]] = {}
    handle = (data.get("handle") or "").strip().lower()
    if not HANDLE.match(handle):
        errors["handle"] = [N_("2 to 40 lower-case letters, digits and dashes.")]
    if not is_time_zone(data.get("time_zone")):
        errors["time_zone"] = [N_("Choose a time zone.")]
    numbers = {}
    for name, (low, high) in SETTING_RANGES.items():
        try:
            numbers[name] = int(data.get(name))
        except (TypeError, ValueError):
            numbers[name] = None
        if numbers[name] is None or not low <= numbers[name] <= high:
            errors[name] = [N_("%(low)s to %(high)s.", low=low, high=high)]
    if not errors and numbers["start_minute"] >= numbers["end_minute"]:
        errors["end_minute"] = [N_("Working hours end after they start.")]
    days = "".join(sorted({d for d in str(data.get("work_days") or "") if d in "1234567"}))
    if not days:
        errors["work_days"] = [N_("Choose at least one day.")]
    taken = session.scalar(
        select(BookingSettings.user_id).where(
            BookingSettings.handle == handle, BookingSettings.user_id != user_id
        )
    ) or session.scalar(select(BookingTeam.id).where(BookingTeam.handle == handle))
    if taken is not None:
        errors["handle"] = [N_("This name is taken in the workspace.")]
    if errors:
        raise ValidationError(N_("Check the booking link's settings."), errors)
    settings = session.get(BookingSettings, user_id) or BookingSettings(user_id=user_id)
    settings.handle, settings.time_zone, settings.work_days = handle, data["time_zone"], days
    settings.title = ((data.get("title") or "").strip() or "Meeting")[:200]
    settings.enabled = bool(data.get("enabled"))
    for name, value in numbers.items():
        setattr(settings, name, value)
    session.add(settings)
    session.flush()
    return settings


def link_for_handle(session: TenantSession, handle: str) -> BookingSettings | None:
    """The enabled booking link with this handle, or None (unknown and switched off look the same)."""
    return session.scalar(
        select(BookingSettings).where(BookingSettings.handle == handle.lower(), BookingSettings.enabled)
    )


def busy_times(
    session: TenantSession, settings: BookingSettings, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """What is busy for the user in [start, end): their calendar, and the meetings and bookings the
    CRM already holds (a booking the calendar has not shown yet still counts)."""
    held = session.execute(
        select(Booking.starts_at, Booking.ends_at).where(
            Booking.user_id == settings.user_id, Booking.ends_at > start, Booking.starts_at < end
        )
    ).all()
    held += session.execute(
        select(Meeting.starts_at, Meeting.ends_at).where(
            Meeting.user_id == settings.user_id,
            ~Meeting.cancelled,
            Meeting.ends_at > start,
            Meeting.starts_at < end,
        )
    ).all()
    busy = [tuple(row) for row in held]
    connection = connection_of(session, settings.user_id)
    if connection is not None:
        try:
            with caldav_access.open_calendar(credentials(connection), connection.calendar_url) as calendar:
                busy += caldav_access.busy_between(calendar, start, end)
        except caldav_access.CalendarUnreachable:
            # Without the calendar no slot is known to be free: offer none rather than guess.
            raise CalendarUnavailable(gettext(UNREACHABLE)) from None
    return busy


def offered_slots(
    session: TenantSession, settings: BookingSettings, now: datetime | None = None
) -> list[datetime]:
    """The free slots' starts (UTC) the link offers now."""
    now = now or datetime.now(UTC)
    availability = Availability.of(settings)
    start, end = availability.window(now)
    return free_slots(availability, busy_times(session, settings, start, end), now)


def _visitor(data: dict[str, Any]) -> tuple[str, str, str]:
    errors: dict[str, list[str]] = {}
    name = (data.get("name") or "").strip()[:200]
    if not name:
        errors["name"] = [gettext("Tell us your name.")]
    try:
        email = validate_email((data.get("email") or "").strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        email = ""
        errors["email"] = [gettext("Enter a valid email address.")]
    zone = data.get("time_zone") or ""
    if not is_time_zone(zone):
        errors["time_zone"] = [gettext("Choose a time zone.")]
    if errors:
        raise ValidationError(gettext("Check the form."), errors)
    return name, email, zone


def _contact_for(session: TenantSession, name: str, email: str, locale: str | None) -> uuid.UUID:
    """The visitor's contact: the oldest with their email, else a new one."""
    found = contacts_by_email(session, [email]).get(email.lower())
    if found is not None:
        return found
    first, _, last = name.rpartition(" ")
    contact = contacts.create(
        session,
        {"first_name": first or None, "last_name": last or name, "email": email, "preferred_locale": locale},
    )
    return contact.id


def book_slot(
    session: TenantSession,
    settings: BookingSettings,
    starts_at: datetime,
    data: dict[str, Any],
    *,
    locale: str | None = None,
    now: datetime | None = None,
) -> Booking:
    """Book the slot at ``starts_at`` for the visitor ``data`` describes (name, email, time_zone, note).

    A Conflict when the slot is not (or no longer) free."""
    name, email, zone = _visitor(data)
    # One booking of this user at a time: a second visitor waits here, then sees the first's booking.
    settings = session.scalar(
        select(BookingSettings).where(BookingSettings.user_id == settings.user_id).with_for_update()
    )
    starts_at = starts_at.astimezone(UTC)
    if starts_at not in offered_slots(session, settings, now):
        raise Conflict(gettext("This time is no longer free. Please choose another."))
    ends_at = starts_at + timedelta(minutes=settings.slot_minutes)
    booking = Booking(
        user_id=settings.user_id,
        starts_at=starts_at,
        ends_at=ends_at,
        visitor_name=name,
        visitor_email=email,
        visitor_time_zone=zone,
        note=(data.get("note") or "").strip()[:2000] or None,
        locale=locale,
    )
    try:
        with session.begin_nested():
            session.add(booking)
    except IntegrityError:
        raise Conflict(gettext("This time is no longer free. Please choose another.")) from None
    booking.contact_id = _contact_for(session, name, email, locale)
    meeting = Meeting(
        uid=new_uid(),
        user_id=settings.user_id,
        title=f"{settings.title}: {name}"[:200],
        description=booking.note,
        starts_at=starts_at,
        ends_at=ends_at,
        source="booking",
    )
    session.add(meeting)
    session.flush()
    attend(session, meeting, booking.contact_id)
    booking.meeting_id = meeting.id
    try:
        write_to_calendar(session, meeting)
    except caldav_access.CalendarUnreachable:
        raise CalendarUnavailable(gettext(UNREACHABLE)) from None
    enqueue_after_commit(session, CONFIRMATION_JOB, str(booking.id))
    # Other modules hear of it through the registry (a sequence stops for a contact who booked).
    payload = {"booking_id": booking.id, "meeting_id": meeting.id, "contact_id": booking.contact_id}
    emit(session, "meeting.booked", payload | {"user_id": booking.user_id})
    return booking
