"""Zalo end to end: the real bot (`wardbot run` with a Zalo token) against the Zalo and
Telegram emulators; residents on Zalo, leaders and officers on Telegram."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.emulator import BotSpec, EmulatorClient
from bot.emulator.media import make_png
from bot.emulator.zalo import ZaloPeople
from bot.models import Ballot, ChannelAccount, Delivery, Opinion, Person, Resident, Role
from bot.services import notices, votes
from bot.services.people import load_actor
from bot.services.wards import find_group, get_ward_by_code
from bot.zalo.api import SECRET_HEADER
from tests.conftest import POSTGRES_ADMIN_URL, _postgres_available
from tests.e2e.conftest import BOT_USERNAME, Stack, check_logs
from tests.e2e.harness import (
    ROOT,
    BotProcess,
    EmulatorThread,
    create_postgres_database,
    drop_postgres_database,
    free_port,
    make_token,
    prepare_database,
    run_db,
)
from tests.e2e.journeys import (
    WAIT,
    become,
    buttons,
    new_person,
    phone_for,
    press,
    register,
    wait_until,
)
from tests.e2e.test_demo import demo  # noqa: F401  (the `wardbot demo` fixture)
from tests.e2e.test_notices import publish_as_system
from tests.e2e.test_tickets import office_chat

Json = dict[str, Any]
ZALO_TOKEN = "3141592653589793:zalo-emulated-token-abcdef"


@pytest.fixture(scope="module")
def zstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A single-process stack whose bot also serves Zalo (long polling)."""
    workdir = tmp_path_factory.mktemp("e2e-zalo")
    token = make_token()
    emulator = EmulatorThread([BotSpec(token, username=BOT_USERNAME)])
    database_url = f"sqlite+aiosqlite:///{workdir / 'wardbot.db'}"
    prepare_database(database_url)
    stack = Stack(
        emulator,
        token,
        database_url,
        workdir,
        extra_env={
            "WARDBOT_ZALO_TOKEN": ZALO_TOKEN,
            "WARDBOT_ZALO_API_URL": f"{emulator.base_url}/zalo",
            "WARDBOT_ZALO_DELIVERY_RATE": "50",
        },
    )
    process = BotProcess(stack.env(), workdir / "bot.log", polls=emulator.polls)
    stack.processes.append(process)
    # "wardbot is running" is logged once Telegram polls and Zalo knows the bot.
    process.start()
    yield stack
    try:
        asyncio.run(_register_one_more(stack))
    finally:
        stack.stop()
    check_logs(stack)


async def _register_one_more(stack: Stack) -> None:
    """A last Zalo registration with a typed phone number, so the log check has one to
    look for however few tests ran."""
    zalo = ZaloPeople(stack.emulator.base_url)
    try:
        user = await zalo.create_user("Nhật Ký Zalo")
        phone = f"0913 {next(_phones):04d} 99"
        await zalo_register(zalo, user, name="Đỗ Văn Ký", phone=phone, address="Số 1, ngõ 1")
    finally:
        await zalo.close()


@pytest.fixture
async def tg(zstack: Stack) -> AsyncIterator[EmulatorClient]:
    client = EmulatorClient(zstack.emulator.base_url, timeout=30)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def zalo(zstack: Stack) -> AsyncIterator[ZaloPeople]:
    client = ZaloPeople(zstack.emulator.base_url)
    try:
        yield client
    finally:
        await client.close()


_phones = iter(range(1000, 9999))


async def zalo_register(
    zalo: ZaloPeople, user: Json, *, group_number: str = "2", name: str, phone: str, address: str
) -> Json:
    """Hello → 1 (register) → group → name → phone → address → 1 (send)."""
    uid = user["id"]
    await zalo.say(uid, "Xin chào", "Gõ 1 để đăng ký cư trú")
    await zalo.say(uid, "1", "tổ dân phố")
    await zalo.say(uid, group_number, "Họ và tên")
    await zalo.say(uid, name, "số điện thoại")
    await zalo.say(uid, phone, "Địa chỉ")
    summary = await zalo.say(uid, address, "kiểm tra")
    assert name in summary["text"] and address in summary["text"]
    return await zalo.say(uid, "1", "Cảm ơn")


