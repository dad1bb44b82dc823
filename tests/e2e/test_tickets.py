"""Tickets end to end: a resident files, the office handles it from its group chat, the
resident rates; a denouncer stays hidden; a draft survives a restart; a late ticket
escalates once."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from bot.emulator import EmulatorClient
from bot.emulator.media import make_png
from bot.models import DeliveryStatus, Role
from tests.e2e.conftest import Stack
from tests.e2e.journeys import (
    WAIT,
    become,
    buttons,
    new_person,
    press,
    register,
    settled_deliveries,
)

Json = dict[str, Any]
NEW_TICKET = "✍️ Gửi phản ánh, kiến nghị"


async def office_chat(
    people: EmulatorClient, officer: Json, office_name: str, title: str, **extra: Any
) -> Json:
    """An office's working group, linked by its officer with /link."""
    members = [{"user_id": officer["id"], "status": "creator"}]
    members += [{"user_id": uid, "status": "member"} for uid in extra.get("members", [])]
    group = await people.create_group(title, members=members)
    await people.add_bot_to_group(group["id"], by_user_id=officer["id"])
    await people.send_command(officer["id"], "link", chat_id=group["id"])
    pick = await people.wait_for_message(group["id"], "Liên kết nhóm này", timeout=WAIT)
    await press(people, officer, pick, office_name)
    await people.wait_for_message(group["id"], "Từ nay nhóm này nhận phản ánh", timeout=WAIT)
    return group


async def start_ticket(
    people: EmulatorClient, user: Json, type_label: str, category: str, description: str
) -> None:
    """Up to the description; the bot then offers to take files."""
    uid = user["id"]
    await people.send_text(uid, NEW_TICKET)
    types = await people.wait_for_message(uid, "Bạn muốn gửi loại nào", timeout=WAIT)
    assert "Tố cáo" in types["text"] and "Khiếu nại" in types["text"]
    await press(people, user, types, type_label)
    categories = await people.wait_for_message(uid, "thuộc lĩnh vực nào", timeout=WAIT)
    await press(people, user, categories, category)
    await people.wait_for_message(uid, "Hãy mô tả sự việc", timeout=WAIT)
    await people.send_text(uid, description)
    await people.wait_for_message(uid, "Bạn có thể gửi tối đa 5 ảnh", timeout=WAIT)


async def finish_ticket(
    people: EmulatorClient,
    user: Json,
    *,
    location: tuple[float, float] | None = None,
    who: str = "Ghi rõ họ tên",
) -> tuple[str, Json]:
    """Files done → location → identity → confirm; returns the code and the bot's answer."""
    uid = user["id"]
    offer = await people.wait_for_message(uid, lambda m: bool(buttons(m)), timeout=WAIT)
    await press(people, user, offer, "Tiếp tục")
    await people.wait_for_message(uid, "Sự việc ở đâu", timeout=WAIT)
    if location:
        await people.send_location(uid, *location)
    else:
        await people.send_text(uid, "➡️ Không gửi vị trí")
    ask = await people.wait_for_message(
        uid, lambda m: "ẩn danh" in (m.get("text") or "") and bool(buttons(m)), timeout=WAIT
    )
    await press(people, user, ask, who)
    confirm = await people.wait_for_message(uid, "Vui lòng kiểm tra", timeout=WAIT)
    await press(people, user, confirm, "Gửi")
    done = await people.wait_for_message(uid, "Mã phản ánh của bạn", timeout=WAIT)
    code = re.search(r"[A-Z]{2,4}-\d{4}-\d{6}", done["text"])
    assert code is not None, done["text"]
    return code.group(0), done


def card_of(code: str) -> Callable[[Json], bool]:
    return lambda m: code in (m.get("text") or "") and bool(buttons(m))


