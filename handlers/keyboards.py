"""Keyboard pieces more than one feature uses."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import _

PAGE_SIZE = 8


class Page(CallbackData, prefix="pg"):
    """Turn the page of a list; ``list`` names which list, ``ref`` its owner (a ward)."""

    list: str
    ref: int
    page: int


def page_slice(
    items: Sequence[Any], page: int, size: int = PAGE_SIZE
) -> tuple[list[Any], int, int]:
    """The items of ``page`` (clamped to the existing pages), the page and the page count."""
    pages = max(1, -(-len(items) // size))
    page = min(max(page, 0), pages - 1)
    return list(items[page * size : (page + 1) * size]), page, pages


def pager_row(name: str, ref: int, page: int, pages: int) -> list[InlineKeyboardButton]:
    """Previous/next buttons; add them with ``builder.row(*...)`` after ``adjust``."""
    row = []
    if page > 0:
        row.append(
            InlineKeyboardButton(
                text=_("◀️ Previous"), callback_data=Page(list=name, ref=ref, page=page - 1).pack()
            )
        )
    if page < pages - 1:
        row.append(
            InlineKeyboardButton(
                text=_("Next ▶️"), callback_data=Page(list=name, ref=ref, page=page + 1).pack()
            )
        )
    return row


def confirm_keyboard(
    yes: CallbackData, no: CallbackData, *, yes_text: str | None = None
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=yes_text or _("✅ Confirm"), callback_data=yes)
    builder.button(text=_("❌ Cancel"), callback_data=no)
    builder.adjust(2)
    return builder.as_markup()


def esc(value: object) -> str:
    """Escape text that came from a person before it goes into an HTML message."""
    return html.escape(str(value), quote=False)