async def test_a_zalo_resident_registers_and_the_telegram_leader_approves(
    zstack: Stack, tg: EmulatorClient, zalo: ZaloPeople
) -> None:
    leader = await new_person(tg, "Bình", "Trần Thị")
    await become(tg, leader, zstack.database_url, Role.LEADER, unit="KP02")
    user = await zalo.create_user("Cường Zalo")
    uid = user["id"]

    # Bad input changes nothing and says why.
    await zalo.say(uid, "Xin chào", "Gõ 1 để đăng ký cư trú")
    await zalo.say(uid, "1", "tổ dân phố")
    await zalo.say(uid, "2", "Họ và tên")
    await zalo.say(uid, "🙂🙂", "bằng chữ")
    await zalo.say(uid, "Lê Văn Cường", "số điện thoại")
    await zalo.say(uid, "12345", "không hợp lệ")
    await zalo.say(uid, "0912 000 999", "Địa chỉ")
    await zalo.say(uid, "Số 9 " * 600, "từ 3 đến 200 ký tự")
    await zalo.send_sticker(uid)
    await zalo.wait_for(uid, "từ 3 đến 200 ký tự")
    await zalo.say(uid, "0", "Gõ 1 để đăng ký cư trú")

    done = await zalo_register(
        zalo,
        user,
        name="Lê Văn Cường",
        phone="0912 000 111",
        address="Số 9, ngõ 3, Lê Lợi",
    )
    assert "tổ trưởng Khu phố 2" in done["text"]
    assert len(done["text"]) <= 2000

    request = await tg.wait_for_message(leader["id"], "Yêu cầu đăng ký", timeout=WAIT)
    assert "Lê Văn Cường" in request["text"] and "+84912000111" in request["text"]
    assert "Đăng ký qua Zalo" in request["text"] and "gọi điện" in request["text"]
    await press(tg, leader, request, "Duyệt")
    approved = await zalo.wait_for(uid, "đã được duyệt")
    assert "Khu phố 2" in approved["text"]
    assert "<b>" not in approved["text"]

    menu = await zalo.say(uid, "menu", "Gõ 1 để xem thông báo hiện hành")
    assert "đăng ký cư trú" not in menu["text"]


