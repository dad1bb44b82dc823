"""Resident registration, households and the leader's decision (services)."""

from __future__ import annotations

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import Delivery, Household, Resident, Role, Ward
from bot.services import households, registration
from bot.services.errors import Conflict, InvalidInput, NotAllowed
from bot.services.wards import find_group
from tests import factories


async def leader_of(session: AsyncSession, ward: Ward, code: str = "KP01"):  # type: ignore[no-untyped-def]
    group = await find_group(session, code)
    return await factories.with_role(session, Role.LEADER, ward_id=ward.id, group_id=group.id)


async def test_a_new_address_creates_a_household_with_its_representative(
    session: AsyncSession, ward: Ward
) -> None:
    leader = await leader_of(session, ward)
    actor = await factories.resident(session, number=1, address="Số 12, ngõ 5")
    resident = actor.resident
    assert resident is not None and resident.status == "pending"
    assert resident.is_representative
    household = await session.get(Household, resident.household_id)
    assert household is not None and household.address == "Số 12, ngõ 5"
    assert household.verified is False
    requests = (
        await session.exec(select(Delivery).where(Delivery.kind == "registration.request"))
    ).all()
    assert [r.person_id for r in requests] == [leader.person_id]


async def test_the_same_address_written_differently_joins_that_household(
    session: AsyncSession, ward: Ward
) -> None:
    first = await factories.resident(session, number=1, address="Số 12, ngõ 5")
    second = await factories.resident(session, number=2, address="  số 12 NGÕ 5 ")
    assert second.resident.household_id == first.resident.household_id  # type: ignore[union-attr]
    assert second.resident.is_representative is False  # type: ignore[union-attr]


async def test_the_leader_approves_and_the_household_becomes_verified(
    session: AsyncSession, ward: Ward
) -> None:
    leader = await leader_of(session, ward)
    actor = await factories.resident(session, number=1, verify_by=leader)
    assert actor.resident.status == "verified"  # type: ignore[union-attr]
    household = await session.get(Household, actor.resident.household_id)  # type: ignore[union-attr]
    assert household.verified  # type: ignore[union-attr]
    decisions = (
        await session.exec(select(Delivery).where(Delivery.kind == "registration.decision"))
    ).all()
    assert [(d.person_id, d.params["approved"]) for d in decisions] == [(actor.person_id, True)]
    with pytest.raises(Conflict):
        await registration.decide(session, leader, actor.resident.id, approve=False)  # type: ignore[union-attr]


async def test_only_the_groups_leader_or_an_admin_may_decide(
    session: AsyncSession, ward: Ward
) -> None:
    other_leader = await leader_of(session, ward, "KP02")
    neighbour = await factories.resident(session, number=9)
    actor = await factories.resident(session, number=1)
    for outsider in (other_leader, neighbour):
        with pytest.raises(NotAllowed):
            await registration.decide(session, outsider, actor.resident.id, approve=True)  # type: ignore[union-attr]
    await session.refresh(actor.resident)
    assert actor.resident.status == "pending"  # type: ignore[union-attr]
    admin = await factories.with_role(session, Role.ADMIN, ward_id=ward.id)
    await registration.decide(session, admin, actor.resident.id, approve=True)  # type: ignore[union-attr]
    assert actor.resident.status == "verified"  # type: ignore[union-attr]


async def test_a_rejected_newcomer_does_not_leave_a_household_behind(
    session: AsyncSession, ward: Ward
) -> None:
    leader = await leader_of(session, ward)
    actor = await factories.resident(session, number=1)
    household_id = actor.resident.household_id  # type: ignore[union-attr]
    await registration.decide(session, leader, actor.resident.id, approve=False)  # type: ignore[union-attr]
    household = await session.get(Household, household_id)
    assert household.removed_at is not None  # type: ignore[union-attr]
    assert actor.resident.household_id is None  # type: ignore[union-attr]


