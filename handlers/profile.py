"""⚙️ Settings: language, moving to another group or household, leaving wardbot."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import _, get_i18n
from bot.services import profile, registration, wards
from bot.services.people import Actor, clean_text, mask_phone
from handlers.keyboards import Page, esc
from handlers.menu import main_menu, menu_button, status_line
from handlers.registration import (
    GroupPick,
    LanguagePick,
    group_keyboard,
    language_keyboard,
    picked_group,
    turn_group_page,
)

router = Router(name="profile")


class Setting(CallbackData, prefix="st"):
    # language | move | leave | leave-confirm | leave-cancel
    action: str


class Moving(StatesGroup):
    group = State()
    address = State()


@router.message(menu_button("settings"))
@router.message(Command("settings"))
async def show(message: Message, session: AsyncSession, actor: Actor, state: FSMContext) -> None:
    await state.clear()
    if actor.person is None:
        # Someone who left presses a button of their old keyboard.
        await message.answer(
            _("You are not registered yet. Send /start to register."),
            reply_markup=ReplyKeyboardRemove(),
        )
        return
    person = actor.person
    lines = [_("⚙️ <b>Settings</b>"), _("Name: {name}").format(name=esc(person.full_name or "—"))]
    lines.append(_("Phone: {phone}").format(phone=mask_phone(person.phone)))
    if actor.resident is not None:
        group = await wards.get_group(session, actor.resident.group_id)  # type: ignore[arg-type]
        lines.append(_("Group: {group}").format(group=esc(group.name)))
        if actor.resident.is_representative:
            lines.append(_("You represent your household."))
    lines.append(status_line(actor))
    lines.append(_("Language: Tiếng Việt") if person.language == "vi" else _("Language: English"))
    builder = InlineKeyboardBuilder()
    builder.button(text=_("🌐 Language"), callback_data=Setting(action="language"))
    if actor.resident is not None:
        builder.button(
            text=_("🏠 Move to another group or household"), callback_data=Setting(action="move")
        )
    builder.button(text=_("🚪 Leave wardbot"), callback_data=Setting(action="leave"))
    builder.adjust(1)
    await message.answer("\n".join(lines), reply_markup=builder.as_markup())


@router.callback_query(Setting.filter(F.action == "language"))
async def ask_language(query: CallbackQuery) -> None:
    await query.answer()
    await query.message.answer(
        "Chọn ngôn ngữ / Choose your language:", reply_markup=language_keyboard()
    )  # type: ignore[union-attr]


@router.callback_query(StateFilter(None), LanguagePick.filter())
async def set_language(
    query: CallbackQuery, callback_data: LanguagePick, session: AsyncSession, actor: Actor
) -> None:
    await profile.set_language(session, actor, callback_data.code)
    with get_i18n().use_locale(actor.language or "vi"):
        await query.answer()
        await query.message.answer(_("Language changed to English."), reply_markup=main_menu(actor))  # type: ignore[union-attr]


@router.callback_query(Setting.filter(F.action == "move"))
async def ask_group(
    query: CallbackQuery, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    if actor.resident is None:
        await query.answer(
            _("You are not registered yet. Send /start to register."), show_alert=True
        )
        return
    await state.set_state(Moving.group)
    await state.update_data(ward_id=actor.resident.ward_id)
    await query.answer()
    await query.message.answer(  # type: ignore[union-attr]
        _("Which group do you move to? Your new group's leader will verify you again."),
        reply_markup=await group_keyboard(session, actor.resident.ward_id, 0),  # type: ignore[arg-type]
    )


@router.callback_query(Moving.group, Page.filter(F.list == "groups"))
async def group_page(
    query: CallbackQuery, callback_data: Page, session: AsyncSession, state: FSMContext
) -> None:
    await turn_group_page(query, callback_data, session, state)


@router.callback_query(Moving.group, GroupPick.filter())
async def chose_group(
    query: CallbackQuery, callback_data: GroupPick, session: AsyncSession, state: FSMContext
) -> None:
    group = await picked_group(callback_data, session, state)
    await state.update_data(group_id=group.id)
    await state.set_state(Moving.address)
    await query.answer()
    await query.message.answer(
        _("What is your household's address in {group}?").format(group=esc(group.name))
    )  # type: ignore[union-attr]


@router.message(Moving.address, F.text)
async def got_address(
    message: Message, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    address = clean_text(message.text, max_length=registration.ADDRESS_MAX, min_length=3)
    data = await state.get_data()
    result = await registration.move(session, actor, group_id=data["group_id"], address=address)
    await state.clear()
    text = (
        _("You moved to {group} and are verified from its household list.")
        if result.verified_at_once
        else _("You moved to {group}. Its leader will verify your household again.")
    )
    await message.answer(text.format(group=esc(result.group.name)), reply_markup=main_menu(actor))


@router.message(StateFilter(Moving.address))
async def address_not_text(message: Message) -> None:
    await message.answer(_("Please send this as a text message."))


@router.callback_query(Setting.filter(F.action == "leave"))
async def ask_leave(query: CallbackQuery) -> None:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Yes, delete my data"), callback_data=Setting(action="leave-confirm"))
    builder.button(text=_("No, stay"), callback_data=Setting(action="leave-cancel"))
    builder.adjust(1)
    await query.answer()
    await query.message.answer(  # type: ignore[union-attr]
        _(
            "Leave wardbot? Your name, phone and membership are deleted and you will no longer "
            "receive notices. Reports you filed are kept without your name, as the law requires."
        ),
        reply_markup=builder.as_markup(),
    )


@router.callback_query(Setting.filter(F.action == "leave-cancel"))
async def keep(query: CallbackQuery) -> None:
    await query.answer(_("Nothing was changed."))
    await query.message.edit_reply_markup(reply_markup=None)  # type: ignore[union-attr]


@router.callback_query(Setting.filter(F.action == "leave-confirm"))
async def leave(
    query: CallbackQuery, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    await profile.leave(session, actor)
    await state.clear()
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)  # type: ignore[union-attr]
    await query.message.answer(  # type: ignore[union-attr]
        _("Your data has been deleted. Thank you for taking part. Send /start to join again."),
        reply_markup=ReplyKeyboardRemove(),
    )
