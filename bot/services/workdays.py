"""The working-day calendar: Vietnamese weekends and public holidays, Tết included.

Deadlines in the ward file count either working days or calendar days. Both follow the
Civil Code 2015 (Art. 147–148): a period starts on the day after the event (a ticket
filed on Monday has Tuesday as its first day), and a period whose last day is a weekend
or a public holiday ends on the next working day. Holidays, the Tết break and the
Saturdays the government turns into working days (make-up days) come from the
``holidays`` package, country VN.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
# A deadline is never further than a year and a half away; a bound keeps a bad
# configuration from looping for ever.
_MAX_DAYS = 550


@lru_cache(maxsize=64)
def _calendar(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("VN", years=year)


@lru_cache(maxsize=8192)
def is_working_day(day: date) -> bool:
    """Monday to Friday, or a make-up Saturday, and not a public holiday."""
    return bool(_calendar(day.year).is_working_day(day))


def holiday_name(day: date) -> str | None:
    return _calendar(day.year).get(day)


def next_working_day(day: date) -> date:
    """``day`` itself if it is a working day, else the first working day after it."""
    for _ in range(_MAX_DAYS):
        if is_working_day(day):
            return day
        day += timedelta(days=1)
    raise ValueError("no working day found")


def add_working_days(start: date, days: int) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself is not counted)."""
    if days < 0:
        raise ValueError("days must not be negative")
    current = start
    counted = 0
    for _ in range(_MAX_DAYS * 2):
        if counted == days:
            return current
        current += timedelta(days=1)
        if is_working_day(current):
            counted += 1
    raise ValueError("deadline too far away")


def add_calendar_days(start: date, days: int) -> date:
    """``days`` calendar days after ``start``; a last day off moves to the next working day."""
    if days < 0:
        raise ValueError("days must not be negative")
    return next_working_day(start + timedelta(days=days))


def add_days(start: date, days: int, *, working_days: bool) -> date:
    return add_working_days(start, days) if working_days else add_calendar_days(start, days)


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 if ``end <= start``)."""
    if end <= start:
        return 0
    return sum(
        1 for n in range(1, (end - start).days + 1) if is_working_day(start + timedelta(days=n))
    )


def local_date(moment: datetime, timezone: str = DEFAULT_TIMEZONE) -> date:
    """The calendar day ``moment`` falls on in the ward's time zone."""
    return moment.astimezone(ZoneInfo(timezone)).date()
