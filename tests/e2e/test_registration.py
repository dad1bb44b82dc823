"""A resident registers and the group leader approves — through the real bot over HTTP."""

from __future__ import annotations

import csv
import io

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.emulator import EmulatorClient
from bot.emulator.media import make_png
from bot.models import Role
from bot.services.people import load_actor
from tests.e2e.conftest import Stack
from tests.e2e.harness import run_db
from tests.e2e.journeys import WAIT, become, button, buttons, new_person, phone_for, press, register


async def test_resident_registers_in_vietnamese_and_the_leader_approves(
    stack: Stack, people: EmulatorClient
) -> None:
    leader = await new_person(people, "Bình", "Trần Thị")
    granted = await become(people, leader, stack.database_url, Role.LEADER, unit="KP02")
    assert "tổ trưởng tổ dân phố của Khu phố 2" in granted["text"]

    resident = await new_person(people, "Cường", "Lê Văn")
    done = await register(
        people, resident, group="Khu phố 2", name="Lê Văn Cường", address="Số 7, ngõ 3, Lê Lợi"
    )
    assert "đã được gửi tới tổ trưởng Khu phố 2" in done["text"]
    keyboard = await people.reply_keyboard(resident["id"])
    assert keyboard is not None
    labels = [b["text"] for row in keyboard["keyboard"] for b in row]
    assert "⚙️ Cài đặt" in labels

    request = await people.wait_for_message(leader["id"], "Yêu cầu đăng ký", timeout=WAIT)
    assert "Lê Văn Cường" in request["text"] and "Số 7, ngõ 3, Lê Lợi" in request["text"]
    assert "hộ mới" in request["text"]
    answer_id = await press(people, leader, request, "Duyệt")
    assert (await people.callback_answer(answer_id))["text"] == "Đã xong."
    decided = await people.wait_for_message(leader["id"], "Đã được", timeout=WAIT)
    assert buttons(decided) == []
    # The leader's name as Telegram shows it, taken when they accepted the invitation.
    assert "✅ Đã được Bình Trần Thị duyệt." in decided["text"], decided["text"]

    approved = await people.wait_for_message(resident["id"], "đã được duyệt", timeout=WAIT)
    assert "Khu phố 2" in approved["text"]


async def test_an_english_speaker_registers_in_english(
    stack: Stack, people: EmulatorClient
) -> None:
    resident = await new_person(people, "Mary", "Smith", language_code="en")
    done = await register(people, resident, group="Khu phố 3", name="Mary Smith", language="en")
    assert "Thank you" in done["text"]


async def test_the_leader_rejects_only_after_confirming(
    stack: Stack, people: EmulatorClient
) -> None:
    leader = await new_person(people, "Dũng", "Phạm Văn")
    await become(people, leader, stack.database_url, Role.LEADER, unit="KP04")

    async def forget_name(session: AsyncSession) -> None:
        # As for a leader invited before names were taken from Telegram.
        actor = await load_actor(session, "telegram", str(leader["id"]))
        assert actor.person is not None and actor.person.full_name == "Dũng Phạm Văn"
        actor.person.full_name = None
        session.add(actor.person)

    await run_db(stack.database_url, forget_name)
    resident = await new_person(people, "Em", "Hoàng Thị")
    await register(people, resident, group="Khu phố 4", name="Hoàng Thị Em")
    request = await people.wait_for_message(leader["id"], "Yêu cầu đăng ký", timeout=WAIT)
    await press(people, leader, request, "Từ chối")
    confirm = await people.wait_for_message(
        leader["id"], lambda m: any("Đồng ý từ chối" in b["text"] for b in buttons(m)), timeout=WAIT
    )
    await press(people, leader, confirm, "Đồng ý từ chối")
    decided = await people.wait_for_message(leader["id"], "Đã bị", timeout=WAIT)
    # Their next press gave them Telegram's name again, so the card says who decided.
    assert "❌ Đã bị Dũng Phạm Văn từ chối." in decided["text"], decided["text"]
    rejected = await people.wait_for_message(resident["id"], "chưa được duyệt", timeout=WAIT)
    assert "/start" in rejected["text"]


