"""The rule table: dated entries, the ward file's overrides, and the deadlines built on them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import rules
from bot.models import Ward
from bot.rules import table as rule_table
from bot.rules.texts import TITLES
from bot.services import notices, tickets
from bot.services.wards import WardFileError, load_ward_file, parse_ward_file, ward_settings
from tests.conftest import EXAMPLE_WARD
from tests.test_tickets import at_local, file, resident, set_now

# What other features and checks rely on, as issue 14 names them, on 30/6/2026.
EXPECTED = {
    "vote.threshold.clause1": ({"fraction": "2/3", "op": ">="}, 21),
    "vote.threshold.clause2": ({"fraction": "2/3", "op": ">="}, 21),
    "vote.threshold.clause3": ({"fraction": "1/2", "op": ">"}, 21),
    "vote.threshold.clause4": ({"fraction": "1/2", "op": ">"}, 21),
    "vote.threshold.clause5": ({"fraction": "1/2", "op": ">"}, 21),
    "vote.threshold.clause6": ({"fraction": "1/2", "op": ">"}, 21),
    "vote.online_allowed_clauses": ([6], 17),
    "vote.meeting_only_clauses": ([3, 4, 5], 17),
    "consultation.min_days": (20, 28),
    "notice.min_posting_days": (30, 13),
    "notice.permanent_clauses": ([4, 13], 13),
    "notice.disclose_within_working_days": (5, 12),
    "complaint.accept_days": (10, 5),
    "complaint.decide_days": (30, 28),
    "denunciation.accept_days": (7, 24),
    "denunciation.resolve_days": (30, 30),
    "recommendation.answer_days": (15, 40),
}


def ward_file_with(tmp_path: Path, old: str, new: str) -> Path:
    text = EXAMPLE_WARD.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "ward.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def _future_table(rule_id: str, value: int, start: date) -> rules.RuleTable:
    """The shipped table plus a made-up later entry (test data, not a real law)."""
    current = rules.get(rule_id, start)
    entry = {
        "id": rule_id,
        "value": value,
        "unit": current.unit,
        "source": {"document": "circular-07-2013", "article": 5, "clause": 1},
        "effective_from": start.isoformat(),
        "ward_override": current.ward_override,
    }
    return rules.RuleTable.from_yaml(rules.RuleTable.default_text(), extra=[entry])


def test_the_ids_other_features_use_have_the_laws_values() -> None:
    on = date(2026, 6, 30)
    for rule_id, (value, article) in EXPECTED.items():
        resolved = rules.resolve(rule_id, on=on)
        assert (resolved.value, resolved.source.article) == (value, article), rule_id
        assert not resolved.from_ward_file
    assert rules.resolve("complaint.accept_days", on=on).unit == "working_days"
    assert rules.resolve("denunciation.accept_days", on=on).unit == "working_days"
    assert rules.resolve("recommendation.answer_days", on=on).unit == "days"
    # Clauses 1–2 and 3–6 differ in the share and in the comparison (Art. 21(1)).
    assert rules.get("vote.threshold.clause1", on).source.phrase.startswith("từ hai phần ba")
    assert rules.get("vote.threshold.clause3", on).source.phrase.startswith("trên 50%")


def test_every_rule_has_a_title_a_source_and_a_known_unit() -> None:
    assert set(rules.ids()) == set(TITLES)
    for rule_id in rules.ids():
        for entry in rules.history(rule_id):
            assert entry.source.local or (entry.source.law and entry.source.article), rule_id
            assert entry.source.local == (entry.ward_override == "any"), rule_id


def test_citations_name_the_article_in_both_languages() -> None:
    source = rules.get("notice.min_posting_days", date(2026, 6, 30)).source
    assert source.cite("vi") == "khoản 2 Điều 13 Luật số 10/2022/QH15"
    assert source.cite("en") == "Law 10/2022/QH15, Art. 13(2)"
    point = rules.get("recommendation.answer_days", date(2026, 6, 30)).source
    assert point.cite("vi") == "điểm c khoản 1 Điều 40 Luật số 10/2022/QH15"


def test_an_entry_with_a_later_effective_date_applies_only_from_that_date() -> None:
    table = _future_table("complaint.accept_days", 20, date(2027, 7, 1))
    assert table.value("complaint.accept_days", on=date(2027, 6, 30)) == 10
    assert table.value("complaint.accept_days", on=date(2027, 7, 1)) == 20
    older, newer = table.history("complaint.accept_days")
    # The older entry was not edited: it ends the day before the new one starts.
    assert older.effective_to == date(2027, 6, 30) and older.value == 10
    assert newer.effective_to is None
    # A period starting before the change keeps the old length.
    assert table.due("complaint.accept_days", date(2027, 6, 30)) < table.due(
        "complaint.accept_days", date(2027, 7, 1)
    )
    # The shipped table is not touched.
    assert rules.value("complaint.accept_days", on=date(2027, 7, 1)) == 10


def test_overlapping_entries_are_refused() -> None:
    entry = {
        "id": "complaint.accept_days",
        "value": 7,
        "unit": "working_days",
        "source": {"document": "circular-07-2013", "article": 5, "clause": 1},
        "effective_from": "2020-01-01",
        "effective_to": "2030-01-01",
        "ward_override": "none",
    }
    later = {**entry, "effective_from": "2025-01-01", "effective_to": None}
    with pytest.raises(rules.RuleError, match="overlap"):
        rules.RuleTable.from_yaml(rules.RuleTable.default_text(), extra=[entry, later])
    with pytest.raises(rules.RuleError, match="same day"):
        rules.RuleTable.from_yaml(
            rules.RuleTable.default_text(), extra=[{**later, "effective_from": "2013-12-16"}]
        )


def test_a_day_before_any_entry_has_no_rule() -> None:
    with pytest.raises(rules.NotInForce):
        rules.get("notice.min_posting_days", date(2023, 6, 30))
    with pytest.raises(rules.UnknownRule):
        rules.value("notice.posting_days")


def test_amendments_not_yet_encoded_are_announced_from_their_date() -> None:
    assert rules.pending(date(2025, 6, 30)) == []
    documents = [p.document for p in rules.pending(date(2026, 7, 1))]
    assert any("136/2025/QH15" in d for d in documents)
    assert not any("136/2025/QH15" in p.document for p in rules.pending(date(2026, 6, 30)))


# --- the ward file -------------------------------------------------------------------------


def test_a_ward_file_cannot_shorten_the_posting_period(tmp_path: Path) -> None:
    path = ward_file_with(tmp_path, "notice.min_posting_days: 30", "notice.min_posting_days: 20")
    with pytest.raises(WardFileError) as caught:
        parse_ward_file(path)
    message = str(caught.value)
    assert "rules.notice.min_posting_days" in message
    assert "below the legal minimum of 30 days" in message
    assert "Law 10/2022/QH15, Art. 13(2)" in message
    assert "ít nhất là 30 ngày liên tục" in message


def test_the_older_posting_field_is_checked_the_same_way(tmp_path: Path) -> None:
    path = ward_file_with(
        tmp_path, "  notice.min_posting_days: 30\n", "  feedback.gop_y.answer_days: 10\n"
    )
    path.write_text(path.read_text(encoding="utf-8") + "notice_posting_days: 25\n", "utf-8")
    with pytest.raises(WardFileError, match=r"notice_posting_days: .*Art\. 13\(2\)"):
        parse_ward_file(path)


async def test_a_longer_posting_period_is_the_wards_default(
    session: AsyncSession, tmp_path: Path
) -> None:
    path = ward_file_with(tmp_path, "notice.min_posting_days: 30", "notice.min_posting_days: 45")
    await load_ward_file(session, path)
    ward = await _ward(session)
    resolved = rules.resolve("notice.min_posting_days", ward=ward_settings(ward))
    assert (resolved.value, resolved.from_ward_file) == (45, True)
    view = await notices.draft(
        session,
        None,
        ward_id=ward.id,  # type: ignore[arg-type]
        group_ids=None,
        category_code="khac",
        title="Lịch tiếp công dân",
        body="Thứ Ba hằng tuần.",
    )
    assert view.notice.posting_days == 45


def test_a_legal_deadline_cannot_be_lengthened(tmp_path: Path) -> None:
    path = ward_file_with(
        tmp_path,
        "  khieu_nai: {prefix: KN, anonymous_allowed: false}",
        "  khieu_nai:\n    prefix: KN\n    anonymous_allowed: false\n"
        "    accept: {days: 15, working_days: true}",
    )
    with pytest.raises(WardFileError) as caught:
        parse_ward_file(path)
    assert "ticket_types.khieu_nai.accept: complaint.accept_days" in str(caught.value)
    assert "Circular 07/2013/TT-TTCP, Art. 5(1)" in str(caught.value)


def test_an_old_file_that_spelled_out_the_law_still_loads_with_a_warning(tmp_path: Path) -> None:
    # The sample of earlier versions: 10 calendar days to accept a complaint.
    path = ward_file_with(
        tmp_path,
        "  khieu_nai: {prefix: KN, anonymous_allowed: false}",
        "  khieu_nai:\n    prefix: KN\n    anonymous_allowed: false\n"
        "    accept: {days: 10, working_days: false}\n"
        "    answer: {days: 30, working_days: false, complex_days: 45}",
    )
    spec = parse_ward_file(path)
    assert len(spec.warnings) == 1
    assert "complaint.accept_days: 10 days is ignored" in spec.warnings[0]
    # The law applies, not the file's value.
    resolved = rules.resolve("complaint.accept_days", ward=spec.settings())
    assert (resolved.value, resolved.unit, resolved.from_ward_file) == (10, "working_days", False)


def test_identity_cannot_be_waived_for_a_denunciation(tmp_path: Path) -> None:
    path = ward_file_with(
        tmp_path,
        "to_cao: {prefix: TC, anonymous_allowed: false}",
        "to_cao: {prefix: TC, anonymous_allowed: true}",
    )
    with pytest.raises(WardFileError, match=r"to_cao\.anonymous_allowed: .*Art\. 25\(1\)"):
        parse_ward_file(path)


def test_unknown_rule_ids_are_refused_with_their_line(tmp_path: Path) -> None:
    path = ward_file_with(tmp_path, "notice.min_posting_days: 30", "notice.min_posting_dayz: 30")
    with pytest.raises(WardFileError) as caught:
        parse_ward_file(path)
    assert "no rule has the id 'notice.min_posting_dayz'" in str(caught.value)
    line = next(
        n for n, text in enumerate(path.read_text("utf-8").splitlines(), 1) if "dayz" in text
    )
    assert f"line {line}:" in str(caught.value)


def test_a_local_rule_takes_any_value_in_its_unit(tmp_path: Path) -> None:
    path = ward_file_with(
        tmp_path,
        "feedback.phan_anh.answer_days: 10",
        "feedback.phan_anh.answer_days: {value: 15, unit: days}",
    )
    settings = parse_ward_file(path).settings()
    resolved = rules.resolve("feedback.phan_anh.answer_days", ward=settings)
    assert (resolved.value, resolved.unit, resolved.from_ward_file) == (15, "days", True)
    assert resolved.source.local


def test_a_later_minimum_overrules_a_ward_value_from_its_date() -> None:
    later = _future_table("notice.min_posting_days", 60, date(2027, 1, 1))

    class Ward45:
        def rule_overrides(self) -> dict[str, rules.Override]:
            return {"notice.min_posting_days": rules.Override(45, None, ("rules",))}

    assert later.value("notice.min_posting_days", on=date(2026, 12, 31), ward=Ward45()) == 45
    assert later.value("notice.min_posting_days", on=date(2027, 1, 1), ward=Ward45()) == 60
    refusals = later.check(Ward45().rule_overrides(), on=date(2027, 1, 1))
    assert [r.fatal for r in refusals] == [True]


# --- deadlines in the product come from the table -------------------------------------------


async def _ward(session: AsyncSession) -> Ward:
    from bot.services.wards import get_ward_by_code

    await session.commit()
    return await get_ward_by_code(session, "BADINH")


async def test_a_complaint_filed_after_a_change_gets_the_new_period(
    session: AsyncSession, ward: Ward, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = _future_table("complaint.accept_days", 5, date(2026, 3, 2))
    monkeypatch.setattr(rule_table, "default_table", lambda: table)
    actor = await resident(session, ward)
    set_now(at_local(date(2026, 2, 27)))  # Friday, the day before the change
    before = await file(session, actor, "khieu_nai", code="dat-dai")
    set_now(at_local(date(2026, 3, 2)))  # Monday, the day it starts
    after = await file(session, actor, "khieu_nai", code="dat-dai")
    # 10 working days from Friday 27/2; 5 from Monday 2/3.
    assert before.accept_due_on == date(2026, 3, 13)
    assert after.accept_due_on == date(2026, 3, 9)
    # The older ticket keeps the rule of the day it was filed.
    view = await tickets.view(session, before)
    assert view.rule.accept is not None and view.rule.accept.days == 10


async def test_a_wards_local_day_off_moves_its_deadlines(
    session: AsyncSession, tmp_path: Path
) -> None:
    path = ward_file_with(
        tmp_path,
        "calendar:\n  days_off: []",
        "calendar:\n  days_off:\n    - {date: 2025-03-13, name: Lễ hội truyền thống phường}",
    )
    await load_ward_file(session, path)
    ward = await _ward(session)
    set_now(at_local(date(2025, 3, 3)))
    actor = await resident(session, ward)
    report = await file(session, actor)
    # 10 working days from Monday 3/3/2025 would be 17/3; the ward's day off adds one.
    assert report.due_on == date(2025, 3, 18)
    assert tickets.calendar_of(ward).day_off_name(date(2025, 3, 13)) == "Lễ hội truyền thống phường"
