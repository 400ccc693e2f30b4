"""Business-hours arithmetic for SLA clocks: pure functions over a calendar, no database.

A calendar is a time zone, the working weekdays, one daily window (local time) and holidays. Times go
in and come out as aware UTC datetimes; daylight-saving changes are handled by the time zone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# The longest target (525,600 business minutes at 8 hours a weekday) fits well inside ten years.
MAX_DAYS = 10 * 366


class NoBusinessHours(ValueError):
    """The calendar has no working time at all (every day off), so no due time exists."""


@dataclass(frozen=True)
class BusinessCalendar:
    timezone: str = "UTC"
    work_days: frozenset[int] = frozenset({1, 2, 3, 4, 5})  # ISO weekdays, Monday = 1
    start_minute: int = 9 * 60
    end_minute: int = 17 * 60
    holidays: frozenset[date] = field(default_factory=frozenset)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_working_day(self, day: date) -> bool:
        return day.isoweekday() in self.work_days and day not in self.holidays

    def window(self, day: date) -> tuple[datetime, datetime]:
        """The day's working window in UTC."""
        zone = self.zone
        start = datetime.combine(day, time(self.start_minute // 60, self.start_minute % 60), zone)
        end = (
            datetime.combine(day + timedelta(days=1), time(0), zone)
            if self.end_minute == 1440
            else datetime.combine(day, time(self.end_minute // 60, self.end_minute % 60), zone)
        )
        return start.astimezone(UTC), end.astimezone(UTC)

    def windows_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working windows from ``moment`` on, the first one clipped to start at ``moment``."""
        day = moment.astimezone(self.zone).date()
        for offset in range(MAX_DAYS):
            current = day + timedelta(days=offset)
            if not self.is_working_day(current):
                continue
            start, end = self.window(current)
            if end <= moment:
                continue
            yield max(start, moment), end
        raise NoBusinessHours("The business calendar has no working hours.")


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("business-hours arithmetic needs aware datetimes")
    return moment.astimezone(UTC)


def add_business_minutes(calendar: BusinessCalendar, start: datetime, minutes: int) -> datetime:
    """The moment ``minutes`` of working time after ``start`` (``start`` itself may be off hours)."""
    remaining = timedelta(minutes=max(minutes, 0))
    moment = _aware(start)
    if not remaining:
        return moment
    for window_start, window_end in calendar.windows_from(moment):
        available = window_end - window_start
        if remaining <= available:
            return window_start + remaining
        remaining -= available
    raise NoBusinessHours("The business calendar has no working hours.")  # pragma: no cover


def business_minutes_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> int:
    """Whole minutes of working time between two moments (0 if ``end`` is not after ``start``)."""
    start, end = _aware(start), _aware(end)
    if end <= start:
        return 0
    total = timedelta()
    day = start.astimezone(calendar.zone).date()
    last = end.astimezone(calendar.zone).date()
    while day <= last:
        if calendar.is_working_day(day):
            window_start, window_end = calendar.window(day)
            overlap = min(window_end, end) - max(window_start, start)
            if overlap > timedelta():
                total += overlap
        day += timedelta(days=1)
    return int(total.total_seconds() // 60)
