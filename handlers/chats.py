"""Group chats: commands that belong in a private chat get a pointer there."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command, CommandStart
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.i18n import _

router = Router(name="chats")

PRIVATE_COMMANDS = ("start", "menu", "help", "settings", "households", "cancel")


@router.message(CommandStart())
@router.message(Command(*PRIVATE_COMMANDS))
async def private_only(message: Message, bot: Bot) -> None:
    me = await bot.me()
    await message.reply(
        _("Please write to me in a private chat for this; nothing here was changed."),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=_("Open a private chat"), url=f"https://t.me/{me.username}"
                    )
                ]
            ]
        ),
    )
