"""The emulator's world: bots, people, chats and messages, and the rules that connect them.

Both the Bot API side and the control API call into :class:`Emulator`; neither keeps state of
its own. Every lookup on a hot path is a dict access, never a scan.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterable
from typing import Any

from bot.emulator.entities import (
    EntityParseError,
    detect_entities,
    validate_entities,
)
from bot.emulator.limits import EmulatorLimits, SlidingWindow, TokenBucket, retry_after_seconds
from bot.emulator.media import FileStore, StoredFile
from bot.emulator.models import (
    DEFAULT_ADMIN_RIGHTS,
    MEMBER_STATUSES,
    PRESENT_STATUSES,
    ApiError,
    BotRec,
    CallbackRec,
    ChatRec,
    Counters,
    EventLog,
    Json,
    MemberRec,
    MsgRec,
    UserRec,
    chat_member_api,
    forbidden,
)


class ControlError(Exception):
    """A refused control API request (the simulated person cannot do that)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _now() -> int:
    return int(time.time())


_USER_ID_BASE = 100_000_000
_GROUP_ID_BASE = 4_000_000_000
_SUPERGROUP_ID_BASE = 1_002_000_000_000
_MAX_CALLBACKS = 200_000


class Emulator:
    """All emulator state; one instance per running server."""

    def __init__(
        self,
        limits: EmulatorLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits or EmulatorLimits()
        self.clock = clock
        self.bots: dict[int, BotRec] = {}
        self.bots_by_token: dict[str, BotRec] = {}
        self.users: dict[int, UserRec] = {}
        self.usernames: dict[str, UserRec] = {}
        self.groups: dict[int, ChatRec] = {}
        self.group_usernames: dict[str, ChatRec] = {}
        self.private: dict[tuple[int, int], ChatRec] = {}
        self.files = FileStore()
        self.callbacks: dict[str, CallbackRec] = {}
        self.events = EventLog()
        self.counters = Counters()
        self._user_ids = itertools.count(_USER_ID_BASE + 1)
        self._group_seq = itertools.count(1)
        self._callback_seq = itertools.count(1)
        self._media_group_seq = itertools.count(1)
        self.closing = False

    # ----------------------------------------------------------------- registry

    def add_bot(
        self,
        token: str,
        username: str | None = None,
        first_name: str | None = None,
        can_read_all_group_messages: bool = False,
    ) -> BotRec:
        """Register a bot; its id is the number before ':' in the token, as on Telegram."""
        head, sep, secret = token.partition(":")
        if not sep or not head.isdigit() or not secret or "/" in token:
            raise ValueError(f"malformed bot token {token!r}: expected '<digits>:<secret>'")
        bot_id = int(head)
        if token in self.bots_by_token:
            return self.bots_by_token[token]
        if bot_id in self.bots or bot_id in self.users:
            raise ValueError(f"bot id {bot_id} is already in use")
        username = username or f"emulated_{bot_id}_bot"
        if username.lower() in self.usernames:
            raise ValueError(f"username @{username} is taken")
        user = UserRec(id=bot_id, first_name=first_name or username, username=username, is_bot=True)
        bot = BotRec(
            token=token, user=user, can_read_all_group_messages=can_read_all_group_messages
        )
        self.bots[bot_id] = bot
        self.bots_by_token[token] = bot
        self.users[bot_id] = user
        self.usernames[username.lower()] = user
        return bot

    def create_user(
        self,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        label: str | None = None,
        persona: Iterable[str] = (),
        phone_number: str | None = None,
        is_premium: bool = False,
        user_id: int | None = None,
    ) -> UserRec:
        if not first_name or not isinstance(first_name, str):
            raise ControlError(400, "first_name is required")
        if user_id is None:
            user_id = next(self._user_ids)
            while user_id in self.users:
                user_id = next(self._user_ids)
        elif user_id <= 0 or user_id in self.users:
            raise ControlError(409, f"user id {user_id} is taken or invalid")
        if username:
            username = username.lstrip("@")
            if username.lower() in self.usernames:
                raise ControlError(409, f"username @{username} is taken")
        if phone_number is None:
            # Vietnamese mobile numbers, deterministic per user so tests can predict them.
            phone_number = f"+8490{user_id % 10_000_000:07d}"
        user = UserRec(
            id=user_id,
            first_name=first_name,
            last_name=last_name or None,
            username=username or None,
            language_code=language_code or None,
            label=label,
            persona=list(persona),
            phone_number=phone_number,
            is_premium=is_premium,
        )
        self.users[user_id] = user
        if user.username:
            self.usernames[user.username.lower()] = user
        self.events.emit("user", user_id=user_id)
        return user

    def user(self, user_id: int) -> UserRec:
        user = self.users.get(user_id)
        if user is None or user.is_bot:
            raise ControlError(404, f"no user with id {user_id}")
        return user

    def bot(self, bot_id: int | None = None) -> BotRec:
        """The bot ``bot_id``, or the only/first bot when omitted."""
        if bot_id is None:
            if not self.bots:
                raise ControlError(404, "no bots are registered")
            return next(iter(self.bots.values()))
        bot = self.bots.get(bot_id)
        if bot is None:
            raise ControlError(404, f"no bot with id {bot_id}")
        return bot

    def user_for_entity(self, user_id: int) -> Json | None:
        user = self.users.get(user_id)
        return user.api() if user else None

    # -------------------------------------------------------------------- chats

    def private_chat(self, bot: BotRec, user: UserRec) -> ChatRec:
        key = (bot.id, user.id)
        chat = self.private.get(key)
        if chat is None:
            chat = ChatRec(id=user.id, type="private", bot_id=bot.id, user=user)
            self.private[key] = chat
        return chat

    def create_group(
        self,
        title: str,
        members: Iterable[tuple[int, str]] = (),
        chat_type: str = "supergroup",
        username: str | None = None,
        description: str | None = None,
    ) -> ChatRec:
        if chat_type not in {"group", "supergroup"}:
            raise ControlError(400, "type must be 'group' or 'supergroup'")
        if not title:
            raise ControlError(400, "title is required")
        seq = next(self._group_seq)
        base = _SUPERGROUP_ID_BASE if chat_type == "supergroup" else _GROUP_ID_BASE
        chat = ChatRec(
            id=-(base + seq),
            type=chat_type,
            title=title,
            username=(username or "").lstrip("@") or None,
            description=description,
        )
        if chat.username and chat.username.lower() in self.group_usernames:
            raise ControlError(409, f"chat username @{chat.username} is taken")
        plan = list(members)
        for user_id, status in plan:
            if user_id not in self.users:
                raise ControlError(404, f"no user with id {user_id}")
            if status not in PRESENT_STATUSES:
                raise ControlError(
                    400, "initial member status must be creator/administrator/member"
                )
        self.groups[chat.id] = chat
        if chat.username:
            self.group_usernames[chat.username.lower()] = chat
        humans = [(uid, st) for uid, st in plan if not self.users[uid].is_bot]
        for user_id, status in humans:
            chat.members[user_id] = MemberRec(status=status)
        self.events.emit("chat", chat_id=chat.id)
        creator = next((uid for uid, st in humans if st == "creator"), None)
        adder = self.users[creator if creator is not None else humans[0][0]] if humans else None
        for user_id, status in plan:
            if self.users[user_id].is_bot:
                self.set_member(chat, self.users[user_id], status, by=adder)
        return chat

    def group(self, chat_id: int) -> ChatRec:
        chat = self.groups.get(chat_id)
        if chat is None:
            raise ControlError(404, f"no group with id {chat_id}")
        return chat

    def control_chat(self, chat_id: int, bot_id: int | None) -> ChatRec:
        """A chat as the control API names it: a group id, or a user id (private chat)."""
        if chat_id < 0:
            return self.group(chat_id)
        bot = self.bot(bot_id)
        chat = self.private.get((bot.id, chat_id))
        if chat is None:
            self.user(chat_id)
            chat = self.private_chat(bot, self.users[chat_id])
        return chat

    def chat_for_bot(self, bot: BotRec, raw: Any, writing: bool = True) -> ChatRec:
        """Resolve a Bot API ``chat_id`` for ``bot``; 400 "chat not found" like Telegram.

        Writing to a known person who never started the bot is a 403 instead.
        """
        if isinstance(raw, str):
            text = raw.strip()
            if text.startswith("@"):
                chat = self.group_usernames.get(text[1:].lower())
                if chat is None:
                    raise ApiError(400, "Bad Request: chat not found")
                return chat
            try:
                raw = int(text)
            except ValueError:
                raise ApiError(400, "Bad Request: chat not found") from None
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ApiError(400, "Bad Request: chat not found")
        if raw < 0:
            chat = self.groups.get(raw)
        else:
            chat = self.private.get((bot.id, raw))
            if writing and chat is None and raw in self.users and not self.users[raw].is_bot:
                raise self._forbidden("bot can't initiate conversation with a user")
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def _forbidden(self, message: str) -> ApiError:
        return forbidden(message)

    def ensure_can_write(self, bot: BotRec, chat: ChatRec) -> None:
        """403s for chats the bot cannot post to."""
        if chat.type == "private":
            if chat.blocked:
                raise forbidden("bot was blocked by the user")
            return
        member = chat.members.get(bot.id)
        kind = "supergroup chat" if chat.type == "supergroup" else "group chat"
        if member is None or member.status == "left":
            raise forbidden(f"bot is not a member of the {kind}")
        if member.status == "kicked":
            raise forbidden(f"bot was kicked from the {kind}")

    def ensure_can_read(self, bot: BotRec, chat: ChatRec) -> None:
        if chat.type != "private":
            member = chat.members.get(bot.id)
            if member is None or not member.present:
                raise ApiError(400, "Bad Request: chat not found")

    # --------------------------------------------------------------- rate limits

    def check_rate(self, bot: BotRec, chat: ChatRec) -> None:
        """Raise 429 if one more message now would break a limit; otherwise count it."""
        limits = self.limits
        now = self.clock()
        wait = 0.0
        global_bucket = None
        if limits.global_per_second:
            global_bucket = bot.global_bucket
            if global_bucket is None:
                global_bucket = bot.global_bucket = TokenBucket(
                    limits.global_per_second, limits.global_per_second, now
                )
            wait = global_bucket.wait_time(now)
        chat_limiter: TokenBucket | SlidingWindow | None = None
        if chat.type == "private":
            if limits.private_per_second:
                chat_limiter = chat.bucket
                if chat_limiter is None:
                    chat_limiter = chat.bucket = TokenBucket(
                        limits.private_per_second, limits.private_burst, now
                    )
        elif limits.group_per_minute:
            chat_limiter = bot.group_windows.get(chat.id)
            if chat_limiter is None:
                chat_limiter = bot.group_windows[chat.id] = SlidingWindow(
                    limits.group_per_minute, 60.0
                )
        if chat_limiter is not None:
            wait = max(wait, chat_limiter.wait_time(now))
        if wait > 0:
            retry = retry_after_seconds(wait)
            raise ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})
        if global_bucket is not None:
            global_bucket.take(now)
        if chat_limiter is not None:
            chat_limiter.take(now)

    def set_limits(self, limits: EmulatorLimits) -> None:
        self.limits = limits
        # Limiters are rebuilt lazily from the new numbers.
        for bot in self.bots.values():
            bot.global_bucket = None
            bot.group_windows.clear()
        for chat in self.private.values():
            chat.bucket = None

    # ----------------------------------------------------------------- messages

    def new_message(self, chat: ChatRec, sender: UserRec, **fields: Any) -> MsgRec:
        msg = MsgRec(message_id=chat.new_message_id(), chat=chat, sender=sender, date=_now())
        for key, value in fields.items():
            setattr(msg, key, value)
        chat.messages[msg.message_id] = msg
        msg.seq = self.events.emit(
            "message",
            chat_id=chat.id,
            bot_id=chat.bot_id,
            message_id=msg.message_id,
            from_id=sender.id,
            from_bot=sender.is_bot,
        )
        chat.changes.append((msg.seq, msg.message_id))
        return msg

    def record_bot_message(self, bot: BotRec, msg: MsgRec, markup: Json | None) -> None:
        """Bookkeeping after a bot sent ``msg``: counters and the chat's reply keyboard."""
        self.counters.count_sent(bot.id, msg.chat.id)
        chat = msg.chat
        if markup is None or chat.type != "private":
            return
        if "keyboard" in markup:
            chat.reply_keyboard = markup
            chat.keyboard_hidden = False
            self.events.emit("reply_keyboard", chat_id=chat.id, bot_id=bot.id)
        elif markup.get("remove_keyboard"):
            chat.reply_keyboard = None
            chat.keyboard_hidden = False
            self.events.emit("reply_keyboard", chat_id=chat.id, bot_id=bot.id)

    def edit_message(self, msg: MsgRec, **changes: Any) -> None:
        msg.history.append(msg.content())
        for key, value in changes.items():
            setattr(msg, key, value)
        msg.edit_date = max(_now(), msg.date)
        msg.seq = self.events.emit(
            "edit", chat_id=msg.chat.id, bot_id=msg.chat.bot_id, message_id=msg.message_id
        )
        msg.chat.changes.append((msg.seq, msg.message_id))

    def delete_message(self, msg: MsgRec) -> None:
        msg.deleted = True
        msg.seq = self.events.emit(
            "delete", chat_id=msg.chat.id, bot_id=msg.chat.bot_id, message_id=msg.message_id
        )
        msg.chat.changes.append((msg.seq, msg.message_id))

    def next_media_group_id(self) -> str:
        return str(13_000_000_000_000_000 + next(self._media_group_seq))

    # ---------------------------------------------------------- people acting

    def chat_for_user(self, user: UserRec, chat_id: int | None, bot_id: int | None) -> ChatRec:
        """Where a simulated person posts: their private chat with a bot, or a group."""
        if chat_id is None or chat_id == user.id:
            bot = self.bot(bot_id)
            chat = self.private_chat(bot, user)
            if chat.blocked:
                raise ControlError(409, "the user has blocked this bot; unblock it first")
            return chat
        if chat_id > 0:
            raise ControlError(400, "a user can only write to their own private chat or a group")
        chat = self.group(chat_id)
        member = chat.members.get(user.id)
        if member is None or not member.present:
            raise ControlError(403, f"user {user.id} is not a member of chat {chat_id}")
        return chat

    def user_message(
        self,
        user: UserRec,
        chat: ChatRec,
        *,
        text: str | None = None,
        entities: list[Json] | None = None,
        reply_to_message_id: int | None = None,
        **content: Any,
    ) -> tuple[MsgRec, list[int]]:
        """Store a message a person sent and hand it to the bots that may see it."""
        fields: dict[str, Any] = dict(content)
        if text is not None:
            if not text.strip():
                raise ControlError(400, "text is empty")
            limit = self.limits.max_text_length
            if limit is not None and len(text) > limit:
                raise ControlError(400, f"text is longer than {limit} characters")
            try:
                found = validate_entities(text, entities, self.user_for_entity) if entities else []
            except EntityParseError as exc:
                raise ControlError(400, f"bad entities: {exc}") from None
            fields["text"] = text
            fields["entities"] = detect_entities(text, found) or None
        caption = fields.get("caption")
        if caption is not None:
            limit = self.limits.max_caption_length
            if limit is not None and len(caption) > limit:
                raise ControlError(400, f"caption is longer than {limit} characters")
            fields["caption_entities"] = detect_entities(caption, []) or None
        if reply_to_message_id is not None:
            target = chat.messages.get(reply_to_message_id)
            if target is None or target.deleted:
                raise ControlError(404, f"no message {reply_to_message_id} in chat {chat.id}")
            fields["reply_to"] = target
        self._use_reply_keyboard(chat, text, fields)
        msg = self.new_message(chat, user, **fields)
        return msg, self.deliver(msg)

    def _use_reply_keyboard(self, chat: ChatRec, text: str | None, fields: dict[str, Any]) -> None:
        markup = chat.reply_keyboard
        if markup is None or chat.keyboard_hidden or not markup.get("one_time_keyboard"):
            return
        for row in markup.get("keyboard", []):
            for button in row:
                if (
                    (text is not None and button.get("text") == text)
                    or (button.get("request_contact") and "contact" in fields)
                    or (button.get("request_location") and "location" in fields)
                ):
                    chat.keyboard_hidden = True
                    self.events.emit("reply_keyboard", chat_id=chat.id, bot_id=chat.bot_id)
                    return

    def deliver(self, msg: MsgRec) -> list[int]:
        """Queue ``message`` updates for every bot entitled to see ``msg``."""
        chat = msg.chat
        if chat.type == "private":
            bot = self.bots[chat.bot_id] if chat.bot_id is not None else None
            if bot is None or msg.sender.is_bot:
                return []
            self._enqueue(bot, "message", msg.api(bot.id, self.files))
            return [bot.id]
        delivered = []
        for bot_id in chat.bot_ids:
            bot = self.bots.get(bot_id)
            member = chat.members[bot_id]
            if bot is None or not member.present or not self._bot_sees(bot, member, msg):
                continue
            self._enqueue(bot, "message", msg.api(bot.id, self.files))
            delivered.append(bot.id)
        return delivered

    @staticmethod
    def _bot_sees(bot: BotRec, member: MemberRec, msg: MsgRec) -> bool:
        """Telegram's group privacy mode, simplified (see README)."""
        if msg.sender.is_bot:
            return False  # bots never see other bots' messages
        if bot.can_read_all_group_messages or member.status in {"administrator", "creator"}:
            return True
        if msg.is_service:
            return True
        if msg.reply_to is not None and msg.reply_to.sender is bot.user:
            return True
        text = msg.text or msg.caption or ""
        for entity in (msg.entities or msg.caption_entities or [])[:1]:
            if entity["type"] == "bot_command" and entity["offset"] == 0:
                command = text[: entity["length"]]
                _, at, target = command.partition("@")
                username = (bot.user.username or "").lower()
                return not at or target.lower() == username
        return False

    def _enqueue(self, bot: BotRec, kind: str, payload: Json) -> None:
        if bot.enqueue(kind, payload) is not None:
            self.counters.updates_enqueued += 1

    # -------------------------------------------------------------- membership

    def set_member(
        self,
        chat: ChatRec,
        user: UserRec,
        status: str,
        by: UserRec | None = None,
        rights: dict[str, bool] | None = None,
    ) -> MsgRec | None:
        """Change one membership, emitting what Telegram emits; returns the service message."""
        if status not in MEMBER_STATUSES:
            raise ControlError(400, f"unknown member status {status!r}")
        old = chat.members.get(user.id)
        old_status = old.status if old else "left"
        new = MemberRec(status=status)
        if status == "administrator":
            new.rights = {**DEFAULT_ADMIN_RIGHTS, **(rights or {})}
        if (
            old is not None
            and old.status == status
            and (status != "administrator" or old.rights == new.rights)
        ):
            return None
        actor = by or user
        old_api = chat_member_api(user, old, chat.type)
        chat.members[user.id] = new
        if user.is_bot:
            chat.bot_ids.add(user.id)
        new_api = chat_member_api(user, new, chat.type)
        change = {
            "chat": chat.api(),
            "from": actor.api(),
            "date": _now(),
            "old_chat_member": old_api,
            "new_chat_member": new_api,
        }
        target_bot = self.bots.get(user.id)
        if target_bot is not None:
            self._enqueue(target_bot, "my_chat_member", change)
        for other_id in chat.bot_ids:
            member = chat.members[other_id]
            other = self.bots.get(other_id)
            if (
                other is not None
                and other is not target_bot
                and member.status
                in {
                    "administrator",
                    "creator",
                }
            ):
                self._enqueue(other, "chat_member", change)
        self.events.emit("member", chat_id=chat.id, user_id=user.id, old=old_status, new=status)
        was_in = old_status in PRESENT_STATUSES
        is_in = status in PRESENT_STATUSES
        if not was_in and is_in:
            msg = self.new_message(chat, actor, new_chat_members=[user])
        elif was_in and not is_in:
            msg = self.new_message(chat, actor, left_chat_member=user)
        else:
            return None
        self.deliver(msg)
        return msg

    def set_blocked(self, user: UserRec, bot: BotRec, blocked: bool) -> bool:
        """Block or unblock ``bot`` for ``user``; returns whether anything changed."""
        chat = self.private_chat(bot, user)
        if chat.blocked == blocked:
            return False
        chat.blocked = blocked
        member = MemberRec(status="member")
        kicked = MemberRec(status="kicked")
        old, new = (member, kicked) if blocked else (kicked, member)
        self._enqueue(
            bot,
            "my_chat_member",
            {
                "chat": chat.api(),
                "from": user.api(),
                "date": _now(),
                "old_chat_member": chat_member_api(bot.user, old, "private"),
                "new_chat_member": chat_member_api(bot.user, new, "private"),
            },
        )
        self.events.emit("block", chat_id=chat.id, bot_id=bot.id, user_id=user.id, blocked=blocked)
        return True

    # --------------------------------------------------------------- callbacks

    def press(
        self,
        user: UserRec,
        chat: ChatRec,
        bot: BotRec,
        message_id: int,
        data: str,
        forge: bool = False,
    ) -> CallbackRec:
        """A person taps an inline button; only real buttons unless ``forge`` is set."""
        msg = chat.messages.get(message_id)
        if chat.type == "private" and chat.blocked:
            raise ControlError(409, "the user has blocked this bot; unblock it first")
        if chat.type != "private":
            member = chat.members.get(user.id)
            if member is None or not member.present:
                raise ControlError(403, f"user {user.id} is not a member of chat {chat.id}")
        if not forge:
            if msg is None or msg.deleted:
                raise ControlError(404, f"no message {message_id} in chat {chat.id}")
            if msg.sender is not bot.user:
                raise ControlError(400, f"message {message_id} was not sent by bot {bot.id}")
            available = _callback_data_of(msg.inline_markup)
            if data not in available:
                raise ControlError(
                    400,
                    f"message {message_id} has no button with callback_data {data!r}; "
                    f"its buttons carry {available!r} (pass forge=true to send it anyway)",
                )
        query_id = str(4_400_000_000_000_000_000 + next(self._callback_seq))
        payload: Json = {
            "id": query_id,
            "from": user.api(),
            "chat_instance": str((chat.id * 1_000_003 + bot.id) & 0x7FFF_FFFF_FFFF_FFFF),
            "data": data,
        }
        if msg is not None and not msg.deleted and msg.sender is bot.user:
            payload["message"] = msg.api(bot.id, self.files)
        else:
            payload["message"] = {"chat": chat.api(), "message_id": message_id, "date": 0}
        record = CallbackRec(
            id=query_id,
            bot_id=bot.id,
            user=user,
            chat=chat,
            message_id=message_id,
            data=data,
            created=self.clock(),
        )
        self.callbacks[query_id] = record
        if len(self.callbacks) > _MAX_CALLBACKS:
            # Telegram forgets queries after a while too; this bounds memory in long benchmarks.
            del self.callbacks[next(iter(self.callbacks))]
        self.counters.callback_queries += 1
        self._enqueue(bot, "callback_query", payload)
        self.events.emit(
            "callback_query",
            chat_id=chat.id,
            bot_id=bot.id,
            user_id=user.id,
            message_id=message_id,
            callback_query_id=query_id,
        )
        return record

    def answer_callback(self, bot: BotRec, query_id: str, answer: Json) -> None:
        record = self.callbacks.get(query_id)
        if record is None or record.bot_id != bot.id or record.answer is not None:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        record.answer = answer
        self.counters.callback_answers += 1
        for waiter in record.waiters:
            if not waiter.done():
                waiter.set_result(None)
        record.waiters.clear()
        self.events.emit(
            "callback_answer",
            chat_id=record.chat.id if record.chat else None,
            bot_id=bot.id,
            callback_query_id=query_id,
        )

    async def wait_callback_answer(self, query_id: str, seconds: float) -> CallbackRec:
        record = self.callbacks.get(query_id)
        if record is None:
            raise ControlError(404, f"no callback query {query_id}")
        if record.answer is None and seconds > 0:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            record.waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, seconds)
            except TimeoutError:
                pass
            finally:
                if waiter in record.waiters:
                    record.waiters.remove(waiter)
        return record

    # ------------------------------------------------------------------ files

    def store_upload(
        self, content: bytes, kind: str, file_name: str | None, mime_type: str | None
    ) -> StoredFile:
        limit = self.limits.max_upload_bytes
        if limit is not None and len(content) > limit:
            raise ApiError(413, "Request Entity Too Large")
        return self.files.add(content, kind, file_name=file_name, mime_type=mime_type)

    # ------------------------------------------------------------------ admin

    def reset(self) -> None:
        """Forget people, chats, messages, files and counters; keep the bots and their settings."""
        bot_users = {bot.id: bot.user for bot in self.bots.values()}
        self.users = dict(bot_users)
        self.usernames = {u.username.lower(): u for u in bot_users.values() if u.username}
        self.groups.clear()
        self.group_usernames.clear()
        self.private.clear()
        self.files.clear()
        self.callbacks.clear()
        self.counters = Counters()
        self.events.clear()
        for bot in self.bots.values():
            bot.updates.clear()
            bot.in_flight.clear()
            bot.global_bucket = None
            bot.group_windows.clear()

    def wake_all(self) -> None:
        """Release every long poll, e.g. at shutdown."""
        self.closing = True
        for bot in self.bots.values():
            if bot.poller is not None:
                bot.poller.event.set()
            bot.webhook_wakeup.set()
        self.events.wake_all()
        for record in self.callbacks.values():
            for waiter in record.waiters:
                if not waiter.done():
                    waiter.set_result(None)


def _callback_data_of(markup: Json | None) -> list[str]:
    if not markup:
        return []
    return [
        button["callback_data"]
        for row in markup.get("inline_keyboard", [])
        for button in row
        if "callback_data" in button
    ]
