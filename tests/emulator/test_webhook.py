"""Webhook delivery: secret header, retries, replies carrying method calls, 409 on polling."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.exceptions import TelegramBadRequest, TelegramConflictError
from aiogram.filters import CommandStart
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.emulator import EmulatorClient, RunningEmulator

from .conftest import eventually

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def receiver(handler: Handler, path: str = "/hook") -> AsyncIterator[str]:
    """A tiny local HTTP server standing in for the bot's webhook endpoint."""
    app = web.Application()
    app.router.add_post(path, handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    site = web.SockSite(runner, sock)
    await site.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}{path}"
    finally:
        await runner.cleanup()


async def test_webhook_push_with_secret_and_reply_method(bot: Bot, client: EmulatorClient):
    received: list[tuple[dict, str | None]] = []

    async def hook(request: web.Request) -> web.Response:
        update = await request.json()
        received.append((update, request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        chat_id = update["message"]["chat"]["id"]
        # Answering in the response body, as Telegram allows.
        return web.json_response({"method": "sendMessage", "chat_id": chat_id, "text": "pong"})

    user = await client.create_user("Webhook")
    async with receiver(hook) as url:
        assert await bot.set_webhook(url, secret_token="s3cr3t_Token-1") is True
        info = await bot.get_webhook_info()
        assert info.url == url and info.pending_update_count == 0
        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await bot.get_updates()

        await client.send_text(user["id"], "ping")
        reply = await client.wait_for_message(user["id"], "pong", timeout=5)
        assert reply["from_bot"] is True
        assert received[0][1] == "s3cr3t_Token-1"
        assert received[0][0]["message"]["text"] == "ping"
        assert (await bot.get_webhook_info()).pending_update_count == 0

        assert await bot.delete_webhook() is True
    await client.send_text(user["id"], "back to polling")
    updates = await bot.get_updates()
    assert updates[-1].message is not None and updates[-1].message.text == "back to polling"


async def test_webhook_failures_are_retried_then_recorded(
    bot: Bot, client: EmulatorClient, emulator: RunningEmulator
):
    calls: list[int] = []

    async def flaky(request: web.Request) -> web.Response:
        calls.append((await request.json())["update_id"])
        if len(calls) < 3:
            return web.Response(status=500, text="boom")
        return web.Response(text="")

    user = await client.create_user("Retry")
    async with receiver(flaky) as url:
        await bot.set_webhook(url)
        await client.send_text(user["id"], "please arrive")
        # Delivered once the receiver's 200 came back: then nothing more is retried.
        counters = emulator.emulator.counters
        await eventually(lambda: counters.webhook_deliveries, "the delivery")
        assert len(calls) == 3 and len(set(calls)) == 1
        info = await bot.get_webhook_info()
        assert (
            info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
        )
        assert info.pending_update_count == 0
        await bot.delete_webhook(drop_pending_updates=True)
    counters = await client.counters()
    assert counters["webhook_failures"] == 2 and counters["webhook_deliveries"] == 1


async def test_webhook_urls_must_stay_on_this_machine(bot: Bot):
    with pytest.raises(TelegramBadRequest, match="loopback"):
        await bot.set_webhook("https://bot.example.com/hook")
    with pytest.raises(TelegramBadRequest, match="secret token"):
        await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="no spaces allowed")


async def test_aiogram_webhook_handler_replies_in_the_response(
    bot: Bot, client: EmulatorClient, emulator: RunningEmulator
):
    """aiogram's own webhook handler answers with a multipart method call."""
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> object:
        return message.answer("Chào từ webhook <b>aiogram</b>")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    handler = SimpleRequestHandler(dispatcher, bot, secret_token="tok")

    async with receiver(handler.handle) as url:
        await bot.set_webhook(url, secret_token="tok")
        user = await client.create_user("Multipart")
        await client.send_command(user["id"], "start")
        reply = await client.wait_for_message(user["id"], "Chào từ webhook")
        assert reply["entities"] == [{"type": "bold", "offset": 16, "length": 7}]
        # A wrong secret is the bot's business: aiogram refuses it, the emulator retries.
        await bot.set_webhook(url, secret_token="wrong")
        await client.send_text(user["id"], "lost")
        failures = emulator.emulator.counters
        await eventually(lambda: failures.webhook_failures, "the refused delivery")
        info = await bot.get_webhook_info()
        assert info.last_error_message == "Wrong response from the webhook: 401 Unauthorized"
        await bot.delete_webhook(drop_pending_updates=True)
