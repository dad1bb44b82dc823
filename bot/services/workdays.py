"""Periods of days over the official calendar (Civil Code 2015 Art. 147–148).

A period starts on the day after the event (a ticket filed on Monday has Tuesday as its
first day), and a period whose last day is not a working day ends on the next working day,
for calendar-day periods too. Which days are worked comes from ``bot.rules.calendar``: the
Government's yearly tables over the ``holidays`` package, plus the ward's own days off when
a ward's ``Calendar`` is passed (``Calendar.for_ward(ward_settings(ward))``); without one,
the national calendar.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.rules.calendar import NATIONAL, Calendar

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
# A deadline is never further than a year and a half away; a bound keeps a bad
# configuration from looping for ever.
_MAX_DAYS = 550


def is_working_day(day: date, *, calendar: Calendar = NATIONAL) -> bool:
    """Monday to Friday, or a make-up weekend day, and not a day off."""
    return calendar.is_working_day(day)


def holiday_name(day: date, *, calendar: Calendar = NATIONAL) -> str | None:
    return calendar.day_off_name(day)


def next_working_day(day: date, *, calendar: Calendar = NATIONAL) -> date:
    """``day`` itself if it is a working day, else the first working day after it."""
    for _ in range(_MAX_DAYS):
        if calendar.is_working_day(day):
            return day
        day += timedelta(days=1)
    raise ValueError("no working day found")


def add_working_days(start: date, days: int, *, calendar: Calendar = NATIONAL) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself is not counted)."""
    if days < 0:
        raise ValueError("days must not be negative")
    current = start
    counted = 0
    for _ in range(_MAX_DAYS * 2):
        if counted == days:
            return current
        current += timedelta(days=1)
        if calendar.is_working_day(current):
            counted += 1
    raise ValueError("deadline too far away")


def add_calendar_days(start: date, days: int, *, calendar: Calendar = NATIONAL) -> date:
    """``days`` calendar days after ``start``; a last day off moves to the next working day."""
    if days < 0:
        raise ValueError("days must not be negative")
    return next_working_day(start + timedelta(days=days), calendar=calendar)


def add_days(start: date, days: int, *, working_days: bool, calendar: Calendar = NATIONAL) -> date:
    if working_days:
        return add_working_days(start, days, calendar=calendar)
    return add_calendar_days(start, days, calendar=calendar)


def working_days_between(start: date, end: date, *, calendar: Calendar = NATIONAL) -> int:
    """Working days after ``start`` up to and including ``end`` (0 if ``end <= start``)."""
    if end <= start:
        return 0
    return sum(
        1
        for n in range(1, (end - start).days + 1)
        if calendar.is_working_day(start + timedelta(days=n))
    )


def local_date(moment: datetime, timezone: str = DEFAULT_TIMEZONE) -> date:
    """The calendar day ``moment`` falls on in the ward's time zone."""
    return moment.astimezone(ZoneInfo(timezone)).date()
