"""Disclosure notices through the real bot: publish, receive, read, browse, search, edit,
withdraw, a blocked resident, 429s and a crash in the middle of a broadcast."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.emulator import EmulatorClient, EmulatorLimits
from bot.emulator.media import make_png
from bot.models import (
    ChannelAccount,
    Delivery,
    DeliveryStatus,
    Household,
    Notice,
    Person,
    Resident,
    Role,
)
from bot.services import notices
from bot.services.wards import find_group, get_ward_by_code
from tests.e2e.conftest import Stack
from tests.e2e.harness import run_db
from tests.e2e.journeys import (
    WAIT,
    become,
    button,
    buttons,
    new_person,
    press,
    register,
    settled_deliveries,
    wait_until,
)

Json = dict[str, Any]
PDF = b"%PDF-1.4\n% wardbot test\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
MENU = "📢 Thông báo"


# --- helpers ------------------------------------------------------------------------------


async def seed_residents(database_url: str, users: list[Json], group_code: str) -> None:
    """Residents as the leader's household list would make them (verified), for users
    who may or may not have written to the bot yet."""

    async def work(session: AsyncSession) -> None:
        group = await find_group(session, group_code)
        for user in users:
            uid = str(user["id"])
            account = (
                await session.exec(select(ChannelAccount).where(ChannelAccount.external_id == uid))
            ).first()
            if account is None:
                person = Person(full_name=user["first_name"], language="vi")
                session.add(person)
                await session.flush()
                session.add(
                    ChannelAccount(
                        person_id=person.id, channel="telegram", external_id=uid, chat_id=uid
                    )
                )
                person_id = person.id
            else:
                person_id = account.person_id
            household = Household(
                group_id=group.id, address=f"Số {uid}", address_key=f"so {uid}", verified=True
            )
            session.add(household)
            await session.flush()
            session.add(
                Resident(
                    person_id=person_id,
                    ward_id=group.ward_id,
                    group_id=group.id,
                    household_id=household.id,
                    is_representative=True,
                    status="verified",
                )
            )
        await session.flush()

    await run_db(database_url, work)


async def publish_as_system(database_url: str, **values: Any) -> int:
    async def work(session: AsyncSession) -> int:
        ward = await get_ward_by_code(session, "BADINH")
        group_ids = None
        if "groups" in values:
            group_ids = [(await find_group(session, c)).id for c in values.pop("groups")]
        notice = await notices.publish(
            session,
            None,
            ward_id=ward.id,  # type: ignore[arg-type]
            group_ids=group_ids,  # type: ignore[arg-type]
            category_code=values.pop("category_code", "khac"),
            publisher_label="UBND phường (thử nghiệm)",
            **values,
        )
        return notice.id  # type: ignore[return-value]

    return await run_db(database_url, work)


async def started_users(people: EmulatorClient, count: int, prefix: str) -> list[Json]:
    """People who opened the bot (/start), so the bot may write to them. The bot's own
    replies do not wait out a 429, so these many /start are paced under Telegram's limit."""
    users = []
    for i in range(count):
        user = await people.create_user(f"{prefix}{i}", last_name="Thử")
        await people.send_command(user["id"], "start")
        users.append(user)
        if count > 10:
            await asyncio.sleep(0.05)
    for user in users:
        await people.wait_for_message(user["id"], "Choose your language", timeout=WAIT)
    return users


def notice_messages(messages: list[Json], title: str) -> list[Json]:
    return [m for m in messages if m["from_bot"] and title in (m.get("text") or "")]


async def counts_per_chat(people: EmulatorClient, users: list[Json], title: str) -> list[int]:
    return [len(notice_messages(await people.messages(u["id"]), title)) for u in users]


async def delivery_rows(database_url: str, notice_id: int) -> list[Delivery]:
    async def work(session: AsyncSession) -> list[Delivery]:
        return list(
            (
                await session.exec(
                    select(Delivery).where(
                        Delivery.ref_type == "notice", Delivery.ref_id == notice_id
                    )
                )
            ).all()
        )

    return await run_db(database_url, work)


async def settled_rows(database_url: str, notice_id: int) -> list[Delivery]:
    return await settled_deliveries(database_url, ref=(notices.KIND, notice_id))


