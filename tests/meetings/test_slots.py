"""Free slots as pure functions of the settings, the busy times and ``now``: working hours stay on the
user's wall clock across DST changes, and the visitor reads them on theirs (whose clock may change on
another day)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from saas.modules.meetings.slots import Availability, free_slots, group_by_day

NINE_TO_TEN_IN_BERLIN = Availability(
    time_zone="Europe/Berlin", work_days="12345", start_minute=9 * 60, end_minute=10 * 60, slot_minutes=60,
    horizon_days=30,
)  # fmt: skip
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(
    2027, 3, 8, 0, 0, tzinfo=UTC
)  # a Monday; the US changes clocks on 14 March, the EU on 28 March


def test_working_hours_stay_on_the_users_clock_across_their_dst_change():
    starts = free_slots(NINE_TO_TEN_IN_BERLIN, [], NOW)
    assert datetime(2027, 3, 26, 8, 0, tzinfo=UTC) in starts  # 09:00 CET
    assert datetime(2027, 3, 29, 7, 0, tzinfo=UTC) in starts  # 09:00 CEST
    assert all(s.astimezone(BERLIN).time() == time(9) for s in starts)
    assert len(starts) == 23  # the weekdays of 8 March to 7 April (30 days ahead)


def test_the_visitor_reads_slots_on_their_own_clock_across_both_changes():
    days = dict(group_by_day(free_slots(NINE_TO_TEN_IN_BERLIN, [], NOW), "America/New_York"))
    assert [s.time() for s in days[date(2027, 3, 12)]] == [time(3, 0)]  # both on winter time
    assert [s.time() for s in days[date(2027, 3, 15)]] == [time(4, 0)]  # New York moved, Berlin not yet
    assert [s.time() for s in days[date(2027, 3, 29)]] == [time(3, 0)]  # both on summer time


def test_a_visitor_far_east_sees_slots_on_their_next_day():
    days = group_by_day(free_slots(NINE_TO_TEN_IN_BERLIN, [], NOW), "Pacific/Kiritimati")  # UTC+14
    first_day, [first] = days[0]
    assert first_day == date(2027, 3, 8) and first.time() == time(22, 0)


def test_busy_times_with_the_buffer_and_the_notice_period_are_left_out():
    hourly = Availability("UTC", "1234567", 8 * 60, 12 * 60, 60, buffer_minutes=15, notice_minutes=90)
    now = datetime(2027, 6, 1, 6, 45, tzinfo=UTC)
    busy = [(datetime(2027, 6, 1, 10, 0, tzinfo=UTC), datetime(2027, 6, 1, 10, 30, tzinfo=UTC))]
    first_day = [s for s in free_slots(hourly, busy, now) if s.date() == date(2027, 6, 1)]
    # 08:00 is within the notice; 09:00 ends inside the buffer (09:45-10:45), 10:00 is busy; 11:00 is free.
    assert first_day == [datetime(2027, 6, 1, 11, 0, tzinfo=UTC)]
    assert free_slots(hourly, [], now)[0] == datetime(2027, 6, 1, 9, 0, tzinfo=UTC)
    assert free_slots(hourly, [], now)[-1] < now + timedelta(days=hourly.horizon_days + 1)