async def test_a_zalo_resident_files_a_ticket_with_a_photo_and_rates_the_answer(
    zstack: Stack, tg: EmulatorClient, zalo: ZaloPeople
) -> None:
    officer = await new_person(tg, "Hùng", "Đặng Văn")
    await become(tg, officer, zstack.database_url, Role.OFFICER, office="DCXD")
    group = await office_chat(tg, officer, "Địa chính", "Tổ công tác Địa chính - Xây dựng")
    user = await zalo.create_user("Lan Zalo")
    uid = user["id"]
    await zalo_register(
        zalo,
        user,
        group_number="1",
        name="Phạm Thị Lan",
        phone=f"0912 00{next(_phones)}",
        address="Số 5, ngõ 2, Lê Lợi",
    )

    menu = await zalo.say(uid, "0", "gửi phản ánh")
    number = re.search(r"Gõ (\d) để gửi phản ánh", menu["text"])
    assert number, menu["text"]
    types = await zalo.say(uid, number.group(1), "Bạn muốn gửi loại nào")
    assert "Tố cáo" in types["text"]
    categories = await zalo.say(uid, "1", "lĩnh vực nào")
    road = re.search(r"(\d)\. Đường sá", categories["text"])
    assert road, categories["text"]
    await zalo.say(uid, road.group(1), "Hãy mô tả")
    await zalo.say(uid, "Đèn chiếu sáng ngõ 2 Lê Lợi hỏng cả tuần nay.", "tối đa 5 ảnh")
    await zalo.send_photo(uid, make_png(8, 8))
    await zalo.wait_for(uid, "📎 Đã nhận (1)")
    await zalo.say(uid, "1", "Sự việc ở đâu")
    await zalo.send_location(uid, 21.0340, 105.8400)
    await zalo.wait_for(uid, "ẩn danh")
    confirm = await zalo.say(uid, "1", "Vui lòng kiểm tra")
    assert "Tệp đính kèm: 1" in confirm["text"] and "Vị trí: đã gửi" in confirm["text"]
    done = await zalo.say(uid, "1", "Mã phản ánh của bạn")
    code = re.search(r"[A-Z]{2,4}-\d{4}-\d{6}", done["text"])
    assert code is not None, done["text"]

    card = await tg.wait_for_message(group["id"], code.group(0), timeout=WAIT)
    assert "📍" in card["text"] and "Phạm Thị Lan" in card["text"]
    await tg.wait_for_message(group["id"], lambda m: bool(m.get("photo")), timeout=WAIT)

    await press(tg, officer, card, "Nhận xử lý")
    await zalo.wait_for(uid, "đã nhận xử lý")
    edited = await tg.wait_for_message(
        group["id"],
        lambda m: m["message_id"] == card["message_id"] and "cán bộ:" in (m.get("text") or ""),
        timeout=WAIT,
    )
    await press(tg, officer, edited, "Trả lời")
    await tg.wait_for_message(officer["id"], "Nhập nội dung trả lời", timeout=WAIT)
    await tg.send_text(officer["id"], "Đã thay bóng đèn ngày hôm nay. Cảm ơn bà con.")
    choose = await tg.wait_for_message(officer["id"], "Đã ghi nhận", timeout=WAIT)
    await press(tg, officer, choose, "Gửi người dân")

    answered = await zalo.wait_for(uid, "đã trả lời")
    assert "Đã thay bóng đèn" in answered["text"] and "Gõ 0" in answered["text"]

    menu = await zalo.say(uid, "0", "phản ánh của tôi")
    mine = re.search(r"Gõ (\d) để xem phản ánh của tôi", menu["text"])
    assert mine, menu["text"]
    await zalo.say(uid, mine.group(1), code.group(0))
    detail = await zalo.say(uid, "1", "Quá trình xử lý")
    for step in ("Đã gửi", "Cán bộ đã nhận xử lý", "Đã trả lời"):
        assert step in detail["text"], step
    await zalo.wait_for(uid, "Gõ từ 1 đến 5")
    await zalo.say(uid, "9", "Vui lòng gõ một trong các số")
    await zalo.say(uid, "5", "★★★★★")
    await tg.wait_for_message(
        group["id"],
        lambda m: m["message_id"] == card["message_id"] and "★★★★★" in (m.get("text") or ""),
        timeout=WAIT,
    )

    # Not satisfied after all: 6 reopens it, with a reason, and the office hears of it.
    await zalo.say(uid, "0", "phản ánh của tôi")
    await zalo.say(uid, mine.group(1), code.group(0))
    await zalo.say(uid, "1", "Gõ 6")
    await zalo.say(uid, "6", "Vì sao")
    reopened = await zalo.say(uid, "Đèn lại hỏng sau hai ngày.", "đã được mở lại")
    assert code.group(0) in reopened["text"]
    # The officer who answered hears of it (privately: the ticket is theirs).
    note = await tg.wait_for_message(officer["id"], "chưa hài lòng và đã mở lại", timeout=WAIT)
    assert "Đèn lại hỏng sau hai ngày" in note["text"]


