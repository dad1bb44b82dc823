"""End-to-end fixtures: one emulator and the real bot for the whole session.

Two shapes of deployment, chosen with WARDBOT_E2E_MODE:
- ``single`` (default): one `wardbot run` process, long polling, SQLite — one ward.
- ``production``: PostgreSQL and Redis, two `wardbot run --webhook` workers behind a
  round-robin balancer, and one `wardbot worker` for delivery and deadlines; the emulator
  pushes updates to the webhook. `make test` runs the e2e journeys in both shapes.

Tests stay independent by creating their own simulated people (fresh Telegram ids); the
ward (examples/ward.yaml) is shared. A test that must restart or kill the bot starts its
own single-process stack with ``bot_factory``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.emulator import BotSpec, EmulatorClient, EmulatorLimits
from tests.conftest import POSTGRES_ADMIN_URL, REDIS_URL, _postgres_available, skip_or_fail
from tests.e2e.harness import (
    ROOT,
    BotProcess,
    EmulatorThread,
    RoundRobinProxy,
    assert_logs_are_clean,
    create_postgres_database,
    drop_postgres_database,
    free_port,
    make_token,
    prepare_database,
    stored_phones,
)
from tests.e2e.journeys import new_person, register

BOT_USERNAME = "phuong_badinh_bot"
MODE = os.environ.get("WARDBOT_E2E_MODE", "single")


@dataclass
class Stack:
    emulator: EmulatorThread
    token: str
    database_url: str
    workdir: Path
    mode: str = "single"
    processes: list[BotProcess] = field(default_factory=list)
    proxy: RoundRobinProxy | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def bot(self) -> BotProcess:
        return self.processes[0]

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
            **self.extra_env,
            **extra,
        }

    def logs(self) -> str:
        return "".join(process.log_since() for process in self.processes)

    def stop(self) -> None:
        for process in self.processes:
            process.stop()
        if self.proxy is not None:
            self.emulator.call(self.proxy.stop())
        self.emulator.stop()


def start_stack(workdir: Path, limits: EmulatorLimits | None = None) -> Stack:
    token = make_token()
    emulator = EmulatorThread([BotSpec(token, username=BOT_USERNAME)], limits=limits)
    database_url = f"sqlite+aiosqlite:///{workdir / 'wardbot.db'}"
    prepare_database(database_url)
    stack = Stack(emulator, token, database_url, workdir)
    process = BotProcess(stack.env(), workdir / "bot.log", polls=emulator.polls)
    stack.processes.append(process)
    process.start()
    return stack


def start_production_stack(workdir: Path) -> Stack:
    problem = _postgres_available()
    if problem:
        skip_or_fail(f"production e2e needs PostgreSQL at {POSTGRES_ADMIN_URL}: {problem}")
    token = make_token()
    emulator = EmulatorThread([BotSpec(token, username=BOT_USERNAME)])
    database_url = create_postgres_database(POSTGRES_ADMIN_URL)
    prepare_database(database_url)
    ports = [free_port(), free_port()]
    proxy = RoundRobinProxy([f"http://127.0.0.1:{port}" for port in ports])
    emulator.call(proxy.start())
    stack = Stack(
        emulator,
        token,
        database_url,
        workdir,
        mode="production",
        proxy=proxy,
        extra_env={
            "WARDBOT_REDIS_URL": REDIS_URL,
            "WARDBOT_WEBHOOK_SECRET": secrets.token_urlsafe(24),
            "WARDBOT_WEBHOOK_URL": f"http://127.0.0.1:{proxy.port}",
            "WARDBOT_WEBHOOK_HOST": "127.0.0.1",
        },
    )
    for n, port in enumerate(ports):
        process = BotProcess(
            stack.env(WARDBOT_WEBHOOK_PORT=str(port)),
            workdir / f"webhook{n}.log",
            args=["run", "--webhook"],
        )
        stack.processes.append(process)
        process.start(ready_text="webhook listening")
    worker = BotProcess(stack.env(), workdir / "worker.log", args=["worker"])
    stack.processes.append(worker)
    worker.start(ready_text="worker is running")
    subprocess.run(
        [sys.executable, "-m", "bot", "webhook", "set"],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("WARDBOT_")},
            **stack.env(),
        },
        check=True,
        capture_output=True,
        timeout=60,
    )
    return stack


def _redis_problem() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=3).ping()
    except redis.RedisError as exc:
        return str(exc)
    return None


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("e2e")
    if MODE == "production":
        problem = _redis_problem()
        if problem:
            skip_or_fail(f"production e2e needs Redis at {REDIS_URL}: {problem}")
        running = start_production_stack(workdir)
    else:
        running = start_stack(workdir)
    yield running
    try:
        try:
            _register_one_more(running)
        finally:
            running.stop()
        check_logs(running)
    finally:
        if running.mode == "production":
            drop_postgres_database(POSTGRES_ADMIN_URL, running.database_url)


def _register_one_more(stack: Stack) -> None:
    """A last journey: someone registers with their phone number, so the log check has a
    number to look for however few tests ran."""

    async def go() -> None:
        async with EmulatorClient(stack.emulator.base_url, timeout=30) as people:
            user = await new_person(people, "Ký", "Nhật")
            done = await register(people, user, group="Khu phố 1", name="Nhật Ký")
            assert "Yêu cầu đăng ký" in done["text"], done["text"]

    asyncio.run(go())


def check_logs(stack: Stack) -> None:
    """At the end of the stack that wrote them: the logs never show the bot's token or a
    phone number anyone gave (a failure here is reported as an error at teardown)."""
    logs = stack.logs()
    assert "wardbot is running" in logs or "webhook listening" in logs, "no logs were read"
    phones = asyncio.run(stored_phones(stack.database_url))
    assert phones, "no phone number was stored: the check would prove nothing"
    assert_logs_are_clean(logs, stack.token, phones)


@pytest.fixture
async def people(stack: Stack) -> AsyncIterator[EmulatorClient]:
    client = EmulatorClient(stack.emulator.base_url, timeout=30)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def bot_factory(tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    """A private single-process stack for tests that stop, kill or reconfigure the bot."""
    started: list[Stack] = []

    def make(limits: EmulatorLimits | None = None) -> Stack:
        running = start_stack(tmp_path / f"stack{len(started)}", limits=limits)
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    """Keep each phase's report on the test item, so fixtures can tell a failed test."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report
