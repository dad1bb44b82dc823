"""Two `wardbot worker` processes on one PostgreSQL database: every outbox row is sent by
exactly one of them, and every deadline is acted on once.

Runs in both passes of `make test`: it starts its own workers, since the point is two of
them racing for the same rows.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.demo.bulk import verified_households
from bot.emulator import BotSpec, EmulatorClient
from bot.models import Delivery
from bot.services import notices
from tests.conftest import POSTGRES_ADMIN_URL, _postgres_available, skip_or_fail
from tests.e2e.harness import (
    BotProcess,
    EmulatorThread,
    create_postgres_database,
    drop_postgres_database,
    make_token,
    prepare_database,
    run_db,
)

RESIDENTS = 240
SENT = re.compile(r"delivery (\d+) sent by ")


@dataclass
class Workers:
    emulator: EmulatorThread
    database_url: str
    processes: list[BotProcess]

    def sent_ids(self) -> list[list[int]]:
        """The outbox rows each worker reports it sent, from its JSON log."""
        found = []
        for process in self.processes:
            ids = []
            for line in process.log_since().splitlines():
                if line.startswith("{"):
                    match = SENT.search(json.loads(line).get("message", ""))
                    if match:
                        ids.append(int(match.group(1)))
            found.append(ids)
        return found


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    problem = _postgres_available()
    if problem:
        skip_or_fail(f"two workers need PostgreSQL at {POSTGRES_ADMIN_URL}: {problem}")
    workdir: Path = tmp_path_factory.mktemp("workers")
    token = make_token()
    emulator = EmulatorThread([BotSpec(token, username="phuong_badinh_bot")])
    database_url = create_postgres_database(POSTGRES_ADMIN_URL)
    prepare_database(database_url)
    env = {
        "WARDBOT_TELEGRAM_TOKEN": token,
        "WARDBOT_TELEGRAM_API_URL": emulator.base_url,
        "WARDBOT_DATABASE_URL": database_url,
        "WARDBOT_LOG_LEVEL": "DEBUG",
        "WARDBOT_DELIVERY_POLL_INTERVAL": "0.1",
    }
    processes = [BotProcess(env, workdir / f"worker{n}.log", args=["worker"]) for n in range(2)]
    try:
        for process in processes:
            process.start(ready_text="worker is running")
        yield Workers(emulator, database_url, processes)
    finally:
        for process in processes:
            process.stop()
        emulator.stop()
        drop_postgres_database(POSTGRES_ADMIN_URL, database_url)


async def _people(client: EmulatorClient, count: int) -> list[int]:
    async def one(n: int) -> int:
        user = await client.create_user(f"Hộ {n}", last_name="Thử", language_code="vi")
        await client.send_command(user["id"], "start")
        return int(user["id"])

    return list(await asyncio.gather(*(one(n) for n in range(count))))


async def test_two_workers_send_each_message_exactly_once(workers: Workers) -> None:
    async with EmulatorClient(workers.emulator.base_url, timeout=30) as client:
        chats = await _people(client, RESIDENTS)

        async def publish(session: AsyncSession) -> int:
            ward_id, _ = await verified_households(session, "BADINH", chats)
            notice = await notices.publish(
                session,
                None,
                ward_id=ward_id,
                group_ids=None,
                category_code="ngan-sach",
                title="Công khai dự toán ngân sách năm 2027",
                body="Ủy ban nhân dân phường công khai dự toán thu, chi ngân sách.",
                source="test",
                publisher_label="UBND phường",
            )
            return int(notice.id)  # type: ignore[arg-type]

        notice_id = await run_db(workers.database_url, publish)

        async def unsettled(session: AsyncSession) -> int:
            return (
                await session.exec(
                    select(func.count())
                    .select_from(Delivery)
                    .where(Delivery.ref_type == "notice", Delivery.ref_id == notice_id)
                    .where(col(Delivery.status).in_(["pending", "sending"]))
                )
            ).one()

        for _ in range(240):
            if await run_db(workers.database_url, unsettled) == 0:
                break
            await asyncio.sleep(0.5)
        assert await run_db(workers.database_url, unsettled) == 0

        per_chat = (await client.counters())["messages_per_chat"]
        assert sorted(per_chat.get(str(chat), 0) for chat in chats) == [1] * RESIDENTS
    first, second = workers.sent_ids()
    # Both took part, neither sent a row the other sent, and together they sent them all.
    assert first and second
    assert not set(first) & set(second)
    assert len(first) + len(second) == RESIDENTS
