"""Registering as a resident (private chat) and the leader's decision on a request."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import CommandStart, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.render import Outgoing, renderer
from bot.i18n import N_, _, all_translations, format_datetime, get_i18n
from bot.models import Delivery, ResidentialGroup
from bot.services import registration, wards
from bot.services.errors import InvalidInput, StaleButton
from bot.services.people import Actor, clean_name, clean_text, ensure_person, set_language
from bot.telegram.middlewares import CHANNEL
from handlers.keyboards import Page, esc, page_slice, pager_row
from handlers.menu import main_menu, status_line

router = Router(name="registration")

CANCEL = N_("❌ Cancel registration")


class Registration(StatesGroup):
    language = State()
    ward = State()
    group = State()
    name = State()
    phone = State()
    address = State()
    confirm = State()


class LanguagePick(CallbackData, prefix="lang"):
    code: str


class WardPick(CallbackData, prefix="rw"):
    ward_id: int


class GroupPick(CallbackData, prefix="rg"):
    group_id: int


class Submit(CallbackData, prefix="rs"):
    ok: bool


class Decision(CallbackData, prefix="rd"):
    resident_id: int
    # approve, reject (asks to confirm), confirm-reject, back
    action: str


def language_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text="🇻🇳 Tiếng Việt", callback_data=LanguagePick(code="vi"))
    builder.button(text="🇬🇧 English", callback_data=LanguagePick(code="en"))
    builder.adjust(2)
    return builder.as_markup()


def cancel_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text=_(CANCEL))]], resize_keyboard=True)


def phone_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=_("📱 Share my phone number"), request_contact=True)],
            [KeyboardButton(text=_(CANCEL))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


async def group_keyboard(session: AsyncSession, ward_id: int, page: int) -> InlineKeyboardMarkup:
    groups = await wards.active_groups(session, ward_id)
    shown, page, pages = page_slice(groups, page)
    builder = InlineKeyboardBuilder()
    for group in shown:
        builder.button(text=group.name, callback_data=GroupPick(group_id=group.id))
    builder.adjust(2)
    builder.row(*pager_row("groups", ward_id, page, pages))
    return builder.as_markup()


# --- /start -------------------------------------------------------------------------


@router.message(CommandStart(deep_link=False))
@router.message(CommandStart(deep_link=True, magic=~F.args.startswith("inv_")))
async def start(message: Message, session: AsyncSession, actor: Actor, state: FSMContext) -> None:
    assert message.from_user is not None
    if actor.person is None:
        actor = await ensure_person(
            session,
            channel=CHANNEL,
            external_id=str(message.from_user.id),
            chat_id=str(message.chat.id),
            username=message.from_user.username,
            language=None,
        )
    if actor.resident is not None and actor.resident.status != "rejected":
        await state.clear()
        await message.answer(
            _("Welcome back. {status}").format(status=status_line(actor)),
            reply_markup=main_menu(actor),
        )
        return
    await state.set_state(Registration.language)
    await message.answer(
        "Chào mừng bạn đến với kênh dân chủ cơ sở của phường, xã.\n"
        "Welcome to your ward's grassroots democracy channel.\n\n"
        "Chọn ngôn ngữ / Choose your language:",
        reply_markup=language_keyboard(),
    )


@router.callback_query(Registration.language, LanguagePick.filter())
async def chose_language(
    query: CallbackQuery,
    callback_data: LanguagePick,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
) -> None:
    await set_language(session, actor, callback_data.code)
    # The locale of this update was chosen before the person picked theirs.
    with get_i18n().use_locale(actor.language or "vi"):
        await query.answer()
        await _ask_ward(query.message, session, state)  # type: ignore[arg-type]


async def _ask_ward(message: Message, session: AsyncSession, state: FSMContext) -> None:
    all_wards = await wards.list_wards(session)
    if not all_wards:
        await state.clear()
        await message.answer(_("No ward has been set up yet. Please try again later."))
        return
    if len(all_wards) == 1:
        await _ask_group(message, session, state, all_wards[0].id)  # type: ignore[arg-type]
        return
    await state.set_state(Registration.ward)
    builder = InlineKeyboardBuilder()
    for ward in all_wards:
        builder.button(text=ward.name, callback_data=WardPick(ward_id=ward.id))
    builder.adjust(1)
    await message.answer(
        _("Which ward or commune do you live in?"), reply_markup=builder.as_markup()
    )


@router.callback_query(Registration.ward, WardPick.filter())
async def chose_ward(
    query: CallbackQuery, callback_data: WardPick, session: AsyncSession, state: FSMContext
) -> None:
    ward = await wards.get_ward(session, callback_data.ward_id)
    await query.answer()
    await _ask_group(query.message, session, state, ward.id)  # type: ignore[arg-type]


async def _ask_group(
    message: Message, session: AsyncSession, state: FSMContext, ward_id: int
) -> None:
    await state.set_state(Registration.group)
    await state.update_data(ward_id=ward_id)
    await message.answer(
        _("Which residential group (tổ dân phố, khu phố or thôn) do you live in?"),
        reply_markup=await group_keyboard(session, ward_id, 0),
    )


async def turn_group_page(
    query: CallbackQuery, page: Page, session: AsyncSession, state: FSMContext
) -> None:
    """Next/previous page of the group picker, in registration or when moving."""
    ward_id = (await state.get_data()).get("ward_id")
    if ward_id != page.ref:
        raise StaleButton()
    await query.message.edit_reply_markup(  # type: ignore[union-attr]
        reply_markup=await group_keyboard(session, ward_id, page.page)
    )
    await query.answer()


async def picked_group(
    pick: GroupPick, session: AsyncSession, state: FSMContext
) -> ResidentialGroup:
    """The group chosen in the picker, if it belongs to the ward being browsed."""
    group = await wards.get_group(session, pick.group_id)
    if group.ward_id != (await state.get_data()).get("ward_id") or not group.active:
        raise StaleButton()
    return group


@router.callback_query(Registration.group, Page.filter(F.list == "groups"))
async def group_page(
    query: CallbackQuery, callback_data: Page, session: AsyncSession, state: FSMContext
) -> None:
    await turn_group_page(query, callback_data, session, state)


@router.callback_query(Registration.group, GroupPick.filter())
async def chose_group(
    query: CallbackQuery, callback_data: GroupPick, session: AsyncSession, state: FSMContext
) -> None:
    group = await picked_group(callback_data, session, state)
    await state.update_data(group_id=group.id, group_name=group.name)
    await state.set_state(Registration.name)
    await query.answer()
    await query.message.edit_text(  # type: ignore[union-attr]
        _("Residential group: <b>{group}</b>").format(group=esc(group.name))
    )
    await query.message.answer(  # type: ignore[union-attr]
        _("What is your full name? (for example: Nguyễn Văn An)"), reply_markup=cancel_keyboard()
    )


# --- the steps that expect text -------------------------------------------------------


@router.message(
    StateFilter(Registration), F.text.func(lambda text: text in all_translations(CANCEL))
)
async def cancel(message: Message, actor: Actor, state: FSMContext) -> None:
    await state.clear()
    await message.answer(
        _("Registration cancelled. Nothing was saved. Send /start to begin again."),
        reply_markup=main_menu(actor) or ReplyKeyboardRemove(),
    )


@router.message(Registration.name, F.text)
async def got_name(message: Message, state: FSMContext) -> None:
    name = clean_name(message.text)
    await state.update_data(full_name=name)
    await state.set_state(Registration.phone)
    await message.answer(
        _(
            "Thank you, {name}. Please share your phone number with the button below: "
            "your group leader uses it to recognise your household."
        ).format(name=esc(name)),
        reply_markup=phone_keyboard(),
    )


@router.message(Registration.phone, F.contact)
async def got_contact(
    message: Message, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    assert message.contact is not None and message.from_user is not None
    if message.contact.user_id != message.from_user.id:
        raise InvalidInput(
            _("Please share your own number with the “📱 Share my phone number” button.")
        )
    # Telegram vouches for this number (the person's own): it wins over the same number
    # typed on Zalo by anyone, whose registration goes back to their leader.
    phone = await registration.check_phone_free(
        session, actor, message.contact.phone_number, verified=True
    )
    await state.update_data(phone=phone)
    await state.set_state(Registration.address)
    await message.answer(
        _("What is your household's address? (for example: Số 12, ngõ 5, đường Lê Lợi)"),
        reply_markup=cancel_keyboard(),
    )


@router.message(Registration.phone, F.text)
async def typed_phone(message: Message) -> None:
    await message.answer(
        _("Please use the “📱 Share my phone number” button instead of typing the number."),
        reply_markup=phone_keyboard(),
    )


@router.message(Registration.address, F.text)
async def got_address(message: Message, state: FSMContext) -> None:
    address = clean_text(message.text, max_length=registration.ADDRESS_MAX, min_length=3)
    await state.update_data(address=address)
    await state.set_state(Registration.confirm)
    data = await state.get_data()
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Send"), callback_data=Submit(ok=True))
    builder.button(text=_("✏️ Start over"), callback_data=Submit(ok=False))
    builder.adjust(2)
    await message.answer(
        _(
            "Please check your details:\n"
            "Name: <b>{name}</b>\nPhone: {phone}\nGroup: {group}\nAddress: {address}\n\n"
            "Send them to your group leader for approval?"
        ).format(
            name=esc(data["full_name"]),
            phone=esc(data["phone"]),
            group=esc(data["group_name"]),
            address=esc(address),
        ),
        reply_markup=builder.as_markup(),
    )


@router.message(StateFilter(Registration.name, Registration.address, Registration.phone))
async def not_text(message: Message, raw_state: str | None) -> None:
    if raw_state == Registration.phone.state:
        await message.answer(
            _("Please use the “📱 Share my phone number” button."), reply_markup=phone_keyboard()
        )
        return
    await message.answer(_("Please send this as a text message."))


@router.message(
    StateFilter(Registration.language, Registration.ward, Registration.group, Registration.confirm)
)
async def use_buttons(message: Message) -> None:
    await message.answer(_("Please choose with the buttons above, or send /cancel to stop."))


@router.callback_query(Registration.confirm, Submit.filter())
async def submit(
    query: CallbackQuery,
    callback_data: Submit,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
) -> None:
    message = query.message
    assert isinstance(message, Message)
    if not callback_data.ok:
        await query.answer()
        await message.edit_reply_markup(reply_markup=None)
        await _ask_ward(message, session, state)
        return
    data = await state.get_data()
    result = await registration.submit(
        session,
        actor,
        group_id=data["group_id"],
        full_name=data["full_name"],
        phone=data["phone"],
        address=data["address"],
        # Only ever set from Telegram's contact button, checked as the sender's own.
        phone_verified=True,
    )
    await state.clear()
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    if result.verified_at_once:
        text = _(
            "Your household is on {group}'s list: you are verified. "
            "You can now take part in your ward's decisions."
        ).format(group=esc(result.group.name))
    elif result.reviewers_notified:
        text = _(
            "Thank you. Your registration was sent to the leader of {group}. "
            "You will get a message when it is approved; meanwhile you can read notices."
        ).format(group=esc(result.group.name))
    else:
        text = _(
            "Thank you. Your registration is saved; {group} has no leader on wardbot yet, "
            "so it will be reviewed when one joins."
        ).format(group=esc(result.group.name))
    await message.answer(text, reply_markup=main_menu(actor))


# --- the leader's decision -----------------------------------------------------------


def decision_keyboard(resident_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("✅ Approve"), callback_data=Decision(resident_id=resident_id, action="approve")
    )
    builder.button(
        text=_("❌ Reject"), callback_data=Decision(resident_id=resident_id, action="reject")
    )
    builder.adjust(2)
    return builder.as_markup()


def request_text(request: registration.PendingRequest) -> str:
    household = request.household
    joining = (
        _("a new household, as its representative")
        if request.resident.is_representative
        else _("a member of an existing household")
    )
    return _(
        "📝 <b>Registration request</b>\n"
        "Name: {name}\nPhone: {phone}\nGroup: {group}\nAddress: {address}\nJoins: {joining}\n"
        "Sent: {when}"
    ).format(
        name=esc(request.person.full_name or "—"),
        phone=esc(request.person.phone or ""),
        group=esc(request.group.name),
        address=esc(household.address if household else "—"),
        joining=joining,
        when=format_datetime(request.resident.requested_at),
    ) + _zalo_note(request)


def _zalo_note(request: registration.PendingRequest) -> str:
    notes = []
    if not request.phone_verified:
        notes.append(
            _(
                "📱 Registered on Zalo: the phone number was typed, not verified. "
                "Please call it to confirm."
            )
        )
    if request.verified_by_other is not None:
        notes.append(
            _(
                "⚠️ This number has since been verified on Telegram by another resident, "
                "{name}: check that this registration is genuine before approving it."
            ).format(name=esc(request.verified_by_other.full_name or "—"))
        )
    return "".join("\n" + note for note in notes)


@renderer("registration.request")
async def render_request(session: AsyncSession, row: Delivery) -> Outgoing | None:
    request = await registration.get_request(session, row.params["resident_id"])
    if request.resident.status != "pending":
        return None
    return Outgoing(
        text=request_text(request),
        markup=decision_keyboard(request.resident.id),  # type: ignore[arg-type]
    )


@renderer("registration.decision")
async def render_decision(session: AsyncSession, row: Delivery) -> Outgoing | None:
    group = esc(row.params.get("group", ""))
    if row.params.get("approved"):
        text = _(
            "✅ Your registration in {group} is approved. You can now take part in your "
            "ward's decisions."
        ).format(group=group)
    else:
        text = _("Your registration in {group} was not approved.").format(group=group)
        if row.params.get("note"):
            text += "\n" + _("Reason: {note}").format(note=esc(row.params["note"]))
        text += "\n" + _("Send /start to register again.")
    return Outgoing(text=text)


@renderer("registration.review_again")
async def render_review_again(session: AsyncSession, row: Delivery) -> Outgoing | None:
    return Outgoing(
        text=_(
            "Your registration in {group} is being reviewed again by the group leader. "
            "Until it is approved, you can read notices but not take part in decisions."
        ).format(group=esc(row.params.get("group", "")))
    )


@router.callback_query(Decision.filter())
async def decide(
    query: CallbackQuery, callback_data: Decision, session: AsyncSession, actor: Actor
) -> None:
    message = query.message
    assert isinstance(message, Message)
    resident_id = callback_data.resident_id
    if callback_data.action in ("reject", "back"):
        # Only re-drawing buttons, but still only for someone who may decide.
        request = await registration.review_request(session, actor, resident_id)
        if request.resident.status != "pending":
            await query.answer(_("This request has already been decided."), show_alert=True)
            return
        if callback_data.action == "reject":
            builder = InlineKeyboardBuilder()
            builder.button(
                text=_("Yes, reject"),
                callback_data=Decision(resident_id=resident_id, action="confirm-reject"),
            )
            builder.button(
                text=_("◀️ Back"), callback_data=Decision(resident_id=resident_id, action="back")
            )
            markup = builder.as_markup()
        else:
            markup = decision_keyboard(resident_id)
        await message.edit_reply_markup(reply_markup=markup)
        await query.answer()
        return
    if callback_data.action not in ("approve", "confirm-reject"):
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    approve = callback_data.action == "approve"
    request = await registration.decide(session, actor, resident_id, approve=approve)
    name = actor.person.full_name if actor.person else None
    if name:
        verdict = (_("✅ Approved by {name}.") if approve else _("❌ Rejected by {name}.")).format(
            name=esc(name)
        )
    else:
        verdict = _("✅ Approved.") if approve else _("❌ Rejected.")
    await query.answer(_("Done."))
    await message.edit_text(request_text(request) + "\n\n" + verdict)


@router.message(StateFilter(None), F.contact)
async def stray_contact(message: Message, actor: Actor) -> None:
    await message.answer(
        _("I did not ask for a phone number. Please choose from the menu below."),
        reply_markup=main_menu(actor),
    )
