"""wardbot demo."""

from __future__ import annotations

import asyncio
import signal

import typer

from bot.cli.app import app, console, run_async
from bot.logs import configure


@app.command()
def demo(
    port: int = typer.Option(8080, "--port", help="Port of the web chat and the emulator."),
    households: int = typer.Option(30, "--households", min=1, max=2000, help="Per group."),
) -> None:
    """Try wardbot in a browser: sample ward, emulated Telegram, web chat; no token needed."""
    from bot.demo import run_demo

    configure("WARNING", json=False)

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_demo(
            port=port,
            households_per_group=households,
            stop=stop,
            ready=lambda text: console.print(text, highlight=False),
        )
        console.print("Demo stopped; its data is deleted.")

    run_async(go)
