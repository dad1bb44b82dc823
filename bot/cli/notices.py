"""wardbot notice publish / list / stats / withdraw: the ward office's notices from a shell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from bot.cli.app import app, console, fail, run_async, settings
from bot.db import create_engine, migrate, session_factory, transaction
from bot.i18n import format_date, format_datetime
from bot.services import files, notices, wards

notice_app = typer.Typer(
    help="Disclosure notices: publish, list, delivery statistics, withdraw.",
    no_args_is_help=True,
)
app.add_typer(notice_app, name="notice")


async def _in_transaction(work: Any) -> Any:
    cfg = settings()
    await migrate(cfg.database_url)
    engine = create_engine(cfg.database_url)
    try:
        async with transaction(session_factory(engine)) as session:
            return await work(session)
    finally:
        await engine.dispose()


@notice_app.command("publish")
def publish(
    file: Path = typer.Option(
        ..., "--file", "-f", help="Markdown file: the first heading is the title."
    ),
    scope: str = typer.Option(
        ..., "--scope", help="'ward' for the whole ward, or group codes: KP01,KP02."
    ),
    ward: str | None = typer.Option(None, "--ward", help="Ward code (when several wards)."),
    category: str = typer.Option(..., "--category", help="Notice category code (ward file)."),
    attach: list[Path] = typer.Option([], "--attach", help="A PDF or photo; repeat for more."),
    days: int | None = typer.Option(
        None, "--days", help="Posting period in days (default: the ward file's)."
    ),
    urgent: bool = typer.Option(False, "--urgent", help="Send before everything else."),
) -> None:
    """Publish a notice; the running bot delivers it to every resident in scope."""
    if not file.is_file():
        fail(f"{file} does not exist.", code=2)
    for path in attach:
        if not path.is_file():
            fail(f"{path} does not exist.", code=2)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        fail(f"{file} is not UTF-8 text.", code=2)
    codes = [c.strip() for c in scope.split(",") if c.strip()]
    if not codes:
        fail("--scope needs 'ward' or group codes.", code=2)
    whole = codes == ["ward"]

    async def work(session):  # type: ignore[no-untyped-def]
        title, body = notices.parse_markdown(text)
        groups = [] if whole else [await wards.find_group(session, c, ward) for c in codes]
        if ward:
            ward_row = await wards.get_ward_by_code(session, ward)
        elif groups:
            ward_row = await wards.get_ward(session, groups[0].ward_id)
        else:
            every = await wards.list_wards(session)
            if len(every) != 1:
                fail("name the ward with --ward CODE.", code=2)
            ward_row = every[0]
        if any(g.ward_id != ward_row.id for g in groups):
            fail("the groups must all belong to one ward.", code=2)
        limits = wards.ward_settings(ward_row).limits
        attachment_ids = []
        for path in attach:
            stored = await files.save(
                session,
                data=path.read_bytes(),
                filename=path.name,
                max_bytes=limits.attachment_max_mb * 1024 * 1024,
                allowed_types=notices.FILE_TYPES,
            )
            attachment_ids.append(stored.id)
        notice = await notices.publish(
            session,
            None,
            ward_id=ward_row.id,
            group_ids=None if whole else [g.id for g in groups],
            category_code=category,
            title=title,
            body=body,
            attachment_ids=attachment_ids,
            posting_days=days,
            urgent=urgent,
            source="cli",
        )
        return notice, await notices.stats(session, None, notice.id)

    notice, result = run_async(_in_transaction(work))
    total = result.total
    console.print(
        f"Notice {notice.id} published to {total.recipients - total.blocked} residents "
        f"({total.blocked} have blocked the bot), posted until "
        f"{format_date(notice.expires_at, 'en')}. The running bot sends it; follow it with "
        f"`wardbot notice stats {notice.id}`."
    )


@notice_app.command("list")
def list_notices(
    ward: str | None = typer.Option(None, "--ward", help="Only this ward."),
    limit: int = typer.Option(50, "--limit", min=1, max=1000, help="At most this many."),
) -> None:
    """List notices, newest first: current, expired and withdrawn."""

    async def work(session):  # type: ignore[no-untyped-def]
        ward_id = (await wards.get_ward_by_code(session, ward)).id if ward else None
        views = await notices.list_all(session, ward_id, limit=limit)
        return [(v, await notices.stats(session, None, v.id)) for v in views]

    rows = run_async(_in_transaction(work))
    if not rows:
        console.print("No notice has been published yet.")
        return
    table = Table("#", "State", "Published", "Until", "Category", "For", "Title", "Sent", "Read")
    for view, result in rows:
        state = view.state + (" (updated)" if view.notice.updated_at else "")
        scope = ", ".join(g.code for g in view.groups) if view.groups else "ward"
        table.add_row(
            str(view.id),
            state,
            format_date(view.notice.published_at, "en"),
            format_date(view.notice.expires_at, "en"),
            view.category.code,
            scope,
            view.notice.title,
            f"{result.total.sent}/{result.total.recipients}",
            str(result.total.read),
        )
    console.print(table)


@notice_app.command("stats")
def stats(notice_id: int = typer.Argument(..., help="The notice's number.")) -> None:
    """Delivery and reading of one notice, per group."""

    async def work(session):  # type: ignore[no-untyped-def]
        return await notices.stats(session, None, notice_id)

    result = run_async(_in_transaction(work))
    notice = result.view.notice
    console.print(
        f"Notice {notice.id}: {notice.title}\n"
        f"State: {result.view.state}, published {format_datetime(notice.published_at, 'en')}"
    )
    table = Table("Group", "Recipients", "Sent", "Pending", "Failed", "Blocked", "Read", "Chat")
    for entry in result.groups:
        t = entry.tally
        table.add_row(
            entry.group.name if entry.group else "other",
            str(t.recipients),
            str(t.sent),
            str(t.pending),
            str(t.failed),
            str(t.blocked),
            str(t.read),
            entry.chat_status or "—",
        )
    t = result.total
    table.add_row(
        "Total",
        str(t.recipients),
        str(t.sent),
        str(t.pending),
        str(t.failed),
        str(t.blocked),
        str(t.read),
        "",
    )
    console.print(table)
    if t.dropped:
        console.print(f"Not sent because the notice was withdrawn or expired: {t.dropped}")
    if t.in_doubt:
        console.print(
            f"{t.in_doubt} messages were in flight when a sender stopped: their recipients "
            "may have received them twice."
        )


@notice_app.command("withdraw")
def withdraw(
    notice_id: int = typer.Argument(..., help="The notice's number."),
    reason: str = typer.Option(..., "--reason", help="Shown to residents."),
) -> None:
    """Withdraw a notice: it stays in the archive, marked withdrawn with the reason."""

    async def work(session):  # type: ignore[no-untyped-def]
        return await notices.withdraw(session, None, notice_id, reason=reason)

    notice = run_async(_in_transaction(work))
    console.print(f"Notice {notice.id} withdrawn.")
