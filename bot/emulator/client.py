"""Async client for the emulator's control API, for tests, the demo and benchmarks.

Every acting method returns what the control API returned for the new message (a dict with
``message_id``, ``text``, ...), and remembers the event cursor at that moment so that
:meth:`EmulatorClient.wait_for_message` looks only at what happened afterwards by default.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

import httpx

Json = dict[str, Any]
MessageMatch = str | Callable[[Json], bool] | None


class EmulatorError(Exception):
    """The control API refused a request."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


# How long a wait for the bot lasts by default: it returns as soon as the answer is there,
# and a busy machine (CI beside other work) may take many seconds to produce it.
WAIT_SECONDS = 30.0


class WaitTimeout(AssertionError):
    """Nothing matching arrived in time; the message lists what the chat did receive."""


def describe_message(message: Json) -> str:
    """One line per message, for failure dumps."""
    who = "bot" if message.get("from_bot") else f"user {message['from']['id']}"
    body = message.get("text")
    if body is None:
        parts = []
        for kind in ("photo", "document", "location", "contact"):
            if message.get(kind):
                parts.append(kind)
        if message.get("new_chat_members"):
            parts.append(
                "joined: " + ", ".join(u["first_name"] for u in message["new_chat_members"])
            )
        if message.get("left_chat_member"):
            parts.append("left: " + message["left_chat_member"]["first_name"])
        caption = message.get("caption")
        body = "[" + ", ".join(parts) + "]" + (f" {caption!r}" if caption else "")
    else:
        body = repr(body)
    flags = []
    if message.get("edited"):
        flags.append("edited")
    if message.get("deleted"):
        flags.append("deleted")
    markup = message.get("reply_markup") or {}
    buttons = [
        button.get("text")
        for row in markup.get("inline_keyboard", markup.get("keyboard", []))
        for button in row
    ]
    extra = f" buttons={buttons}" if buttons else ""
    flag_text = f" ({', '.join(flags)})" if flags else ""
    return f"#{message['message_id']} {who}: {body}{extra}{flag_text}"


def _matches(message: Json, match: MessageMatch) -> bool:
    if match is None:
        return True
    if callable(match):
        return bool(match(message))
    haystack = (message.get("text") or "") + "\n" + (message.get("caption") or "")
    return match in haystack


