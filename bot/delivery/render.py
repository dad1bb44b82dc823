"""Renderers turn an outbox row into a message, in the recipient's language, at send time.

Each feature registers one renderer per kind of message it queues. Rendering late means
a message about something that no longer matters (a request already decided, a notice
withdrawn) can be dropped instead of sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import Delivery


@dataclass
class Attachment:
    kind: Literal["photo", "document"]
    filename: str
    # Loaded lazily by the transport from wardbot's file store.
    stored_file_id: int | None = None
    data: bytes | None = None


@dataclass
class Outgoing:
    text: str
    # An aiogram InlineKeyboardMarkup; other channels read its rows as numbered choices.
    markup: Any = None
    attachments: list[Attachment] = field(default_factory=list)


Renderer = Callable[[AsyncSession, Delivery], Awaitable[Outgoing | None]]

_renderers: dict[str, Renderer] = {}


def renderer(kind: str) -> Callable[[Renderer], Renderer]:
    def register(func: Renderer) -> Renderer:
        if kind in _renderers and _renderers[kind] is not func:
            raise RuntimeError(f"two renderers for {kind!r}")
        _renderers[kind] = func
        return func

    return register


def get_renderer(kind: str) -> Renderer | None:
    return _renderers.get(kind)
