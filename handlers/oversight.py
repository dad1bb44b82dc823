"""🔍 Oversight for inspectors (Ban Thanh tra nhân dân, MTTQ): the ward's statistics, late
tickets without personal data, the audit trail's verification; supervision
recommendations (kiến nghị giám sát) sent to the ward's admins, who answer them here.

Every view is built by a function of this module from counts and codes only, so a test
can assert that no name, phone, address or ticket text can reach an inspector.
"""

from __future__ import annotations

from datetime import date

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.delivery.render import Outgoing, renderer
from bot.i18n import N_, _, format_date
from bot.models import Delivery, Recommendation, TicketType, Ward
from bot.services import oversight, reports, workdays
from bot.services.audit import ChainReport
from bot.services.errors import NotAllowed
from bot.services.oversight import LateTicket
from bot.services.people import Actor, clean_text
from bot.services.report_files import adopted_text, num, pct
from bot.services.reports import Report
from handlers.keyboards import confirm_keyboard, esc
from handlers.menu import MENU, MenuEntry, main_menu, menu_button
from handlers.reports import period_keyboard

router = Router(name="oversight")

MENU.extend(
    [
        MenuEntry("oversight", N_("🔍 Oversight"), lambda a: bool(a.inspected_ward_ids()), row=7),
        MenuEntry(
            "recommendations",
            N_("📨 Recommendations"),
            lambda a: bool(a.admin_ward_ids() or a.inspected_ward_ids()),
            row=7,
        ),
    ]
)


VOTES_SHOWN = 5


class Oversee(CallbackData, prefix="ov"):
    # new | list | files | record | send | drop | open | answer | ans-send | ans-drop
    action: str
    ward: int = 0
    id: int = 0


class Recommending(StatesGroup):
    text = State()
    preview = State()


class Answering(StatesGroup):
    text = State()
    preview = State()


# --- the overview --------------------------------------------------------------------------


def overview_text(
    ward_name: str,
    report: Report,
    late: list[LateTicket],
    late_total: int,
    chain: ChainReport,
    open_recommendations: int,
) -> str:
    """The inspector's view: counts, codes and office names only."""
    t, n = report.tickets, report.notices
    lines = [
        _("🔍 <b>Oversight of {ward}</b>, {period}").format(
            ward=esc(ward_name), period=esc(report.period.label)
        ),
        "",
        _("📢 Notices: {notices}; delivered {delivered_pct}, read {read_pct}").format(
            notices=n.total,
            delivered_pct=pct(n.delivered_pct),
            read_pct=pct(n.read_pct),
        ),
        _(
            "📨 Tickets: {received} received, {answered} answered, {declined} declined, "
            "{open} open; on time {on_time_pct}; mean time to answer {mean} h, median {median} h"
        ).format(
            received=t.total.received,
            answered=t.total.answered,
            declined=t.total.declined,
            open=t.still_open,
            on_time_pct=pct(t.total.on_time_pct),
            mean=num(t.mean_hours),
            median=num(t.median_hours),
        ),
        _("⭐ Satisfaction: {mean} of 5 ({rated} ratings); reopened: {reopened}").format(
            mean=num(t.total.mean_rating, 2), rated=t.total.rated, reopened=t.reopened_tickets
        ),
    ]
    for b in t.by_office:
        if b.received:
            lines.append(
                _(
                    "   • {office}: {received} received, on time {on_time_pct}, {overdue} late"
                ).format(
                    office=esc(b.name),
                    received=b.received,
                    on_time_pct=pct(b.on_time_pct),
                    overdue=b.overdue_now,
                )
            )
    votes = report.votes
    if votes.available:
        lines.append("")
        lines.append(
            _("🗳 Votes: {votes}, adopted {adopted}; consultations: {consultations}").format(
                votes=len(votes.votes),
                adopted=sum(1 for v in votes.votes if v.adopted),
                consultations=len(votes.consultations),
            )
        )
        for v in votes.votes[-VOTES_SHOWN:]:
            lines.append(
                _(
                    "   • {title} ({scope}): {ballots}/{eligible} households, "
                    "agree {agree} — {result}"
                ).format(
                    title=esc(v.title),
                    scope=esc(v.scope),
                    ballots=v.ballots,
                    eligible=v.eligible if v.eligible is not None else "…",
                    agree=v.agree,
                    result=adopted_text(v.adopted),
                )
            )
    lines.append("")
    if late_total:
        lines.append(_("⏰ <b>Late tickets now: {count}</b>").format(count=late_total))
        for item in late:
            lines.append(
                _("   • {code} ({type}), {office}: {days} days late").format(
                    code=esc(item.code),
                    type=_(reports.TYPE_NAMES[TicketType(item.type)]),
                    office=esc(item.office),
                    days=item.days_late,
                )
            )
        if late_total > len(late):
            lines.append(_("   … and {more} more.").format(more=late_total - len(late)))
    else:
        lines.append(_("⏰ No ticket is late now."))
    lines.append("")
    if chain.ok:
        lines.append(
            _("🔐 Audit trail: intact ({entries} entries verified).").format(entries=chain.entries)
        )
    else:
        lines.append(
            _("🚨 Audit trail: BROKEN at entry {entry} ({reason}).").format(
                entry=chain.first_bad_id, reason=esc(chain.reason)
            )
        )
    lines.append(
        _("📨 Recommendations awaiting the ward's answer: {count}").format(
            count=open_recommendations
        )
    )
    return "\n".join(lines)


