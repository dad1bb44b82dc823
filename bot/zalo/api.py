"""Everything wardbot assumes about the Zalo Bot Platform API, in one place.

Zalo documents the platform at https://bot.zaloplatforms.com/docs (formerly
https://bot.zapps.me/docs). What follows was gathered from third-party clients that
follow those pages, not from a contract with Zalo; each assumption says where it comes
from, so that when Zalo differs, the fix is an edit here (and in the emulator,
``bot/emulator/zalo.py``, which speaks this module's dialect):

- [TG]   DESIGN.md "Channels after Telegram": the API is shaped like Telegram's Bot API,
         ``POST <base>/bot<TOKEN>/<method>`` with a JSON body, answered with
         ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code", "description"}``.
- [OC]   openclaw's Zalo extension (extensions/zalo/src/api.ts): the base URL
         https://bot-api.zaloplatforms.com, the method names getMe, getUpdates,
         setWebhook {url, secret_token}, deleteWebhook, getWebhookInfo,
         sendMessage {chat_id, text}, sendPhoto {chat_id, photo (a URL), caption},
         sendChatAction; an update is ``{event_name, message}`` with
         ``message = {message_id, from: {id, name}, chat: {id, chat_type}, date, text |
         photo | caption | sticker}`` and event names ``message.text.received``,
         ``message.image.received``, ``message.sticker.received``,
         ``message.unsupported.received``.
- [PZB]  python-zalo-bot (PyPI): ``get_update(timeout=...)`` long polling returns the
         next update (there is no offset to acknowledge); the webhook carries the secret in
         the ``X-Bot-Api-Secret-Token`` header.
- [ZDOC] Zalo's own pages: texts up to 2,000 characters.
- [GUESS] not seen anywhere; chosen to degrade safely: HTTP 429 / error_code 429 with an
         optional ``parameters.retry_after`` means "too fast" (as on Telegram); 403 means
         the user blocked the bot; a location arrives as ``message.location =
         {latitude, longitude}`` (event ``message.location.received``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx

# [OC] The production endpoint; overridden by WARDBOT_ZALO_API_URL (the emulator's URL).
DEFAULT_API_URL = "https://bot-api.zaloplatforms.com"
# [ZDOC] Longest text sendMessage accepts.
TEXT_LIMIT = 2000
# [PZB] Header in which Zalo repeats setWebhook's secret_token.
SECRET_HEADER = "X-Bot-Api-Secret-Token"
# [OC] Event names of an update.
EVENT_TEXT = "message.text.received"
EVENT_IMAGE = "message.image.received"
EVENT_STICKER = "message.sticker.received"
EVENT_UNSUPPORTED = "message.unsupported.received"
# [GUESS] Location sharing: not seen in the clients; accepted if Zalo sends it.
EVENT_LOCATION = "message.location.received"
# [PZB] Seconds getUpdates may hold a request open.
POLL_TIMEOUT = 30


class ZaloError(Exception):
    """Zalo refused a call (``ok: false``) or the request failed."""

    def __init__(
        self,
        description: str,
        *,
        error_code: int | None = None,
        retry_after: float | None = None,
        network: bool = False,
        uncertain: bool = False,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.error_code = error_code
        self.retry_after = retry_after
        self.network = network
        # The request may have reached Zalo (a timeout after sending it).
        self.uncertain = uncertain

    @property
    def too_fast(self) -> bool:
        return self.error_code == 429  # [GUESS] as Telegram

    @property
    def blocked(self) -> bool:
        return self.error_code == 403  # [GUESS] as Telegram


@dataclass(frozen=True)
class ZaloUpdate:
    """One incoming message, reduced to what wardbot reads from it."""

    event: str
    user_id: str
    chat_id: str
    name: str | None
    message_id: str | None
    text: str | None = None
    photo_url: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    is_private: bool = True

    @classmethod
    def parse(cls, raw: Any) -> ZaloUpdate | None:
        """``{event_name, message}`` [OC]; None for anything wardbot cannot read."""
        if not isinstance(raw, dict):
            return None
        message = raw.get("message")
        if not isinstance(message, dict):
            return None
        sender = message.get("from") or {}
        chat = message.get("chat") or {}
        user_id = sender.get("id")
        if user_id is None:
            return None
        event = str(raw.get("event_name") or EVENT_UNSUPPORTED)
        location = message.get("location") or {}
        latitude = longitude = None
        if isinstance(location, dict):
            try:
                latitude = float(location["latitude"])
                longitude = float(location["longitude"])
            except (KeyError, TypeError, ValueError):
                latitude = longitude = None
        text = message.get("text")
        return cls(
            event=event,
            user_id=str(user_id),
            chat_id=str(chat.get("id") or user_id),
            # [OC] "name"; python-zalo-bot calls it display_name: take either.
            name=sender.get("name") or sender.get("display_name"),
            message_id=str(message["message_id"]) if message.get("message_id") else None,
            text=text if isinstance(text, str) else None,
            photo_url=message.get("photo") if isinstance(message.get("photo"), str) else None,
            latitude=latitude,
            longitude=longitude,
            # [OC] chat_type PRIVATE | GROUP.
            is_private=str(chat.get("chat_type") or "PRIVATE").upper() == "PRIVATE",
        )


class ZaloApi:
    """A thin httpx client: one method per Zalo call, ``ok: false`` raised as ZaloError."""

    def __init__(
        self,
        token: str,
        base_url: str = DEFAULT_API_URL,
        *,
        client: httpx.AsyncClient | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.token = token
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, read=POLL_TIMEOUT + timeout),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    async def close(self) -> None:
        await self._client.aclose()

    def _url(self, method: str) -> str:
        return f"{self.base_url}/bot{self.token}/{method}"  # [TG]

    async def call(self, method: str, payload: dict[str, Any] | None = None, **kw: Any) -> Any:
        try:
            response = await self._client.post(self._url(method), json=payload or {}, **kw)
        except httpx.TimeoutException as exc:
            # A write or read timeout may come after Zalo got the request.
            raise ZaloError(
                f"timeout: {exc}", network=True, uncertain=not isinstance(exc, httpx.ConnectTimeout)
            ) from exc
        except httpx.HTTPError as exc:
            raise ZaloError(f"network: {type(exc).__name__}: {exc}", network=True) from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if response.status_code == 200 and body.get("ok"):
            return body.get("result")
        code = body.get("error_code") or response.status_code
        retry = (body.get("parameters") or {}).get("retry_after") or response.headers.get(
            "Retry-After"
        )
        raise ZaloError(
            str(body.get("description") or f"HTTP {response.status_code}"),
            error_code=int(code) if str(code).isdigit() else None,
            retry_after=float(retry) if retry is not None else None,
        )

    # --- methods [OC] ---------------------------------------------------------------------

    async def get_me(self) -> dict[str, Any]:
        return dict(await self.call("getMe") or {})

    async def get_updates(
        self,
        timeout: int = POLL_TIMEOUT,  # noqa: ASYNC109 - Zalo holds the poll, not this coroutine
    ) -> list[ZaloUpdate]:
        """Wait up to ``timeout`` seconds for updates. [PZB] returns one update as the
        result; a list is accepted too, in case Zalo batches them like Telegram."""
        result = await self.call("getUpdates", {"timeout": str(timeout)})  # [OC] a string
        raw = result if isinstance(result, list) else [result] if result else []
        return [u for u in (ZaloUpdate.parse(item) for item in raw) if u is not None]

    async def set_webhook(self, url: str, secret_token: str) -> Any:
        return await self.call("setWebhook", {"url": url, "secret_token": secret_token})

    async def delete_webhook(self) -> Any:
        return await self.call("deleteWebhook")

    async def get_webhook_info(self) -> dict[str, Any]:
        return dict(await self.call("getWebhookInfo") or {})

    async def send_message(self, chat_id: str, text: str) -> dict[str, Any]:
        if len(text) > TEXT_LIMIT:
            raise ValueError(f"a Zalo text holds at most {TEXT_LIMIT} characters")
        return dict(await self.call("sendMessage", {"chat_id": chat_id, "text": text}) or {})

    async def send_photo(self, chat_id: str, photo_url: str, caption: str = "") -> dict[str, Any]:
        # [OC] the photo is a URL Zalo fetches, not an upload.
        payload = {"chat_id": chat_id, "photo": photo_url, "caption": caption}
        return dict(await self.call("sendPhoto", payload) or {})

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> Any:
        return await self.call("sendChatAction", {"chat_id": chat_id, "action": action})

    async def download(self, url: str, max_bytes: int) -> bytes:
        """A photo a user sent ([OC]: the update carries its URL), at most ``max_bytes``."""
        async with self._client.stream("GET", url) as response:
            response.raise_for_status()
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise ValueError("too large")
                chunks.append(chunk)
            return b"".join(chunks)


def retry_after_of(error: ZaloError, default: float = 1.0) -> float:
    return error.retry_after if error.retry_after is not None else default


async def sleep_backoff(attempt: int) -> None:
    await asyncio.sleep(min(30.0, 0.5 * 2**attempt))
