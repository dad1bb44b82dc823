"""Running wardbot: the bot answering updates, and the sender draining the outbox."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.db import create_engine, migrate, session_factory
from bot.delivery.sender import Limits, Sender
from bot.i18n import LANGUAGES, N_, _, get_i18n
from bot.logs import register_secret
from bot.scheduler import Scheduler
from bot.services.file_links import FileLinks
from bot.telegram.factory import create_bot, create_dispatcher
from bot.telegram.transport import TelegramTransport
from bot.web import add_file_routes
from bot.zalo.bot import (
    ZaloChannel,
    create_api,
    create_links,
    create_quota,
    create_transport,
)

log = logging.getLogger(__name__)

COMMANDS = [
    ("start", N_("Register or open the main menu")),
    ("menu", N_("Main menu")),
    ("settings", N_("Language, group, leaving")),
    ("cancel", N_("Stop what you are filling in")),
]


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    factory: async_sessionmaker[AsyncSession]
    bot: Bot
    dp: Dispatcher
    sender: Sender
    # The Zalo channel, when WARDBOT_ZALO_TOKEN is set.
    zalo: ZaloChannel | None = None
    # Signed links to stored files, served by this process's web server (Zalo fetches
    # photos by URL and has no way to send documents); None without a public address.
    links: FileLinks | None = None


@asynccontextmanager
async def runtime(settings: Settings, *, apply_migrations: bool = True) -> AsyncIterator[Runtime]:
    settings.require_token()
    for secret in settings.secrets():
        register_secret(secret)
    get_i18n()
    if apply_migrations:
        await migrate(settings.database_url)
    engine = create_engine(settings.database_url)
    factory = session_factory(engine)
    bot = create_bot(settings)
    dp = create_dispatcher(settings, factory)
    transports: dict[str, Any] = {"telegram": TelegramTransport(bot, factory)}
    zalo_api = create_api(settings)
    zalo = None
    links = create_links(settings)
    if zalo_api is not None:
        quota = create_quota(settings, factory)
        transports["zalo"] = create_transport(settings, zalo_api, links=links, quota=quota)
        zalo = ZaloChannel(zalo_api, factory, telegram_bot=bot, links=links, quota=quota)
        if links is None:
            log.warning(
                "Zalo residents will get files' names only: set WARDBOT_PUBLIC_URL (or "
                "WARDBOT_ZALO_WEBHOOK_URL) so that photos and PDFs reach them as links"
            )
    sender = Sender(
        factory,
        transports,
        Limits.from_settings(settings),
        poll_interval=settings.delivery_poll_interval,
    )
    try:
        yield Runtime(settings, engine, factory, bot, dp, sender, zalo, links)
    finally:
        if zalo_api is not None:
            await zalo_api.close()
        await bot.session.close()
        await dp.storage.close()
        await engine.dispose()


async def set_commands(bot: Bot) -> None:
    for language in LANGUAGES:
        commands = [
            BotCommand(command=name, description=_(text, locale=language))
            for name, text in COMMANDS
        ]
        await bot.set_my_commands(
            commands,
            scope=BotCommandScopeAllPrivateChats(),
            language_code=None if language == "vi" else language,
        )


async def _serve_files(rt: Runtime) -> Any:
    """In polling mode, a small web server for the signed file links (and /healthz),
    when WARDBOT_PUBLIC_URL says where the world reaches it."""
    from aiohttp import web

    if rt.links is None:
        return None
    app = web.Application()
    add_file_routes(app, rt.factory, rt.links)
    app.router.add_get("/healthz", _healthz(rt))
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, rt.settings.webhook_host, rt.settings.webhook_port).start()
    log.info(
        "file links served on %s:%s for %s",
        rt.settings.webhook_host,
        rt.settings.webhook_port,
        rt.links.base_url,
    )
    return runner


def _healthz(rt: Runtime) -> Any:
    from aiohttp import web

    async def healthz(_request: web.Request) -> web.Response:
        healthy, report = await health(rt)
        return web.json_response(report, status=200 if healthy else 503)

    return healthz


async def run_polling(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    ready: Callable[[], None] | None = None,
) -> None:
    """Long polling plus the sender in one process: the single-ward setup.

    "wardbot is running" is logged, and ``ready`` called, once every channel is connected
    (Telegram polling, Zalo known to the bot): what people write from then on is answered.
    """
    stop = stop or asyncio.Event()
    async with runtime(settings) as rt:
        me = await rt.bot.get_me()
        await set_commands(rt.bot)
        files = await _serve_files(rt)
        polling_started = asyncio.Event()

        async def on_startup() -> None:
            polling_started.set()

        rt.dp.startup.register(on_startup)
        sender_task = asyncio.create_task(rt.sender.run(stop), name="sender")
        scheduler_task = asyncio.create_task(Scheduler(rt.factory).run(stop), name="scheduler")
        polling = asyncio.create_task(
            rt.dp.start_polling(
                rt.bot,
                handle_signals=False,
                close_bot_session=False,
                allowed_updates=["message", "callback_query", "my_chat_member"],
            ),
            name="polling",
        )
        stopper = asyncio.create_task(stop.wait())
        tasks = {polling, sender_task, scheduler_task, stopper}
        channels = {"Telegram": polling_started}
        if rt.zalo is not None:
            tasks.add(asyncio.create_task(rt.zalo.run_polling(stop), name="zalo"))
            channels["Zalo"] = rt.zalo.connected

        async def announce() -> None:
            await asyncio.gather(*(event.wait() for event in channels.values()))
            log.info("wardbot is running as @%s on %s", me.username, ", ".join(channels))
            if ready is not None:
                ready()

        announcer = asyncio.create_task(announce(), name="announce")
        try:
            done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopper and task.exception():
                    raise task.exception()  # type: ignore[misc]
        finally:
            announcer.cancel()
            stop.set()
            with contextlib.suppress(RuntimeError):  # "Polling is not started"
                await rt.dp.stop_polling()
            await asyncio.gather(*(tasks - {stopper}), return_exceptions=True)
            stopper.cancel()
            if files is not None:
                await files.cleanup()


async def run_worker(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """The sender and the scheduler, without answering updates (production)."""
    stop = stop or asyncio.Event()
    async with runtime(settings) as rt:
        log.info("wardbot worker is running: delivery and deadlines")
        await asyncio.gather(rt.sender.run(stop), Scheduler(rt.factory).run(stop))


async def health(rt: Runtime) -> tuple[bool, dict[str, str]]:
    report: dict[str, str] = {}
    healthy = True
    try:
        async with rt.factory() as session:
            await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        report["database"] = "ok"
    except Exception as exc:
        healthy = False
        report["database"] = f"error: {type(exc).__name__}"
    if rt.settings.redis_url:
        try:
            from redis.asyncio import Redis

            client = Redis.from_url(rt.settings.redis_url)
            try:
                await client.ping()
            finally:
                await client.aclose()
            report["redis"] = "ok"
        except Exception as exc:
            healthy = False
            report["redis"] = f"error: {type(exc).__name__}"
    else:
        report["redis"] = "not configured"
    return healthy, report


async def run_webhook(
    settings: Settings, *, stop: asyncio.Event | None = None, with_worker: bool = False
) -> None:
    """Serve Telegram's webhook (and /healthz); several of these may run behind a balancer."""
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
    from aiohttp import web

    secret = settings.require_webhook_secret()
    stop = stop or asyncio.Event()
    async with runtime(settings) as rt:
        app = web.Application()
        # Answered once handled, not at once: Telegram then never has more updates in
        # flight than the webhook's max_connections (back-pressure instead of unbounded
        # tasks), and an update whose worker dies mid-way is delivered again.
        SimpleRequestHandler(
            rt.dp, rt.bot, secret_token=secret, handle_in_background=False
        ).register(app, path=settings.webhook_path)
        setup_application(app, rt.dp, bot=rt.bot)

        app.router.add_get("/healthz", _healthz(rt))
        if rt.links is not None:
            add_file_routes(app, rt.factory, rt.links)
        tasks = []
        zalo_polling = None
        if rt.zalo is not None:
            if settings.zalo_webhook_url:
                rt.zalo.mount(
                    app, settings.zalo_webhook_path, settings.require_zalo_webhook_secret()
                )
            else:
                zalo_polling = asyncio.create_task(rt.zalo.run_polling(stop))
                tasks.append(zalo_polling)
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, settings.webhook_host, settings.webhook_port)
        await site.start()
        try:
            if rt.zalo is not None and zalo_polling is not None:
                # Polling Zalo beside the webhook: "listening" once Zalo knows the bot too.
                connected = asyncio.create_task(rt.zalo.connected.wait())
                await asyncio.wait({connected, zalo_polling}, return_when=asyncio.FIRST_COMPLETED)
                connected.cancel()
                if zalo_polling.done():
                    zalo_polling.result()  # what stopped it, before we say we are up
            log.info(
                "webhook listening on %s:%s%s",
                settings.webhook_host,
                settings.webhook_port,
                settings.webhook_path,
            )
            if with_worker:
                tasks += [
                    asyncio.create_task(rt.sender.run(stop)),
                    asyncio.create_task(Scheduler(rt.factory).run(stop)),
                ]
            await stop.wait()
        finally:
            stop.set()
            await runner.cleanup()
            await asyncio.gather(*tasks, return_exceptions=True)


async def set_webhook(settings: Settings, *, drop_pending: bool = False) -> str:
    if not settings.webhook_url:
        from bot.config import ConfigError

        raise ConfigError("WARDBOT_WEBHOOK_URL is not set: give the public HTTPS address.")
    url = settings.webhook_url.rstrip("/") + settings.webhook_path
    bot = create_bot(settings)
    try:
        await bot.set_webhook(
            url,
            secret_token=settings.require_webhook_secret(),
            drop_pending_updates=drop_pending,
            allowed_updates=["message", "callback_query", "my_chat_member"],
        )
        await set_commands(bot)
    finally:
        await bot.session.close()
    return url
