"""🗳 Votes and consultations (dân bàn): residents vote and give opinions with buttons;
admins and group leaders create them (preview, confirm), follow the turnout, and see
which households of their group have voted.

Every press goes through ``bot.services.votes``, which re-checks who is pressing: the
buttons carry only ids, and forged ones change nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
    Update,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.delivery.render import Attachment, Outgoing, renderer
from bot.i18n import (
    DEFAULT_TIMEZONE,
    N_,
    _,
    format_datetime,
    format_percent,
    get_i18n,
    ngettext,
    normalise_language,
)
from bot.models import Delivery, Resident, StoredFile, Vote, Ward
from bot.services import files, vote_documents, votes, wards
from bot.services.errors import DomainError, InvalidInput, NotAllowed, NotFound, StaleButton
from bot.services.people import Actor, clean_text
from bot.telegram.middlewares import CHANNEL
from handlers.forms import answer_long, attachment, cancel_button, cancel_form, received_file
from handlers.keyboards import esc
from handlers.menu import main_menu, menu_button
from handlers.scope import ScopePicker

router = Router(name="votes")


class Press(CallbackData, prefix="vb"):
    """A ballot button: vote, option, and the household the ballot was sent to."""

    v: int
    o: int
    h: int = 0


class Opine(CallbackData, prefix="vo"):
    v: int
    o: int


class VoteAct(CallbackData, prefix="va"):
    # open | turnout | who | comment | respond | respond-ok
    action: str
    id: int
    value: int = 0


class NewVote(CallbackData, prefix="vn"):
    # new | ward | whole | choose | toggle | groups-ok | matter | skip | default-options
    # | days | file-ok | opens | create | cancel
    action: str
    value: int = 0


class Creating(StatesGroup):
    ward = State()
    scope = State()
    groups = State()
    matter = State()
    question = State()
    explanation = State()
    options = State()
    closes = State()
    files = State()
    preview = State()
    opens = State()


class Commenting(StatesGroup):
    text = State()


class Responding(StatesGroup):
    text = State()
    confirm = State()


# --- how a vote reads -----------------------------------------------------------------


def _kind_title(vote: Vote) -> str:
    return _("🗳 <b>Household vote</b>") if vote.kind == votes.VOTE else _("📝 <b>Consultation</b>")


def vote_text(
    vote: Vote,
    ward: Ward,
    groups: list[Any],
    *,
    choice: int | None = None,
    comment: str | None = None,
    attachment: str | None = None,
) -> str:
    """The ballot as residents receive it; the creator's preview shows exactly this."""
    lines = [f"{_kind_title(vote)}: <b>{esc(vote.question)}</b>"]
    if vote.matter:
        lines.append(
            _("📜 Matter: clause {clause}, Article 15, Law 10/2022: {name}").format(
                clause=vote.matter, name=esc(_(votes.MATTER_NAMES[vote.matter]))
            )
        )
    scope = (
        _("all groups of {ward}").format(ward=ward.name)
        if vote.whole_ward
        else ", ".join(g.name for g in groups)
    )
    lines.append(_("👥 For: {scope}").format(scope=esc(scope)))
    lines.append(
        _("🕒 From {start} to {end}").format(
            start=format_datetime(vote.opens_at), end=format_datetime(vote.closes_at)
        )
    )
    if attachment:
        lines.append(_("📎 Attached: {name}").format(name=esc(attachment)))
    if vote.explanation:
        lines.append("")
        lines.append(esc(vote.explanation))
    lines.append("")
    if vote.kind == votes.VOTE:
        if vote.matter == votes.ONLINE_DECIDED:
            lines.append(
                _(
                    "⚖️ This matter is decided by this online vote (Decree 59/2023, Art. 5). "
                    "It is adopted only if more than half of ALL households of the scope agree."
                )
            )
        else:
            lines.append(
                _(
                    "⚖️ For this matter the online tally serves as the households' opinion "
                    "forms supporting the community meeting, where the decision is taken "
                    "(Decree 59/2023, Art. 5)."
                )
            )
        lines.append(
            _(
                "Each household has one vote, cast by its representative. You may change it "
                "until closing; the last choice counts. Nobody can see how a household voted."
            )
        )
        if choice is not None:
            lines.append(
                _("✅ Your household's current choice: “{option}”.").format(
                    option=esc(vote.options[choice])
                )
            )
    else:
        lines.append(
            _("Choose an option and/or write a comment. You may change your opinion until closing.")
        )
        if choice is not None:
            lines.append(
                _("✅ Your current choice: “{option}”.").format(option=esc(vote.options[choice]))
            )
        if comment:
            lines.append(_("💬 Your comment: {comment}").format(comment=esc(comment)))
    return "\n".join(lines)


