"""Broadcast benchmark: the real sender (aiogram transport, database outbox) against the
Bot API emulator, which runs in its own process and counts what it receives.

    .venv/bin/python bench/broadcast.py [--recipients 5000] [--default-recipients 1000]
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres] [--enqueue 50000]

For each scenario: a notice to the whole ward, queued by ``notices.publish`` for every
resident, then sent by ``Sender.run``. Printed: the rate achieved against the rate
Telegram (the emulator) allows, 429s received, duplicates and losses counted per chat by
the emulator, and the CPU seconds this process (sender, aiogram, database driver) spent
per 1,000 messages. Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func  # noqa: E402
from sqlmodel import select  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.db import create_engine, migrate_sync, session_factory  # noqa: E402
from bot.delivery.sender import Limits, Sender  # noqa: E402
from bot.demo.bulk import verified_households  # noqa: E402
from bot.emulator import EmulatorClient  # noqa: E402
from bot.i18n import get_i18n  # noqa: E402
from bot.models import (  # noqa: E402
    Delivery,
)
from bot.services import notices  # noqa: E402
from bot.services.wards import load_ward_file  # noqa: E402
from bot.telegram.factory import create_bot  # noqa: E402
from bot.telegram.transport import TelegramTransport  # noqa: E402
from tests.e2e.harness import EmulatorProcess  # noqa: E402

TOKEN = "7000000001:AAbenchmarkbenchmarkbenchmarkbench1"
WARD_FILE = ROOT / "examples" / "ward.yaml"


@dataclass
class Scenario:
    name: str
    recipients: int
    telegram_limit: float
    sender_rate: float
    database: str


@dataclass
class Result:
    scenario: Scenario
    enqueue_seconds: float
    # Messages a second once sending is under way (the first second, when the bucket's
    # saved-up burst goes out, left out), and over the whole broadcast.
    achieved: float
    overall: float
    http_429: int
    duplicates: int
    losses: int
    cpu_per_1000: float
    wall: float


# --- the emulator, in its own process ----------------------------------------------------


async def make_users(client: EmulatorClient, count: int) -> list[int]:
    """Simulated people who opened the bot, so it may write to them."""
    semaphore = asyncio.Semaphore(32)

    async def one(n: int) -> int:
        async with semaphore:
            user = await client.create_user(f"Dân {n}", last_name="Thử", language_code="vi")
            await client.send_command(user["id"], "start")
            return int(user["id"])

    return list(await asyncio.gather(*(one(n) for n in range(count))))


# --- the database ----------------------------------------------------------------------


async def database_url(kind: str, workdir: Path, postgres_admin: str | None) -> tuple[str, Any]:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{workdir / f'bench-{uuid.uuid4().hex[:6]}.db'}", None
    assert postgres_admin is not None
    import asyncpg

    name = f"wardbot_bench_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(postgres_admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    await admin(f'CREATE DATABASE "{name}"')

    async def drop() -> None:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return postgres_admin.rsplit("/", 1)[0] + f"/{name}", drop


async def seed(url: str, chat_ids: list[int]) -> int:
    """The sample ward with one verified resident per chat, spread over its groups."""
    engine = create_engine(url)
    async with session_factory(engine)() as session:
        await load_ward_file(session, WARD_FILE)
        await session.commit()
        ward_id, _ = await verified_households(session, "BADINH", chat_ids)
        await session.commit()
    await engine.dispose()
    return ward_id


async def publish(url: str, ward_id: int) -> tuple[int, float]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            started = time.perf_counter()
            notice = await notices.publish(
                session,
                None,
                ward_id=ward_id,
                group_ids=None,
                category_code="ngan-sach",
                title="Công khai dự toán ngân sách phường năm 2027",
                body="Ủy ban nhân dân phường công khai dự toán thu, chi ngân sách năm 2027. " * 8,
                source="bench",
                publisher_label="UBND phường",
            )
            await session.commit()
            return notice.id, time.perf_counter() - started  # type: ignore[return-value]
    finally:
        await engine.dispose()


# --- a scenario ----------------------------------------------------------------------------


class TimedTransport(TelegramTransport):
    """The real transport, noting when each message was accepted."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.accepted: list[float] = []

    async def send(self, chat_id: str, part: Any) -> Any:
        result = await super().send(chat_id, part)
        if result.ok:
            self.accepted.append(time.monotonic())
        return result


