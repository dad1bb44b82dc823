"""Tickets on Telegram: residents file and follow them; offices handle them from a card in
their group chat or from /tickets in private; renderers for every ticket message.

Thin on purpose: every rule lives in ``bot.services.tickets``.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder
from magic_filter import MagicFilter
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.render import Attachment, Outgoing, renderer
from bot.i18n import N_, _, all_translations, format_date, format_datetime, get_i18n
from bot.models import Delivery, Ticket, TicketEvent, TicketStatus, TicketType, Ward
from bot.services import files, tickets
from bot.services.errors import InvalidInput, NotFound
from bot.services.people import Actor
from handlers.keyboards import esc, page_slice
from handlers.menu import MENU, MenuEntry, main_menu, menu_button

log = logging.getLogger(__name__)

router = Router(name="tickets")  # private chat
group_router = Router(name="tickets-groups")  # office chats

CANCEL = N_("❌ Cancel")
SKIP_LOCATION = N_("➡️ No location")
SEND_LOCATION = N_("📍 Send my location")
CARD_TEXT_MAX = 2500
PAGE = 8


def _may_file(actor: Actor) -> bool:
    return actor.resident is not None and actor.resident.status in ("verified", "pending")


MENU.extend(
    [
        MenuEntry("ticket_new", N_("✍️ Send feedback"), _may_file, row=2),
        MenuEntry("ticket_mine", N_("📋 My feedback"), lambda a: a.resident is not None, row=2),
        MenuEntry("ticket_office", N_("🗂 Office tickets"), tickets.is_reader, row=6),
    ]
)


# --- labels -------------------------------------------------------------------------------

TYPE_NAMES = {
    TicketType.PHAN_ANH: N_("Report (phản ánh)"),
    TicketType.KIEN_NGHI: N_("Petition (kiến nghị)"),
    TicketType.GOP_Y: N_("Comment (góp ý)"),
    TicketType.KHIEU_NAI: N_("Complaint (khiếu nại)"),
    TicketType.TO_CAO: N_("Denunciation (tố cáo)"),
}
TYPE_HINTS = {
    TicketType.PHAN_ANH: N_("tell the ward about a problem: a broken road, rubbish, noise…"),
    TicketType.KIEN_NGHI: N_("ask the ward to do or change something"),
    TicketType.GOP_Y: N_("give your opinion on the ward's work or a plan"),
    TicketType.KHIEU_NAI: N_(
        "ask for a decision or act of the ward that affects you to be reviewed (your name "
        "is required)"
    ),
    TicketType.TO_CAO: N_(
        "report a violation of the law by an official or anyone (your name is required and "
        "kept confidential)"
    ),
}
STATUS_NAMES = {
    TicketStatus.NEW: N_("🆕 Received"),
    TicketStatus.IN_PROGRESS: N_("🔧 Being handled"),
    TicketStatus.INFO_REQUESTED: N_("❓ Waiting for more information"),
    TicketStatus.ANSWERED: N_("✅ Answered"),
    TicketStatus.DECLINED: N_("⛔ Not accepted"),
}


def type_name(value: str) -> str:
    return _(TYPE_NAMES[TicketType(value)])


def status_name(value: str) -> str:
    return _(STATUS_NAMES[TicketStatus(value)])


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def stars(n: int) -> str:
    return "★" * n + "☆" * (5 - n)


# --- callback data ---------------------------------------------------------------------------


class PickType(CallbackData, prefix="tt"):
    t: str


class PickCategory(CallbackData, prefix="tc"):
    id: int


class FilingStep(CallbackData, prefix="ts"):
    # files_done, named, anon, as_report, keep_named, submit
    a: str


class Act(CallbackData, prefix="ta"):
    """An office's action on a ticket, from its card or from the private detail view."""

    id: int
    # view, claim, accept, decline, transfer, info, answer, close, extend, back
    a: str


class MoveTo(CallbackData, prefix="tm"):
    id: int
    office: int


class OfficeList(CallbackData, prefix="tl"):
    f: str
    p: int


class Mine(CallbackData, prefix="tr"):
    id: int
    # view, info, reopen, list
    a: str
    p: int = 0


class Rate(CallbackData, prefix="tx"):
    id: int
    s: int


class AnswerStep(CallbackData, prefix="tw"):
    # send, draft
    a: str


# --- states -----------------------------------------------------------------------------------


class Filing(StatesGroup):
    type = State()
    category = State()
    description = State()
    files = State()
    location = State()
    anonymity = State()
    confirm = State()


class OfficeInput(StatesGroup):
    """An officer writing a reason, a question or an answer in private chat."""

    text = State()
    answer = State()
    answer_files = State()


class ResidentInput(StatesGroup):
    info = State()
    reopen = State()


def cancel_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text=_(CANCEL))]], resize_keyboard=True)


def location_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=_(SEND_LOCATION), request_location=True)],
            [KeyboardButton(text=_(SKIP_LOCATION)), KeyboardButton(text=_(CANCEL))],
        ],
        resize_keyboard=True,
    )


def _is(msgid: str) -> MagicFilter:
    return F.text.func(lambda text: text in all_translations(msgid))


# ============================================================================================
# Filing (resident, private chat)
# ============================================================================================


@router.message(StateFilter(Filing, ResidentInput, OfficeInput), _is(CANCEL))
async def cancel_draft(message: Message, actor: Actor, state: FSMContext) -> None:
    await state.clear()
    await message.answer(
        _("Cancelled. Nothing was sent."), reply_markup=main_menu(actor) or ReplyKeyboardRemove()
    )


