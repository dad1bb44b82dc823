"""Feedback on Zalo: file a ticket (text, photos, the place), follow it, rate the answer.

Each step calls ``bot.services.tickets`` as the Telegram form does; texts shown to the
resident come from the Telegram layer's own formatting, made plain by the transport.
Zalo's bots receive no location (bot/zalo/api.py): the resident types the address or a
landmark instead.
"""

from __future__ import annotations

from bot.i18n import _, format_date
from bot.models import Ticket, TicketStatus, TicketType
from bot.services import tickets
from bot.services.errors import InvalidInput
from bot.services.people import clean_text
from bot.zalo.api import EVENT_IMAGE, ZaloError
from bot.zalo.context import Ctx, action, numbered, state
from bot.zalo.menu import show_menu
from handlers.tickets import clip, refresh_cards, resident_text, status_name, type_name

LIST_SIZE = 9


# --- filing ---------------------------------------------------------------------------------


@action("ticket_new")
async def start(ctx: Ctx) -> None:
    await tickets.check_daily_limit(ctx.session, ctx.actor)
    lines = [_("What would you like to send?")]
    lines += [f"{n}. {type_name(t)}" for n, t in enumerate(tickets.TYPES, 1)]
    lines += [_("Type the number of the type, or 0 to cancel.")]
    ctx.goto("ticket.type")
    ctx.say("\n".join(lines))


@state("ticket.type")
async def got_type(ctx: Ctx) -> None:
    picked = ctx.number(len(tickets.TYPES))
    if picked is None:
        ctx.say(_("Please type the number of the type, or 0 to cancel."))
        return
    ward = await tickets.filer_ward(ctx.session, ctx.actor)
    categories = await tickets.categories(ctx.session, ward.id)  # type: ignore[arg-type]
    lines = [_("Which field is it about?")]
    lines += [f"{n}. {c.name}" for n, c in enumerate(categories, 1)]
    lines.append(_("Type the number of the field."))
    ctx.goto(
        "ticket.category",
        type=str(tickets.TYPES[picked - 1]),
        ward_id=ward.id,
        categories=[[c.id, c.name] for c in categories],
    )
    ctx.say("\n".join(lines))


@state("ticket.category")
async def got_category(ctx: Ctx) -> None:
    categories = list(ctx.data.get("categories") or [])
    picked = ctx.number(len(categories))
    if picked is None:
        ctx.say(_("Please type the number of the field."))
        return
    category_id, name = categories[picked - 1]
    ctx.update_data(category_id=category_id, category_name=name)
    ctx.goto("ticket.description", **ctx.data)
    ctx.say(_("Describe what happened: what, where, since when (in one message)."))