async def test_a_phone_already_registered_by_someone_else_is_refused(
    session: AsyncSession, ward: Ward
) -> None:
    await factories.resident(session, number=1)
    newcomer = await factories.person(session)
    group = await find_group(session, "KP01")
    with pytest.raises(Conflict):
        await registration.submit(
            session,
            newcomer,
            group_id=group.id,  # type: ignore[arg-type]
            full_name="Trần Thị Bình",
            phone="0912300001",
            address="Số 2",
            phone_verified=True,
        )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("address", "x" * 5000),
        ("address", "   "),
        ("full_name", "😀😀😀"),
        ("full_name", ""),
        ("full_name", "12345"),
        ("phone", "12345"),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_stored(
    session: AsyncSession, ward: Ward, field: str, value: str
) -> None:
    actor = await factories.person(session)
    group = await find_group(session, "KP01")
    values = {"full_name": "Lê Văn Cường", "phone": "0912345678", "address": "Số 3, ngõ 7"}
    values[field] = value
    await session.commit()
    with pytest.raises(InvalidInput):
        await registration.submit(session, actor, group_id=group.id, **values)  # type: ignore[arg-type]
    await session.rollback()
    assert (await session.exec(select(Resident))).all() == []
    assert (await session.exec(select(Household))).all() == []


ROSTER_CSV = (
    "Địa chỉ,Họ tên,Số điện thoại,Vai trò\n"
    "Số 1 ngõ 1,Phạm Văn Dũng,0912300001,Chủ hộ\n"
    "Số 1 ngõ 1,Phạm Thị Em,0912300002,Thành viên\n"
    "Số 2 ngõ 1,Hoàng Văn Phúc,0912300003,Chủ hộ\n"
).encode()


async def test_the_household_list_verifies_matching_residents_at_once(
    session: AsyncSession, ward: Ward
) -> None:
    leader = await leader_of(session, ward)
    # Registered before the list: pending, then verified by the upload.
    early = await factories.resident(session, number=2, address="Nhà bà Em")
    report = await households.import_roster(
        session, leader, leader.led_group_ids()[0], "ds-ho.csv", ROSTER_CSV
    )
    assert (report.households_listed, report.entries) == (2, 3)
    assert report.verified == [early.person_id]
    await session.refresh(early.resident)
    assert early.resident.status == "verified"  # type: ignore[union-attr]
    assert early.resident.is_representative is False  # type: ignore[union-attr]
    # Registered after the list, with the representative's phone: verified at once.
    later = await factories.resident(session, number=1, address="anything")
    assert later.resident.status == "verified"  # type: ignore[union-attr]
    assert later.resident.is_representative  # type: ignore[union-attr]
    assert later.resident.household_id == early.resident.household_id  # type: ignore[union-attr]


async def test_a_list_with_a_bad_line_imports_nothing(session: AsyncSession, ward: Ward) -> None:
    leader = await leader_of(session, ward)
    bad = ROSTER_CSV + "Số 3 ngõ 1,Vũ Văn Giang,12345,Chủ hộ\n".encode()
    with pytest.raises(InvalidInput) as caught:
        await households.import_roster(session, leader, leader.led_group_ids()[0], "ds.csv", bad)
    assert "5:" in caught.value.render()
    await session.rollback()
    assert (await session.exec(select(Household))).all() == []


async def test_only_the_leader_of_the_group_may_upload_its_list(
    session: AsyncSession, ward: Ward
) -> None:
    other = await leader_of(session, ward, "KP02")
    group = await find_group(session, "KP01")
    with pytest.raises(NotAllowed):
        await households.import_roster(session, other, group.id, "ds.csv", ROSTER_CSV)  # type: ignore[arg-type]


def test_xlsx_lists_are_read_too() -> None:
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["STT", "Họ và tên", "Địa chỉ", "SĐT"])
    sheet.append([1, "Đỗ Văn Hải", "Số 9 ngõ 2", "0912300009"])
    buffer = io.BytesIO()
    book.save(buffer)
    rows = households.parse_roster("list.xlsx", buffer.getvalue())
    assert [(r.name, r.address, r.phone, r.representative) for r in rows] == [
        ("Đỗ Văn Hải", "Số 9 ngõ 2", "+84912300009", True)
    ]
