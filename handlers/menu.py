"""The main menu (a reply keyboard) and what each person sees in it.

Each feature adds its entry to ``MENU``; an entry shows only to those its ``visible``
predicate admits, and is matched in every language, so a person who just switched
language can still press a button from the old keyboard.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from magic_filter import MagicFilter

from bot.i18n import N_, _, all_translations
from bot.services.people import Actor

router = Router(name="menu")
# Catch-alls, included after every feature.
fallback = Router(name="fallback")
stale = Router(name="stale-buttons")


@dataclass(frozen=True)
class MenuEntry:
    key: str
    # A msgid marked with N_(); translated when the keyboard is drawn.
    text: str
    visible: Callable[[Actor], bool]
    row: int

    @property
    def label(self) -> str:
        return _(self.text)


def _registered(actor: Actor) -> bool:
    return actor.resident is not None


def _reviewer(actor: Actor) -> bool:
    return bool(actor.led_group_ids() or actor.admin_ward_ids())


def _reads_notices(actor: Actor) -> bool:
    resident = actor.resident
    return bool(
        (resident is not None and resident.status != "rejected")
        or actor.led_group_ids()
        or actor.admin_ward_ids()
        or actor.inspected_ward_ids()
    )


MENU: list[MenuEntry] = [
    MenuEntry("notices", N_("📢 Notices"), _reads_notices, row=1),
    MenuEntry("votes", N_("🗳 Votes"), _reads_notices, row=1),
    MenuEntry("households", N_("👥 Households"), _reviewer, row=5),
    MenuEntry("settings", N_("⚙️ Settings"), lambda actor: actor.person is not None, row=9),
]


def entry(key: str) -> MenuEntry:
    return next(e for e in MENU if e.key == key)


def menu_button(key: str) -> MagicFilter:
    """Matches the entry's label in any language."""
    msgid = entry(key).text
    # Resolved per update, not at import: catalogs are compiled when the bot starts.
    return F.text.func(lambda text: text in all_translations(msgid))


def main_menu(actor: Actor) -> ReplyKeyboardMarkup | None:
    rows: dict[int, list[KeyboardButton]] = {}
    for item in MENU:
        if item.visible(actor):
            rows.setdefault(item.row, []).append(KeyboardButton(text=item.label))
    if not rows:
        return None
    return ReplyKeyboardMarkup(
        keyboard=[rows[k] for k in sorted(rows)],
        resize_keyboard=True,
        is_persistent=True,
    )


def status_line(actor: Actor) -> str:
    resident = actor.resident
    if resident is None:
        return _("You are not registered as a resident yet. Send /start to register.")
    if resident.status == "pending":
        return _("Your registration is waiting for your group leader's approval.")
    if resident.status == "rejected":
        return _("Your registration was not approved. Send /start to try again.")
    return _("You are a verified resident.")


@router.message(Command("menu", "help"))
async def show_menu(message: Message, actor: Actor, state: FSMContext) -> None:
    await state.clear()
    await message.answer(
        _("Main menu. {status}").format(status=status_line(actor)),
        reply_markup=main_menu(actor),
    )


@router.message(Command("cancel"))
async def cancel(message: Message, actor: Actor, state: FSMContext) -> None:
    had_state = await state.get_state() is not None
    await state.clear()
    await message.answer(
        _("Cancelled. Nothing was saved.") if had_state else _("There is nothing to cancel."),
        reply_markup=main_menu(actor) or ReplyKeyboardRemove(),
    )


@fallback.message(F.text)
async def unknown_text(message: Message, actor: Actor) -> None:
    await message.answer(
        _("I did not understand that. Please choose from the menu below, or send /help."),
        reply_markup=main_menu(actor),
    )


@fallback.message()
async def unexpected_content(message: Message, actor: Actor) -> None:
    await message.answer(
        _("I cannot use this here. Please choose from the menu below."),
        reply_markup=main_menu(actor),
    )


@stale.callback_query()
async def stale_button(query: CallbackQuery) -> None:
    # Forged data, a button from an old message, or one whose step is over.
    await query.answer(_("This button is no longer valid."), show_alert=True)
