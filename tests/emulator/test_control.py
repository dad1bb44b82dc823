"""The control API itself: people, several bots, events, bulk presses, reset and limits."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import httpx
import pytest
from aiogram import Bot
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.emulator import EmulatorClient, EmulatorError, RunningEmulator

from .conftest import BOT_ID, eventually, make_bot

SECOND_TOKEN = "7000000002:AAE-second-bot"


async def test_people_are_listed_with_labels_and_personas(client: EmulatorClient):
    await client.create_user(
        "An", label="Resident — Nguyễn Văn An", persona=["resident", "elderly"]
    )
    await client.create_user("Bình", label="Ward official", persona=["official"])
    residents = await client.users(persona="resident")
    assert [(u["first_name"], u["label"]) for u in residents] == [
        ("An", "Resident — Nguyễn Văn An")
    ]
    assert len(await client.users()) == 2
    with pytest.raises(EmulatorError, match="taken"):
        await client.create_user("X", username="dup")
        await client.create_user("Y", username="dup")


async def test_each_bot_has_its_own_private_chat_and_queue(
    emulator: RunningEmulator, client: EmulatorClient, bot: Bot
):
    second = await client.create_bot(SECOND_TOKEN, username="second_ward_bot")
    assert second["id"] == 7000000002 and len(await client.bots()) == 2
    other = make_bot(emulator.base_url, SECOND_TOKEN)
    try:
        user = await client.create_user("Hai bot")
        await client.send_text(user["id"], "cho bot 1")
        await client.send_text(user["id"], "cho bot 2", bot_id=second["id"])
        first_updates = await bot.get_updates()
        second_updates = await other.get_updates()
        assert [u.message.text for u in first_updates] == ["cho bot 1"]  # type: ignore[union-attr]
        assert [u.message.text for u in second_updates] == ["cho bot 2"]  # type: ignore[union-attr]
        # Same chat id (the user's id), separate histories and message ids.
        assert first_updates[0].message.chat.id == second_updates[0].message.chat.id  # type: ignore[union-attr]
        assert first_updates[0].message.message_id == second_updates[0].message.message_id == 1  # type: ignore[union-attr]
        mine = await client.messages(user["id"], bot_id=second["id"])
        assert [m["text"] for m in mine] == ["cho bot 2"]
    finally:
        await other.session.close()


async def test_events_long_poll_wakes_on_new_activity(
    client: EmulatorClient, emulator: RunningEmulator
):
    user = await client.create_user("Watcher")
    start = (await client.health())["cursor"]
    waiting = asyncio.create_task(client.events(since=start, timeout=30, chat_id=user["id"]))
    await eventually(lambda: emulator.emulator.events.waiting, "the events long poll")
    assert not waiting.done()  # parked in the emulator until something happens
    await client.send_text(user["id"], "hello")
    # Woken by the message, long before its 30 s ran out.
    result = await asyncio.wait_for(waiting, 20)
    assert [e["type"] for e in result["events"]] == ["message"]
    assert result["events"][0]["message_id"] == 1 and result["cursor"] > start
    empty = await client.events(since=result["cursor"], timeout=0.2, chat_id=user["id"])
    assert empty["events"] == []


async def test_press_many_reports_each_result(client: EmulatorClient, bot: Bot):
    user = await client.create_user("Nhiều lần")
    await client.send_command(user["id"], "start")
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="+", callback_data="vote")]]
    )
    sent = await bot.send_message(user["id"], "Bình chọn", reply_markup=markup)
    presses = [
        {"user_id": user["id"], "message_id": sent.message_id, "callback_data": "vote"}
        for _ in range(50)
    ]
    presses.append({"user_id": user["id"], "message_id": sent.message_id, "callback_data": "x"})
    results = await client.press_many(presses)
    assert sum("callback_query_id" in r for r in results) == 50
    assert results[-1]["status"] == 400
    updates = await bot.get_updates()
    queries = [u.callback_query for u in updates if u.callback_query]
    assert len(queries) == 50 and {q.data for q in queries} == {"vote"}
    await bot.answer_callback_query(queries[0].id, text="Đã ghi nhận")
    assert (await client.callback_answer(queries[0].id, timeout=0))["text"] == "Đã ghi nhận"
    with pytest.raises(AssertionError, match="not answered"):
        await client.callback_answer(queries[1].id, timeout=0.1)
    counters = await client.counters()
    assert counters["callback_queries"] == 50 and counters["callback_answers"] == 1


async def test_reset_limits_and_counters(client: EmulatorClient, bot: Bot):
    user = await client.create_user("Tạm")
    await client.send_command(user["id"], "start")
    await bot.send_message(user["id"], "x")
    assert (await client.counters())["messages_sent"] == 1
    assert (await client.reset_counters())["messages_sent"] == 0

    limits = await client.set_limits(max_text_length=10, private_per_second=None)
    assert limits["max_text_length"] == 10 and (await client.limits())["private_per_second"] is None
    with pytest.raises(EmulatorError, match="unknown limit"):
        await client.set_limits(speed_of_light=1)

    await client.reset()
    assert await client.users() == []
    assert [b["id"] for b in await client.bots()] == [BOT_ID]
    assert await bot.get_updates() == []
    with pytest.raises(EmulatorError, match="no user"):
        await client.send_text(user["id"], "still there?")


async def test_control_errors_are_json(emulator: RunningEmulator):
    async with httpx.AsyncClient(base_url=emulator.base_url) as http:
        response = await http.post("/_control/users", content=b"not json")
        assert response.status_code == 400 and response.json() == {
            "error": "request body must be JSON"
        }
        response = await http.get("/_control/chats/-1/messages")
        assert response.status_code == 404 and "no group" in response.json()["error"]


async def test_module_runs_standalone():
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.emulator",
        "--port",
        "0",
        "--token",
        "123456:ABC-standalone",
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        assert "Telegram Bot API emulator on http://127.0.0.1:" in line
        base_url = line.split(" on ", 1)[1].split()[0]
        async with httpx.AsyncClient(base_url=base_url) as http:
            me = (await http.get("/bot123456:ABC-standalone/getMe")).json()
        assert me["result"]["id"] == 123456
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
