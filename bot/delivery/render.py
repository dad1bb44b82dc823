"""Renderers turn an outbox row into a message, in the recipient's language, at send time.

Each feature registers one renderer per kind of message it queues. Rendering late means
a message about something that no longer matters (a request already decided, a notice
withdrawn) can be dropped instead of sent.

A renderer whose output depends only on the row's ``params``, language and whether it
goes to a group chat (a notice: the same for its 50,000 recipients) is registered with
``shared=True``; the sender then renders it once per language and reuses the result for
a few seconds instead of reading the database for every recipient.
"""

from __future__ import annotations

import re
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
    # HTML (Telegram's subset); any length: the transport splits it for its messenger.
    text: str
    # An aiogram InlineKeyboardMarkup, put on the last text part; other channels read
    # its rows as numbered choices.
    markup: Any = None
    attachments: list[Attachment] = field(default_factory=list)


Renderer = Callable[[AsyncSession, Delivery], Awaitable[Outgoing | None]]

_renderers: dict[str, Renderer] = {}
_shared: set[str] = set()


def renderer(kind: str, *, shared: bool = False) -> Callable[[Renderer], Renderer]:
    def register(func: Renderer) -> Renderer:
        if kind in _renderers and _renderers[kind] is not func:
            raise RuntimeError(f"two renderers for {kind!r}")
        _renderers[kind] = func
        if shared:
            _shared.add(kind)
        return func

    return register


def get_renderer(kind: str) -> Renderer | None:
    return _renderers.get(kind)


def is_shared(kind: str) -> bool:
    return kind in _shared


# --- splitting long HTML text ---------------------------------------------------------

_TOKEN = re.compile(r"<[^>]*>|&[#\w]+;|[^<&]+|[<&]")
_TAG = re.compile(r"<\s*(/?)\s*([a-zA-Z-]+)")
# Break preferences, best first: a paragraph, a line, a sentence, a word.
_BREAKS = ("\n\n", "\n", ". ", " ")


def split_html(text: str, limit: int) -> list[str]:
    """Split Telegram HTML into parts of at most ``limit`` characters.

    Parts end at a paragraph, else a line, else a word boundary, never inside a word
    (unless one "word" alone is longer than the limit), a tag or an entity; a tag open
    at a cut is closed at the end of the part and opened again at the start of the next.
    """
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    opened: list[tuple[str, str]] = []  # (name, opening tag) still open at the cut
    rest = text
    while rest:
        prefix = "".join(tag for _name, tag in opened)
        if len(prefix) + len(rest) <= limit:
            parts.append(prefix + rest)
            break
        cut, stack = _find_cut(rest, limit - len(prefix), opened)
        piece = rest[:cut].rstrip()
        closers = "".join(f"</{name}>" for name, _tag in reversed(stack))
        if piece.strip():
            parts.append(prefix + piece + closers)
        rest = rest[cut:].lstrip()
        opened = stack
    return parts


def _find_cut(
    text: str, budget: int, opened: list[tuple[str, str]]
) -> tuple[int, list[tuple[str, str]]]:
    """The best place to cut ``text`` so the part, with its closing tags, fits ``budget``."""
    stack = list(opened)
    candidates: dict[str, tuple[int, list[tuple[str, str]]]] = {}
    hard: tuple[int, list[tuple[str, str]]] | None = None
    position = 0
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        end = position + len(token)
        closers = sum(len(name) + 3 for name, _tag in stack)
        if token.startswith("<") and len(token) > 1:
            tag = _TAG.match(token)
            if end + closers > budget:
                break
            if tag:
                closing, name = tag.group(1), tag.group(2).lower()
                if closing:
                    for i in range(len(stack) - 1, -1, -1):
                        if stack[i][0] == name:
                            del stack[i:]
                            break
                elif not token.endswith("/>"):
                    stack.append((name, token))
            position = end
            hard = (position, list(stack))
            continue
        if token.startswith("&") and len(token) > 1:
            if end + closers > budget:
                break
            position = end
            hard = (position, list(stack))
            continue
        # Plain text: note every break inside it that still fits.
        for offset in range(len(token)):
            at = position + offset
            # "+ 1": a cut after ". " keeps the full stop.
            if at + 1 + closers > budget:
                break
            for mark in _BREAKS:
                if token.startswith(mark, offset):
                    candidates[mark] = (at + len(mark), list(stack))
            hard = (at, list(stack))
        if end + closers > budget:
            break
        position = end
        hard = (position, list(stack))
    for mark in _BREAKS:
        found = candidates.get(mark)
        # A paragraph break near the start would waste most of the part: prefer a line
        # or a word boundary further on.
        if found and (found[0] >= budget // 2 or mark == " "):
            return found
    for mark in _BREAKS:
        if mark in candidates:
            return candidates[mark]
    if hard is None or hard[0] == 0:
        return max(1, budget), list(opened)
    return hard
