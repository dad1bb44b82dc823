"""Pushing updates to a bot's webhook, the way Telegram does."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from email import policy
from email.parser import BytesParser
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

import aiohttp

from bot.emulator.botapi import Params, Upload
from bot.emulator.models import ApiError, BotRec, WebhookConfig

if TYPE_CHECKING:
    from bot.emulator.botapi import BotApi
    from bot.emulator.state import Emulator

log = logging.getLogger(__name__)


def parse_reply_body(body: bytes, content_type: str) -> Params | None:
    """A webhook response that carries a method call (JSON, form or multipart), if any."""
    mime = content_type.split(";", 1)[0].strip().lower()
    values: dict[str, object] = {}
    files: dict[str, Upload] = {}
    if mime == "application/json":
        try:
            parsed = json.loads(body)
        except ValueError:
            return None
        if not isinstance(parsed, dict):
            return None
        values = dict(parsed)
    elif mime == "application/x-www-form-urlencoded":
        values = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    elif mime == "multipart/form-data":
        header = f"Content-Type: {content_type}\r\n\r\n".encode()
        message = BytesParser(policy=policy.HTTP).parsebytes(header + body)
        if not message.is_multipart():
            return None
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            payload = part.get_payload(decode=True)
            content = payload if isinstance(payload, bytes) else b""
            filename = part.get_filename()
            if filename is not None:
                files[name] = Upload(filename, part.get_content_type(), content)
            else:
                values[name] = content.decode("utf-8", "replace")
    else:
        return None
    if not isinstance(values.get("method"), str):
        return None
    return Params(values, files)


class WebhookDispatcher:
    """One delivery loop per bot with a webhook; failed deliveries back off and retry."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.api: BotApi | None = None
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, bot: BotRec) -> None:
        if bot.webhook_task is not None and not bot.webhook_task.done():
            bot.webhook_task.cancel()
        bot.in_flight.clear()
        assert bot.webhook is not None
        bot.webhook_task = asyncio.create_task(self._run(bot, bot.webhook))

    def stop(self, bot: BotRec) -> None:
        if bot.webhook_task is not None:
            bot.webhook_task.cancel()
            bot.webhook_task = None
        bot.in_flight.clear()

    async def close(self) -> None:
        for bot in self.emu.bots.values():
            self.stop(bot)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self._session

    async def _run(self, bot: BotRec, config: WebhookConfig) -> None:
        slots = asyncio.Semaphore(config.max_connections)
        while bot.webhook is config:
            waiting = [uid for uid in bot.updates if uid not in bot.in_flight]
            if not waiting:
                bot.webhook_wakeup.clear()
                await bot.webhook_wakeup.wait()
                continue
            for update_id in waiting:
                await slots.acquire()
                if bot.webhook is not config:
                    slots.release()
                    return
                bot.in_flight.add(update_id)
                task = asyncio.create_task(self._deliver(bot, config, update_id, slots))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _deliver(
        self, bot: BotRec, config: WebhookConfig, update_id: int, slots: asyncio.Semaphore
    ) -> None:
        counters = self.emu.counters
        attempt = 0
        try:
            while bot.webhook is config:
                update = bot.updates.get(update_id)
                if update is None:
                    return
                headers = {"Content-Type": "application/json"}
                if config.secret_token:
                    headers["X-Telegram-Bot-Api-Secret-Token"] = config.secret_token
                body = json.dumps(update, ensure_ascii=False).encode()
                try:
                    async with self._client().post(config.url, data=body, headers=headers) as resp:
                        reply = await resp.read()
                        status, reason = resp.status, resp.reason
                        reply_type = resp.headers.get("Content-Type", "")
                    error = (
                        None
                        if 200 <= status < 300
                        else (f"Wrong response from the webhook: {status} {reason}")
                    )
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    error = f"Connection failed: {type(exc).__name__}: {exc}".rstrip(": ")
                if error is None:
                    bot.updates.pop(update_id, None)
                    counters.webhook_deliveries += 1
                    if reply:
                        await self._run_reply(bot, reply, reply_type)
                    return
                counters.webhook_failures += 1
                config.last_error_date = int(time.time())
                config.last_error_message = error
                attempt += 1
                if attempt >= self.emu.limits.webhook_max_attempts:
                    log.warning("dropping update %s for bot %s: %s", update_id, bot.id, error)
                    bot.updates.pop(update_id, None)
                    return
                delay = self.emu.limits.webhook_retry_base_seconds * 2 ** (attempt - 1)
                await asyncio.sleep(min(delay, 10.0))
        finally:
            bot.in_flight.discard(update_id)
            slots.release()

    async def _run_reply(self, bot: BotRec, body: bytes, content_type: str) -> None:
        """Execute a method returned in the webhook response, as Telegram does."""
        params = parse_reply_body(body, content_type)
        if params is None or self.api is None:
            return
        method = str(params.values.pop("method"))
        try:
            await self.api.call(bot, method, params)
        except ApiError as exc:
            # Telegram cannot report this to anyone; the event log is where tests can see it.
            self.emu.events.emit(
                "webhook_reply", bot_id=bot.id, method=method, ok=False, error=exc.description
            )
        else:
            self.emu.events.emit("webhook_reply", bot_id=bot.id, method=method, ok=True)
