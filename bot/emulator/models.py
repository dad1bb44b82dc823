"""The emulator's in-memory records and their Bot API (Telegram-shaped) serialisations."""

from __future__ import annotations

import asyncio
import bisect
import itertools
import sys
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from bot.emulator.limits import SlidingWindow, TokenBucket
from bot.emulator.media import FileStore, StoredFile

Json = dict[str, Any]


class ApiError(Exception):
    """A Bot API error response: ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(self, code: int, description: str, parameters: Json | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> Json:
        body: Json = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(message: str) -> ApiError:
    return ApiError(400, f"Bad Request: {message}")


def forbidden(message: str) -> ApiError:
    return ApiError(403, f"Forbidden: {message}")


@dataclass(slots=True, eq=False)
class UserRec:
    """A person (or a bot's own account) known to the emulator."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    is_premium: bool = False
    label: str | None = None
    persona: list[str] = field(default_factory=list)
    phone_number: str | None = None
    _api: Json | None = None

    def api(self) -> Json:
        """The Bot API ``User`` object (cached: users are immutable once created)."""
        if self._api is None:
            data: Json = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
            if self.last_name:
                data["last_name"] = self.last_name
            if self.username:
                data["username"] = self.username
            if self.language_code and not self.is_bot:
                data["language_code"] = self.language_code
            if self.is_premium:
                data["is_premium"] = True
            self._api = data
        return self._api

    def control(self) -> Json:
        data = dict(self.api())
        if self.language_code:
            data["language_code"] = self.language_code
        data["label"] = self.label
        data["persona"] = list(self.persona)
        data["phone_number"] = self.phone_number
        return data

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name


_ADMIN_REQUIRED_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    # Newer than Bot API 10.1, but aiogram 3.31 refuses administrators without it.
    "can_send_welcome_messages",
)
_ADMIN_OPTIONAL_RIGHTS = ("can_pin_messages", "can_manage_topics")
ADMIN_RIGHTS = _ADMIN_REQUIRED_RIGHTS + _ADMIN_OPTIONAL_RIGHTS
DEFAULT_ADMIN_RIGHTS: dict[str, bool] = {
    **dict.fromkeys(ADMIN_RIGHTS, True),
    "can_promote_members": False,
    "can_manage_topics": False,
}
MEMBER_STATUSES = frozenset({"creator", "administrator", "member", "left", "kicked"})
PRESENT_STATUSES = frozenset({"creator", "administrator", "member"})


@dataclass(slots=True)
class MemberRec:
    status: str
    rights: dict[str, bool] = field(default_factory=lambda: dict(DEFAULT_ADMIN_RIGHTS))
    custom_title: str | None = None

    @property
    def present(self) -> bool:
        return self.status in PRESENT_STATUSES


def chat_member_api(user: UserRec, member: MemberRec | None, chat_type: str) -> Json:
    """A ``ChatMember`` variant for ``user`` (``left`` when not a member)."""
    status = member.status if member else "left"
    data: Json = {"status": status, "user": user.api()}
    if status == "creator":
        data["is_anonymous"] = False
        if member and member.custom_title:
            data["custom_title"] = member.custom_title
    elif status == "administrator":
        assert member is not None
        data["can_be_edited"] = False
        data["is_anonymous"] = False
        for right in _ADMIN_REQUIRED_RIGHTS:
            data[right] = bool(member.rights.get(right, False))
        data["can_pin_messages"] = bool(member.rights.get("can_pin_messages", False))
        if chat_type == "supergroup":
            data["can_manage_topics"] = bool(member.rights.get("can_manage_topics", False))
        if member.custom_title:
            data["custom_title"] = member.custom_title
    elif status == "kicked":
        data["until_date"] = 0
    return data


