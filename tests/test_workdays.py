"""The working-day calendar: weekends, Vietnamese public holidays, Tết, make-up Saturdays."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.services import workdays


@pytest.mark.parametrize(
    "day",
    [
        date(2025, 1, 27),  # 29 Tết Ất Tỵ
        date(2025, 1, 28),
        date(2025, 1, 29),  # mùng 1
        date(2025, 1, 30),
        date(2025, 1, 31),
        date(2026, 2, 16),  # 29 Tết Bính Ngọ
        date(2026, 2, 17),  # mùng 1
        date(2026, 2, 20),
        date(2025, 4, 30),
        date(2025, 5, 1),
        date(2025, 5, 2),  # swapped with Saturday 26 April
        date(2025, 9, 2),
        date(2026, 1, 1),
    ],
)
def test_holidays_and_tet_are_not_working_days(day: date) -> None:
    assert day.weekday() < 5
    assert not workdays.is_working_day(day)
    assert workdays.holiday_name(day)


def test_weekends_are_days_off_but_a_make_up_saturday_is_worked() -> None:
    assert not workdays.is_working_day(date(2025, 3, 8))  # Saturday
    assert not workdays.is_working_day(date(2025, 3, 9))  # Sunday
    assert workdays.is_working_day(date(2025, 3, 10))
    # The government moved the 2 May 2025 day off to Saturday 26 April.
    assert workdays.is_working_day(date(2025, 4, 26))


def test_the_days_around_tet_2025_and_2026_are_working_days() -> None:
    assert workdays.is_working_day(date(2025, 1, 24))
    assert workdays.is_working_day(date(2025, 2, 3))
    assert workdays.is_working_day(date(2026, 2, 13))
    assert workdays.is_working_day(date(2026, 2, 23))


def test_ten_working_days_in_an_ordinary_fortnight() -> None:
    # Monday 3 March 2025: the count starts on Tuesday.
    assert workdays.add_working_days(date(2025, 3, 3), 10) == date(2025, 3, 17)
    assert workdays.add_working_days(date(2025, 3, 3), 0) == date(2025, 3, 3)


def test_a_deadline_that_crosses_tet_2025_skips_the_whole_break() -> None:
    # Filed on Friday 24 January 2025; Tết runs from Monday 27 January to Saturday
    # 1 February, so the first working day counted is Monday 3 February.
    assert workdays.add_working_days(date(2025, 1, 24), 1) == date(2025, 2, 3)
    assert workdays.add_working_days(date(2025, 1, 24), 10) == date(2025, 2, 14)
    # Without Tết it would have been 7 February.
    assert workdays.add_calendar_days(date(2025, 1, 24), 14) == date(2025, 2, 7)


def test_a_denunciation_filed_before_tet_2026_is_accepted_after_it() -> None:
    # 7 working days from Friday 13 February 2026, Tết from 16 to 20 February.
    assert workdays.add_working_days(date(2026, 2, 13), 7) == date(2026, 3, 3)
    # Extended by 3 working days from that deadline.
    assert workdays.add_working_days(date(2026, 3, 3), 3) == date(2026, 3, 6)


def test_a_weekend_start_counts_from_the_next_monday() -> None:
    saturday, sunday, friday = date(2025, 3, 8), date(2025, 3, 9), date(2025, 3, 7)
    assert workdays.add_working_days(saturday, 1) == date(2025, 3, 10)
    assert workdays.add_working_days(saturday, 10) == date(2025, 3, 21)
    assert workdays.add_working_days(sunday, 10) == date(2025, 3, 21)
    # Filed on Friday: the same deadline, the weekend counts for nothing.
    assert workdays.add_working_days(friday, 10) == date(2025, 3, 21)


def test_a_make_up_saturday_counts_and_the_may_holidays_do_not() -> None:
    assert workdays.add_working_days(date(2025, 4, 25), 1) == date(2025, 4, 26)
    # 28, 29 April; 30 April to 4 May off; 5 May.
    assert workdays.add_working_days(date(2025, 4, 25), 4) == date(2025, 5, 5)


def test_calendar_days_count_weekends_but_do_not_end_on_a_day_off() -> None:
    # 10 calendar days from Monday 3 March 2025: Thursday 13 March.
    assert workdays.add_days(date(2025, 3, 3), 10, working_days=False) == date(2025, 3, 13)
    assert workdays.add_days(date(2025, 3, 3), 10, working_days=True) == date(2025, 3, 17)
    # Ending on Saturday 15 March: moved to Monday 17 March (Civil Code Art. 148).
    assert workdays.add_calendar_days(date(2025, 3, 5), 10) == date(2025, 3, 17)
    # Ending in Tết (30 January 2025): moved to Monday 3 February.
    assert workdays.add_calendar_days(date(2025, 1, 20), 10) == date(2025, 2, 3)
    # 30 calendar days across Tết are still 30 days: Tết does not stop the clock.
    assert workdays.add_calendar_days(date(2025, 1, 6), 30) == date(2025, 2, 5)


def test_working_days_between() -> None:
    assert workdays.working_days_between(date(2025, 3, 7), date(2025, 3, 10)) == 1
    assert workdays.working_days_between(date(2025, 1, 24), date(2025, 2, 4)) == 2
    assert workdays.working_days_between(date(2025, 3, 10), date(2025, 3, 10)) == 0
    assert workdays.working_days_between(date(2025, 3, 11), date(2025, 3, 10)) == 0


def test_local_date_uses_the_wards_time_zone() -> None:
    # 18:00 UTC is already the next day in Hà Nội (UTC+7).
    assert workdays.local_date(datetime(2025, 3, 7, 18, 0, tzinfo=UTC)) == date(2025, 3, 8)
    assert workdays.local_date(datetime(2025, 3, 7, 16, 0, tzinfo=UTC)) == date(2025, 3, 7)


def test_negative_periods_are_refused() -> None:
    with pytest.raises(ValueError):
        workdays.add_working_days(date(2025, 3, 3), -1)
    with pytest.raises(ValueError):
        workdays.add_calendar_days(date(2025, 3, 3), -1)
