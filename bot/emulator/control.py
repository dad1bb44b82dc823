"""The control API: JSON over HTTP under ``/_control`` for tests, demos and benchmarks.

Through it, simulated people act (write, press buttons, share contacts, upload files) and
observers read what each chat received. See README.md in this package for the reference.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.emulator.entities import EntityParseError, utf16_len
from bot.emulator.models import ApiError, ChatRec, Json, MsgRec, UserRec
from bot.emulator.state import ControlError, Emulator

ControlHandler = Callable[[web.Request], Awaitable[Any]]


def _ok(payload: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(payload, ensure_ascii=False).encode(),
        status=status,
        content_type="application/json",
    )


def _int(value: Any, name: str, default: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise ControlError(400, f"{name} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ControlError(400, f"{name} must be an integer") from None


def _float(value: Any, name: str) -> float:
    if value is None or isinstance(value, bool):
        raise ControlError(400, f"{name} is required and must be a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ControlError(400, f"{name} must be a number") from None


def _required_int(body: Json, name: str) -> int:
    value = _int(body.get(name), name)
    if value is None:
        raise ControlError(400, f"{name} is required")
    return value


async def _body(request: web.Request) -> Json:
    """A JSON object body, or a multipart form whose file part is exposed as ``_file``."""
    if not request.can_read_body:
        return {}
    if request.content_type == "multipart/form-data":
        form = await request.post()
        body: Json = {}
        for key, value in form.items():
            if isinstance(value, web.FileField):
                body["_file"] = (value.file.read(), value.filename, value.content_type)
            else:
                body[key] = value
        return body
    try:
        parsed = json.loads(await request.read() or b"{}")
    except ValueError:
        raise ControlError(400, "request body must be JSON") from None
    if not isinstance(parsed, dict):
        raise ControlError(400, "request body must be a JSON object")
    return parsed


_DEEP_LINK = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ControlApi:
    """Route handlers for ``/_control``; all state lives in the :class:`Emulator`."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu

    def routes(self) -> list[web.RouteDef]:
        r = self._route
        return [
            r("GET", "/_control/health", self.health),
            r("GET", "/_control/bots", self.list_bots),
            r("POST", "/_control/bots", self.create_bot),
            r("GET", "/_control/bots/{bot_id}", self.get_bot),
            r("GET", "/_control/users", self.list_users),
            r("POST", "/_control/users", self.create_user),
            r("GET", "/_control/users/{user_id}", self.get_user),
            r("POST", "/_control/users/{user_id}/block", self.block),
            r("POST", "/_control/users/{user_id}/unblock", self.unblock),
            r("POST", "/_control/users/{user_id}/send_text", self.send_text),
            r("POST", "/_control/users/{user_id}/send_command", self.send_command),
            r("POST", "/_control/users/{user_id}/share_contact", self.share_contact),
            r("POST", "/_control/users/{user_id}/send_location", self.send_location),
            r("POST", "/_control/users/{user_id}/send_photo", self.send_photo),
            r("POST", "/_control/users/{user_id}/send_document", self.send_document),
            r("POST", "/_control/users/{user_id}/press", self.press),
            r("GET", "/_control/users/{user_id}/reply_keyboard", self.reply_keyboard),
            r("GET", "/_control/users/{user_id}/chats", self.user_chats),
            r("POST", "/_control/press_many", self.press_many),
            r("POST", "/_control/groups", self.create_group),
            r("POST", "/_control/groups/{chat_id}/members", self.set_member),
            r("POST", "/_control/groups/{chat_id}/add_bot", self.add_bot),
            r("POST", "/_control/groups/{chat_id}/remove_bot", self.remove_bot),
            r("GET", "/_control/chats", self.list_chats),
            r("GET", "/_control/chats/{chat_id}", self.get_chat),
            r("GET", "/_control/chats/{chat_id}/messages", self.messages),
            r("GET", "/_control/callback_answers/{query_id}", self.callback_answer),
            r("GET", "/_control/events", self.events),
            r("GET", "/_control/files/{unique_id}", self.file_content),
            r("POST", "/_control/reset", self.reset),
            r("GET", "/_control/limits", self.get_limits),
            r("PATCH", "/_control/limits", self.set_limits),
            r("PUT", "/_control/limits", self.set_limits),
            r("GET", "/_control/counters", self.counters),
            r("POST", "/_control/counters/reset", self.reset_counters),
        ]

    @staticmethod
    def _route(method: str, path: str, handler: ControlHandler) -> web.RouteDef:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            try:
                result = await handler(request)
            except ControlError as exc:
                return _ok({"error": exc.message}, status=exc.status)
            except ApiError as exc:
                return _ok({"error": exc.description}, status=exc.code)
            if isinstance(result, web.StreamResponse):
                return result
            return _ok(result)

        return web.route(method, path, wrapped)

    # -------------------------------------------------------------- lookups

    def _user(self, request: web.Request) -> UserRec:
        user_id = _int(request.match_info["user_id"], "user_id")
        assert user_id is not None
        return self.emu.user(user_id)

    def _group(self, request: web.Request) -> ChatRec:
        chat_id = _int(request.match_info["chat_id"], "chat_id")
        assert chat_id is not None
        return self.emu.group(chat_id)

    def _acted(self, msg: MsgRec, delivered: list[int]) -> Json:
        return {
            "message": msg.control(),
            "delivered_to": delivered,
            "cursor": self.emu.events.last_seq,
        }

    # ---------------------------------------------------------------- admin

    async def health(self, request: web.Request) -> Json:
        zalo = getattr(self.emu, "zalo", None)
        return {
            "ok": True,
            "bots": len(self.emu.bots),
            "cursor": self.emu.events.last_seq,
            # Who is receiving updates already: Telegram bots that polled or set a webhook,
            # and whether a Zalo bot has called the Zalo API (the web chat says "starting").
            "connected": {
                "telegram": [
                    bot_id for bot_id, bot in self.emu.bots.items() if bot.connected.is_set()
                ],
                "zalo": bool(zalo and zalo.bots),
            },
        }

    async def list_bots(self, request: web.Request) -> list[Json]:
        return [self._bot_info(bot_id) for bot_id in self.emu.bots]

    def _bot_info(self, bot_id: int) -> Json:
        bot = self.emu.bot(bot_id)
        return {
            **bot.me(),
            "token": bot.token,
            "webhook_url": bot.webhook.url if bot.webhook else None,
            "pending_updates": len(bot.updates),
            "connected": bot.connected.is_set(),
            "commands": {key: list(value) for key, value in bot.commands.items()},
        }

    async def create_bot(self, request: web.Request) -> Json:
        body = await _body(request)
        token = body.get("token")
        if not isinstance(token, str):
            raise ControlError(400, "token is required")
        try:
            bot = self.emu.add_bot(
                token,
                username=body.get("username"),
                first_name=body.get("first_name"),
                can_read_all_group_messages=bool(body.get("can_read_all_group_messages")),
            )
        except ValueError as exc:
            raise ControlError(400, str(exc)) from None
        return self._bot_info(bot.id)

    async def get_bot(self, request: web.Request) -> Json:
        return self._bot_info(_int(request.match_info["bot_id"], "bot_id") or 0)

    async def reset(self, request: web.Request) -> Json:
        self.emu.reset()
        return {"ok": True}

    async def get_limits(self, request: web.Request) -> Json:
        return self.emu.limits.to_dict()

    async def set_limits(self, request: web.Request) -> Json:
        body = await _body(request)
        try:
            limits = self.emu.limits.updated(body)
        except ValueError as exc:
            raise ControlError(400, str(exc)) from None
        self.emu.set_limits(limits)
        return limits.to_dict()

    async def counters(self, request: web.Request) -> Json:
        return self.emu.counters.snapshot()

    async def reset_counters(self, request: web.Request) -> Json:
        self.emu.counters.__init__()  # type: ignore[misc]  # same object, fresh tallies
        return self.emu.counters.snapshot()

    # ------------------------------------------------------- people & chats

    async def create_user(self, request: web.Request) -> Json:
        body = await _body(request)
        persona = body.get("persona") or []
        if isinstance(persona, str):
            persona = [persona]
        if not isinstance(persona, list) or not all(isinstance(p, str) for p in persona):
            raise ControlError(400, "persona must be a list of strings")
        user = self.emu.create_user(
            first_name=body.get("first_name") or "",
            last_name=body.get("last_name"),
            username=body.get("username"),
            language_code=body.get("language_code"),
            label=body.get("label"),
            persona=persona,
            phone_number=body.get("phone_number"),
            is_premium=bool(body.get("is_premium")),
            user_id=_int(body.get("id"), "id"),
        )
        return user.control()

    async def list_users(self, request: web.Request) -> list[Json]:
        persona = request.query.get("persona")
        return [
            user.control()
            for user in self.emu.users.values()
            if not user.is_bot and (persona is None or persona in user.persona)
        ]

    async def get_user(self, request: web.Request) -> Json:
        return self._user(request).control()

    async def create_group(self, request: web.Request) -> Json:
        body = await _body(request)
        members = []
        for item in body.get("members") or []:
            if isinstance(item, int):
                members.append((item, "member"))
            elif isinstance(item, dict):
                members.append(
                    (_required_int(item, "user_id"), str(item.get("status") or "member"))
                )
            else:
                raise ControlError(400, "members must be user ids or {user_id, status} objects")
        chat = self.emu.create_group(
            title=str(body.get("title") or ""),
            members=members,
            chat_type=str(body.get("type") or "supergroup"),
            username=body.get("username"),
            description=body.get("description"),
        )
        return chat.control()

    async def set_member(self, request: web.Request) -> Json:
        chat = self._group(request)
        body = await _body(request)
        user = self.emu.users.get(_required_int(body, "user_id"))
        if user is None:
            raise ControlError(404, f"no user with id {body['user_id']}")
        by_id = _int(body.get("by_user_id"), "by_user_id")
        by = self.emu.user(by_id) if by_id is not None else None
        rights = body.get("rights")
        if rights is not None and not isinstance(rights, dict):
            raise ControlError(400, "rights must be an object of booleans")
        msg = self.emu.set_member(
            chat, user, str(body.get("status") or "member"), by=by, rights=rights
        )
        return {"chat": chat.control(), "service_message": msg.control() if msg else None}

    async def add_bot(self, request: web.Request) -> Json:
        return await self._bot_membership(request, add=True)

    async def remove_bot(self, request: web.Request) -> Json:
        return await self._bot_membership(request, add=False)

    async def _bot_membership(self, request: web.Request, add: bool) -> Json:
        chat = self._group(request)
        body = await _body(request)
        bot = self.emu.bot(_int(body.get("bot_id"), "bot_id"))
        by_id = _int(body.get("by_user_id"), "by_user_id")
        if by_id is None:
            by_id = next(
                (uid for uid, m in chat.members.items() if m.status == "creator"),
                next((uid for uid, m in chat.members.items() if m.present), None),
            )
        by = self.emu.users.get(by_id) if by_id is not None else None
        if add:
            status = str(body.get("status") or "member")
            if status not in {"member", "administrator"}:
                raise ControlError(400, "status must be member or administrator")
        else:
            status = "kicked" if body.get("ban") else "left"
        msg = self.emu.set_member(chat, bot.user, status, by=by, rights=body.get("rights"))
        return {"chat": chat.control(), "service_message": msg.control() if msg else None}

    async def block(self, request: web.Request) -> Json:
        return await self._set_blocked(request, True)

    async def unblock(self, request: web.Request) -> Json:
        return await self._set_blocked(request, False)

    async def _set_blocked(self, request: web.Request, blocked: bool) -> Json:
        user = self._user(request)
        body = await _body(request)
        bot = self.emu.bot(_int(body.get("bot_id"), "bot_id"))
        changed = self.emu.set_blocked(user, bot, blocked)
        return {"blocked": blocked, "changed": changed, "cursor": self.emu.events.last_seq}

    async def list_chats(self, request: web.Request) -> list[Json]:
        chats: list[ChatRec] = [*self.emu.groups.values(), *self.emu.private.values()]
        return [chat.control() for chat in chats]

    def _chat_from_request(self, request: web.Request) -> ChatRec:
        chat_id = _int(request.match_info["chat_id"], "chat_id")
        assert chat_id is not None
        return self.emu.control_chat(chat_id, _int(request.query.get("bot_id"), "bot_id"))

    async def get_chat(self, request: web.Request) -> Json:
        chat = self._chat_from_request(request)
        data = chat.control()
        data["last_action"] = chat.last_action
        if chat.type == "private":
            data["reply_keyboard"] = chat.reply_keyboard
            data["keyboard_hidden"] = chat.keyboard_hidden
        return data

    # -------------------------------------------------------------- acting

    async def _target(self, request: web.Request) -> tuple[UserRec, ChatRec, Json]:
        user = self._user(request)
        body = await _body(request)
        chat = self.emu.chat_for_user(
            user, _int(body.get("chat_id"), "chat_id"), _int(body.get("bot_id"), "bot_id")
        )
        return user, chat, body

    async def send_text(self, request: web.Request) -> Json:
        user, chat, body = await self._target(request)
        text = body.get("text")
        if not isinstance(text, str):
            raise ControlError(400, "text is required")
        entities = body.get("entities")
        msg, delivered = self.emu.user_message(
            user,
            chat,
            text=text,
            entities=entities if isinstance(entities, list) else None,
            reply_to_message_id=_int(body.get("reply_to_message_id"), "reply_to_message_id"),
        )
        return self._acted(msg, delivered)

    async def send_command(self, request: web.Request) -> Json:
        user, chat, body = await self._target(request)
        command = str(body.get("command") or "").lstrip("/")
        if not re.fullmatch(r"[A-Za-z0-9_]{1,32}", command):
            raise ControlError(400, "command must be 1-32 letters, digits or underscores")
        payload = body.get("payload")
        if payload is not None:
            payload = str(payload)
            if command == "start" and not _DEEP_LINK.match(payload):
                raise ControlError(
                    400, "a deep-link payload is 1-64 characters from A-Z, a-z, 0-9, _ and -"
                )
        head = f"/{command}"
        if chat.type != "private":
            bot = self.emu.bot(_int(body.get("bot_id"), "bot_id"))
            head += f"@{bot.user.username}"
        text = f"{head} {payload}" if payload else head
        try:
            entities = [{"type": "bot_command", "offset": 0, "length": utf16_len(head)}]
            msg, delivered = self.emu.user_message(user, chat, text=text, entities=entities)
        except EntityParseError as exc:  # pragma: no cover - entities above are well-formed
            raise ControlError(400, str(exc)) from None
        return self._acted(msg, delivered)

    async def share_contact(self, request: web.Request) -> Json:
        user, chat, body = await self._target(request)
        forged = body.get("contact")
        if forged is not None:
            if not isinstance(forged, dict) or not forged.get("phone_number"):
                raise ControlError(400, "contact must be an object with phone_number")
            contact: Json = {
                "phone_number": str(forged["phone_number"]),
                "first_name": str(forged.get("first_name") or "Unknown"),
            }
            if forged.get("last_name"):
                contact["last_name"] = str(forged["last_name"])
            if forged.get("user_id") is not None:
                contact["user_id"] = _int(forged["user_id"], "contact.user_id")
            if forged.get("vcard"):
                contact["vcard"] = str(forged["vcard"])
        else:
            contact = {
                "phone_number": str(body.get("phone_number") or user.phone_number),
                "first_name": user.first_name,
            }
            if user.last_name:
                contact["last_name"] = user.last_name
            contact["user_id"] = user.id
        msg, delivered = self.emu.user_message(user, chat, contact=contact)
        return self._acted(msg, delivered)

    async def send_location(self, request: web.Request) -> Json:
        user, chat, body = await self._target(request)
        latitude = _float(body.get("latitude"), "latitude")
        longitude = _float(body.get("longitude"), "longitude")
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise ControlError(400, "latitude/longitude out of range")
        location: Json = {"latitude": latitude, "longitude": longitude}
        if body.get("horizontal_accuracy") is not None:
            location["horizontal_accuracy"] = _float(
                body["horizontal_accuracy"], "horizontal_accuracy"
            )
        msg, delivered = self.emu.user_message(user, chat, location=location)
        return self._acted(msg, delivered)

    async def send_photo(self, request: web.Request) -> Json:
        return await self._send_file(request, "photo")

    async def send_document(self, request: web.Request) -> Json:
        return await self._send_file(request, "document")

    async def _send_file(self, request: web.Request, kind: str) -> Json:
        user, chat, body = await self._target(request)
        if "_file" in body:
            content, file_name, mime_type = body["_file"]
        else:
            encoded = body.get("data")
            if not isinstance(encoded, str):
                raise ControlError(400, "data (base64) or a multipart file part is required")
            try:
                content = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise ControlError(400, "data is not valid base64") from None
            file_name, mime_type = None, None
        file_name = body.get("file_name") or file_name
        mime_type = body.get("mime_type") or mime_type
        if not content:
            raise ControlError(400, "the file is empty")
        if kind == "document" and not file_name:
            file_name = "document.bin"
        try:
            stored = self.emu.store_upload(
                content, kind, file_name if kind == "document" else None, mime_type
            )
        except ValueError as exc:
            raise ControlError(400, f"not an image Telegram would accept: {exc}") from None
        caption = body.get("caption")
        msg, delivered = self.emu.user_message(
            user,
            chat,
            caption=str(caption) if caption else None,
            **{kind: stored},
        )
        return self._acted(msg, delivered)

    async def press(self, request: web.Request) -> Json:
        user = self._user(request)
        body = await _body(request)
        return self._press(user, body)

    def _press(self, user: UserRec, body: Json) -> Json:
        bot = self.emu.bot(_int(body.get("bot_id"), "bot_id"))
        chat_id = _int(body.get("chat_id"), "chat_id", default=user.id)
        assert chat_id is not None
        if chat_id > 0 and chat_id != user.id:
            raise ControlError(400, "a user can only press buttons in their own chat or a group")
        chat = self.emu.control_chat(chat_id, bot.id)
        data = body.get("callback_data")
        if not isinstance(data, str):
            raise ControlError(400, "callback_data is required")
        record = self.emu.press(
            user,
            chat,
            bot,
            _required_int(body, "message_id"),
            data,
            forge=bool(body.get("forge")),
        )
        return {"callback_query_id": record.id, "cursor": self.emu.events.last_seq}

    async def press_many(self, request: web.Request) -> Json:
        body = await _body(request)
        presses = body.get("presses")
        if not isinstance(presses, list):
            raise ControlError(400, "presses must be a list")
        results: list[Json] = []
        for item in presses:
            try:
                if not isinstance(item, dict):
                    raise ControlError(400, "each press must be an object")
                user = self.emu.user(_required_int(item, "user_id"))
                results.append(self._press(user, item))
            except ControlError as exc:
                results.append({"error": exc.message, "status": exc.status})
        return {"results": results, "cursor": self.emu.events.last_seq}

    # ------------------------------------------------------------ observing

    async def messages(self, request: web.Request) -> Json:
        chat = self._chat_from_request(request)
        since = _int(request.query.get("since"), "since", default=0) or 0
        include_deleted = request.query.get("include_deleted", "true").lower() != "false"
        result = [
            msg.control() for msg in chat.changed_since(since) if include_deleted or not msg.deleted
        ]
        return {"chat": chat.control(), "messages": result, "cursor": self.emu.events.last_seq}

    async def reply_keyboard(self, request: web.Request) -> Json:
        user = self._user(request)
        bot = self.emu.bot(_int(request.query.get("bot_id"), "bot_id"))
        chat = self.emu.private.get((bot.id, user.id))
        markup = chat.reply_keyboard if chat else None
        hidden = bool(chat and chat.keyboard_hidden)
        return {
            "markup": markup,
            "hidden": hidden,
            "buttons": [[b["text"] for b in row] for row in markup["keyboard"]] if markup else [],
        }

    async def user_chats(self, request: web.Request) -> list[Json]:
        """Where this person can write: a private chat with each bot, then their groups."""
        user = self._user(request)
        chats: list[Json] = []
        for bot in self.emu.bots.values():
            private = self.emu.private.get((bot.id, user.id))
            chats.append(
                {
                    "id": user.id,
                    "type": "private",
                    "bot_id": bot.id,
                    "title": bot.user.full_name,
                    "bot_username": bot.user.username,
                    "started": bool(private and private.messages),
                    "blocked": bool(private and private.blocked),
                }
            )
        for group in self.emu.groups.values():
            member = group.members.get(user.id)
            if member is not None and member.present:
                chats.append({"id": group.id, "type": group.type, "title": group.title})
        return chats

    async def callback_answer(self, request: web.Request) -> Json:
        timeout = float(request.query.get("timeout") or 0)
        record = await self.emu.wait_callback_answer(
            request.match_info["query_id"], min(max(timeout, 0.0), 60.0)
        )
        return record.control()

    async def events(self, request: web.Request) -> Json:
        since = _int(request.query.get("since"), "since", default=0) or 0
        timeout = min(max(float(request.query.get("timeout") or 0), 0.0), 60.0)
        limit = min(max(_int(request.query.get("limit"), "limit", default=1000) or 1, 1), 10_000)
        chat_id = _int(request.query.get("chat_id"), "chat_id")
        bot_id = _int(request.query.get("bot_id"), "bot_id")
        log = self.emu.events
        loop_deadline = None
        while True:
            batch, truncated = log.since(since, limit)
            matching = [
                event
                for event in batch
                if (chat_id is None or event.get("chat_id") == chat_id)
                and (bot_id is None or event.get("bot_id") in (None, bot_id))
            ]
            cursor = batch[-1]["seq"] if batch else min(since, log.last_seq)
            if matching or timeout <= 0 or self.emu.closing:
                return {"events": matching, "cursor": cursor, "truncated": truncated}
            # Nothing relevant yet: skip past what was seen and wait for more.
            since = cursor
            now = time.monotonic()
            if loop_deadline is None:
                loop_deadline = now + timeout
            remaining = loop_deadline - now
            if remaining <= 0:
                return {"events": [], "cursor": since, "truncated": truncated}
            await log.wait(remaining)

    async def file_content(self, request: web.Request) -> web.Response:
        stored = self.emu.files.by_unique.get(request.match_info["unique_id"])
        if stored is None:
            raise ControlError(404, "no such file")
        content_type = stored.mime_type or "application/octet-stream"
        if stored.kind == "photo":
            content_type = {"png": "image/png", "gif": "image/gif"}.get(
                stored.file_path.rsplit(".", 1)[-1], "image/jpeg"
            )
        headers = {
            # A file_unique_id never names other bytes, so the browser may keep them.
            "Cache-Control": "private, max-age=86400, immutable",
            "X-Content-Type-Options": "nosniff",
            # Bytes anyone uploaded are served from the web chat's origin: never let them run.
            "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'",
        }
        if stored.kind != "photo":
            name = stored.file_name or stored.file_path.rsplit("/", 1)[-1]
            headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
        return web.Response(body=stored.content, content_type=content_type, headers=headers)
