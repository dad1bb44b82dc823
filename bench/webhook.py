"""Webhook benchmark: updates a second handled by one and by two `wardbot run --webhook`
workers on PostgreSQL and Redis, behind a round-robin balancer, fed by the Bot API
emulator's webhook delivery (as Telegram does, up to 40 connections at once).

    .venv/bin/python bench/webhook.py [--users 300] [--rounds 3]
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres]
        [--redis redis://127.0.0.1:6379/14]

Each of ``--users`` verified household representatives sends, per round, a mix of menu
presses (📢 notices, 📋 my feedback, ⚙️ settings) and presses a button of an open vote's
ballot (changing their choice each round, as the law allows until closing). An update
counts as handled when its answer reached the emulator (the message for a menu press,
answerCallbackQuery for a vote). The emulator's flood limits are off: the figure is the
bot's, not Telegram's. Printed: updates, seconds, updates/s, and ballots stored. Not a
test: the figures depend on the machine (and everything here shares its cores).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func  # noqa: E402
from sqlmodel import select  # noqa: E402

from bot import clock  # noqa: E402
from bot.demo.bulk import verified_households  # noqa: E402
from bot.emulator import EmulatorClient  # noqa: E402
from bot.models import Ballot, Role  # noqa: E402
from bot.services import votes  # noqa: E402
from bot.services.wards import get_ward_by_code  # noqa: E402
from tests import factories  # noqa: E402
from tests.e2e.harness import (  # noqa: E402
    BotProcess,
    EmulatorProcess,
    RoundRobinProxy,
    create_postgres_database,
    drop_postgres_database,
    free_port,
    make_token,
    prepare_database,
    run_db,
)

MENU = ["📢 Thông báo", "📋 Phản ánh của tôi", "⚙️ Cài đặt"]


@dataclass
class Result:
    workers: int
    menu_presses: int
    vote_presses: int
    seconds: float
    ballots: int

    @property
    def updates(self) -> int:
        return self.menu_presses + self.vote_presses

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds


async def make_users(client: EmulatorClient, count: int) -> list[int]:
    semaphore = asyncio.Semaphore(32)

    async def one(n: int) -> int:
        async with semaphore:
            user = await client.create_user(f"Hộ {n}", last_name="Thử", language_code="vi")
            return int(user["id"])

    return list(await asyncio.gather(*(one(n) for n in range(count))))


QUESTION = "Có lắp camera an ninh ở các ngõ không?"


async def open_vote(database_url: str) -> None:
    """A ward-wide vote, open now; its ballots go out through the worker."""

    async def work(session: Any) -> None:
        ward = await get_ward_by_code(session, "BADINH")
        admin = await factories.with_role(session, Role.ADMIN, ward_id=ward.id)
        await votes.create(
            session,
            admin,
            ward_id=ward.id,
            group_ids=None,
            matter=6,
            question=QUESTION,
            closes_at=clock.now() + timedelta(days=2),
        )

    await run_db(database_url, work)


async def ballots_received(
    client: EmulatorClient, users: list[int]
) -> dict[int, tuple[int, list[str]]]:
    """Each user's ballot: its message id and the callback data of its two first options."""
    found: dict[int, tuple[int, list[str]]] = {}

    async def look() -> bool:
        for user in users:
            if user in found:
                continue
            for message in await client.messages(user):
                keyboard = (message.get("reply_markup") or {}).get("inline_keyboard") or []
                data = [b["callback_data"] for row in keyboard for b in row if "callback_data" in b]
                if QUESTION in (message.get("text") or "") and len(data) >= 2:
                    found[user] = (message["message_id"], data[:2])
        return len(found) == len(users)

    await wait_until(look, 300, "the ballots")
    return found


async def stored_ballots(database_url: str) -> int:
    async def count(session: Any) -> int:
        return int((await session.exec(select(func.count()).select_from(Ballot))).one())

    return await run_db(database_url, count)


async def wait_until(check: Any, seconds: float, what: str) -> None:
    try:
        async with asyncio.timeout(seconds):
            # Polling the emulator's counters: there is nothing to wait on in between.
            while not await check():  # noqa: ASYNC110
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise SystemExit(f"timed out waiting for {what}") from None


