"""Business-hours arithmetic on fixed dates: weekends, holidays, off-hours starts, time zones with a
daylight-saving change. November 2026: the 20th is a Friday, the 23rd a Monday."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from saas.modules.service.business_hours import (
    BusinessCalendar,
    NoBusinessHours,
    add_business_minutes,
    business_minutes_between,
)

WEEKDAYS_9_TO_5 = BusinessCalendar()
MONDAY_OFF = BusinessCalendar(holidays=frozenset({date(2026, 11, 23)}))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_minutes_within_one_working_day_stay_that_day():
    assert add_business_minutes(WEEKDAYS_9_TO_5, utc(2026, 11, 18, 10), 90) == utc(2026, 11, 18, 11, 30)


def test_friday_afternoon_target_lands_on_monday_across_the_weekend():
    assert add_business_minutes(WEEKDAYS_9_TO_5, utc(2026, 11, 20, 16), 120) == utc(2026, 11, 23, 10)


def test_a_holiday_monday_moves_the_due_time_to_tuesday():
    assert add_business_minutes(MONDAY_OFF, utc(2026, 11, 20, 16), 120) == utc(2026, 11, 24, 10)


def test_a_start_outside_hours_counts_from_the_next_opening():
    assert add_business_minutes(WEEKDAYS_9_TO_5, utc(2026, 11, 21, 12), 60) == utc(2026, 11, 23, 10)
    assert add_business_minutes(WEEKDAYS_9_TO_5, utc(2026, 11, 18, 18), 30) == utc(2026, 11, 19, 9, 30)
    assert add_business_minutes(WEEKDAYS_9_TO_5, utc(2026, 11, 18, 7), 30) == utc(2026, 11, 18, 9, 30)


def test_a_target_that_fills_the_day_exactly_ends_at_closing_time():
    assert add_business_minutes(WEEKDAYS_9_TO_5, utc(2026, 11, 18, 9), 480) == utc(2026, 11, 18, 17)


def test_a_multi_day_target_skips_the_weekend_and_the_holiday():
    # 4 working days from Wednesday 09:00: Wed, Thu, Fri, (Sat, Sun, Mon off), Tue.
    assert add_business_minutes(MONDAY_OFF, utc(2026, 11, 18, 9), 4 * 480) == utc(2026, 11, 24, 17)


def test_minutes_between_count_only_working_time():
    assert business_minutes_between(WEEKDAYS_9_TO_5, utc(2026, 11, 20, 16), utc(2026, 11, 23, 10)) == 120
    assert business_minutes_between(MONDAY_OFF, utc(2026, 11, 20, 16), utc(2026, 11, 24, 10)) == 120
    assert business_minutes_between(WEEKDAYS_9_TO_5, utc(2026, 11, 21, 0), utc(2026, 11, 22, 23)) == 0
    assert business_minutes_between(WEEKDAYS_9_TO_5, utc(2026, 11, 23, 10), utc(2026, 11, 20, 16)) == 0


def test_adding_then_measuring_gives_back_the_minutes():
    for start, minutes in (
        (utc(2026, 11, 20, 16, 17), 2000),
        (utc(2026, 11, 22, 3), 1),
        (utc(2026, 11, 19, 12), 777),
    ):
        end = add_business_minutes(MONDAY_OFF, start, minutes)
        assert business_minutes_between(MONDAY_OFF, start, end) == minutes


def test_local_hours_follow_the_time_zone_across_a_daylight_saving_change():
    berlin = BusinessCalendar(timezone="Europe/Berlin")
    # Friday 27 March 2026 16:00 CET (15:00 UTC) + 2 hours; clocks go forward on Sunday the 29th,
    # so Monday 10:00 CEST is 08:00 UTC.
    assert add_business_minutes(berlin, utc(2026, 3, 27, 15), 120) == utc(2026, 3, 30, 8)


def test_a_calendar_without_working_days_has_no_due_time():
    with pytest.raises(NoBusinessHours):
        add_business_minutes(BusinessCalendar(work_days=frozenset()), utc(2026, 11, 18, 9), 60)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        add_business_minutes(WEEKDAYS_9_TO_5, datetime(2026, 11, 18, 9), 60)