@router.message(menu_button("ticket_new"))
@router.message(Command("feedback"))
async def start_filing(
    message: Message, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    ward = await tickets.check_daily_limit(session, actor)
    await state.clear()
    await state.set_state(Filing.type)
    await state.update_data(ward_id=ward.id, files=[])
    lines = [_("✍️ <b>Send feedback to the ward</b>"), _("What would you like to send?"), ""]
    builder = InlineKeyboardBuilder()
    for kind in tickets.TYPES:
        lines.append(f"• <b>{type_name(kind)}</b>: {_(TYPE_HINTS[kind])}")
        builder.button(text=type_name(kind), callback_data=PickType(t=kind))
    builder.adjust(1)
    await message.answer(
        _("You can stop at any time with ❌ Cancel."), reply_markup=cancel_keyboard()
    )
    await message.answer("\n".join(lines), reply_markup=builder.as_markup())


@router.callback_query(Filing.type, PickType.filter())
async def picked_type(
    query: CallbackQuery,
    callback_data: PickType,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
) -> None:
    ward = await tickets.filer_ward(session, actor)
    tickets.rule_for(ward, callback_data.t)  # refuses a forged type
    await state.update_data(type=callback_data.t)
    await state.set_state(Filing.category)
    builder = InlineKeyboardBuilder()
    for category in await tickets.categories(session, ward.id):  # type: ignore[arg-type]
        name = (
            category.name_en
            if get_i18n().current_locale == "en" and category.name_en
            else category.name
        )
        builder.button(text=name, callback_data=PickCategory(id=category.id))  # type: ignore[arg-type]
    builder.adjust(1)
    await query.answer()
    await query.message.edit_text(  # type: ignore[union-attr]
        _("Type: <b>{type}</b>\nWhich field is it about?").format(type=type_name(callback_data.t)),
        reply_markup=builder.as_markup(),
    )


@router.callback_query(Filing.category, PickCategory.filter())
async def picked_category(
    query: CallbackQuery,
    callback_data: PickCategory,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
) -> None:
    ward = await tickets.filer_ward(session, actor)
    category = await tickets.category_of_ward(session, ward.id, callback_data.id)  # type: ignore[arg-type]
    await state.update_data(category_id=category.id, category_name=category.name)
    await state.set_state(Filing.description)
    await query.answer()
    await query.message.edit_text(  # type: ignore[union-attr]
        _("Field: <b>{category}</b>").format(category=esc(category.name))
    )
    limit = tickets.settings_of(ward).limits.ticket_text_max
    await query.message.answer(  # type: ignore[union-attr]
        _("Describe the matter: what, where, since when. At most {limit} characters.").format(
            limit=limit
        ),
        reply_markup=cancel_keyboard(),
    )


@router.message(Filing.description, F.text)
async def got_description(
    message: Message, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    ward = await tickets.filer_ward(session, actor)
    description = tickets.clean_description(message.text, ward)
    await state.update_data(description=description)
    await state.set_state(Filing.files)
    most, max_bytes = tickets.attachment_limits(ward)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("➡️ Continue"), callback_data=FilingStep(a="files_done"))
    await message.answer(
        _(
            "You may now send up to {count} photos or documents (at most {mb} MB each), "
            "then press ➡️ Continue. No files? Press ➡️ Continue."
        ).format(count=most, mb=max_bytes // tickets.MB),
        reply_markup=builder.as_markup(),
    )


@router.message(Filing.description)
async def description_not_text(message: Message) -> None:
    await message.answer(_("Please write the description as a text message first."))


async def _save_upload(
    message: Message, bot: Bot, session: AsyncSession, actor: Actor, ward_id: int, count: int
) -> tuple[int, str]:
    """Check and store a photo or document the person sent; (file id, kind)."""
    ward = await session.get(Ward, ward_id)
    if ward is None:
        raise NotFound()
    if message.photo:
        photo = message.photo[-1]
        tickets.check_attachment(ward, count=count, size=photo.file_size)
        content = await bot.download(photo)
        filename, mime, kind = f"photo_{photo.file_unique_id}.jpg", "image/jpeg", "photo"
    elif message.document:
        document = message.document
        tickets.check_attachment(ward, count=count, size=document.file_size)
        content = await bot.download(document)
        filename = document.file_name or "document"
        mime = files.guess_type(filename, document.mime_type)
        kind = "photo" if mime in files.PHOTO_TYPES else "document"
    else:
        raise InvalidInput(_("Please send a photo or a document."))
    assert content is not None
    stored = await tickets.save_attachment(
        session,
        actor,
        ward,
        data=content.read(),
        filename=filename,
        mime_type=mime,
        kind=kind,
        count=count,
    )
    return stored.id, kind  # type: ignore[return-value]


@router.message(Filing.files, F.photo | F.document)
async def got_file(
    message: Message, bot: Bot, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    data = await state.get_data()
    attached = list(data.get("files", []))
    file_id, kind = await _save_upload(message, bot, session, actor, data["ward_id"], len(attached))
    attached.append([file_id, kind])
    await state.update_data(files=attached)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("➡️ Continue"), callback_data=FilingStep(a="files_done"))
    await message.answer(
        _("📎 Received ({count}). Send more or press ➡️ Continue.").format(count=len(attached)),
        reply_markup=builder.as_markup(),
    )


@router.message(Filing.files)
async def files_other(message: Message) -> None:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("➡️ Continue"), callback_data=FilingStep(a="files_done"))
    await message.answer(
        _("Send a photo or a document, or press ➡️ Continue."), reply_markup=builder.as_markup()
    )


@router.callback_query(Filing.files, FilingStep.filter(F.a == "files_done"))
async def files_done(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(Filing.location)
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)  # type: ignore[union-attr]
    await query.message.answer(  # type: ignore[union-attr]
        _("Where is it? Press 📍 Send my location if you are at the place, or ➡️ No location."),
        reply_markup=location_keyboard(),
    )


@router.message(Filing.location, F.location)
async def got_location(
    message: Message, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    assert message.location is not None
    await state.update_data(lat=message.location.latitude, lon=message.location.longitude)
    await _ask_anonymity(message, session, actor, state)


@router.message(Filing.location, _is(SKIP_LOCATION))
async def no_location(
    message: Message, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    await state.update_data(lat=None, lon=None)
    await _ask_anonymity(message, session, actor, state)


@router.message(Filing.location)
async def location_other(message: Message) -> None:
    await message.answer(
        _("Please press 📍 Send my location or ➡️ No location."), reply_markup=location_keyboard()
    )


async def _ask_anonymity(
    message: Message, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    data = await state.get_data()
    ward = await tickets.filer_ward(session, actor)
    rule = tickets.rule_for(ward, data["type"])
    await message.answer(_("Thank you."), reply_markup=cancel_keyboard())
    if not rule.anonymous_allowed and data["type"] != TicketType.TO_CAO:
        await state.update_data(anonymous=False)
        await message.answer(
            _("A {type} is sent with your name, as the law requires.").format(
                type=type_name(data["type"]).lower()
            )
        )
        await _ask_confirm(message, state)
        return
    await state.set_state(Filing.anonymity)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("👤 With my name"), callback_data=FilingStep(a="named"))
    builder.button(text=_("🕶 Anonymously"), callback_data=FilingStep(a="anon"))
    builder.adjust(2)
    if data["type"] == TicketType.TO_CAO:
        text = _(
            "Your name will be known only to the officer handling your denunciation and the "
            "head of the office; it stays confidential. Send it with your name or anonymously?"
        )
    else:
        text = _(
            "Send it with your name, or anonymously? Anonymously, nobody in the ward sees who "
            "sent it, but the office cannot contact you except through this chat."
        )
    await message.answer(text, reply_markup=builder.as_markup())


@router.callback_query(Filing.anonymity, FilingStep.filter())
async def chose_anonymity(
    query: CallbackQuery, callback_data: FilingStep, state: FSMContext
) -> None:
    data = await state.get_data()
    message = query.message
    assert isinstance(message, Message)
    await query.answer()
    if callback_data.a == "anon" and data["type"] == TicketType.TO_CAO:
        builder = InlineKeyboardBuilder()
        builder.button(
            text=_("🕶 Send as an anonymous report"), callback_data=FilingStep(a="as_report")
        )
        builder.button(
            text=_("👤 Keep it a denunciation, with my name"),
            callback_data=FilingStep(a="keep_named"),
        )
        builder.adjust(1)
        await message.edit_text(
            _(
                "An anonymous denunciation cannot be handled under the Denunciations Law "
                "(Art. 25). You can send it as an anonymous report (phản ánh) instead: the "
                "office will still look into it, without the legal procedure of a denunciation."
            ),
            reply_markup=builder.as_markup(),
        )
        return
    if callback_data.a in ("anon", "as_report"):
        if callback_data.a == "as_report":
            await state.update_data(type=TicketType.PHAN_ANH)
        await state.update_data(anonymous=True)
    elif callback_data.a in ("named", "keep_named"):
        await state.update_data(anonymous=False)
    else:
        return
    await message.edit_reply_markup(reply_markup=None)
    await _ask_confirm(message, state)


async def _ask_confirm(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    await state.set_state(Filing.confirm)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Send"), callback_data=FilingStep(a="submit"))
    location = _("shared") if data.get("lat") is not None else _("none")
    await message.answer(
        _(
            "Please check:\nType: <b>{type}</b>\nField: {category}\nFiles: {files}\n"
            "Location: {location}\nSender: {who}\n\n{description}\n\nSend it?"
        ).format(
            type=type_name(data["type"]),
            category=esc(data.get("category_name", "")),
            files=len(data.get("files", [])),
            location=location,
            who=_("anonymous") if data.get("anonymous") else _("with your name"),
            description=esc(clip(data["description"], 1500)),
        ),
        reply_markup=builder.as_markup(),
    )


@router.callback_query(Filing.confirm, FilingStep.filter(F.a == "submit"))
async def submit(
    query: CallbackQuery, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    data = await state.get_data()
    filed = await tickets.file_ticket(
        session,
        actor,
        ticket_type=data["type"],
        category_id=data["category_id"],
        description=data["description"],
        attached=[(int(i), str(k)) for i, k in data.get("files", [])],
        latitude=data.get("lat"),
        longitude=data.get("lon"),
        anonymous=bool(data.get("anonymous")),
    )
    await state.clear()
    ticket = filed.ticket
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)  # type: ignore[union-attr]
    due = tickets.current_due(ticket)
    if ticket.accept_due_on is not None:
        due_line = _("It will be accepted or declined by {date}.").format(date=format_date(due))  # type: ignore[arg-type]
    else:
        due_line = _("Answer due by {date}.").format(date=format_date(due))  # type: ignore[arg-type]
    await query.message.answer(  # type: ignore[union-attr]
        _(
            "✅ Sent. Your ticket code is <b>{code}</b>. It went to {office}.\n{due}\n"
            "Follow it in 📋 My feedback."
        ).format(code=ticket.code, office=esc(filed.office.name), due=due_line),
        reply_markup=main_menu(actor),
    )


@router.message(StateFilter(Filing.type, Filing.category, Filing.anonymity, Filing.confirm))
async def use_the_buttons(message: Message) -> None:
    await message.answer(_("Please choose with the buttons above, or press ❌ Cancel."))


# ============================================================================================
# My feedback (resident)
# ============================================================================================


def _history_line(event: TicketEvent, offices: dict[int, str], *, internal: bool) -> str | None:
    when = format_datetime(event.at)
    note = esc(clip(event.note, 300)) if event.note else ""
    kind = event.kind
    if kind == "filed":
        text = _("Sent")
    elif kind == "claimed":
        text = _("An officer is handling it")
    elif kind == "transferred":
        text = _("Transferred to {office}: {reason}").format(
            office=esc(offices.get(event.data.get("to_office_id", 0), "?")), reason=note
        )
    elif kind == "info_requested":
        text = _("The office asked for more information: {question}").format(question=note)
    elif kind == "info_added":
        text = _("Information added: {text}").format(text=note)
    elif kind == "accepted":
        text = _("Accepted (thụ lý); decision due by {date}").format(
            date=format_date(date.fromisoformat(event.data["due_on"]))
        )
    elif kind == "declined":
        text = _("Not accepted: {reason}").format(reason=note)
    elif kind == "extended":
        text = _("Deadline extended to {date}: {reason}").format(
            date=format_date(date.fromisoformat(event.data["due_on"])), reason=note
        )
    elif kind == "answered":
        text = _("Answered")
    elif kind == "rated":
        text = _("Rated {stars}").format(stars=stars(int(event.data.get("stars", 0))))
    elif kind == "reopened":
        text = _("Reopened: {reason}").format(reason=note)
    elif kind == "answer_drafted" and internal:
        text = _("Answer written (not sent yet)")
    elif kind == "escalated" and internal:
        text = (
            _("Late: the office head was told")
            if event.data.get("level") == 1
            else _("Late: the ward administration was told")
        )
    else:
        return None
    return f"• {when} — {text}"


def _due_line(ticket: Ticket) -> str:
    due = tickets.current_due(ticket)
    if due is None or not tickets.is_open(ticket):
        return ""
    if ticket.accept_due_on is not None and ticket.accepted_at is None:
        return _("Acceptance due: {date}").format(date=format_date(due))
    return _("Answer due: {date}").format(date=format_date(due))


async def resident_text(session: AsyncSession, ticket: Ticket) -> str:
    v = await tickets.view(session, ticket)
    offices = await tickets.office_names(session, ticket.ward_id)  # type: ignore[arg-type]
    lines = [
        _("📄 <b>{code}</b> · {type}").format(code=ticket.code, type=type_name(ticket.type)),
        _("Field: {category}").format(category=esc(v.category.name)),
        _("Office: {office}").format(office=esc(v.office.name)),
        _("Status: {status}").format(status=status_name(ticket.status)),
    ]
    if due := _due_line(ticket):
        lines.append(due)
    if ticket.anonymous:
        lines.append(_("Sent anonymously."))
    if ticket.place:
        lines.append(_("📍 Place: {place}").format(place=esc(ticket.place)))
    lines += ["", esc(clip(ticket.description, 1200)), "", _("<b>History</b>")]
    for event in await tickets.history(session, ticket.id, public_only=True):  # type: ignore[arg-type]
        if line := _history_line(event, offices, internal=False):
            lines.append(line)
    if ticket.status == TicketStatus.ANSWERED and ticket.answer_text:
        lines += ["", _("<b>Answer</b>"), esc(clip(ticket.answer_text, 1500))]
    return "\n".join(lines)


def resident_buttons(ticket: Ticket, page: int = 0) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if ticket.status == TicketStatus.INFO_REQUESTED:
        builder.button(
            text=_("➕ Add information"),
            callback_data=Mine(id=ticket.id, a="info", p=page),  # type: ignore[arg-type]
        )
    if ticket.status == TicketStatus.ANSWERED:
        if ticket.rating is None:
            for n in range(1, 6):
                builder.button(text=f"{n}⭐", callback_data=Rate(id=ticket.id, s=n))  # type: ignore[arg-type]
        if tickets.may_reopen(ticket):
            builder.button(
                text=_("🔁 Not satisfied: reopen"),
                callback_data=Mine(id=ticket.id, a="reopen", p=page),  # type: ignore[arg-type]
            )
    builder.button(text=_("◀️ My feedback"), callback_data=Mine(id=0, a="list", p=page))
    sizes = [1] if ticket.status == TicketStatus.INFO_REQUESTED else []
    if ticket.status == TicketStatus.ANSWERED and ticket.rating is None:
        sizes.append(5)
    builder.adjust(*sizes, 1)
    return builder.as_markup()


async def _my_list(
    session: AsyncSession, actor: Actor, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    mine = await tickets.my_tickets(session, actor)
    if not mine:
        return _("You have not sent any feedback yet. Use ✍️ Send feedback."), InlineKeyboardMarkup(
            inline_keyboard=[]
        )
    shown, page, pages = page_slice(mine, page, PAGE)
    builder = InlineKeyboardBuilder()
    for ticket in shown:
        builder.button(
            text=f"{ticket.code} · {status_name(ticket.status)}",
            callback_data=Mine(id=ticket.id, a="view", p=page),  # type: ignore[arg-type]
        )
    builder.adjust(1)
    nav = []
    if page > 0:
        nav.append(
            InlineKeyboardButton(
                text=_("◀️ Previous"), callback_data=Mine(id=0, a="list", p=page - 1).pack()
            )
        )
    if page < pages - 1:
        nav.append(
            InlineKeyboardButton(
                text=_("Next ▶️"), callback_data=Mine(id=0, a="list", p=page + 1).pack()
            )
        )
    if nav:
        builder.row(*nav)
    return (
        _("📋 <b>My feedback</b> ({count}). Choose one to see its history.").format(
            count=len(mine)
        ),
        builder.as_markup(),
    )


@router.message(menu_button("ticket_mine"))
@router.message(Command("mytickets"))
async def my_list(message: Message, session: AsyncSession, actor: Actor, state: FSMContext) -> None:
    await state.clear()
    text, markup = await _my_list(session, actor, 0)
    await message.answer(text, reply_markup=markup)


@router.callback_query(Mine.filter())
async def my_action(
    query: CallbackQuery,
    callback_data: Mine,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
) -> None:
    message = query.message
    assert isinstance(message, Message)
    if callback_data.a == "list":
        text, markup = await _my_list(session, actor, callback_data.p)
        await query.answer()
        await message.edit_text(text, reply_markup=markup)
        return
    ticket = await tickets.own_ticket(session, actor, callback_data.id)
    if callback_data.a == "view":
        await query.answer()
        await message.edit_text(
            await resident_text(session, ticket),
            reply_markup=resident_buttons(ticket, callback_data.p),
        )
        return
    if callback_data.a == "info":
        if ticket.status != TicketStatus.INFO_REQUESTED:
            await query.answer(_("The office has not asked for more information."), show_alert=True)
            return
        await state.set_state(ResidentInput.info)
        await state.set_data({"ticket_id": ticket.id, "files": []})
        await query.answer()
        builder = InlineKeyboardBuilder()
        builder.button(text=_("✅ Send"), callback_data=FilingStep(a="info_send"))
        await message.answer(
            _(
                "Write the information for {code}. You may also send photos or documents. "
                "Then press ✅ Send."
            ).format(code=ticket.code),
            reply_markup=cancel_keyboard(),
        )
        return
    if callback_data.a == "reopen":
        if not tickets.may_reopen(ticket):
            await query.answer(_("This ticket can no longer be reopened."), show_alert=True)
            return
        await state.set_state(ResidentInput.reopen)
        await state.set_data({"ticket_id": ticket.id})
        await query.answer()
        await message.answer(
            _("Why are you not satisfied with the answer to {code}? Write the reason.").format(
                code=ticket.code
            ),
            reply_markup=cancel_keyboard(),
        )
        return
    await query.answer(_("This button is no longer valid."), show_alert=True)


@router.message(ResidentInput.info, F.photo | F.document)
async def info_file(
    message: Message, bot: Bot, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    data = await state.get_data()
    ticket = await tickets.own_ticket(session, actor, data["ticket_id"])
    attached = list(data.get("files", []))
    file_id, kind = await _save_upload(message, bot, session, actor, ticket.ward_id, len(attached))  # type: ignore[arg-type]
    attached.append([file_id, kind])
    await state.update_data(files=attached)
    await message.answer(_("📎 Received ({count}).").format(count=len(attached)))


@router.message(ResidentInput.info, F.text)
async def info_text(message: Message, state: FSMContext) -> None:
    await state.update_data(text=message.text)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Send"), callback_data=FilingStep(a="info_send"))
    await message.answer(
        _("Noted. Send more text to replace it, add files, or press ✅ Send."),
        reply_markup=builder.as_markup(),
    )


@router.callback_query(ResidentInput.info, FilingStep.filter(F.a == "info_send"))
async def info_send(
    query: CallbackQuery, bot: Bot, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    data = await state.get_data()
    if not data.get("text"):
        await query.answer(_("Please write the information first."), show_alert=True)
        return
    ticket = await tickets.add_info(
        session,
        actor,
        data["ticket_id"],
        text=data["text"],
        attached=[(int(i), str(k)) for i, k in data.get("files", [])],
    )
    await state.clear()
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)  # type: ignore[union-attr]
    await query.message.answer(  # type: ignore[union-attr]
        _("✅ Sent to the office handling {code}.").format(code=ticket.code),
        reply_markup=main_menu(actor),
    )
    await refresh_cards(bot, session, ticket.id)  # type: ignore[arg-type]


@router.message(ResidentInput.reopen, F.text)
async def reopen_reason(
    message: Message, bot: Bot, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    data = await state.get_data()
    ticket = await tickets.reopen(session, actor, data["ticket_id"], reason=message.text or "")
    await state.clear()
    await message.answer(
        _("🔁 {code} is reopened and back with the office. New answer due by {date}.").format(
            code=ticket.code,
            date=format_date(ticket.due_on),  # type: ignore[arg-type]
        ),
        reply_markup=main_menu(actor),
    )
    await refresh_cards(bot, session, ticket.id)  # type: ignore[arg-type]


@router.message(StateFilter(ResidentInput))
async def resident_input_other(message: Message) -> None:
    await message.answer(_("Please write it as a text message, or press ❌ Cancel."))


@router.callback_query(Rate.filter())
async def rated(
    query: CallbackQuery, callback_data: Rate, bot: Bot, session: AsyncSession, actor: Actor
) -> None:
    ticket = await tickets.rate(session, actor, callback_data.id, stars=callback_data.s)
    await query.answer(_("Thank you for your rating."))
    message = query.message
    assert isinstance(message, Message)
    await message.edit_reply_markup(reply_markup=resident_buttons(ticket))
    await refresh_cards(bot, session, ticket.id)  # type: ignore[arg-type]


# ============================================================================================
# The office's side
# ============================================================================================


def _reporter_line(ticket: Ticket, reporter: tickets.Reporter | None, *, full: bool) -> str:
    if ticket.anonymous:
        return _("Sender: anonymous")
    if reporter is None:
        if ticket.person_id is None:
            return _("Sender: has left wardbot")
        return _("Sender: 🔒 confidential (only the assigned officer and the office head see it)")
    if not full:
        return _("Sender: {name}").format(name=esc(reporter.name))
    return _("Sender: {name}, phone {phone}, address {address}").format(
        name=esc(reporter.name),
        phone=esc(reporter.phone or "—"),
        address=esc(reporter.address or "—"),
    )


async def card_text(
    session: AsyncSession, ticket: Ticket, viewer: Actor | None, *, moved_from: int | None = None
) -> str:
    """The ticket for an office: in its chat (``viewer`` None) or in an officer's private
    chat; the sender's identity only as ``tickets.reporter`` allows."""
    v = await tickets.view(session, ticket)
    if moved_from is not None and moved_from != ticket.office_id:
        return _("📨 <b>{code}</b> was transferred to {office}.").format(
            code=ticket.code, office=esc(v.office.name)
        )
    reporter = await tickets.reporter(session, ticket, viewer)
    lines = [
        _("📨 <b>{code}</b> · {type}").format(code=ticket.code, type=type_name(ticket.type)),
        _("Field: {category}").format(category=esc(v.category.name)),
    ]
    if v.group is not None and not tickets.group_hidden(ticket):
        lines.append(_("Group: {group}").format(group=esc(v.group.name)))
    lines.append(_reporter_line(ticket, reporter, full=viewer is not None))
    lines.append(_("Filed: {when}").format(when=format_datetime(ticket.created_at)))
    if due := _due_line(ticket):
        overdue = tickets.is_overdue(ticket, v.today)
        lines.append(("⏰ " if overdue else "") + due + (" " + _("(overdue)") if overdue else ""))
    status = status_name(ticket.status)
    if v.officer is not None and v.officer.full_name:
        status += " · " + _("officer: {name}").format(name=esc(v.officer.full_name))
    lines.append(_("Status: {status}").format(status=status))
    if ticket.latitude is not None and ticket.longitude is not None:
        lines.append(
            _("📍 Location: {link}").format(
                link=f'<a href="https://maps.google.com/?q={ticket.latitude:.6f},'
                f'{ticket.longitude:.6f}">{ticket.latitude:.5f}, {ticket.longitude:.5f}</a>'
            )
        )
    if ticket.place:
        lines.append(_("📍 Place: {place}").format(place=esc(ticket.place)))
    lines += ["", esc(clip(ticket.description, CARD_TEXT_MAX))]
    if ticket.status == TicketStatus.ANSWERED:
        if ticket.answer_text:
            lines += ["", _("<b>Answer</b>"), esc(clip(ticket.answer_text, 800))]
        if ticket.rating:
            lines.append(_("Rating: {stars}").format(stars=stars(ticket.rating)))
    elif ticket.status == TicketStatus.DECLINED:
        lines.append(_("Not accepted."))
    elif ticket.answer_text:
        lines.append(_("✍️ An answer is written; press ✅ Done to send it."))
    return "\n".join(lines)


def card_buttons(
    ticket: Ticket, rule: tickets.TicketTypeRule, *, private: bool
) -> InlineKeyboardMarkup | None:
    if not tickets.is_open(ticket):
        return None
    tid: int = ticket.id  # type: ignore[assignment]
    builder = InlineKeyboardBuilder()
    sizes = []
    if ticket.assigned_officer_id is None:
        builder.button(text=_("🙋 Claim"), callback_data=Act(id=tid, a="claim"))
        sizes.append(1)
    if tickets.awaiting_acceptance(ticket, rule):
        builder.button(text=_("📥 Accept (thụ lý)"), callback_data=Act(id=tid, a="accept"))
        builder.button(text=_("⛔ Decline"), callback_data=Act(id=tid, a="decline"))
        sizes.append(2)
    builder.button(text=_("↪️ Transfer"), callback_data=Act(id=tid, a="transfer"))
    builder.button(text=_("❓ Ask for more"), callback_data=Act(id=tid, a="info"))
    sizes.append(2)
    if not tickets.awaiting_acceptance(ticket, rule):
        builder.button(text=_("✍️ Answer"), callback_data=Act(id=tid, a="answer"))
        builder.button(text=_("✅ Done"), callback_data=Act(id=tid, a="close"))
        sizes.append(2)
    if tickets.available_extension(ticket, rule):
        builder.button(text=_("⏳ Extend"), callback_data=Act(id=tid, a="extend"))
        sizes.append(1)
    if private:
        builder.button(text=_("◀️ Tickets"), callback_data=OfficeList(f="all", p=0))
        sizes.append(1)
    builder.adjust(*sizes)
    return builder.as_markup()


async def _card_in_locale(
    session: AsyncSession, ticket: Ticket, office_id: int, locale: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    with get_i18n().use_locale(locale):
        text = await card_text(session, ticket, None, moved_from=office_id)
        v = await tickets.view(session, ticket)
        markup = (
            card_buttons(ticket, v.rule, private=False) if office_id == ticket.office_id else None
        )
    return text, markup


async def refresh_cards(
    bot: Bot,
    session: AsyncSession,
    ticket_id: int,
    *,
    skip: tuple[str, int] | None = None,
    pressed: list[Any] | None = None,
) -> None:
    """Edit the ticket's cards in the office chats in place (same message id);
    ``pressed`` is the card (chat, message, office) the officer acted from."""
    ticket = await tickets.get_ticket(session, ticket_id)
    cards = await tickets.card_messages(session, ticket_id)
    if pressed is not None:
        chat_id, message_id, office_id = str(pressed[0]), int(pressed[1]), int(pressed[2])
        if all((c, m) != (chat_id, message_id) for c, m, _o in cards):
            cards.append((chat_id, message_id, office_id))
    for chat_id, message_id, office_id in cards:
        if skip == (chat_id, message_id):
            continue
        text, markup = await _card_in_locale(session, ticket, office_id, "vi")
        try:
            await bot.edit_message_text(
                text=text, chat_id=int(chat_id), message_id=message_id, reply_markup=markup
            )
        except (TelegramBadRequest, TelegramForbiddenError) as exc:
            # "message is not modified", or the chat is gone: the card stays as it was.
            log.debug("ticket card %s not edited: %s", ticket_id, exc)


def _private_state(bot: Bot, storage: BaseStorage, user_id: int) -> FSMContext:
    return FSMContext(
        storage=storage, key=StorageKey(bot_id=bot.id, chat_id=user_id, user_id=user_id)
    )


PROMPTS = {
    "transfer": N_("Write the reason for transferring {code} to {office}."),
    "info": N_("Write what the resident should add to {code}."),
    "decline": N_("Write the reason for not accepting {code} (it is sent to the resident)."),
    "extend": N_("Write the reason for extending the deadline of {code}."),
    "answer": N_(
        "Write the answer to {code}. After the text you may send files to attach, then "
        "choose to send it or keep it as a draft."
    ),
}


async def _prompt_privately(
    query: CallbackQuery,
    bot: Bot,
    fsm_storage: BaseStorage,
    *,
    action: str,
    ticket: Ticket,
    office_id: int | None = None,
    office_name: str = "",
) -> None:
    """Ask the officer for the text this action needs, in their private chat."""
    user_id = query.from_user.id
    state = _private_state(bot, fsm_storage, user_id)
    await state.set_state(OfficeInput.answer if action == "answer" else OfficeInput.text)
    data: dict[str, Any] = {
        "action": action,
        "ticket_id": ticket.id,
        "office_id": office_id,
        "files": [],
    }
    card = query.message
    if card is not None and card.chat.type != "private":
        # The card pressed: refreshed when the officer is done, even if its delivery row
        # has not yet recorded the message id (an officer quicker than the outbox).
        data["card"] = [str(card.chat.id), card.message_id, ticket.office_id]
    await state.set_data(data)
    try:
        await bot.send_message(
            user_id,
            _(PROMPTS[action]).format(code=ticket.code, office=esc(office_name)),
            reply_markup=cancel_keyboard(),
        )
    except (TelegramForbiddenError, TelegramBadRequest):
        await state.clear()
        await query.answer(
            _("Please open a private chat with me (press Start) and press the button again."),
            show_alert=True,
        )
        return
    in_group = query.message is not None and query.message.chat.type != "private"
    await query.answer(_("I wrote to you in our private chat.") if in_group else None)


@router.callback_query(Act.filter())
@group_router.callback_query(Act.filter())
async def office_action(
    query: CallbackQuery,
    callback_data: Act,
    bot: Bot,
    session: AsyncSession,
    actor: Actor,
    fsm_storage: BaseStorage,
) -> None:
    message = query.message
    assert isinstance(message, Message)
    private = message.chat.type == "private"
    action = callback_data.a
    if action == "view" and private:
        ticket = await tickets.viewable_ticket(session, actor, callback_data.id)
        await query.answer()
        await _show_detail(message, session, actor, ticket, edit=True)
        return
    # Every press re-checks on the server that the presser works in the ticket's office.
    ticket = await tickets.authorize_staff(session, actor, callback_data.id)
    if action in ("claim", "accept", "close"):
        operation = {"claim": tickets.claim, "accept": tickets.accept, "close": tickets.close}
        ticket = await operation[action](session, actor, ticket.id)  # type: ignore[arg-type]
        await query.answer(_("Done."))
    elif action == "transfer":
        offices = await tickets.transfer_targets(session, actor, ticket.id)  # type: ignore[arg-type]
        builder = InlineKeyboardBuilder()
        for office in offices:
            builder.button(
                text=office.name,
                callback_data=MoveTo(id=ticket.id, office=office.id),  # type: ignore[arg-type]
            )
        builder.button(text=_("◀️ Back"), callback_data=Act(id=ticket.id, a="back"))  # type: ignore[arg-type]
        builder.adjust(1)
        await query.answer()
        await message.edit_reply_markup(reply_markup=builder.as_markup())
        return
    elif action in ("info", "decline", "extend", "answer"):
        await _prompt_privately(query, bot, fsm_storage, action=action, ticket=ticket)
        return
    elif action == "back":
        await query.answer()
    else:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    await _redraw(message, session, actor, ticket, private=private)
    await refresh_cards(bot, session, ticket.id, skip=(str(message.chat.id), message.message_id))  # type: ignore[arg-type]


async def _redraw(
    message: Message, session: AsyncSession, actor: Actor, ticket: Ticket, *, private: bool
) -> None:
    if private:
        await _show_detail(message, session, actor, ticket, edit=True)
        return
    v = await tickets.view(session, ticket)
    await message.edit_text(
        await card_text(session, ticket, None),
        reply_markup=card_buttons(ticket, v.rule, private=False),
    )


@router.callback_query(MoveTo.filter())
@group_router.callback_query(MoveTo.filter())
async def move_to(
    query: CallbackQuery,
    callback_data: MoveTo,
    bot: Bot,
    session: AsyncSession,
    actor: Actor,
    fsm_storage: BaseStorage,
) -> None:
    ticket = await tickets.authorize_staff(session, actor, callback_data.id)
    targets = {o.id: o for o in await tickets.transfer_targets(session, actor, ticket.id)}  # type: ignore[arg-type]
    target = targets.get(callback_data.office)
    if target is None:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    await _prompt_privately(
        query,
        bot,
        fsm_storage,
        action="transfer",
        ticket=ticket,
        office_id=target.id,
        office_name=target.name,
    )


@router.message(OfficeInput.text, F.text)
async def office_text(
    message: Message, bot: Bot, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    data = await state.get_data()
    ticket_id, action = data["ticket_id"], data["action"]
    text = message.text or ""
    if action == "transfer":
        ticket, _previous = await tickets.transfer(
            session, actor, ticket_id, office_id=data["office_id"], reason=text
        )
        done = _("↪️ {code} was transferred.")
    elif action == "info":
        ticket = await tickets.request_info(session, actor, ticket_id, question=text)
        done = _("❓ The resident was asked to add information to {code}.")
    elif action == "decline":
        ticket = await tickets.decline(session, actor, ticket_id, reason=text)
        done = _("⛔ {code} was not accepted; the resident was told why.")
    elif action == "extend":
        ticket = await tickets.extend(session, actor, ticket_id, reason=text)
        done = _("⏳ The deadline of {code} is now {date}.")
    else:
        await state.clear()
        return
    await state.clear()
    await message.answer(
        done.format(
            code=ticket.code, date=format_date(tickets.current_due(ticket) or date.today())
        ),
        reply_markup=main_menu(actor),
    )
    await refresh_cards(bot, session, ticket.id, pressed=data.get("card"))  # type: ignore[arg-type]


@router.message(OfficeInput.answer, F.text)
async def answer_text(
    message: Message, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    data = await state.get_data()
    await tickets.authorize_staff(session, actor, data["ticket_id"])
    await state.update_data(text=message.text)
    await state.set_state(OfficeInput.answer_files)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Send to the resident and close"), callback_data=AnswerStep(a="send"))
    builder.button(text=_("💾 Keep as a draft"), callback_data=AnswerStep(a="draft"))
    builder.adjust(1)
    await message.answer(
        _("Answer noted. Send files to attach if any, then choose:"),
        reply_markup=builder.as_markup(),
    )


@router.message(OfficeInput.answer_files, F.photo | F.document)
async def answer_file(
    message: Message, bot: Bot, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    data = await state.get_data()
    ticket = await tickets.authorize_staff(session, actor, data["ticket_id"])
    attached = list(data.get("files", []))
    file_id, _kind = await _save_upload(message, bot, session, actor, ticket.ward_id, len(attached))  # type: ignore[arg-type]
    attached.append([file_id, "document"])
    await state.update_data(files=attached)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Send to the resident and close"), callback_data=AnswerStep(a="send"))
    builder.button(text=_("💾 Keep as a draft"), callback_data=AnswerStep(a="draft"))
    builder.adjust(1)
    await message.answer(
        _("📎 Received ({count}).").format(count=len(attached)), reply_markup=builder.as_markup()
    )


@router.callback_query(OfficeInput.answer_files, AnswerStep.filter())
async def answer_done(
    query: CallbackQuery,
    callback_data: AnswerStep,
    bot: Bot,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
) -> None:
    data = await state.get_data()
    ticket = await tickets.write_answer(
        session,
        actor,
        data["ticket_id"],
        text=data.get("text", ""),
        file_ids=[int(i) for i, _k in data.get("files", [])],
    )
    if callback_data.a == "send":
        ticket = await tickets.close(session, actor, ticket.id)  # type: ignore[arg-type]
        text = _("✅ The answer to {code} was sent to the resident.")
    else:
        text = _("💾 The answer to {code} is saved. Press ✅ Done on the ticket to send it.")
    await state.clear()
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)  # type: ignore[union-attr]
    await query.message.answer(text.format(code=ticket.code), reply_markup=main_menu(actor))  # type: ignore[union-attr]
    await refresh_cards(bot, session, ticket.id, pressed=data.get("card"))  # type: ignore[arg-type]


@router.message(StateFilter(OfficeInput))
async def office_input_other(message: Message) -> None:
    await message.answer(_("Please write it as a text message, or press ❌ Cancel."))


# --- /tickets ------------------------------------------------------------------------------

FILTER_NAMES = {
    "all": N_("All"),
    "mine": N_("Mine"),
    "overdue": N_("Overdue"),
    "soon": N_("Due soon"),
}


async def _office_list(
    session: AsyncSession, actor: Actor, filter: str, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    rows = await tickets.office_tickets(session, actor, filter=filter)
    shown, page, pages = page_slice(rows, page, PAGE)
    builder = InlineKeyboardBuilder()
    builder.row(
        *[
            InlineKeyboardButton(
                text=("• " if key == filter else "") + _(name),
                callback_data=OfficeList(f=key, p=0).pack(),
            )
            for key, name in FILTER_NAMES.items()
        ]
    )
    for ticket in shown:
        due = tickets.current_due(ticket)
        label = f"{ticket.code} · {format_date(due) if due else '—'}"
        builder.row(
            InlineKeyboardButton(text=label, callback_data=Act(id=ticket.id, a="view").pack())  # type: ignore[arg-type]
        )
    nav = []
    if page > 0:
        nav.append(
            InlineKeyboardButton(
                text=_("◀️ Previous"), callback_data=OfficeList(f=filter, p=page - 1).pack()
            )
        )
    if page < pages - 1:
        nav.append(
            InlineKeyboardButton(
                text=_("Next ▶️"), callback_data=OfficeList(f=filter, p=page + 1).pack()
            )
        )
    if nav:
        builder.row(*nav)
    text = _("🗂 <b>Open tickets</b> ({filter}): {count}. Page {page}/{pages}.").format(
        filter=_(FILTER_NAMES[filter]), count=len(rows), page=page + 1, pages=pages
    )
    return text, builder.as_markup()


@router.message(menu_button("ticket_office"))
@router.message(Command("tickets"))
async def office_list(
    message: Message, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    await state.clear()
    text, markup = await _office_list(session, actor, "all", 0)
    await message.answer(text, reply_markup=markup)


@router.callback_query(OfficeList.filter())
async def office_list_page(
    query: CallbackQuery, callback_data: OfficeList, session: AsyncSession, actor: Actor
) -> None:
    if callback_data.f not in FILTER_NAMES:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    text, markup = await _office_list(session, actor, callback_data.f, callback_data.p)
    await query.answer()
    await query.message.edit_text(text, reply_markup=markup)  # type: ignore[union-attr]


async def _show_detail(
    message: Message, session: AsyncSession, actor: Actor, ticket: Ticket, *, edit: bool
) -> None:
    v = await tickets.view(session, ticket)
    offices = await tickets.office_names(session, ticket.ward_id)  # type: ignore[arg-type]
    lines = [await card_text(session, ticket, actor), "", _("<b>History</b>")]
    for event in await tickets.history(session, ticket.id):  # type: ignore[arg-type]
        if line := _history_line(event, offices, internal=True):
            lines.append(line)
    text = clip("\n".join(lines), 4000)
    markup = card_buttons(ticket, v.rule, private=True) if tickets.is_staff(actor, ticket) else None
    if markup is None:
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=_("◀️ Tickets"), callback_data=OfficeList(f="all", p=0).pack()
                    )
                ]
            ]
        )
    if edit:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


# ============================================================================================
# Renderers (outbox)
# ============================================================================================


async def _attachments(
    session: AsyncSession, ticket: Ticket, event_id: int, *, rename: bool = False
) -> list[Attachment]:
    """The files of one step. ``rename``: for the office, named after the ticket, since a
    resident's file name ("CCCD_Nguyen_Van_A.pdf") may say who they are."""
    result = []
    for n, att in enumerate(
        await tickets.attachments(session, ticket.id, event_id=event_id),  # type: ignore[arg-type]
        start=1,
    ):
        stored = await files.get(session, att.file_id)  # type: ignore[arg-type]
        filename = stored.filename
        if rename:
            suffix = filename.rsplit(".", 1)[-1][:8] if "." in filename else "bin"
            filename = f"{ticket.code}-{n}.{suffix}"
        result.append(
            Attachment(
                kind="photo" if att.kind == "photo" else "document",
                filename=filename,
                stored_file_id=stored.id,
            )
        )
    return result


@renderer("ticket.card")
async def render_card(session: AsyncSession, row: Delivery) -> Outgoing | None:
    ticket = await session.get(Ticket, row.params["ticket_id"])
    if (
        ticket is None
        or ticket.office_id != row.params.get("office_id")
        or not tickets.is_open(ticket)
    ):
        return None
    v = await tickets.view(session, ticket)
    filed = (await tickets.history(session, ticket.id))[0]  # type: ignore[arg-type]
    # Cards never show a denouncer's identity, whoever receives them; the officer sees it
    # in /tickets if the rules let them.
    return Outgoing(
        text=await card_text(session, ticket, None),
        markup=card_buttons(ticket, v.rule, private=not row.is_group),
        attachments=await _attachments(session, ticket, filed.id, rename=True),  # type: ignore[arg-type]
    )


RESIDENT_MESSAGES = {
    "claimed": N_("🔧 {code}: an officer of {office} is handling your ticket."),
    "transferred": N_("↪️ {code} was transferred to {office}: {note}"),
    "info_requested": N_("❓ {office} asks you to add information to {code}:\n{note}"),
    "accepted": N_("📥 {code} was accepted (thụ lý) by {office}. Decision due by {date}."),
    "declined": N_("⛔ {code} was not accepted by {office}. Reason: {note}"),
    "extended": N_("⏳ The deadline of {code} was extended to {date}. Reason: {note}"),
    "answered": N_("✅ {office} answered {code}:\n\n{note}"),
    "reopened": N_("🔁 {code} is reopened. New answer due by {date}."),
}


@renderer("ticket.update")
async def render_update(session: AsyncSession, row: Delivery) -> Outgoing | None:
    ticket = await session.get(Ticket, row.params["ticket_id"])
    if ticket is None:
        return None
    event = await tickets.get_event(session, ticket.id, row.params["event_id"])  # type: ignore[arg-type]
    template = RESIDENT_MESSAGES.get(event.kind)
    if template is None:
        return None
    v = await tickets.view(session, ticket)
    office_id = event.data.get("to_office_id") or ticket.office_id
    offices = await tickets.office_names(session, ticket.ward_id)  # type: ignore[arg-type]
    due = event.data.get("due_on")
    text = _(template).format(
        code=ticket.code,
        office=esc(offices.get(office_id, v.office.name)),
        note=esc(clip(event.note or "", 3000)),
        date=format_date(date.fromisoformat(due)) if due else "",
    )
    markup = None
    attachments: list[Attachment] = []
    if event.kind == "answered":
        attachments = await _attachments(session, ticket, event.id)  # type: ignore[arg-type]
        if ticket.status == TicketStatus.ANSWERED:
            text += "\n\n" + _(
                "How satisfied are you with this answer? If it does not settle the matter, "
                "you can reopen it within {days} days."
            ).format(days=tickets.REOPEN_DAYS)
            markup = resident_buttons(ticket)
    elif event.kind == "info_requested" and ticket.status == TicketStatus.INFO_REQUESTED:
        markup = resident_buttons(ticket)
    return Outgoing(text=text, markup=markup, attachments=attachments)


OFFICE_NOTES = {
    "info_added": N_("ℹ️ {code}: the resident added information:\n{note}"),
    "rated": N_("⭐ {code}: the resident rated the answer {stars}."),
    "reopened": N_(
        "🔁 {code}: the resident reopened it, not satisfied: {note}\nNew answer due by {date}."
    ),
}


@renderer("ticket.note")
async def render_note(session: AsyncSession, row: Delivery) -> Outgoing | None:
    ticket = await session.get(Ticket, row.params["ticket_id"])
    if ticket is None:
        return None
    event = await tickets.get_event(session, ticket.id, row.params["event_id"])  # type: ignore[arg-type]
    template = OFFICE_NOTES.get(event.kind)
    if template is None:
        return None
    due = event.data.get("due_on")
    text = _(template).format(
        code=ticket.code,
        note=esc(clip(event.note or "", 3000)),
        stars=stars(int(event.data.get("stars", 0))),
        date=format_date(date.fromisoformat(due)) if due else "",
    )
    markup = None
    if not row.is_group:
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=_("Open"), callback_data=Act(id=ticket.id, a="view").pack()
                    )
                ]  # type: ignore[arg-type]
            ]
        )
    return Outgoing(
        text=text,
        markup=markup,
        attachments=await _attachments(session, ticket, event.id, rename=True),  # type: ignore[arg-type]
    )


@renderer("ticket.escalation")
async def render_escalation(session: AsyncSession, row: Delivery) -> Outgoing | None:
    ticket = await session.get(Ticket, row.params["ticket_id"])
    if ticket is None or not tickets.is_open(ticket):
        return None
    v = await tickets.view(session, ticket)
    due = tickets.current_due(ticket)
    text = _(
        "⏰ <b>{code}</b> ({type}, {office}) is late: it was due on {date}. Status: {status}."
    ).format(
        code=ticket.code,
        type=type_name(ticket.type),
        office=esc(v.office.name),
        date=format_date(due) if due else "—",
        status=status_name(ticket.status),
    )
    return Outgoing(
        text=text,
        markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=_("Open"), callback_data=Act(id=ticket.id, a="view").pack()
                    )
                ]  # type: ignore[arg-type]
            ]
        ),
    )