async def test_a_report_with_photo_and_location_is_claimed_answered_and_rated(
    stack: Stack, people: EmulatorClient
) -> None:
    officer = await new_person(people, "Hùng", "Đặng Văn")
    await become(people, officer, stack.database_url, Role.OFFICER, office="DCXD")
    group = await office_chat(people, officer, "Địa chính", "Tổ công tác Địa chính - Xây dựng")
    resident = await new_person(people, "Lan", "Phạm Thị")
    await register(people, resident, group="Khu phố 1", name="Phạm Thị Lan")
    uid = resident["id"]

    await start_ticket(
        people, resident, "Phản ánh", "Đường sá", "Đèn chiếu sáng ngõ 5 Lê Lợi hỏng cả tuần."
    )
    await people.send_photo(uid, make_png(8, 8))
    await people.wait_for_message(uid, "📎 Đã nhận (1)", timeout=WAIT)
    code, done = await finish_ticket(people, resident, location=(19.8067, 105.7852))
    assert code.startswith("PA-") and "Hạn trả lời" in done["text"]
    assert "Địa chính" in done["text"]

    card = await people.wait_for_message(group["id"], card_of(code), timeout=WAIT)
    assert "📍" in card["text"] and "Phạm Thị Lan" in card["text"]
    assert "Khu phố 1" in card["text"]
    # The photo follows the card (a part of the same outbox message).
    photo = await people.wait_for_message(group["id"], lambda m: bool(m.get("photo")), timeout=WAIT)
    assert photo, "the photo goes to the office chat with the card"

    claimed = await press(people, officer, card, "Nhận xử lý")
    assert (await people.callback_answer(claimed))["text"] == "Đã xong."
    edited = await people.wait_for_message(
        group["id"],
        lambda m: m["message_id"] == card["message_id"] and "Đang xử lý" in (m.get("text") or ""),
        timeout=WAIT,
    )
    # The officer never typed a name: the one Telegram shows was taken at the invitation.
    assert "Trạng thái: 🔧 Đang xử lý · cán bộ: Hùng Đặng Văn" in edited["text"], edited["text"]
    assert "Nhận xử lý" not in str(buttons(edited))
    await people.wait_for_message(uid, "đã nhận xử lý", timeout=WAIT)

    answer = await press(people, officer, edited, "Trả lời")
    assert "riêng" in (await people.callback_answer(answer))["text"]
    await people.wait_for_message(officer["id"], "Nhập nội dung trả lời", timeout=WAIT)
    await people.send_text(officer["id"], "Đã thay bóng đèn ngày hôm nay. Cảm ơn bà con.")
    choose = await people.wait_for_message(officer["id"], "Đã ghi nhận", timeout=WAIT)
    await press(people, officer, choose, "Gửi người dân")
    await people.wait_for_message(officer["id"], "Đã gửi câu trả lời", timeout=WAIT)

    answered = await people.wait_for_message(uid, "đã trả lời", timeout=WAIT)
    assert "Đã thay bóng đèn" in answered["text"]
    rated = await press(people, resident, answered, "5⭐")
    assert "Cảm ơn" in (await people.callback_answer(rated))["text"]
    final = await people.wait_for_message(
        group["id"],
        lambda m: m["message_id"] == card["message_id"] and "★★★★★" in (m.get("text") or ""),
        timeout=WAIT,
    )
    assert buttons(final) == []
    # The resident's own list shows the whole history.
    await people.send_text(uid, "📋 Phản ánh của tôi")
    mine = await people.wait_for_message(uid, "Phản ánh của tôi", timeout=WAIT)
    await press(people, resident, mine, code)
    detail = await people.wait_for_message(uid, "Quá trình xử lý", timeout=WAIT)
    for step in ("Đã gửi", "Cán bộ đã nhận xử lý", "Đã trả lời", "★★★★★"):
        assert step in detail["text"], step


