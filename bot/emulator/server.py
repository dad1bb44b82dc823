"""Assembling the emulator's aiohttp application and running it."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from bot.emulator import static
from bot.emulator.botapi import BotApi
from bot.emulator.client import EmulatorClient
from bot.emulator.control import ControlApi
from bot.emulator.limits import EmulatorLimits
from bot.emulator.state import Emulator
from bot.emulator.webhook import WebhookDispatcher
from bot.emulator.zalo import ZaloEmulator, add_zalo

# Uploads are checked against EmulatorLimits; this only stops aiohttp refusing them first.
_MAX_REQUEST_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class BotSpec:
    """A bot to register at start-up."""

    token: str
    username: str | None = None
    first_name: str | None = None
    can_read_all_group_messages: bool = False


def build_app(emu: Emulator) -> web.Application:
    """The aiohttp application serving both the Bot API and the control API for ``emu``."""
    webhooks = WebhookDispatcher(emu)
    bot_api = BotApi(emu, webhooks)
    webhooks.api = bot_api
    control = ControlApi(emu)
    app = web.Application(client_max_size=_MAX_REQUEST_BYTES)
    app.router.add_route("*", "/bot{token}/{method}", bot_api.handle)
    app.router.add_get("/file/bot{token}/{path:.+}", bot_api.handle_file)
    app.router.add_routes(control.routes())
    app.router.add_get("/_control/info", _info)
    app.router.add_routes(static.routes())
    # The Zalo Bot Platform beside Telegram: /zalo/bot<token>/..., /_control/zalo/...
    zalo = getattr(emu, "zalo", None) or ZaloEmulator()
    emu.zalo = zalo  # type: ignore[attr-defined]
    add_zalo(app, zalo)

    async def on_shutdown(app: web.Application) -> None:
        # Long polls would otherwise hold the shutdown for their whole timeout.
        emu.wake_all()
        await webhooks.close()

    app.on_shutdown.append(on_shutdown)
    return app


async def _info(request: web.Request) -> web.Response:
    return web.json_response(
        {
            "service": "wardbot Telegram Bot API emulator",
            "bot_api": "/bot<token>/<method>",
            "files": "/file/bot<token>/<file_path>",
            "control": "/_control/health",
            "webchat": "/",
        }
    )


class RunningEmulator:
    """A started emulator: where it listens and the state behind it."""

    def __init__(self, emu: Emulator, runner: web.AppRunner, host: str, port: int) -> None:
        self.emulator = emu
        self.runner = runner
        self.host = host
        self.port = port

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def client(self, timeout: float = 30.0) -> EmulatorClient:
        """A control API client bound to this emulator (close it, or use ``async with``)."""
        return EmulatorClient(self.base_url, timeout=timeout)

    async def stop(self) -> None:
        await self.runner.cleanup()


def _bot_specs(bots: Iterable[str | BotSpec]) -> list[BotSpec]:
    return [BotSpec(token=bot) if isinstance(bot, str) else bot for bot in bots]


async def start_emulator(
    bots: Iterable[str | BotSpec] = (),
    limits: EmulatorLimits | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> RunningEmulator:
    """Start listening on ``host:port`` (port 0 picks a free one); call ``stop()`` after."""
    emu = Emulator(limits=limits)
    for spec in _bot_specs(bots):
        emu.add_bot(
            spec.token,
            username=spec.username,
            first_name=spec.first_name,
            can_read_all_group_messages=spec.can_read_all_group_messages,
        )
    runner = web.AppRunner(build_app(emu), access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.setblocking(False)
        site = web.SockSite(runner, sock)
        await site.start()
    except BaseException:
        sock.close()
        await runner.cleanup()
        raise
    return RunningEmulator(emu, runner, host, sock.getsockname()[1])


@asynccontextmanager
async def run_emulator(
    bots: Iterable[str | BotSpec] = (),
    limits: EmulatorLimits | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> AsyncIterator[RunningEmulator]:
    """``async with run_emulator(bots=["123:ABC"]) as emu:`` ... ``emu.base_url``; stops after."""
    running = await start_emulator(bots=bots, limits=limits, host=host, port=port)
    try:
        yield running
    finally:
        await running.stop()
