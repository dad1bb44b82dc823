"""Linked accounts on Telegram: the code a Zalo account asked for, the notice that an
account joined the registration, and its "Hủy liên kết" (Unlink) button, confirmed.

The rules are ``bot.services.links``'s; these renderers serve every channel (on Zalo a
notice names the words to type instead of a button).
"""

from __future__ import annotations

from datetime import datetime

from aiogram import Router
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.render import Outgoing, renderer
from bot.i18n import _, format_datetime
from bot.models import Delivery
from bot.services import links
from bot.services.people import Actor
from handlers.keyboards import esc

router = Router(name="links")

CHANNEL_NAMES = {"zalo": "Zalo", "telegram": "Telegram"}


class Unlink(CallbackData, prefix="ul"):
    account_id: int
    # ask (the notice's button), yes, keep
    action: str


def _channel(name: str) -> str:
    return CHANNEL_NAMES.get(name, name.capitalize())


@renderer(links.KIND)
async def render_link_code(session: AsyncSession, row: Delivery) -> Outgoing | None:
    return Outgoing(
        text=_(
            "🔗 Your code to link a {channel} account to your registration: <b>{code}</b>\n"
            "It is valid for 15 minutes. Never give this code to anyone, not even someone "
            "who says they are from the ward: whoever types it takes part in your "
            "household's decisions in your name. If you did not ask for it, ignore this "
            "message."
        ).format(channel=_channel(str(row.params.get("channel", ""))), code=row.params["code"])
    )


def ask_keyboard(account_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Unlink"), callback_data=Unlink(account_id=account_id, action="ask"))
    return builder.as_markup()


@renderer(links.LINKED_KIND)
async def render_linked(session: AsyncSession, row: Delivery) -> Outgoing | None:
    params = row.params
    name = str(params.get("name") or "").strip()
    text = _("🔗 The {channel} account {name} was just linked to your registration ({when}).")
    text = text.format(
        channel=_channel(str(params.get("channel", ""))),
        name=f"“{esc(name)}”" if name else "",
        when=format_datetime(datetime.fromisoformat(params["at"])),
    ).replace("  ", " ")
    if row.channel == "zalo":
        # No buttons on Zalo: the words, typed, do the same.
        return Outgoing(text=text + "\n" + _("If it was not you, type “Unlink” to undo it."))
    return Outgoing(
        text=text + "\n" + _("If it was not you, press “Unlink” to undo it."),
        markup=ask_keyboard(int(params["account_id"])),
    )


@renderer(links.UNLINKED_KIND)
async def render_unlinked(session: AsyncSession, row: Delivery) -> Outgoing | None:
    return Outgoing(
        text=_(
            "The {channel} account is no longer linked to the registration: it receives "
            "nothing for it and cannot act for it."
        ).format(channel=_channel(str(row.params.get("channel", ""))))
    )


@router.callback_query(Unlink.filter())
async def unlink(
    query: CallbackQuery, callback_data: Unlink, session: AsyncSession, actor: Actor
) -> None:
    message = query.message
    assert isinstance(message, Message)
    # Checked on the server every time: the account must have joined this person.
    account = await links.linked_account(session, actor, callback_data.account_id)
    if callback_data.action == "ask":
        builder = InlineKeyboardBuilder()
        builder.button(
            text=_("✅ Yes, unlink it"),
            callback_data=Unlink(account_id=callback_data.account_id, action="yes"),
        )
        builder.button(
            text=_("Keep it"),
            callback_data=Unlink(account_id=callback_data.account_id, action="keep"),
        )
        await query.answer()
        await message.edit_reply_markup(reply_markup=builder.as_markup())
        return
    if callback_data.action == "keep":
        await query.answer(_("Nothing changed."))
        await message.edit_reply_markup(reply_markup=ask_keyboard(callback_data.account_id))
        return
    if callback_data.action != "yes":
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    await links.unlink(session, actor, account.id)  # type: ignore[arg-type]
    await query.answer(_("Done."))
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(
        _("✅ The {channel} account is no longer linked to your registration.").format(
            channel=_channel(account.channel)
        )
    )
