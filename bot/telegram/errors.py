"""Turns a refused action into a clear answer, after undoing whatever it began.

Runs inside the locale middleware, so the answer is in the person's language, and
rolls back before answering, because answering commits (see CommitBeforeSpeaking).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.i18n import _
from bot.services.errors import DomainError

log = logging.getLogger(__name__)


class ErrorAnswerMiddleware(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        try:
            return await handler(event, data)
        except DomainError as exc:
            await _rollback(data)
            await _answer(event, exc.render())
        except TelegramBadRequest as exc:
            if "message is not modified" in exc.message:
                await _answer_quietly(event)
                return None
            log.exception("Telegram refused a call while handling an update")
            await _rollback(data)
            await _answer(
                event, _("Sorry, something went wrong. Nothing was saved; please try again.")
            )
        except Exception:
            log.exception("unexpected error while handling an update")
            await _rollback(data)
            await _answer(
                event, _("Sorry, something went wrong. Nothing was saved; please try again.")
            )
        return None


async def _rollback(data: dict[str, Any]) -> None:
    session = data.get("session")
    if session is not None:
        await session.rollback()


async def _answer(event: TelegramObject, text: str) -> None:
    try:
        if isinstance(event, CallbackQuery):
            await event.answer(text[:200], show_alert=True)
        elif isinstance(event, Message):
            await event.answer(text)
    except Exception:
        log.exception("could not tell the person about an error")


async def _answer_quietly(event: TelegramObject) -> None:
    if isinstance(event, CallbackQuery):
        try:
            await event.answer()
        except Exception:
            log.debug("callback already answered", exc_info=True)
