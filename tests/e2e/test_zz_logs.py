"""Runs after the other journeys of the session (files run in name order): nothing the
bot wrote to its logs may contain its token or a resident's phone number."""

from __future__ import annotations

import re

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import Person
from tests.e2e.conftest import Stack
from tests.e2e.harness import run_db


async def test_logs_never_show_the_token_or_a_phone_number(stack: Stack) -> None:
    logs = stack.logs()
    assert "wardbot is running" in logs or "webhook listening" in logs
    assert stack.token not in logs
    assert stack.token.split(":")[1] not in logs

    async def phones(session: AsyncSession) -> list[str]:
        rows = await session.exec(select(Person.phone).where(col(Person.phone).is_not(None)))
        return [phone for phone in rows.all() if phone]

    stored = await run_db(stack.database_url, phones)
    assert len(stored) > 3, "the journeys registered people before this test"
    for phone in stored:
        national = phone.removeprefix("+84")
        # The number in any usual spelling: +84912..., 84912..., 0912...
        assert not re.search(rf"(?:\+?84|0){national}(?!\d)", logs), phone