async def test_someone_else_cannot_decide_and_forged_buttons_change_nothing(
    stack: Stack, people: EmulatorClient
) -> None:
    leader = await new_person(people, "Giang", "Vũ Văn")
    await become(people, leader, stack.database_url, Role.LEADER, unit="KP05")
    resident = await new_person(people, "Hải", "Đỗ Văn")
    await register(people, resident, group="Khu phố 5", name="Đỗ Văn Hải")
    request = await people.wait_for_message(leader["id"], "Yêu cầu đăng ký", timeout=WAIT)
    data = button(request, "Duyệt")

    # The resident forges the leader's button in their own chat.
    own = await people.messages(resident["id"])
    forged = await people.press(resident["id"], own[-1]["message_id"], data, forge=True)
    assert "không có quyền" in (await people.callback_answer(forged))["text"]
    # Garbage callback data.
    junk = await people.press(resident["id"], own[-1]["message_id"], "rd:abc:approve", forge=True)
    assert "không còn hiệu lực" in (await people.callback_answer(junk))["text"]
    # Still pending: the real leader can decide.
    await press(people, leader, request, "Duyệt")
    await people.wait_for_message(resident["id"], "đã được duyệt", timeout=WAIT)


async def test_bad_input_gets_a_clear_answer_and_changes_nothing(
    stack: Stack, people: EmulatorClient
) -> None:
    user = await new_person(people, "Khánh", "Bùi Văn")
    uid = user["id"]
    await people.send_command(uid, "start")
    await press(
        people, user, await people.wait_for_message(uid, "Choose", timeout=WAIT), "Tiếng Việt"
    )
    groups = await people.wait_for_message(uid, "tổ dân phố", timeout=WAIT)
    await press(people, user, groups, "Khu phố 6")
    await people.wait_for_message(uid, "Họ và tên", timeout=WAIT)

    await people.send_text(uid, "😀😀😀")
    assert "bằng chữ" in (await people.wait_for_message(uid, timeout=WAIT))["text"]
    await people.send_text(uid, "\u200b\u200b")
    assert "trống" in (await people.wait_for_message(uid, timeout=WAIT))["text"]
    await people.send_photo(uid, make_png(4, 4))
    assert "tin nhắn chữ" in (await people.wait_for_message(uid, timeout=WAIT))["text"]
    await people.send_text(uid, "Bùi Văn Khánh")
    await people.wait_for_message(uid, "chia sẻ số điện thoại", timeout=WAIT)

    other = {"phone_number": "+84987654321", "first_name": "Someone", "user_id": uid + 1}
    await people.share_contact(uid, contact=other)
    assert "của chính bạn" in (await people.wait_for_message(uid, timeout=WAIT))["text"]
    await people.send_text(uid, "0987654321")
    assert "thay vì gõ số" in (await people.wait_for_message(uid, timeout=WAIT))["text"]
    await people.share_contact(uid, phone_number=phone_for(user))
    await people.wait_for_message(uid, "Địa chỉ", timeout=WAIT)

    # Telegram splits a pasted 5,000-character text into messages of at most 4,096.
    await people.send_text(uid, "x" * 4096)
    too_long = await people.wait_for_message(uid, timeout=WAIT)
    assert "tối đa 200 ký tự" in too_long["text"] and "4096" in too_long["text"]
    await people.send_text(uid, "Số 1, ngõ 9")
    summary = await people.wait_for_message(uid, "kiểm tra thông tin", timeout=WAIT)
    assert "Bùi Văn Khánh" in summary["text"]


