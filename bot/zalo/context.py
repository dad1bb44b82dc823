"""The Zalo handler layer's small framework: one update, one session, one state.

Zalo has no buttons or callbacks, so every step is a state with a numbered text menu.
The state lives in ``fsm_record`` (key ``zalo:<user id>``), written in the update's own
transaction, so a half-filled form survives a restart and any worker can take the next
message. Handlers call ``bot/services`` exactly as the Telegram handlers do; the replies
are collected and sent after the transaction committed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.models import FsmRecord
from bot.services.file_links import FileLinks
from bot.services.people import Actor
from bot.zalo.api import ZaloApi, ZaloUpdate
from bot.zalo.transport import ZaloPhoto

CHANNEL = "zalo"
# An answer: a text (Telegram-style HTML is fine) or a photo sent by URL.
Reply = str | ZaloPhoto

Handler = Callable[["Ctx"], Awaitable[None]]
# state name → the handler of the next message in that state
STATES: dict[str, Handler] = {}
# menu action → what choosing it does
ACTIONS: dict[str, Handler] = {}


def state(name: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        STATES[name] = func
        return func

    return register


def action(name: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        ACTIONS[name] = func
        return func

    return register


@dataclass
class Ctx:
    session: AsyncSession
    actor: Actor
    update: ZaloUpdate
    api: ZaloApi
    record: FsmRecord
    replies: list[Reply] = field(default_factory=list)
    # The aiogram Bot, for the few things Telegram's layer does in place (a ticket's card
    # in the office's Telegram chat is edited when a Zalo resident rates the answer).
    telegram_bot: Any = None
    # Signed links to stored files (None without a public address).
    links: FileLinks | None = None

    @property
    def text(self) -> str:
        return (self.update.text or "").strip()

    @property
    def state(self) -> str | None:
        return self.record.state

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.record.data or {})

    def say(self, text: str) -> None:
        """Queue a reply (Telegram-style HTML is fine: it becomes plain text)."""
        self.replies.append(text)

    def photo(self, url: str) -> None:
        """Queue a photo, which Zalo fetches from ``url``."""
        self.replies.append(ZaloPhoto(url))

    def goto(self, name: str | None, **data: Any) -> None:
        """Enter state ``name`` with exactly ``data``."""
        self.record.state = name
        self.record.data = data
        self.record.updated_at = clock.now()
        self.session.add(self.record)

    def update_data(self, **data: Any) -> None:
        self.record.data = {**(self.record.data or {}), **data}
        self.record.updated_at = clock.now()
        self.session.add(self.record)

    def number(self, upper: int) -> int | None:
        """The number typed, if it is 1..upper."""
        text = self.text.rstrip(".").strip()
        if text.isdigit() and 1 <= int(text) <= upper:
            return int(text)
        return None


def state_key(user_id: str) -> str:
    return f"{CHANNEL}:{user_id}"


async def load_record(session: AsyncSession, user_id: str) -> FsmRecord:
    """The person's state, locked on PostgreSQL until the update commits: two webhook
    workers given two messages of one person handle them one after the other (SQLite
    runs one writer at a time anyway)."""
    key = state_key(user_id)
    locking = session.get_bind().dialect.name == "postgresql"
    record = await session.get(FsmRecord, key, with_for_update=locking or None)
    if record is None:
        record = FsmRecord(key=key, data={})
        session.add(record)
    return record


def numbered(options: list[str], start: int = 1) -> str:
    """'Gõ 1 để …' lines, one per option."""
    from bot.i18n import _

    return "\n".join(
        _("Type {n} to {option}").format(n=n, option=option)
        for n, option in enumerate(options, start)
    )