def ballot_keyboard(vote: Vote, household_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for index, label in enumerate(vote.options):
        builder.button(text=label, callback_data=Press(v=vote.id or 0, o=index, h=household_id))  # type: ignore[arg-type]
    builder.adjust(2)
    return builder.as_markup()


def opinion_keyboard(vote: Vote) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for index, label in enumerate(vote.options):
        builder.button(text=label, callback_data=Opine(v=vote.id or 0, o=index))  # type: ignore[arg-type]
    builder.adjust(2)
    builder.row(
        InlineKeyboardButton(
            text=_("💬 Write a comment"),
            callback_data=VoteAct(action="comment", id=vote.id or 0).pack(),  # type: ignore[arg-type]
        )
    )
    return builder.as_markup()


async def _context(session: AsyncSession, vote: Vote) -> tuple[Ward, list[Any], StoredFile | None]:
    ward = await wards.get_ward(session, vote.ward_id)  # type: ignore[arg-type]
    groups = await votes.scope_groups(session, vote.id)  # type: ignore[arg-type]
    stored = await session.get(StoredFile, vote.attachment_id) if vote.attachment_id else None
    return ward, groups, stored


def _reminder_head(vote: Vote) -> str:
    hours = max(1, round((vote.closes_at - clock.now()).total_seconds() / 3600))
    return (
        ngettext(
            "⏰ <b>Reminder</b>: you have not answered yet; it closes in {hours} hour.",
            "⏰ <b>Reminder</b>: you have not answered yet; it closes in {hours} hours.",
            hours,
        ).format(hours=hours)
        + "\n\n"
    )


@renderer(votes.BALLOT)
async def render_ballot(session: AsyncSession, row: Delivery) -> Outgoing | None:
    vote = await session.get(Vote, row.params["vote_id"])
    if vote is None or votes.state_of(vote) != "open":
        return None
    resident = (
        await session.exec(select(Resident).where(Resident.person_id == row.person_id))
    ).first()
    if resident is None or resident.household_id is None or not resident.is_representative:
        return None  # no longer the representative: the new one votes
    ward, groups, stored = await _context(session, vote)
    head = _reminder_head(vote) if row.params.get("reminder") else ""
    return Outgoing(
        text=head + vote_text(vote, ward, groups, attachment=stored.filename if stored else None),
        markup=ballot_keyboard(vote, resident.household_id),
        attachments=[attachment(stored)] if stored else [],
    )


@renderer(votes.CONSULT)
async def render_consultation(session: AsyncSession, row: Delivery) -> Outgoing | None:
    vote = await session.get(Vote, row.params["vote_id"])
    if vote is None or votes.state_of(vote) != "open":
        return None
    ward, groups, stored = await _context(session, vote)
    head = _reminder_head(vote) if row.params.get("reminder") else ""
    return Outgoing(
        text=head + vote_text(vote, ward, groups, attachment=stored.filename if stored else None),
        markup=opinion_keyboard(vote),
        attachments=[attachment(stored)] if stored else [],
    )


def summary_text(vote: Vote) -> str:
    result = vote.result
    lines = [
        _("📝 <b>The consultation has closed</b>: {question}").format(question=esc(vote.question)),
        _("Residents asked: {count}").format(count=result.get("residents", 0)),
        _("Opinions given: {count}").format(count=result.get("opinions", 0)),
    ]
    for label, count in zip(vote.options, result.get("counts", []), strict=False):
        lines.append(f"• {esc(label)}: {count}")
    lines.append(
        _("Comments: {count} (all in the attached spreadsheet)").format(
            count=result.get("comments", 0)
        )
    )
    lines.append(
        _("When you are ready, publish the response (taking in and explaining the opinions).")
    )
    return "\n".join(lines)


def respond_keyboard(vote: Vote) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("📣 Publish the response"),
                    callback_data=VoteAct(action="respond", id=vote.id).pack(),  # type: ignore[arg-type]
                )
            ]
        ]
    )


@renderer(votes.SUMMARY)
async def render_summary(session: AsyncSession, row: Delivery) -> Outgoing | None:
    vote = await session.get(Vote, row.params["vote_id"])
    stored = await session.get(StoredFile, row.params["file_id"])
    if vote is None or stored is None:
        return None
    return Outgoing(
        text=summary_text(vote),
        markup=respond_keyboard(vote) if vote.response_notice_id is None else None,
        attachments=[Attachment("document", stored.filename, stored_file_id=stored.id)],
    )


# --- pressing ---------------------------------------------------------------------------


def press_answer(result: votes.CastResult) -> tuple[str, bool]:
    """What a press is told (text, whether as an alert), in the current locale."""
    closes = format_datetime(result.vote.closes_at)
    if result.outcome == "cast":
        text = _(
            "✅ Your household's vote “{option}” is recorded. You may change it until {closes}."
        )
    elif result.outcome == "changed":
        text = _(
            "🔄 Changed to “{option}” (it was “{previous}”). "
            "The last choice before {closes} counts."
        )
    else:
        text = _("Your household has already voted “{option}”. Nothing changed.")
    previous = result.vote.options[result.previous] if result.previous is not None else ""
    return (
        text.format(option=result.label, previous=previous, closes=closes),
        result.outcome != "cast",
    )


