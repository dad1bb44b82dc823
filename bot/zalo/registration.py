"""Registering on Zalo: group, name, phone, address; or joining one's Telegram account.

The rules are ``bot.services.registration``'s, as on Telegram; the leader reviews the
request wherever they are (Telegram's review card). Zalo does not share a verified
phone, so a typed phone proves nothing: the leader checks it by calling it, it never
matches the household list, and what Zalo answers never depends on whether the number
is registered elsewhere. Someone registered on Telegram links this account instead,
from its own menu entry, with a code sent to Telegram (``bot.services.links``).
"""

from __future__ import annotations

from bot.i18n import _
from bot.models import Person
from bot.services import links, registration, wards
from bot.services.errors import NotAllowed, NotFound
from bot.services.people import actor_for_person, clean_name
from bot.zalo.context import Ctx, action, numbered, state
from bot.zalo.menu import show_menu

PAGE = 9


@action("register")
async def start(ctx: Ctx) -> None:
    await _ask_group(ctx, page=0)


async def _groups(ctx: Ctx) -> list[tuple[int, str]]:
    all_wards = await wards.list_wards(ctx.session)
    result: list[tuple[int, str]] = []
    for ward in all_wards:
        for group in await wards.active_groups(ctx.session, ward.id):  # type: ignore[arg-type]
            label = group.name if len(all_wards) == 1 else f"{group.name} ({ward.name})"
            result.append((group.id, label))  # type: ignore[arg-type]
    return result