async def open_menu(people: EmulatorClient, user: Json) -> Json:
    await people.send_text(user["id"], MENU)
    return await people.wait_for_message(
        user["id"],
        lambda m: (m.get("text") or "").startswith(("📢 Thông báo đang niêm yết", "📋")),
        timeout=WAIT,
    )


# --- publishing, receiving, reading --------------------------------------------------------


async def test_a_leader_publishes_with_a_pdf_and_sees_it_delivered_and_read(
    stack: Stack, people: EmulatorClient
) -> None:
    leader = await new_person(people, "Lan", "Ngô Thị")
    await become(people, leader, stack.database_url, Role.LEADER, unit="KP08")
    lid = leader["id"]
    # The group's own chat, linked with /link.
    chat = await people.create_group("Khu phố 8 - Thông tin chung", members=[lid, stack.bot_id])
    await people.send_command(lid, "link", chat_id=chat["id"])
    pick = await people.wait_for_message(chat["id"], lambda m: bool(buttons(m)), timeout=WAIT)
    await press(people, leader, pick, "Khu phố 8")
    await people.wait_for_message(chat["id"], "✅", timeout=WAIT)

    residents = [await new_person(people, f"Dân{i}", "Phan Văn") for i in range(3)]
    for i, resident in enumerate(residents):
        await register(people, resident, group="Khu phố 8", name=f"Phan Văn Dân {i}")
    outsider = await new_person(people, "Khác", "Lý Văn")
    await register(people, outsider, group="Khu phố 9", name="Lý Văn Khác")

    listing = await open_menu(people, leader)
    await press(people, leader, listing, "Thông báo mới")
    categories = await people.wait_for_message(lid, "Điều 11", timeout=WAIT)
    await press(people, leader, categories, "Dự toán, quyết toán ngân sách")
    await people.wait_for_message(lid, "Tiêu đề của thông báo", timeout=WAIT)
    title = "Công khai dự toán thu chi quỹ khu phố 8 năm 2027"
    await people.send_text(lid, title)
    await people.wait_for_message(lid, "nội dung thông báo", timeout=WAIT)
    # A long text in two messages: residents get it split at word boundaries.
    words = [f"khoản{n} chi phí" for n in range(600)]
    pieces = [" ".join(words[i : i + 200]) + "." for i in range(0, 600, 200)]
    pieces[-1] += " Hết."
    assert sum(len(p) for p in pieces) > 2 * 4096
    for piece in pieces:
        await people.send_text(lid, piece)
        progress = await people.wait_for_message(lid, "Nội dung hiện có", timeout=WAIT)
    await press(people, leader, progress, "Đã đủ nội dung")
    await people.wait_for_message(lid, "tệp PDF", timeout=WAIT)
    await people.send_document(lid, PDF, "du-toan-2027.pdf", mime_type="application/pdf")
    attached = await people.wait_for_message(lid, "Đã đính kèm", timeout=WAIT)
    await press(people, leader, attached, "Tiếp tục")
    confirm = await people.wait_for_message(lid, "Đăng thông báo đến", timeout=WAIT)
    preview = notice_messages(await people.messages(lid), f"📢 {title}")
    assert preview and "Trưởng Khu phố 8" in preview[0]["text"]
    await press(people, leader, confirm, "Đăng thông báo")
    published = await people.wait_for_message(lid, "Đã đăng", timeout=WAIT)
    assert "3 người dân" in published["text"]

    for resident in residents:
        rid = resident["id"]
        await people.wait_for_message(rid, lambda m: bool(m.get("document")), timeout=WAIT)
        got = [m for m in await people.messages(rid) if m["from_bot"]]
        texts = [m for m in got if m.get("text") and ("khoản" in m["text"] or title in m["text"])]
        assert len(texts) == 3, [m.get("text", "")[:40] for m in got]
        assert all(len(m["text"]) <= 4096 for m in texts)
        joined = " ".join(m["text"] for m in texts)
        assert all(w in joined for w in ("khoản0 ", "khoản299 ", "khoản599 ", "Hết."))
        # Never cut inside a word: every "khoảnN chi phí" is whole.
        assert len(re.findall(r"khoản\d+ chi phí", joined)) == 600
        assert buttons(texts[0]) == buttons(texts[1]) == []
        assert "Đã đọc" in buttons(texts[2])[0]["text"]
        assert got[-1]["document"]["file_name"] == "du-toan-2027.pdf"
    in_group = await people.wait_for_message(chat["id"], title, timeout=WAIT)
    assert "Lĩnh vực" in in_group["text"] and buttons(in_group) == []
    # Three text parts and the file, at most 20 messages a minute in a group.
    await people.wait_for_message(chat["id"], lambda m: bool(m.get("document")), timeout=90)
    assert not notice_messages(await people.messages(outsider["id"]), title)

    # Two residents confirm reading; pressing again says it is already recorded.
    read_buttons = {}
    for resident in residents[:2]:
        message = next(
            m for m in await people.messages(resident["id"]) if buttons(m) and "khoản" in m["text"]
        )
        read_buttons[resident["id"]] = message
        first_press = await press(people, resident, message, "Đã đọc")
        assert "Cảm ơn" in (await people.callback_answer(first_press))["text"]
    again = await press(people, residents[0], read_buttons[residents[0]["id"]], "Đã đọc")
    assert "trước đó" in (await people.callback_answer(again))["text"]

    # Once every outbox row of the notice has its outcome, the figures are final.
    async def notice_id(session: AsyncSession) -> int:
        found = await session.exec(select(Notice.id).where(Notice.title == title))
        return found.one()  # type: ignore[return-value]

    await settled_rows(stack.database_url, await run_db(stack.database_url, notice_id))
    await press(people, leader, published, "Tình hình gửi")
    stats = await people.wait_for_message(lid, "Tình hình gửi “", timeout=WAIT)
    assert "Đã gửi: 3" in stats["text"], stats["text"]
    assert "Đã đọc (bấm ✅): 2" in stats["text"]
    assert "Khu phố 8: đã gửi 3/3, đã đọc 2" in stats["text"]
    assert "nhóm chat: đã gửi" in stats["text"]