@router.callback_query(Press.filter())
async def press(
    query: CallbackQuery, callback_data: Press, session: AsyncSession, actor: Actor
) -> None:
    # Reached when the ballot box below is not installed (or did not take the press).
    result = await votes.cast(
        session, actor, callback_data.v, callback_data.o, household_id=callback_data.h or None
    )
    text, alert = press_answer(result)
    await query.answer(text, show_alert=alert)


class BallotBoxMiddleware(BaseMiddleware):
    """Ballot presses go straight to one batching writer (``votes.BallotBox``), before the
    per-update session, actor and FSM state are loaded: in a burst of thousands of
    households that per-update work, not the ballot, would be the bottleneck. The writer
    applies every rule of ``votes.cast`` (``cast_many``); anything it cannot parse goes
    on to the routers like any other update."""

    def __init__(self, box: votes.BallotBox) -> None:
        self.box = box

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        query = event.callback_query if isinstance(event, Update) else None
        if (
            query is None
            or not (query.data or "").startswith(f"{Press.__prefix__}:")
            or query.message is None
            or query.message.chat.type != "private"
        ):
            return await handler(event, data)
        try:
            parsed = Press.unpack(query.data)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return await handler(event, data)
        bot: Bot = data["bot"]
        i18n = get_i18n()
        try:
            result: votes.CastResult | Exception = await self.box.submit(
                votes.BallotPress(
                    channel=CHANNEL,
                    external_id=str(query.from_user.id),
                    vote_id=parsed.v,
                    option=parsed.o,
                    household_id=parsed.h,
                )
            )
        except Exception as exc:  # logged by the box; the person is told, nothing was saved
            result = exc
        if not isinstance(result, votes.CastResult | DomainError):
            with i18n.use_locale(normalise_language(query.from_user.language_code)):
                text = _("Sorry, something went wrong. Nothing was saved; please try again.")
            await bot.answer_callback_query(query.id, text=text, show_alert=True)
            return None
        if isinstance(result, votes.CastResult):
            with i18n.use_locale(result.language):
                text, alert = press_answer(result)
        else:
            with i18n.use_locale(normalise_language(query.from_user.language_code)):
                text, alert = result.render(), True
        await bot.answer_callback_query(query.id, text=text[:200], show_alert=alert)
        return None


def install_ballot_box(dp: Dispatcher, factory: Any) -> votes.BallotBox:
    """Put the ballot box in front of the dispatcher's FSM middleware (call it right after
    creating the Dispatcher, before the other update middlewares)."""
    box = votes.BallotBox(factory)
    observer = dp.update.outer_middleware
    before = list(observer)
    for middleware in before:
        observer.unregister(middleware)
    fsm_at = next(
        (i for i, m in enumerate(before) if isinstance(m, FSMContextMiddleware)), len(before)
    )
    for middleware in [*before[:fsm_at], BallotBoxMiddleware(box), *before[fsm_at:]]:
        observer.register(middleware)
    return box


@router.callback_query(Opine.filter())
async def opine(
    query: CallbackQuery, callback_data: Opine, session: AsyncSession, actor: Actor
) -> None:
    outcome, _opinion = await votes.give_opinion(
        session, actor, callback_data.v, option=callback_data.o
    )
    vote = await votes.get(session, callback_data.v)
    label = vote.options[callback_data.o]
    texts = {
        "given": _("✅ Your choice “{option}” is recorded. You may also write a comment."),
        "changed": _("🔄 Your choice is now “{option}”."),
        "unchanged": _("You have already chosen “{option}”. Nothing changed."),
    }
    await query.answer(texts[outcome].format(option=label), show_alert=outcome == "unchanged")


@router.callback_query(VoteAct.filter(F.action == "comment"))
async def ask_comment(
    query: CallbackQuery,
    callback_data: VoteAct,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
) -> None:
    vote = await votes.get(session, callback_data.id)
    if vote.kind != votes.CONSULTATION or votes.state_of(vote) != "open":
        raise StaleButton(_("This consultation is not open."))
    if not actor.is_verified_resident:
        raise NotAllowed(_("Only verified residents can give their opinion."))
    await state.set_state(Commenting.text)
    await state.update_data(vote_id=vote.id)
    await query.answer()
    await query.message.answer(  # type: ignore[union-attr]
        _(
            "Write your comment on “{question}” in one message (at most {max} characters). "
            "It replaces your earlier comment. /cancel to stop."
        ).format(question=esc(vote.question), max=votes.COMMENT_MAX)
    )


