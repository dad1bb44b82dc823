"""Sends rendered outbox messages with aiogram and reports what Telegram answered."""

from __future__ import annotations

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.types import BufferedInputFile

from bot.delivery.render import Outgoing
from bot.delivery.sender import SendResult

CAPTION_MAX = 1024


class TelegramTransport:
    channel = "telegram"

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: str, message: Outgoing) -> SendResult:
        try:
            sent = await self._send(int(chat_id), message)
        except TelegramRetryAfter as exc:
            return SendResult(ok=False, retry_after=float(exc.retry_after), error=exc.message)
        except TelegramForbiddenError as exc:
            return SendResult(ok=False, blocked=True, error=exc.message)
        except TelegramBadRequest as exc:
            return SendResult(ok=False, permanent=True, error=exc.message)
        except TelegramNetworkError as exc:
            return SendResult(ok=False, error=f"network: {exc.message}")
        return SendResult(ok=True, message_id=str(sent))

    async def _send(self, chat_id: int, message: Outgoing) -> int:
        if not message.attachments:
            sent = await self.bot.send_message(chat_id, message.text, reply_markup=message.markup)
            return sent.message_id
        # Text first (it can be long, and carries the buttons), then each file.
        first = await self.bot.send_message(chat_id, message.text, reply_markup=message.markup)
        for attachment in message.attachments:
            file = BufferedInputFile(attachment.data or b"", filename=attachment.filename)
            if attachment.kind == "photo":
                await self.bot.send_photo(chat_id, file)
            else:
                await self.bot.send_document(chat_id, file)
        return first.message_id
