"""Leaving wardbot erases the person and keeps households whole."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import ChannelAccount, Delivery, Household, Person, Resident, Role, RoleGrant, Ward
from bot.services import people, profile
from bot.services.wards import find_group
from tests import factories


async def test_leaving_erases_the_person_and_hands_over_the_household(
    session: AsyncSession, ward: Ward
) -> None:
    group = await find_group(session, "KP01")
    leader = await factories.with_role(session, Role.LEADER, ward_id=ward.id, group_id=group.id)
    first = await factories.resident(session, number=1, address="Số 5", verify_by=leader)
    second = await factories.resident(session, number=2, address="số 5", verify_by=leader)
    assert first.resident.is_representative  # type: ignore[union-attr]
    await factories.with_role(session, Role.INSPECTOR, ward_id=ward.id, actor=first)
    await session.commit()

    person_id = first.person_id
    await profile.leave(session, first)
    await session.commit()

    assert await session.get(Person, person_id) is None
    for model in (Resident, ChannelAccount, RoleGrant, Delivery):
        rows = (await session.exec(select(model).where(model.person_id == person_id))).all()  # type: ignore[attr-defined]
        assert rows == [], model.__name__
    await session.refresh(second.resident)
    assert second.resident.is_representative  # type: ignore[union-attr]
    household = await session.get(Household, second.resident.household_id)  # type: ignore[union-attr]
    assert household is not None and household.removed_at is None


async def test_the_last_member_leaving_closes_a_self_registered_household(
    session: AsyncSession, ward: Ward
) -> None:
    actor = await factories.resident(session, number=3)
    household_id = actor.resident.household_id  # type: ignore[union-attr]
    await profile.leave(session, actor)
    await session.commit()
    household = await session.get(Household, household_id)
    assert household is not None and household.removed_at is not None


def test_a_profile_name_is_cleaned_like_a_typed_one() -> None:
    assert people.profile_name("Lan", "Ngô  Thị") == "Lan Ngô Thị"
    assert people.profile_name("Nguyễn Văn An", None) == "Nguyễn Văn An"
    assert people.profile_name(" Hà\u200b ", "") == "Hà"
    assert people.profile_name("🙂", None) is None
    assert people.profile_name(None, None) is None
    assert len(people.profile_name("A" * 64, "B" * 64) or "") == people.NAME_MAX


async def test_a_name_is_filled_only_where_there_is_none(session: AsyncSession) -> None:
    nameless = await factories.person(session)
    nameless.require_person().full_name = None
    await people.fill_name(session, nameless, "Lan Ngô Thị")
    assert nameless.require_person().full_name == "Lan Ngô Thị"
    await people.fill_name(session, nameless, "Someone Else")
    assert nameless.require_person().full_name == "Lan Ngô Thị"
    await people.fill_name(session, nameless, None)
    assert nameless.require_person().full_name == "Lan Ngô Thị"