async def run_scenario(
    scenario: Scenario,
    base_url: str,
    workdir: Path,
    postgres_admin: str | None,
    profile: Path | None = None,
) -> Result:
    client = EmulatorClient(base_url, timeout=60)
    await client.reset()
    await client.set_limits(global_per_second=scenario.telegram_limit)
    users = await make_users(client, scenario.recipients)
    url, drop = await database_url(scenario.database, workdir, postgres_admin)
    try:
        await asyncio.to_thread(migrate_sync, url)
        ward_id = await seed(url, users)
        notice_id, enqueue_seconds = await publish(url, ward_id)
        await client.reset_counters()

        settings = Settings(telegram_token=TOKEN, telegram_api_url=base_url, database_url=url)
        engine = create_engine(url)
        factory = session_factory(engine)
        bot = create_bot(settings)
        transport = TimedTransport(bot, factory)
        sender = Sender(
            factory,
            {"telegram": transport},
            Limits(per_second=scenario.sender_rate),
            poll_interval=0.2,
        )
        stop = asyncio.Event()
        profiler = None
        if profile is not None:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        wall = time.perf_counter()
        cpu = time.process_time()
        task = asyncio.create_task(sender.run(stop))
        while True:
            await asyncio.sleep(0.5)
            counters = await client.counters()
            if counters["messages_sent"] >= scenario.recipients:
                break
            if task.done():
                task.result()
        stop.set()
        await task
        cpu = time.process_time() - cpu
        wall = time.perf_counter() - wall
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(profile))
        await bot.session.close()
        async with factory() as session:
            unsettled = (
                await session.exec(
                    select(func.count())
                    .select_from(Delivery)
                    .where(Delivery.ref_id == notice_id, Delivery.status != "sent")
                )
            ).one()
        await engine.dispose()
        counters = await client.counters()
        per_chat = counters["messages_per_chat"]
        duplicates = sum(max(0, per_chat.get(str(u), 0) - 1) for u in users)
        losses = sum(1 for u in users if per_chat.get(str(u), 0) == 0) + 0 * unsettled
        times = transport.accepted
        overall = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
        steady = [t for t in times if t >= times[0] + 1.0] if times else []
        achieved = (len(steady) - 1) / (steady[-1] - steady[0]) if len(steady) > 1 else overall
        return Result(
            scenario,
            enqueue_seconds,
            achieved,
            overall,
            counters["http_429"],
            duplicates,
            losses,
            cpu / len(times) * 1000 if times else 0.0,
            wall,
        )
    finally:
        await client.close()
        if drop:
            await drop()


async def enqueue_only(
    count: int, database: str, workdir: Path, postgres_admin: str | None
) -> float:
    url, drop = await database_url(database, workdir, postgres_admin)
    try:
        await asyncio.to_thread(migrate_sync, url)
        ward_id = await seed(url, list(range(10_000_000, 10_000_000 + count)))
        return (await publish(url, ward_id))[1]
    finally:
        if drop:
            await drop()


def postgres_available(url: str) -> bool:
    import asyncpg

    async def probe() -> bool:
        try:
            conn = await asyncpg.connect(url, timeout=3)
        except (OSError, asyncpg.PostgresError):
            return False
        await conn.close()
        return True

    return asyncio.run(probe())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument("--default-recipients", type=int, default=1000)
    parser.add_argument(
        "--enqueue", type=int, default=50_000, help="residents for the queuing figure"
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "WARDBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="also run on PostgreSQL when this server answers ('' to skip)",
    )
    parser.add_argument(
        "--profile", type=Path, help="write a cProfile of the first scenario's sending here"
    )
    args = parser.parse_args()
    get_i18n()
    import handlers.notices  # noqa: F401  (registers the notice renderer)

    postgres = args.postgres if args.postgres and postgres_available(args.postgres) else None
    scenarios = [Scenario("raised limit", args.recipients, 300, 300, "sqlite")]
    if postgres:
        scenarios.append(Scenario("raised limit", args.recipients, 300, 300, "postgresql"))
    if args.default_recipients:
        scenarios.append(Scenario("Telegram's limits", args.default_recipients, 30, 25, "sqlite"))
    workdir = Path(tempfile.mkdtemp(prefix="wardbot-bench-"))
    emulator = EmulatorProcess(TOKEN)
    base_url = emulator.base_url
    try:
        results = [
            asyncio.run(
                run_scenario(s, base_url, workdir, postgres, args.profile if i == 0 else None)
            )
            for i, s in enumerate(scenarios)
        ]
        queuing = []
        if args.enqueue:
            queuing.append(
                ("sqlite", asyncio.run(enqueue_only(args.enqueue, "sqlite", workdir, None)))
            )
        if postgres and args.enqueue:
            queuing.append(
                (
                    "postgresql",
                    asyncio.run(enqueue_only(args.enqueue, "postgresql", workdir, postgres)),
                )
            )
    finally:
        emulator.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    header = (
        f"{'scenario':<18} {'db':<10} {'recipients':>10} {'limit/s':>8} {'rate set':>8} "
        f"{'achieved/s':>10} {'ach/limit':>9} {'mean/s':>7} {'429s':>5} {'dups':>5} {'lost':>5} "
        f"{'CPU s/1k':>8} {'queue s':>7} {'wall s':>7}"
    )
    print()
    print("achieved/s: messages a second after the first second (the saved-up burst);")
    print("mean/s: over the whole broadcast; CPU s/1k: this process, per 1,000 messages.")
    print(header)
    print("-" * len(header))
    for r in results:
        s = r.scenario
        print(
            f"{s.name:<18} {s.database:<10} {s.recipients:>10} {s.telegram_limit:>8.0f} "
            f"{s.sender_rate:>8.0f} {r.achieved:>10.1f} {r.achieved / s.telegram_limit:>9.3f} "
            f"{r.overall:>7.1f} "
            f"{r.http_429:>5} {r.duplicates:>5} {r.losses:>5} {r.cpu_per_1000:>8.2f} "
            f"{r.enqueue_seconds:>7.2f} {r.wall:>7.1f}"
        )
    for database, seconds in queuing:
        print(f"queuing one notice for {args.enqueue:,} residents ({database}): {seconds:.2f} s")


if __name__ == "__main__":
    main()