@dataclass(slots=True, eq=False)
class ChatRec:
    """A chat: a bot's private chat with one user, or a group shared by its members."""

    id: int
    type: str  # "private", "group" or "supergroup"
    title: str | None = None
    username: str | None = None
    description: str | None = None
    # Private chats exist per (bot, user): each bot has its own view, as on Telegram.
    bot_id: int | None = None
    user: UserRec | None = None
    blocked: bool = False
    reply_keyboard: Json | None = None
    keyboard_hidden: bool = False
    members: dict[int, MemberRec] = field(default_factory=dict)
    # Ids of bots with a membership record, so delivery never scans all members.
    bot_ids: set[int] = field(default_factory=set)
    messages: dict[int, MsgRec] = field(default_factory=dict)
    # (event seq, message id) for every creation/edit/deletion, in seq order, so readers can
    # ask "what changed since cursor N" without scanning the whole chat.
    changes: list[tuple[int, int]] = field(default_factory=list)
    next_message_id: int = 1
    bucket: TokenBucket | None = None
    last_action: Json | None = None

    def api(self) -> Json:
        if self.type == "private":
            assert self.user is not None
            data: Json = {"id": self.id, "type": "private", "first_name": self.user.first_name}
            if self.user.last_name:
                data["last_name"] = self.user.last_name
            if self.user.username:
                data["username"] = self.user.username
            return data
        data = {"id": self.id, "type": self.type, "title": self.title or ""}
        if self.username:
            data["username"] = self.username
        return data

    def full_info(self) -> Json:
        """``ChatFullInfo`` for getChat."""
        data = self.api()
        data["accent_color_id"] = 0
        data["max_reaction_count"] = 11
        data["accepted_gift_types"] = {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        }
        if self.description:
            data["description"] = self.description
        return data

    def changed_since(self, seq: int) -> list[MsgRec]:
        """Messages created, edited or deleted after event ``seq``, in message order."""
        if seq <= 0:
            return list(self.messages.values())
        start = bisect.bisect_right(self.changes, (seq, sys.maxsize))
        ids = sorted({message_id for _, message_id in self.changes[start:]})
        return [self.messages[message_id] for message_id in ids]

    def new_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def control(self) -> Json:
        data: Json = {"id": self.id, "type": self.type}
        if self.type == "private":
            assert self.user is not None
            data.update(
                user_id=self.user.id,
                bot_id=self.bot_id,
                blocked=self.blocked,
                title=self.user.full_name,
            )
        else:
            data.update(
                title=self.title,
                username=self.username,
                members=[
                    {"user_id": user_id, "status": member.status}
                    for user_id, member in self.members.items()
                ],
            )
        data["message_count"] = len(self.messages)
        return data


@dataclass(slots=True, eq=False)
class MsgRec:
    """One message in one chat, with enough history for the control API."""

    message_id: int
    chat: ChatRec
    sender: UserRec
    date: int
    text: str | None = None
    entities: list[Json] | None = None
    caption: str | None = None
    caption_entities: list[Json] | None = None
    photo: StoredFile | None = None
    document: StoredFile | None = None
    location: Json | None = None
    contact: Json | None = None
    # Only inline keyboards belong to the message on Telegram; other markup is chat state.
    inline_markup: Json | None = None
    sent_markup: Json | None = None
    reply_to: MsgRec | None = None
    media_group_id: str | None = None
    new_chat_members: list[UserRec] | None = None
    left_chat_member: UserRec | None = None
    group_chat_created: bool = False
    has_protected_content: bool = False
    edit_date: int | None = None
    history: list[Json] = field(default_factory=list)
    deleted: bool = False
    seq: int = 0

    @property
    def is_service(self) -> bool:
        return bool(self.new_chat_members or self.left_chat_member or self.group_chat_created)

    def api(self, bot_id: int, files: FileStore, *, with_reply: bool = True) -> Json:
        """The Bot API ``Message`` as bot ``bot_id`` sees it (file ids are per bot)."""
        data: Json = {
            "message_id": self.message_id,
            "from": self.sender.api(),
            "chat": self.chat.api(),
            "date": self.date,
        }
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if with_reply and self.reply_to is not None and not self.reply_to.deleted:
            data["reply_to_message"] = self.reply_to.api(bot_id, files, with_reply=False)
        if self.has_protected_content:
            data["has_protected_content"] = True
        if self.media_group_id is not None:
            data["media_group_id"] = self.media_group_id
        if self.text is not None:
            data["text"] = self.text
            if self.entities:
                data["entities"] = self.entities
        if self.photo is not None:
            data["photo"] = [photo_size_api(self.photo, files.file_id(bot_id, self.photo))]
        if self.document is not None:
            data["document"] = document_api(self.document, files.file_id(bot_id, self.document))
        if self.caption is not None:
            data["caption"] = self.caption
            if self.caption_entities:
                data["caption_entities"] = self.caption_entities
        if self.contact is not None:
            data["contact"] = self.contact
        if self.location is not None:
            data["location"] = self.location
        if self.new_chat_members:
            data["new_chat_members"] = [user.api() for user in self.new_chat_members]
        if self.left_chat_member is not None:
            data["left_chat_member"] = self.left_chat_member.api()
        if self.group_chat_created:
            data["group_chat_created"] = True
        if self.inline_markup is not None:
            data["reply_markup"] = self.inline_markup
        return data

    def content(self) -> Json:
        """What an edit can change, kept in the history."""
        data: Json = {}
        if self.text is not None:
            data["text"] = self.text
            data["entities"] = self.entities or []
        if self.caption is not None or self.photo is not None or self.document is not None:
            data["caption"] = self.caption
            data["caption_entities"] = self.caption_entities or []
        data["reply_markup"] = self.inline_markup
        data["date"] = self.edit_date or self.date
        return data

    def control(self) -> Json:
        """The control API's view: everything a test may want to assert on."""
        data: Json = {
            "message_id": self.message_id,
            "chat_id": self.chat.id,
            "bot_id": self.chat.bot_id,
            "date": self.date,
            "from": self.sender.api(),
            "from_bot": self.sender.is_bot,
            "text": self.text,
            "entities": self.entities or [],
            "caption": self.caption,
            "caption_entities": self.caption_entities or [],
            "reply_markup": self.sent_markup,
            "edited": self.edit_date is not None,
            "edit_date": self.edit_date,
            "history": self.history,
            "deleted": self.deleted,
            "cursor": self.seq,
        }
        if self.photo is not None:
            data["photo"] = file_control(self.photo)
        if self.document is not None:
            data["document"] = file_control(self.document)
        if self.location is not None:
            data["location"] = self.location
        if self.contact is not None:
            data["contact"] = self.contact
        if self.reply_to is not None:
            data["reply_to_message_id"] = self.reply_to.message_id
        if self.media_group_id is not None:
            data["media_group_id"] = self.media_group_id
        if self.new_chat_members:
            data["new_chat_members"] = [user.api() for user in self.new_chat_members]
        if self.left_chat_member is not None:
            data["left_chat_member"] = self.left_chat_member.api()
        if self.group_chat_created:
            data["group_chat_created"] = True
        return data


