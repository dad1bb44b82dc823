"""Group chats: /link to a residential group or an office, and pointers to the private
chat for everything personal."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.filters.chat_member_updated import (
    JOIN_TRANSITION,
    LEAVE_TRANSITION,
    ChatMemberUpdatedFilter,
)
from aiogram.types import (
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery import outbox
from bot.i18n import _
from bot.services import chats
from bot.services.people import Actor
from bot.telegram.middlewares import CHANNEL
from handlers.keyboards import esc

router = Router(name="chats")

PRIVATE_COMMANDS = (
    "start",
    "menu",
    "help",
    "settings",
    "households",
    "cancel",
    "feedback",
    "mytickets",
    "tickets",
)


class LinkPick(CallbackData, prefix="ln"):
    kind: str
    target_id: int


GROUP_CHAT = F.chat.type.in_({"group", "supergroup"})


@router.my_chat_member(F.chat.type == "private", ChatMemberUpdatedFilter(LEAVE_TRANSITION))
async def blocked(event: ChatMemberUpdated, session: AsyncSession) -> None:
    # Nothing more is sent to someone who blocked the bot, until they write again.
    await outbox.mark_blocked(session, CHANNEL, str(event.chat.id))


@router.my_chat_member(F.chat.type == "private", ChatMemberUpdatedFilter(JOIN_TRANSITION))
async def unblocked(event: ChatMemberUpdated, session: AsyncSession) -> None:
    await outbox.mark_unblocked(session, CHANNEL, str(event.chat.id))


@router.my_chat_member(GROUP_CHAT, ChatMemberUpdatedFilter(JOIN_TRANSITION))
async def added(event: ChatMemberUpdated) -> None:
    await event.answer(
        _(
            "Hello! I am the ward's wardbot. A group leader or an officer can send /link here "
            "to receive their group's notices or their office's tickets in this chat."
        )
    )


@router.my_chat_member(GROUP_CHAT, ChatMemberUpdatedFilter(LEAVE_TRANSITION))
async def removed(event: ChatMemberUpdated, session: AsyncSession) -> None:
    await chats.unlink_chat(session, event.chat.id)


@router.message(GROUP_CHAT, Command("link"))
async def link(message: Message, session: AsyncSession, actor: Actor) -> None:
    targets = await chats.link_targets(session, actor)
    if not targets:
        await message.reply(
            _("Only a group leader, an officer or a ward administrator can link this chat.")
        )
        return
    builder = InlineKeyboardBuilder()
    for target in targets[:30]:
        label = _("👥 {name}") if target.kind == "group" else _("🏢 {name}")
        builder.button(
            text=label.format(name=target.name),
            callback_data=LinkPick(kind=target.kind, target_id=target.id),
        )
    builder.adjust(1)
    await message.reply(
        _("Link this chat to which group or office?"), reply_markup=builder.as_markup()
    )


@router.callback_query(LinkPick.filter())
async def picked(
    query: CallbackQuery, callback_data: LinkPick, session: AsyncSession, actor: Actor
) -> None:
    message = query.message
    assert isinstance(message, Message)
    target = await chats.link(
        session,
        actor,
        kind=callback_data.kind,
        target_id=callback_data.target_id,
        chat_id=message.chat.id,
    )
    text = (
        _("✅ This chat now receives the notices of {name}.")
        if target.kind == "group"
        else _("✅ This chat now receives the tickets of {name}.")
    )
    await query.answer()
    await message.edit_text(text.format(name=esc(target.name)))


@router.message(GROUP_CHAT, CommandStart())
@router.message(GROUP_CHAT, Command(*PRIVATE_COMMANDS))
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
