"""The province shape: two webhook workers behind a balancer, a delivery worker,
PostgreSQL and Redis. Runs in both passes of `make test`; in the production pass it
uses the session's stack, otherwise it starts its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.emulator import EmulatorClient
from bot.models import ChannelAccount, Role
from tests.conftest import POSTGRES_ADMIN_URL
from tests.e2e.conftest import MODE, Stack, start_production_stack
from tests.e2e.harness import drop_postgres_database, run_db
from tests.e2e.journeys import WAIT, become, new_person, press, register


@pytest.fixture(scope="module")
def production(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    if MODE == "production":
        yield request.getfixturevalue("stack")
        return
    running = start_production_stack(tmp_path_factory.mktemp("production"))
    yield running
    running.stop()
    drop_postgres_database(POSTGRES_ADMIN_URL, running.database_url)


@pytest.fixture
async def crowd(production: Stack) -> AsyncIterator[EmulatorClient]:
    async with EmulatorClient(production.emulator.base_url, timeout=30) as client:
        yield client


# What a newcomer's /start is answered with (handlers/registration.py).
WELCOME_START = "Chào mừng bạn đến với kênh dân chủ cơ sở"
WELCOME = "Chọn ngôn ngữ / Choose your language"


def account_of(user_id: int) -> Callable[[AsyncSession], Awaitable[ChannelAccount | None]]:
    async def work(session: AsyncSession) -> ChannelAccount | None:
        found = select(ChannelAccount).where(ChannelAccount.external_id == str(user_id))
        return (await session.exec(found)).first()

    return work


def webhook_ports(stack: Stack) -> list[int]:
    return [
        int(p.env["WARDBOT_WEBHOOK_PORT"])
        for p in stack.processes
        if "WARDBOT_WEBHOOK_PORT" in p.env
    ]


async def test_a_conversation_moves_between_workers_without_losing_its_place(
    production: Stack, crowd: EmulatorClient
) -> None:
    assert production.proxy is not None
    before = list(production.proxy.hits)
    leader = await new_person(crowd, "Sơn", "Kiều Văn")
    await become(crowd, leader, production.database_url, Role.LEADER, unit="KP09")
    resident = await new_person(crowd, "Tâm", "Lò Thị")
    done = await register(crowd, resident, group="Khu phố 9", name="Lò Thị Tâm")
    assert "tổ trưởng Khu phố 9" in done["text"]
    hits = [after - b for after, b in zip(production.proxy.hits, before, strict=True)]
    # Each step of the form may land on either worker: the state lives in Redis.
    assert all(count >= 3 for count in hits), hits
    request = await crowd.wait_for_message(leader["id"], "Lò Thị Tâm", timeout=WAIT)
    await press(crowd, leader, request, "Duyệt")
    # Sent by the separate delivery worker.
    await crowd.wait_for_message(resident["id"], "đã được duyệt", timeout=WAIT)


async def test_a_webhook_call_without_the_secret_is_refused_and_not_processed(
    production: Stack, crowd: EmulatorClient
) -> None:
    stranger = await new_person(crowd, "Lạ", "Người")
    update = {
        "update_id": 999_000_001,
        "message": {
            "message_id": 1,
            "date": 1_790_000_000,
            "chat": {"id": stranger["id"], "type": "private", "first_name": "Lạ"},
            "from": {"id": stranger["id"], "is_bot": False, "first_name": "Lạ"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    async with httpx.AsyncClient() as http:
        for port in webhook_ports(production):
            url = f"http://127.0.0.1:{port}/telegram/webhook"
            missing = await http.post(url, json=update)
            wrong = await http.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "x" * 32}
            )
            assert (missing.status_code, wrong.status_code) == (401, 401)
    # Handled, a /start makes the person's account before the webhook answers: none.
    assert await run_db(production.database_url, account_of(stranger["id"])) is None
    # The same /start through Telegram is answered, once.
    await crowd.send_command(stranger["id"], "start")
    await crowd.wait_for_message(stranger["id"], WELCOME, timeout=WAIT)
    answers = [m["text"] for m in await crowd.messages(stranger["id"]) if m["from_bot"]]
    assert len(answers) == 1, answers
    assert await run_db(production.database_url, account_of(stranger["id"])) is not None


async def test_healthz_reports_the_database_and_redis(production: Stack) -> None:
    async with httpx.AsyncClient() as http:
        for port in webhook_ports(production):
            reply = await http.get(f"http://127.0.0.1:{port}/healthz")
            assert reply.status_code == 200
            assert reply.json() == {"database": "ok", "redis": "ok"}


def test_logs_are_json_lines(production: Stack, tmp_path: Path) -> None:
    import json

    lines = [line for line in production.logs().splitlines() if line.strip()]
    assert lines
    for line in lines:
        json.loads(line)


async def test_a_burst_of_updates_is_answered_in_full(
    production: Stack, crowd: EmulatorClient
) -> None:
    # More updates at once than a Redis pool's default 100 connections: each must wait for
    # its turn, none may fail.
    people = await asyncio.gather(*(new_person(crowd, f"Khach{n}", "Vãng") for n in range(400)))
    await asyncio.gather(*(crowd.send_command(person["id"], "start") for person in people))
    for person in people:
        # The welcome, not "Xin lỗi, đã xảy ra lỗi" nor any other answer.
        reply = await crowd.wait_for_message(person["id"], timeout=WAIT)
        assert reply["text"].startswith(WELCOME_START), reply["text"]
        assert WELCOME in reply["text"]
    assert "Too many connections" not in production.logs()