async def test_a_telegram_resident_links_zalo_and_is_one_resident_reached_once(
    zstack: Stack, tg: EmulatorClient, zalo: ZaloPeople
) -> None:
    telegram_user = await new_person(tg, "Minh", "Vũ Văn")
    phone = phone_for(telegram_user)
    await register(tg, telegram_user, group="Khu phố 6", name="Vũ Văn Minh", phone=phone)
    other = await zalo.create_user("Người khác")
    user = await zalo.create_user("Minh Zalo")
    uid = user["id"]

    # The same phone on Zalo leads to linking, with a code sent to Telegram.
    await zalo.say(uid, "Xin chào", "Gõ 1 để đăng ký cư trú")
    await zalo.say(uid, "1", "tổ dân phố")
    await zalo.say(uid, "6", "Họ và tên")
    await zalo.say(uid, "Vũ Văn Minh", "số điện thoại")
    offer = await zalo.say(uid, phone, "liên kết")
    assert "Gõ 1 để" in offer["text"]
    await zalo.say(uid, "1", "mã gồm 6 chữ số")
    sent = await tg.wait_for_message(telegram_user["id"], "Mã liên kết", timeout=WAIT)
    code = re.search(r"\b(\d{6})\b", sent["text"])
    assert code is not None, sent["text"]
    wrong = "000000" if code.group(1) != "000000" else "111111"
    await zalo.say(uid, wrong, "không đúng")
    linked = await zalo.say(uid, code.group(1), "đã được liên kết")
    assert "Gõ 1 để xem thông báo hiện hành" in linked["text"]

    async def accounts(session: AsyncSession) -> tuple[set[int | None], int]:
        rows = (
            await session.exec(
                select(ChannelAccount).where(
                    col(ChannelAccount.external_id).in_([str(telegram_user["id"]), uid])
                )
            )
        ).all()
        persons = {r.person_id for r in rows}
        residents = (
            await session.exec(select(Resident).where(col(Resident.person_id).in_(persons)))
        ).all()
        return persons, len(residents)

    persons, residents = await run_db(zstack.database_url, accounts)
    assert len(persons) == 1 and residents == 1

    # A notice reaches the person on both channels, and counts them once.
    notice_id = await publish_as_system(
        zstack.database_url,
        groups=["KP06"],
        title="Lịch cắt điện Khu phố 6",
        body="Cắt điện từ 8 giờ đến 11 giờ ngày mai. " * 80,
        posting_days=7,
    )
    await tg.wait_for_message(telegram_user["id"], "Lịch cắt điện", timeout=WAIT)
    first = await zalo.wait_for(uid, "Lịch cắt điện")
    assert len(first["text"]) <= 2000
    # The last part ends with the way to the menu (the notice's "read" button on Telegram).
    await zalo.wait_for(uid, "Gõ 0 để về menu chính")
    # Long notices are split at word boundaries, never mid-word.
    parts = [m["text"] for m in await zalo.messages(uid) if m["sender"] == "bot"]
    notice_parts = parts[parts.index(first["text"]) :]
    assert len(notice_parts) >= 2
    words = set(["Cắt", "điện", "từ", "8", "giờ", "đến", "11", "giờ", "ngày", "mai."])
    for part, following in itertools.pairwise(notice_parts):
        assert len(part) <= 2000
        assert part.split()[-1] in words and following.split()[0] in words

    async def stats(session: AsyncSession) -> Any:
        rows = (await session.exec(select(Delivery).where(Delivery.ref_id == notice_id))).all()
        mine = [r for r in rows if r.person_id in persons]
        return mine, await notices.stats(session, None, notice_id)

    async def settled() -> Any:
        mine, result = await run_db(zstack.database_url, stats)
        return (mine, result) if all(r.status == "sent" for r in mine) else None

    mine, result = await wait_until(settled, within=120, what="notice delivered")
    assert {r.channel for r in mine} == {"telegram", "zalo"}
    # Khu phố 6 has this one resident in this test's ward: reached on two channels,
    # counted once.
    assert result.total.recipients == 1 and result.total.sent == 1

    # The other Zalo user, not registered, got nothing.
    assert not [
        m for m in await zalo.messages(other["id"]) if "Lịch cắt điện" in (m.get("text") or "")
    ]

    async def one_person(session: AsyncSession) -> int:
        return len(
            (await session.exec(select(Person).where(Person.full_name == "Vũ Văn Minh"))).all()
        )

    assert await run_db(zstack.database_url, one_person) == 1


