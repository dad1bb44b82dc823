"""The official calendar: the days public offices in Vietnam do not work.

Three layers, each winning over the one before:

1. the ``holidays`` package (country VN): the Labour Code's holidays, Tết, the make-up days
   it knows, and estimates for years the Government has not decided yet;
2. ``vn-YYYY.yaml`` next to this file: the Government's decisions for that year, each day
   with its source document, and the package's days that are not days off
   (``not_days_off``); a year with such a table is *official*;
3. the ward file's local days off (``calendar.days_off``).

Period arithmetic over a calendar (Civil Code Art. 147–148) is in
``bot.services.workdays``; this module only says which days are worked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib.resources import files
from typing import Any, Literal

import holidays
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

PACKAGE_SOURCE = "holidays-package"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Source(_Strict):
    id: str
    title: str
    date: dt.date | None = None


class _Day(_Strict):
    date: dt.date
    name: str
    source: str
    uncertain: bool = False


class _Removed(_Strict):
    date: dt.date
    name: str
    reason: str


class _YearFile(_Strict):
    year: int
    official: bool
    sources: list[_Source] = Field(min_length=1)
    days_off: list[_Day]
    working_weekends: list[_Day] = Field(default_factory=list)
    not_days_off: list[_Removed] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> _YearFile:
        ids = {s.id for s in self.sources}
        every = [*self.days_off, *self.working_weekends, *self.not_days_off]
        for day in every:
            if day.date.year != self.year:
                raise ValueError(f"{day.date} is not in {self.year}")
        for day in [*self.days_off, *self.working_weekends]:
            if day.source not in ids:
                raise ValueError(f"{day.date}: no source {day.source!r}")
        for day in self.working_weekends:
            if day.date.weekday() < 5:
                raise ValueError(f"{day.date} is not a Saturday or a Sunday")
        dates = [d.date for d in every]
        if len(dates) != len(set(dates)):
            raise ValueError("a date is listed twice")
        return self


@dataclass(frozen=True)
class CalendarDay:
    date: dt.date
    name: str
    # A source id of the year's table; None for the package or the ward file.
    source: str | None
    uncertain: bool
    origin: Literal["table", "package", "ward"]

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "name": self.name,
            "source": self.source or (PACKAGE_SOURCE if self.origin == "package" else "ward-file"),
            "uncertain": self.uncertain,
        }


@dataclass(frozen=True)
class CalendarSource:
    id: str
    title: str
    date: dt.date | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "date": self.date.isoformat() if self.date else None,
        }


@dataclass(frozen=True)
class YearCalendar:
    """One year of the national calendar, the three layers merged (the ward's excepted)."""

    year: int
    # True when the year has a table of the Government's decisions; False: estimates.
    official: bool
    days_off: tuple[CalendarDay, ...]
    working_weekends: tuple[CalendarDay, ...]
    # Days of the package the table says are not days off, with the reason.
    removed: tuple[tuple[CalendarDay, str], ...]
    sources: tuple[CalendarSource, ...]
    _off: Mapping[dt.date, CalendarDay] = field(repr=False, compare=False, default_factory=dict)
    _worked: frozenset[dt.date] = field(repr=False, compare=False, default=frozenset())

    def to_json(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "official": self.official,
            "days_off": [d.to_json() for d in self.days_off],
            "working_weekends": [d.to_json() for d in self.working_weekends],
            "not_days_off": [{**d.to_json(), "reason": why} for d, why in self.removed],
            "sources": [s.to_json() for s in self.sources],
        }


@cache
def table_years() -> tuple[int, ...]:
    """The years that have an official table."""
    years = []
    for item in files(__name__).iterdir():
        name = item.name
        if name.startswith("vn-") and name.endswith(".yaml"):
            years.append(int(name[3:-5]))
    return tuple(sorted(years))


def _table(year: int) -> _YearFile | None:
    if year not in table_years():
        return None
    text = (files(__name__) / f"vn-{year}.yaml").read_text(encoding="utf-8")
    return _YearFile.model_validate(yaml.safe_load(text))


@lru_cache(maxsize=32)
def year_calendar(year: int) -> YearCalendar:
    package = holidays.country_holidays("VN", years=year, language="vi")
    table = _table(year)
    official = bool(table and table.official)
    off = {
        day: CalendarDay(day, str(name), None, not official, "package")
        for day, name in package.items()
    }
    worked = {
        day: CalendarDay(day, "Ngày làm bù", None, not official, "package")
        for day in package.weekend_workdays
        if day.year == year
    }
    removed: list[tuple[CalendarDay, str]] = []
    sources: list[CalendarSource] = []
    if table is not None:
        sources = [CalendarSource(s.id, s.title, s.date) for s in table.sources]
        for gone in table.not_days_off:
            dropped = off.pop(gone.date, None)
            removed.append(
                (
                    dropped or CalendarDay(gone.date, gone.name, None, False, "package"),
                    gone.reason,
                )
            )
        for item in table.days_off:
            worked.pop(item.date, None)
            off[item.date] = CalendarDay(item.date, item.name, item.source, item.uncertain, "table")
        for item in table.working_weekends:
            off.pop(item.date, None)
            worked[item.date] = CalendarDay(
                item.date, item.name, item.source, item.uncertain, "table"
            )
    return YearCalendar(
        year=year,
        official=official,
        days_off=tuple(sorted(off.values(), key=lambda d: d.date)),
        working_weekends=tuple(sorted(worked.values(), key=lambda d: d.date)),
        removed=tuple(removed),
        sources=tuple(sources),
        _off=off,
        _worked=frozenset(worked),
    )


def is_official(year: int) -> bool:
    return year_calendar(year).official


@lru_cache(maxsize=8192)
def _national_working(day: dt.date) -> bool:
    year = year_calendar(day.year)
    if day in year._off:
        return False
    if day in year._worked:
        return True
    return day.weekday() < 5


class Calendar:
    """The working days of one place: the national calendar and the ward's own days off."""

    __slots__ = ("_hash", "_local")

    def __init__(self, local_days_off: Mapping[dt.date, str] | None = None) -> None:
        self._local = dict(local_days_off or {})
        self._hash = hash(frozenset(self._local.items()))

    @classmethod
    def for_ward(cls, ward: Any) -> Calendar:
        """The calendar of a ward's settings (anything with ``local_days_off()``), or the
        national one for None."""
        days_off = getattr(ward, "local_days_off", None)
        local = days_off() if days_off is not None else None
        return cls(local) if local else NATIONAL

    @property
    def local_days_off(self) -> Mapping[dt.date, str]:
        return dict(self._local)

    def is_working_day(self, day: dt.date) -> bool:
        """Monday to Friday or an official make-up weekend day, and not a day off."""
        return day not in self._local and _national_working(day)

    def day_off_name(self, day: dt.date) -> str | None:
        """Why ``day`` is not worked, or None (ordinary weekends have no name)."""
        if day in self._local:
            return self._local[day]
        entry = year_calendar(day.year)._off.get(day)
        return entry.name if entry else None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Calendar) and self._local == other._local

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"Calendar(local_days_off={self._local!r})"


NATIONAL = Calendar()