@router.message(Commenting.text, F.text)
async def got_comment(
    message: Message, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    vote_id = (await state.get_data())["vote_id"]
    outcome, _opinion = await votes.give_opinion(session, actor, vote_id, comment=message.text)
    await state.clear()
    if outcome == "unchanged":
        await message.answer(_("This is the same comment as before. Nothing changed."))
        return
    await message.answer(
        _("✅ Your comment is recorded. You may change it until the consultation closes."),
        reply_markup=main_menu(actor),
    )


@router.message(Commenting.text)
async def comment_not_text(message: Message) -> None:
    await message.answer(_("Please write your comment as a text message, or send /cancel."))


# --- the votes menu -----------------------------------------------------------------------


@router.message(menu_button("votes"))
@router.message(Command("votes"))
async def show(message: Message, session: AsyncSession, actor: Actor, state: FSMContext) -> None:
    await state.clear()
    builder = InlineKeyboardBuilder()
    lines = [_("🗳 <b>Votes and consultations</b>")]
    current = await votes.open_for(session, actor)
    if current:
        lines.append(_("Open now for your group:"))
        for vote in current:
            builder.row(
                InlineKeyboardButton(
                    text=("🗳 " if vote.kind == votes.VOTE else "📝 ") + vote.question[:60],
                    callback_data=VoteAct(action="open", id=vote.id).pack(),  # type: ignore[arg-type]
                )
            )
    else:
        lines.append(_("Nothing is open for your group right now."))
    followed = {v.id: v for v in await votes.managed_by(session, actor)}
    for vote in await votes.led_votes(session, actor):
        followed.setdefault(vote.id, vote)
    if followed:
        lines.append(_("Votes you organise or follow are below."))
        for vote in sorted(followed.values(), key=lambda v: -v.id):  # type: ignore[operator]
            mark = "🔒" if votes.state_of(vote) == "closed" else "📊"
            builder.row(
                InlineKeyboardButton(
                    text=f"{mark} {vote.question[:60]}",
                    callback_data=VoteAct(action="open", id=vote.id).pack(),  # type: ignore[arg-type]
                )
            )
    if votes.may_create(actor):
        builder.row(
            InlineKeyboardButton(
                text=_("➕ New vote"), callback_data=NewVote(action="new", value=0).pack()
            ),
            InlineKeyboardButton(
                text=_("➕ New consultation"), callback_data=NewVote(action="new", value=1).pack()
            ),
        )
    await message.answer("\n".join(lines), reply_markup=builder.as_markup())


@router.callback_query(VoteAct.filter(F.action == "open"))
async def open_vote(
    query: CallbackQuery, callback_data: VoteAct, session: AsyncSession, actor: Actor
) -> None:
    vote = await votes.get(session, callback_data.id)
    ward, groups, stored = await _context(session, vote)
    state = votes.state_of(vote)
    in_scope = actor.resident is not None and any(g.id == actor.resident.group_id for g in groups)
    follows = await votes.may_follow(actor, vote)
    led = [g for g in groups if actor.is_leader_of(g.id)]
    if not (in_scope or follows or led):
        raise NotAllowed()
    choice, comment = None, None
    if vote.kind == votes.VOTE:
        choice = await votes.my_choice(session, actor, vote.id)  # type: ignore[arg-type]
    else:
        opinion = await votes.my_opinion(session, actor, vote.id)  # type: ignore[arg-type]
        if opinion is not None:
            choice, comment = opinion.option, opinion.comment
    text = vote_text(
        vote,
        ward,
        groups,
        choice=choice,
        comment=comment,
        attachment=stored.filename if stored else None,
    )
    builder = InlineKeyboardBuilder()
    if state == "open" and in_scope:
        resident = actor.resident
        assert resident is not None
        if vote.kind == votes.VOTE:
            keyboard = ballot_keyboard(vote, resident.household_id or 0)
        else:
            keyboard = opinion_keyboard(vote)
        builder.attach(InlineKeyboardBuilder(markup=keyboard.inline_keyboard))
    if state == "closed":
        text += "\n\n" + _("🔒 Closed.")
        if vote.result and vote.kind == votes.VOTE:
            result = votes.Tally.from_dict(vote.result)
            text += " " + esc(vote_documents.outcome_text(vote, result))
    if follows:
        builder.row(
            InlineKeyboardButton(
                text=_("📊 Turnout per group"),
                callback_data=VoteAct(action="turnout", id=vote.id).pack(),  # type: ignore[arg-type]
            )
        )
    if vote.kind == votes.VOTE:
        for group in led:
            builder.row(
                InlineKeyboardButton(
                    text=_("👥 Who has voted in {group}").format(group=group.name),
                    callback_data=VoteAct(action="who", id=vote.id, value=group.id).pack(),  # type: ignore[arg-type]
                )
            )
    if (
        follows
        and vote.kind == votes.CONSULTATION
        and vote.closed_at is not None
        and vote.response_notice_id is None
    ):
        builder.row(*respond_keyboard(vote).inline_keyboard[0])
    await query.answer()
    await answer_long(query.message, text, builder.as_markup())  # type: ignore[arg-type]


@router.callback_query(VoteAct.filter(F.action == "turnout"))
async def show_turnout(
    query: CallbackQuery, callback_data: VoteAct, session: AsyncSession, actor: Actor
) -> None:
    lines_ = await votes.turnout(session, actor, callback_data.id)
    vote = await votes.get(session, callback_data.id)
    unit = _("households") if vote.kind == votes.VOTE else _("residents")
    lines = [_("📊 <b>Turnout</b>: {question}").format(question=esc(vote.question))]
    total_e = total_v = 0
    for line in lines_:
        total_e += line.eligible
        total_v += line.voted
        share = format_percent(line.voted / line.eligible if line.eligible else 0)
        lines.append(f"• {esc(line.group.name)}: {line.voted}/{line.eligible} {unit} ({share})")
    share = format_percent(total_v / total_e if total_e else 0)
    lines.append(
        _("In all: {voted}/{eligible} {unit} ({share})").format(
            voted=total_v, eligible=total_e, unit=unit, share=share
        )
    )
    if votes.state_of(vote) != "closed":
        lines.append(_("The result is shown to residents only after closing."))
    await query.answer()
    await answer_long(query.message, "\n".join(lines))  # type: ignore[arg-type]


@router.callback_query(VoteAct.filter(F.action == "who"))
async def show_who(
    query: CallbackQuery, callback_data: VoteAct, session: AsyncSession, actor: Actor
) -> None:
    households = await votes.who_has_voted(session, actor, callback_data.id, callback_data.value)
    voted = sum(1 for h in households if h.voted)
    lines = [
        _(
            "👥 <b>Households that have voted</b> ({voted}/{total}); how they voted stays secret."
        ).format(voted=voted, total=len(households))
    ]
    for item in households:
        mark = "✅" if item.voted else "⬜"
        who = f" — {esc(item.representative)}" if item.representative else ""
        lines.append(f"{mark} {esc(item.address)}{who}")
    await query.answer()
    await answer_long(query.message, "\n".join(lines))  # type: ignore[arg-type]


# --- the consultation's response ---------------------------------------------------------


@router.callback_query(VoteAct.filter(F.action == "respond"))
async def ask_response(
    query: CallbackQuery,
    callback_data: VoteAct,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
) -> None:
    vote = await votes.get(session, callback_data.id)
    if not await votes.may_follow(actor, vote):
        raise NotAllowed(_("Only the consultation's creator can publish the response."))
    if vote.response_notice_id is not None:
        raise StaleButton(_("The response to this consultation has already been published."))
    await state.set_state(Responding.text)
    await state.update_data(vote_id=vote.id)
    await query.answer()
    await query.message.answer(  # type: ignore[union-attr]
        _(
            "Send the text of the response: how the opinions were taken in, and why some were "
            "not. It goes out as a notice to everyone who was consulted. /cancel to stop."
        )
    )


@router.message(Responding.text, F.text)
async def got_response(message: Message, state: FSMContext) -> None:
    body = clean_text(message.text, max_length=15_000)
    vote_id = (await state.get_data())["vote_id"]
    await state.update_data(body=body)
    await state.set_state(Responding.confirm)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Publish"), callback_data=VoteAct(action="respond-ok", id=vote_id))
    builder.button(text=_("❌ Cancel"), callback_data=NewVote(action="cancel"))
    await message.answer(_("👁 <b>Preview</b> of the response:"))
    await answer_long(message, esc(body), builder.as_markup())


@router.callback_query(Responding.confirm, VoteAct.filter(F.action == "respond-ok"))
async def publish_response(
    query: CallbackQuery,
    callback_data: VoteAct,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
) -> None:
    data = await state.get_data()
    if data.get("vote_id") != callback_data.id:
        raise StaleButton()
    await votes.publish_response(session, actor, callback_data.id, body=data["body"])
    await state.clear()
    await query.answer(_("Published."))
    await query.message.edit_reply_markup(reply_markup=None)  # type: ignore[union-attr]
    await query.message.answer(  # type: ignore[union-attr]
        _("✅ The response is published as a notice to everyone who was consulted."),
        reply_markup=main_menu(actor),
    )


@router.message(Responding.text)
async def response_not_text(message: Message) -> None:
    await message.answer(_("Please send the response as a text message, or send /cancel."))


# --- creating a vote or a consultation -----------------------------------------------------


def _cancel_button() -> InlineKeyboardButton:
    return cancel_button(NewVote)


@router.callback_query(StateFilter(Creating, Responding), NewVote.filter(F.action == "cancel"))
async def cancel_inline(query: CallbackQuery, actor: Actor, state: FSMContext) -> None:
    await cancel_form(query, actor, state, _("Cancelled. Nothing was sent."))


@router.callback_query(NewVote.filter(F.action == "new"))
async def start(
    query: CallbackQuery,
    callback_data: NewVote,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
) -> None:
    scopes = await votes.creation_scopes(session, actor)
    if not scopes:
        raise NotAllowed(_("Only a ward administrator or a group leader can create votes."))
    await state.clear()
    kind = votes.CONSULTATION if callback_data.value else votes.VOTE
    await state.update_data(kind=kind)
    await query.answer()
    message = query.message
    assert isinstance(message, Message)
    await message.answer(
        _("➕ <b>New vote</b>. You can stop at any step with /cancel.")
        if kind == votes.VOTE
        else _("➕ <b>New consultation</b>. You can stop at any step with /cancel.")
    )
    await SCOPE.begin(message, session, actor, state, scopes)


async def _after_scope(message: Message, session: AsyncSession, state: FSMContext) -> None:
    if (await state.get_data())["kind"] == votes.CONSULTATION:
        await _ask_question(message, state)
        return
    await state.set_state(Creating.matter)
    builder = InlineKeyboardBuilder()
    for clause, name in votes.MATTER_NAMES.items():
        builder.button(
            text=f"{clause}. {_(name)}"[:64], callback_data=NewVote(action="matter", value=clause)
        )
    builder.adjust(1)
    builder.row(_cancel_button())
    await message.answer(
        _(
            "What kind of matter is it (Law 10/2022, Article 15)? For clauses 1–5 the online "
            "tally supports the community meeting; clause 6 matters are decided online."
        ),
        reply_markup=builder.as_markup(),
    )


SCOPE = ScopePicker(
    data=NewVote,
    ward_state=Creating.ward,
    scope_state=Creating.scope,
    groups_state=Creating.groups,
    scopes=votes.creation_scopes,
    then=_after_scope,
    ask_own_groups=N_("Which of your groups? Tick one or more, then press Continue."),
    ask_groups=N_("Which groups? Tick one or more, then press Continue."),
    ask_scope=N_("Which households take part?"),
)
SCOPE.register(router)


@router.callback_query(Creating.matter, NewVote.filter(F.action == "matter"))
async def chose_matter(query: CallbackQuery, callback_data: NewVote, state: FSMContext) -> None:
    if callback_data.value not in votes.MATTERS:
        raise StaleButton()
    await state.update_data(matter=callback_data.value)
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)  # type: ignore[union-attr]
    await _ask_question(query.message, state)  # type: ignore[arg-type]


