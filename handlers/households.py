"""The group leader's households: pending registrations and the household list."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import _
from bot.services import households, registration, wards
from bot.services.errors import InvalidInput, NotAllowed
from bot.services.people import Actor
from handlers.keyboards import esc
from handlers.menu import main_menu, menu_button
from handlers.registration import decision_keyboard, request_text

router = Router(name="households")


class HouseholdAction(CallbackData, prefix="hh"):
    # pending | upload
    action: str
    group_id: int


class Upload(StatesGroup):
    file = State()


def _group_ids(actor: Actor) -> list[int]:
    ids = actor.led_group_ids()
    if not ids and not actor.admin_ward_ids():
        raise NotAllowed()
    return ids


@router.message(menu_button("households"))
@router.message(Command("households"))
async def overview(message: Message, session: AsyncSession, actor: Actor) -> None:
    group_ids = _group_ids(actor)
    if not group_ids:
        # An admin without a group of their own reviews requests for the whole ward.
        requests = await registration.pending(session, actor)
        await message.answer(
            _("Registrations waiting for review in your ward: {count}.").format(count=len(requests))
        )
        for request in requests[:20]:
            await message.answer(
                request_text(request), reply_markup=decision_keyboard(request.resident.id)
            )  # type: ignore[arg-type]
        return
    for group_id in group_ids:
        summary = await households.summary(session, actor, group_id)
        builder = InlineKeyboardBuilder()
        builder.button(
            text=_("📝 Waiting for approval ({count})").format(count=summary.pending),
            callback_data=HouseholdAction(action="pending", group_id=group_id),
        )
        builder.button(
            text=_("📥 Upload household list"),
            callback_data=HouseholdAction(action="upload", group_id=group_id),
        )
        builder.adjust(1)
        await message.answer(
            _(
                "👥 <b>{group}</b>\nHouseholds: {households} (verified: {verified})\n"
                "Verified residents: {residents}\nWaiting for approval: {pending}"
            ).format(
                group=esc(summary.group.name),
                households=summary.households,
                verified=summary.verified_households,
                residents=summary.residents,
                pending=summary.pending,
            ),
            reply_markup=builder.as_markup(),
        )


@router.callback_query(HouseholdAction.filter(F.action == "pending"))
async def pending(
    query: CallbackQuery, callback_data: HouseholdAction, session: AsyncSession, actor: Actor
) -> None:
    await households.summary(session, actor, callback_data.group_id)  # checks the role
    requests = [
        r
        for r in await registration.pending(session, actor)
        if r.group.id == callback_data.group_id
    ]
    await query.answer()
    if not requests:
        await query.message.answer(_("No registration is waiting for approval."))  # type: ignore[union-attr]
        return
    for request in requests[:20]:
        await query.message.answer(  # type: ignore[union-attr]
            request_text(request),
            reply_markup=decision_keyboard(request.resident.id),  # type: ignore[arg-type]
        )


@router.callback_query(HouseholdAction.filter(F.action == "upload"))
async def ask_file(
    query: CallbackQuery,
    callback_data: HouseholdAction,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
) -> None:
    summary = await households.summary(session, actor, callback_data.group_id)
    await state.set_state(Upload.file)
    await state.update_data(group_id=callback_data.group_id)
    await query.answer()
    await query.message.answer(  # type: ignore[union-attr]
        _(
            "Send the household list of {group} as a .xlsx or .csv file. The first row names "
            "the columns: <b>Địa chỉ</b> (address), <b>Họ tên</b> (name), <b>Số điện thoại</b> "
            "(phone) and optionally <b>Vai trò</b> (“chủ hộ” for the representative). "
            "The new list replaces the previous one. Send /cancel to stop."
        ).format(group=esc(summary.group.name))
    )


@router.message(Upload.file, F.document)
async def got_file(
    message: Message, bot: Bot, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    assert message.document is not None
    document = message.document
    if document.file_size and document.file_size > households.ROSTER_MAX_BYTES:
        raise InvalidInput(_("The file is too large (at most 5 MB)."))
    group_id = (await state.get_data())["group_id"]
    content = await bot.download(document)
    assert content is not None
    report = await households.import_roster(
        session, actor, group_id, document.file_name or "list", content.read()
    )
    group = await wards.get_group(session, group_id)
    await state.clear()
    await message.answer(
        _(
            "✅ Household list of {group} saved: {households} households ({created} new), "
            "{entries} people. Residents verified now: {verified}."
        ).format(
            group=esc(group.name),
            households=report.households_listed,
            created=report.households_created,
            entries=report.entries,
            verified=len(report.verified),
        ),
        reply_markup=main_menu(actor),
    )


@router.message(StateFilter(Upload.file))
async def not_a_file(message: Message) -> None:
    await message.answer(_("Please send the list as a .xlsx or .csv file, or /cancel."))
