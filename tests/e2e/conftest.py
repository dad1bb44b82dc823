"""End-to-end fixtures: one emulator and one real bot process for the whole session.

Tests stay independent by creating their own simulated people (fresh Telegram ids);
the ward (examples/ward.yaml) is shared. A test that must restart or kill the bot starts
its own with ``bot_factory``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.emulator import BotSpec, EmulatorClient, EmulatorLimits
from tests.e2e.harness import BotProcess, EmulatorThread, make_token, prepare_database

BOT_USERNAME = "phuong_badinh_bot"


@dataclass
class Stack:
    emulator: EmulatorThread
    bot: BotProcess
    token: str
    database_url: str
    workdir: Path

    @property
    def bot_id(self) -> int:
        return int(self.token.split(":")[0])

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "WARDBOT_TELEGRAM_TOKEN": self.token,
            "WARDBOT_TELEGRAM_API_URL": self.emulator.base_url,
            "WARDBOT_DATABASE_URL": self.database_url,
            "WARDBOT_BOT_USERNAME": BOT_USERNAME,
            "WARDBOT_LOG_LEVEL": "INFO",
            "WARDBOT_DELIVERY_POLL_INTERVAL": "0.2",
            **extra,
        }


def start_stack(workdir: Path, limits: EmulatorLimits | None = None) -> Stack:
    token = make_token()
    emulator = EmulatorThread([BotSpec(token, username=BOT_USERNAME)], limits=limits)
    database_url = f"sqlite+aiosqlite:///{workdir / 'wardbot.db'}"
    prepare_database(database_url)
    stack = Stack(emulator, None, token, database_url, workdir)  # type: ignore[arg-type]
    stack.bot = BotProcess(stack.env(), workdir / "bot.log")
    stack.bot.start()
    return stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("e2e"))
    yield running
    running.bot.stop()
    running.emulator.stop()


@pytest.fixture
async def people(stack: Stack) -> AsyncIterator[EmulatorClient]:
    client = EmulatorClient(stack.emulator.base_url, timeout=30)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def bot_factory(tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    """A private stack for tests that stop, kill or reconfigure the bot."""
    started: list[Stack] = []

    def make(limits: EmulatorLimits | None = None) -> Stack:
        running = start_stack(tmp_path / f"stack{len(started)}", limits=limits)
        started.append(running)
        return running

    yield make
    for running in started:
        running.bot.stop()
        running.emulator.stop()
