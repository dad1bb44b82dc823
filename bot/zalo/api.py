"""Everything wardbot knows about the Zalo Bot Platform API, in one place, with sources.

Sources, cited next to each fact below:

- [ZDOC] Zalo's own documentation, https://bot.zaloplatforms.com/docs (a copy is kept in
         the public repository lamdt1/ckvn-bot, docs/zalo-bot-doc.md): the URL scheme,
         methods and parameters, the webhook, the message table, the error table.
- [OC]   openclaw's Zalo extension (npm ``@openclaw/zalo``, extensions/zalo/src), which
         runs against the live platform: api.ts, monitor.webhook.ts, inbound-parsing.ts;
         PR #51543 (images arrive as ``photo_url``), issue #141415 (Zalo fetches an
         outgoing photo's URL more than once).
- [PZB]  python-zalo-bot 0.1.9 (PyPI), the SDK Zalo's documentation points to:
         ``Message.photo_url``, one update per ``get_update`` call. It is a fork of
         python-telegram-bot, so its Telegram-shaped error handling proves nothing.

Unknown (nothing published, no client shows it), and how wardbot copes:

- How a user blocking the bot is signalled. No error means "blocked": wardbot never
  marks a Zalo account unreachable on an error code (403 is a server error, below).
- The numeric rate limits. The Free and Premium plans have quotas [ZDOC terms]; a 429
  says one is used up, without ``retry_after``: wardbot backs off with growing waits
  (bot/zalo/quota.py) and tells the ward's admins when it lasts.
- The unit of the 2,000-character limit: counted in UTF-16 code units, the stricter
  reading (openclaw truncates by UTF-16 units [OC]).
- The HTTP status that carries an error: wardbot reads ``error_code`` in the JSON body
  and falls back to the HTTP status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

# [ZDOC] https://bot-api.zaloplatforms.com/bot<TOKEN>/<method>; the token is
# "<bot id>:<secret>" (e.g. "12345689:abc-xyz"). Overridden by WARDBOT_ZALO_API_URL.
DEFAULT_API_URL = "https://bot-api.zaloplatforms.com"
# [ZDOC] sendMessage text and sendPhoto caption: 1 to 2,000 characters (unit: above).
TEXT_LIMIT = 2000
# [ZDOC] setWebhook's secret_token (8-256 characters) comes back in this header.
SECRET_HEADER = "X-Bot-Api-Secret-Token"
# [ZDOC] event_name values. Messages from "special" accounts (children, people with
# disabilities, ...) always arrive as unsupported, without their content.
EVENT_TEXT = "message.text.received"
EVENT_IMAGE = "message.image.received"
EVENT_STICKER = "message.sticker.received"
EVENT_UNSUPPORTED = "message.unsupported.received"
# [ZDOC] getUpdates' timeout, sent as a string; the platform's default is 30 seconds.
POLL_TIMEOUT = 30

# [ZDOC] error table ("Bảng mã lỗi").
BAD_REQUEST = 400
UNAUTHORIZED = 401  # the token expired or is invalid
SERVER_ERROR = 403  # "Internal server error" (not "blocked", as on Telegram)
NOT_FOUND = 404
TIMEOUT = 408  # on getUpdates: nothing arrived during the long poll [OC isPollingTimeout]
QUOTA_EXCEEDED = 429  # "Quota exceeded"; no retry_after is documented


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: an emoji counts two, a Vietnamese letter one."""
    return len(text.encode("utf-16-le")) // 2