def _current_half(today: date) -> reports.Period:
    return reports.parse_period(f"{today.year}-H{1 if today.month <= 6 else 2}")


@router.message(menu_button("oversight"))
@router.message(Command("oversight"))
async def show(message: Message, session: AsyncSession, actor: Actor, state: FSMContext) -> None:
    await state.clear()
    if not actor.inspected_ward_ids():
        await message.answer(_("Oversight is for the ward's inspectors."))
        return
    chain = await oversight.audit_status(session)
    for ward_id in oversight.require_inspector(actor):
        ward = await oversight.inspected_ward(session, actor, ward_id)
        today = workdays.local_date(clock.now(), ward.timezone)
        report = await reports.build(session, ward, _current_half(today), actor=actor)
        late, late_total = await oversight.late_tickets(session, actor, ward)
        open_recs = sum(
            1
            for r in await oversight.listing(session, actor, open_only=True)
            if r.ward_id == ward_id
        )
        builder = InlineKeyboardBuilder()
        builder.button(
            text=_("📝 Send a recommendation"), callback_data=Oversee(action="new", ward=ward_id)
        )
        builder.button(
            text=_("📨 Recommendations"), callback_data=Oversee(action="list", ward=ward_id)
        )
        builder.button(
            text=_("📈 Report files"), callback_data=Oversee(action="files", ward=ward_id)
        )
        for v in report.votes.votes[-VOTES_SHOWN:]:
            if v.closed and v.record_notice_id is not None:
                builder.button(
                    text=_("📄 Record: {title}").format(title=v.title[:40]),
                    callback_data=Oversee(action="record", id=v.record_notice_id),
                )
        builder.adjust(1)
        await message.answer(
            overview_text(ward.name, report, late, late_total, chain, open_recs),
            reply_markup=builder.as_markup(),
        )


@router.callback_query(Oversee.filter(F.action == "files"))
async def files(
    query: CallbackQuery, callback_data: Oversee, session: AsyncSession, actor: Actor
) -> None:
    ward = await oversight.inspected_ward(session, actor, callback_data.ward)
    await query.answer()
    today = workdays.local_date(clock.now(), ward.timezone)
    await query.message.answer(  # type: ignore[union-attr]
        _("📈 Report of <b>{ward}</b>: which period?").format(ward=esc(ward.name)),
        reply_markup=period_keyboard(ward.id, today).as_markup(),  # type: ignore[arg-type]
    )


@router.callback_query(Oversee.filter(F.action == "record"))
async def record(
    query: CallbackQuery, callback_data: Oversee, session: AsyncSession, actor: Actor
) -> None:
    stored = await oversight.vote_record(session, actor, callback_data.id)
    await query.answer()
    await query.message.answer_document(  # type: ignore[union-attr]
        BufferedInputFile(stored.data, filename=stored.filename)
    )


# --- sending a recommendation ----------------------------------------------------------------


@router.callback_query(Oversee.filter(F.action == "new"))
async def new(
    query: CallbackQuery,
    callback_data: Oversee,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
) -> None:
    ward = await oversight.inspected_ward(session, actor, callback_data.ward)
    await state.set_state(Recommending.text)
    await state.update_data(ward_id=ward.id)
    await query.answer()
    await query.message.answer(  # type: ignore[union-attr]
        _(
            "Write the supervision recommendation (kiến nghị giám sát) to the People's "
            "Committee of {ward} in one message: what you found and what you recommend. "
            "The ward must answer within {days} days. /cancel to stop."
        ).format(ward=esc(ward.name), days=oversight.answer_days(ward))
    )


