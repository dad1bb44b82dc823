"""The Bot API surface: routing, errors, polling, limits and chat methods."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
)

from bot.emulator import EmulatorClient, RunningEmulator

from .conftest import BOT_ID, TOKEN, eventually


async def _post(emulator: RunningEmulator, method: str, token: str = TOKEN, **kwargs) -> tuple:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{emulator.base_url}/bot{token}/{method}", **kwargs) as resp,
    ):
        return resp.status, await resp.json()


async def _started_user(client: EmulatorClient, name: str = "An") -> int:
    user = await client.create_user(name)
    await client.send_command(user["id"], "start")
    return int(user["id"])


async def test_routing_errors_and_body_formats(emulator: RunningEmulator, client: EmulatorClient):
    status, body = await _post(emulator, "getMe", token="1:wrong")
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})

    status, body = await _post(emulator, "sendSticker")
    assert status == 404
    assert body == {"ok": False, "error_code": 404, "description": "Not Found: method not found"}

    status, body = await _post(emulator, "GETME")  # method names are case-insensitive
    assert status == 200 and body["result"]["id"] == BOT_ID and body["result"]["is_bot"] is True

    user_id = await _started_user(client)
    status, body = await _post(emulator, "sendMessage", json={"chat_id": user_id, "text": "json"})
    assert status == 200 and body["result"]["text"] == "json"
    status, body = await _post(emulator, "sendMessage", data={"chat_id": user_id, "text": "form"})
    assert status == 200 and body["result"]["chat"]["id"] == user_id
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{emulator.base_url}/bot{TOKEN}/sendMessage",
            params={"chat_id": str(user_id), "text": "query"},
        ) as resp,
    ):
        assert (await resp.json())["result"]["text"] == "query"

    status, body = await _post(emulator, "sendMessage", json={"chat_id": user_id})
    assert (status, body["description"]) == (400, "Bad Request: message text is empty")
    status, body = await _post(emulator, "sendMessage", json={"text": "x"})
    assert body["description"] == "Bad Request: chat_id is empty"
    status, body = await _post(
        emulator, "sendMessage", json={"chat_id": user_id, "text": "x", "colour": "red"}
    )
    assert status == 400 and "unknown parameter colour" in body["description"]
    status, body = await _post(
        emulator, "sendMessage", json={"chat_id": user_id, "text": "x", "reply_to_message_id": 1}
    )
    assert "use reply_parameters" in body["description"]
    status, body = await _post(emulator, "sendMessage", json={"chat_id": 5, "text": "x"})
    assert (status, body["description"]) == (400, "Bad Request: chat not found")

    stranger = await client.create_user("Never started")
    status, body = await _post(
        emulator, "sendMessage", json={"chat_id": stranger["id"], "text": "x"}
    )
    assert (status, body["description"]) == (
        403,
        "Forbidden: bot can't initiate conversation with a user",
    )


async def test_get_updates_offset_limit_and_long_poll(
    bot: Bot, client: EmulatorClient, emulator: RunningEmulator
):
    user = await client.create_user("Poller")
    for i in range(3):
        await client.send_text(user["id"], f"m{i}")
    assert await bot.get_updates(timeout=0) == await bot.get_updates(timeout=0)
    updates = await bot.get_updates(limit=2)
    assert [u.message.text for u in updates] == ["m0", "m1"]  # type: ignore[union-attr]
    # Asking from an offset confirms (drops) every earlier update.
    updates = await bot.get_updates(offset=updates[-1].update_id + 1)
    assert [u.message.text for u in updates] == ["m2"]  # type: ignore[union-attr]
    last = updates[-1].update_id
    assert await bot.get_updates(offset=last + 1, timeout=0) == []

    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(offset=last + 1, timeout=30))
    await eventually(lambda: emulator.emulator.bot(BOT_ID).poller is not None, "the long poll")
    assert not poll.done()  # held open by the emulator, waiting
    await client.send_text(user["id"], "wake up")
    woken = await poll
    assert [u.message.text for u in woken] == ["wake up"]  # type: ignore[union-attr]
    # Woken by the message, long before its 30 s ran out.
    assert time.monotonic() - started < 20

    started = time.monotonic()
    assert await bot.get_updates(offset=woken[-1].update_id + 1, timeout=1) == []
    assert time.monotonic() - started >= 0.9

    for i in range(3):
        await client.send_text(user["id"], f"n{i}")
    # A negative offset keeps only the newest updates.
    assert [u.message.text for u in await bot.get_updates(offset=-1)] == ["n2"]  # type: ignore[union-attr]


async def test_concurrent_get_updates_conflict(bot: Bot, emulator: RunningEmulator):
    first = asyncio.create_task(bot.get_updates(timeout=30))
    await eventually(lambda: emulator.emulator.bot(BOT_ID).poller is not None, "the first poll")
    status, body = await _post(emulator, "getUpdates", json={"timeout": 0})
    assert status == 200 and body["result"] == []
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await first


async def test_html_parse_errors_and_length_limits(bot: Bot, client: EmulatorClient):
    user_id = await _started_user(client)
    unescaped = "Góp ý của <Nguyễn> & bạn"
    with pytest.raises(TelegramBadRequest, match="can't parse entities: Unsupported start tag"):
        await bot.send_message(user_id, unescaped)  # the fixture bot defaults to HTML
    sent = await bot.send_message(user_id, unescaped, parse_mode=None)
    assert sent.text == unescaped

    assert len((await bot.send_message(user_id, "x" * 4096)).text or "") == 4096
    # The limit applies after entity parsing: markup does not count.
    assert len((await bot.send_message(user_id, f"<b>{'y' * 4096}</b>")).text or "") == 4096
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(user_id, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(user_id, "  <b> </b> ")
    with pytest.raises(TelegramBadRequest, match="not supported by the emulator"):
        await bot.send_message(user_id, "*x*", parse_mode="MarkdownV2")

    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="d" * 65)]]
    )
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(user_id, "buttons", reply_markup=markup)
    multibyte = "ệ" * 22  # 66 bytes in UTF-8, 22 characters
    markup.inline_keyboard[0][0].callback_data = multibyte
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(user_id, "buttons", reply_markup=markup)


async def test_private_chat_flood_limit_gives_retry_after(bot: Bot, client: EmulatorClient):
    user_id = await _started_user(client)
    await client.set_limits(private_per_second=1, private_burst=1)
    await bot.send_message(user_id, "first")
    with pytest.raises(TelegramRetryAfter) as flood:
        await bot.send_message(user_id, "second")
    assert flood.value.retry_after >= 1
    assert "Too Many Requests: retry after" in flood.value.message
    counters = await client.counters()
    assert counters["http_429"] == 1
    assert counters["messages_per_chat"][str(user_id)] == 1
    # Another chat has its own allowance.
    other = await _started_user(client, "Bình")
    await bot.send_message(other, "fine")


async def test_group_limit_is_twenty_per_minute(bot: Bot, client: EmulatorClient):
    chair = await client.create_user("Chair")
    group = await client.create_group("Tổ 5", members=[(chair["id"], "creator"), BOT_ID])
    await client.set_limits(group_per_minute=20)
    for i in range(20):
        await bot.send_message(group["id"], f"thông báo {i}")
    with pytest.raises(TelegramRetryAfter) as flood:
        await bot.send_message(group["id"], "one too many")
    assert 55 <= flood.value.retry_after <= 60
    counters = await client.counters()
    assert counters["messages_per_chat"][str(group["id"])] == 20


async def test_global_limit_across_chats(bot: Bot, client: EmulatorClient):
    users = [await _started_user(client, f"U{i}") for i in range(3)]
    # Two per second: the third message within half a second must wait.
    await client.set_limits(global_per_second=2)
    for user_id in users[:2]:
        await bot.send_message(user_id, "broadcast")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(users[2], "broadcast")


async def test_blocked_user_gives_403(bot: Bot, client: EmulatorClient):
    user_id = await _started_user(client)
    await bot.send_message(user_id, "before")
    await client.block(user_id)
    updates = await bot.get_updates(allowed_updates=["message", "my_chat_member"])
    kicked = [u.my_chat_member for u in updates if u.my_chat_member]
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(user_id, "after")
    assert (await client.counters())["http_403"] == 1
    await client.unblock(user_id)
    updates = await bot.get_updates(offset=updates[-1].update_id + 1)
    unblocked = [u.my_chat_member for u in updates if u.my_chat_member]
    assert [m.new_chat_member.status for m in kicked + unblocked] == ["kicked", "member"]
    await bot.send_message(user_id, "again")


async def test_edit_and_delete_rules(bot: Bot, client: EmulatorClient):
    user = await client.create_user("Editor")
    incoming = await client.send_text(user["id"], "hello")
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="a", callback_data="a")]]
    )
    sent = await bot.send_message(user["id"], "v1", reply_markup=markup)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "v1", chat_id=user["id"], message_id=sent.message_id, reply_markup=markup
        )
    edited = await bot.edit_message_text(
        "<i>v2</i>", chat_id=user["id"], message_id=sent.message_id, reply_markup=markup
    )
    assert isinstance(edited, Message) and edited.text == "v2" and edited.edit_date is not None
    assert edited.reply_markup is not None
    assert edited.reply_markup.inline_keyboard[0][0].callback_data == "a"
    bare = await bot.edit_message_reply_markup(chat_id=user["id"], message_id=sent.message_id)
    assert bare.reply_markup is None  # type: ignore[union-attr]
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("x", chat_id=user["id"], message_id=incoming["message_id"])
    with pytest.raises(TelegramBadRequest, match="there is no caption in the message to edit"):
        await bot.edit_message_caption(chat_id=user["id"], message_id=sent.message_id, caption="c")

    reply = await bot.send_message(
        user["id"], "reply", reply_parameters=ReplyParameters(message_id=incoming["message_id"])
    )
    assert reply.reply_to_message is not None and reply.reply_to_message.text == "hello"
    assert await bot.delete_message(user["id"], incoming["message_id"]) is True
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(user["id"], incoming["message_id"])
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(
            user["id"], "x", reply_parameters=ReplyParameters(message_id=incoming["message_id"])
        )
    history = await client.messages(user["id"])
    assert [m["deleted"] for m in history][:2] == [True, False]
    assert [h["text"] for h in history[1]["history"]] == ["v1", "v2"]


async def test_chat_methods(bot: Bot, client: EmulatorClient):
    chair = await client.create_user("Chủ tịch", username="chairman")
    member = await client.create_user("Dân")
    outsider = await client.create_user("Ngoài")
    group = await client.create_group(
        "Ban điều hành",
        members=[(chair["id"], "creator"), member["id"], (BOT_ID, "administrator")],
        type="group",
    )
    info = await bot.get_chat(group["id"])
    assert info.type == "group" and info.title == "Ban điều hành"
    assert (await bot.get_chat_member(group["id"], chair["id"])).status == "creator"
    assert (await bot.get_chat_member(group["id"], member["id"])).status == "member"
    assert (await bot.get_chat_member(group["id"], outsider["id"])).status == "left"
    admins = await bot.get_chat_administrators(group["id"])
    assert {a.user.id for a in admins} == {chair["id"], BOT_ID}

    await bot.send_chat_action(group["id"], "typing")
    assert (await client.chat(group["id"]))["last_action"]["action"] == "typing"
    with pytest.raises(TelegramBadRequest, match="wrong parameter action"):
        await bot.send_chat_action(group["id"], "dancing")

    source = await bot.send_message(group["id"], "<b>Biên bản</b> họp")
    user_id = await _started_user(client, "Người nhận")
    copied = await bot.copy_message(user_id, group["id"], source.message_id)
    received = (await client.messages(user_id))[-1]
    assert received["message_id"] == copied.message_id and received["text"] == "Biên bản họp"
    assert received["entities"] == [{"type": "bold", "offset": 0, "length": 8}]

    private = await bot.get_chat(user_id)
    assert private.type == "private" and private.first_name == "Người nhận"
    with pytest.raises(TelegramBadRequest, match="no administrators in the private chat"):
        await bot.get_chat_administrators(user_id)

    assert await bot.leave_chat(group["id"]) is True
    with pytest.raises(TelegramForbiddenError, match="bot is not a member of the group chat"):
        await bot.send_message(group["id"], "still here?")
    messages = await client.messages(group["id"])
    assert messages[-1]["left_chat_member"]["id"] == BOT_ID


def _pairs(commands: list[BotCommand]) -> list[tuple[str, str]]:
    return [(c.command, c.description) for c in commands]


async def test_bot_commands_by_scope_and_language(bot: Bot, client: EmulatorClient):
    commands = [BotCommand(command="start", description="Bắt đầu")]
    assert await bot.set_my_commands(commands) is True
    assert _pairs(await bot.get_my_commands()) == [("start", "Bắt đầu")]
    assert await bot.get_my_commands(language_code="en") == []
    group_cmds = [BotCommand(command="hop", description="Lịch họp")]
    await bot.set_my_commands(group_cmds, scope=BotCommandScopeAllGroupChats())
    assert _pairs(await bot.get_my_commands(scope=BotCommandScopeAllGroupChats())) == [
        ("hop", "Lịch họp")
    ]
    user_id = await _started_user(client)
    await bot.set_my_commands(group_cmds, scope=BotCommandScopeChat(chat_id=user_id))
    scoped = await bot.get_my_commands(scope=BotCommandScopeChat(chat_id=user_id))
    assert _pairs(scoped) == [("hop", "Lịch họp")]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Name", description="x")])
    assert await bot.delete_my_commands() is True
    assert await bot.get_my_commands() == []
    listed = (await client.bot(BOT_ID))["commands"]
    assert list(listed) == ["all_group_chats|", f"chat:{user_id}|"]
