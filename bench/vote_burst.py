"""Vote burst: N households press their ballot button within one second, through the Bot
API emulator, against the real bot (``python -m bot run``, long polling) — and, for
comparison, against a minimal aiogram bot on the same emulator that only answers the
callbacks.

    .venv/bin/python bench/vote_burst.py [--households 2000] [--spread 1.0]
        [--database-url postgresql://postgres@127.0.0.1:5432/wardbot_bench]

Printed: the time from the first press until every callback is answered and until every
ballot is stored; votes lost (presses without a stored ballot or answered with an error)
and double votes (more than one ballot for a household); and wardbot's throughput relative
to the minimal bot. The ballots themselves are not sent first (that is the broadcaster's
benchmark): each household presses with exactly the callback data its ballot carries.
Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
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

from sqlalchemy import func, insert  # noqa: E402
from sqlmodel import select  # noqa: E402

from bot import clock  # noqa: E402
from bot.db import create_engine, session_factory  # noqa: E402
from bot.emulator import BotSpec, EmulatorClient, EmulatorLimits  # noqa: E402
from bot.models import (  # noqa: E402
    Ballot,
    ChannelAccount,
    Household,
    Person,
    Resident,
    Vote,
    VoteGroup,
)
from bot.services.wards import find_group, get_ward_by_code  # noqa: E402
from tests.e2e.harness import (  # noqa: E402
    BotProcess,
    EmulatorThread,
    make_token,
    prepare_database,
)

CHUNK = 50


@dataclass
class Run:
    name: str
    presses: int
    answered: int
    answer_seconds: float
    stored: int | None = None
    stored_seconds: float | None = None
    lost: int | None = None
    doubles: int | None = None
    errors: int = 0

    @property
    def throughput(self) -> float:
        return self.answered / self.answer_seconds if self.answer_seconds else 0.0


async def seed(url: str, users: list[int]) -> tuple[int, list[int]]:
    """Households with a verified representative each (the users), and an open vote."""
    engine = create_engine(url)
    factory = session_factory(engine)
    async with factory() as session:
        ward = await get_ward_by_code(session, "BADINH")
        group = await find_group(session, "KP01")
        now = clock.now()
        for start in range(0, len(users), 500):
            chunk = users[start : start + 500]
            people = [Person(full_name=f"Hộ {uid}", language="vi") for uid in chunk]
            session.add_all(people)
            households = [
                Household(
                    group_id=group.id, address=f"Số {uid}", address_key=f"so {uid}", verified=True
                )
                for uid in chunk
            ]
            session.add_all(households)
            await session.flush()
            await session.exec(
                insert(ChannelAccount),  # type: ignore[call-overload]
                params=[
                    {
                        "person_id": p.id,
                        "channel": "telegram",
                        "external_id": str(uid),
                        "chat_id": str(uid),
                        "created_at": now,
                    }
                    for p, uid in zip(people, chunk, strict=True)
                ],
            )
            session.add_all(
                Resident(
                    person_id=p.id,
                    ward_id=ward.id,
                    group_id=group.id,
                    household_id=h.id,
                    is_representative=True,
                    status="verified",
                )
                for p, h in zip(people, households, strict=True)
            )
        vote = Vote(
            ward_id=ward.id,
            matter=6,
            question="Có đồng ý lắp camera an ninh đầu ngõ không?",
            options=["Đồng ý", "Không đồng ý"],
            creator_role="admin",
            opens_at=now - timedelta(minutes=1),
            closes_at=now + timedelta(days=3),
            # Announced already: the bench measures presses, not the broadcast.
            announced_at=now,
        )
        session.add(vote)
        await session.flush()
        session.add(VoteGroup(vote_id=vote.id, group_id=group.id))
        await session.commit()
        households_by_user = dict(
            (
                await session.exec(
                    select(ChannelAccount.external_id, Resident.household_id).join(
                        Resident,
                        Resident.person_id == ChannelAccount.person_id,  # type: ignore[arg-type]
                    )
                )
            ).all()
        )
    await engine.dispose()
    return vote.id, [households_by_user[str(uid)] for uid in users]  # type: ignore[return-value]


async def stored_ballots(url: str, vote_id: int) -> tuple[int, int]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            total = (
                await session.exec(
                    select(func.count()).select_from(Ballot).where(Ballot.vote_id == vote_id)
                )
            ).one()
            distinct = (
                await session.exec(
                    select(func.count(func.distinct(Ballot.household_id))).where(
                        Ballot.vote_id == vote_id
                    )
                )
            ).one()
            return int(total), int(distinct)
    finally:
        await engine.dispose()


async def burst(
    emulator: EmulatorThread,
    client: EmulatorClient,
    bot_id: int,
    presses: list[dict[str, Any]],
    spread: float,
) -> tuple[list[str], float, list[Json]]:
    """Send the presses in chunks spread over ``spread`` seconds; return the query ids, the
    start time and the errors the emulator reported."""
    chunks = [presses[i : i + CHUNK] for i in range(0, len(presses), CHUNK)]
    start = time.monotonic()

    async def send(index: int, chunk: list[dict[str, Any]]) -> list[Json]:
        delay = start + spread * index / max(len(chunks), 1) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        return await client.press_many([{**p, "bot_id": bot_id} for p in chunk])

    results = [
        r
        for part in await asyncio.gather(*(send(i, c) for i, c in enumerate(chunks)))
        for r in part
    ]
    ids = [str(r["callback_query_id"]) for r in results if "callback_query_id" in r]
    errors = [r for r in results if "callback_query_id" not in r]
    return ids, start, errors


Json = dict[str, Any]


async def wait_answered(
    emulator: EmulatorThread, ids: list[str], start: float, limit: float
) -> tuple[int, float, list[Json]]:
    state = emulator.running.emulator

    async def count() -> tuple[int, list[Json]]:
        records = [state.callbacks.get(i) for i in ids]
        answers = [r.answer for r in records if r is not None and r.answer is not None]
        return len(answers), answers

    while True:
        answered, answers = emulator.call(count())
        elapsed = time.monotonic() - start
        if answered == len(ids) or elapsed > limit:
            return answered, elapsed, answers
        await asyncio.sleep(0.02)


async def minimal_bot(base_url: str, token: str) -> None:
    """The comparison: aiogram polling the same emulator, answering every callback, in its
    own process like wardbot (``--minimal-bot``)."""
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import CallbackQuery

    session = AiohttpSession(api=TelegramAPIServer.from_base(base_url))
    bot = Bot(token, session=session)
    dp = Dispatcher()

    @dp.callback_query()
    async def answer(query: CallbackQuery) -> None:
        await query.answer("ok")

    await bot.get_me()
    print("minimal bot is running", flush=True)
    await dp.start_polling(bot, handle_signals=True, close_bot_session=True)


SCRIPT = Path(__file__).resolve()


def start_minimal_bot(base_url: str, token: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--minimal-bot", base_url, token],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "minimal bot is running" in line:
            return process
    raise RuntimeError("the minimal bot did not start")


async def main(households: int, spread: float, database_url: str | None) -> None:
    tmp = tempfile.TemporaryDirectory()
    url = database_url or f"sqlite+aiosqlite:///{tmp.name}/bench.db"
    token, plain_token = make_token(7012345678), make_token(7012345679)
    emulator = EmulatorThread(
        [BotSpec(token, username="wardbot_bench_bot"), BotSpec(plain_token, username="plain_bot")],
        limits=EmulatorLimits.unlimited(),
    )
    runs: list[Run] = []
    try:
        async with EmulatorClient(emulator.base_url, timeout=120) as client:
            users = [
                (await client.create_user(f"Hộ{n}", last_name="Bench"))["id"]
                for n in range(households)
            ]
            await asyncio.to_thread(prepare_database, url)
            vote_id, household_ids = await seed(url, users)
            presses = [
                {
                    "user_id": uid,
                    "message_id": 1,
                    "callback_data": f"vb:{vote_id}:{n % 2}:{hid}",
                    "forge": True,
                }
                for n, (uid, hid) in enumerate(zip(users, household_ids, strict=True))
            ]

            # The minimal bot first: the ceiling of the emulator, aiogram and this machine.
            plain = await asyncio.to_thread(start_minimal_bot, emulator.base_url, plain_token)
            await asyncio.sleep(1)
            ids, start, errors = await burst(emulator, client, 7012345679, presses, spread)
            answered, seconds, _answers = await wait_answered(emulator, ids, start, 120)
            runs.append(
                Run("minimal aiogram bot", len(presses), answered, seconds, errors=len(errors))
            )
            plain.terminate()
            plain.wait(timeout=30)

            env = {
                "WARDBOT_TELEGRAM_TOKEN": token,
                "WARDBOT_TELEGRAM_API_URL": emulator.base_url,
                "WARDBOT_DATABASE_URL": url,
                "WARDBOT_BOT_USERNAME": "wardbot_bench_bot",
                "WARDBOT_LOG_LEVEL": "INFO",
            }
            process = BotProcess(env, Path(tmp.name) / "bot.log")
            await asyncio.to_thread(process.start)
            await asyncio.sleep(1)
            ids, start, errors = await burst(emulator, client, 7012345678, presses, spread)
            answered, seconds, answers = await wait_answered(emulator, ids, start, 300)
            total = distinct = 0
            while True:
                total, distinct = await stored_ballots(url, vote_id)
                if total >= households or time.monotonic() - start > 300:
                    break
                await asyncio.sleep(0.05)
            stored_seconds = time.monotonic() - start
            failed = sum(1 for a in answers if "✅" not in (a.get("text") or ""))
            runs.append(
                Run(
                    "wardbot",
                    len(presses),
                    answered,
                    seconds,
                    stored=distinct,
                    stored_seconds=stored_seconds,
                    lost=households - distinct,
                    doubles=total - distinct,
                    errors=len(errors) + failed,
                )
            )
            process.stop()
    finally:
        emulator.stop()
        tmp.cleanup()
    report(runs, households, spread, "PostgreSQL" if database_url else "SQLite")


def report(runs: list[Run], households: int, spread: float, database: str) -> None:
    print(f"\nVote burst: {households:,} households press within {spread:g} s ({database})\n")
    print(
        f"{'bot':<22} {'answered':>10} {'all answered':>13} {'answers/s':>10} "
        f"{'stored':>8} {'all stored':>11} {'lost':>6} {'double':>7} {'errors':>7}"
    )
    for run in runs:
        stored = "—" if run.stored is None else f"{run.stored:,}"
        stored_s = "—" if run.stored_seconds is None else f"{run.stored_seconds:.2f} s"
        lost = "—" if run.lost is None else str(run.lost)
        doubles = "—" if run.doubles is None else str(run.doubles)
        print(
            f"{run.name:<22} {run.answered:>10,} {run.answer_seconds:>11.2f} s "
            f"{run.throughput:>10.0f} {stored:>8} {stored_s:>11} {lost:>6} {doubles:>7} "
            f"{run.errors:>7}"
        )
    if len(runs) == 2 and runs[0].throughput:
        ratio = runs[1].throughput / runs[0].throughput
        print(f"\nwardbot throughput relative to the minimal bot: {ratio:.2f} (target ≥ 0.5)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=2000)
    parser.add_argument("--spread", type=float, default=1.0)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--minimal-bot", nargs=2, metavar=("API_URL", "TOKEN"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.minimal_bot:
        asyncio.run(minimal_bot(*args.minimal_bot))
    else:
        asyncio.run(main(args.households, args.spread, args.database_url))