async def test_residents_browse_search_and_read_the_archive(
    stack: Stack, people: EmulatorClient
) -> None:
    resident = await new_person(people, "Mai", "Trịnh Thị")
    await register(people, resident, group="Khu phố 9", name="Trịnh Thị Mai")
    rid = resident["id"]
    current = await publish_as_system(
        stack.database_url,
        groups=["KP09"],
        title="Thông báo lịch tiêm chủng mở rộng tháng 12",
        body="Trạm y tế phường tổ chức tiêm chủng vào thứ Bảy.",
    )
    expired = await publish_as_system(
        stack.database_url,
        groups=["KP09"],
        title="Thông báo thu phí vệ sinh quý III",
        body="Đã hết hạn nộp.",
    )
    withdrawn = await publish_as_system(
        stack.database_url,
        groups=["KP09"],
        title="Lịch cắt điện khu phố 9",
        body="Cắt điện từ 8 giờ đến 17 giờ.",
    )

    async def age(session: AsyncSession) -> None:
        past = clock.now() - timedelta(days=40)
        await session.exec(
            update(Notice)
            .where(col(Notice.id) == expired)
            .values(published_at=past, expires_at=past + timedelta(days=30))
        )
        await notices.withdraw(session, None, withdrawn, reason="Điện lực đã hoãn lịch cắt")

    await run_db(stack.database_url, age)

    listing = await open_menu(people, resident)
    assert "Thông báo lịch tiêm chủng" in listing["text"]
    assert "thu phí vệ sinh" not in listing["text"] and "cắt điện" not in listing["text"]
    await press(people, resident, listing, "Lưu trữ")
    archive = await people.wait_for_message(rid, "Lưu trữ:", timeout=WAIT)
    assert "thu phí vệ sinh" in archive["text"] and "hết hạn" in archive["text"]
    assert "Lịch cắt điện" in archive["text"] and "đã thu hồi" in archive["text"]
    await press(people, resident, archive, "Lịch cắt điện")
    shown = await people.wait_for_message(rid, "Đã thu hồi", timeout=WAIT)
    assert "Điện lực đã hoãn lịch cắt" in shown["text"]

    await press(people, resident, archive, "Tìm kiếm")
    await people.wait_for_message(rid, "từ khóa", timeout=WAIT)
    await people.send_text(rid, "tiem chung")
    found = await people.wait_for_message(rid, "Thông báo có", timeout=WAIT)
    assert "lịch tiêm chủng" in found["text"] and "vệ sinh" not in found["text"]
    await press(people, resident, found, "lịch tiêm chủng")
    opened = await people.wait_for_message(rid, "Trạm y tế phường", timeout=WAIT)
    assert "UBND phường (thử nghiệm)" in opened["text"]
    assert any("Đã đọc" in b["text"] for b in buttons(opened))
    assert current