async def test_a_zalo_resident_links_telegram_with_the_code_sent_to_zalo(
    zstack: Stack, tg: EmulatorClient, zalo: ZaloPeople
) -> None:
    """Zalo first, Telegram second: Telegram's verified contact matches the phone typed
    on Zalo; the code goes to Zalo and is typed on Telegram."""
    number = next(_phones)
    user = await zalo.create_user("Quang Zalo")
    await zalo_register(
        zalo,
        user,
        group_number="7",
        name="Đỗ Minh Quang",
        phone=f"0914 00{number}",
        address="Số 21, ngõ 4, Lê Lợi",
    )
    person = await new_person(tg, "Quang", "Đỗ Minh")
    tid = person["id"]
    await tg.send_command(tid, "start")
    choose = await tg.wait_for_message(tid, "Choose your language", timeout=WAIT)
    await press(tg, person, choose, "Tiếng Việt")
    groups = await tg.wait_for_message(tid, "tổ dân phố", timeout=WAIT)
    while not any(b["text"] == "Khu phố 7" for b in buttons(groups)):
        await press(tg, person, groups, "▶️")
        groups = await tg.wait_for_message(
            tid, lambda m: any(b["text"] == "Khu phố 7" for b in buttons(m)) or False, timeout=WAIT
        )
    await press(tg, person, groups, "Khu phố 7")
    await tg.wait_for_message(tid, "Nguyễn Văn An", timeout=WAIT)
    await tg.send_text(tid, "Đỗ Minh Quang")
    await tg.wait_for_message(
        tid, lambda m: bool((m.get("reply_markup") or {}).get("keyboard")), timeout=WAIT
    )
    await tg.share_contact(tid, phone_number=f"+8491400{number}")
    await tg.wait_for_message(tid, "đã được đăng ký trên Zalo", timeout=WAIT)
    sent = await zalo.wait_for(user["id"], "Mã liên kết tài khoản Telegram")
    code = re.search(r"\b(\d{6})\b", sent["text"])
    assert code is not None, sent["text"]
    await tg.send_text(tid, code.group(1))
    await tg.wait_for_message(tid, "đã được liên kết", timeout=WAIT)

    async def accounts(session: AsyncSession) -> set[int | None]:
        rows = await session.exec(
            select(ChannelAccount.person_id).where(
                col(ChannelAccount.external_id).in_([str(tid), user["id"]])
            )
        )
        return set(rows.all())

    assert len(await run_db(zstack.database_url, accounts)) == 1