@state("ticket.description")
async def got_description(ctx: Ctx) -> None:
    if ctx.update.text is None:
        ctx.say(_("Please write the description as a text message first."))
        return
    ward = await tickets.filer_ward(ctx.session, ctx.actor)
    description = tickets.clean_description(ctx.update.text, ward)
    most, max_bytes = tickets.attachment_limits(ward)
    ctx.update_data(description=description, files=[])
    ctx.goto("ticket.files", **ctx.data)
    ctx.say(
        _(
            "You may now send up to {count} photos (at most {mb} MB each). When you are done, "
            "or if you have none, type 1 to continue."
        ).format(count=most, mb=max_bytes // tickets.MB)
    )


def _photo_type(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\x89PNG"):
        return "image/png", "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    return "image/jpeg", "jpg"


@state("ticket.files")
async def got_file(ctx: Ctx) -> None:
    data = ctx.data
    attached = list(data.get("files") or [])
    if ctx.update.event == EVENT_IMAGE and ctx.update.photo_url:
        ward = await tickets.filer_ward(ctx.session, ctx.actor)
        tickets.check_attachment(ward, count=len(attached), size=None)
        _most, max_bytes = tickets.attachment_limits(ward)
        try:
            content = await ctx.api.download(ctx.update.photo_url, max_bytes)
        except ValueError:
            raise InvalidInput(
                _("The file is too large: at most {limit} MB."), limit=max_bytes // tickets.MB
            ) from None
        except (ZaloError, OSError, Exception):
            ctx.say(_("The photo could not be downloaded from Zalo. Please send it again."))
            return
        mime, extension = _photo_type(content)
        stored = await tickets.save_attachment(
            ctx.session,
            ctx.actor,
            ward,
            data=content,
            filename=f"zalo_{ctx.update.message_id or len(attached)}.{extension}",
            mime_type=mime,
            kind="photo",
            count=len(attached),
        )
        attached.append([stored.id, "photo"])
        ctx.update_data(files=attached)
        ctx.say(
            _("📎 Received ({count}). Send more or type 1 to continue.").format(count=len(attached))
        )
        return
    if ctx.text != "1":
        ctx.say(_("Please send a photo, or type 1 to continue."))
        return
    ctx.goto("ticket.place", **data)
    ctx.say(
        "\n".join(
            [
                _(
                    "Where is it? Type the address or a landmark nearby (e.g. đầu ngõ 5 "
                    "Lê Lợi, cạnh nhà văn hoá Khu phố 2)."
                ),
                _("Type 1 to continue without a place."),
            ]
        )
    )


@state("ticket.place")
async def got_place(ctx: Ctx) -> None:
    if ctx.update.text is None:
        ctx.say(_("Please type the address or a landmark, or 1 to continue without one."))
        return
    if ctx.text != "1":
        place = clean_text(ctx.update.text, max_length=tickets.PLACE_MAX, min_length=3)
        ctx.update_data(place=place)
    data = ctx.data
    ward = await tickets.filer_ward(ctx.session, ctx.actor)
    rule = tickets.rule_for(ward, data["type"])
    if rule.anonymous_allowed and data["type"] != TicketType.TO_CAO:
        ctx.goto("ticket.anonymity", **data)
        ctx.say(
            "\n".join(
                [
                    _(
                        "Send it with your name, or anonymously? Anonymously, nobody in the "
                        "ward sees who sent it, but the office cannot contact you except "
                        "through this chat."
                    ),
                    numbered([_("send it with my name"), _("send it anonymously")]),
                ]
            )
        )
        return
    ctx.update_data(anonymous=False)
    _ask_confirm(ctx)


@state("ticket.anonymity")
async def got_anonymity(ctx: Ctx) -> None:
    picked = ctx.number(2)
    if picked is None:
        ctx.say(_("Please type 1 or 2."))
        return
    ctx.update_data(anonymous=picked == 2)
    _ask_confirm(ctx)


def _ask_confirm(ctx: Ctx) -> None:
    data = ctx.data
    ctx.goto("ticket.confirm", **data)
    ctx.say(
        _(
            "Please check:\nType: <b>{type}</b>\nField: {category}\nFiles: {files}\n"
            "Place: {place}\nSender: {who}\n\n{description}\n\nSend it?"
        ).format(
            type=type_name(data["type"]),
            category=data.get("category_name", ""),
            files=len(data.get("files", [])),
            place=data.get("place") or _("none"),
            who=_("anonymous") if data.get("anonymous") else _("with your name"),
            description=clip(data["description"], 1200),
        )
        + "\n"
        + numbered([_("send it"), _("cancel")])
    )


@state("ticket.confirm")
async def confirm(ctx: Ctx) -> None:
    picked = ctx.number(2)
    if picked is None:
        ctx.say(_("Please type 1 to send or 2 to cancel."))
        return
    if picked == 2:
        show_menu(ctx, _("Cancelled; nothing was sent."))
        return
    data = ctx.data
    filed = await tickets.file_ticket(
        ctx.session,
        ctx.actor,
        ticket_type=data["type"],
        category_id=data["category_id"],
        description=data["description"],
        attached=[(int(i), str(k)) for i, k in data.get("files", [])],
        place=data.get("place"),
        anonymous=bool(data.get("anonymous")),
    )
    ticket = filed.ticket
    due = tickets.current_due(ticket)
    if ticket.accept_due_on is not None:
        due_line = _("It will be accepted or declined by {date}.").format(date=format_date(due))  # type: ignore[arg-type]
    else:
        due_line = _("Answer due by {date}.").format(date=format_date(due))  # type: ignore[arg-type]
    show_menu(
        ctx,
        _("✅ Sent. Your ticket code is <b>{code}</b>. It went to {office}.\n{due}").format(
            code=ticket.code, office=filed.office.name, due=due_line
        ),
    )


# --- following one's tickets ------------------------------------------------------------------


@action("ticket_mine")
async def mine(ctx: Ctx) -> None:
    rows = (await tickets.my_tickets(ctx.session, ctx.actor))[:LIST_SIZE]
    if not rows:
        show_menu(ctx, _("You have not sent any feedback yet."))
        return
    lines = [_("📋 <b>My feedback</b>")]
    lines += [
        f"{n}. {t.code} · {status_name(t.status)}\n    {clip(t.description, 60)}"
        for n, t in enumerate(rows, 1)
    ]
    lines += ["", _("Type a number to see its history, or 0 for the menu.")]
    ctx.goto("ticket.mine", ids=[t.id for t in rows])
    ctx.say("\n".join(lines))


@state("ticket.mine")
async def chose_mine(ctx: Ctx) -> None:
    ids = list(ctx.data.get("ids") or [])
    picked = ctx.number(len(ids))
    if picked is None:
        ctx.say(_("Type a number to see its history, or 0 for the menu."))
        return
    ticket = await tickets.own_ticket(ctx.session, ctx.actor, ids[picked - 1])
    ctx.say(await resident_text(ctx.session, ticket))
    _offer_actions(ctx, ticket, ids)


def _offer_actions(ctx: Ctx, ticket: Ticket, ids: list[int]) -> None:
    """What the resident may do with the ticket now, as numbers (as its buttons on
    Telegram): add information, rate 1–5, reopen (6)."""
    info = ticket.status == TicketStatus.INFO_REQUESTED
    rate = ticket.status == TicketStatus.ANSWERED and ticket.rating is None
    reopen = ticket.status == TicketStatus.ANSWERED and tickets.may_reopen(ticket)
    lines = []
    if info:
        lines.append(_("Type 1 to add the information the office asked for."))
    if rate:
        lines.append(
            _(
                "How satisfied are you with this answer? Type 1 to 5 (5 = very satisfied), "
                "or 0 for the menu."
            )
        )
    if reopen:
        lines.append(_("Type 6 if you are not satisfied and want it reopened."))
    if not lines:
        ctx.goto("ticket.mine", ids=ids)
        ctx.say(_("Type another number, or 0 for the menu."))
        return
    ctx.goto("ticket.act", id=ticket.id, info=info, rate=rate, reopen=reopen)
    ctx.say("\n".join(lines))


@state("ticket.act")
async def act(ctx: Ctx) -> None:
    data = ctx.data
    picked = ctx.number(6)
    ticket = await tickets.own_ticket(ctx.session, ctx.actor, int(data["id"]))
    if data.get("info") and picked == 1:
        ctx.goto("ticket.info", id=ticket.id)
        ctx.say(_("Write the information the office asked for, in one message."))
        return
    if data.get("rate") and picked is not None and picked <= 5:
        ticket = await tickets.rate(ctx.session, ctx.actor, ticket.id, stars=picked)  # type: ignore[arg-type]
        await _refresh(ctx, ticket)
        show_menu(
            ctx,
            _("Thank you: you rated the answer to {code} {stars}.").format(
                code=ticket.code, stars="★" * picked + "☆" * (5 - picked)
            ),
        )
        return
    if data.get("reopen") and picked == 6:
        ctx.goto("ticket.reopen", id=ticket.id)
        ctx.say(
            _("Why are you not satisfied with the answer to {code}? Write the reason.").format(
                code=ticket.code
            )
        )
        return
    ctx.say(_("Please type one of the numbers above, or 0 for the menu."))


@state("ticket.info")
async def info(ctx: Ctx) -> None:
    if ctx.update.text is None:
        ctx.say(_("Please write the information first."))
        return
    ticket = await tickets.add_info(ctx.session, ctx.actor, int(ctx.data["id"]), text=ctx.text)
    await _refresh(ctx, ticket)
    show_menu(ctx, _("✅ Sent to the office handling {code}.").format(code=ticket.code))


@state("ticket.reopen")
async def reopen(ctx: Ctx) -> None:
    ticket = await tickets.reopen(
        ctx.session, ctx.actor, int(ctx.data["id"]), reason=ctx.update.text or ""
    )
    await _refresh(ctx, ticket)
    show_menu(
        ctx,
        _("🔁 {code} is reopened and back with the office. New answer due by {date}.").format(
            code=ticket.code,
            date=format_date(ticket.due_on),  # type: ignore[arg-type]
        ),
    )


async def _refresh(ctx: Ctx, ticket: Ticket) -> None:
    """The ticket's card in the office's Telegram chat shows the change at once."""
    if ctx.telegram_bot is not None:
        await refresh_cards(ctx.telegram_bot, ctx.session, ticket.id)  # type: ignore[arg-type]
