"""wardbot run / migrate."""

from __future__ import annotations

import asyncio
import signal

import typer

from bot.cli.app import app, console, run_async, settings
from bot.db import migrate as apply_migrations
from bot.logs import configure


@app.command()
def run() -> None:
    """Start the bot with long polling (applies migrations first)."""
    cfg = settings()
    configure(cfg.log_level)
    run_async(_run(cfg))


async def _run(cfg) -> None:  # type: ignore[no-untyped-def]
    from bot.app import run_polling

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run_polling(cfg, stop=stop)


@app.command()
def migrate(
    revision: str = typer.Option("head", help="Alembic revision to upgrade to."),
) -> None:
    """Apply the database migrations (Alembic)."""
    cfg = settings()
    configure(cfg.log_level)
    run_async(apply_migrations(cfg.database_url, revision))
    console.print(f"Database is at revision {revision}.")