async def test_a_resident_linked_on_both_channels_has_one_ballot(
    zstack: Stack, tg: EmulatorClient, zalo: ZaloPeople
) -> None:
    """Votes on Zalo with numbered text; the household of a person on Telegram and Zalo
    has one ballot whichever channel they vote from, and is counted once."""
    leader = await new_person(tg, "Tâm", "Lý Thị")
    await become(tg, leader, zstack.database_url, Role.LEADER, unit="KP08")
    person = await new_person(tg, "Khoa", "Hồ Văn")
    phone = phone_for(person)
    await register(tg, person, group="Khu phố 8", name="Hồ Văn Khoa", phone=phone)
    request = await tg.wait_for_message(leader["id"], "Hồ Văn Khoa", timeout=WAIT)
    await press(tg, leader, request, "Duyệt")
    await tg.wait_for_message(person["id"], "đã được duyệt", timeout=WAIT)

    user = await zalo.create_user("Khoa Zalo")
    uid = user["id"]
    await zalo.say(uid, "Xin chào", "Gõ 1 để đăng ký cư trú")
    await zalo.say(uid, "1", "tổ dân phố")
    await zalo.say(uid, "8", "Họ và tên")
    await zalo.say(uid, "Hồ Văn Khoa", "số điện thoại")
    await zalo.say(uid, phone, "liên kết")
    await zalo.say(uid, "1", "mã gồm 6 chữ số")
    sent = await tg.wait_for_message(person["id"], "Mã liên kết", timeout=WAIT)
    code = re.search(r"\b(\d{6})\b", sent["text"])
    assert code is not None
    await zalo.say(uid, code.group(1), "đã được liên kết")

    question = "Đồng ý lắp camera an ninh ở đầu ngõ 8?"

    async def create(session: AsyncSession) -> int:
        actor = await load_actor(session, "telegram", str(leader["id"]))
        ward = await get_ward_by_code(session, "BADINH")
        group = await find_group(session, "KP08")
        vote = await votes.create(
            session,
            actor,
            ward_id=ward.id,
            group_ids=[group.id],
            matter=6,
            question=question,
            closes_at=clock.now() + timedelta(days=3),
        )
        return vote.id  # type: ignore[return-value]

    vote_id = await run_db(zstack.database_url, create)
    # The ballot reaches both channels.
    ballot = await tg.wait_for_message(person["id"], question, timeout=WAIT)
    await zalo.wait_for(uid, question)

    menu = await zalo.say(uid, "0", "biểu quyết")
    number = re.search(r"Gõ (\d) để biểu quyết", menu["text"])
    assert number, menu["text"]
    listing = await zalo.say(uid, number.group(1), question)
    assert "1." in listing["text"]
    shown = await zalo.say(uid, "1", "Gõ 1 để Đồng ý, 2 để Không đồng ý")
    assert question in shown["text"]
    await zalo.say(uid, "1", "Đồng ý")

    # The same household again from Telegram: its one ballot changes.
    await press(tg, person, ballot, "Không đồng ý")

    async def ballots(session: AsyncSession) -> list[int]:
        rows = await session.exec(select(Ballot).where(Ballot.vote_id == vote_id))
        return [b.option for b in rows.all()]

    async def changed() -> Any:
        found = await run_db(zstack.database_url, ballots)
        return found if found == [1] else None

    assert await wait_until(changed, within=60, what="one ballot, changed to Disagree")

    async def tally(session: AsyncSession) -> Any:
        vote = await votes.get(session, vote_id)
        return await votes.tally(session, vote)

    result = await run_db(zstack.database_url, tally)
    # One household, one ballot: counted once, as "Không đồng ý".
    assert (result.eligible, result.ballots, result.counts) == (1, 1, [0, 1])

    # A consultation: an option by number, then a comment, as one person's one opinion.
    draft = "Dự thảo quy ước giữ gìn vệ sinh ngõ xóm"

    async def consult(session: AsyncSession) -> int:
        actor = await load_actor(session, "telegram", str(leader["id"]))
        ward = await get_ward_by_code(session, "BADINH")
        group = await find_group(session, "KP08")
        made = await votes.create(
            session,
            actor,
            kind=votes.CONSULTATION,
            ward_id=ward.id,
            group_ids=[group.id],
            matter=None,
            question=draft,
            explanation="Mỗi hộ tự thu gom rác trước cửa vào sáng thứ Bảy.",
            closes_at=clock.now() + timedelta(days=3),
        )
        return made.id  # type: ignore[return-value]

    consult_id = await run_db(zstack.database_url, consult)
    await zalo.wait_for(uid, draft)
    menu = await zalo.say(uid, "0", "biểu quyết")
    listing = await zalo.say(uid, number.group(1), draft)
    pick = re.search(rf"(\d)\. \[Lấy ý kiến\] {draft}", listing["text"])
    assert pick, listing["text"]
    await zalo.say(uid, pick.group(1), "Hoặc viết góp ý")
    await zalo.say(uid, "2", "Đã ghi nhận ý kiến")
    await zalo.say(uid, "Nên thêm thùng rác công cộng ở đầu ngõ.", "Đã ghi nhận góp ý")

    async def opinions(session: AsyncSession) -> list[tuple[int | None, str | None]]:
        rows = await session.exec(select(Opinion).where(Opinion.vote_id == consult_id))
        return [(o.option, o.comment) for o in rows.all()]

    assert await run_db(zstack.database_url, opinions) == [
        (1, "Nên thêm thùng rác công cộng ở đầu ngõ.")
    ]


async def test_in_the_demo_a_zalo_newcomer_registers_and_the_leader_approves(
    demo: str,  # noqa: F811 - the fixture imported above
) -> None:
    async with EmulatorClient(demo) as people:
        leader = next(u for u in await people.users() if "leader" in u["persona"])
        zalo = ZaloPeople(demo)
        try:
            response = await zalo.http.get("/_control/zalo/users")
            newcomer = response.json()["result"][0]
            done = await zalo_register(
                zalo,
                newcomer,
                group_number="1",
                name="Trần Thị Mai",
                phone="0913 222 333",
                address="Số 3, ngõ 8, Lê Lợi",
            )
            assert "tổ trưởng Khu phố 1" in done["text"]
            request = await people.wait_for_message(leader["id"], "Trần Thị Mai", timeout=WAIT)
            await press(people, leader, request, "Duyệt")
            await zalo.wait_for(newcomer["id"], "đã được duyệt")
            # The demo's open vote in Khu phố 1: "1" agrees.
            uid = newcomer["id"]
            menu = await zalo.say(uid, "0", "biểu quyết")
            number = re.search(r"Gõ (\d) để biểu quyết", menu["text"])
            assert number, menu["text"]
            listing = await zalo.say(uid, number.group(1), "dọn vệ sinh ngõ xóm")
            pick = re.search(r"(\d)\. \[Biểu quyết\] [^\n]*dọn vệ sinh", listing["text"])
            assert pick, listing["text"]
            await zalo.say(uid, pick.group(1), "Gõ 1 để Đồng ý, 2 để Không đồng ý")
            await zalo.say(uid, "1", "Đã ghi nhận biểu quyết của hộ: “Đồng ý”")
        finally:
            await zalo.close()
        page = await zalo_page(demo)
        assert 'id="new-zalo-person"' in page


