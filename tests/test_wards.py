"""The ward file: idempotent loading, updates without deletion, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import rules
from bot.models import AuditEntry, NoticeCategory, Office, ResidentialGroup, TicketCategory, Ward
from bot.services.wards import WardFileError, load_ward_file, parse_ward_file, ward_settings
from tests.conftest import EXAMPLE_WARD


async def snapshot(session: AsyncSession) -> dict[str, list[tuple]]:
    state = {}
    for model in (Ward, ResidentialGroup, Office, TicketCategory, NoticeCategory):
        rows = (await session.exec(select(model))).all()
        state[model.__name__] = sorted(
            tuple(sorted((k, str(v)) for k, v in row.model_dump().items())) for row in rows
        )
    return state


async def test_example_ward_loads_with_its_groups_offices_and_deadlines(
    session: AsyncSession,
) -> None:
    report = await load_ward_file(session, EXAMPLE_WARD)
    await session.commit()
    assert report.created == {
        "province": 1,
        "ward": 1,
        "groups": 10,
        "offices": 6,
        "ticket_categories": 11,
        "notice_categories": 8,
    }
    ward = (await session.exec(select(Ward))).one()
    assert ward.name == "Phường Ba Đình"
    settings = ward_settings(ward)
    assert settings.ticket_types["to_cao"].prefix == "TC"
    assert not settings.ticket_types["khieu_nai"].anonymous_allowed
    # The deadlines are the rule table's: the file spells out none of the law's.
    assert rules.resolve("complaint.accept_days", ward=settings).to_json()["value"] == 10
    assert rules.resolve("complaint.accept_days", ward=settings).unit == "working_days"
    assert rules.value("notice.min_posting_days", ward=settings) == 30
    assert not any(
        r.from_ward_file for r in rules.in_force(ward=settings) if r.id != "report.due_dates"
    )
    # Only what the file says is stored: a rule it leaves out follows the table.
    assert "notice_posting_days" not in ward.settings
    police = (await session.exec(select(Office).where(Office.code == "CA"))).one()
    noise = (
        await session.exec(select(TicketCategory).where(TicketCategory.code == "an-ninh"))
    ).one()
    assert noise.office_id == police.id


async def test_loading_twice_gives_the_same_state(session: AsyncSession) -> None:
    await load_ward_file(session, EXAMPLE_WARD)
    await session.commit()
    first = await snapshot(session)
    audit_count = len((await session.exec(select(AuditEntry))).all())
    report = await load_ward_file(session, EXAMPLE_WARD)
    await session.commit()
    assert not report.changed
    assert await snapshot(session) == first
    assert len((await session.exec(select(AuditEntry))).all()) == audit_count


async def test_a_changed_file_updates_and_deactivates_without_deleting(
    session: AsyncSession, tmp_path: Path
) -> None:
    await load_ward_file(session, EXAMPLE_WARD)
    await session.commit()
    text = EXAMPLE_WARD.read_text(encoding="utf-8")
    text = text.replace("- {code: KP10, name: Khu phố 10, kind: khu_pho}\n", "")
    text = text.replace("name: Khu phố 1, kind", "name: Khu phố Một, kind")
    changed = tmp_path / "ward.yaml"
    changed.write_text(text, encoding="utf-8")
    report = await load_ward_file(session, changed)
    await session.commit()
    assert report.deactivated == {"groups": 1}
    assert report.updated == {"groups": 1}
    groups = {g.code: g for g in (await session.exec(select(ResidentialGroup))).all()}
    assert len(groups) == 10, "a group that is no longer listed is kept"
    assert groups["KP10"].active is False
    assert groups["KP01"].name == "Khu phố Một"
    # Listing it again brings it back.
    await load_ward_file(session, EXAMPLE_WARD)
    await session.commit()
    await session.refresh(groups["KP10"])
    assert groups["KP10"].active is True


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = EXAMPLE_WARD.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_an_unknown_office_is_reported_with_its_line_and_field(tmp_path: Path) -> None:
    path = _broken(tmp_path, "    office: CA\n", "    office: POLICE\n")
    with pytest.raises(WardFileError) as caught:
        parse_ward_file(path)
    message = str(caught.value)
    assert f"line {_line_of(path, 'office: POLICE')}" in message
    assert "ticket_categories[4].office" in message
    assert "'POLICE'" in message


def test_a_wrong_type_is_reported_with_its_line(tmp_path: Path) -> None:
    path = _broken(tmp_path, "vote_reminder_hours: 24", "vote_reminder_hours: thirty")
    with pytest.raises(WardFileError) as caught:
        parse_ward_file(path)
    assert f"line {_line_of(path, 'thirty')}: vote_reminder_hours" in str(caught.value)


def test_a_missing_field_names_the_entry(tmp_path: Path) -> None:
    path = _broken(tmp_path, "  - {code: KP03, name: Khu phố 3, kind: khu_pho}", "  - {code: KP03}")
    with pytest.raises(WardFileError) as caught:
        parse_ward_file(path)
    assert f"line {_line_of(path, '{code: KP03}')}: groups[2].name: Field required" in str(
        caught.value
    )


def test_yaml_syntax_errors_name_the_line(tmp_path: Path) -> None:
    path = _broken(tmp_path, "ward:\n  code: BADINH", "ward:\n  code: [BADINH")
    with pytest.raises(WardFileError) as caught:
        parse_ward_file(path)
    assert "line" in str(caught.value)


async def test_a_malformed_file_loads_nothing(session: AsyncSession, tmp_path: Path) -> None:
    path = _broken(tmp_path, "    office: CA\n", "    office: POLICE\n")
    with pytest.raises(WardFileError):
        await load_ward_file(session, path)
    await session.rollback()
    assert (await session.exec(select(Ward))).all() == []
    assert (await session.exec(select(ResidentialGroup))).all() == []


async def test_several_wards_share_one_database(session: AsyncSession, tmp_path: Path) -> None:
    await load_ward_file(session, EXAMPLE_WARD)
    other = EXAMPLE_WARD.read_text(encoding="utf-8").replace("code: BADINH", "code: BACSON")
    other = other.replace("name: Phường Ba Đình", "name: Phường Bắc Sơn")
    path = tmp_path / "bacson.yaml"
    path.write_text(other, encoding="utf-8")
    await load_ward_file(session, path)
    await session.commit()
    wards = (await session.exec(select(Ward))).all()
    assert {w.code for w in wards} == {"BADINH", "BACSON"}
    assert len({w.province_id for w in wards}) == 1
    assert len((await session.exec(select(ResidentialGroup))).all()) == 20