async def test_a_denouncer_stays_hidden_from_the_office_group(
    stack: Stack, people: EmulatorClient
) -> None:
    officer = await new_person(people, "Minh", "Lương Văn")
    await become(people, officer, stack.database_url, Role.OFFICER, office="CA")
    bystander = await new_person(people, "Nam", "Kiều Văn")
    group = await office_chat(
        people, officer, "Công an", "Công an phường — tổ tiếp dân", members=[bystander["id"]]
    )
    resident = await new_person(people, "Oanh", "Tạ Thị")
    await register(
        people, resident, group="Khu phố 9", name="Tạ Thị Oanh", address="Số 41, ngõ Kín"
    )
    uid = resident["id"]

    await start_ticket(
        people,
        resident,
        "Tố cáo",
        "An ninh",
        "Một cán bộ thu tiền trái phép của các hộ kinh doanh.",
    )
    # Anonymous is offered to become an anonymous report; the resident keeps their name.
    offer = await people.wait_for_message(uid, lambda m: bool(buttons(m)), timeout=WAIT)
    await press(people, resident, offer, "Tiếp tục")
    await people.wait_for_message(uid, "Sự việc ở đâu", timeout=WAIT)
    await people.send_text(uid, "➡️ Không gửi vị trí")
    ask = await people.wait_for_message(uid, "giữ bí mật", timeout=WAIT)
    await press(people, resident, ask, "Ẩn danh")
    art25 = await people.wait_for_message(uid, "Điều 25", timeout=WAIT)
    await press(people, resident, art25, "Giữ là đơn tố cáo")
    confirm = await people.wait_for_message(uid, "Vui lòng kiểm tra", timeout=WAIT)
    await press(people, resident, confirm, "Gửi")
    done = await people.wait_for_message(uid, "Mã phản ánh của bạn", timeout=WAIT)
    code = re.search(r"TC-\d{4}-\d{6}", done["text"])
    assert code is not None and "thụ lý" in done["text"]

    card = await people.wait_for_message(group["id"], card_of(code.group(0)), timeout=WAIT)
    for secret in ("Tạ Thị Oanh", "Oanh", "Số 41", "Khu phố 9"):
        assert secret not in card["text"], secret
    assert "🔒" in card["text"]
    assert any("Thụ lý" in b["text"] for b in buttons(card))

    # Someone in the group who is no officer presses a button: refused, nothing changes.
    refused = await press(people, bystander, card, "Nhận xử lý")
    assert "Chỉ cán bộ" in (await people.callback_answer(refused))["text"]

    # The officer accepts it, and then sees the denouncer in private, in /tickets.
    accepted = await press(people, officer, card, "Thụ lý")
    assert (await people.callback_answer(accepted))["text"] == "Đã xong."
    edited = await people.wait_for_message(
        group["id"],
        lambda m: m["message_id"] == card["message_id"] and "Hạn trả lời" in (m.get("text") or ""),
        timeout=WAIT,
    )
    assert "Tạ Thị Oanh" not in edited["text"]
    await people.wait_for_message(uid, "đã thụ lý", timeout=WAIT)
    await people.send_command(officer["id"], "tickets")
    listing = await people.wait_for_message(officer["id"], "Phản ánh đang xử lý", timeout=WAIT)
    await press(people, officer, listing, code.group(0))
    detail = await people.wait_for_message(officer["id"], "Quá trình xử lý", timeout=WAIT)
    assert "Tạ Thị Oanh" in detail["text"] and "Số 41, ngõ Kín" in detail["text"]
    for message in await people.messages(group["id"]):
        assert "Tạ Thị Oanh" not in (message.get("text") or "")


async def test_an_unfinished_draft_survives_a_restart(
    bot_factory: Callable[..., Stack], people: EmulatorClient
) -> None:
    # Started in a thread: it prepares its database with asyncio.run.
    stack = await asyncio.to_thread(bot_factory)
    async with EmulatorClient(stack.emulator.base_url, timeout=30) as client:
        resident = await new_person(client, "Quế", "Mai Thị")
        await register(client, resident, group="Khu phố 2", name="Mai Thị Quế")
        uid = resident["id"]
        await start_ticket(
            client, resident, "Kiến nghị", "Vệ sinh", "Đề nghị bố trí thêm thùng rác ở chợ."
        )
        await client.send_photo(uid, make_png(6, 6))
        await client.wait_for_message(uid, "📎 Đã nhận (1)", timeout=WAIT)

        assert stack.bot.stop() == 0
        stack.bot.start()

        # The draft is where it was: the next photo is the second one.
        await client.send_photo(uid, make_png(7, 7))
        await client.wait_for_message(uid, "📎 Đã nhận (2)", timeout=WAIT)
        code, _done = await finish_ticket(client, resident, who="Ẩn danh")
        assert code.startswith("KNG-")
        confirm = [
            m for m in await client.messages(uid) if "Vui lòng kiểm tra" in (m.get("text") or "")
        ]
        assert "Tệp đính kèm: 2" in confirm[-1]["text"]
        assert "Người gửi: ẩn danh" in confirm[-1]["text"]


