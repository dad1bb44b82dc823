"""Builds the aiogram Bot and Dispatcher wardbot runs with."""

from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.types import LinkPreviewOptions
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.i18n import get_i18n
from bot.telegram.errors import ErrorAnswerMiddleware
from bot.telegram.middlewares import (
    ActorMiddleware,
    CommitBeforeSpeaking,
    DbSessionMiddleware,
    LocaleMiddleware,
    RetryAfterFloodControl,
)
from bot.telegram.storage import SQLStorage


def create_bot(settings: Settings) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    session.middleware(CommitBeforeSpeaking())
    session.middleware(RetryAfterFloodControl())
    return Bot(
        token=settings.require_token(),
        session=session,
        default=DefaultBotProperties(
            parse_mode=ParseMode.HTML, link_preview=LinkPreviewOptions(is_disabled=True)
        ),
    )


REDIS_CONNECTIONS = 64


def fsm_backends(
    settings: Settings, factory: async_sessionmaker[AsyncSession]
) -> tuple[BaseStorage, BaseEventIsolation]:
    """Redis when configured (any worker continues any conversation), else the database."""
    if settings.redis_url:
        from aiogram.fsm.storage.redis import (
            DefaultKeyBuilder,
            RedisEventIsolation,
            RedisStorage,
        )
        from redis.asyncio import BlockingConnectionPool, Redis

        # A burst of updates must wait for a free connection, not fail: the default pool
        # raises "Too many connections" past 100 and the update would be lost.
        pool = BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=REDIS_CONNECTIONS, timeout=30
        )
        storage = RedisStorage(
            Redis(connection_pool=pool), key_builder=DefaultKeyBuilder(with_destiny=True)
        )
        return storage, RedisEventIsolation(redis=storage.redis)
    return SQLStorage(factory), SimpleEventIsolation()


def create_dispatcher(settings: Settings, factory: async_sessionmaker[AsyncSession]) -> Dispatcher:
    from handlers import build_router

    storage, isolation = fsm_backends(settings, factory)
    dp = Dispatcher(storage=storage, events_isolation=isolation)
    # Ballot presses bypass the per-update work below and go to one batching writer.
    from handlers.votes import install_ballot_box

    install_ballot_box(dp, factory)
    dp.update.outer_middleware(DbSessionMiddleware(factory))
    dp.update.outer_middleware(ActorMiddleware())
    LocaleMiddleware(get_i18n()).setup(dp)
    for observer in (dp.message, dp.callback_query, dp.my_chat_member):
        observer.outer_middleware(ErrorAnswerMiddleware())
    dp.include_router(build_router())
    return dp
