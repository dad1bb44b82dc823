"""Sends rendered outbox messages with aiogram and reports what Telegram answered."""

from __future__ import annotations

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.types import BufferedInputFile, Message
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.render import Attachment, Outgoing
from bot.delivery.sender import SendResult
from bot.models import StoredFile


class TelegramTransport:
    channel = "telegram"

    def __init__(self, bot: Bot, factory: async_sessionmaker[AsyncSession]) -> None:
        self.bot = bot
        self.factory = factory

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
        # Text first (it may be long and carries the buttons), then each file.
        first = await self.bot.send_message(chat_id, message.text, reply_markup=message.markup)
        for attachment in message.attachments:
            await self._send_file(chat_id, attachment)
        return first.message_id

    async def _send_file(self, chat_id: int, attachment: Attachment) -> None:
        stored = None
        if attachment.stored_file_id is not None:
            async with self.factory() as session:
                stored = await session.get(StoredFile, attachment.stored_file_id)
        if stored is not None and stored.telegram_file_id:
            media: str | BufferedInputFile = stored.telegram_file_id
        else:
            data = stored.data if stored is not None else attachment.data or b""
            media = BufferedInputFile(data, filename=attachment.filename)
        if attachment.kind == "photo":
            sent: Message = await self.bot.send_photo(chat_id, media)
            file_id = sent.photo[-1].file_id if sent.photo else None
        else:
            sent = await self.bot.send_document(chat_id, media)
            file_id = sent.document.file_id if sent.document else None
        if stored is not None and not stored.telegram_file_id and file_id:
            # Upload once; every later recipient gets Telegram's copy.
            async with self.factory() as session:
                row = await session.get(StoredFile, stored.id)
                if row is not None:
                    row.telegram_file_id = file_id
                    session.add(row)
                    await session.commit()
