"""📈 Reports: the half-year and annual report for ward admins (and inspectors), as a
workbook, charts and a PDF summary in the chat; the reminder of a report's due date;
📊 the ward's public figures of the month for residents."""

from __future__ import annotations

from datetime import date

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InputMediaPhoto,
    Message,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.delivery.render import Outgoing, renderer
from bot.i18n import N_, _, format_date, ngettext
from bot.models import Delivery, Ward
from bot.services import report_files, reports, workdays
from bot.services.errors import NotAllowed
from bot.services.people import Actor
from handlers.keyboards import esc
from handlers.menu import MENU, MenuEntry, main_menu, menu_button

router = Router(name="reports")


def _reporter(actor: Actor) -> bool:
    return bool(reports.report_wards(actor))


def _figures_reader(actor: Actor) -> bool:
    return actor.resident is not None and actor.resident.status == "verified"


MENU.extend(
    [
        MenuEntry("figures", N_("📊 Ward figures"), _figures_reader, row=3),
        MenuEntry("reports", N_("📈 Reports"), _reporter, row=7),
    ]
)


class ReportPick(CallbackData, prefix="rp"):
    ward: int
    # A period label (2025-H1, 2025) or "other" to type one.
    period: str


class AskingPeriod(StatesGroup):
    text = State()


def period_choices(today: date) -> list[tuple[str, str]]:
    """The periods an admin most often needs, newest first."""
    year = today.year
    half = "H1" if today.month <= 6 else "H2"
    choices = [
        (f"{year}-{half}", _("This half-year ({label})")),
        (str(year), _("This year so far ({label})")),
    ]
    if half == "H2":
        choices.append((f"{year}-H1", _("First half-year ({label})")))
    else:
        choices.append((f"{year - 1}-H2", _("Last half-year ({label})")))
    choices.append((str(year - 1), _("Last year ({label})")))
    return [(label, text.format(label=label)) for label, text in choices]


def period_keyboard(ward_id: int, today: date) -> InlineKeyboardBuilder:
    builder = InlineKeyboardBuilder()
    for label, text in period_choices(today):
        builder.button(text=text, callback_data=ReportPick(ward=ward_id, period=label))
    builder.button(
        text=_("✍️ Another period"), callback_data=ReportPick(ward=ward_id, period="other")
    )
    builder.adjust(1)
    return builder


async def _ward(session: AsyncSession, actor: Actor, ward_id: int) -> Ward:
    if not reports.may_report(actor, ward_id):
        raise NotAllowed()
    ward = await session.get(Ward, ward_id)
    if ward is None:
        raise NotAllowed()
    return ward


@router.message(menu_button("reports"))
@router.message(Command("report"))
async def start(message: Message, session: AsyncSession, actor: Actor, state: FSMContext) -> None:
    await state.clear()
    ward_ids = reports.report_wards(actor)
    if not ward_ids:
        await message.answer(_("Reports are for the ward's administrators and inspectors."))
        return
    for ward_id in ward_ids:
        ward = await _ward(session, actor, ward_id)
        today = workdays.local_date(clock.now(), ward.timezone)
        await message.answer(
            _("📈 Report of <b>{ward}</b>: which period?").format(ward=esc(ward.name)),
            reply_markup=period_keyboard(ward_id, today).as_markup(),
        )


@router.callback_query(ReportPick.filter(F.period == "other"))
async def ask_period(
    query: CallbackQuery,
    callback_data: ReportPick,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
) -> None:
    await _ward(session, actor, callback_data.ward)
    await state.set_state(AskingPeriod.text)
    await state.update_data(ward_id=callback_data.ward)
    await query.answer()
    await query.message.answer(  # type: ignore[union-attr]
        _(
            "Send the period: 2025-H1 (first half-year), 2025-H2, 2025 (the year), 2025-Q1, "
            "2025-07 (a month) or 2025-01-01..2025-03-31. /cancel to stop."
        )
    )