async def _ask_question(message: Message, state: FSMContext) -> None:
    await state.set_state(Creating.question)
    await message.answer(
        _("Write the question residents answer (at most {max} characters).").format(
            max=votes.QUESTION_MAX
        )
    )


def _skip_keyboard(text: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=NewVote(action="skip").pack())],
            [_cancel_button()],
        ]
    )


@router.message(Creating.question, F.text)
async def got_question(message: Message, state: FSMContext) -> None:
    question = clean_text(message.text, max_length=votes.QUESTION_MAX, min_length=5)
    await state.update_data(question=question)
    await state.set_state(Creating.explanation)
    kind = (await state.get_data())["kind"]
    prompt = (
        _("Send an explanation for residents (one message), or skip.")
        if kind == votes.VOTE
        else _(
            "Send the draft's text or a summary of it (one message), or skip and attach the "
            "draft as a file in a later step."
        )
    )
    await message.answer(prompt, reply_markup=_skip_keyboard(_("Skip ▶️")))


@router.message(Creating.explanation, F.text)
async def got_explanation(message: Message, state: FSMContext) -> None:
    text = clean_text(message.text, max_length=votes.EXPLANATION_MAX)
    await state.update_data(explanation=text)
    await _ask_options(message, state)


@router.callback_query(Creating.explanation, NewVote.filter(F.action == "skip"))
async def skip_explanation(query: CallbackQuery, state: FSMContext) -> None:
    await state.update_data(explanation="")
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)  # type: ignore[union-attr]
    await _ask_options(query.message, state)  # type: ignore[arg-type]