@router.message(Recommending.text, F.text)
async def got_text(message: Message, actor: Actor, state: FSMContext) -> None:
    oversight.require_inspector(actor, (await state.get_data())["ward_id"])
    text = clean_text(message.text, max_length=oversight.TEXT_MAX)
    await state.update_data(text=text)
    await state.set_state(Recommending.preview)
    await message.answer(
        _("📝 <b>Preview</b>\n\n{text}\n\nSend it to the ward's administrators?").format(
            text=esc(text)
        ),
        reply_markup=confirm_keyboard(
            Oversee(action="send"), Oversee(action="drop"), yes_text=_("📨 Send")
        ),
    )


@router.message(Recommending.text)
async def not_text(message: Message) -> None:
    await message.answer(_("Please send the recommendation as a text message, or /cancel."))


@router.callback_query(Recommending.preview, Oversee.filter(F.action == "send"))
async def send(
    query: CallbackQuery, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    data = await state.get_data()
    rec = await oversight.recommend(session, actor, data["ward_id"], data["text"])
    await state.clear()
    await query.answer(_("Sent."))
    await query.message.edit_reply_markup(reply_markup=None)  # type: ignore[union-attr]
    await query.message.answer(  # type: ignore[union-attr]
        _(
            "✅ Recommendation {code} sent. The ward must answer by {date}; you will be told."
        ).format(code=rec.code, date=format_date(rec.due_on)),
        reply_markup=main_menu(actor),
    )


@router.callback_query(Oversee.filter(F.action.in_({"drop", "ans-drop"})))
async def drop(query: CallbackQuery, actor: Actor, state: FSMContext) -> None:
    await state.clear()
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)  # type: ignore[union-attr]
    await query.message.answer(_("Cancelled. Nothing was sent."), reply_markup=main_menu(actor))  # type: ignore[union-attr]


# --- lists, and the admin's answer -------------------------------------------------------------


def recommendation_text(rec: Recommendation, ward_name: str, today: date) -> str:
    status = (
        _("✅ answered on {date}").format(date=format_date(rec.answered_at))
        if rec.answered_at
        else _("⏰ late: was due on {date}").format(date=format_date(rec.due_on))
        if oversight.is_late(rec, today)
        else _("⏳ awaiting the answer, due on {date}").format(date=format_date(rec.due_on))
    )
    text = _("📨 <b>{code}</b>, {ward}, sent on {sent}: {status}\n\n{body}").format(
        code=rec.code,
        ward=esc(ward_name),
        sent=format_date(rec.created_at),
        status=status,
        body=esc(rec.body),
    )
    if rec.answer_text:
        text += "\n\n" + _("<b>The ward's answer:</b>\n{answer}").format(
            answer=esc(rec.answer_text)
        )
    return text


@router.message(menu_button("recommendations"))
@router.message(Command("recommendations"))
async def listing(message: Message, session: AsyncSession, actor: Actor, state: FSMContext) -> None:
    await state.clear()
    await _send_list(message, session, actor)


@router.callback_query(Oversee.filter(F.action == "list"))
async def listing_button(query: CallbackQuery, session: AsyncSession, actor: Actor) -> None:
    await query.answer()
    assert isinstance(query.message, Message)
    await _send_list(query.message, session, actor)


async def _send_list(message: Message, session: AsyncSession, actor: Actor) -> None:
    if not (actor.admin_ward_ids() or actor.inspected_ward_ids()):
        await message.answer(_("Recommendations are for the ward's administrators and inspectors."))
        return
    items = await oversight.listing(session, actor)
    if not items:
        await message.answer(_("No supervision recommendation yet."))
        return
    builder = InlineKeyboardBuilder()
    lines = [_("📨 <b>Supervision recommendations</b>")]
    for rec in items[:20]:
        ward = await session.get(Ward, rec.ward_id)
        today = workdays.local_date(clock.now(), ward.timezone if ward else "Asia/Ho_Chi_Minh")
        mark = "✅" if rec.status != "open" else ("⏰" if oversight.is_late(rec, today) else "⏳")
        lines.append(f"{mark} {rec.code} — {format_date(rec.due_on)}")
        builder.button(text=f"{mark} {rec.code}", callback_data=Oversee(action="open", id=rec.id))  # type: ignore[arg-type]
    builder.adjust(2)
    await message.answer("\n".join(lines), reply_markup=builder.as_markup())


