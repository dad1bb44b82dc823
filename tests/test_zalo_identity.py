"""Identity with a typed phone (Zalo): it is never evidence. It never matches the household
list, never holds a number against its owner, and asking to link an account tells nobody
whether a number is registered. Services only; tests/e2e/test_zalo.py drives the same
attempts through the bot."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.delivery.render import get_renderer
from bot.i18n import get_i18n
from bot.models import AccountLink, ChannelAccount, Delivery, Household, Person, Role
from bot.services import households, links, registration
from bot.services.errors import Conflict, NotAllowed, NotFound
from bot.services.people import Actor, actor_for_person
from bot.services.wards import find_group
from tests import factories

ROSTER = (
    "Địa chỉ,Họ tên,Số điện thoại,Vai trò\n"
    "Số 7 ngõ 3,Phạm Văn Dũng,{phone},Chủ hộ\n"
    "Số 8 ngõ 3,Hoàng Thị Em,0912399999,Chủ hộ\n"
)


async def register_on_zalo(
    session: AsyncSession, actor: Actor, phone: str, address: str, group: str = "KP01"
) -> registration.Registration:
    found = await find_group(session, group)
    return await registration.submit(
        session,
        actor,
        group_id=found.id,  # type: ignore[arg-type]
        full_name="Người Lạ",
        phone=phone,
        address=address,
    )


async def register_on_telegram(
    session: AsyncSession, phone: str, address: str, group: str = "KP01"
) -> Actor:
    actor = await factories.person(session)
    found = await find_group(session, group)
    await registration.submit(
        session,
        actor,
        group_id=found.id,  # type: ignore[arg-type]
        full_name="Phạm Văn Dũng",
        phone=phone,
        address=address,
        phone_verified=True,
    )
    return await factories.refresh(session, actor)


async def leader_with_list(session: AsyncSession, ward: Any, phone: str) -> Actor:
    group = await find_group(session, "KP01")
    leader = await factories.with_role(session, Role.LEADER, ward_id=ward.id, group_id=group.id)
    await households.import_roster(
        session,
        leader,
        group.id,
        "ds.csv",
        ROSTER.format(phone=phone).encode(),  # type: ignore[arg-type]
    )
    return leader


async def test_a_typed_listed_phone_verifies_nobody_and_makes_nobody_a_representative(
    session: AsyncSession, ward: Any
) -> None:
    owner_phone = factories.phone(701)
    leader = await leader_with_list(session, ward, owner_phone)
    stranger = await factories.zalo_person(session, "z-stranger")
    # The stranger even types the listed household's address.
    done = await register_on_zalo(session, stranger, owner_phone, "Số 7 ngõ 3")
    assert not done.verified_at_once and done.resident.status == "pending"
    assert not done.resident.is_representative
    # Uploading the list again verifies nobody by a typed phone either.
    group = await find_group(session, "KP01")
    report = await households.import_roster(
        session,
        leader,
        group.id,
        "ds.csv",
        ROSTER.format(phone=owner_phone).encode(),  # type: ignore[arg-type]
    )
    assert report.verified == []
    await session.refresh(done.resident)
    assert done.resident.status == "pending" and not done.resident.is_representative
    stranger = await actor_for_person(session, stranger.person, stranger.account)
    assert not stranger.is_verified_resident
    # The owner, with Telegram's verified contact, is recognised at once.
    owner = await register_on_telegram(session, owner_phone, "anything")
    assert owner.resident.status == "verified" and owner.resident.is_representative  # type: ignore[union-attr]


async def test_a_typed_phone_reserves_nothing_and_the_verified_owner_wins(
    session: AsyncSession, ward: Any
) -> None:
    group = await find_group(session, "KP01")
    leader = await factories.with_role(session, Role.LEADER, ward_id=ward.id, group_id=group.id)
    phone = factories.phone(702)
    stranger = await factories.zalo_person(session, "z-squatter")
    squat = await register_on_zalo(session, stranger, phone, "Số 70 ngõ 9")
    # The leader, fooled, approved the typed registration.
    await registration.decide(session, leader, squat.resident.id, approve=True)  # type: ignore[arg-type]
    assert squat.resident.status == "verified"
    # Typing the same number again on Zalo is not refused: nothing is reserved by it,
    # and a refusal would tell a stranger the number is registered.
    other = await factories.zalo_person(session, "z-other")
    assert (await register_on_zalo(session, other, phone, "Số 71 ngõ 9")).resident

    owner = await register_on_telegram(session, phone, "Số 72 ngõ 9")
    assert owner.resident is not None
    # The typed registration goes back to the leader, who is told why.
    await session.refresh(squat.resident)
    assert squat.resident.status == "pending"
    request = await registration.get_request(session, squat.resident.id)  # type: ignore[arg-type]
    assert not request.phone_verified
    assert request.verified_by_other is not None
    assert request.verified_by_other.id == owner.person_id
    cards = (
        await session.exec(
            select(Delivery).where(
                Delivery.kind == "registration.request",
                Delivery.params["resident_id"].as_integer() == squat.resident.id,  # type: ignore[index]
            )
        )
    ).all()
    assert len(cards) == 2  # the first request, and the one after the owner came
    told = (
        await session.exec(select(Delivery).where(Delivery.kind == "registration.review_again"))
    ).all()
    assert [d.person_id for d in told] == [stranger.person_id]
    # No linking code ever went to the stranger's Zalo account.
    codes = (await session.exec(select(Delivery).where(Delivery.kind == links.KIND))).all()
    assert codes == []
    # A second Telegram account cannot take the verified number.
    with pytest.raises(Conflict):
        await register_on_telegram(session, phone, "Số 73 ngõ 9")


async def test_a_rejected_registration_holds_no_number(session: AsyncSession, ward: Any) -> None:
    group = await find_group(session, "KP01")
    leader = await factories.with_role(session, Role.LEADER, ward_id=ward.id, group_id=group.id)
    phone = factories.phone(703)
    first = await register_on_telegram(session, phone, "Số 80 ngõ 9")
    await registration.decide(session, leader, first.resident.id, approve=False)  # type: ignore[union-attr,arg-type]
    second = await register_on_telegram(session, phone, "Số 81 ngõ 9")
    assert second.resident is not None and second.resident.status == "pending"


async def test_asking_for_a_code_tells_nothing_about_the_number(
    session: AsyncSession, ward: Any
) -> None:
    registered = await factories.resident(session, number=704)
    typed_only = await factories.zalo_person(session, "z-typed-704b")
    await register_on_zalo(session, typed_only, factories.phone(705), "Số 90 ngõ 9")
    asker = await factories.zalo_person(session, "z-asker")
    answers = []
    for phone in (factories.phone(704), factories.phone(706), factories.phone(705)):
        answers.append(await links.request(session, asker, phone))
    # Stored alike; a code went only to the one who holds a verified number.
    assert [bool(a.link.id) for a in answers] == [True, True, True]
    assert [a.link.person_id for a in answers] == [registered.person_id, None, None]
    codes = (await session.exec(select(Delivery).where(Delivery.kind == links.KIND))).all()
    assert [c.person_id for c in codes] == [registered.person_id]
    # Typing a code for an unregistered number goes exactly as a wrong code does.
    for left in range(links.MAX_ATTEMPTS - 1, -1, -1):
        missed = await links.confirm(session, asker, "123456")
        assert missed.actor is None and missed.tries_left == left
    with pytest.raises(Conflict):
        await links.confirm(session, asker, "123456")


async def test_codes_are_limited_per_requester_and_per_number(
    session: AsyncSession, ward: Any
) -> None:
    await factories.resident(session, number=711)
    pest = await factories.zalo_person(session, "z-pest")
    for n in range(links.MAX_REQUESTS_PER_HOUR):
        await links.request(session, pest, factories.phone(712 + n))
    with pytest.raises(Conflict):
        await links.request(session, pest, factories.phone(711))
    clock.shift(timedelta(hours=1, seconds=1))
    await links.request(session, pest, factories.phone(711))
    for n in range(links.MAX_REQUESTS_PER_DAY - links.MAX_REQUESTS_PER_HOUR - 1):
        await links.request(session, pest, factories.phone(720 + n))
    clock.shift(timedelta(hours=1, seconds=1))
    with pytest.raises(Conflict):
        await links.request(session, pest, factories.phone(711))

    # Per number: past three codes an hour, askers are answered alike but nothing is sent.
    target = await factories.resident(session, number=731)
    for n in range(links.MAX_CODES_PER_HOUR + 1):
        asker = await factories.zalo_person(session, f"z-731-{n}")
        made = await links.request(session, asker, factories.phone(731))
        assert made.link.id is not None
    codes = (
        await session.exec(
            select(Delivery).where(
                Delivery.kind == links.KIND, Delivery.person_id == target.person_id
            )
        )
    ).all()
    assert len(codes) == links.MAX_CODES_PER_HOUR


async def test_linking_tells_every_other_account_and_any_of_them_can_undo_it(
    session: AsyncSession, ward: Any
) -> None:
    owner = await factories.resident(session, number=741)
    zalo = await factories.zalo_person(session, "z-741")
    provisional = zalo.person_id
    await links.request(session, zalo, factories.phone(741))
    (queued,) = (await session.exec(select(Delivery).where(Delivery.kind == links.KIND))).all()
    assert queued.person_id == owner.person_id and queued.channel == "telegram"
    wrong = "000000" if queued.params["code"] != "000000" else "111111"
    assert (await links.confirm(session, zalo, wrong)).actor is None
    joined = (await links.confirm(session, zalo, queued.params["code"], display_name="Minh")).actor
    assert joined is not None and joined.person_id == owner.person_id
    assert await session.get(Person, provisional) is None
    (notice,) = (
        await session.exec(select(Delivery).where(Delivery.kind == links.LINKED_KIND))
    ).all()
    # Told on Telegram, where the owner is; the new Zalo account got its own answer.
    assert (notice.person_id, notice.channel, notice.params["name"]) == (
        owner.person_id,
        "telegram",
        "Minh",
    )
    with pytest.raises(Conflict):
        await links.confirm(session, joined, queued.params["code"])

    # The joined account cannot detach the owner's own account; strangers nothing at all.
    with pytest.raises(NotAllowed):
        await links.unlink(session, joined, owner.account.id)  # type: ignore[union-attr,arg-type]
    stranger = await factories.person(session)
    with pytest.raises(NotFound):
        await links.unlink(session, stranger, joined.account.id)  # type: ignore[union-attr,arg-type]
    owner = await factories.refresh(session, owner)
    detached = await links.unlink(session, owner, joined.account.id)  # type: ignore[union-attr,arg-type]
    assert detached.person_id not in (None, owner.person_id)
    assert await links.linked_channels(session, owner.person_id) == ["telegram"]  # type: ignore[arg-type]
    told = (await session.exec(select(Delivery).where(Delivery.kind == links.UNLINKED_KIND))).all()
    assert {d.person_id for d in told} == {owner.person_id, detached.person_id}
    with pytest.raises(NotFound):
        await links.unlink(session, owner, detached.id)  # type: ignore[arg-type]
    account = await session.get(ChannelAccount, detached.id)
    assert account is not None and account.external_id == "z-741"


async def test_a_link_code_expires(session: AsyncSession, ward: Any) -> None:
    await factories.resident(session, number=751)
    zalo = await factories.zalo_person(session, "z-751")
    sent = await links.request(session, zalo, factories.phone(751))
    live = select(AccountLink).where(AccountLink.expires_at > clock.now())
    assert (await session.exec(live)).all() == [sent.link]
    clock.shift(links.CODE_TTL + timedelta(seconds=1))
    (queued,) = (await session.exec(select(Delivery).where(Delivery.kind == links.KIND))).all()
    with pytest.raises(Conflict):
        await links.confirm(session, zalo, queued.params["code"])


async def test_the_code_message_says_never_to_give_it_away(
    session: AsyncSession, ward: Any
) -> None:
    import handlers.links  # noqa: F401  (registers the renderers)

    await factories.resident(session, number=761)
    zalo = await factories.zalo_person(session, "z-761")
    await links.request(session, zalo, factories.phone(761))
    (row,) = (await session.exec(select(Delivery).where(Delivery.kind == links.KIND))).all()
    render = get_renderer(links.KIND)
    assert render is not None
    with get_i18n().use_locale("vi"):
        vietnamese = await render(session, row)
    with get_i18n().use_locale("en"):
        english = await render(session, row)
    assert vietnamese is not None and english is not None
    assert "Không đưa mã này cho bất kỳ ai" in vietnamese.text
    assert "Never give this code to anyone" in english.text


async def test_a_household_created_by_a_typed_registration_is_not_verified(
    session: AsyncSession, ward: Any
) -> None:
    stranger = await factories.zalo_person(session, "z-new-household")
    done = await register_on_zalo(session, stranger, factories.phone(771), "Số 99 ngõ 99")
    household = await session.get(Household, done.resident.household_id)
    assert household is not None and not household.verified
    assert done.resident.status == "pending"