async def _ask_options(message: Message, state: FSMContext) -> None:
    await state.set_state(Creating.options)
    await message.answer(
        _(
            "The options are “{agree}” and “{disagree}”. Keep them, or send your own options, "
            "one per line (2 to {max}); for a vote the first one counts as agreeing."
        ).format(agree=_("Agree"), disagree=_("Disagree"), max=votes.OPTIONS_MAX),
        reply_markup=_skip_keyboard(_("✅ Keep these options")),
    )


@router.message(Creating.options, F.text)
async def got_options(message: Message, state: FSMContext) -> None:
    options = votes.clean_options(
        [line for line in (message.text or "").split("\n") if line.strip()]
    )
    await state.update_data(options=options)
    await _ask_closing(message, state)


@router.callback_query(Creating.options, NewVote.filter(F.action == "skip"))
async def default_options(query: CallbackQuery, state: FSMContext) -> None:
    await state.update_data(options=None)
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)  # type: ignore[union-attr]
    await _ask_closing(query.message, state)  # type: ignore[arg-type]


async def _ask_closing(message: Message, state: FSMContext) -> None:
    await state.set_state(Creating.closes)
    builder = InlineKeyboardBuilder()
    for days in (3, 7, 14):
        builder.button(
            text=ngettext("In {days} day", "In {days} days", days).format(days=days),
            callback_data=NewVote(action="days", value=days),
        )
    builder.adjust(3)
    builder.row(_cancel_button())
    await message.answer(
        _("When does it close? Choose, or send a date and time such as {example}.").format(
            example=_example_time()
        ),
        reply_markup=builder.as_markup(),
    )


