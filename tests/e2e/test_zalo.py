"""Zalo end to end: the real bot (`wardbot run` with a Zalo token) against the Zalo and
Telegram emulators; residents on Zalo, leaders and officers on Telegram."""

from __future__ import annotations

import asyncio
import hashlib
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
from bot.models import (
    Ballot,
    ChannelAccount,
    Delivery,
    Opinion,
    Person,
    Resident,
    Role,
    StoredFile,
    Ticket,
    TicketAttachment,
)
from bot.services import files, households, links, notices, votes
from bot.services.file_links import FileLinks, derive_key
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
    files_port = free_port()
    stack = Stack(
        emulator,
        token,
        database_url,
        workdir,
        extra_env={
            "WARDBOT_ZALO_TOKEN": ZALO_TOKEN,
            "WARDBOT_ZALO_API_URL": f"{emulator.base_url}/zalo",
            "WARDBOT_ZALO_DELIVERY_RATE": "50",
            # Short long polls, so that empty ones (Zalo's 408) happen during the tests.
            "WARDBOT_ZALO_POLL_TIMEOUT": "2",
            # Six seconds of nothing but 429 before the admins are told.
            "WARDBOT_ZALO_QUOTA_REPORT_MINUTES": "0.1",
            # Files for Zalo residents as signed links, served by the bot (the key is
            # derived from the Zalo token: the default).
            "WARDBOT_PUBLIC_URL": f"http://127.0.0.1:{files_port}",
            "WARDBOT_WEBHOOK_HOST": "127.0.0.1",
            "WARDBOT_WEBHOOK_PORT": str(files_port),
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


async def zalo_ask_link(
    zalo: ZaloPeople, tg: EmulatorClient, uid: str, telegram_user: Json, phone: str
) -> Json:
    """Zalo's menu → link → the Telegram phone; returns the code's message on Telegram."""
    menu = await zalo.say(uid, "Xin chào", "liên kết tài khoản Zalo")
    pick = re.search(r"Gõ (\d) để liên kết tài khoản Zalo", menu["text"])
    assert pick, menu["text"]
    await zalo.say(uid, pick.group(1), "số điện thoại")
    await zalo.say(uid, phone, "mã gồm 6 chữ số")
    return await tg.wait_for_message(telegram_user["id"], "Mã liên kết", timeout=WAIT)


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
    # Zalo delivers the image as message.photo_url; the bot downloads it into the ticket.
    await zalo.send_photo(uid, make_png(8, 8))
    await zalo.wait_for(uid, "📎 Đã nhận (1)")
    # No location on Zalo: the resident types the place.
    asked = await zalo.say(uid, "1", "Sự việc ở đâu")
    assert "địa điểm dễ nhận biết" in asked["text"] and "vị trí" not in asked["text"]
    await zalo.say(uid, "Đầu ngõ 2 Lê Lợi, cạnh cột điện số 5", "ẩn danh")
    confirm = await zalo.say(uid, "1", "Vui lòng kiểm tra")
    assert "Tệp đính kèm: 1" in confirm["text"]
    assert "Địa điểm: Đầu ngõ 2 Lê Lợi, cạnh cột điện số 5" in confirm["text"]
    done = await zalo.say(uid, "1", "Mã phản ánh của bạn")
    code = re.search(r"[A-Z]{2,4}-\d{4}-\d{6}", done["text"])
    assert code is not None, done["text"]

    card = await tg.wait_for_message(group["id"], code.group(0), timeout=WAIT)
    assert "📍 Địa điểm: Đầu ngõ 2 Lê Lợi" in card["text"] and "Phạm Thị Lan" in card["text"]
    await tg.wait_for_message(group["id"], lambda m: bool(m.get("photo")), timeout=WAIT)

    async def photos(session: AsyncSession) -> list[str]:
        ticket = (await session.exec(select(Ticket).where(Ticket.code == code.group(0)))).one()
        rows = await session.exec(
            select(StoredFile.mime_type)
            .join(TicketAttachment, col(TicketAttachment.file_id) == StoredFile.id)
            .where(TicketAttachment.ticket_id == ticket.id)
        )
        return list(rows.all())

    assert await run_db(zstack.database_url, photos) == ["image/png"]

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

    # Linking from Zalo's menu, with a code sent to Telegram.
    sent = await zalo_ask_link(zalo, tg, uid, telegram_user, phone)
    assert "Không đưa mã này cho bất kỳ ai" in sent["text"]
    code = re.search(r"\b(\d{6})\b", sent["text"])
    assert code is not None, sent["text"]
    wrong = "000000" if code.group(1) != "000000" else "111111"
    await zalo.say(uid, wrong, "không đúng")
    linked = await zalo.say(uid, code.group(1), "đã được liên kết")
    assert "Gõ 1 để xem thông báo hiện hành" in linked["text"]
    # Telegram hears of it, with a way to undo it.
    told = await tg.wait_for_message(telegram_user["id"], "vừa được liên kết", timeout=WAIT)
    assert "Minh Zalo" in told["text"] and any("Hủy liên kết" in b["text"] for b in buttons(told))

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


async def test_a_stranger_typing_a_listed_phone_on_zalo_takes_nothing_over(
    zstack: Stack, tg: EmulatorClient, zalo: ZaloPeople
) -> None:
    """The attack of issue 17: a stranger types, on Zalo, the phone of a household on the
    leader's list. Not verified, not a representative, no vote; the real owner, sharing
    his contact on Telegram, registers (verified by the list) and no code ever goes to
    the stranger; the stranger's registration goes back to the leader with a warning."""
    leader = await new_person(tg, "Sơn", "Đinh Văn")
    await become(tg, leader, zstack.database_url, Role.LEADER, unit="KP07")
    owner = await new_person(tg, "Quang", "Đỗ Minh")
    phone = phone_for(owner)
    national = "0" + phone.removeprefix("+84")

    async def upload_list(session: AsyncSession) -> None:
        actor = await load_actor(session, "telegram", str(leader["id"]))
        group = await find_group(session, "KP07")
        csv = (
            "Địa chỉ,Họ tên,Số điện thoại,Vai trò\n"
            f"Số 21 ngõ 4 Lê Lợi,Đỗ Minh Quang,{phone},Chủ hộ\n"
        )
        await households.import_roster(session, actor, group.id, "ds.csv", csv.encode())  # type: ignore[arg-type]

    await run_db(zstack.database_url, upload_list)

    stranger = await zalo.create_user("Quang")
    sid = stranger["id"]
    done = await zalo_register(
        zalo,
        stranger,
        group_number="7",
        name="Đỗ Minh Quang",
        phone=national,
        address="Số 21 ngõ 4 Lê Lợi",
    )
    assert "đã được gửi tới tổ trưởng" in done["text"] and "xác minh" not in done["text"]
    menu = await zalo.say(sid, "0", "Gõ 1 để")
    assert "biểu quyết" not in menu["text"]
    first = await tg.wait_for_message(leader["id"], "Yêu cầu đăng ký", timeout=WAIT)
    assert "gọi điện" in first["text"]

    async def stranger_state(session: AsyncSession) -> tuple[str, bool, int]:
        account = (
            await session.exec(select(ChannelAccount).where(ChannelAccount.external_id == sid))
        ).one()
        resident = (
            await session.exec(select(Resident).where(Resident.person_id == account.person_id))
        ).one()
        codes = await session.exec(
            select(Delivery).where(Delivery.kind == links.KIND, Delivery.chat_id == sid)
        )
        return resident.status, resident.is_representative, len(codes.all())

    assert await run_db(zstack.database_url, stranger_state) == ("pending", False, 0)

    # The owner on Telegram: his shared contact is not refused, and the list knows it.
    answer = await register(tg, owner, group="Khu phố 7", name="Đỗ Minh Quang", phone=phone)
    assert "có trong danh sách" in answer["text"]
    again = await tg.wait_for_message(
        leader["id"], lambda m: "đã được một cư dân khác" in (m.get("text") or ""), timeout=WAIT
    )
    assert "Đỗ Minh Quang" in again["text"]
    assert await run_db(zstack.database_url, stranger_state) == ("pending", False, 0)


async def test_zalo_answers_alike_whether_or_not_a_number_is_registered(
    zstack: Stack, tg: EmulatorClient, zalo: ZaloPeople
) -> None:
    registered = await new_person(tg, "Nga", "Bùi Thị")
    phone = phone_for(registered)
    await register(tg, registered, group="Khu phố 5", name="Bùi Thị Nga", phone=phone)
    unknown = f"+8491{next(_phones):04d}999"
    answers = []
    for number in (phone, unknown):
        user = await zalo.create_user("Dò số")
        # Registering with the number: the same next step either way.
        await zalo.say(user["id"], "Xin chào", "Gõ 1 để đăng ký cư trú")
        await zalo.say(user["id"], "1", "tổ dân phố")
        await zalo.say(user["id"], "5", "Họ và tên")
        await zalo.say(user["id"], "Bùi Thị Nga", "số điện thoại")
        step = await zalo.say(user["id"], number, "Địa chỉ")
        # Asking to link with it: the same words either way.
        menu = await zalo.say(user["id"], "0", "liên kết tài khoản Zalo")
        pick = re.search(r"Gõ (\d) để liên kết tài khoản Zalo", menu["text"])
        assert pick, menu["text"]
        await zalo.say(user["id"], pick.group(1), "số điện thoại")
        reply = await zalo.say(user["id"], number, "Nếu số này")
        answers.append((step["text"], reply["text"]))
    assert answers[0] == answers[1]
    assert "đăng ký trên kênh khác" not in str(answers)
    # Only the registered resident got a code, on Telegram.
    await tg.wait_for_message(registered["id"], "Mã liên kết", timeout=WAIT)


async def test_the_owner_undoes_a_link_from_telegram(
    zstack: Stack, tg: EmulatorClient, zalo: ZaloPeople
) -> None:
    owner = await new_person(tg, "Hải", "Đoàn Văn")
    phone = phone_for(owner)
    await register(tg, owner, group="Khu phố 4", name="Đoàn Văn Hải", phone=phone)
    intruder = await zalo.create_user("Cán bộ phường")
    iid = intruder["id"]
    # Someone the owner gave the code to, believing a caller who said he was an officer.
    sent = await zalo_ask_link(zalo, tg, iid, owner, phone)
    code = re.search(r"\b(\d{6})\b", sent["text"])
    assert code is not None
    await zalo.say(iid, code.group(1), "đã được liên kết")
    told = await tg.wait_for_message(owner["id"], "vừa được liên kết", timeout=WAIT)
    assert "Cán bộ phường" in told["text"]
    await press(tg, owner, told, "Hủy liên kết")
    confirm = await tg.wait_for_message(
        owner["id"],
        lambda m: m["message_id"] == told["message_id"] and "Đồng ý" in str(m.get("reply_markup")),
        timeout=WAIT,
    )
    await press(tg, owner, confirm, "Đồng ý hủy liên kết")
    await tg.wait_for_message(owner["id"], "không còn được liên kết", timeout=WAIT)
    await zalo.wait_for(iid, "không còn được liên kết")
    # The Zalo account is a stranger again: asked to register, with no vote or notices.
    menu = await zalo.say(iid, "0", "Gõ 1 để đăng ký cư trú")
    assert "thông báo hiện hành" not in menu["text"]

    async def persons(session: AsyncSession) -> set[int | None]:
        rows = await session.exec(
            select(ChannelAccount.person_id).where(
                col(ChannelAccount.external_id).in_([str(owner["id"]), iid])
            )
        )
        return set(rows.all())

    assert len(await run_db(zstack.database_url, persons)) == 2


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
    sent = await zalo_ask_link(zalo, tg, uid, person, phone)
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

            async def connected() -> Any:
                return (await zalo.counters())["bots"] or None

            # The demo says it is ready before its Zalo channel has called getMe.
            await wait_until(connected, within=30, what="the demo's Zalo bot connected")
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
        # The emulator posts as Zalo does: {"ok": true, "result": {event_name, message}}.
        user = await zalo.create_user("Webhook Zalo")
        await zalo.say(user["id"], "Xin chào", "Gõ 1 để đăng ký cư trú")
        await zalo.say(user["id"], "1", "tổ dân phố")
        assert (await zalo.counters())["webhook_posts"] >= 2
        # The same wrapped body, posted here with Zalo's secret, is answered too.
        wrapped = {
            "ok": True,
            "result": {
                "event_name": "message.text.received",
                "message": {
                    "message_id": "w2",
                    "date": 1750316131602,
                    "from": {"id": user["id"], "display_name": "Webhook Zalo", "is_bot": False},
                    "chat": {"id": user["id"], "chat_type": "PRIVATE"},
                    "text": "0",
                },
            },
        }
        async with httpx.AsyncClient() as http:
            reply = await http.post(
                f"http://127.0.0.1:{port}/zalo/webhook",
                json=wrapped,
                headers={SECRET_HEADER: SECRET},
            )
            assert reply.status_code == 200
        await zalo.wait_for(user["id"], "Gõ 1 để đăng ký cư trú")
        forged = {
            "ok": True,
            "result": {
                "event_name": "message.text.received",
                "message": {
                    "message_id": "x1",
                    "from": {"id": "777", "display_name": "Forger"},
                    "chat": {"id": "777", "chat_type": "PRIVATE"},
                    "text": "1",
                },
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


# --- the platform's own behaviour: errors, empty polls, quota, files ---------------------------


async def _resident_on_zalo(zalo: ZaloPeople, name: str, group_number: str) -> str:
    user = await zalo.create_user(name)
    await zalo_register(
        zalo,
        user,
        group_number=group_number,
        name=name,
        phone=f"0915 00{next(_phones)}",
        address=f"Số {next(_phones)}, ngõ 6, Lê Lợi",
    )
    return str(user["id"])


async def _rows_for(database_url: str, notice_id: int, chat_id: str) -> list[Delivery]:
    async def work(session: AsyncSession) -> list[Delivery]:
        found = await session.exec(
            select(Delivery).where(
                Delivery.ref_type == notices.KIND,
                Delivery.ref_id == notice_id,
                Delivery.chat_id == chat_id,
            )
        )
        return list(found.all())

    return await run_db(database_url, work)


async def test_a_zalo_403_is_retried_and_the_resident_stays_reachable(
    zstack: Stack, zalo: ZaloPeople
) -> None:
    uid = await _resident_on_zalo(zalo, "Trịnh Văn Lộc", "3")
    # Zalo's "Internal server error" twice for this chat, then it recovers.
    await zalo.fail("sendMessage", 403, times=2, chat_id=uid)
    first = await publish_as_system(
        zstack.database_url, groups=["KP03"], title="Lịch thu gom rác KP3", body="Thứ Bảy."
    )
    second = await publish_as_system(
        zstack.database_url, groups=["KP03"], title="Họp tổ dân phố KP3", body="19 giờ."
    )
    await zalo.wait_for(uid, "Lịch thu gom rác KP3", timeout=40)
    await zalo.wait_for(uid, "Họp tổ dân phố KP3", timeout=40)

    async def settled() -> Any:
        found = await _rows_for(zstack.database_url, first, uid)
        found += await _rows_for(zstack.database_url, second, uid)
        return found if all(r.status == "sent" for r in found) else None

    rows_ = await wait_until(settled, within=20, what="both notices settled as sent")
    assert len(rows_) == 2
    assert sum(r.attempts for r in rows_) == 4  # two of the tries met the 403s

    async def blocked(session: AsyncSession) -> Any:
        account = (
            await session.exec(select(ChannelAccount).where(ChannelAccount.external_id == uid))
        ).one()
        return account.blocked_at

    assert await run_db(zstack.database_url, blocked) is None


async def test_empty_long_polls_are_quiet_and_do_not_slow_the_next_answer(
    zstack: Stack, zalo: ZaloPeople
) -> None:
    before = (await zalo.counters())["poll_timeouts"]

    async def polled() -> Any:
        return (await zalo.counters())["poll_timeouts"] >= before + 2 or None

    # Polls of 2 s: two empty ones (Zalo's 408) within a few seconds.
    await wait_until(polled, within=20, what="two empty long polls")
    user = await zalo.create_user("Sau khi chờ")
    await zalo.say(user["id"], "Xin chào", "Gõ 1 để đăng ký cư trú")
    logs = zstack.logs()
    assert "getUpdates failed" not in logs and "Request timeout" not in logs


async def test_a_used_up_quota_waits_longer_and_longer_and_the_admin_is_told(
    zstack: Stack, tg: EmulatorClient, zalo: ZaloPeople
) -> None:
    admin = await new_person(tg, "Thủy", "Lưu Thị")
    await become(tg, admin, zstack.database_url, Role.ADMIN)
    uid = await _resident_on_zalo(zalo, "Mai Văn Tiến", "9")
    await zalo.set_quota(0)
    try:
        notice = await publish_as_system(
            zstack.database_url, groups=["KP09"], title="Lịch tiêm chủng KP9", body="Sáng mai."
        )
        report = await tg.wait_for_message(admin["id"], "Zalo đang từ chối", timeout=40)
        assert "429" in report["text"]

        async def waiting() -> Any:
            (row,) = await _rows_for(zstack.database_url, notice, uid)
            return row if row.status == "pending" and row.attempts >= 2 else None

        # Each refusal was counted, and none dropped the message.
        row = await wait_until(waiting, within=20, what="the notice waiting, tries counted")
        assert "Quota exceeded" in (row.error or "")
        refused = (await zalo.counters())["quota_exceeded"]
        # Growing waits: far fewer tries than one a second.
        assert refused <= 6
    finally:
        await zalo.set_quota(None)
    await zalo.wait_for(uid, "Lịch tiêm chủng KP9", timeout=60)
    await tg.wait_for_message(admin["id"], "Zalo đã nhận lại", timeout=WAIT)


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


async def test_a_notices_pdf_reaches_a_zalo_resident_by_a_signed_expiring_link(
    zstack: Stack, zalo: ZaloPeople
) -> None:
    uid = await _resident_on_zalo(zalo, "Kiều Thị Hạnh", "4")
    picture = make_png(40, 30)

    async def publish(session: AsyncSession) -> int:
        ward = await get_ward_by_code(session, "BADINH")
        group = await find_group(session, "KP04")
        pdf = await files.save(session, data=PDF, filename="Kế hoạch tiêm chủng.pdf")
        png = await files.save(session, data=picture, filename="so-do.png")
        made = await notices.publish(
            session,
            None,
            ward_id=ward.id,  # type: ignore[arg-type]
            group_ids=[group.id],  # type: ignore[list-item]
            category_code="khac",
            title="Kế hoạch tiêm chủng KP4",
            body="Xem kế hoạch và sơ đồ đính kèm.",
            attachment_ids=[pdf.id, png.id],  # type: ignore[list-item]
            publisher_label="UBND phường",
        )
        return made.id  # type: ignore[return-value]

    await run_db(zstack.database_url, publish)
    text = await zalo.wait_for(uid, "Kế hoạch tiêm chủng KP4")
    link = re.search(r"Kế hoạch tiêm chủng\.pdf: (\S+)", text["text"])
    assert link, text["text"]
    url = link.group(1)
    async with httpx.AsyncClient() as http:
        got = await http.get(url)
        assert got.status_code == 200 and got.content == PDF
        assert got.headers["content-type"].startswith("application/pdf")
        # Altered, or signed for a time already past: refused, without a word why.
        base, file_id, expires, signature = url.rsplit("/", 3)
        flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
        for bad in (
            f"{base}/{file_id}/{expires}/{flipped}",
            f"{base}/{file_id}/{int(expires) + 1}/{signature}",
        ):
            refused = await http.get(bad)
            assert refused.status_code == 404 and refused.text == "Not Found"
        links_ = FileLinks(base.removesuffix("/files"), derive_key(ZALO_TOKEN))
        past = links_.url(int(file_id), clock.now() - timedelta(hours=25))
        assert (
            links_.check(int(file_id), int(past.rsplit("/", 2)[1]), past.rsplit("/", 1)[1]) is False
        )
        expired = await http.get(past)
        assert expired.status_code == 404 and expired.text == "Not Found"
    # The picture went by sendPhoto: Zalo fetched it (twice) from the bot's own server.
    photo = await zalo.wait_for(uid, "", photo=True)
    assert photo["photo_sha256"] == hashlib.sha256(picture).hexdigest()
    assert photo["photo_size"] == [40, 30]
    # Reading the notice again from the menu gives fresh links.
    menu = await zalo.say(uid, "0", "xem thông báo hiện hành")
    number = re.search(r"Gõ (\d) để xem thông báo hiện hành", menu["text"])
    assert number, menu["text"]
    listing = await zalo.say(uid, number.group(1), "Kế hoạch tiêm chủng KP4")
    pick = re.search(r"(\d)\. [^\n]*Kế hoạch tiêm chủng KP4", listing["text"])
    assert pick, listing["text"]
    again = await zalo.say(uid, pick.group(1), "Kế hoạch tiêm chủng.pdf: http")
    assert "/files/" in again["text"]


async def test_the_logs_of_a_zalo_run_never_show_its_token(zstack: Stack, zalo: ZaloPeople) -> None:
    user = await zalo.create_user("Nhật ký")
    await zalo.say(user["id"], "Xin chào", "Gõ 1 để đăng ký cư trú")
    logs = zstack.logs()
    assert "Zalo channel is running" in logs
    assert ZALO_TOKEN not in logs and ZALO_TOKEN.split(":")[1] not in logs
    assert zstack.token.split(":")[1] not in logs
