"""Free slots of a booking link: the user's working hours (in their own time zone) cut into slots of
the chosen length, less what is busy in their calendar or already booked, each busy time widened by the
buffer, from the notice period up to the horizon.

Pure functions of their inputs (``now`` included), so that any day, DST changes too, can be tested."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Availability:
    """What a booking link offers, from :class:`~saas.modules.meetings.models.BookingSettings`."""

    time_zone: str
    work_days: str
    start_minute: int
    end_minute: int
    slot_minutes: int
    buffer_minutes: int = 0
    notice_minutes: int = 0
    horizon_days: int = 14

    @classmethod
    def of(cls, settings) -> Availability:
        return cls(
            time_zone=settings.time_zone,
            work_days=settings.work_days,
            start_minute=settings.start_minute,
            end_minute=settings.end_minute,
            slot_minutes=settings.slot_minutes,
            buffer_minutes=settings.buffer_minutes,
            notice_minutes=settings.notice_minutes,
            horizon_days=settings.horizon_days,
        )

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        """The period slots are looked for in (UTC): what busy times to ask the calendar for."""
        return now, now + timedelta(days=self.horizon_days + 1)


def _local(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """``minute`` minutes after midnight of ``day`` on the wall clock of ``zone``, as an aware time.

    Wall-clock arithmetic: 09:00 stays 09:00 on the day clocks change (a time the change skips moves
    forward with it, the way zoneinfo resolves it)."""
    return datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(minutes=minute)


def free_slots(
    availability: Availability,
    busy: Iterable[tuple[datetime, datetime]],
    now: datetime,
) -> list[datetime]:
    """The starts (UTC) of every free slot, in order."""
    zone = ZoneInfo(availability.time_zone)
    length = timedelta(minutes=availability.slot_minutes)
    buffer = timedelta(minutes=availability.buffer_minutes)
    earliest = now + timedelta(minutes=availability.notice_minutes)
    _, latest = availability.window(now)
    blocked = sorted((start - buffer, end + buffer) for start, end in busy)
    found: list[datetime] = []
    first_day = now.astimezone(zone).date()
    for offset in range(availability.horizon_days + 1):
        day = first_day + timedelta(days=offset)
        if str(day.isoweekday()) not in availability.work_days:
            continue
        minute = availability.start_minute
        while minute + availability.slot_minutes <= availability.end_minute:
            start = _local(day, minute, zone).astimezone(UTC)
            end = start + length
            minute += availability.slot_minutes
            if start < earliest or end > latest:
                continue
            if any(b_start < end and start < b_end for b_start, b_end in blocked):
                continue
            found.append(start)
    return found


def group_by_day(starts: Iterable[datetime], zone_name: str) -> list[tuple[date, list[datetime]]]:
    """Slots grouped by the visitor's own calendar day, each start in their zone."""
    zone = ZoneInfo(zone_name)
    days: dict[date, list[datetime]] = {}
    for start in starts:
        local = start.astimezone(zone)
        days.setdefault(local.date(), []).append(local)
    return sorted(days.items())
