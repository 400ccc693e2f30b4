"""iCalendar documents (RFC 5545, the ``icalendar`` library): the event a meeting is in the user's
calendar, the invitation mailed to its guests (iTIP ``METHOD:REQUEST``, RFC 5546), and reading events
back from the calendar."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from icalendar import Calendar, Event, vCalAddress, vText

PRODID = "-//SaaS CRM//Meetings//EN"


@dataclass(frozen=True)
class Person:
    email: str
    name: str = ""


@dataclass(frozen=True)
class EventData:
    """What one calendar event says, as far as the CRM cares."""

    uid: str
    title: str
    starts_at: datetime
    ends_at: datetime
    description: str | None
    location: str | None
    organizer: str | None
    attendees: tuple[str, ...]
    """Attendees' and organiser's email addresses, lower-cased."""
    cancelled: bool
    sequence: int


def _address(person: Person, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{person.email}")
    if person.name:
        address.params["CN"] = vText(person.name)
    address.params.update(params)
    return address


def meeting_calendar(
    *,
    uid: str,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    organizer: Person,
    attendees: Iterable[Person],
    description: str | None = None,
    location: str | None = None,
    sequence: int = 0,
    method: str | None = None,
    stamp: datetime | None = None,
) -> bytes:
    """A VCALENDAR with the meeting's one VEVENT. ``method="REQUEST"`` makes it an invitation; a
    calendar's stored copy has no method (CalDAV forbids one there)."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValueError("meeting times must be aware")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    if method:
        calendar.add("method", method)
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", (stamp or datetime.now(UTC)).astimezone(UTC))
    # UTC on the wire: every client shows it in its own zone, and no VTIMEZONE has to travel with it.
    event.add("dtstart", starts_at.astimezone(UTC))
    event.add("dtend", ends_at.astimezone(UTC))
    event.add("summary", title)
    event.add("sequence", sequence)
    event.add("status", "CONFIRMED")
    if description:
        event.add("description", description)
    if location:
        event.add("location", location)
    event.add("organizer", _address(organizer))
    for person in attendees:
        event.add(
            "attendee",
            _address(
                person, ROLE="REQ-PARTICIPANT", PARTSTAT="NEEDS-ACTION", RSVP="TRUE", CUTYPE="INDIVIDUAL"
            ),
            encode=0,
        )
    calendar.add_component(event)
    return calendar.to_ical()


def _email(value: object) -> str | None:
    text = str(value or "").strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    return text.lower() or None if "@" in text else None


def _aware(value: date | datetime) -> datetime:
    """All-day events start at midnight UTC; floating times are read as UTC."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def read_events(data: str | bytes, *, occurrences: bool = False) -> list[EventData]:
    """The events of a calendar object: a recurring event's master only (its first occurrence), or
    with ``occurrences`` every instance too (a server's expanded answer)."""
    found = []
    for event in Calendar.from_ical(data).walk("VEVENT"):
        if event.get("dtstart") is None or (event.get("recurrence-id") is not None and not occurrences):
            continue
        starts_at = _aware(event.decoded("dtstart"))
        if event.get("dtend") is not None:
            ends_at = _aware(event.decoded("dtend"))
        elif event.get("duration") is not None:
            ends_at = starts_at + event.decoded("duration")
        else:
            ends_at = starts_at
        attendees = event.get("attendee") or []
        if not isinstance(attendees, list):
            attendees = [attendees]
        emails = tuple(e for e in (_email(a) for a in attendees) if e)
        found.append(
            EventData(
                uid=str(event.get("uid")),
                title=str(event.get("summary") or "")[:200],
                starts_at=starts_at,
                ends_at=ends_at,
                description=str(event.get("description")) if event.get("description") else None,
                location=str(event.get("location"))[:500] if event.get("location") else None,
                organizer=_email(event.get("organizer")),
                attendees=emails,
                cancelled=str(event.get("status") or "").upper() == "CANCELLED",
                sequence=int(event.get("sequence") or 0),
            )
        )
    return found


def busy_periods(data: str | bytes) -> list[tuple[datetime, datetime]]:
    """The busy periods of a VFREEBUSY answer (RFC 4791 free-busy-query), in UTC."""
    periods = []
    for component in Calendar.from_ical(data).walk("VFREEBUSY"):
        values = component.get("freebusy") or []
        if not isinstance(values, list):
            values = [values]
        for value in values:
            if str(value.params.get("FBTYPE", "BUSY")).upper() == "FREE":
                continue
            for start, end_or_duration in value.dt if isinstance(value.dt, list) else [value.dt]:
                end = end_or_duration if isinstance(end_or_duration, datetime) else start + end_or_duration
                periods.append((_aware(start), _aware(end)))
    return periods
