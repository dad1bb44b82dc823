"""Fixtures: a running emulator, its control client, and a real aiogram bot polling it."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator, Callable

import pytest
from aiogram import Bot, Dispatcher, F, Router, html
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.emulator import BotSpec, EmulatorClient, EmulatorLimits, RunningEmulator, run_emulator
from bot.emulator.media import image_size

TOKEN = "7000000001:AAE-wardbot-emulator-test-token"
BOT_ID = 7000000001
BOT_USERNAME = "phuong_test_bot"


class _QuickCloseSession(AiohttpSession):
    """aiogram waits 250 ms on close for TLS shutdown; plain local HTTP needs no wait."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def make_bot(base_url: str, token: str = TOKEN) -> Bot:
    """A real aiogram Bot talking to the emulator instead of api.telegram.org."""
    session = _QuickCloseSession(api=TelegramAPIServer.from_base(base_url))
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode="HTML"))


def build_router() -> Router:
    """A small ward bot: greets with keyboards, answers buttons, handles shared data."""
    router = Router()
    menu = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="Tin tức", callback_data="news"),
                InlineKeyboardButton(text="Hỏi đáp", callback_data="faq"),
            ]
        ]
    )

    @router.message(CommandStart(deep_link=True))
    async def start_with_payload(message: Message, command: CommandObject) -> None:
        await message.answer(f"Mã giới thiệu: <code>{html.quote(command.args or '')}</code>")

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        assert message.from_user is not None
        keyboard = ReplyKeyboardMarkup(
            keyboard=[
                [KeyboardButton(text="📞 Chia sẻ số điện thoại", request_contact=True)],
                [KeyboardButton(text="Góp ý")],
            ],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
        name = html.quote(message.from_user.first_name)
        greeting = f"Chào <b>{name}</b>! Mời chia sẻ số điện thoại."
        await message.answer(greeting, reply_markup=keyboard)
        await message.answer("Chọn một mục:", reply_markup=menu)

    @router.callback_query(F.data == "news")
    async def news(query: CallbackQuery) -> None:
        await query.answer("Đang mở tin tức")
        assert isinstance(query.message, Message)
        await query.message.edit_text("Tin tức: họp tổ dân phố lúc 19:00")

    @router.callback_query()
    async def unknown_button(query: CallbackQuery) -> None:
        await query.answer(f"Không hiểu yêu cầu {query.data}", show_alert=True)

    @router.message(F.contact)
    async def contact(message: Message) -> None:
        assert message.contact is not None and message.from_user is not None
        own = message.contact.user_id == message.from_user.id
        verdict = "của bạn" if own else "KHÔNG phải của bạn"
        await message.answer(
            f"Đã nhận số {message.contact.phone_number} ({verdict})",
            reply_markup=ReplyKeyboardRemove(),
        )

    @router.message(F.location)
    async def location(message: Message) -> None:
        assert message.location is not None
        lat, lon = message.location.latitude, message.location.longitude
        await message.answer(f"Vị trí: {lat:.4f}, {lon:.4f}")

    @router.message(F.photo)
    async def photo(message: Message, bot: Bot) -> None:
        assert message.photo
        largest = message.photo[-1]
        file = await bot.get_file(largest.file_id)
        assert file.file_path is not None
        buffer = io.BytesIO()
        await bot.download_file(file.file_path, buffer)
        width, height = image_size(buffer.getvalue())
        await message.answer(f"Ảnh {width}x{height}, {len(buffer.getvalue())} byte")

    @router.message(F.document)
    async def document(message: Message, bot: Bot) -> None:
        assert message.document is not None
        content = await bot.download(message.document.file_id)
        assert content is not None
        await message.answer(
            f"Tệp {html.quote(message.document.file_name or '?')} "
            f"({message.document.mime_type}): {len(content.read())} byte"
        )

    @router.message(F.text)
    async def echo(message: Message) -> None:
        assert message.text is not None
        await message.answer(f"Bạn viết: {html.quote(message.text)}")

    return router


async def eventually(check: Callable[[], object], what: str, within: float = 30) -> None:
    """Until ``check()`` holds: the positive marker a test waits for instead of a sleep,
    with room for a busy machine."""
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def until_polling(emulator: RunningEmulator, task: asyncio.Task[None]) -> None:
    """Until the dispatcher's first getUpdates reached the emulator (or polling ended)."""
    connected = asyncio.create_task(emulator.emulator.bot(BOT_ID).connected.wait())
    await asyncio.wait({connected, task}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    connected.cancel()
    assert emulator.emulator.bot(BOT_ID).connected.is_set() or task.done(), "no getUpdates"


@pytest.fixture
async def emulator() -> AsyncIterator[RunningEmulator]:
    spec = BotSpec(TOKEN, username=BOT_USERNAME, first_name="Phường Bot")
    async with run_emulator(bots=[spec], limits=EmulatorLimits.unlimited()) as running:
        yield running


@pytest.fixture
async def client(emulator: RunningEmulator) -> AsyncIterator[EmulatorClient]:
    async with emulator.client() as control:
        yield control


@pytest.fixture
async def bot(emulator: RunningEmulator) -> AsyncIterator[Bot]:
    instance = make_bot(emulator.base_url)
    yield instance
    await instance.session.close()


@pytest.fixture
async def polling_bot(emulator: RunningEmulator, bot: Bot) -> AsyncIterator[Bot]:
    """The sample bot running under a real Dispatcher with long polling."""
    dispatcher = Dispatcher()
    dispatcher.include_router(build_router())
    task = asyncio.create_task(
        dispatcher.start_polling(
            bot, handle_signals=False, close_bot_session=False, polling_timeout=1
        )
    )
    await until_polling(emulator, task)
    yield bot
    if not task.done():
        await dispatcher.stop_polling()
    await task