@router.message(AskingPeriod.text, F.text)
async def got_period(
    message: Message, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    period = reports.parse_period(message.text)
    ward = await _ward(session, actor, (await state.get_data())["ward_id"])
    await state.clear()
    await send_report(message, session, actor, ward, period)


@router.message(AskingPeriod.text)
async def period_not_text(message: Message) -> None:
    await message.answer(_("Please send the period as text, e.g. 2025-H1, or /cancel."))


@router.callback_query(ReportPick.filter(F.period != "other"))
async def picked(
    query: CallbackQuery, callback_data: ReportPick, session: AsyncSession, actor: Actor
) -> None:
    ward = await _ward(session, actor, callback_data.ward)
    period = reports.parse_period(callback_data.period)
    await query.answer(_("Preparing the report…"))
    assert isinstance(query.message, Message)
    await send_report(query.message, session, actor, ward, period)


async def send_report(
    message: Message, session: AsyncSession, actor: Actor, ward: Ward, period: reports.Period
) -> None:
    # Rendered in Vietnamese whatever the admin's language: it goes upward as it is.
    files = await report_files.produce(session, ward, period, actor=actor)
    t, n = files.report.tickets, files.report.notices
    await message.answer(
        _(
            "📈 <b>{ward}</b>, {period}\n"
            "📢 Notices: {notices}; delivered {delivered_pct}, read {read_pct}\n"
            "📨 Tickets: {received} received, {answered} answered, on time {on_time_pct}, "
            "{overdue} overdue now\n"
            "⭐ Satisfaction: {mean} of 5 ({rated} ratings)"
        ).format(
            ward=esc(ward.name),
            period=esc(period.label),
            notices=n.total,
            delivered_pct=report_files.pct(n.delivered_pct),
            read_pct=report_files.pct(n.read_pct),
            received=t.total.received,
            answered=t.total.answered,
            on_time_pct=report_files.pct(t.total.on_time_pct),
            overdue=t.total.overdue_now,
            mean=report_files.num(t.total.mean_rating, 2),
            rated=t.total.rated,
        )
    )
    await message.answer_document(
        BufferedInputFile(files.xlsx, filename=f"{files.stem}.xlsx"),
        caption=_("The workbook: a sheet per topic, charts included."),
    )
    await message.answer_document(
        BufferedInputFile(files.pdf, filename=f"{files.stem}.pdf"),
        caption=_("The summary in Vietnamese, ready to attach to the report."),
    )
    await message.answer_media_group(
        [
            InputMediaPhoto(
                media=BufferedInputFile(chart.png, filename=f"{chart.name}.png"),
                caption=chart.title,
            )
            for chart in files.charts
        ]
    )


# --- residents' public figures ------------------------------------------------------------


@router.message(menu_button("figures"))
@router.message(Command("figures"))
async def figures(message: Message, session: AsyncSession, actor: Actor) -> None:
    if actor.resident is None or actor.resident.status != "verified":
        await message.answer(
            _("The ward's figures are for its verified residents. Send /start to register."),
            reply_markup=main_menu(actor),
        )
        return
    ward = await session.get(Ward, actor.resident.ward_id)
    assert ward is not None
    result = await reports.public_figures(session, ward)
    await message.answer(
        _(
            "📊 <b>{ward}</b>, {start} – {end}\n"
            "Feedback received: {received}\n"
            "Resolved: {resolved}\n"
            "Answered on time: {on_time}"
        ).format(
            ward=esc(ward.name),
            start=format_date(result.period.start),
            end=format_date(result.period.end),
            received=result.received,
            resolved=result.resolved,
            on_time=result.on_time,
        ),
        reply_markup=main_menu(actor),
    )


# --- the reminder -------------------------------------------------------------------------


@renderer("report.reminder")
async def render_reminder(session: AsyncSession, row: Delivery) -> Outgoing | None:
    p = row.params
    due = date.fromisoformat(p["due_on"])
    builder = InlineKeyboardBuilder()
    if row.ref_id is not None:
        builder.button(
            text=_("📈 Make the report ({period})").format(period=p["period"]),
            callback_data=ReportPick(ward=row.ref_id, period=p["period"]),
        )
    when = (
        _("today")
        if not p["days_left"]
        else ngettext("in {n} day", "in {n} days", p["days_left"]).format(n=p["days_left"])
    )
    return Outgoing(
        text=_(
            "🗓 Reminder: “{name}” ({period}) is due on {date}, {when}. The bot prepares "
            "the figures, the charts and a summary: press the button."
        ).format(name=esc(p["name"]), period=esc(p["period"]), date=format_date(due), when=when),
        markup=builder.as_markup(),
    )