async def test_a_draft_can_be_cancelled_at_any_step(stack: Stack, people: EmulatorClient) -> None:
    resident = await new_person(people, "Sơn", "Hồ Văn")
    await register(people, resident, group="Khu phố 3", name="Hồ Văn Sơn")
    uid = resident["id"]
    await start_ticket(
        people, resident, "Góp ý", "Văn hóa", "Nên tổ chức thêm lớp võ cho thiếu nhi."
    )
    await people.send_text(uid, "❌ Hủy")
    await people.wait_for_message(uid, "Đã hủy", timeout=WAIT)
    await people.send_command(uid, "mytickets")
    assert "chưa gửi" in (await people.wait_for_message(uid, timeout=WAIT))["text"]


async def test_a_late_ticket_escalates_once(
    bot_factory: Callable[..., Stack], people: EmulatorClient
) -> None:
    # Started in a thread: it prepares its database with asyncio.run.
    stack = await asyncio.to_thread(bot_factory)
    async with EmulatorClient(stack.emulator.base_url, timeout=30) as client:
        head = await new_person(client, "Tâm", "Vương Thị")
        await become(client, head, stack.database_url, Role.OFFICE_HEAD, office="VHXH")
        resident = await new_person(client, "Uyên", "Lạc Thị")
        await register(client, resident, group="Khu phố 4", name="Lạc Thị Uyên")
        await start_ticket(
            client, resident, "Phản ánh", "Chính sách", "Chưa nhận được trợ cấp tháng này."
        )
        code, _done = await finish_ticket(client, resident)
        await client.wait_for_message(head["id"], card_of(code), timeout=WAIT)

        # Three weeks later the ticket is overdue: the head is told once, however often
        # the scheduler runs and across a restart.
        stack.bot.stop()
        stack.bot.env["WARDBOT_CLOCK_OFFSET_SECONDS"] = str(21 * 24 * 3600)
        stack.bot.start()
        late = await client.wait_for_message(head["id"], "đã quá hạn", timeout=WAIT)
        assert code in late["text"]
        escalations = await settled_deliveries(stack.database_url, kind="ticket.escalation")
        offset = stack.bot.log_size()
        stack.bot.stop()
        stack.bot.start()
        # The restarted scheduler has run every job once, the escalation among them, and
        # whatever it queued has been sent: only then can "once" be counted.
        await stack.bot.logged("scheduler: first round", offset)
        again = await settled_deliveries(stack.database_url, kind="ticket.escalation")
        assert len(again) == len(escalations)
        assert {r.status for r in again} == {DeliveryStatus.SENT}
        await client.send_command(head["id"], "tickets")
        await client.wait_for_message(head["id"], "Phản ánh đang xử lý", timeout=WAIT)
        warnings = [
            m for m in await client.messages(head["id"]) if "đã quá hạn" in (m.get("text") or "")
        ]
        assert len(warnings) == 1


