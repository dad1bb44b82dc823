"""The numbered main menu on Zalo, and what "0" or an unknown message does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.i18n import N_, _
from bot.services.people import Actor
from bot.zalo.context import ACTIONS, Ctx, numbered, state


@dataclass(frozen=True)
class ZaloEntry:
    key: str
    # A verb phrase for "Gõ 1 để …", marked with N_().
    text: str
    visible: Callable[[Actor], bool]


def _unregistered(actor: Actor) -> bool:
    return actor.resident is None or actor.resident.status == "rejected"


def _receiving(actor: Actor) -> bool:
    return actor.resident is not None and actor.resident.status in ("pending", "verified")


# Features add theirs (votes after notices); shown in this order.
MENU: list[ZaloEntry] = [
    ZaloEntry("register", N_("register as a resident"), _unregistered),
    ZaloEntry("notices", N_("read current notices"), _receiving),
    ZaloEntry("archive", N_("read archived notices"), _receiving),
    ZaloEntry("ticket_new", N_("send feedback (phản ánh, kiến nghị)"), _receiving),
    ZaloEntry("ticket_mine", N_("see my feedback and answers"), lambda a: a.resident is not None),
    # Last, so that the entries above keep their numbers (votes insert theirs by index).
    ZaloEntry("link", N_("link this Zalo account to my registration on Telegram"), _unregistered),
]

# What a person types to get back to the menu from anywhere.
MENU_WORDS = {"0", "menu", "/menu", "/start", "start", "hủy", "huy", "/cancel", "thoát"}
# What undoes a link from anywhere (the words the link notices quote).
UNLINK_WORDS = {"hủy liên kết", "huy lien ket", "unlink"}


def show_menu(ctx: Ctx, intro: str | None = None) -> None:
    entries = [e for e in MENU if e.visible(ctx.actor)]
    ctx.goto("menu", choices=[e.key for e in entries])
    lines = [intro or _("🏠 <b>Main menu</b>")]
    resident = ctx.actor.resident
    if resident is not None and resident.status == "pending":
        lines.append(_("Your registration is waiting for the group leader's approval."))
    lines += [
        "",
        numbered([_(e.text) for e in entries]),
        _("Type 0 at any time to come back here."),
    ]
    ctx.say("\n".join(lines))


@state("menu")
async def chose(ctx: Ctx) -> None:
    choices = list(ctx.data.get("choices") or [])
    picked = ctx.number(len(choices))
    if picked is None:
        show_menu(ctx, _("Please type one of the numbers below."))
        return
    key = choices[picked - 1]
    entry = next((e for e in MENU if e.key == key), None)
    # Re-checked now: a role or registration may have changed since the menu was shown.
    if entry is None or not entry.visible(ctx.actor) or key not in ACTIONS:
        show_menu(ctx)
        return
    await ACTIONS[key](ctx)