# --- editing and withdrawing ---------------------------------------------------------------


async def test_the_publisher_edits_without_a_second_broadcast_then_withdraws(
    stack: Stack, people: EmulatorClient
) -> None:
    leader = await new_person(people, "Tâm", "Đinh Văn")
    await become(people, leader, stack.database_url, Role.LEADER, unit="KP10")
    lid = leader["id"]
    resident = await new_person(people, "Hoa", "Mạc Thị")
    await register(people, resident, group="Khu phố 10", name="Mạc Thị Hoa")
    rid = resident["id"]

    async def work(session: AsyncSession) -> int:
        ward = await get_ward_by_code(session, "BADINH")
        group = await find_group(session, "KP10")
        from bot.services.people import load_actor

        actor = await load_actor(session, "telegram", str(lid))
        notice = await notices.publish(
            session,
            actor,
            ward_id=ward.id,  # type: ignore[arg-type]
            group_ids=[group.id],  # type: ignore[list-item]
            category_code="dong-gop",
            title="Vận động đóng góp sửa nhà văn hóa",
            body="Mức đóng góp tự nguyện.",
        )
        return notice.id  # type: ignore[return-value]

    notice_id = await run_db(stack.database_url, work)
    await people.wait_for_message(rid, "Vận động đóng góp", timeout=WAIT)
    sent = len(await settled_rows(stack.database_url, notice_id))

    listing = await open_menu(people, leader)
    await press(people, leader, listing, "Thông báo của tôi")
    mine = await people.wait_for_message(lid, "do bạn quản lý", timeout=WAIT)
    await press(people, leader, mine, "Vận động đóng góp")
    opened = await people.wait_for_message(
        lid, lambda m: any("Sửa" in b["text"] for b in buttons(m)), timeout=WAIT
    )
    await press(people, leader, opened, "Sửa")
    which = await people.wait_for_message(lid, "Bạn muốn sửa gì", timeout=WAIT)
    await press(people, leader, which, "Tiêu đề")
    await people.wait_for_message(lid, "tiêu đề mới", timeout=WAIT)
    await people.send_text(lid, "Vận động đóng góp sửa nhà văn hóa (điều chỉnh)")
    await people.wait_for_message(lid, "Đã cập nhật lúc", timeout=WAIT)

    # The edit was committed before the leader was told; a second broadcast would be new
    # outbox rows now. None: and with every row sent, the chat holds all it will get.
    assert len(await settled_rows(stack.database_url, notice_id)) == sent
    assert len(notice_messages(await people.messages(rid), "Vận động đóng góp")) == 1
    listing = await open_menu(people, resident)
    assert "(điều chỉnh)" in listing["text"] and "đã cập nhật" in listing["text"]

    await press(people, leader, opened, "Thu hồi")
    await people.wait_for_message(lid, "Vì sao thu hồi", timeout=WAIT)
    await people.send_text(lid, "Chờ họp dân thống nhất mức đóng góp")
    sure = await people.wait_for_message(lid, "Thu hồi thông báo với lý do", timeout=WAIT)
    await press(people, leader, sure, "Đồng ý thu hồi")
    await people.wait_for_message(lid, "đã được thu hồi", timeout=WAIT)
    listing = await open_menu(people, resident)
    assert "Vận động đóng góp" not in listing["text"]
    await press(people, resident, listing, "Lưu trữ")
    archive = await people.wait_for_message(rid, "Lưu trữ:", timeout=WAIT)
    assert "(điều chỉnh)" in archive["text"] and "đã thu hồi" in archive["text"]

    # Someone else's forged edit button changes nothing.
    other = await new_person(people, "Sơn", "Kiều Văn")
    await become(people, other, stack.database_url, Role.LEADER, unit="KP07")
    data = button(opened, "Sửa")
    own = await people.messages(other["id"])
    forged = await people.press(other["id"], own[-1]["message_id"], data, forge=True)
    assert "không tồn tại" in (await people.callback_answer(forged))["text"]


