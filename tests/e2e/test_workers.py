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
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.demo.bulk import verified_households
from bot.emulator import BotSpec, EmulatorClient
from bot.models import AuditEntry, Delivery, Notice, Role, Vote
from bot.services import notices, votes
from tests import factories
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


async def _settled(database_url: str, ref_type: str, ref_id: int) -> bool:
    async def count(session: AsyncSession) -> int:
        return (
            await session.exec(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.ref_type == ref_type, Delivery.ref_id == ref_id)
                .where(col(Delivery.status).in_(["pending", "sending"]))
            )
        ).one()

    return await run_db(database_url, count) == 0


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

        for _ in range(240):
            if await _settled(workers.database_url, "notice", notice_id):
                break
            await asyncio.sleep(0.5)
        assert await _settled(workers.database_url, "notice", notice_id)

        per_chat = (await client.counters())["messages_per_chat"]
        assert sorted(per_chat.get(str(chat), 0) for chat in chats) == [1] * RESIDENTS
    first, second = workers.sent_ids()
    # Both took part, neither sent a row the other sent, and together they sent them all.
    assert first and second
    assert not set(first) & set(second)
    assert len(first) + len(second) == RESIDENTS


async def test_two_workers_close_a_vote_once(workers: Workers) -> None:
    async with EmulatorClient(workers.emulator.base_url, timeout=30) as client:
        chats = await _people(client, 30)

        async def open_vote(session: AsyncSession) -> int:
            ward_id, _ = await verified_households(session, "BADINH", chats)
            admin = await factories.with_role(session, Role.ADMIN, ward_id=ward_id)
            vote = await votes.create(
                session,
                admin,
                ward_id=ward_id,
                group_ids=None,
                matter=6,
                question="Có lắp camera an ninh ở các ngõ không?",
                closes_at=clock.now() + timedelta(hours=2),
            )
            return int(vote.id)  # type: ignore[arg-type]

        vote_id = await run_db(workers.database_url, open_vote)

        async def time_is_up(session: AsyncSession) -> None:
            # Both workers' schedulers find it due on their next round.
            await session.exec(
                update(Vote)
                .where(col(Vote.id) == vote_id)
                .values(closes_at=clock.now() - timedelta(minutes=1))
            )

        await run_db(workers.database_url, time_is_up)

        async def closed(session: AsyncSession) -> Vote:
            vote = await session.get(Vote, vote_id)
            assert vote is not None
            return vote

        for _ in range(180):
            vote = await run_db(workers.database_url, closed)
            if vote.result_notice_id and await _settled(
                workers.database_url, "notice", vote.result_notice_id
            ):
                break
            await asyncio.sleep(0.5)
        assert vote.result_notice_id is not None

        async def evidence(session: AsyncSession) -> tuple[int, int]:
            closings = await session.exec(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "vote.close", AuditEntry.entity_id == str(vote_id))
            )
            results = await session.exec(
                select(func.count()).select_from(Notice).where(Notice.source == "vote")
            )
            return closings.one(), results.one()

        assert await run_db(workers.database_url, evidence) == (1, 1)
        title = (
            await run_db(workers.database_url, lambda s: s.get(Notice, vote.result_notice_id))
        ).title
        for chat in chats:
            received = [m for m in await client.messages(chat) if title in (m.get("text") or "")]
            assert len(received) == 1, (chat, received)