async def _ask_group(ctx: Ctx, page: int) -> None:
    groups = await _groups(ctx)
    if not groups:
        show_menu(ctx, _("No residential group is set up yet. Please try again later."))
        return
    pages = max(1, -(-len(groups) // PAGE))
    page = min(max(page, 0), pages - 1)
    shown = groups[page * PAGE : (page + 1) * PAGE]
    lines = [_("Which residential group (tổ dân phố) do you live in?")]
    lines += [f"{n}. {label}" for n, (_id, label) in enumerate(shown, 1)]
    lines.append(_("Type the number of your group."))
    if page + 1 < pages:
        lines.append(_("Type + for more groups."))
    lines.append(_("Type 0 to cancel."))
    ctx.goto("reg.group", page=page, ids=[gid for gid, _label in shown])
    ctx.say("\n".join(lines))


@state("reg.group")
async def got_group(ctx: Ctx) -> None:
    data = ctx.data
    if ctx.text == "+":
        await _ask_group(ctx, data.get("page", 0) + 1)
        return
    ids = list(data.get("ids") or [])
    picked = ctx.number(len(ids))
    if picked is None:
        ctx.say(_("Please type the number of your group."))
        return
    group = await wards.get_group(ctx.session, ids[picked - 1])
    ctx.goto("reg.name", group_id=group.id, group=group.name)
    ctx.say(_("Your full name, as on your ID card (e.g. Nguyễn Văn An):"))


@state("reg.name")
async def got_name(ctx: Ctx) -> None:
    name = clean_name(ctx.update.text)
    ctx.update_data(full_name=name)
    ctx.goto("reg.phone", **ctx.data)
    ctx.say(
        "\n".join(
            [
                _(
                    "Your own mobile phone number (e.g. 0912 345 678). The group leader may "
                    "call it to confirm that you live here."
                ),
                _(
                    "Already registered on Telegram? Type 0, then choose to link this Zalo "
                    "account instead."
                ),
            ]
        )
    )


@state("reg.phone")
async def got_phone(ctx: Ctx) -> None:
    # The same steps whoever holds the number: a typed phone reserves nothing.
    phone = await registration.check_phone_free(ctx.session, ctx.actor, ctx.text)
    ctx.update_data(phone=phone)
    ctx.goto("reg.address", **ctx.data)
    ctx.say(_("Your household's address (e.g. Số 12, ngõ 5, đường Lê Lợi):"))


@state("reg.address")
async def got_address(ctx: Ctx) -> None:
    address = (ctx.update.text or "").strip()
    if len(address) < 3 or len(address) > registration.ADDRESS_MAX:
        ctx.say(_("Please write your household's address (3 to 200 characters)."))
        return
    ctx.update_data(address=address)
    data = ctx.data
    ctx.goto("reg.confirm", **data)
    ctx.say(
        "\n".join(
            [
                _("Please check your registration:"),
                _("Group: {group}").format(group=data["group"]),
                _("Name: {name}").format(name=data["full_name"]),
                _("Phone: {phone}").format(phone=data["phone"]),
                _("Address: {address}").format(address=address),
                "",
                numbered([_("send it"), _("start again")]),
            ]
        )
    )


@state("reg.confirm")
async def confirm(ctx: Ctx) -> None:
    picked = ctx.number(2)
    if picked is None:
        ctx.say(_("Please type 1 to send or 2 to start again."))
        return
    if picked == 2:
        await _ask_group(ctx, 0)
        return
    data = ctx.data
    result = await registration.submit(
        ctx.session,
        ctx.actor,
        group_id=data["group_id"],
        full_name=data["full_name"],
        phone=data["phone"],
        address=data["address"],
    )
    # A typed phone never verifies at once: the leader always reviews.
    if result.reviewers_notified:
        text = _(
            "Thank you. Your registration was sent to the leader of {group}. "
            "You will get a message when it is approved; meanwhile you can read notices."
        )
    else:
        text = _(
            "Thank you. Your registration is saved; {group} has no leader on wardbot yet, "
            "so it will be reviewed when one joins."
        )
    show_menu(ctx, text.format(group=result.group.name))


# --- linking to a Telegram registration ------------------------------------------------


@action("link")
async def link_start(ctx: Ctx) -> None:
    ctx.goto("link.phone")
    ctx.say(
        "\n".join(
            [
                _(
                    "To link this Zalo account to your registration on Telegram, type the "
                    "phone number you registered with there (e.g. 0912 345 678)."
                ),
                _("Type 0 to cancel."),
            ]
        )
    )


@state("link.phone")
async def link_phone(ctx: Ctx) -> None:
    await links.request(ctx.session, ctx.actor, ctx.text)
    ctx.goto("link.code")
    # The same answer whether or not the number is registered: no oracle.
    ctx.say(
        _(
            "If this number belongs to a resident registered on Telegram, a 6-digit code "
            "has just been sent to them there. Type it here within 15 minutes. If no code "
            "arrives, the number is not registered: type 0 and register instead."
        )
    )


@state("link.code")
async def link_code(ctx: Ctx) -> None:
    confirmation = await links.confirm(
        ctx.session, ctx.actor, ctx.text, display_name=ctx.update.name
    )
    if confirmation.actor is None:
        ctx.say(links.wrong_code_message(confirmation))
        if confirmation.tries_left <= 0:
            show_menu(ctx)
        return
    ctx.actor = confirmation.actor
    show_menu(
        ctx,
        _(
            "✅ This Zalo account is now linked to your registration. You will receive "
            "notices here too. Your other accounts were told; to undo it, type "
            "“Unlink”."
        ),
    )


@action("unlink")
async def unlink_start(ctx: Ctx) -> None:
    """Typed “Hủy liên kết” anywhere: detach this account, if a code joined it."""
    account = ctx.actor.account
    try:
        if account is None or account.id is None:
            raise NotFound()
        await links.linked_account(ctx.session, ctx.actor, account.id)
    except (NotFound, NotAllowed):
        show_menu(ctx, _("This Zalo account is not linked to another account's registration."))
        return
    ctx.goto("unlink.confirm")
    ctx.say(
        "\n".join(
            [
                _(
                    "Unlink this Zalo account from the registration of {name}? It will no "
                    "longer receive that registration's notices or act for it."
                ).format(name=ctx.actor.person.full_name if ctx.actor.person else "—"),
                numbered([_("unlink it"), _("keep it linked")]),
            ]
        )
    )


@state("unlink.confirm")
async def unlink_confirm(ctx: Ctx) -> None:
    picked = ctx.number(2)
    if picked is None:
        ctx.say(_("Please type 1 or 2."))
        return
    if picked == 2:
        show_menu(ctx, _("Nothing changed: the account stays linked."))
        return
    account = await links.unlink(ctx.session, ctx.actor, ctx.actor.account.id)  # type: ignore[union-attr,arg-type]
    person = await ctx.session.get(Person, account.person_id)
    ctx.actor = await actor_for_person(ctx.session, person, account)
    # The state row belongs to the Zalo user, whoever the person: start afresh.
    show_menu(ctx, _("This Zalo account is no longer linked to that registration."))