@router.callback_query(Oversee.filter(F.action == "open"))
async def open_one(
    query: CallbackQuery, callback_data: Oversee, session: AsyncSession, actor: Actor
) -> None:
    rec = await oversight.get_for(session, actor, callback_data.id)
    ward = await session.get(Ward, rec.ward_id)
    assert ward is not None
    today = workdays.local_date(clock.now(), ward.timezone)
    builder = InlineKeyboardBuilder()
    if rec.status == "open" and actor.is_admin_of(rec.ward_id):
        builder.button(text=_("✍️ Answer"), callback_data=Oversee(action="answer", id=rec.id))  # type: ignore[arg-type]
    await query.answer()
    await query.message.answer(  # type: ignore[union-attr]
        recommendation_text(rec, ward.name, today), reply_markup=builder.as_markup()
    )


@router.callback_query(Oversee.filter(F.action == "answer"))
async def start_answer(
    query: CallbackQuery,
    callback_data: Oversee,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
) -> None:
    rec = await oversight.get_for(session, actor, callback_data.id)
    if not actor.is_admin_of(rec.ward_id):
        raise NotAllowed(_("Only the ward's administrator can answer a recommendation."))
    if rec.status != "open":
        await query.answer(_("This recommendation has already been answered."), show_alert=True)
        return
    await state.set_state(Answering.text)
    await state.update_data(rec_id=rec.id)
    await query.answer()
    await query.message.answer(  # type: ignore[union-attr]
        _("Write the ward's answer to {code} in one message. /cancel to stop.").format(
            code=rec.code
        )
    )


@router.message(Answering.text, F.text)
async def got_answer(
    message: Message, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    rec = await oversight.get_for(session, actor, (await state.get_data())["rec_id"])
    if not actor.is_admin_of(rec.ward_id):
        raise NotAllowed()
    text = clean_text(message.text, max_length=oversight.TEXT_MAX)
    await state.update_data(text=text)
    await state.set_state(Answering.preview)
    await message.answer(
        _("📝 <b>Answer to {code}</b>\n\n{text}\n\nSend it to the inspector?").format(
            code=rec.code, text=esc(text)
        ),
        reply_markup=confirm_keyboard(
            Oversee(action="ans-send"), Oversee(action="ans-drop"), yes_text=_("📨 Send")
        ),
    )


@router.message(Answering.text)
async def answer_not_text(message: Message) -> None:
    await message.answer(_("Please send the answer as a text message, or /cancel."))


@router.message(StateFilter(Recommending.preview, Answering.preview))
async def use_buttons(message: Message) -> None:
    await message.answer(_("Please choose with the buttons above, or send /cancel to stop."))


@router.callback_query(Answering.preview, Oversee.filter(F.action == "ans-send"))
async def send_answer(
    query: CallbackQuery, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    data = await state.get_data()
    rec = await oversight.answer(session, actor, data["rec_id"], data["text"])
    await state.clear()
    await query.answer(_("Sent."))
    await query.message.edit_reply_markup(reply_markup=None)  # type: ignore[union-attr]
    await query.message.answer(  # type: ignore[union-attr]
        _("✅ The answer to {code} was sent to the inspector.").format(code=rec.code),
        reply_markup=main_menu(actor),
    )


# --- messages the outbox delivers ---------------------------------------------------------------


async def _rendered(session: AsyncSession, row: Delivery, heading: str) -> Outgoing | None:
    rec = await session.get(Recommendation, row.params["id"])
    if rec is None:
        return None
    ward = await session.get(Ward, rec.ward_id)
    assert ward is not None
    today = workdays.local_date(clock.now(), ward.timezone)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Open"), callback_data=Oversee(action="open", id=rec.id))  # type: ignore[arg-type]
    return Outgoing(
        text=heading + "\n\n" + recommendation_text(rec, ward.name, today),
        markup=builder.as_markup(),
    )


@renderer("oversight.recommendation")
async def render_new(session: AsyncSession, row: Delivery) -> Outgoing | None:
    return await _rendered(
        session,
        row,
        _("📨 A supervision recommendation from the inspection board; please answer it."),
    )


@renderer("oversight.answer")
async def render_answer(session: AsyncSession, row: Delivery) -> Outgoing | None:
    return await _rendered(session, row, _("✅ The ward answered your recommendation."))


@renderer("oversight.late")
async def render_late(session: AsyncSession, row: Delivery) -> Outgoing | None:
    rec = await session.get(Recommendation, row.params["id"])
    if rec is None or rec.status != "open":
        return None
    return await _rendered(
        session, row, _("⏰ This supervision recommendation has not been answered in time.")
    )
