"""Reading notices on Zalo: current ones and the archive, numbered, five a page; a
notice's files as signed links (PDFs) and photos sent by URL."""

from __future__ import annotations

import contextlib

from bot.i18n import _
from bot.services import notices
from bot.services.errors import DomainError
from bot.zalo.context import Ctx, action, state
from bot.zalo.transport import file_lines
from handlers.forms import attachment
from handlers.notices import _list_line, notice_text

SIZE = 5


@action("notices")
async def current(ctx: Ctx) -> None:
    await _show(ctx, archive=False, page=0)


@action("archive")
async def archive(ctx: Ctx) -> None:
    await _show(ctx, archive=True, page=0)


async def _show(ctx: Ctx, *, archive: bool, page: int) -> None:
    found = await notices.browse(ctx.session, ctx.actor, archive=archive, page=page, size=SIZE)
    title = _("🗄 <b>Archived notices</b>") if archive else _("📢 <b>Current notices</b>")
    if not found.items:
        ctx.goto("notices.list", archive=archive, page=0, ids=[])
        ctx.say(
            title
            + "\n"
            + (_("The archive is empty.") if archive else _("There are no current notices."))
            + "\n"
            + _("Type 0 for the menu.")
        )
        return
    lines = [
        title + " " + _("(page {page} of {pages})").format(page=found.page + 1, pages=found.pages)
    ]
    lines += [_list_line(n, view) for n, view in enumerate(found.items, 1)]
    lines.append("")
    lines.append(_("Type a notice's number to read it."))
    if found.page + 1 < found.pages:
        lines.append(_("Type + for the next page."))
    lines.append(_("Type 0 for the menu."))
    ctx.goto(
        "notices.list",
        archive=archive,
        page=found.page,
        ids=[view.notice.id for view in found.items],
    )
    ctx.say("\n".join(lines))


@state("notices.list")
async def chose(ctx: Ctx) -> None:
    data = ctx.data
    if ctx.text == "+":
        await _show(ctx, archive=bool(data.get("archive")), page=int(data.get("page", 0)) + 1)
        return
    ids = list(data.get("ids") or [])
    picked = ctx.number(len(ids))
    if picked is None:
        ctx.say(_("Please type a notice's number, or 0 for the menu."))
        return
    view = await notices.get(ctx.session, ctx.actor, ids[picked - 1])
    # PDFs as links in the text, photos sent by URL (Zalo has no way to send a file).
    files, photos = file_lines([attachment(f) for f in view.attachments], ctx.links)
    ctx.say(notice_text(view) + ("\n\n" + files if files else ""))
    for url in photos:
        ctx.photo(url)
    if view.is_current():
        # A leader reading another group's notice: nothing to record.
        with contextlib.suppress(DomainError):
            await notices.mark_read(ctx.session, ctx.actor, view.notice.id)  # type: ignore[arg-type]
    ctx.say(_("Type another number to read more, or 0 for the menu."))