def _example_time() -> str:
    return (clock.now() + timedelta(days=7)).astimezone(DEFAULT_TIMEZONE).strftime("%d/%m/%Y 20:00")


def parse_local_time(text: str | None) -> datetime:
    """ "dd/mm/yyyy hh:mm" (or "hh:mm dd/mm/yyyy") in Vietnam's time zone."""
    value = " ".join((text or "").split())
    for pattern in ("%d/%m/%Y %H:%M", "%H:%M %d/%m/%Y", "%d/%m/%Y"):
        try:
            parsed = datetime.strptime(value, pattern)
        except ValueError:
            continue
        if pattern == "%d/%m/%Y":
            parsed = parsed.replace(hour=23, minute=59)
        return parsed.replace(tzinfo=DEFAULT_TIMEZONE)
    raise InvalidInput(
        _("Please send the date and time like {example}.").format(example=_example_time())
    )


@router.callback_query(Creating.closes, NewVote.filter(F.action == "days"))
async def closing_in_days(query: CallbackQuery, callback_data: NewVote, state: FSMContext) -> None:
    if callback_data.value not in (3, 7, 14):
        raise StaleButton()
    closes = clock.now() + timedelta(days=callback_data.value)
    await state.update_data(closes_at=closes.isoformat())
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)  # type: ignore[union-attr]
    await _ask_file(query.message, state)  # type: ignore[arg-type]


@router.message(Creating.closes, F.text)
async def got_closing(message: Message, state: FSMContext) -> None:
    closes = parse_local_time(message.text)
    if closes <= clock.now() + votes.DURATION_MIN:
        raise InvalidInput(_("The closing time must be at least one hour from now."))
    await state.update_data(closes_at=closes.isoformat())
    await _ask_file(message, state)


def _file_keyboard(attached: bool) -> InlineKeyboardMarkup:
    label = _("Continue ▶️") if attached else _("Continue without a file ▶️")
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=label, callback_data=NewVote(action="file-ok").pack())],
            [_cancel_button()],
        ]
    )


async def _ask_file(message: Message, state: FSMContext) -> None:
    await state.set_state(Creating.files)
    await message.answer(
        _(
            "Attach one PDF file or photo (for a consultation: the draft) if there is one, "
            "then press Continue."
        ),
        reply_markup=_file_keyboard(False),
    )


@router.message(Creating.files, F.document | F.photo)
async def got_file(message: Message, session: AsyncSession, state: FSMContext) -> None:
    ward = await wards.get_ward(session, (await state.get_data())["ward_id"])
    limit = wards.ward_settings(ward).limits.attachment_max_mb
    item = received_file(
        message,
        types=votes.ATTACHMENT_TYPES,
        wrong_type=_("Only PDF files and photos can be attached."),
        document_name="du-thao.pdf",
        photo_name="anh.jpg",
        limit_mb=limit,
    )
    await state.update_data(file=item)
    await message.answer(
        _("📎 {name} attached. Send another to replace it, or press Continue.").format(
            name=esc(item["name"])
        ),
        reply_markup=_file_keyboard(True),
    )


@router.message(Creating.files)
async def not_a_file(message: Message, state: FSMContext) -> None:
    attached = bool((await state.get_data()).get("file"))
    await message.answer(
        _("Please send a PDF file or a photo, or press Continue."),
        reply_markup=_file_keyboard(attached),
    )


@router.callback_query(Creating.files, NewVote.filter(F.action == "file-ok"))
async def file_done(
    query: CallbackQuery, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)  # type: ignore[union-attr]
    await _preview(query.message, session, actor, state)  # type: ignore[arg-type]


def _values(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": data["kind"],
        "ward_id": data["ward_id"],
        "group_ids": None if data.get("whole") else data.get("group_ids"),
        "matter": data.get("matter"),
        "question": data["question"],
        "explanation": data.get("explanation") or "",
        "options": data.get("options"),
        "opens_at": datetime.fromisoformat(data["opens_at"]) if data.get("opens_at") else None,
        "closes_at": datetime.fromisoformat(data["closes_at"]),
    }


