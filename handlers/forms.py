"""Pieces the creation forms of notices and votes share: the inline cancel, long answers,
stored files as attachments and a received file checked against the ward's limits."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.delivery.render import Attachment, split_html
from bot.i18n import _
from bot.services import files
from bot.services.errors import InvalidInput
from bot.services.people import Actor
from bot.telegram.transport import TEXT_LIMIT
from handlers.menu import main_menu


def cancel_button(data: type[CallbackData]) -> InlineKeyboardButton:
    """The inline cancel button of a form whose callback data has ``action`` and ``value``."""
    return InlineKeyboardButton(text=_("❌ Cancel"), callback_data=data(action="cancel").pack())


async def cancel_form(query: CallbackQuery, actor: Actor, state: FSMContext, text: str) -> None:
    """End the form from its inline cancel button and say (``text``) that nothing happened."""
    await state.clear()
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)  # type: ignore[union-attr]
    await query.message.answer(text, reply_markup=main_menu(actor))  # type: ignore[union-attr]


async def answer_long(
    message: Message, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Answer with ``text`` split to Telegram's limit; ``markup`` goes on the last part."""
    parts = split_html(text, TEXT_LIMIT)
    for index, part in enumerate(parts):
        await message.answer(part, reply_markup=markup if index == len(parts) - 1 else None)


def attachment(stored: Any) -> Attachment:
    """A stored file as the sender attaches it: photos as photos, the rest as documents."""
    kind = "photo" if files.is_photo(stored) else "document"
    return Attachment(kind=kind, filename=stored.filename, stored_file_id=stored.id)


def received_file(
    message: Message,
    *,
    types: Collection[str],
    wrong_type: str,
    document_name: str,
    photo_name: str,
    limit_mb: int,
) -> dict[str, Any]:
    """The document or photo of ``message`` as form data (Telegram file id, name, MIME type,
    size); ``wrong_type`` is raised for a document whose type is not in ``types``, and the
    size is checked against ``limit_mb``. Names are used when the file has none."""
    if message.document is not None:
        document = message.document
        mime = files.guess_type(document.file_name or "file", document.mime_type)
        if mime not in types:
            raise InvalidInput(wrong_type)
        item = {
            "file_id": document.file_id,
            "name": (document.file_name or document_name)[:200],
            "mime": mime,
            "size": document.file_size or 0,
        }
    else:
        photo = message.photo[-1]  # type: ignore[index]
        item = {
            "file_id": photo.file_id,
            "name": photo_name,
            "mime": "image/jpeg",
            "size": photo.file_size or 0,
        }
    if item["size"] > limit_mb * 1024 * 1024:
        raise InvalidInput(_("The file is too large: at most {limit} MB.").format(limit=limit_mb))
    return item