async def scenario(workers: int, args: argparse.Namespace, workdir: Path) -> Result:
    token = make_token()
    emulator = EmulatorProcess(token, rate_limits=False)
    database_url = await asyncio.to_thread(create_postgres_database, args.postgres)
    processes: list[BotProcess] = []
    proxy: RoundRobinProxy | None = None
    try:
        await asyncio.to_thread(prepare_database, database_url)
        client = EmulatorClient(emulator.base_url, timeout=120)
        users = await make_users(client, args.users)

        async def seed(session: Any) -> None:
            await verified_households(session, "BADINH", users)

        await run_db(database_url, seed)

        ports = [free_port() for _ in range(workers)]
        proxy = RoundRobinProxy([f"http://127.0.0.1:{port}" for port in ports])
        await proxy.start()
        env = {
            "WARDBOT_TELEGRAM_TOKEN": token,
            "WARDBOT_TELEGRAM_API_URL": emulator.base_url,
            "WARDBOT_DATABASE_URL": database_url,
            "WARDBOT_REDIS_URL": args.redis,
            "WARDBOT_WEBHOOK_SECRET": secrets.token_urlsafe(24),
            "WARDBOT_WEBHOOK_URL": f"http://127.0.0.1:{proxy.port}",
            "WARDBOT_WEBHOOK_HOST": "127.0.0.1",
            "WARDBOT_LOG_LEVEL": "INFO",
        }
        for n, port in enumerate(ports):
            process = BotProcess(
                {**env, "WARDBOT_WEBHOOK_PORT": str(port)},
                workdir / f"webhook{workers}-{n}.log",
                args=["run", "--webhook"],
            )
            processes.append(process)
            await asyncio.to_thread(process.start, ready_text="webhook listening")
        # Telegram's limits are off here: the ballots go out as fast as the worker can.
        worker_env = {
            **env,
            "WARDBOT_DELIVERY_RATE": "500",
            "WARDBOT_DELIVERY_POLL_INTERVAL": "0.2",
        }
        worker = BotProcess(worker_env, workdir / f"worker{workers}.log", args=["worker"])
        processes.append(worker)
        await asyncio.to_thread(worker.start, ready_text="worker is running")
        clean = {k: v for k, v in os.environ.items() if not k.startswith("WARDBOT_")}
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot", "webhook", "set"],
            cwd=ROOT,
            env={**clean, **env},
            check=True,
            capture_output=True,
        )

        # Warm up: everyone opens the bot (which also lets it write to them), so that
        # every worker has its connections open; then the vote opens and its ballots
        # arrive.
        await client.reset_counters()
        await asyncio.gather(*(client.send_command(user, "start") for user in users))

        async def warmed() -> bool:
            return (await client.counters())["messages_sent"] >= len(users)

        await wait_until(warmed, 120, "the warm-up")
        await open_vote(database_url)
        ballots = await ballots_received(client, users)

        await client.reset_counters()
        menu_presses = vote_presses = 0
        sends: list[Any] = []
        for round_ in range(args.rounds):
            for n, user in enumerate(users):
                sends.append(client.send_text(user, MENU[(n + round_) % len(MENU)]))
                menu_presses += 1
                message_id, options = ballots[user]
                sends.append(client.press(user, message_id, options[(n + round_) % 2]))
                vote_presses += 1
        semaphore = asyncio.Semaphore(64)

        async def limited(send: Any) -> None:
            async with semaphore:
                await send

        started = time.perf_counter()
        await asyncio.gather(*(limited(s) for s in sends))

        async def handled() -> bool:
            counters = await client.counters()
            return (
                counters["messages_sent"] >= menu_presses
                and counters["callback_answers"] >= vote_presses
            )

        await wait_until(handled, 600, "the answers")
        seconds = time.perf_counter() - started
        stored = await stored_ballots(database_url)
        await client.close()
        return Result(workers, menu_presses, vote_presses, seconds, stored)
    finally:
        for process in processes:
            await asyncio.to_thread(process.stop)
        if proxy is not None:
            await proxy.stop()
        emulator.stop()
        await asyncio.to_thread(drop_postgres_database, args.postgres, database_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="wardbot-webhook-bench-"))
    results = [asyncio.run(scenario(workers, args, workdir)) for workers in (1, 2)]
    print(f"\n{os.cpu_count()} CPU cores shared by the emulator, balancer, workers and database.")
    print(
        f"{'webhook workers':>15} {'menu':>6} {'votes':>6} {'updates':>8} {'seconds':>8} "
        f"{'updates/s':>10} {'ballots':>8}"
    )
    print("-" * 68)
    for r in results:
        print(
            f"{r.workers:>15} {r.menu_presses:>6} {r.vote_presses:>6} {r.updates:>8} "
            f"{r.seconds:>8.2f} {r.per_second:>10.1f} {r.ballots:>8}"
        )
    print(f"\nlogs: {workdir}")


if __name__ == "__main__":
    main()