async def zalo_page(url: str) -> str:
    async with httpx.AsyncClient(base_url=url) as http:
        return (await http.get("/")).text


SECRET = "zalo-secret-" + "x" * 16


@pytest.fixture
def webhook_stack(tmp_path: Path) -> Iterator[tuple[Stack, int]]:
    """`wardbot run --webhook --with-worker` with Zalo's webhook, registered with
    `wardbot webhook set`; on PostgreSQL, as in production (SQLite without it)."""
    token = make_token()
    emulator = EmulatorThread([BotSpec(token, username=BOT_USERNAME)])
    on_postgres = _postgres_available() is None
    database_url = (
        create_postgres_database(POSTGRES_ADMIN_URL)
        if on_postgres
        else f"sqlite+aiosqlite:///{tmp_path / 'wardbot.db'}"
    )
    prepare_database(database_url)
    port = free_port()
    stack = Stack(
        emulator,
        token,
        database_url,
        tmp_path,
        extra_env={
            "WARDBOT_ZALO_TOKEN": ZALO_TOKEN,
            "WARDBOT_ZALO_API_URL": f"{emulator.base_url}/zalo",
            "WARDBOT_ZALO_WEBHOOK_URL": f"http://127.0.0.1:{port}",
            "WARDBOT_ZALO_WEBHOOK_SECRET": SECRET,
            "WARDBOT_WEBHOOK_SECRET": "telegram-secret-" + "y" * 16,
            "WARDBOT_WEBHOOK_URL": f"http://127.0.0.1:{port}",
            "WARDBOT_WEBHOOK_HOST": "127.0.0.1",
            "WARDBOT_WEBHOOK_PORT": str(port),
        },
    )
    process = BotProcess(
        stack.env(), tmp_path / "bot.log", args=["run", "--webhook", "--with-worker"]
    )
    stack.processes.append(process)
    try:
        process.start(ready_text="webhook listening")
        env = {k: v for k, v in os.environ.items() if not k.startswith("WARDBOT_")}
        result = subprocess.run(
            [sys.executable, "-m", "bot", "webhook", "set"],
            cwd=ROOT,
            env={**env, **stack.env()},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "Zalo webhook set to" in result.stdout, result.stdout + result.stderr
        yield stack, port
    finally:
        stack.stop()
        if on_postgres:
            drop_postgres_database(POSTGRES_ADMIN_URL, database_url)


async def test_zalo_in_webhook_mode_with_the_secret_checked(
    webhook_stack: tuple[Stack, int],
) -> None:
    """Zalo posts to the bot, which answers; a post without Zalo's secret is refused and
    changes nothing."""
    stack, port = webhook_stack
    zalo = ZaloPeople(stack.emulator.base_url)
    try:
        user = await zalo.create_user("Webhook Zalo")
        await zalo.say(user["id"], "Xin chào", "Gõ 1 để đăng ký cư trú")
        await zalo.say(user["id"], "1", "tổ dân phố")
        forged = {
            "event_name": "message.text.received",
            "message": {
                "message_id": "x1",
                "from": {"id": "777", "name": "Forger"},
                "chat": {"id": "777", "chat_type": "PRIVATE"},
                "text": "1",
            },
        }
        async with httpx.AsyncClient() as http:
            for headers in ({}, {SECRET_HEADER: SECRET[:-1] + "z"}):
                reply = await http.post(
                    f"http://127.0.0.1:{port}/zalo/webhook", json=forged, headers=headers
                )
                assert reply.status_code == 401

        async def forger_accounts(session: AsyncSession) -> int:
            found = select(ChannelAccount).where(ChannelAccount.external_id == "777")
            return len((await session.exec(found)).all())

        assert await run_db(stack.database_url, forger_accounts) == 0
    finally:
        await zalo.close()
