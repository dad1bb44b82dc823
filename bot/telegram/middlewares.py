"""Per-update context: a database session, the actor behind the update, their language.

Order matters and is set in ``bot.telegram.factory``: the session opens first, then the
actor is loaded from it, then the locale is taken from the actor.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import TelegramObject, Update, User
from aiogram.utils.i18n import I18nMiddleware
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import normalise_language
from bot.services.people import Actor, fill_name, load_actor, profile_name
from bot.telegram.context import current_session

log = logging.getLogger(__name__)
CHANNEL = "telegram"


class DbSessionMiddleware(BaseMiddleware):
    """One session per update; committed when the handler succeeds."""

    def __init__(self, factory: async_sessionmaker[AsyncSession]) -> None:
        self.factory = factory

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        async with self.factory() as session:
            token = current_session.set(session)
            data["session"] = session
            try:
                result = await handler(event, data)
                await session.commit()
                return result
            except BaseException:
                await session.rollback()
                raise
            finally:
                current_session.reset(token)


def event_user(event: TelegramObject) -> User | None:
    if isinstance(event, Update):
        inner = event.event
        return getattr(inner, "from_user", None)
    return getattr(event, "from_user", None)


class ActorMiddleware(BaseMiddleware):
    """Loads who the sender is in the ward, fresh for every update."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user = data.get("event_from_user")
        session: AsyncSession = data["session"]
        if user is None or user.is_bot:
            data["actor"] = Actor(person=None)
        else:
            actor = await load_actor(session, CHANNEL, str(user.id))
            if actor.grants and actor.person is not None and not actor.person.full_name:
                # Someone given a role before names were taken from Telegram at invitation.
                await fill_name(session, actor, profile_name(user.first_name, user.last_name))
            data["actor"] = actor
        return await handler(event, data)


class LocaleMiddleware(I18nMiddleware):
    """The person's stored language; during registration, the one they just chose."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        actor: Actor | None = data.get("actor")
        if actor is not None and actor.language:
            return actor.language
        state = data.get("state")
        if state is not None:
            chosen = (await state.get_data()).get("language")
            if chosen:
                return normalise_language(chosen)
        user = data.get("event_from_user")
        return normalise_language(user.language_code if user else None)


class CommitBeforeSpeaking(BaseRequestMiddleware):
    """Commit the update's transaction before any call to Telegram.

    The person is never told "saved" before it is, and on SQLite the write lock is not
    held while waiting for the network.
    """

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        session = current_session.get()
        if session is not None and session.in_transaction():
            await session.commit()
        return await make_request(bot, method)


class RetryAfterFloodControl(BaseRequestMiddleware):
    """A direct reply that hits flood control waits as Telegram asks and tries again.

    Only inside an update: the person is waiting for this answer. The sender handles 429
    itself (it reschedules the row instead of holding a worker), so it is left alone.
    """

    def __init__(self, patience: float = 25.0) -> None:
        # Seconds of waiting a reply may accumulate before the update gives up on it; kept
        # under the time a webhook caller waits for its answer (the emulator's 30 s), or
        # the update would be delivered again and handled twice.
        self.patience = patience

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        waited = 0.0
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if current_session.get() is None or waited + exc.retry_after > self.patience:
                    raise
                # Every reply refused in a burst is told the same wait; retrying all at
                # that instant would only be refused again, so they spread out.
                delay = exc.retry_after * (1 + random.random())
                waited += delay
                await asyncio.sleep(delay)
