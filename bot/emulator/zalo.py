"""A Zalo Bot Platform emulator beside the Telegram one, on the same server.

It speaks the dialect ``bot/zalo/api.py`` documents (so the two change together):

- Bot API: ``/zalo/bot<token>/<method>`` — getMe, getUpdates (long polling, one update
  per call as python-zalo-bot reads it), setWebhook / deleteWebhook / getWebhookInfo,
  sendMessage (2,000 characters at most), sendPhoto (a URL), sendChatAction. Any token
  of the form ``<digits>:<secret>`` is a bot, created on first use.
- Control API for simulated Zalo users: ``/_control/zalo/...`` (see ``routes``), and
  ``/zalo/files/<id>``, where photos users send are served (Zalo gives bots a URL).
- Rate limits (optional): a per-bot token bucket answering 429 with ``retry_after``.

Everything is in memory; ``reset`` forgets it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot.emulator.media import make_png
from bot.zalo.api import (
    EVENT_IMAGE,
    EVENT_LOCATION,
    EVENT_STICKER,
    EVENT_TEXT,
    SECRET_HEADER,
    TEXT_LIMIT,
)

Json = dict[str, Any]


@dataclass
class ZaloBot:
    token: str
    id: str
    name: str
    updates: deque[Json] = field(default_factory=deque)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    webhook_url: str | None = None
    webhook_secret: str | None = None
    # Token bucket: messages a second, None for unlimited.
    rate: float | None = None
    tokens: float = 0.0
    refilled: float = field(default_factory=time.monotonic)
    blocked_by: set[str] = field(default_factory=set)


@dataclass
class ZaloUser:
    id: str
    name: str
    # What the user sees: both sides of the conversation with the (one) bot.
    messages: list[Json] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class ZaloEmulator:
    def __init__(self) -> None:
        self.bots: dict[str, ZaloBot] = {}
        self.users: dict[str, ZaloUser] = {}
        self.files: dict[str, tuple[bytes, str]] = {}
        self._ids = itertools.count(1)
        self.base_url = ""
        self.counters = {"sendMessage": 0, "sendPhoto": 0, "too_fast": 0, "webhook_posts": 0}
        self._http: aiohttp.ClientSession | None = None

    # --- state -----------------------------------------------------------------------

    def bot(self, token: str) -> ZaloBot:
        bot = self.bots.get(token)
        if bot is None:
            bot_id = token.split(":", 1)[0]
            if not bot_id.isdigit() or ":" not in token:
                raise ApiError(401, "Unauthorized: invalid bot token")
            bot = ZaloBot(token=token, id=bot_id, name=f"Zalo bot {bot_id}")
            self.bots[token] = bot
        return bot

    def only_bot(self) -> ZaloBot:
        if not self.bots:
            raise ApiError(409, "no Zalo bot has connected yet")
        return next(iter(self.bots.values()))

    def create_user(self, name: str) -> ZaloUser:
        # Zalo user ids are long opaque strings of digits.
        user = ZaloUser(id=f"{9_100_000_000_000_000 + next(self._ids)}", name=name)
        self.users[user.id] = user
        return user

    def user(self, user_id: str) -> ZaloUser:
        user = self.users.get(str(user_id))
        if user is None:
            raise ApiError(404, f"no Zalo user {user_id}")
        return user

    def _record(self, user: ZaloUser, **message: Any) -> Json:
        message.setdefault("message_id", f"m{next(self._ids)}")
        message.setdefault("date", int(time.time() * 1000))
        user.messages.append(message)
        user.changed.set()
        user.changed = asyncio.Event()
        return message

    async def user_sends(self, user: ZaloUser, event: str, **content: Any) -> Json:
        bot = self.only_bot()
        if user.id in bot.blocked_by:
            bot.blocked_by.discard(user.id)  # writing again unblocks
        message = self._record(user, sender="user", **content)
        update = {
            "event_name": event,
            "message": {
                "message_id": message["message_id"],
                "date": message["date"],
                "from": {"id": user.id, "name": user.name, "is_bot": False},
                "chat": {"id": user.id, "chat_type": "PRIVATE"},
                **content,
            },
        }
        if bot.webhook_url:
            await self._post_webhook(bot, update)
        else:
            bot.updates.append(update)
            bot.arrived.set()
        return message

    async def _post_webhook(self, bot: ZaloBot, update: Json) -> None:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        headers = {SECRET_HEADER: bot.webhook_secret or ""}
        self.counters["webhook_posts"] += 1
        async with self._http.post(bot.webhook_url or "", json=update, headers=headers) as reply:
            await reply.read()

    def _take(self, bot: ZaloBot) -> float | None:
        """None when a message may go now, else the seconds to wait (429)."""
        if bot.rate is None:
            return None
        now = time.monotonic()
        bot.tokens = min(bot.rate, bot.tokens + (now - bot.refilled) * bot.rate)
        bot.refilled = now
        if bot.tokens >= 1:
            bot.tokens -= 1
            return None
        self.counters["too_fast"] += 1
        return max(1.0, (1 - bot.tokens) / bot.rate)

    async def close(self) -> None:
        # Long polls and waiting observers return now instead of holding the shutdown.
        for bot in self.bots.values():
            bot.arrived.set()
        for user in self.users.values():
            user.changed.set()
        if self._http is not None:
            await self._http.close()

    def reset(self) -> None:
        self.bots.clear()
        self.users.clear()
        self.files.clear()


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: float | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def _error(exc: ApiError) -> web.Response:
    body: Json = {"ok": False, "error_code": exc.code, "description": exc.description}
    if exc.retry_after is not None:
        body["parameters"] = {"retry_after": exc.retry_after}
    return web.json_response(body, status=exc.code)


class ZaloBotApi:
    def __init__(self, zalo: ZaloEmulator) -> None:
        self.zalo = zalo

    async def handle(self, request: web.Request) -> web.Response:
        try:
            bot = self.zalo.bot(request.match_info["token"])
            method = request.match_info["method"]
            try:
                params = await request.json() if request.can_read_body else {}
            except json.JSONDecodeError:
                raise ApiError(400, "Bad Request: the body is not JSON") from None
            handler = getattr(self, f"m_{method}", None)
            if handler is None:
                raise ApiError(404, f"Not Found: method {method}")
            result = await handler(bot, params if isinstance(params, dict) else {})
        except ApiError as exc:
            return _error(exc)
        return web.json_response({"ok": True, "result": result})

    async def m_getMe(self, bot: ZaloBot, params: Json) -> Json:
        return {"id": bot.id, "account_name": f"bot.{bot.id}", "display_name": bot.name}

    async def m_getUpdates(self, bot: ZaloBot, params: Json) -> Json | None:
        if bot.webhook_url:
            raise ApiError(409, "Conflict: a webhook is set")
        timeout = min(float(params.get("timeout") or 0), 60.0)
        deadline = time.monotonic() + timeout
        while not bot.updates:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            bot.arrived.clear()
            try:
                await asyncio.wait_for(bot.arrived.wait(), timeout=left)
            except TimeoutError:
                return None
        return bot.updates.popleft()

    async def m_setWebhook(self, bot: ZaloBot, params: Json) -> Json:
        url = str(params.get("url") or "")
        if not url.startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: url is required")
        bot.webhook_url = url
        bot.webhook_secret = str(params.get("secret_token") or "")
        return {"url": url}

    async def m_deleteWebhook(self, bot: ZaloBot, params: Json) -> Json:
        bot.webhook_url = bot.webhook_secret = None
        return {"url": ""}

    async def m_getWebhookInfo(self, bot: ZaloBot, params: Json) -> Json:
        return {"url": bot.webhook_url or "", "pending_update_count": len(bot.updates)}

    def _recipient(self, bot: ZaloBot, params: Json) -> ZaloUser:
        chat_id = str(params.get("chat_id") or "")
        user = self.zalo.users.get(chat_id)
        if user is None:
            raise ApiError(400, "Bad Request: chat not found")
        if user.id in bot.blocked_by:
            raise ApiError(403, "Forbidden: the user has blocked the bot")
        wait = self.zalo._take(bot)
        if wait is not None:
            raise ApiError(429, "Too Many Requests", retry_after=round(wait, 2))
        return user

    async def m_sendMessage(self, bot: ZaloBot, params: Json) -> Json:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: text is empty")
        if len(text) > TEXT_LIMIT:
            raise ApiError(400, f"Bad Request: text is longer than {TEXT_LIMIT} characters")
        user = self._recipient(bot, params)
        self.zalo.counters["sendMessage"] += 1
        sent = self.zalo._record(user, sender="bot", text=text)
        return {"message_id": sent["message_id"], "date": sent["date"]}

    async def m_sendPhoto(self, bot: ZaloBot, params: Json) -> Json:
        photo = params.get("photo")
        if not isinstance(photo, str) or not photo.startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: photo must be a URL")
        user = self._recipient(bot, params)
        self.zalo.counters["sendPhoto"] += 1
        sent = self.zalo._record(
            user, sender="bot", photo=photo, caption=str(params.get("caption") or "")
        )
        return {"message_id": sent["message_id"], "date": sent["date"]}

    async def m_sendChatAction(self, bot: ZaloBot, params: Json) -> bool:
        return True


class ZaloControl:
    """Simulated Zalo users, for tests, the demo and benchmarks."""

    def __init__(self, zalo: ZaloEmulator) -> None:
        self.zalo = zalo

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/_control/zalo/users", self._wrap(self.create_user)),
            web.get("/_control/zalo/users", self._wrap(self.list_users)),
            web.post("/_control/zalo/users/{id}/text", self._wrap(self.send_text)),
            web.post("/_control/zalo/users/{id}/photo", self._wrap(self.send_photo)),
            web.post("/_control/zalo/users/{id}/location", self._wrap(self.send_location)),
            web.post("/_control/zalo/users/{id}/sticker", self._wrap(self.send_sticker)),
            web.post("/_control/zalo/users/{id}/block", self._wrap(self.block)),
            web.get("/_control/zalo/users/{id}/messages", self._wrap(self.messages)),
            web.post("/_control/zalo/limits", self._wrap(self.set_limits)),
            web.get("/_control/zalo/counters", self._wrap(self.get_counters)),
            web.get("/zalo/files/{id}", self.file),
        ]

    @staticmethod
    def _wrap(handler: Any) -> Any:
        async def wrapped(request: web.Request) -> web.Response:
            try:
                body = await request.json() if request.can_read_body else {}
            except json.JSONDecodeError:
                body = None
            if not isinstance(body, dict):
                return web.json_response({"ok": False, "error": "JSON object expected"}, status=400)
            try:
                return web.json_response({"ok": True, "result": await handler(request, body)})
            except ApiError as exc:
                return web.json_response({"ok": False, "error": exc.description}, status=exc.code)

        return wrapped

    async def create_user(self, request: web.Request, body: Json) -> Json:
        name = str(body.get("name") or "").strip()
        if not name:
            raise ApiError(400, "name is required")
        user = self.zalo.create_user(name)
        return {"id": user.id, "name": user.name}

    async def list_users(self, request: web.Request, body: Json) -> list[Json]:
        return [{"id": u.id, "name": u.name} for u in self.zalo.users.values()]

    def _user(self, request: web.Request) -> ZaloUser:
        return self.zalo.user(request.match_info["id"])

    async def send_text(self, request: web.Request, body: Json) -> Json:
        text = body.get("text")
        if not isinstance(text, str) or not text:
            raise ApiError(400, "text is required")
        return await self.zalo.user_sends(self._user(request), EVENT_TEXT, text=text)

    async def send_photo(self, request: web.Request, body: Json) -> Json:
        raw = body.get("data_base64")
        data = base64.b64decode(raw) if isinstance(raw, str) else make_png(64, 48)
        file_id = f"f{next(self.zalo._ids)}"
        self.zalo.files[file_id] = (data, str(body.get("mime_type") or "image/png"))
        url = f"{self.zalo.base_url or f'{request.scheme}://{request.host}'}/zalo/files/{file_id}"
        content: Json = {"photo": url}
        if body.get("caption"):
            content["caption"] = str(body["caption"])
        return await self.zalo.user_sends(self._user(request), EVENT_IMAGE, **content)

    async def send_location(self, request: web.Request, body: Json) -> Json:
        try:
            location = {"latitude": float(body["latitude"]), "longitude": float(body["longitude"])}
        except (KeyError, TypeError, ValueError):
            raise ApiError(400, "latitude and longitude are required") from None
        return await self.zalo.user_sends(self._user(request), EVENT_LOCATION, location=location)

    async def send_sticker(self, request: web.Request, body: Json) -> Json:
        sticker = str(body.get("sticker") or "d063f44dc80821567819")
        return await self.zalo.user_sends(self._user(request), EVENT_STICKER, sticker=sticker)

    async def block(self, request: web.Request, body: Json) -> Json:
        user = self._user(request)
        self.zalo.only_bot().blocked_by.add(user.id)
        return {"blocked": True}

    async def messages(self, request: web.Request, body: Json) -> list[Json]:
        """The conversation; ``?after=<index>&wait=<seconds>`` waits for something new."""
        user = self._user(request)
        after = int(request.query.get("after", "0"))
        wait = min(float(request.query.get("wait", "0")), 30.0)
        if wait and len(user.messages) <= after:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(user.changed.wait(), timeout=wait)
        return [{"index": i, **m} for i, m in enumerate(user.messages) if i >= after]

    async def set_limits(self, request: web.Request, body: Json) -> Json:
        rate = body.get("per_second")
        for bot in self.zalo.bots.values():
            bot.rate = float(rate) if rate else None
            bot.tokens = bot.rate or 0.0
        return {"per_second": rate}

    async def get_counters(self, request: web.Request, body: Json) -> Json:
        return dict(self.zalo.counters)

    async def file(self, request: web.Request) -> web.Response:
        found = self.zalo.files.get(request.match_info["id"])
        if found is None:
            raise web.HTTPNotFound()
        return web.Response(body=found[0], content_type=found[1])


def add_zalo(app: web.Application, zalo: ZaloEmulator) -> None:
    """Serve the Zalo Bot API and its control API from ``app``."""
    api = ZaloBotApi(zalo)
    app.router.add_route("POST", "/zalo/bot{token}/{method}", api.handle)
    app.router.add_routes(ZaloControl(zalo).routes())

    async def on_shutdown(app: web.Application) -> None:
        await zalo.close()

    app.on_shutdown.append(on_shutdown)


class ZaloPeople:
    """Test and demo helper: acts as Zalo users through the control API."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout + 10)
        self.seen: dict[str, int] = {}

    async def close(self) -> None:
        await self.http.aclose()

    async def _post(self, path: str, body: Json | None = None) -> Any:
        response = await self.http.post(path, json=body or {})
        payload = response.json()
        if not payload.get("ok"):
            raise AssertionError(f"{path}: {payload}")
        return payload["result"]

    async def create_user(self, name: str) -> Json:
        return dict(await self._post("/_control/zalo/users", {"name": name}))

    async def send_text(self, user_id: str, text: str) -> Json:
        return dict(await self._post(f"/_control/zalo/users/{user_id}/text", {"text": text}))

    async def send_photo(self, user_id: str, data: bytes | None = None) -> Json:
        body = {"data_base64": base64.b64encode(data).decode()} if data else {}
        return dict(await self._post(f"/_control/zalo/users/{user_id}/photo", body))

    async def send_location(self, user_id: str, latitude: float, longitude: float) -> Json:
        body = {"latitude": latitude, "longitude": longitude}
        return dict(await self._post(f"/_control/zalo/users/{user_id}/location", body))

    async def send_sticker(self, user_id: str) -> Json:
        return dict(await self._post(f"/_control/zalo/users/{user_id}/sticker"))

    async def set_limits(self, per_second: float | None) -> None:
        await self._post("/_control/zalo/limits", {"per_second": per_second})

    async def messages(self, user_id: str, after: int = 0, wait: float = 0) -> list[Json]:
        response = await self.http.get(
            f"/_control/zalo/users/{user_id}/messages", params={"after": after, "wait": wait}
        )
        return list(response.json()["result"])

    async def wait_for(
        self,
        user_id: str,
        contains: str,
        timeout: float = 30.0,  # noqa: ASYNC109 - bounds server-side long polls
    ) -> Json:
        """The next bot message (after those already seen) containing ``contains``."""
        deadline = time.monotonic() + timeout
        while True:
            start = self.seen.get(user_id, 0)
            for message in await self.messages(user_id, after=start):
                self.seen[user_id] = message["index"] + 1
                if message["sender"] == "bot" and contains in (message.get("text") or ""):
                    return message
            left = deadline - time.monotonic()
            if left <= 0:
                history = [m.get("text") for m in await self.messages(user_id)][-6:]
                raise AssertionError(f"no Zalo message with {contains!r}; last: {history}")
            await self.messages(user_id, after=self.seen.get(user_id, 0), wait=min(left, 5.0))

    async def say(
        self,
        user_id: str,
        text: str,
        expect: str,
        timeout: float = 30.0,  # noqa: ASYNC109 - bounds server-side long polls
    ) -> Json:
        await self.send_text(user_id, text)
        return await self.wait_for(user_id, expect, timeout=timeout)