class ZaloError(Exception):
    """Zalo refused a call (``ok: false``) or the request failed."""

    def __init__(
        self,
        description: str,
        *,
        error_code: int | None = None,
        network: bool = False,
        uncertain: bool = False,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.error_code = error_code
        self.network = network
        # The request may have reached Zalo (a timeout after sending it).
        self.uncertain = uncertain

    @property
    def quota_exceeded(self) -> bool:
        return self.error_code == QUOTA_EXCEEDED

    @property
    def server_error(self) -> bool:
        """Zalo's side failed: worth retrying later, says nothing about the user."""
        return self.error_code == SERVER_ERROR or (self.error_code or 0) >= 500

    @property
    def polling_timeout(self) -> bool:
        return self.error_code == TIMEOUT

    @property
    def permanent(self) -> bool:
        """Retrying the same request cannot help (a bad chat id, a malformed request)."""
        return self.error_code in (BAD_REQUEST, NOT_FOUND)


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
    is_private: bool = True

    @classmethod
    def parse(cls, raw: Any) -> ZaloUpdate | None:
        """An update from getUpdates' result or a webhook body; None for anything
        wardbot cannot read.

        [ZDOC] a webhook body is wrapped, ``{"ok": true, "result": {"event_name",
        "message"}}``, and getUpdates' result is the inner object; [OC] accepts an
        unwrapped body too, and so does this."""
        if not isinstance(raw, dict):
            return None
        if isinstance(raw.get("result"), dict) and "message" not in raw:
            raw = raw["result"]
        message = raw.get("message")
        if not isinstance(message, dict):
            return None
        sender = message.get("from")
        chat = message.get("chat")
        sender = sender if isinstance(sender, dict) else {}
        chat = chat if isinstance(chat, dict) else {}
        user_id = sender.get("id")
        if user_id is None or isinstance(user_id, (dict, list)):
            return None
        text = message.get("text")
        if not isinstance(text, str):
            # [ZDOC] an image's text is its caption.
            text = message.get("caption") if isinstance(message.get("caption"), str) else None
        name = sender.get("display_name") or sender.get("name")  # [ZDOC]; [OC] also "name"
        return cls(
            event=str(raw.get("event_name") or EVENT_UNSUPPORTED),
            user_id=str(user_id),
            chat_id=str(chat.get("id") or user_id),
            name=name if isinstance(name, str) else None,
            message_id=str(message["message_id"]) if message.get("message_id") else None,
            text=text,
            photo_url=_photo_url(message),
            # [ZDOC] chat_type PRIVATE | GROUP (groups are "coming soon").
            is_private=str(chat.get("chat_type") or "PRIVATE").upper() == "PRIVATE",
        )


def _photo_url(message: dict[str, Any]) -> str | None:
    """[OC][PZB] real payloads carry ``photo_url``; [ZDOC]'s table says ``photo``."""
    for key in ("photo_url", "photo"):
        value = message.get(key)
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            return value
    return None


class ZaloApi:
    """A thin httpx client: one method per Zalo call, ``ok: false`` raised as ZaloError."""

    def __init__(
        self,
        token: str,
        base_url: str = DEFAULT_API_URL,
        *,
        client: httpx.AsyncClient | None = None,
        timeout: float = 15.0,
        poll_timeout: int = POLL_TIMEOUT,
    ) -> None:
        self.token = token
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.poll_timeout = poll_timeout
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, read=poll_timeout + timeout),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    async def close(self) -> None:
        await self._client.aclose()

    def _url(self, method: str) -> str:
        return f"{self.base_url}/bot{self.token}/{method}"  # [ZDOC]

    async def call(self, method: str, payload: dict[str, Any] | None = None, **kw: Any) -> Any:
        """POST a JSON body [ZDOC: GET or POST; JSON, form or multipart]."""
        try:
            response = await self._client.post(self._url(method), json=payload or {}, **kw)
        except httpx.TimeoutException as exc:
            # A write or read timeout may come after Zalo got the request.
            raise ZaloError(
                f"{method}: timeout ({type(exc).__name__})",
                network=True,
                uncertain=not isinstance(exc, httpx.ConnectTimeout),
            ) from None
        except httpx.HTTPError as exc:
            # The exception's text would carry the URL, and the token with it.
            raise ZaloError(
                f"{method}: network error ({type(exc).__name__})", network=True
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if response.status_code == 200 and body.get("ok"):
            return body.get("result")
        # [ZDOC] errors are {ok: false, error_code, description}; the HTTP status that
        # carries them is not documented.
        code = body.get("error_code") or response.status_code
        raise ZaloError(
            f"{method}: {body.get('description') or f'HTTP {response.status_code}'}",
            error_code=int(code) if str(code).isdigit() else None,
        )

    # --- methods [ZDOC] -------------------------------------------------------------------

    async def get_me(self) -> dict[str, Any]:
        """``{id, account_name, account_type, can_join_groups}``."""
        return dict(await self.call("getMe") or {})

    async def get_updates(
        self,
        timeout: int | None = None,  # noqa: ASYNC109 - Zalo holds the poll, not this coroutine
    ) -> list[ZaloUpdate]:
        """Wait up to ``timeout`` seconds for the next update. [ZDOC][OC][PZB] one update
        per call, no offset to acknowledge; [OC] 408 means nothing arrived: an empty
        list, not an error. A list result is accepted too, in case Zalo batches."""
        seconds = self.poll_timeout if timeout is None else timeout
        try:
            result = await self.call("getUpdates", {"timeout": str(seconds)})  # [ZDOC] string
        except ZaloError as exc:
            if exc.polling_timeout:
                return []
            raise
        raw = result if isinstance(result, list) else [result] if result else []
        return [u for u in (ZaloUpdate.parse(item) for item in raw) if u is not None]

    async def set_webhook(self, url: str, secret_token: str) -> Any:
        """[ZDOC] ``url`` must be HTTPS; ``secret_token`` 8-256 characters."""
        return await self.call("setWebhook", {"url": url, "secret_token": secret_token})

    async def delete_webhook(self) -> Any:
        return await self.call("deleteWebhook")

    async def get_webhook_info(self) -> dict[str, Any]:
        """``{url, updated_at}``."""
        return dict(await self.call("getWebhookInfo") or {})

    async def send_message(self, chat_id: str, text: str) -> dict[str, Any]:
        """``{message_id, date}``."""
        if not text or utf16_len(text) > TEXT_LIMIT:
            raise ValueError(f"a Zalo text holds 1 to {TEXT_LIMIT} characters")
        return dict(await self.call("sendMessage", {"chat_id": chat_id, "text": text}) or {})

    async def send_photo(self, chat_id: str, photo_url: str, caption: str = "") -> dict[str, Any]:
        """[ZDOC] ``photo`` is a URL Zalo fetches (no upload); [OC] it may fetch it more
        than once, so the URL must stay valid for a while."""
        if utf16_len(caption) > TEXT_LIMIT:
            raise ValueError(f"a Zalo caption holds at most {TEXT_LIMIT} characters")
        payload: dict[str, Any] = {"chat_id": chat_id, "photo": photo_url}
        if caption:
            payload["caption"] = caption
        return dict(await self.call("sendPhoto", payload) or {})

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> Any:
        """[ZDOC] ``typing``; ``upload_photo`` is "coming soon"."""
        return await self.call("sendChatAction", {"chat_id": chat_id, "action": action})

    async def download(self, url: str, max_bytes: int) -> bytes:
        """A photo a user sent (the update carries its URL), at most ``max_bytes``."""
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
