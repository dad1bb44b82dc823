"""A real aiogram Dispatcher polling the emulator, driven by simulated residents."""

from __future__ import annotations

import pytest
from aiogram import Bot

from bot.emulator import EmulatorClient, EmulatorError, RunningEmulator, WaitTimeout
from bot.emulator.media import make_png

from .conftest import BOT_ID


async def _resident(client: EmulatorClient, **extra: object) -> dict:
    return await client.create_user(
        "An",
        last_name="Nguyễn Văn",
        username="an_nguyen",
        label="Resident — Nguyễn Văn An",
        persona=["resident", "to-dan-pho-3"],
        **extra,  # type: ignore[arg-type]
    )


async def test_start_shows_reply_and_inline_keyboards(client: EmulatorClient, polling_bot: Bot):
    user = await _resident(client)
    sent = await client.send_command(user["id"], "start")
    assert sent["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]

    greeting = await client.wait_for_message(user["id"], "Chào")
    assert greeting["text"] == "Chào An! Mời chia sẻ số điện thoại."
    assert greeting["entities"] == [{"type": "bold", "offset": 5, "length": 2}]
    menu = await client.wait_for_message(user["id"], "Chọn một mục")
    assert [b["callback_data"] for b in menu["reply_markup"]["inline_keyboard"][0]] == [
        "news",
        "faq",
    ]

    keyboard = await client.reply_keyboard(user["id"])
    assert keyboard is not None and keyboard["one_time_keyboard"] is True
    share_button = {"text": "📞 Chia sẻ số điện thoại", "request_contact": True}
    assert keyboard["keyboard"][0][0] == share_button

    # Sharing the contact through the one-time keyboard hides it; the bot then removes it.
    await client.share_contact(user["id"])
    reply = await client.wait_for_message(user["id"], "Đã nhận số")
    assert reply["text"] == f"Đã nhận số {user['phone_number']} (của bạn)"
    assert await client.reply_keyboard(user["id"]) is None
    assert await client.reply_keyboard(user["id"], include_hidden=True) is None


async def test_deep_link_payload_reaches_the_bot(client: EmulatorClient, polling_bot: Bot):
    user = await _resident(client)
    sent = await client.send_command(user["id"], "start", payload="tdp3-ref_42")
    assert sent["text"] == "/start tdp3-ref_42"
    reply = await client.wait_for_message(user["id"], "Mã giới thiệu")
    assert reply["text"] == "Mã giới thiệu: tdp3-ref_42"
    assert reply["entities"] == [{"type": "code", "offset": 15, "length": 11}]
    with pytest.raises(EmulatorError, match="deep-link payload"):
        await client.send_command(user["id"], "start", payload="has spaces")


async def test_button_press_is_answered_and_edits_the_message(
    client: EmulatorClient, polling_bot: Bot
):
    user = await _resident(client)
    await client.send_command(user["id"], "start")
    menu = await client.wait_for_message(user["id"], "Chọn một mục")

    query_id = await client.press(user["id"], menu["message_id"], "news")
    answer = await client.callback_answer(query_id, timeout=5)
    assert answer["text"] == "Đang mở tin tức" and answer["show_alert"] is False

    edited = await client.wait_for_message(user["id"], "họp tổ dân phố")
    assert edited["message_id"] == menu["message_id"]
    assert edited["edited"] is True
    assert edited["history"][0]["text"] == "Chọn một mục:"
    # editMessageText without reply_markup removes the inline keyboard, as on Telegram.
    assert edited["reply_markup"] is None


async def test_forged_callback_data_needs_explicit_flag(client: EmulatorClient, polling_bot: Bot):
    user = await _resident(client)
    await client.send_command(user["id"], "start")
    menu = await client.wait_for_message(user["id"], "Chọn một mục")

    with pytest.raises(EmulatorError, match="no button with callback_data 'admin:delete_all'"):
        await client.press(user["id"], menu["message_id"], "admin:delete_all")
    query_id = await client.press(user["id"], menu["message_id"], "admin:delete_all", forge=True)
    answer = await client.callback_answer(query_id, timeout=5)
    assert answer == {**answer, "text": "Không hiểu yêu cầu admin:delete_all", "show_alert": True}


async def test_forged_contact_and_location(client: EmulatorClient, polling_bot: Bot):
    user = await _resident(client)
    await client.share_contact(
        user["id"], contact={"phone_number": "+84911111111", "first_name": "Someone"}
    )
    reply = await client.wait_for_message(user["id"], "Đã nhận số")
    assert reply["text"] == "Đã nhận số +84911111111 (KHÔNG phải của bạn)"

    await client.send_location(user["id"], 21.0285, 105.8542)
    reply = await client.wait_for_message(user["id"], "Vị trí")
    assert reply["text"] == "Vị trí: 21.0285, 105.8542"


async def test_user_uploads_are_downloadable_by_the_bot(client: EmulatorClient, polling_bot: Bot):
    user = await _resident(client)
    png = make_png(40, 30)
    sent = await client.send_photo(user["id"], png, caption="Ổ gà đường Lê Lợi")
    assert sent["photo"]["width"] == 40 and sent["photo"]["height"] == 30
    reply = await client.wait_for_message(user["id"], "Ảnh")
    assert reply["text"] == f"Ảnh 40x30, {len(png)} byte"

    await client.send_document(
        user["id"], b"%PDF-1.4 fake", "don-de-nghi.pdf", multipart=True, caption="Đơn"
    )
    reply = await client.wait_for_message(user["id"], "Tệp")
    assert reply["text"] == "Tệp don-de-nghi.pdf (application/pdf): 13 byte"


async def test_html_escaping_in_echo(client: EmulatorClient, polling_bot: Bot):
    user = await _resident(client)
    await client.send_text(user["id"], "<script> & co")
    reply = await client.wait_for_message(user["id"], "Bạn viết")
    assert reply["text"] == "Bạn viết: <script> & co"


async def test_wait_for_message_timeout_lists_what_arrived(
    client: EmulatorClient, polling_bot: Bot
):
    user = await _resident(client)
    await client.send_text(user["id"], "xin chào")
    await client.wait_for_message(user["id"], "Bạn viết")
    with pytest.raises(WaitTimeout) as failure:
        await client.wait_for_message(user["id"], "không bao giờ", timeout=0.3, since=0)
    assert "#1 user" in str(failure.value) and "'Bạn viết: xin chào'" in str(failure.value)


async def test_group_membership_and_privacy_mode(
    emulator: RunningEmulator, client: EmulatorClient, polling_bot: Bot
):
    chair = await client.create_user("Bình", label="Tổ trưởng")
    neighbour = await client.create_user("Cúc")
    group = await client.create_group(
        "Tổ dân phố 3", members=[(chair["id"], "creator"), neighbour["id"]]
    )
    added = await client.add_bot_to_group(group["id"])
    assert added["service_message"]["new_chat_members"][0]["id"] == BOT_ID

    # Privacy mode: plain chatter is not delivered, commands addressed to the bot are.
    chatter = await client.send_text(neighbour["id"], "chào cả tổ", chat_id=group["id"])
    await client.send_command(neighbour["id"], "start", chat_id=group["id"])
    greeting = await client.wait_for_message(group["id"], "Chào")
    assert greeting["text"] == "Chào Cúc! Mời chia sẻ số điện thoại."
    messages = await client.messages(group["id"])
    assert not any(m["text"] == "Bạn viết: chào cả tổ" for m in messages)
    assert chatter["message_id"] < greeting["message_id"]

    updates = emulator.emulator.counters.updates_enqueued
    assert updates >= 2  # my_chat_member is filtered out by aiogram's allowed_updates
    removed = await client.remove_bot_from_group(group["id"])
    assert removed["service_message"]["left_chat_member"]["id"] == BOT_ID
    with pytest.raises(EmulatorError):
        await client.send_text(BOT_ID, "hi", chat_id=group["id"])


async def test_blocked_user_cannot_write_until_unblocked(client: EmulatorClient, polling_bot: Bot):
    user = await _resident(client)
    await client.send_command(user["id"], "start")
    await client.wait_for_message(user["id"], "Chọn một mục")
    await client.block(user["id"])
    with pytest.raises(EmulatorError, match="blocked"):
        await client.send_text(user["id"], "hello")
    await client.unblock(user["id"])
    await client.send_text(user["id"], "đã mở chặn")
    assert (await client.wait_for_message(user["id"], "Bạn viết"))["text"].endswith("đã mở chặn")
