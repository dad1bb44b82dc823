"""The official calendar: the Government's yearly tables over the holidays package."""

from __future__ import annotations

from datetime import date

import holidays

from bot import rules
from bot.rules.calendar import table_years
from bot.services import workdays


def test_2_january_2026_is_a_day_off_and_10_january_a_working_day() -> None:
    # Văn bản 12729/VPCP-KGVX: Friday 2/1 off, worked on Saturday 10/1.
    assert not workdays.is_working_day(date(2026, 1, 2))
    assert workdays.is_working_day(date(2026, 1, 10))
    assert not workdays.is_working_day(date(2026, 1, 11))  # Sunday stays a day off
    cal = rules.year_calendar(2026)
    swap = next(d for d in cal.days_off if d.date == date(2026, 1, 2))
    assert swap.source == "vpcp-12729-2025" and not swap.uncertain
    # The package alone gets both days wrong.
    package = holidays.country_holidays("VN", years=2026)
    assert package.is_working_day(date(2026, 1, 2))
    assert not package.is_working_day(date(2026, 1, 10))


def test_counting_working_days_across_new_year_2026() -> None:
    # From Wednesday 31/12/2025: 1/1 and 2/1 off, the weekend, 5–9/1, then Saturday 10/1.
    assert workdays.add_working_days(date(2025, 12, 31), 1) == date(2026, 1, 5)
    assert workdays.add_working_days(date(2025, 12, 31), 5) == date(2026, 1, 9)
    assert workdays.add_working_days(date(2025, 12, 31), 6) == date(2026, 1, 10)
    # A disclosure due within 5 working days of a decision of 31/12/2025.
    assert rules.due("notice.disclose_within_working_days", date(2025, 12, 31)) == date(2026, 1, 9)


def test_counting_across_tet_2026() -> None:
    # Tết Bính Ngọ: Monday 16/2 to Friday 20/2, between two weekends.
    for day in range(14, 23):
        assert not workdays.is_working_day(date(2026, 2, day))
    # A complaint received on Monday 9/2 (10 working days): 10–13/2, then 23/2–27/2, 2/3.
    assert rules.due("complaint.accept_days", date(2026, 2, 9)) == date(2026, 3, 2)
    # A denunciation received on Friday 13/2 (7 working days), extended to 10.
    assert rules.due("denunciation.accept_days", date(2026, 2, 13)) == date(2026, 3, 3)
    assert rules.due("denunciation.accept_days.extended", date(2026, 2, 13)) == date(2026, 3, 6)
    # Calendar days run through Tết, but a period ending in it ends on 23/2 (Art. 148):
    # an inspection board's recommendation received on 2/2 (15 days: Tuesday 17/2).
    assert rules.due("recommendation.answer_days", date(2026, 2, 2)) == date(2026, 2, 23)


def test_a_deadline_from_late_2025_crosses_both_new_year_and_tet() -> None:
    # A complex complaint accepted on Wednesday 31/12/2025 (45 days): day 45 is Saturday
    # 14/2/2026, the first day of the Tết break, so the period ends on Monday 23/2.
    assert rules.due("complaint.decide_days.complex", date(2025, 12, 31)) == date(2026, 2, 23)


def test_24_november_2026_is_a_working_day() -> None:
    assert workdays.is_working_day(date(2026, 11, 24))
    cal = rules.year_calendar(2026)
    assert [(d.date, d.name) for d, _why in cal.removed] == [
        (date(2026, 11, 24), "Ngày Văn hóa Việt Nam")
    ]
    assert date(2026, 11, 24) not in {d.date for d in cal.days_off}
    assert date(2026, 11, 24) in holidays.country_holidays("VN", years=2026)


def test_every_package_day_of_an_official_year_is_confirmed_or_removed() -> None:
    # A new version of the holidays package that adds or moves a day fails here, so that
    # somebody checks it against the Government's decision before it reaches deadlines.
    for year in table_years():
        cal = rules.year_calendar(year)
        assert cal.official
        package = holidays.country_holidays("VN", years=year)
        listed = {d.date for d in cal.days_off if d.origin == "table"}
        removed = {d.date for d, _why in cal.removed}
        assert set(package) <= listed | removed, year
        worked = {d.date for d in cal.working_weekends if d.origin == "table"}
        assert {d for d in package.weekend_workdays if d.year == year} <= worked, year


def test_every_entry_of_a_table_names_a_listed_source() -> None:
    for year in table_years():
        cal = rules.year_calendar(year)
        ids = {s.id for s in cal.sources}
        for day in (*cal.days_off, *cal.working_weekends):
            assert day.origin == "table" and day.source in ids, day


def test_a_year_without_a_table_is_an_estimate() -> None:
    cal = rules.year_calendar(2027)
    assert not cal.official and cal.sources == ()
    assert cal.days_off and all(d.uncertain and d.origin == "package" for d in cal.days_off)
    assert rules.year_calendar(2026).official


def test_a_wards_own_day_off_is_added_to_the_national_calendar() -> None:
    local = rules.Calendar({date(2026, 3, 20): "Lễ hội đền"})
    assert not local.is_working_day(date(2026, 3, 20))
    assert local.day_off_name(date(2026, 3, 20)) == "Lễ hội đền"
    assert rules.NATIONAL.is_working_day(date(2026, 3, 20))
    assert workdays.add_working_days(date(2026, 3, 19), 1, calendar=local) == date(2026, 3, 23)
    assert local.day_off_name(date(2026, 2, 17)) == "Tết Nguyên đán (mùng 1)"