async def test_bad_input_and_cancelling_store_nothing(stack: Stack, people: EmulatorClient) -> None:
    leader = await new_person(people, "Quang", "Tạ Văn")
    await become(people, leader, stack.database_url, Role.LEADER, unit="KP07")
    lid = leader["id"]

    async def count(session: AsyncSession) -> int:
        return (await session.exec(select(func.count()).select_from(Notice))).one()

    before = await run_db(stack.database_url, count)
    listing = await open_menu(people, leader)
    await press(people, leader, listing, "Thông báo mới")
    categories = await people.wait_for_message(lid, "Điều 11", timeout=WAIT)
    # A forged category from another ward's list, and a made-up group toggle.
    junk = await people.press(lid, categories["message_id"], "nc:cat:999999", forge=True)
    assert "không còn hiệu lực" in (await people.callback_answer(junk))["text"]
    await press(people, leader, categories, "Lịch tiếp công dân")
    await people.wait_for_message(lid, "Tiêu đề của thông báo", timeout=WAIT)
    await people.send_photo(lid, make_png(4, 4))
    assert "tin nhắn chữ" in (await people.wait_for_message(lid, timeout=WAIT))["text"]
    await people.send_text(lid, "T" * 300)
    assert "quá dài" in (await people.wait_for_message(lid, timeout=WAIT))["text"]
    await people.send_text(lid, "Lịch tiếp công dân tháng 1")
    await people.wait_for_message(lid, "nội dung thông báo", timeout=WAIT)
    await people.send_text(lid, "Chủ tịch tiếp công dân sáng thứ Năm.")
    progress = await people.wait_for_message(lid, "Nội dung hiện có", timeout=WAIT)
    await press(people, leader, progress, "Đã đủ nội dung")
    await people.wait_for_message(lid, "tệp PDF", timeout=WAIT)
    await people.send_document(
        lid, b"MZ\x90\x00", "virus.exe", mime_type="application/x-msdownload"
    )
    assert "chỉ được đính kèm tệp PDF" in (await people.wait_for_message(lid, timeout=WAIT))["text"]
    await people.send_text(lid, "❌ Hủy thông báo")
    assert "Đã hủy" in (await people.wait_for_message(lid, timeout=WAIT))["text"]
    assert await run_db(stack.database_url, count) == before
    # A button of the cancelled wizard no longer works.
    stale = await people.press(lid, progress["message_id"], button(progress, "Đã đủ"), forge=True)
    assert "không còn hiệu lực" in (await people.callback_answer(stale))["text"]
    # A resident is not offered publishing, and a forged "new notice" is refused.
    resident = await new_person(people, "Yến", "Tạ Thị")
    await register(people, resident, group="Khu phố 7", name="Tạ Thị Yến")
    own = await open_menu(people, resident)
    assert not any("Thông báo mới" in b["text"] for b in buttons(own))
    forged = await people.press(resident["id"], own["message_id"], "nc:new:0", forge=True)
    assert "Chỉ cán bộ" in (await people.callback_answer(forged))["text"]


# --- the broadcaster under stress -----------------------------------------------------------


async def own_stack(
    bot_factory: Callable[..., Stack], limits: EmulatorLimits | None, **env: str
) -> Stack:
    """A private emulator and bot (started off the event loop: it blocks while it waits)."""
    private = await asyncio.to_thread(bot_factory, limits)
    await asyncio.to_thread(private.bot.stop)
    private.bot.env.update(env)
    await asyncio.to_thread(private.bot.start)
    return private


