"""A Zalo Bot Platform emulator beside the Telegram one, on the same server.

It follows Zalo's own documentation (https://bot.zaloplatforms.com/docs; a copy is in
the public repository lamdt1/ckvn-bot, docs/zalo-bot-doc.md) and what the clients that
run against the live platform show (openclaw's Zalo extension, python-zalo-bot), and
takes none of its constants from wardbot's client (bot/zalo/api.py), so that a wrong
assumption there fails against it:

- Bot API at ``/zalo/bot<token>/<method>``, GET or POST, parameters as JSON, a form or
  a query string; method names are case-sensitive. Any ``<digits>:<secret>`` token is a
  bot, created on first use. Answers ``{"ok": true, "result": ...}`` or
  ``{"ok": false, "error_code", "description"}`` with Zalo's error table: 400 bad
  request (a wrong method name too), 401 unauthorized, 403 internal server error, 404,
  408 request timeout, 429 quota exceeded (no ``retry_after``).
- getUpdates: one update per call, or 408 when none arrived within ``timeout``
  (a string, default 30 s); refused while a webhook is set.
- setWebhook ``{url, secret_token (8-256)}``; Zalo then POSTs each update wrapped as
  ``{"ok": true, "result": {"event_name", "message"}}`` with the secret in
  ``X-Bot-Api-Secret-Token``.
- Messages as Zalo sends them: ``from {id, display_name, is_bot}``, ``chat {id,
  chat_type}``, ``message_id``, ``date`` (ms), and ``text``, or ``photo_url`` (and
  ``caption``), or ``sticker`` and ``url``; "special" accounts send
  ``message.unsupported.received`` without content. There is no location event.
- sendMessage: 1 to 2,000 characters, counted in UTF-16 units (the strict reading of a
  limit whose unit Zalo does not state). sendPhoto fetches ``photo`` from its URL, twice
  (as Zalo does), and refuses what is not an image.
- Control API for simulated Zalo users and the platform's moods: ``/_control/zalo/...``
  (see ``ZaloControl.routes``): users and their messages; ``limits`` (a rate or a quota
  answered with 429); ``faults`` (the next calls of a method fail with a given code).
  How Zalo signals that a user blocked the bot is unknown, so it is not emulated.

Everything is in memory; ``reset`` forgets it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from bot.emulator.media import ImageError, image_size, make_png

Json = dict[str, Any]

# Zalo's documentation, independently of the client under test.
TEXT_MAX_UTF16 = 2000
SECRET_HEADER_NAME = "X-Bot-Api-Secret-Token"
SECRET_MIN, SECRET_MAX = 8, 256
DEFAULT_POLL_SECONDS = 30.0
# The emulator's own bound, so a test cannot hold a connection for minutes.
MAX_POLL_SECONDS = 60.0
TEXT_EVENT = "message.text.received"
IMAGE_EVENT = "message.image.received"
STICKER_EVENT = "message.sticker.received"
UNSUPPORTED_EVENT = "message.unsupported.received"
# "Bảng mã lỗi": the descriptions Zalo's table gives.
ERRORS = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Internal server error",
    404: "Not found",
    408: "Request timeout",
    429: "Quota exceeded",
}
# Zalo fetches an outgoing photo's URL more than once (openclaw issue #141415).
PHOTO_FETCHES = 2
PHOTO_MAX_BYTES = 10 * 1024 * 1024


@dataclass
class Fault:
    """The next ``times`` calls of ``method`` (to ``chat_id``, if given) fail."""

    method: str
    code: int
    times: int
    chat_id: str | None = None


@dataclass
class ZaloBot:
    token: str
    id: str
    updates: deque[Json] = field(default_factory=deque)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    webhook_url: str | None = None
    webhook_secret: str | None = None
    updated_at: int = 0
    # Token bucket: sends a second, None for unlimited.
    rate: float | None = None
    tokens: float = 0.0
    refilled: float = field(default_factory=time.monotonic)
    # Sends left before the quota is used up; None: no quota.
    quota_left: int | None = None


@dataclass
class ZaloUser:
    id: str
    name: str
    # What the user sees: both sides of the conversation with the (one) bot.
    messages: list[Json] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _now_ms() -> int:
    return int(time.time() * 1000)


class ZaloEmulator:
    def __init__(self) -> None:
        self.bots: dict[str, ZaloBot] = {}
        self.users: dict[str, ZaloUser] = {}
        self.files: dict[str, tuple[bytes, str]] = {}
        self.faults: list[Fault] = []
        self._ids = itertools.count(1)
        self.base_url = ""
        self.counters = {
            "sendMessage": 0,
            "sendPhoto": 0,
            "photo_fetches": 0,
            "quota_exceeded": 0,
            "poll_timeouts": 0,
            "faults": 0,
            "webhook_posts": 0,
        }
        self._http: aiohttp.ClientSession | None = None

    # --- state -----------------------------------------------------------------------

    def bot(self, token: str) -> ZaloBot:
        bot = self.bots.get(token)
        if bot is None:
            bot_id, _sep, secret = token.partition(":")
            if not bot_id.isdigit() or not secret:
                raise ApiError(401)
            bot = ZaloBot(token=token, id=bot_id)
            self.bots[token] = bot
        return bot

    def only_bot(self) -> ZaloBot:
        if not self.bots:
            raise ApiError(409, "no Zalo bot has connected yet")
        return next(iter(self.bots.values()))

    def create_user(self, name: str) -> ZaloUser:
        # Zalo user ids are opaque strings (the documentation shows hex ones).
        user = ZaloUser(id=f"{0x6EDE9AFA66B88FE6D6A9 + next(self._ids):x}", name=name)
        self.users[user.id] = user
        return user

    def user(self, user_id: str) -> ZaloUser:
        user = self.users.get(str(user_id))
        if user is None:
            raise ApiError(404, f"no Zalo user {user_id}")
        return user

    def _record(self, user: ZaloUser, **message: Any) -> Json:
        message.setdefault(
            "message_id", hashlib.sha1(str(next(self._ids)).encode()).hexdigest()[:20]
        )
        message.setdefault("date", _now_ms())
        user.messages.append(message)
        user.changed.set()
        user.changed = asyncio.Event()
        return message

    async def user_sends(self, user: ZaloUser, event: str, **content: Any) -> Json:
        """The user writes to the bot; ``content`` holds the message's own fields."""
        bot = self.only_bot()
        shown = dict(content)
        if "photo_url" in shown:
            shown["photo"] = shown.pop("photo_url")  # for the web chat
        message = self._record(user, sender="user", event=event, **shown)
        update = {
            "event_name": event,
            "message": {
                "from": {"id": user.id, "display_name": user.name, "is_bot": False},
                "chat": {"id": user.id, "chat_type": "PRIVATE"},
                "message_id": message["message_id"],
                "date": message["date"],
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
        headers = {SECRET_HEADER_NAME: bot.webhook_secret or ""}
        self.counters["webhook_posts"] += 1
        body = {"ok": True, "result": update}
        async with self._http.post(bot.webhook_url or "", json=body, headers=headers) as reply:
            await reply.read()

    def _fault(self, method: str, chat_id: str | None) -> None:
        for fault in self.faults:
            if fault.method == method and fault.chat_id in (None, chat_id) and fault.times > 0:
                fault.times -= 1
                self.counters["faults"] += 1
                if fault.times == 0:
                    self.faults.remove(fault)
                raise ApiError(fault.code)

    def _spend(self, bot: ZaloBot) -> None:
        """A send: within the rate and the quota, or 429 (without a retry_after)."""
        if bot.quota_left is not None and bot.quota_left <= 0:
            self.counters["quota_exceeded"] += 1
            raise ApiError(429)
        if bot.rate is not None:
            now = time.monotonic()
            bot.tokens = min(bot.rate, bot.tokens + (now - bot.refilled) * bot.rate)
            bot.refilled = now
            if bot.tokens < 1:
                self.counters["quota_exceeded"] += 1
                raise ApiError(429)
            bot.tokens -= 1
        if bot.quota_left is not None:
            bot.quota_left -= 1

    async def fetch(self, url: str) -> bytes:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        self.counters["photo_fetches"] += 1
        timeout = aiohttp.ClientTimeout(total=15)
        async with self._http.get(url, timeout=timeout) as response:
            if response.status != 200:
                raise ApiError(400, f"Bad request: the photo URL answered {response.status}")
            data = await response.content.read(PHOTO_MAX_BYTES + 1)
        if len(data) > PHOTO_MAX_BYTES:
            raise ApiError(400, "Bad request: the photo is too large")
        return data

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
        self.faults.clear()


class ApiError(Exception):
    def __init__(self, code: int, description: str | None = None) -> None:
        super().__init__(description or ERRORS.get(code, "Error"))
        self.code = code
        self.description = description or ERRORS.get(code, "Error")


def _error(exc: ApiError) -> web.Response:
    # Zalo does not document the HTTP status of an error; the code is in the body.
    body: Json = {"ok": False, "error_code": exc.code, "description": exc.description}
    return web.json_response(body, status=exc.code)


async def _params(request: web.Request) -> Json:
    """Parameters from the query string, a form or a JSON body, as Zalo accepts."""
    params: Json = dict(request.query)
    if not request.can_read_body:
        return params
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except json.JSONDecodeError:
            raise ApiError(400, "Bad request: the body is not JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Bad request: a JSON object is expected")
        return {**params, **body}
    form = await request.post()
    return {**params, **{k: v for k, v in form.items() if isinstance(v, str)}}


class ZaloBotApi:
    def __init__(self, zalo: ZaloEmulator) -> None:
        self.zalo = zalo

    async def handle(self, request: web.Request) -> web.Response:
        try:
            bot = self.zalo.bot(request.match_info["token"])
            method = request.match_info["method"]
            handler = getattr(self, f"m_{method}", None)
            if handler is None:
                raise ApiError(400, f"Bad request: no method {method}")
            params = await _params(request)
            self.zalo._fault(method, str(params.get("chat_id") or "") or None)
            result = await handler(bot, params)
        except ApiError as exc:
            return _error(exc)
        if result is _NO_RESULT:
            return web.json_response({"ok": True})
        return web.json_response({"ok": True, "result": result})

    async def m_getMe(self, bot: ZaloBot, params: Json) -> Json:
        return {
            "id": bot.id,
            "account_name": f"bot.{bot.id}",
            "account_type": "BASIC",
            "can_join_groups": False,
        }

    async def m_getUpdates(self, bot: ZaloBot, params: Json) -> Json:
        if bot.webhook_url:
            raise ApiError(400, "Bad request: getUpdates does not work while a webhook is set")
        try:
            timeout = float(params.get("timeout") or DEFAULT_POLL_SECONDS)
        except (TypeError, ValueError):
            raise ApiError(400, "Bad request: timeout must be a number of seconds") from None
        deadline = time.monotonic() + min(max(timeout, 0.0), MAX_POLL_SECONDS)
        while not bot.updates:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            bot.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(bot.arrived.wait(), timeout=left)
        if not bot.updates:
            self.zalo.counters["poll_timeouts"] += 1
            raise ApiError(408)
        return bot.updates.popleft()

    async def m_setWebhook(self, bot: ZaloBot, params: Json) -> Json:
        url = str(params.get("url") or "")
        parts = urlsplit(url)
        # Zalo wants HTTPS; plain HTTP is let through for this machine only.
        local = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")
        if not (parts.scheme == "https" or local) or not parts.hostname:
            raise ApiError(400, "Bad request: url must be an HTTPS URL")
        secret = str(params.get("secret_token") or "")
        if not SECRET_MIN <= len(secret) <= SECRET_MAX:
            raise ApiError(400, "Bad request: secret_token must be 8 to 256 characters")
        bot.webhook_url, bot.webhook_secret = url, secret
        bot.updated_at = _now_ms()
        return {"url": url, "updated_at": bot.updated_at}

    async def m_deleteWebhook(self, bot: ZaloBot, params: Json) -> Json:
        bot.webhook_url = bot.webhook_secret = None
        bot.updated_at = _now_ms()
        return {"url": "", "updated_at": bot.updated_at}

    async def m_getWebhookInfo(self, bot: ZaloBot, params: Json) -> Json:
        return {"url": bot.webhook_url or "", "updated_at": bot.updated_at}

    def _recipient(self, params: Json) -> ZaloUser:
        user = self.zalo.users.get(str(params.get("chat_id") or ""))
        if user is None:
            raise ApiError(400, "Bad request: chat_id is not a chat of this bot")
        return user

    @staticmethod
    def _text(value: Any, name: str, *, required: bool) -> str:
        if value is None or value == "":
            if required:
                raise ApiError(400, f"Bad request: {name} is required")
            return ""
        if not isinstance(value, str) or _utf16_units(value) > TEXT_MAX_UTF16:
            raise ApiError(400, f"Bad request: {name} must be 1 to 2000 characters")
        return value

    async def m_sendMessage(self, bot: ZaloBot, params: Json) -> Json:
        text = self._text(params.get("text"), "text", required=True)
        user = self._recipient(params)
        self.zalo._spend(bot)
        self.zalo.counters["sendMessage"] += 1
        sent = self.zalo._record(user, sender="bot", text=text)
        return {"message_id": sent["message_id"], "date": sent["date"]}

    async def m_sendPhoto(self, bot: ZaloBot, params: Json) -> Json:
        photo = params.get("photo")
        if not isinstance(photo, str) or urlsplit(photo).scheme not in ("http", "https"):
            raise ApiError(400, "Bad request: photo must be a URL")
        caption = self._text(params.get("caption"), "caption", required=False)
        user = self._recipient(params)
        self.zalo._spend(bot)
        fetched = [await self.zalo.fetch(photo) for _ in range(PHOTO_FETCHES)]
        try:
            width, height = image_size(fetched[-1])
        except ImageError:
            raise ApiError(400, "Bad request: photo is not an image") from None
        self.zalo.counters["sendPhoto"] += 1
        sent = self.zalo._record(
            user,
            sender="bot",
            photo=photo,
            caption=caption,
            photo_sha256=hashlib.sha256(fetched[-1]).hexdigest(),
            photo_size=[width, height],
        )
        return {"message_id": sent["message_id"], "date": sent["date"]}

    async def m_sendSticker(self, bot: ZaloBot, params: Json) -> Json:
        sticker = self._text(params.get("sticker"), "sticker", required=True)
        user = self._recipient(params)
        self.zalo._spend(bot)
        sent = self.zalo._record(user, sender="bot", sticker=sticker)
        return {"message_id": sent["message_id"], "date": sent["date"]}

    async def m_sendChatAction(self, bot: ZaloBot, params: Json) -> object:
        if params.get("action") not in ("typing", "upload_photo"):
            raise ApiError(400, "Bad request: action must be typing or upload_photo")
        self._recipient(params)
        return _NO_RESULT


# sendChatAction answers {"ok": true} without a result.
_NO_RESULT = object()


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
            web.post("/_control/zalo/users/{id}/sticker", self._wrap(self.send_sticker)),
            web.post("/_control/zalo/users/{id}/unsupported", self._wrap(self.send_unsupported)),
            web.get("/_control/zalo/users/{id}/messages", self._wrap(self.messages)),
            web.post("/_control/zalo/limits", self._wrap(self.set_limits)),
            web.post("/_control/zalo/faults", self._wrap(self.add_fault)),
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
        return await self.zalo.user_sends(self._user(request), TEXT_EVENT, text=text)

    async def send_photo(self, request: web.Request, body: Json) -> Json:
        """``{data_base64?, mime_type?, caption?}``; the bot gets a URL to fetch it
        (``photo_url``; ``"field": "photo"`` sends it under the name Zalo's table gives)."""
        raw = body.get("data_base64")
        data = base64.b64decode(raw) if isinstance(raw, str) else make_png(64, 48)
        file_id = f"f{next(self.zalo._ids)}"
        self.zalo.files[file_id] = (data, str(body.get("mime_type") or "image/png"))
        url = f"{self.zalo.base_url or f'{request.scheme}://{request.host}'}/zalo/files/{file_id}"
        field_name = "photo" if body.get("field") == "photo" else "photo_url"
        content: Json = {field_name: url}
        if body.get("caption"):
            content["caption"] = str(body["caption"])
        return await self.zalo.user_sends(self._user(request), IMAGE_EVENT, **content)

    async def send_sticker(self, request: web.Request, body: Json) -> Json:
        sticker = str(body.get("sticker") or "d063f44dc80821567819")
        url = f"https://zalo-api.zadn.vn/api/emoticon/sticker/webpc?eid={sticker}"
        return await self.zalo.user_sends(
            self._user(request), STICKER_EVENT, sticker=sticker, url=url
        )

    async def send_unsupported(self, request: web.Request, body: Json) -> Json:
        """A "special" account's message: the bot learns only that one came."""
        return await self.zalo.user_sends(self._user(request), UNSUPPORTED_EVENT)

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
        """``{per_second?, quota?}``: sends beyond the rate, or beyond ``quota`` more
        sends, get 429 "Quota exceeded" (``null`` lifts either)."""
        rate, quota = body.get("per_second"), body.get("quota")
        for bot in self.zalo.bots.values():
            if "per_second" in body:
                bot.rate = float(rate) if rate else None
                bot.tokens = bot.rate or 0.0
            if "quota" in body:
                bot.quota_left = int(quota) if quota is not None else None
        return {"per_second": rate, "quota": quota}

    async def add_fault(self, request: web.Request, body: Json) -> Json:
        """``{method, error_code, times?, chat_id?}``: the next ``times`` calls fail."""
        try:
            fault = Fault(
                method=str(body["method"]),
                code=int(body["error_code"]),
                times=int(body.get("times") or 1),
                chat_id=str(body["chat_id"]) if body.get("chat_id") else None,
            )
        except (KeyError, TypeError, ValueError):
            raise ApiError(400, "method and error_code are required") from None
        if fault.code not in ERRORS:
            raise ApiError(400, f"Zalo documents the error codes {sorted(ERRORS)}")
        self.zalo.faults.append(fault)
        return {"method": fault.method, "error_code": fault.code, "times": fault.times}

    async def get_counters(self, request: web.Request, body: Json) -> Json:
        return {**self.zalo.counters, "bots": len(self.zalo.bots)}

    async def file(self, request: web.Request) -> web.Response:
        found = self.zalo.files.get(request.match_info["id"])
        if found is None:
            raise web.HTTPNotFound()
        return web.Response(body=found[0], content_type=found[1])


def add_zalo(app: web.Application, zalo: ZaloEmulator) -> None:
    """Serve the Zalo Bot API and its control API from ``app``."""
    api = ZaloBotApi(zalo)
    app.router.add_route("*", "/zalo/bot{token}/{method}", api.handle)
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

    async def send_photo(
        self, user_id: str, data: bytes | None = None, *, caption: str | None = None
    ) -> Json:
        body: Json = {"data_base64": base64.b64encode(data).decode()} if data else {}
        if caption:
            body["caption"] = caption
        return dict(await self._post(f"/_control/zalo/users/{user_id}/photo", body))

    async def send_sticker(self, user_id: str) -> Json:
        return dict(await self._post(f"/_control/zalo/users/{user_id}/sticker"))

    async def send_unsupported(self, user_id: str) -> Json:
        return dict(await self._post(f"/_control/zalo/users/{user_id}/unsupported"))

    async def set_limits(self, per_second: float | None) -> None:
        await self._post("/_control/zalo/limits", {"per_second": per_second})

    async def set_quota(self, sends: int | None) -> None:
        """Allow ``sends`` more sends, then 429 until lifted with None."""
        await self._post("/_control/zalo/limits", {"quota": sends})

    async def fail(
        self, method: str, error_code: int, *, times: int = 1, chat_id: str | None = None
    ) -> None:
        body: Json = {"method": method, "error_code": error_code, "times": times}
        if chat_id:
            body["chat_id"] = chat_id
        await self._post("/_control/zalo/faults", body)

    async def counters(self) -> Json:
        response = await self.http.get("/_control/zalo/counters")
        return dict(response.json()["result"])

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
        *,
        photo: bool = False,
    ) -> Json:
        """The next bot message (after those already seen) containing ``contains``
        (with ``photo``: the next photo the bot sent)."""
        deadline = time.monotonic() + timeout
        while True:
            start = self.seen.get(user_id, 0)
            for message in await self.messages(user_id, after=start):
                self.seen[user_id] = message["index"] + 1
                if message["sender"] != "bot":
                    continue
                if photo and message.get("photo"):
                    return message
                if not photo and contains in (message.get("text") or ""):
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