async def _preview(
    message: Message, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    data = await state.get_data()
    values = _values(data)
    if values["kind"] == votes.CONSULTATION and data.get("file") and not values["explanation"]:
        # The draft is the attached file: checked as such at creation.
        values["explanation"] = "-"
    made = await votes.draft(session, actor, **values)
    if values["explanation"] == "-":
        made.vote.explanation = ""
    await state.set_state(Creating.preview)
    item = data.get("file")
    await message.answer(_("👁 <b>Preview</b>: residents will receive exactly this."))
    await answer_long(
        message,
        vote_text(made.vote, made.ward, made.groups, attachment=item["name"] if item else None),
        ballot_keyboard(made.vote, 0)
        if made.vote.kind == votes.VOTE
        else opinion_keyboard(made.vote),
    )
    if made.vote.kind == votes.VOTE:
        target = _("the representatives of the verified households of {scope}")
    else:
        target = _("the verified residents of {scope}")
    scope = made.ward.name if made.vote.whole_ward else ", ".join(g.name for g in made.groups)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Confirm and send"), callback_data=NewVote(action="create"))
    builder.button(
        text=_("🕒 Opens: {when}").format(when=format_datetime(made.vote.opens_at))
        if data.get("opens_at")
        else _("🕒 Opens: now (change)"),
        callback_data=NewVote(action="opens"),
    )
    builder.adjust(1)
    builder.row(_cancel_button())
    await message.answer(
        _("Send it to {target}? The ballot buttons in the preview do nothing.").format(
            target=target.format(scope=esc(scope))
        ),
        reply_markup=builder.as_markup(),
    )


@router.callback_query(Creating.preview, NewVote.filter(F.action == "opens"))
async def ask_opening(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(Creating.opens)
    await query.answer()
    await query.message.answer(  # type: ignore[union-attr]
        _("When does voting open? Send a date and time such as {example}.").format(
            example=(clock.now() + timedelta(days=1))
            .astimezone(DEFAULT_TIMEZONE)
            .strftime("%d/%m/%Y 07:00")
        )
    )


@router.message(Creating.opens, F.text)
async def got_opening(
    message: Message, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    opens = parse_local_time(message.text)
    if opens <= clock.now():
        raise InvalidInput(_("The opening time must be in the future."))
    await state.update_data(opens_at=opens.isoformat())
    await _preview(message, session, actor, state)


@router.callback_query(Creating.preview, NewVote.filter(F.action == "create"))
async def create(
    query: CallbackQuery, session: AsyncSession, actor: Actor, state: FSMContext, bot: Bot
) -> None:
    data = await state.get_data()
    message = query.message
    assert isinstance(message, Message)
    values = _values(data)
    item = data.get("file")
    if item:
        ward = await wards.get_ward(session, data["ward_id"])
        limit = wards.ward_settings(ward).limits.attachment_max_mb
        downloaded = await bot.download(item["file_id"])
        if downloaded is None:
            raise NotFound(_("The attached file could not be fetched. Please attach it again."))
        stored = await files.save(
            session,
            data=downloaded.read(),
            filename=item["name"],
            mime_type=item["mime"],
            uploaded_by_id=actor.person_id,
            max_bytes=limit * 1024 * 1024,
            allowed_types=votes.ATTACHMENT_TYPES,
        )
        stored.telegram_file_id = stored.telegram_file_id or item["file_id"]
        session.add(stored)
        values["attachment_id"] = stored.id
    vote = await votes.create(session, actor, **values)
    queued = (
        await session.exec(
            select(Delivery.id).where(Delivery.ref_type == vote.kind, Delivery.ref_id == vote.id)
        )
    ).all()
    await state.clear()
    await query.answer(_("Created."))
    await message.edit_reply_markup(reply_markup=None)
    if vote.announced_at is not None:
        text = _("✅ Created. It is being sent to {count} people.").format(count=len(queued))
    else:
        text = _("✅ Created. It will be sent when it opens, at {when}.").format(
            when=format_datetime(vote.opens_at)
        )
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("📊 Turnout per group"),
        callback_data=VoteAct(action="turnout", id=vote.id),  # type: ignore[arg-type]
    )
    await message.answer(text, reply_markup=builder.as_markup())
    await message.answer(_("Main menu."), reply_markup=main_menu(actor))


@router.message(
    StateFilter(
        Creating.question, Creating.explanation, Creating.options, Creating.closes, Creating.opens
    )
)
async def not_text(message: Message) -> None:
    await message.answer(_("Please send this as a text message, or send /cancel to stop."))


@router.message(
    StateFilter(Creating.ward, Creating.scope, Creating.groups, Creating.matter, Creating.preview)
)
async def use_buttons(message: Message) -> None:
    await message.answer(_("Please choose with the buttons above, or send /cancel to stop."))