async def test_commands_meant_for_a_private_chat_are_refused_in_a_group(
    stack: Stack, people: EmulatorClient
) -> None:
    user = await new_person(people, "Lan", "Ngô Thị")
    group = await people.create_group(
        "Tổ dân phố số 6 — Zalo cũ", members=[{"user_id": user["id"], "status": "creator"}]
    )
    await people.add_bot_to_group(group["id"], by_user_id=user["id"])
    await people.send_command(user["id"], "settings", chat_id=group["id"])
    reply = await people.wait_for_message(group["id"], "nhắn riêng", timeout=WAIT)
    assert any(b.get("url") for b in buttons(reply))


async def test_the_household_list_verifies_a_listed_resident_at_once(
    stack: Stack, people: EmulatorClient
) -> None:
    leader = await new_person(people, "Minh", "Đặng Văn")
    await become(people, leader, stack.database_url, Role.LEADER, unit="KP07")
    resident = await new_person(people, "Nga", "Lý Thị")

    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["Địa chỉ", "Họ tên", "Số điện thoại", "Vai trò"])
    writer.writerow(["Số 3 ngõ 8", "Lý Văn Nam", "0912000111", "Chủ hộ"])
    writer.writerow(["Số 3 ngõ 8", "Lý Thị Nga", phone_for(resident), "Thành viên"])
    await people.send_text(leader["id"], "👥 Hộ gia đình")
    overview = await people.wait_for_message(leader["id"], "Khu phố 7", timeout=WAIT)
    await press(people, leader, overview, "Tải lên")
    await people.wait_for_message(leader["id"], ".xlsx", timeout=WAIT)
    await people.send_document(
        leader["id"], rows.getvalue().encode(), "ds-ho-kp7.csv", mime_type="text/csv"
    )
    saved = await people.wait_for_message(leader["id"], "Đã lưu danh sách hộ", timeout=WAIT)
    assert "1 hộ" in saved["text"] and "2 người" in saved["text"]

    done = await register(people, resident, group="Khu phố 7", name="Lý Thị Nga")
    assert "đã được xác minh" in done["text"]


async def test_a_used_invitation_is_refused(stack: Stack, people: EmulatorClient) -> None:
    from tests.e2e.journeys import create_invite

    payload = await create_invite(stack.database_url, Role.OFFICER, office="VHXH")
    first = await new_person(people, "Oanh", "Trịnh Thị")
    await people.send_command(first["id"], "start", payload=payload)
    assert "cán bộ xử lý" in (await people.wait_for_message(first["id"], timeout=WAIT))["text"]
    second = await new_person(people, "Phong", "Mai Văn")
    await people.send_command(second["id"], "start", payload=payload)
    assert "đã được sử dụng" in (await people.wait_for_message(second["id"], timeout=WAIT))["text"]
    await people.send_command(second["id"], "start", payload="inv_doesnotexist")
    assert "không hợp lệ" in (await people.wait_for_message(second["id"], timeout=WAIT))["text"]


async def test_a_resident_leaves_after_confirming(stack: Stack, people: EmulatorClient) -> None:
    resident = await new_person(people, "Quân", "Cao Văn")
    await register(people, resident, group="Khu phố 8", name="Cao Văn Quân")
    await people.send_text(resident["id"], "⚙️ Cài đặt")
    settings = await people.wait_for_message(resident["id"], "Cài đặt", timeout=WAIT)
    await press(people, resident, settings, "Rời khỏi")
    confirm = await people.wait_for_message(resident["id"], "Rời khỏi wardbot?", timeout=WAIT)
    await press(people, resident, confirm, "xóa dữ liệu")
    gone = await people.wait_for_message(resident["id"], "đã được xóa", timeout=WAIT)
    assert gone is not None
    assert await people.reply_keyboard(resident["id"]) is None
    await people.send_text(resident["id"], "⚙️ Cài đặt")
    await people.wait_for_message(resident["id"], "chưa đăng ký", timeout=WAIT)
