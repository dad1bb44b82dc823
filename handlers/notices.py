"""📢 Notices: residents read current notices and the archive, search them and confirm
reading; publishers (ward admins, group leaders) write, preview, publish, edit and
withdraw them and follow their delivery.

Everything a notice says is rendered by ``notice_text``, for the sender's broadcast,
the list, the detail view and the publisher's preview alike: the preview is exactly
what residents receive.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.render import Outgoing, renderer
from bot.i18n import N_, _, all_translations, current_locale, format_date, format_datetime
from bot.models import Delivery, NoticeCategory
from bot.services import files, notices, wards
from bot.services.errors import InvalidInput, NotAllowed
from bot.services.notices import NoticeView
from bot.services.people import Actor, clean_text
from handlers.forms import answer_long, attachment, cancel_button, cancel_form, received_file
from handlers.keyboards import esc
from handlers.menu import main_menu, menu_button
from handlers.scope import ScopePicker

router = Router(name="notices")

CANCEL = N_("❌ Cancel the notice")
PAGE_SIZE = 5
# The read button of a preview: no notice has this id.
PREVIEW_ID = 0
LIST_TITLES = {
    "cur": N_("📢 <b>Current notices</b>"),
    "arc": N_("🗄 <b>Archive: expired and withdrawn notices</b>"),
    "srch": N_("🔎 <b>Notices matching “{query}”</b>"),
    "mine": N_("📋 <b>Notices you manage</b>"),
}


class NoticeList(CallbackData, prefix="nl"):
    # cur | arc | srch | mine
    view: str
    page: int


class NoticeAct(CallbackData, prefix="na"):
    # open | search | stats | edit | edit-title | edit-body | edit-days | withdraw
    # | withdraw-ok
    action: str
    id: int


class NoticeReadButton(CallbackData, prefix="nr"):
    id: int


class Compose(CallbackData, prefix="nc"):
    # new | ward | whole | choose | toggle | groups-ok | cat | body-ok | files-ok | days
    # | urgent | publish | cancel
    action: str
    value: int = 0


class Writing(StatesGroup):
    ward = State()
    scope = State()
    groups = State()
    category = State()
    title = State()
    body = State()
    files = State()
    preview = State()
    days = State()


class Searching(StatesGroup):
    query = State()


class Editing(StatesGroup):
    value = State()
    reason = State()


# --- how a notice reads ------------------------------------------------------------------


def category_name(category: NoticeCategory) -> str:
    if current_locale() == "en" and category.name_en:
        return category.name_en
    return category.name


def publisher_name(view: NoticeView) -> str:
    notice = view.notice
    if notice.publisher_role == "leader" and view.publisher_group is not None:
        return _("Leader of {group}").format(group=view.publisher_group.name)
    if notice.publisher_role == "system" and notice.publisher_label:
        return notice.publisher_label
    return _("People's Committee of {ward}").format(ward=view.ward.name)


def scope_name(view: NoticeView) -> str:
    if not view.groups:
        return _("everyone in {ward}").format(ward=view.ward.name)
    return ", ".join(g.name for g in view.groups)


def notice_text(view: NoticeView, *, attachment_names: list[str] | None = None) -> str:
    """The notice as residents read it (HTML; any length: the transport splits it)."""
    notice = view.notice
    state = view.state
    head = _("🔴 <b>URGENT</b>") + " " if notice.urgent and state == "current" else ""
    lines = [f"📢 {head}<b>{esc(notice.title)}</b>"]
    lines.append(_("📂 Category: {category}").format(category=esc(category_name(view.category))))
    lines.append(_("🏛 Published by: {publisher}").format(publisher=esc(publisher_name(view))))
    lines.append(_("👥 For: {scope}").format(scope=esc(scope_name(view))))
    lines.append(
        _("📅 Posted on {date} for {days} days, until {end}").format(
            date=format_date(notice.published_at),
            days=notice.posting_days,
            end=format_date(notice.expires_at),
        )
    )
    if notice.updated_at is not None:
        lines.append(_("✏️ Updated at {when}").format(when=format_datetime(notice.updated_at)))
    if state == "withdrawn":
        lines.append(
            _("⛔ <b>Withdrawn</b> at {when}. Reason: {reason}").format(
                when=format_datetime(notice.withdrawn_at),  # type: ignore[arg-type]
                reason=esc(notice.withdrawn_reason or "—"),
            )
        )
    elif state == "expired":
        lines.append(_("🗄 The posting period is over."))
    names = (
        attachment_names if attachment_names is not None else [a.filename for a in view.attachments]
    )
    if names:
        lines.append(_("📎 Attached: {names}").format(names=esc(", ".join(names))))
    return "\n".join(lines) + "\n\n" + esc(notice.body)


def read_keyboard(notice_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("✅ I have read it"),
                    callback_data=NoticeReadButton(id=notice_id).pack(),
                )
            ]
        ]
    )


@renderer(notices.KIND, shared=True)
async def render_notice(session: AsyncSession, row: Delivery) -> Outgoing | None:
    view = await notices.view_for_delivery(session, row.params["notice_id"])
    if view is None:
        return None  # withdrawn or expired before it could be sent
    return Outgoing(
        text=notice_text(view),
        # Reading is confirmed in the private chat, where the reader is known.
        markup=None if row.is_group else read_keyboard(view.id),
        attachments=[attachment(f) for f in view.attachments],
    )


# --- lists ---------------------------------------------------------------------------------


def _list_line(number: int, view: NoticeView) -> str:
    marks = []
    if view.notice.urgent and view.is_current():
        marks.append("🔴")
    if view.state == "withdrawn":
        marks.append(_("⛔ withdrawn"))
    elif view.state == "expired":
        marks.append(_("🗄 expired"))
    if view.notice.updated_at is not None:
        marks.append(_("✏️ updated"))
    if view.read_at is not None:
        marks.append(_("✅ read"))
    period = _("{start} to {end}").format(
        start=format_date(view.notice.published_at), end=format_date(view.notice.expires_at)
    )
    details = " · ".join(
        [esc(category_name(view.category)), period, esc(publisher_name(view)), *marks]
    )
    return f"{number}. <b>{esc(view.notice.title)}</b>\n    {details}"


async def _list(
    session: AsyncSession, actor: Actor, view: str, page: int, query: str | None
) -> tuple[str, InlineKeyboardMarkup]:
    result = await notices.browse(
        session,
        actor,
        archive=view == "arc",
        query=query if view == "srch" else None,
        mine=view == "mine",
        page=page,
        size=PAGE_SIZE,
    )
    title = _(LIST_TITLES[view]).format(query=esc(query or ""))
    if result.pages > 1:
        title += " " + _("(page {page} of {pages})").format(
            page=result.page + 1, pages=result.pages
        )
    if not result.items:
        empty = {
            "cur": _("There is no current notice."),
            "arc": _("The archive is empty."),
            "srch": _("No notice matches."),
            "mine": _("You have not published any notice yet."),
        }[view]
        lines = [title, "", empty]
    else:
        first = result.page * PAGE_SIZE + 1
        lines = [title, ""] + [_list_line(first + i, v) for i, v in enumerate(result.items)]
    builder = InlineKeyboardBuilder()
    for i, item in enumerate(result.items):
        label = item.notice.title if len(item.notice.title) <= 45 else item.notice.title[:44] + "…"
        builder.button(
            text=f"{result.page * PAGE_SIZE + i + 1}. {label}",
            callback_data=NoticeAct(action="open", id=item.id),
        )
    builder.adjust(1)
    pager = []
    if result.page > 0:
        pager.append(
            InlineKeyboardButton(
                text=_("◀️ Previous"),
                callback_data=NoticeList(view=view, page=result.page - 1).pack(),
            )
        )
    if result.page < result.pages - 1:
        pager.append(
            InlineKeyboardButton(
                text=_("Next ▶️"), callback_data=NoticeList(view=view, page=result.page + 1).pack()
            )
        )
    if pager:
        builder.row(*pager)
    others = [
        InlineKeyboardButton(text=text, callback_data=NoticeList(view=key, page=0).pack())
        for key, text in (("cur", _("📢 Current")), ("arc", _("🗄 Archive")))
        if key != view
    ]
    others.append(
        InlineKeyboardButton(
            text=_("🔎 Search"), callback_data=NoticeAct(action="search", id=0).pack()
        )
    )
    builder.row(*others)
    if notices.may_publish(actor):
        builder.row(
            InlineKeyboardButton(
                text=_("➕ New notice"), callback_data=Compose(action="new").pack()
            ),
            InlineKeyboardButton(
                text=_("📋 My notices"), callback_data=NoticeList(view="mine", page=0).pack()
            ),
        )
    return "\n".join(lines), builder.as_markup()


def _may_see_notices(actor: Actor) -> bool:
    return not notices.audience_of(actor).empty or notices.may_publish(actor)


@router.message(menu_button("notices"))
@router.message(Command("notices"))
async def show(message: Message, session: AsyncSession, actor: Actor, state: FSMContext) -> None:
    await state.clear()
    view = "cur" if not notices.audience_of(actor).empty else "mine"
    text, markup = await _list(session, actor, view, 0, None)
    await message.answer(text, reply_markup=markup)


@router.callback_query(NoticeList.filter())
async def turn(
    query: CallbackQuery,
    callback_data: NoticeList,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
) -> None:
    if callback_data.view not in LIST_TITLES:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    search = None
    if callback_data.view == "srch":
        search = (await state.get_data()).get("notice_query")
        if not search:
            await query.answer(_("Please search again."), show_alert=True)
            return
    text, markup = await _list(session, actor, callback_data.view, callback_data.page, search)
    await query.answer()
    await query.message.edit_text(text, reply_markup=markup)  # type: ignore[union-attr]


@router.callback_query(NoticeAct.filter(F.action == "search"))
async def ask_search(query: CallbackQuery, actor: Actor, state: FSMContext) -> None:
    if notices.audience_of(actor).empty:
        raise NotAllowed(_("Register as a resident to read your ward's notices."))
    await state.set_state(Searching.query)
    await query.answer()
    await query.message.answer(  # type: ignore[union-attr]
        _("🔎 Send a word or two to look for in the notices (accents are optional), or /cancel.")
    )


@router.message(Searching.query, F.text)
async def search(message: Message, session: AsyncSession, actor: Actor, state: FSMContext) -> None:
    words = clean_text(message.text, max_length=100)
    text, markup = await _list(session, actor, "srch", 0, words)
    await state.set_state(None)
    await state.update_data(notice_query=words)
    await message.answer(text, reply_markup=markup)


@router.message(Searching.query)
async def search_not_text(message: Message) -> None:
    await message.answer(_("Please send the words to look for as text, or /cancel."))


# --- one notice ---------------------------------------------------------------------------


def _notice_keyboard(view: NoticeView, actor: Actor) -> InlineKeyboardMarkup | None:
    builder = InlineKeyboardBuilder()
    resident = actor.resident
    if view.is_current() and resident is not None and view.read_at is None:
        in_scope = resident.ward_id == view.notice.ward_id and (
            not view.groups or resident.group_id in {g.id for g in view.groups}
        )
        if in_scope:
            builder.button(text=_("✅ I have read it"), callback_data=NoticeReadButton(id=view.id))
    may_see_stats = view.manageable or view.notice.ward_id in actor.inspected_ward_ids()
    if may_see_stats or (
        view.notice.publisher_id is not None and view.notice.publisher_id == actor.person_id
    ):
        builder.button(text=_("📊 Delivery"), callback_data=NoticeAct(action="stats", id=view.id))
    if view.manageable and view.is_current():
        builder.button(text=_("✏️ Edit"), callback_data=NoticeAct(action="edit", id=view.id))
    if view.manageable and view.state != "withdrawn":
        builder.button(text=_("🗑 Withdraw"), callback_data=NoticeAct(action="withdraw", id=view.id))
    builder.adjust(1, 3)
    markup = builder.as_markup()
    return markup if markup.inline_keyboard else None


@router.callback_query(NoticeAct.filter(F.action == "open"))
async def open_notice(
    query: CallbackQuery, callback_data: NoticeAct, session: AsyncSession, actor: Actor, bot: Bot
) -> None:
    view = await notices.get(session, actor, callback_data.id)
    message = query.message
    assert isinstance(message, Message)
    await query.answer()
    await answer_long(message, notice_text(view), _notice_keyboard(view, actor))
    for stored in view.attachments:
        await _send_attachment(bot, session, message.chat.id, stored)


async def _send_attachment(bot: Bot, session: AsyncSession, chat_id: int, stored: Any) -> None:
    if stored.telegram_file_id:
        media: Any = stored.telegram_file_id
    else:
        full = await files.get(session, stored.id)
        media = BufferedInputFile(full.data, filename=full.filename)
    if files.is_photo(stored):
        await bot.send_photo(chat_id, media)
    else:
        await bot.send_document(chat_id, media)


@router.callback_query(NoticeReadButton.filter())
async def confirm_read(
    query: CallbackQuery, callback_data: NoticeReadButton, session: AsyncSession, actor: Actor
) -> None:
    if callback_data.id == PREVIEW_ID:
        await query.answer(_("This is the preview: residents press this to confirm reading."))
        return
    if await notices.mark_read(session, actor, callback_data.id):
        await query.answer(_("✅ Thank you: your reading is recorded."))
    else:
        await query.answer(_("Your reading was already recorded."), show_alert=True)


# --- statistics ------------------------------------------------------------------------


def stats_text(result: notices.NoticeStats) -> str:
    t = result.total
    lines = [
        _("📊 <b>Delivery of “{title}”</b>").format(title=esc(result.view.notice.title)),
        _(
            "Recipients: {recipients}\nSent: {sent} · Waiting: {pending} · Failed: {failed} · "
            "Blocked the bot: {blocked}"
        ).format(
            recipients=t.recipients,
            sent=t.sent,
            pending=t.pending,
            failed=t.failed,
            blocked=t.blocked,
        ),
        _("Read (pressed ✅): {read}").format(read=t.read),
    ]
    if t.dropped:
        lines.append(
            _("Not sent because the notice was withdrawn or expired: {n}").format(n=t.dropped)
        )
    if t.in_doubt:
        lines.append(
            _(
                "⚠️ {n} messages were being sent when the bot restarted: those recipients "
                "may have received them twice."
            ).format(n=t.in_doubt)
        )
    lines.append("")
    lines.append(_("<b>Per group</b>"))
    for entry in result.groups:
        name = entry.group.name if entry.group else _("other")
        line = _("• {group}: sent {sent} of {recipients}, read {read}").format(
            group=esc(name),
            sent=entry.tally.sent,
            recipients=entry.tally.recipients,
            read=entry.tally.read,
        )
        if entry.tally.failed or entry.tally.blocked:
            line += " " + _("(failed {failed}, blocked {blocked})").format(
                failed=entry.tally.failed, blocked=entry.tally.blocked
            )
        if entry.chat_status:
            line += " · " + _("group chat: {status}").format(status=_status_name(entry.chat_status))
        lines.append(line)
    return "\n".join(lines)


def _status_name(status: str) -> str:
    names = {
        "pending": N_("waiting"),
        "sending": N_("waiting"),
        "sent": N_("sent"),
        "failed": N_("failed"),
        "blocked": N_("bot removed"),
        "dropped": N_("not sent"),
    }
    return _(names.get(status, status))


@router.callback_query(NoticeAct.filter(F.action == "stats"))
async def show_stats(
    query: CallbackQuery, callback_data: NoticeAct, session: AsyncSession, actor: Actor
) -> None:
    result = await notices.stats(session, actor, callback_data.id)
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("🔄 Refresh"), callback_data=NoticeAct(action="stats", id=callback_data.id)
    )
    await query.answer()
    message = query.message
    assert isinstance(message, Message)
    if message.text and message.text.startswith("📊"):
        await message.edit_text(stats_text(result), reply_markup=builder.as_markup())
    else:
        await message.answer(stats_text(result), reply_markup=builder.as_markup())


# --- writing a notice --------------------------------------------------------------------


def cancel_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text=_(CANCEL))]], resize_keyboard=True)


def _cancel_button() -> InlineKeyboardButton:
    return cancel_button(Compose)


@router.message(
    StateFilter(Writing, Editing), F.text.func(lambda text: text in all_translations(CANCEL))
)
async def cancel_by_button(message: Message, actor: Actor, state: FSMContext) -> None:
    await state.clear()
    await message.answer(_("Cancelled. Nothing was published."), reply_markup=main_menu(actor))


@router.callback_query(StateFilter(Writing, Editing), Compose.filter(F.action == "cancel"))
async def cancel_by_inline(query: CallbackQuery, actor: Actor, state: FSMContext) -> None:
    await cancel_form(query, actor, state, _("Cancelled. Nothing was published."))


@router.callback_query(Compose.filter(F.action == "new"))
async def start_writing(
    query: CallbackQuery, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    scopes = await notices.publish_scopes(session, actor)
    if not scopes:
        raise NotAllowed(_("Only a ward administrator or a group leader can publish notices."))
    await state.clear()
    await query.answer()
    message = query.message
    assert isinstance(message, Message)
    await message.answer(
        _("➕ <b>New notice</b>. You can stop at any step with “{cancel}” or /cancel.").format(
            cancel=_(CANCEL)
        ),
        reply_markup=cancel_keyboard(),
    )
    await SCOPE.begin(message, session, actor, state, scopes)


async def _ask_category(message: Message, session: AsyncSession, state: FSMContext) -> None:
    await state.set_state(Writing.category)
    ward_id = (await state.get_data())["ward_id"]
    builder = InlineKeyboardBuilder()
    for category in await notices.categories(session, ward_id):
        builder.button(
            text=category_name(category),
            callback_data=Compose(action="cat", value=category.id),  # type: ignore[arg-type]
        )
    builder.adjust(1)
    builder.row(_cancel_button())
    await message.answer(
        _("Which category of information does it disclose (Law 10/2022, Article 11)?"),
        reply_markup=builder.as_markup(),
    )


SCOPE = ScopePicker(
    data=Compose,
    ward_state=Writing.ward,
    scope_state=Writing.scope,
    groups_state=Writing.groups,
    scopes=notices.publish_scopes,
    then=_ask_category,
    ask_own_groups=N_("Which of your groups is it for? Tick one or more, then press Continue."),
    ask_groups=N_("Which groups is it for? Tick one or more, then press Continue."),
    ask_scope=N_("Who is this notice for?"),
)
SCOPE.register(router)


@router.callback_query(Writing.category, Compose.filter(F.action == "cat"))
async def chose_category(
    query: CallbackQuery, callback_data: Compose, session: AsyncSession, state: FSMContext
) -> None:
    ward_id = (await state.get_data())["ward_id"]
    category = next(
        (c for c in await notices.categories(session, ward_id) if c.id == callback_data.value),
        None,
    )
    if category is None:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    await state.update_data(category_code=category.code)
    await state.set_state(Writing.title)
    await query.answer()
    await query.message.edit_text(  # type: ignore[union-attr]
        _("📂 Category: {category}").format(category=esc(category_name(category)))
    )
    await query.message.answer(  # type: ignore[union-attr]
        _("What is the notice's title? (at most {max} characters)").format(max=notices.TITLE_MAX)
    )


@router.message(Writing.title, F.text)
async def got_title(message: Message, state: FSMContext) -> None:
    title = clean_text(message.text, max_length=notices.TITLE_MAX, min_length=3)
    await state.update_data(title=title, body="")
    await state.set_state(Writing.body)
    await message.answer(
        _(
            "Now send the text of the notice. A long text may come in several messages; "
            "press “Text complete” when it is all there."
        )
    )


def _body_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("✅ Text complete"), callback_data=Compose(action="body-ok").pack()
                ),
                _cancel_button(),
            ]
        ]
    )


@router.message(Writing.body, F.text)
async def got_body(message: Message, state: FSMContext) -> None:
    piece = clean_text(message.text, max_length=notices.BODY_MAX)
    body = (await state.get_data()).get("body") or ""
    combined = f"{body}\n\n{piece}" if body else piece
    if len(combined) > notices.BODY_MAX:
        raise InvalidInput(
            _(
                "The text would be too long: at most {limit} characters in all, it would be "
                "{length}. This last message was not added."
            ).format(limit=notices.BODY_MAX, length=len(combined))
        )
    await state.update_data(body=combined)
    await message.answer(
        _("Text so far: {length} characters. Send more, or press “Text complete”.").format(
            length=len(combined)
        ),
        reply_markup=_body_keyboard(),
    )


@router.callback_query(Writing.body, Compose.filter(F.action == "body-ok"))
async def body_done(query: CallbackQuery, state: FSMContext) -> None:
    if not (await state.get_data()).get("body"):
        await query.answer(_("Send the text of the notice first."), show_alert=True)
        return
    await state.set_state(Writing.files)
    await state.update_data(files=[])
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)  # type: ignore[union-attr]
    await query.message.answer(  # type: ignore[union-attr]
        _("Attach PDF files or photos if the notice has any (send them now), then press Continue."),
        reply_markup=_files_keyboard(0),
    )


def _files_keyboard(count: int) -> InlineKeyboardMarkup:
    label = _("Continue without files ▶️") if count == 0 else _("Continue ▶️")
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=label, callback_data=Compose(action="files-ok").pack()),
                _cancel_button(),
            ]
        ]
    )


async def _ward_limits(session: AsyncSession, state: FSMContext) -> Any:
    ward = await wards.get_ward(session, (await state.get_data())["ward_id"])
    return wards.ward_settings(ward).limits


@router.message(Writing.files, F.document | F.photo)
async def got_file(message: Message, session: AsyncSession, state: FSMContext) -> None:
    limits = await _ward_limits(session, state)
    attached = list((await state.get_data()).get("files") or [])
    if len(attached) >= limits.attachments_max:
        raise InvalidInput(
            _("At most {limit} files can be attached.").format(limit=limits.attachments_max)
        )
    item = received_file(
        message,
        types={"application/pdf", *files.PHOTO_TYPES},
        wrong_type=_("Only PDF files and photos can be attached to a notice."),
        document_name="tai-lieu.pdf",
        photo_name=f"anh-{len(attached) + 1}.jpg",
        limit_mb=limits.attachment_max_mb,
    )
    attached.append(item)
    await state.update_data(files=attached)
    await message.answer(
        _("📎 {name} attached ({count} in all). Send another or press Continue.").format(
            name=esc(item["name"]), count=len(attached)
        ),
        reply_markup=_files_keyboard(len(attached)),
    )


@router.message(Writing.files)
async def not_a_file(message: Message, state: FSMContext) -> None:
    count = len((await state.get_data()).get("files") or [])
    await message.answer(
        _("Please send a PDF file or a photo, or press Continue."),
        reply_markup=_files_keyboard(count),
    )


@router.callback_query(Writing.files, Compose.filter(F.action == "files-ok"))
async def files_done(
    query: CallbackQuery, session: AsyncSession, actor: Actor, state: FSMContext, bot: Bot
) -> None:
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)  # type: ignore[union-attr]
    await _preview(query.message, session, actor, state, bot)  # type: ignore[arg-type]


async def _draft(session: AsyncSession, actor: Actor, data: dict[str, Any]) -> NoticeView:
    return await notices.draft(
        session,
        actor,
        ward_id=data["ward_id"],
        group_ids=None if data.get("whole") else data.get("group_ids"),
        category_code=data["category_code"],
        title=data["title"],
        body=data["body"],
        posting_days=data.get("days"),
        urgent=bool(data.get("urgent")),
    )


def _preview_keyboard(view: NoticeView) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Publish"), callback_data=Compose(action="publish"))
    builder.button(
        text=_("📅 Posting period: {days} days").format(days=view.notice.posting_days),
        callback_data=Compose(action="days"),
    )
    builder.button(
        text=_("🔴 Urgent: yes") if view.notice.urgent else _("⚪ Urgent: no"),
        callback_data=Compose(action="urgent"),
    )
    builder.adjust(1)
    builder.row(_cancel_button())
    return builder.as_markup()


async def _preview(
    message: Message, session: AsyncSession, actor: Actor, state: FSMContext, bot: Bot
) -> None:
    data = await state.get_data()
    view = await _draft(session, actor, data)
    await state.set_state(Writing.preview)
    attached = data.get("files") or []
    await message.answer(_("👁 <b>Preview</b>: residents will receive exactly this."))
    await answer_long(
        message,
        notice_text(view, attachment_names=[f["name"] for f in attached]),
        read_keyboard(PREVIEW_ID),
    )
    for item in attached:
        if item["mime"] in files.PHOTO_TYPES:
            await bot.send_photo(message.chat.id, item["file_id"])
        else:
            await bot.send_document(message.chat.id, item["file_id"])
    await message.answer(
        _("Publish it to {scope}?").format(scope=esc(scope_name(view))),
        reply_markup=_preview_keyboard(view),
    )


@router.callback_query(Writing.preview, Compose.filter(F.action == "urgent"))
async def toggle_urgent(
    query: CallbackQuery, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    data = await state.get_data()
    await state.update_data(urgent=not data.get("urgent"))
    view = await _draft(session, actor, await state.get_data())
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=_preview_keyboard(view))  # type: ignore[union-attr]


@router.callback_query(Writing.preview, Compose.filter(F.action == "days"))
async def ask_days(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(Writing.days)
    await query.answer()
    await query.message.answer(  # type: ignore[union-attr]
        _("For how many days should it stay posted? Send a number from 1 to {max}.").format(
            max=notices.POSTING_DAYS_MAX
        )
    )


@router.message(Writing.days, F.text)
async def got_days(
    message: Message, session: AsyncSession, actor: Actor, state: FSMContext, bot: Bot
) -> None:
    days = _parse_days(message.text)
    await state.update_data(days=days)
    await _preview(message, session, actor, state, bot)


def _parse_days(text: str | None) -> int:
    value = (text or "").strip()
    if not value.isdigit() or not 1 <= int(value) <= notices.POSTING_DAYS_MAX:
        raise InvalidInput(
            _("Please send a whole number of days from 1 to {max}.").format(
                max=notices.POSTING_DAYS_MAX
            )
        )
    return int(value)


@router.callback_query(Writing.preview, Compose.filter(F.action == "publish"))
async def publish(
    query: CallbackQuery, session: AsyncSession, actor: Actor, state: FSMContext, bot: Bot
) -> None:
    data = await state.get_data()
    message = query.message
    assert isinstance(message, Message)
    limits = await _ward_limits(session, state)
    # Files are fetched from Telegram only now: a cancelled notice stores nothing.
    contents = []
    for item in data.get("files") or []:
        downloaded = await bot.download(item["file_id"])
        assert downloaded is not None
        contents.append((item, downloaded.read()))
    attachment_ids = []
    for item, content in contents:
        stored = await files.save(
            session,
            data=content,
            filename=item["name"],
            mime_type=item["mime"],
            uploaded_by_id=actor.person_id,
            max_bytes=limits.attachment_max_mb * 1024 * 1024,
            allowed_types=notices.FILE_TYPES,
        )
        # The publisher's upload is already on Telegram: recipients get that copy.
        stored.telegram_file_id = stored.telegram_file_id or item["file_id"]
        session.add(stored)
        attachment_ids.append(stored.id)
    notice = await notices.publish(
        session,
        actor,
        ward_id=data["ward_id"],
        group_ids=None if data.get("whole") else data.get("group_ids"),
        category_code=data["category_code"],
        title=data["title"],
        body=data["body"],
        attachment_ids=attachment_ids,  # type: ignore[arg-type]
        posting_days=data.get("days"),
        urgent=bool(data.get("urgent")),
    )
    await state.clear()
    result = await notices.stats(session, actor, notice.id)  # type: ignore[arg-type]
    await query.answer(_("Published."))
    await message.edit_reply_markup(reply_markup=None)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("📊 Delivery"), callback_data=NoticeAct(action="stats", id=notice.id))  # type: ignore[arg-type]
    await message.answer(
        _(
            "✅ Published. It is being sent to {count} residents; you can follow delivery "
            "and reading under 📊 Delivery."
        ).format(count=result.total.recipients - result.total.blocked),
        reply_markup=builder.as_markup(),
    )
    await message.answer(_("Main menu."), reply_markup=main_menu(actor))


@router.message(StateFilter(Writing.title, Writing.body, Writing.days))
async def not_text(message: Message) -> None:
    await message.answer(_("Please send this as a text message."))


@router.message(
    StateFilter(Writing.ward, Writing.scope, Writing.groups, Writing.category, Writing.preview)
)
async def use_buttons(message: Message) -> None:
    await message.answer(_("Please choose with the buttons above, or send /cancel to stop."))


# --- editing and withdrawing --------------------------------------------------------------

EDIT_FIELDS = {
    "edit-title": N_("Send the new title."),
    "edit-body": N_("Send the new text of the notice (one message)."),
    "edit-days": N_("Send the new posting period in days, counted from the day it was posted."),
}


@router.callback_query(NoticeAct.filter(F.action == "edit"))
async def ask_edit(
    query: CallbackQuery, callback_data: NoticeAct, session: AsyncSession, actor: Actor
) -> None:
    view = await notices.get(session, actor, callback_data.id)
    if not view.manageable:
        raise NotAllowed(_("Only the publisher or a ward administrator can change this notice."))
    builder = InlineKeyboardBuilder()
    for action, text in (
        ("edit-title", _("Title")),
        ("edit-body", _("Text")),
        ("edit-days", _("Posting period")),
    ):
        builder.button(text=text, callback_data=NoticeAct(action=action, id=view.id))
    builder.adjust(3)
    await query.answer()
    await query.message.answer(  # type: ignore[union-attr]
        _(
            "What do you want to change in “{title}”? Residents are not sent it again: "
            "the notice shows that it was updated, and when."
        ).format(title=esc(view.notice.title)),
        reply_markup=builder.as_markup(),
    )


@router.callback_query(NoticeAct.filter(F.action.in_(set(EDIT_FIELDS))))
async def ask_value(
    query: CallbackQuery,
    callback_data: NoticeAct,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
) -> None:
    view = await notices.get(session, actor, callback_data.id)
    if not view.manageable:
        raise NotAllowed(_("Only the publisher or a ward administrator can change this notice."))
    await state.set_state(Editing.value)
    await state.update_data(notice_id=view.id, field=callback_data.action)
    await query.answer()
    await query.message.answer(  # type: ignore[union-attr]
        _(EDIT_FIELDS[callback_data.action]), reply_markup=cancel_keyboard()
    )


@router.message(Editing.value, F.text)
async def got_value(
    message: Message, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    data = await state.get_data()
    field = data["field"]
    changes: dict[str, Any] = {}
    if field == "edit-title":
        changes["title"] = message.text
    elif field == "edit-body":
        changes["body"] = message.text
    else:
        changes["posting_days"] = _parse_days(message.text)
    notice = await notices.edit(session, actor, data["notice_id"], **changes)
    await state.clear()
    await message.answer(
        _("✅ Updated at {when}. The notice now shows that it was updated.").format(
            when=format_datetime(notice.updated_at)  # type: ignore[arg-type]
        ),
        reply_markup=main_menu(actor),
    )


@router.callback_query(NoticeAct.filter(F.action == "withdraw"))
async def ask_reason(
    query: CallbackQuery,
    callback_data: NoticeAct,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
) -> None:
    view = await notices.get(session, actor, callback_data.id)
    if not view.manageable:
        raise NotAllowed(_("Only the publisher or a ward administrator can change this notice."))
    await state.set_state(Editing.reason)
    await state.update_data(notice_id=view.id)
    await query.answer()
    await query.message.answer(  # type: ignore[union-attr]
        _(
            "Why is “{title}” withdrawn? Residents will see the reason; the notice stays in "
            "the archive, marked withdrawn."
        ).format(title=esc(view.notice.title)),
        reply_markup=cancel_keyboard(),
    )


@router.message(Editing.reason, F.text)
async def got_reason(
    message: Message, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    reason = clean_text(message.text, max_length=notices.REASON_MAX, min_length=3)
    notice_id = (await state.get_data())["notice_id"]
    await state.update_data(reason=reason)
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("🗑 Yes, withdraw it"), callback_data=NoticeAct(action="withdraw-ok", id=notice_id)
    )
    builder.row(_cancel_button())
    await message.answer(
        _("Withdraw the notice with this reason?\n<i>{reason}</i>").format(reason=esc(reason)),
        reply_markup=builder.as_markup(),
    )


@router.callback_query(Editing.reason, NoticeAct.filter(F.action == "withdraw-ok"))
async def withdraw(
    query: CallbackQuery,
    callback_data: NoticeAct,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
) -> None:
    data = await state.get_data()
    if data.get("notice_id") != callback_data.id or not data.get("reason"):
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    await notices.withdraw(session, actor, callback_data.id, reason=data["reason"])
    await state.clear()
    await query.answer(_("Withdrawn."))
    await query.message.edit_reply_markup(reply_markup=None)  # type: ignore[union-attr]
    await query.message.answer(  # type: ignore[union-attr]
        _(
            "⛔ The notice is withdrawn. It stays in the archive with your reason; messages not "
            "yet sent are cancelled."
        ),
        reply_markup=main_menu(actor),
    )


@router.message(StateFilter(Editing.value, Editing.reason))
async def edit_not_text(message: Message) -> None:
    await message.answer(_("Please send this as a text message."))
