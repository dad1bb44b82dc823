"""Votes and consultations on Zalo: numbered choices ("Gõ 1 để Đồng ý, 2 để Không đồng ý").

The rules are ``bot.services.votes``'s: one ballot per household, cast by its
representative, whichever channel they use. A person linked on Telegram and Zalo is one
resident of one household, so their household still has one ballot, and pressing on one
channel then typing on the other changes that ballot.
"""

from __future__ import annotations

from bot.i18n import N_, _, format_datetime
from bot.services import votes
from bot.services.people import Actor
from bot.zalo.context import Ctx, action, state
from bot.zalo.menu import MENU, ZaloEntry, show_menu
from handlers.votes import _context, vote_text


def _votes_visible(actor: Actor) -> bool:
    return actor.is_verified_resident


# After the notices, before feedback.
MENU.insert(3, ZaloEntry("votes", N_("vote or give your opinion"), _votes_visible))


def choices_line(options: list[str]) -> str:
    """'Gõ 1 để Đồng ý, 2 để Không đồng ý.'"""
    items = ", ".join(
        _("{n} for {option}").format(n=n, option=option) for n, option in enumerate(options, 1)
    )
    return _("Type {choices}.").format(choices=items)


@action("votes")
async def open_votes(ctx: Ctx) -> None:
    found = await votes.open_for(ctx.session, ctx.actor)
    if not found:
        show_menu(ctx, _("No vote or consultation is open for your group now."))
        return
    lines = [_("🗳 <b>Open votes and consultations</b>")]
    for n, vote in enumerate(found, 1):
        kind = _("Vote") if vote.kind == votes.VOTE else _("Consultation")
        lines.append(
            f"{n}. [{kind}] {vote.question}\n    "
            + _("until {when}").format(when=format_datetime(vote.closes_at))
        )
    lines += ["", _("Type a number to take part, or 0 for the menu.")]
    ctx.goto("votes.list", ids=[v.id for v in found])
    ctx.say("\n".join(lines))


@state("votes.list")
async def chose(ctx: Ctx) -> None:
    ids = list(ctx.data.get("ids") or [])
    picked = ctx.number(len(ids))
    if picked is None:
        ctx.say(_("Type a number to take part, or 0 for the menu."))
        return
    await _show(ctx, ids[picked - 1])


async def _show(ctx: Ctx, vote_id: int) -> None:
    vote = await votes.get(ctx.session, vote_id)
    ward, groups, stored = await _context(ctx.session, vote)
    choice = comment = None
    if vote.kind == votes.VOTE:
        choice = await votes.my_choice(ctx.session, ctx.actor, vote.id)  # type: ignore[arg-type]
    else:
        opinion = await votes.my_opinion(ctx.session, ctx.actor, vote.id)  # type: ignore[arg-type]
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
    lines = [text, "", choices_line(vote.options)]
    if vote.kind != votes.VOTE:
        lines.append(_("Or write your comment as a message."))
    ctx.goto("votes.ballot", id=vote.id)
    ctx.say("\n".join(lines))


@state("votes.ballot")
async def ballot(ctx: Ctx) -> None:
    vote = await votes.get(ctx.session, int(ctx.data["id"]))
    picked = ctx.number(len(vote.options))
    if vote.kind == votes.VOTE:
        if picked is None:
            ctx.say(choices_line(vote.options) + "\n" + _("Type 0 for the menu."))
            return
        result = await votes.cast(ctx.session, ctx.actor, vote.id, picked - 1)  # type: ignore[arg-type]
        if result.outcome == "unchanged":
            text = _("Your household had already chosen {option}; nothing changed.")
        elif result.outcome == "changed":
            text = _("✅ Your household's vote is changed to {option}.")
        else:
            text = _("✅ Your household's vote is recorded: {option}.")
        show_menu(ctx, text.format(option=result.label))
        return
    if picked is not None:
        await votes.give_opinion(ctx.session, ctx.actor, vote.id, option=picked - 1)  # type: ignore[arg-type]
        answer = _("✅ Your opinion is recorded: {option}.").format(option=vote.options[picked - 1])
    else:
        await votes.give_opinion(ctx.session, ctx.actor, vote.id, comment=ctx.update.text)  # type: ignore[arg-type]
        answer = _("✅ Your comment is recorded. Thank you.")
    ctx.say(answer + "\n" + _("Type another number or a comment to change it, or 0 for the menu."))