async def test_a_blocked_resident_is_skipped_and_counted(
    stack: Stack, people: EmulatorClient
) -> None:
    users = await started_users(people, 3, "Chặn")
    never = await people.create_user("Chưa mở bot", last_name="Vũ")
    await seed_residents(stack.database_url, [*users, never], "KP07")
    # One blocks the bot; wardbot learns it from Telegram's my_chat_member update.
    await people.block(users[0]["id"])

    async def blocked(session: AsyncSession) -> bool:
        account = (
            await session.exec(
                select(ChannelAccount).where(ChannelAccount.external_id == str(users[0]["id"]))
            )
        ).one()
        return account.blocked_at is not None

    await wait_until(lambda: run_db(stack.database_url, blocked), what="the block")
    notice_id = await publish_as_system(
        stack.database_url, groups=["KP07"], title="Thông báo họp tổ dân phố 7", body="Họp."
    )
    for user in users[1:]:
        await people.wait_for_message(user["id"], "họp tổ dân phố 7", timeout=WAIT)

    rows = await settled_rows(stack.database_url, notice_id)
    by_chat = {r.chat_id: r.status for r in rows}
    assert by_chat[str(users[0]["id"])] == DeliveryStatus.BLOCKED
    # Never opened the bot: Telegram answers 403, wardbot stops writing to them.
    assert by_chat[str(never["id"])] == DeliveryStatus.BLOCKED
    assert not notice_messages(await people.messages(users[0]["id"]), "họp tổ dân phố 7")

    async def stats(session: AsyncSession) -> notices.NoticeStats:
        return await notices.stats(session, None, notice_id)

    assert (await run_db(stack.database_url, stats)).total.blocked >= 2


async def test_429s_are_waited_out_and_nothing_is_lost_or_doubled(
    bot_factory: Callable[..., Stack],
) -> None:
    private = await own_stack(
        bot_factory, None, WARDBOT_DELIVERY_RATE="40", WARDBOT_DELIVERY_BURST="40"
    )
    async with EmulatorClient(private.emulator.base_url, timeout=30) as people:
        users = await started_users(people, 25, "Nhanh")
        await seed_residents(private.database_url, users, "KP03")
        # Telegram allows 5 messages a second now; the bot was told it may send 40.
        await people.set_limits(global_per_second=5)
        await people.reset_counters()
        title = "Thông báo khẩn: kiểm tra 429"
        notice_id = await publish_as_system(
            private.database_url, groups=["KP03"], title=title, body="Nội dung.", urgent=True
        )
        rows = await settled_rows(private.database_url, notice_id)
        assert {r.status for r in rows} == {DeliveryStatus.SENT}
        counts = await counts_per_chat(people, users, title)
        assert counts == [1] * len(users)
        assert (await people.counters())["http_429"] >= 1


async def test_killed_mid_broadcast_every_resident_gets_it_once_except_those_in_flight(
    bot_factory: Callable[..., Stack],
) -> None:
    private = await own_stack(bot_factory, None, WARDBOT_DELIVERY_RATE="25")
    async with EmulatorClient(private.emulator.base_url, timeout=30) as people:
        users = await started_users(people, 150, "Dân")
        await seed_residents(private.database_url, users, "KP05")
        title = "Thông báo tổng vệ sinh môi trường cuối tuần"
        baseline = (await people.counters())["messages_sent"]
        notice_id = await publish_as_system(
            private.database_url, groups=["KP05"], title=title, body="Toàn dân tham gia."
        )

        async def some_sent() -> bool:
            return (await people.counters())["messages_sent"] - baseline >= 50

        await wait_until(some_sent, every=0.02, what="the broadcast to start")
        await asyncio.to_thread(private.bot.kill)  # SIGKILL, mid-broadcast
        at_kill = await counts_per_chat(people, users, title)
        assert 0 < sum(at_kill) < len(users), "the kill did not land mid-broadcast"

        log_offset = private.bot.log_path.stat().st_size
        await asyncio.to_thread(private.bot.start)

        async def everyone() -> bool:
            return min(await counts_per_chat(people, users, title)) >= 1

        await wait_until(everyone, within=120, every=0.5, what="every resident")
        rows = await settled_rows(private.database_url, notice_id)
        counts = await counts_per_chat(people, users, title)
        in_doubt = sum(r.in_doubt for r in rows)
        duplicates = sum(c - 1 for c in counts)
        assert min(counts) == 1, "someone never got the notice"
        assert duplicates <= in_doubt, (duplicates, in_doubt)
        # Only what was in flight at the kill: a fraction of a second of sending.
        assert in_doubt <= 30
        assert all(r.status == DeliveryStatus.SENT for r in rows)
        log = private.bot.log_since(log_offset)
        if in_doubt:
            assert f"{in_doubt} outbox messages were in flight" in log

        async def stats(session: AsyncSession) -> notices.NoticeStats:
            return await notices.stats(session, None, notice_id)

        total = (await run_db(private.database_url, stats)).total
        assert (total.sent, total.in_doubt) == (len(users), in_doubt)
