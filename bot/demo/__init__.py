"""`wardbot demo`: the whole product on one machine, with no token and no internet.

A throwaway SQLite database with the sample ward and sample data, the Telegram Bot API
emulator (with its web chat) on 127.0.0.1, and the real bot polling it. Ctrl-C stops
everything and deletes the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import secrets
import shutil
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path

from bot.config import PROJECT_ROOT, ConfigError, Settings
from bot.db import create_engine, migrate, session_factory
from bot.emulator import BotSpec, start_emulator
from bot.services.wards import get_ward_by_code, load_ward_file

log = logging.getLogger(__name__)
DEMO_USERNAME = "phuong_badinh_demo_bot"
WARD_FILE = PROJECT_ROOT / "examples" / "ward.yaml"


# The demo's Zalo bot: the emulator accepts any "<digits>:<secret>" token.
ZALO_DEMO_TOKEN = "4000000001:demo-zalo-token"
ZALO_PEOPLE = ("Trần Thị Mai", "Ngô Văn Phúc")


def make_token(bot_id: int = 7000000001) -> str:
    """A token shaped like Telegram's; the emulator accepts whatever it was given."""
    return f"{bot_id}:AA{secrets.token_urlsafe(33)[:33]}"


def check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"Port {port} is already in use (another demo?). "
                    f"Stop it, or run `wardbot demo --port {port + 10}`."
                ) from None
            raise


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


async def _until_connected(bot: asyncio.Task[None], *events: asyncio.Event) -> bool:
    """Wait for each event in turn; False if the bot stopped first (Ctrl-C, or an error
    that ``await bot`` then raises)."""
    for event in events:
        waiter = asyncio.create_task(event.wait())
        await asyncio.wait({bot, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if bot.done():
            return False
    return True


async def run_demo(
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    households_per_group: int = 30,
    stop: asyncio.Event | None = None,
    ready: Callable[[str], None] = print,
) -> None:
    from bot.app import run_polling
    from bot.demo.seed import seed

    stop = stop or asyncio.Event()
    check_port(host, port)
    workdir = Path(tempfile.mkdtemp(prefix="wardbot-demo-"))
    emulator = None
    try:
        url = f"sqlite+aiosqlite:///{workdir / 'demo.db'}"
        await migrate(url)
        token = make_token()
        emulator = await start_emulator(
            bots=[BotSpec(token, username=DEMO_USERNAME, first_name="Phường Ba Đình")],
            host=host,
            port=port,
        )
        files_port = free_port(host)
        engine = create_engine(url)
        try:
            async with session_factory(engine)() as session, emulator.client() as people:
                await load_ward_file(session, WARD_FILE, actor="demo")
                ward = await get_ward_by_code(session, "BADINH")
                await seed(session, ward, people, int(token.split(":")[0]), households_per_group)
                await session.commit()
            # Newcomers on Zalo, for the web chat's Zalo persona.
            zalo = emulator.emulator.zalo  # type: ignore[attr-defined]
            # The bot exists on Zalo's side before wardbot connects, as on the real
            # platform: what users write meanwhile waits for the first getUpdates.
            zalo.bot(ZALO_DEMO_TOKEN)
            for name in ZALO_PEOPLE:
                zalo.create_user(name)
        finally:
            await engine.dispose()
        settings = Settings(
            telegram_token=token,
            telegram_api_url=emulator.base_url,
            database_url=url,
            bot_username=DEMO_USERNAME,
            delivery_poll_interval=0.3,
            zalo_token=ZALO_DEMO_TOKEN,
            zalo_api_url=f"{emulator.base_url}/zalo",
            # Files for Zalo users as signed links, served beside the emulator.
            public_url=f"http://{host}:{files_port}",
            webhook_host=host,
            webhook_port=files_port,
        )
        connected = asyncio.Event()
        bot = asyncio.create_task(run_polling(settings, stop=stop, ready=connected.set))
        # Ready once the bot says every channel is up (the Zalo emulator created the Zalo
        # bot when it answered its getMe) and the emulator has seen Telegram polling:
        # a visitor who types at once is answered, on either channel.
        polled = emulator.emulator.bot(int(token.split(":")[0])).connected
        if await _until_connected(bot, connected, polled):
            ready(
                f"wardbot demo is ready: open {emulator.base_url} in a browser "
                "(Ctrl-C stops it and deletes the demo data)."
            )
        await bot
    finally:
        if emulator is not None:
            with contextlib.suppress(Exception):
                await emulator.stop()
        shutil.rmtree(workdir, ignore_errors=True)