async def test_transfer_ask_for_more_answer_and_reopen(
    stack: Stack, people: EmulatorClient
) -> None:
    clerk = await new_person(people, "Vinh", "Khổng Văn")
    await become(people, clerk, stack.database_url, Role.OFFICER, office="VP")
    justice = await new_person(people, "Xuân", "Đinh Thị")
    await become(people, justice, stack.database_url, Role.OFFICER, office="TPHT")
    office_chat_vp = await office_chat(people, clerk, "Văn phòng", "Văn phòng UBND")
    # The clerk sits in the justice office's chat too, as colleagues often do.
    office_chat_tp = await office_chat(
        people, justice, "Tư pháp", "Tư pháp - Hộ tịch", members=[clerk["id"]]
    )
    resident = await new_person(people, "Yến", "Lâm Thị")
    await register(people, resident, group="Khu phố 6", name="Lâm Thị Yến")
    uid = resident["id"]
    await start_ticket(
        people, resident, "Kiến nghị", "Lĩnh vực khác", "Đề nghị cấp lại bản sao giấy khai sinh."
    )
    code, _done = await finish_ticket(people, resident)

    card = await people.wait_for_message(office_chat_vp["id"], card_of(code), timeout=WAIT)
    await press(people, clerk, card, "Chuyển")
    offices = await people.wait_for_message(
        office_chat_vp["id"],
        lambda m: (
            m["message_id"] == card["message_id"]
            and any("Tư pháp" in b["text"] for b in buttons(m))
        ),
        timeout=WAIT,
    )
    await press(people, clerk, offices, "Tư pháp")
    await people.wait_for_message(clerk["id"], "Nhập lý do chuyển", timeout=WAIT)
    await people.send_text(clerk["id"], "Việc hộ tịch thuộc bộ phận Tư pháp")
    await people.wait_for_message(clerk["id"], "Đã chuyển", timeout=WAIT)
    await people.wait_for_message(
        office_chat_vp["id"],
        lambda m: m["message_id"] == card["message_id"] and "đã được chuyển tới" in m["text"],
        timeout=WAIT,
    )
    await people.wait_for_message(uid, "đã được chuyển tới Tư pháp", timeout=WAIT)

    moved = await people.wait_for_message(office_chat_tp["id"], card_of(code), timeout=WAIT)
    # The office that gave it away can no longer act on it.
    stale = await press(people, clerk, moved, "Nhận xử lý")
    assert "Chỉ cán bộ" in (await people.callback_answer(stale))["text"]

    await press(people, justice, moved, "Yêu cầu bổ sung")
    await people.wait_for_message(justice["id"], "Nhập nội dung đề nghị", timeout=WAIT)
    await people.send_text(justice["id"], "Vui lòng cho biết năm sinh và nơi đăng ký khai sinh.")
    asked = await people.wait_for_message(uid, "đề nghị bạn bổ sung", timeout=WAIT)
    await press(people, resident, asked, "Bổ sung thông tin")
    await people.wait_for_message(uid, "Hãy nhập thông tin bổ sung", timeout=WAIT)
    await people.send_text(uid, "Sinh năm 1990, đăng ký tại phường Ba Đình.")
    noted = await people.wait_for_message(uid, "Đã ghi nhận", timeout=WAIT)
    await press(people, resident, noted, "Gửi")
    await people.wait_for_message(uid, "Đã gửi tới bộ phận", timeout=WAIT)
    await people.wait_for_message(justice["id"], "Sinh năm 1990", timeout=WAIT)

    await press(people, justice, moved, "Trả lời")
    await people.wait_for_message(justice["id"], "Nhập nội dung trả lời", timeout=WAIT)
    await people.send_text(justice["id"], "Mời bà đến bộ phận một cửa nhận bản sao vào thứ Hai.")
    choose = await people.wait_for_message(justice["id"], "Đã ghi nhận", timeout=WAIT)
    await press(people, justice, choose, "Gửi người dân")
    answered = await people.wait_for_message(uid, "đã trả lời", timeout=WAIT)
    await press(people, resident, answered, "Chưa hài lòng")
    await people.wait_for_message(uid, "Vì sao bạn chưa hài lòng", timeout=WAIT)
    await people.send_text(uid, "Tôi không thể đến vào thứ Hai, đề nghị gửi qua bưu điện.")
    reopened = await people.wait_for_message(uid, "đã được mở lại", timeout=WAIT)
    assert code in reopened["text"]
    await people.wait_for_message(justice["id"], "chưa hài lòng và đã mở lại", timeout=WAIT)
    again = await people.wait_for_message(
        office_chat_tp["id"],
        lambda m: m["message_id"] == moved["message_id"] and "Đang xử lý" in m["text"],
        timeout=WAIT,
    )
    assert any("Hoàn thành" in b["text"] for b in buttons(again))
