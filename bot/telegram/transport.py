"""Sends rendered outbox messages with aiogram and reports what Telegram answered."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.types import BufferedInputFile, Message
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.render import Attachment, Outgoing, split_html
from bot.delivery.sender import SendResult
from bot.models import StoredFile

# Telegram's limit on a message's text.
TEXT_LIMIT = 4096


@dataclass(frozen=True)
class TextPart:
    text: str
    markup: Any = None


@dataclass(frozen=True)
class FilePart:
    attachment: Attachment


class TelegramTransport:
    channel = "telegram"

    def __init__(self, bot: Bot, factory: async_sessionmaker[AsyncSession]) -> None:
        self.bot = bot
        self.factory = factory
        # Telegram's file_id of each stored file once uploaded: every later recipient
        # gets Telegram's copy instead of another upload.
        self._file_ids: dict[int, str] = {}
        self._upload_locks: dict[int, asyncio.Lock] = {}

    def split(self, message: Outgoing) -> Sequence[TextPart | FilePart]:
        """Text first, in parts that fit (the buttons on the last), then each file."""
        texts = split_html(message.text, TEXT_LIMIT) if message.text else []
        parts: list[TextPart | FilePart] = [TextPart(text) for text in texts]
        if parts and message.markup is not None:
            parts[-1] = TextPart(parts[-1].text, message.markup)  # type: ignore[union-attr]
        parts += [FilePart(attachment) for attachment in message.attachments]
        return parts

    async def send(self, chat_id: str, part: TextPart | FilePart) -> SendResult:
        try:
            if isinstance(part, TextPart):
                sent = await self.bot.send_message(
                    int(chat_id), part.text, reply_markup=part.markup
                )
            else:
                sent = await self._send_file(int(chat_id), part.attachment)
        except TelegramRetryAfter as exc:
            return SendResult(ok=False, retry_after=float(exc.retry_after), error=exc.message)
        except TelegramForbiddenError as exc:
            return SendResult(ok=False, blocked=True, error=exc.message)
        except TelegramMigrateToChat as exc:
            return SendResult(
                ok=False,
                permanent=True,
                error=f"the group became supergroup {exc.migrate_to_chat_id}; link it again",
            )
        except TelegramBadRequest as exc:
            return SendResult(ok=False, permanent=True, error=exc.message)
        except FileNotFoundError as exc:
            return SendResult(ok=False, permanent=True, error=str(exc))
        except TelegramNetworkError as exc:
            # A timeout may come after Telegram got the message: a retry may repeat it.
            uncertain = "timeout" in exc.message.lower()
            return SendResult(ok=False, uncertain=uncertain, error=f"network: {exc.message}")
        return SendResult(ok=True, message_id=str(sent.message_id))

    async def _send_file(self, chat_id: int, attachment: Attachment) -> Message:
        stored_id = attachment.stored_file_id
        if stored_id is None:
            return await self._upload(chat_id, attachment, attachment.data or b"")
        file_id = self._file_ids.get(stored_id)
        if file_id is None:
            # One upload per file, even when a broadcast sends it to many chats at once.
            lock = self._upload_locks.setdefault(stored_id, asyncio.Lock())
            async with lock:
                file_id = self._file_ids.get(stored_id)
                if file_id is None:
                    file_id, data = await self._load(stored_id)
                    if file_id is None:
                        sent = await self._upload(chat_id, attachment, data)
                        await self._remember(stored_id, sent)
                        return sent
                    self._file_ids[stored_id] = file_id
        return await self._post(chat_id, attachment.kind, file_id)

    async def _load(self, stored_id: int) -> tuple[str | None, bytes]:
        """The file's Telegram id if it has one, else its bytes (read only then)."""
        async with self.factory() as session:
            found = (
                await session.exec(
                    select(StoredFile.id, StoredFile.telegram_file_id).where(
                        StoredFile.id == stored_id
                    )
                )
            ).first()
            if found is None:
                raise FileNotFoundError(f"stored file {stored_id} was deleted")
            if found[1] is not None:
                return found[1], b""
            data = (
                await session.exec(select(StoredFile.data).where(StoredFile.id == stored_id))
            ).one()
            return None, data

    async def _upload(self, chat_id: int, attachment: Attachment, data: bytes) -> Message:
        return await self._post(
            chat_id, attachment.kind, BufferedInputFile(data, filename=attachment.filename)
        )

    async def _post(self, chat_id: int, kind: str, media: str | BufferedInputFile) -> Message:
        if kind == "photo":
            return await self.bot.send_photo(chat_id, media)
        return await self.bot.send_document(chat_id, media)

    async def _remember(self, stored_id: int, sent: Message) -> None:
        file_id = (
            sent.photo[-1].file_id
            if sent.photo
            else sent.document.file_id
            if sent.document
            else None
        )
        if file_id is None:
            return
        self._file_ids[stored_id] = file_id
        async with self.factory() as session:
            row = await session.get(StoredFile, stored_id)
            if row is not None and row.telegram_file_id != file_id:
                row.telegram_file_id = file_id
                session.add(row)
                await session.commit()