class EmulatorClient:
    """Drive simulated people and read chats through ``/_control``."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, transport=transport)
        self._cursors: dict[int, int] = {}

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> EmulatorClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        files: Any = None,
        data: dict[str, Any] | None = None,
        http_timeout: float | None = None,
    ) -> Any:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        kwargs: dict[str, Any] = {"params": query}
        if http_timeout is not None:
            kwargs["timeout"] = http_timeout
        if files is not None:
            kwargs["files"] = files
            kwargs["data"] = {k: str(v) for k, v in (data or {}).items() if v is not None}
        elif json is not None:
            kwargs["json"] = {k: v for k, v in json.items() if v is not None}
        response = await self._http.request(method, path, **kwargs)
        payload = response.json() if response.content else None
        if response.status_code >= 400:
            message = payload.get("error") if isinstance(payload, dict) else response.text
            raise EmulatorError(response.status_code, str(message))
        return payload

    def _remember(self, result: Json) -> Json:
        message = result["message"]
        self._cursors[message["chat_id"]] = result["cursor"]
        return message

    # ------------------------------------------------------------------ admin

    async def health(self) -> Json:
        return await self._call("GET", "/_control/health")

    async def reset(self) -> None:
        """Forget people, chats and counters (bots stay registered)."""
        await self._call("POST", "/_control/reset")
        self._cursors.clear()

    async def limits(self) -> Json:
        return await self._call("GET", "/_control/limits")

    async def set_limits(self, **changes: float | int | None) -> Json:
        """Change limits at runtime, e.g. ``set_limits(private_per_second=None)``."""
        response = await self._http.patch("/_control/limits", json=changes)
        if response.status_code >= 400:
            raise EmulatorError(response.status_code, response.json().get("error", ""))
        return response.json()

    async def counters(self) -> Json:
        return await self._call("GET", "/_control/counters")

    async def reset_counters(self) -> Json:
        return await self._call("POST", "/_control/counters/reset")

    async def bots(self) -> list[Json]:
        return await self._call("GET", "/_control/bots")

    async def bot(self, bot_id: int) -> Json:
        return await self._call("GET", f"/_control/bots/{bot_id}")

    async def create_bot(
        self,
        token: str,
        username: str | None = None,
        first_name: str | None = None,
        can_read_all_group_messages: bool = False,
    ) -> Json:
        return await self._call(
            "POST",
            "/_control/bots",
            json={
                "token": token,
                "username": username,
                "first_name": first_name,
                "can_read_all_group_messages": can_read_all_group_messages,
            },
        )

    # ------------------------------------------------------- people & chats

    async def create_user(
        self,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "vi",
        label: str | None = None,
        persona: Iterable[str] = (),
        phone_number: str | None = None,
        user_id: int | None = None,
        is_premium: bool = False,
    ) -> Json:
        return await self._call(
            "POST",
            "/_control/users",
            json={
                "first_name": first_name,
                "last_name": last_name,
                "username": username,
                "language_code": language_code,
                "label": label,
                "persona": list(persona),
                "phone_number": phone_number,
                "id": user_id,
                "is_premium": is_premium,
            },
        )

    async def users(self, persona: str | None = None) -> list[Json]:
        return await self._call("GET", "/_control/users", params={"persona": persona})

    async def create_group(
        self,
        title: str,
        members: Iterable[int | tuple[int, str] | Json] = (),
        type: str = "supergroup",
        username: str | None = None,
        description: str | None = None,
    ) -> Json:
        """Members are user ids, ``(user_id, status)`` pairs or ``{user_id, status}`` dicts;
        bot ids among them are added with ``my_chat_member`` and a service message."""
        plan: list[Any] = []
        for member in members:
            if isinstance(member, tuple):
                plan.append({"user_id": member[0], "status": member[1]})
            else:
                plan.append(member)
        return await self._call(
            "POST",
            "/_control/groups",
            json={
                "title": title,
                "members": plan,
                "type": type,
                "username": username,
                "description": description,
            },
        )

    async def add_bot_to_group(
        self,
        chat_id: int,
        bot_id: int | None = None,
        status: str = "member",
        by_user_id: int | None = None,
        rights: dict[str, bool] | None = None,
    ) -> Json:
        return await self._call(
            "POST",
            f"/_control/groups/{chat_id}/add_bot",
            json={"bot_id": bot_id, "status": status, "by_user_id": by_user_id, "rights": rights},
        )

    async def remove_bot_from_group(
        self,
        chat_id: int,
        bot_id: int | None = None,
        by_user_id: int | None = None,
        ban: bool = False,
    ) -> Json:
        return await self._call(
            "POST",
            f"/_control/groups/{chat_id}/remove_bot",
            json={"bot_id": bot_id, "by_user_id": by_user_id, "ban": ban},
        )

    async def set_member(
        self,
        chat_id: int,
        user_id: int,
        status: str,
        by_user_id: int | None = None,
        rights: dict[str, bool] | None = None,
    ) -> Json:
        return await self._call(
            "POST",
            f"/_control/groups/{chat_id}/members",
            json={"user_id": user_id, "status": status, "by_user_id": by_user_id, "rights": rights},
        )

    async def block(self, user_id: int, bot_id: int | None = None) -> Json:
        return await self._call("POST", f"/_control/users/{user_id}/block", json={"bot_id": bot_id})

    async def unblock(self, user_id: int, bot_id: int | None = None) -> Json:
        return await self._call(
            "POST", f"/_control/users/{user_id}/unblock", json={"bot_id": bot_id}
        )

    async def chat(self, chat_id: int, bot_id: int | None = None) -> Json:
        return await self._call("GET", f"/_control/chats/{chat_id}", params={"bot_id": bot_id})

    async def chats(self) -> list[Json]:
        return await self._call("GET", "/_control/chats")

    # ---------------------------------------------------------------- acting

    async def _act(self, user_id: int, action: str, body: Json) -> Json:
        result = await self._call("POST", f"/_control/users/{user_id}/{action}", json=body)
        return self._remember(result)

    async def send_text(
        self,
        user_id: int,
        text: str,
        chat_id: int | None = None,
        bot_id: int | None = None,
        reply_to_message_id: int | None = None,
        entities: list[Json] | None = None,
    ) -> Json:
        """The user writes ``text`` to the bot (private chat) or into group ``chat_id``."""
        return await self._act(
            user_id,
            "send_text",
            {
                "text": text,
                "chat_id": chat_id,
                "bot_id": bot_id,
                "reply_to_message_id": reply_to_message_id,
                "entities": entities,
            },
        )

    async def send_command(
        self,
        user_id: int,
        command: str,
        payload: str | None = None,
        chat_id: int | None = None,
        bot_id: int | None = None,
    ) -> Json:
        """``/command payload`` with a bot_command entity (``/start <payload>`` = deep link)."""
        return await self._act(
            user_id,
            "send_command",
            {"command": command, "payload": payload, "chat_id": chat_id, "bot_id": bot_id},
        )

    async def share_contact(
        self,
        user_id: int,
        phone_number: str | None = None,
        contact: Json | None = None,
        chat_id: int | None = None,
        bot_id: int | None = None,
    ) -> Json:
        """Share the user's own contact, or (``contact={...}``) a forged one for tests."""
        return await self._act(
            user_id,
            "share_contact",
            {
                "phone_number": phone_number,
                "contact": contact,
                "chat_id": chat_id,
                "bot_id": bot_id,
            },
        )

    async def send_location(
        self,
        user_id: int,
        latitude: float,
        longitude: float,
        horizontal_accuracy: float | None = None,
        chat_id: int | None = None,
        bot_id: int | None = None,
    ) -> Json:
        return await self._act(
            user_id,
            "send_location",
            {
                "latitude": latitude,
                "longitude": longitude,
                "horizontal_accuracy": horizontal_accuracy,
                "chat_id": chat_id,
                "bot_id": bot_id,
            },
        )

    async def _send_file(
        self,
        user_id: int,
        action: str,
        content: bytes,
        fields: Json,
        multipart: bool,
    ) -> Json:
        if multipart:
            name = fields.get("file_name") or "upload"
            mime = fields.get("mime_type") or "application/octet-stream"
            result = await self._call(
                "POST",
                f"/_control/users/{user_id}/{action}",
                files={"file": (name, content, mime)},
                data=fields,
            )
            return self._remember(result)
        body = {**fields, "data": base64.b64encode(content).decode()}
        return await self._act(user_id, action, body)

    async def send_photo(
        self,
        user_id: int,
        content: bytes,
        caption: str | None = None,
        chat_id: int | None = None,
        bot_id: int | None = None,
        multipart: bool = False,
    ) -> Json:
        """Upload a PNG/JPEG/GIF as a photo (base64 JSON, or multipart if asked)."""
        fields = {"caption": caption, "chat_id": chat_id, "bot_id": bot_id}
        return await self._send_file(user_id, "send_photo", content, fields, multipart)

    async def send_document(
        self,
        user_id: int,
        content: bytes,
        file_name: str,
        mime_type: str | None = None,
        caption: str | None = None,
        chat_id: int | None = None,
        bot_id: int | None = None,
        multipart: bool = False,
    ) -> Json:
        fields = {
            "file_name": file_name,
            "mime_type": mime_type,
            "caption": caption,
            "chat_id": chat_id,
            "bot_id": bot_id,
        }
        return await self._send_file(user_id, "send_document", content, fields, multipart)

    async def press(
        self,
        user_id: int,
        message_id: int,
        callback_data: str,
        chat_id: int | None = None,
        bot_id: int | None = None,
        forge: bool = False,
    ) -> str:
        """Tap an inline button; returns the callback_query_id.

        Only data present on that message's keyboard is accepted unless ``forge=True``.
        """
        result = await self._call(
            "POST",
            f"/_control/users/{user_id}/press",
            json={
                "message_id": message_id,
                "callback_data": callback_data,
                "chat_id": chat_id,
                "bot_id": bot_id,
                "forge": forge or None,
            },
        )
        self._cursors[chat_id if chat_id is not None else user_id] = result["cursor"]
        return str(result["callback_query_id"])

    async def press_many(self, presses: list[Json]) -> list[Json]:
        """Many taps in one request (benchmarks); each result has callback_query_id or error."""
        result = await self._call("POST", "/_control/press_many", json={"presses": presses})
        return list(result["results"])

    # --------------------------------------------------------------- reading

    async def callback_answer(
        self,
        callback_query_id: str,
        timeout: float = WAIT_SECONDS,  # noqa: ASYNC109 - the server waits, not this coroutine
    ) -> Json:
        """The bot's answerCallbackQuery (text, show_alert, url, cache_time); waits for it."""
        record = await self._call(
            "GET",
            f"/_control/callback_answers/{callback_query_id}",
            params={"timeout": timeout},
            http_timeout=timeout + 10,
        )
        if not record.get("answered"):
            raise WaitTimeout(
                f"callback query {callback_query_id} was not answered within {timeout}s"
            )
        return record

    async def messages(
        self,
        chat_id: int,
        bot_id: int | None = None,
        since: int = 0,
        include_deleted: bool = True,
    ) -> list[Json]:
        """Messages of a chat in order (private chat: ``chat_id`` is the user id)."""
        result = await self._call(
            "GET",
            f"/_control/chats/{chat_id}/messages",
            params={
                "bot_id": bot_id,
                "since": since,
                "include_deleted": "true" if include_deleted else "false",
            },
        )
        return list(result["messages"])

    async def reply_keyboard(
        self, user_id: int, bot_id: int | None = None, include_hidden: bool = False
    ) -> Json | None:
        """The ReplyKeyboardMarkup currently shown to the user, or None.

        A one-time keyboard that was used counts as not shown unless ``include_hidden``.
        """
        result = await self._call(
            "GET", f"/_control/users/{user_id}/reply_keyboard", params={"bot_id": bot_id}
        )
        if result["markup"] is None or (result["hidden"] and not include_hidden):
            return None
        return result["markup"]

    async def user_chats(self, user_id: int) -> list[Json]:
        """Where the person can write: a private chat per bot, then the groups they are in."""
        return await self._call("GET", f"/_control/users/{user_id}/chats")

    async def events(
        self,
        since: int = 0,
        timeout: float = 0,  # noqa: ASYNC109 - a server-side long poll
        chat_id: int | None = None,
        bot_id: int | None = None,
        limit: int = 1000,
    ) -> Json:
        """Events after cursor ``since``; waits up to ``timeout`` seconds for the first one."""
        return await self._call(
            "GET",
            "/_control/events",
            params={
                "since": since,
                "timeout": timeout,
                "chat_id": chat_id,
                "bot_id": bot_id,
                "limit": limit,
            },
            http_timeout=timeout + 10,
        )

    async def wait_for_message(
        self,
        chat_id: int,
        match: MessageMatch = None,
        *,
        timeout: float = WAIT_SECONDS,  # noqa: ASYNC109 - part of the documented client interface
        bot_id: int | None = None,
        since: int | None = None,
        from_bot: bool = True,
    ) -> Json:
        """Wait until the chat has a (new or edited) message matching ``match``.

        ``match`` is a substring of the text or caption, or a predicate on the message dict.
        Only messages created or edited after ``since`` count; by default that is the moment
        of this client's last action in the chat. On timeout, raises :class:`WaitTimeout`
        listing everything the chat received.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if since is None:
            since = self._cursors.get(chat_id, 0)
        while True:
            result = await self._call(
                "GET",
                f"/_control/chats/{chat_id}/messages",
                params={"bot_id": bot_id, "since": since, "include_deleted": "false"},
            )
            for message in result["messages"]:
                if from_bot and not message["from_bot"]:
                    continue
                if _matches(message, match):
                    return message
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await self.events(
                since=result["cursor"], timeout=remaining, chat_id=chat_id, bot_id=bot_id
            )
        everything = await self.messages(chat_id, bot_id=bot_id)
        dump = "\n".join(f"  {describe_message(m)}" for m in everything) or "  (nothing)"
        wanted = "message" if match is None else f"message matching {match!r}"
        raise WaitTimeout(
            f"chat {chat_id} got no {wanted} after cursor {since} within {timeout}s; "
            f"it received:\n{dump}"
        )
