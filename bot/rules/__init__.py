"""Every legal rule wardbot applies, as dated data with its article, in one place.

The rules are in ``bot/rules/rules.yaml`` (read it: each entry quotes the law's words);
the official calendar in ``bot/rules/calendar/vn-YYYY.yaml``. Code never writes a legal
number itself: it asks this module.

    from bot import rules

    rules.value("complaint.accept_days")                      # 10, today, national
    rules.value("notice.min_posting_days", on=day, ward=s)    # 45 if the ward file says so
    r = rules.resolve("complaint.accept_days", on=day, ward=s)
    r.value, r.unit, r.source.cite(), r.from_ward_file        # 10, "working_days", "khoản 1
                                                              #   Điều 5 Thông tư số ...", False
    rules.due("recommendation.answer_days", received, ward=s) # the last day, calendar applied
    rules.in_force(day, ward=s)                               # list[ResolvedRule]

``ward`` is the ward's settings (``bot.services.wards.ward_settings(ward_row)``) or None for
the national rules. ``on`` defaults to today in Vietnam; pass the day the period starts so
that the law then in force applies. Errors: ``UnknownRule`` for an id not in the table,
``NotInForce`` for a day no entry covers.

The ward file changes a rule only where the rule allows it (``ward_override``): ``any`` for
local rules, ``not_below`` for legal minimums; ``check_overrides`` says what it refuses,
each refusal naming the article.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from bot.rules import table as _table
from bot.rules.calendar import NATIONAL, Calendar, YearCalendar, is_official, year_calendar
from bot.rules.table import (
    LOCAL_LABEL,
    NotInForce,
    Override,
    Pending,
    Refusal,
    ResolvedRule,
    Rule,
    RuleError,
    RuleTable,
    Source,
    UnknownRule,
    WardRules,
    today,
)

__all__ = [
    "LOCAL_LABEL",
    "NATIONAL",
    "Calendar",
    "NotInForce",
    "Override",
    "Pending",
    "Refusal",
    "ResolvedRule",
    "Rule",
    "RuleError",
    "RuleTable",
    "Source",
    "UnknownRule",
    "WardRules",
    "YearCalendar",
    "calendar_for",
    "check_overrides",
    "due",
    "get",
    "history",
    "ids",
    "in_force",
    "is_official",
    "pending",
    "resolve",
    "today",
    "value",
    "year_calendar",
]


def _current() -> RuleTable:
    # Looked up on every call so that a test may substitute a table.
    return _table.default_table()


def ids() -> list[str]:
    """Every rule id, in the table's order."""
    return _current().ids()


def history(rule_id: str) -> tuple[Rule, ...]:
    """Every dated entry of a rule, oldest first, entries not yet in force included."""
    return _current().history(rule_id)


def get(rule_id: str, on: date | None = None) -> Rule:
    """The table's entry in force on ``on``, before any ward override."""
    return _current().get(rule_id, on)


def resolve(rule_id: str, *, on: date | None = None, ward: WardRules | None = None) -> ResolvedRule:
    """The rule as it applies to ``ward`` on ``on``: value, unit, source, from_ward_file."""
    return _current().resolve(rule_id, on=on, ward=ward)


def value(rule_id: str, *, on: date | None = None, ward: WardRules | None = None) -> Any:
    """Just the value of ``resolve``: an int of days, a list of clauses, a dict..."""
    return _current().value(rule_id, on=on, ward=ward)


def in_force(on: date | None = None, *, ward: WardRules | None = None) -> list[ResolvedRule]:
    """Every rule in force on ``on`` as it applies to ``ward`` (``wardbot rules``)."""
    return _current().in_force(on, ward=ward)


def due(
    rule_id: str,
    start: date,
    *,
    on: date | None = None,
    ward: WardRules | None = None,
    calendar: Calendar | None = None,
) -> date:
    """The last day of a rule's period of days counted from ``start``.

    Civil Code Art. 147–148: ``start`` is not counted; a period that ends on a day off ends
    on the next working day (calendar-day periods too). The entry in force on ``on``
    (default ``start``) applies, on ``calendar`` (default: the ward's).
    """
    return _current().due(rule_id, start, on=on, ward=ward, calendar=calendar)


def check_overrides(overrides: Mapping[str, Override], *, on: date | None = None) -> list[Refusal]:
    """What the table refuses (``fatal``) or ignores of a ward file's overrides on ``on``."""
    return _current().check(overrides, on=on)


def pending(on: date | None = None) -> list[Pending]:
    """Amending laws in force on ``on`` that the table does not encode yet."""
    return _current().pending(on)


def calendar_for(ward: Any) -> Calendar:
    """The ward's working-day calendar (national days off plus the ward file's own)."""
    return Calendar.for_ward(ward)
