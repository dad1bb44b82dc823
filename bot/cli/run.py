"""wardbot run / worker / webhook / migrate."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable

import typer

from bot.cli.app import app, console, fail, run_async, settings
from bot.config import ConfigError, Settings
from bot.db import migrate as apply_migrations
from bot.logs import configure


def _until_signal(
    main: Callable[[Settings, asyncio.Event], Awaitable[None]], cfg: Settings
) -> Callable[[], Awaitable[None]]:
    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await main(cfg, stop)

    return go


def _check_token(cfg: Settings) -> None:
    """A missing or malformed token is told at once, not after aiogram's slow import."""
    try:
        cfg.require_token()
    except ConfigError as exc:
        fail(str(exc), code=2)


@app.command()
def run(
    webhook: bool = typer.Option(
        False, "--webhook", help="Serve Telegram's webhook instead of long polling."
    ),
    with_worker: bool = typer.Option(
        False, "--with-worker", help="With --webhook: also deliver and run deadlines here."
    ),
) -> None:
    """Start the bot: long polling with delivery and deadlines, or a webhook server."""
    cfg = settings()
    _check_token(cfg)
    from bot.app import run_polling, run_webhook

    configure(cfg.log_level)
    if webhook:
        run_async(_until_signal(lambda c, s: run_webhook(c, stop=s, with_worker=with_worker), cfg))
    else:
        run_async(_until_signal(lambda c, s: run_polling(c, stop=s), cfg))


@app.command()
def worker() -> None:
    """Deliver queued messages and run deadlines (votes, reminders, escalations)."""
    cfg = settings()
    _check_token(cfg)
    from bot.app import run_worker

    configure(cfg.log_level)
    run_async(_until_signal(lambda c, s: run_worker(c, stop=s), cfg))


@app.command()
def webhook(
    action: str = typer.Argument(..., help="set | delete | info"),
    drop_pending: bool = typer.Option(False, help="With set/delete: drop queued updates."),
) -> None:
    """Register, remove or show the Telegram webhook (WARDBOT_WEBHOOK_URL); `set` also
    registers Zalo's when WARDBOT_ZALO_WEBHOOK_URL is set."""
    from bot.app import set_webhook
    from bot.telegram.factory import create_bot

    cfg = settings()

    async def go() -> str:
        if action == "set":
            done = f"Webhook set to {await set_webhook(cfg, drop_pending=drop_pending)}"
            if cfg.zalo_token_value() and cfg.zalo_webhook_url:
                from bot.zalo.bot import set_webhook as set_zalo_webhook

                done += f"\nZalo webhook set to {await set_zalo_webhook(cfg)}"
            return done
        bot = create_bot(cfg)
        try:
            if action == "delete":
                await bot.delete_webhook(drop_pending_updates=drop_pending)
                return "Webhook deleted; `wardbot run` can poll again."
            if action == "info":
                info = await bot.get_webhook_info()
                return (
                    f"url: {info.url or '—'}\npending updates: {info.pending_update_count}\n"
                    f"last error: {info.last_error_message or '—'}"
                )
        finally:
            await bot.session.close()
        raise typer.BadParameter("use set, delete or info")

    console.print(run_async(go))


@app.command()
def migrate(
    revision: str = typer.Option("head", help="Alembic revision to upgrade to."),
) -> None:
    """Apply the database migrations (Alembic)."""
    cfg = settings()
    configure(cfg.log_level)
    run_async(apply_migrations(cfg.database_url, revision))
    console.print(f"Database is at revision {revision}.")