def photo_size_api(stored: StoredFile, file_id: str) -> Json:
    return {
        "file_id": file_id,
        "file_unique_id": stored.unique_id,
        "file_size": stored.size,
        "width": stored.width,
        "height": stored.height,
    }


def document_api(stored: StoredFile, file_id: str) -> Json:
    data: Json = {"file_id": file_id, "file_unique_id": stored.unique_id}
    if stored.file_name:
        data["file_name"] = stored.file_name
    if stored.mime_type:
        data["mime_type"] = stored.mime_type
    data["file_size"] = stored.size
    return data


def file_control(stored: StoredFile) -> Json:
    data: Json = {
        "file_unique_id": stored.unique_id,
        "file_size": stored.size,
        "url": f"/_control/files/{stored.unique_id}",
    }
    if stored.kind == "photo":
        data.update(width=stored.width, height=stored.height)
    else:
        data.update(file_name=stored.file_name, mime_type=stored.mime_type)
    return data


@dataclass(slots=True, eq=False)
class WebhookConfig:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None
    has_custom_certificate: bool = False
    last_error_date: int | None = None
    last_error_message: str | None = None


# Telegram's default when allowed_updates is empty or never given.
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)


class PollWaiter:
    """One in-flight getUpdates; a newer one (or setWebhook) terminates it with a conflict."""

    __slots__ = ("conflict", "event")

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.conflict: str | None = None


@dataclass(slots=True, eq=False)
class BotRec:
    """A bot account: its token, its update queue and its Bot API settings."""

    token: str
    user: UserRec
    can_read_all_group_messages: bool = False
    # update_id -> Update; insertion-ordered, so the oldest is always first.
    updates: dict[int, Json] = field(default_factory=dict)
    next_update_id: int = 1
    allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
    explicit_allowed_updates: list[str] | None = None
    webhook: WebhookConfig | None = None
    webhook_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    webhook_task: asyncio.Task[None] | None = None
    in_flight: set[int] = field(default_factory=set)
    poller: PollWaiter | None = None
    # Set by the bot's first getUpdates or setWebhook: from then on it receives updates.
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    commands: dict[str, list[Json]] = field(default_factory=dict)
    global_bucket: TokenBucket | None = None
    group_windows: dict[int, SlidingWindow] = field(default_factory=dict)
    max_queue: int = 100_000

    @property
    def id(self) -> int:
        return self.user.id

    def enqueue(self, kind: str, payload: Json) -> int | None:
        """Queue an update unless the bot's allowed_updates filter excludes it."""
        if kind not in self.allowed_updates:
            return None
        update_id = self.next_update_id
        self.next_update_id += 1
        self.updates[update_id] = {"update_id": update_id, kind: payload}
        if len(self.updates) > self.max_queue:
            # Telegram keeps updates for 24 hours; a bounded queue is the in-memory analogue.
            del self.updates[next(iter(self.updates))]
        self.wake()
        return update_id

    def wake(self) -> None:
        if self.poller is not None:
            self.poller.event.set()
        if self.webhook is not None:
            self.webhook_wakeup.set()

    def confirm_below(self, offset: int) -> None:
        updates = self.updates
        while updates:
            first = next(iter(updates))
            if first >= offset:
                break
            del updates[first]

    def keep_last(self, count: int) -> None:
        excess = len(self.updates) - count
        if excess > 0:
            for update_id in list(itertools.islice(self.updates, excess)):
                del self.updates[update_id]

    def me(self) -> Json:
        """getMe's ``User``, with the bot-only capability fields."""
        data = dict(self.user.api())
        data.update(
            can_join_groups=True,
            can_read_all_group_messages=self.can_read_all_group_messages,
            supports_inline_queries=False,
            can_connect_to_business=False,
            has_main_web_app=False,
        )
        return data