def _digest_lines(rows: list[Ticket]) -> list[str]:
    lines = []
    for ticket in rows[:15]:
        due = tickets.current_due(ticket)
        lines.append(
            f"• {ticket.code} · {type_name(ticket.type)} · {format_date(due) if due else '—'}"
        )
    if len(rows) > 15:
        lines.append(_("…and {count} more").format(count=len(rows) - 15))
    return lines


@renderer("ticket.digest")
async def render_digest(session: AsyncSession, row: Delivery) -> Outgoing | None:
    from bot import clock

    digest = await tickets.digest(session, row.params["office_id"], clock.now())
    if not digest.open:
        return None
    lines = [
        _("🗓 <b>{office}</b>: tickets on {date}").format(
            office=esc(digest.office.name), date=format_date(digest.today)
        ),
        _("Open: {open} · due within 2 working days: {soon} · overdue: {overdue}").format(
            open=len(digest.open), soon=len(digest.due_soon), overdue=len(digest.overdue)
        ),
    ]
    if digest.overdue:
        lines += ["", _("<b>Overdue</b>"), *_digest_lines(digest.overdue)]
    if digest.due_soon:
        lines += ["", _("<b>Due soon</b>"), *_digest_lines(digest.due_soon)]
    return Outgoing(text="\n".join(lines))
