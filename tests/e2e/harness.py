"""Runs the real bot, as in production, against the Bot API emulator.

The emulator runs in a thread of the test process (its own event loop); the bot runs
as a separate process (`python -m bot run`, long polling) with its own database.
Tests act only as people do: through the emulator's control API.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from bot.db import create_engine, migrate_sync, session_factory
from bot.emulator import BotSpec, EmulatorLimits, start_emulator
from bot.emulator.server import RunningEmulator

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def make_token(bot_id: int = 7012345678) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return f"{bot_id}:AA" + "".join(secrets.choice(alphabet) for _ in range(33))


class EmulatorThread:
    """The emulator on its own event loop, so it serves while tests and the bot run."""

    def __init__(self, bots: list[BotSpec], limits: EmulatorLimits | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.running: RunningEmulator = self.call(start_emulator(bots=bots, limits=limits))

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    @property
    def base_url(self) -> str:
        return self.running.base_url

    def polls(self) -> int:
        """getUpdates calls received so far: the emulator's own proof that a bot polls."""
        return self.running.emulator.counters.method_calls.get("getUpdates", 0)

    def stop(self) -> None:
        self.call(self.running.stop())
        self.call(self._cancel_the_rest())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    @staticmethod
    async def _cancel_the_rest() -> None:
        # Requests still open when the server stopped; else "Task was destroyed" at exit.
        rest = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)


class EmulatorProcess:
    """The emulator in a process of its own, so that benchmarks measure the bot and not
    the emulator competing with the load generator for one interpreter."""

    def __init__(self, token: str, *, rate_limits: bool = True) -> None:
        import re

        args = [sys.executable, "-m", "bot.emulator", "--port", "0", "--token", token]
        if not rate_limits:
            args.append("--no-rate-limits")
        self.process = subprocess.Popen(
            args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        match = re.search(r"(http://\S+)", line)
        if not match:
            self.process.kill()
            raise RuntimeError(f"the emulator did not start: {line}")
        self.base_url = match.group(1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@dataclass
class BotProcess:
    """`python -m bot run` with the given settings; logs kept for inspection."""

    env: dict[str, str]
    log_path: Path
    args: list[str] = field(default_factory=lambda: ["run"])
    process: subprocess.Popen[bytes] | None = None
    # For a polling bot, the emulator's count of getUpdates calls: started means the bot
    # logged ready_text (every channel connected) and the emulator saw it poll.
    polls: Callable[[], int] | None = None

    def start(self, *, ready_text: str = "wardbot is running", timeout: float = 120) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        offset = self.log_size()
        polled_before = self.polls() if self.polls else 0
        log = self.log_path.open("ab")
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("WARDBOT_")}
        full_env.update(self.env)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", *self.args],
            cwd=ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the bot exited early:\n{self.log_since(offset)}")
            if ready_text in self.log_since(offset) and (
                self.polls is None or self.polls() > polled_before
            ):
                return
            time.sleep(0.1)
        raise RuntimeError(f"the bot did not start in {timeout}s:\n{self.log_since(offset)}")

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    async def logged(self, text: str, offset: int = 0, within: float = 120) -> None:
        """Until the bot's log (after ``offset``) holds ``text``: a sign of work done."""
        deadline = time.monotonic() + within
        while text not in self.log_since(offset):
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not logged in {within}s:\n{self.log_since(offset)}")
            await asyncio.sleep(0.1)

    def log_since(self, offset: int = 0) -> str:
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", errors="replace")

    def stop(self, timeout: float = 20) -> int | None:
        """SIGTERM, as a service manager does; waits for a clean exit."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def kill(self) -> None:
        """SIGKILL: the crash a power cut causes."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def prepare_database(url: str, ward_file: Path = ROOT / "examples" / "ward.yaml") -> None:
    from bot.services.wards import load_ward_file

    migrate_sync(url)

    async def load() -> None:
        engine = create_engine(url)
        try:
            async with session_factory(engine)() as session:
                await load_ward_file(session, ward_file)
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(load())


async def run_db(url: str, work: Any) -> Any:
    """``await work(session)`` against the bot's database, committed (test setup)."""
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            result = await work(session)
            await session.commit()
            return result
    finally:
        await engine.dispose()


class RoundRobinProxy:
    """Stands in for the load balancer in front of several webhook workers."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self.hits = [0] * len(backends)
        self._next = 0
        self._runner: Any = None
        self.port = 0

    async def start(self) -> None:
        import aiohttp
        from aiohttp import web

        session = aiohttp.ClientSession()

        async def forward(request: web.Request) -> web.Response:
            index = self._next % len(self.backends)
            self._next += 1
            self.hits[index] += 1
            async with session.post(
                self.backends[index] + request.path_qs,
                data=await request.read(),
                headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
            ) as reply:
                return web.Response(
                    status=reply.status, body=await reply.read(), content_type=reply.content_type
                )

        async def close(_app: web.Application) -> None:
            await session.close()

        app = web.Application()
        app.router.add_post("/{tail:.*}", forward)
        app.on_cleanup.append(close)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def create_postgres_database(admin_url: str) -> str:
    """A fresh database on the test server; returns its URL."""
    import uuid

    import asyncpg

    name = f"wardbot_e2e_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_postgres_database(admin_url: str, url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]

    async def drop() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


def phone_pattern(phone: str) -> re.Pattern[str]:
    """A Vietnamese number in any usual spelling: +84912..., 84912..., 0912..., with or
    without spaces, dots or dashes between the digits ("0912 000 111")."""
    national = phone.removeprefix("+84") if phone.startswith("+84") else phone.removeprefix("0")
    digits = r"[\s.-]?".join(national)
    return re.compile(rf"(?<!\d)(?:\+?84|0)[\s.-]?{digits}(?!\d)")


async def stored_phones(database_url: str) -> list[str]:
    """Every phone number the bot's database holds."""
    from sqlmodel import col, select

    from bot.models import Person

    async def phones(session: Any) -> list[str]:
        rows = await session.exec(select(Person.phone).where(col(Person.phone).is_not(None)))
        return [phone for phone in rows.all() if phone]

    return list(await run_db(database_url, phones))


def assert_logs_are_clean(logs: str, token: str, phones: list[str]) -> None:
    """Nothing the bot logged shows its token or one of these phone numbers."""
    assert token not in logs, "the bot token is in the logs"
    assert token.split(":")[1] not in logs, "the bot token's secret is in the logs"
    for phone in phones:
        found = phone_pattern(phone).search(logs)
        if found is not None:
            line = logs[logs.rfind("\n", 0, found.start()) + 1 : logs.find("\n", found.end())]
            raise AssertionError(f"a phone number is in the logs: {line}")