@dataclass(slots=True, eq=False)
class CallbackRec:
    id: str
    bot_id: int
    user: UserRec
    chat: ChatRec | None
    message_id: int
    data: str
    created: float
    answer: Json | None = None
    waiters: list[asyncio.Future[None]] = field(default_factory=list)

    def control(self) -> Json:
        data: Json = {
            "callback_query_id": self.id,
            "bot_id": self.bot_id,
            "user_id": self.user.id,
            "chat_id": self.chat.id if self.chat else None,
            "message_id": self.message_id,
            "data": self.data,
            "answered": self.answer is not None,
        }
        if self.answer is not None:
            data.update(self.answer)
        return data


class EventLog:
    """Everything observable that happened, numbered, for long-polling readers.

    Bounded: a reader that falls more than ``maxlen`` events behind is told it missed some.
    """

    def __init__(self, maxlen: int = 100_000) -> None:
        self.events: deque[Json] = deque(maxlen=maxlen)
        self.last_seq = 0
        self._changed = asyncio.Event()
        self._waiting = 0

    def emit(self, kind: str, **fields: Any) -> int:
        self.last_seq += 1
        fields["seq"] = self.last_seq
        fields["type"] = kind
        self.events.append(fields)
        if self._waiting:
            self._changed.set()
            self._changed = asyncio.Event()
        return self.last_seq

    def since(self, seq: int, limit: int) -> tuple[list[Json], bool]:
        """Events after ``seq`` (at most ``limit``) and whether some were already discarded."""
        if not self.events or seq >= self.last_seq:
            return [], False
        first = self.events[0]["seq"]
        truncated = seq + 1 < first
        start = max(0, seq + 1 - first)
        return list(itertools.islice(self.events, start, start + limit)), truncated

    @property
    def waiting(self) -> int:
        """Readers parked in :meth:`wait` right now."""
        return self._waiting

    async def wait(self, seconds: float) -> None:
        """Return when a new event is emitted or ``seconds`` pass."""
        self._waiting += 1
        try:
            await asyncio.wait_for(self._changed.wait(), seconds)
        except TimeoutError:
            pass
        finally:
            self._waiting -= 1

    def clear(self) -> None:
        self.events.clear()
        self.wake_all()

    def wake_all(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()


@dataclass
class Counters:
    """Tallies for benchmarks; plain ints and dicts so reading them is cheap."""

    messages_sent: int = 0
    messages_per_chat: dict[int, int] = field(default_factory=dict)
    messages_per_bot: dict[int, int] = field(default_factory=dict)
    http_429: int = 0
    http_403: int = 0
    http_400: int = 0
    requests: int = 0
    method_calls: dict[str, int] = field(default_factory=dict)
    updates_enqueued: int = 0
    callback_queries: int = 0
    callback_answers: int = 0
    webhook_deliveries: int = 0
    webhook_failures: int = 0

    def count_sent(self, bot_id: int, chat_id: int) -> None:
        self.messages_sent += 1
        self.messages_per_chat[chat_id] = self.messages_per_chat.get(chat_id, 0) + 1
        self.messages_per_bot[bot_id] = self.messages_per_bot.get(bot_id, 0) + 1

    def snapshot(self) -> Json:
        return {
            "messages_sent": self.messages_sent,
            "messages_per_chat": {str(k): v for k, v in self.messages_per_chat.items()},
            "messages_per_bot": {str(k): v for k, v in self.messages_per_bot.items()},
            "http_429": self.http_429,
            "http_403": self.http_403,
            "http_400": self.http_400,
            "requests": self.requests,
            "method_calls": dict(self.method_calls),
            "updates_enqueued": self.updates_enqueued,
            "callback_queries": self.callback_queries,
            "callback_answers": self.callback_answers,
            "webhook_deliveries": self.webhook_deliveries,
            "webhook_failures": self.webhook_failures,
        }
