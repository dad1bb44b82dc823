"""Telegram HTML as Zalo plain text, in parts of at most 2,000 characters counted in
UTF-16 code units (an emoji counts two; bot/zalo/api.py says why)."""

from __future__ import annotations

import html
import re

from bot.delivery.render import split_html
from bot.zalo.api import TEXT_LIMIT, utf16_len

_BREAK_TAGS = re.compile(r"<br\s*/?>", re.IGNORECASE)
_LINK = re.compile(r'<a\s+href="([^"]*)"[^>]*>(.*?)</a>', re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def plain(text: str) -> str:
    """Zalo shows text as it is: tags go, a link keeps its address, entities decode."""
    text = _BREAK_TAGS.sub("\n", text)
    text = _LINK.sub(
        lambda m: m.group(2) if m.group(1) in m.group(2) else f"{m.group(2)} ({m.group(1)})", text
    )
    return html.unescape(_TAG.sub("", text))


def split_plain(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Plain text in parts of at most ``limit`` UTF-16 units, never cut inside a word.

    Escaped, the text is HTML without tags, so ``split_html`` picks the same paragraph,
    line, sentence or word breaks it does for Telegram; escaping only lengthens, so each
    part unescaped still fits in characters. A part that characters outside the Basic
    Multilingual Plane (emoji) make too long in UTF-16 is split again, tighter.
    """
    text = text.strip()
    if utf16_len(text) <= limit:
        return [text] if text else []
    parts: list[str] = []
    for part in split_html(html.escape(text, quote=False), limit):
        piece = html.unescape(part)
        if utf16_len(piece) <= limit:
            parts.append(piece)
            continue
        parts += _tighter(piece, limit, limit - (utf16_len(piece) - len(piece)))
    return parts


def _tighter(text: str, limit: int, budget: int) -> list[str]:
    while True:
        pieces = [html.unescape(p) for p in split_html(html.escape(text, quote=False), budget)]
        if all(utf16_len(p) <= limit for p in pieces) or budget <= 1:
            return pieces
        budget = max(1, budget * 9 // 10)
