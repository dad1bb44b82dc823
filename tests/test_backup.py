"""A backup brings the whole database back, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text
from sqlmodel import select

from bot.backup import backup, restore
from bot.db import create_engine, session_factory
from bot.models import AuditEntry, ResidentialGroup, StoredFile
from bot.services import audit, files
from bot.services.wards import load_ward_file
from tests.conftest import EXAMPLE_WARD


async def _fill(url: str) -> None:
    engine = create_engine(url)
    async with session_factory(engine)() as session:
        await load_ward_file(session, EXAMPLE_WARD)
        await files.save(session, data=b"%PDF-1.4 test", filename="ke-hoach.pdf")
        await session.commit()
    await engine.dispose()


async def _state(url: str) -> tuple[int, int, list[bytes], bool]:
    engine = create_engine(url)
    async with session_factory(engine)() as session:
        groups = len((await session.exec(select(ResidentialGroup))).all())
        entries = len((await session.exec(select(AuditEntry))).all())
        stored = [f.data for f in (await session.exec(select(StoredFile))).all()]
        chain = (await audit.verify(session)).ok
    await engine.dispose()
    return groups, entries, stored, chain


async def _wipe(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM stored_file"))
        await conn.execute(text("DELETE FROM ticket_category"))
    await engine.dispose()


def test_backup_and_restore_bring_everything_back(database_url: str, tmp_path: Path) -> None:
    asyncio.run(_fill(database_url))
    before = asyncio.run(_state(database_url))
    assert before[0] == 10 and before[2] == [b"%PDF-1.4 test"] and before[3]
    out = backup(database_url, tmp_path / "wardbot.backup")
    assert out.stat().st_size > 0
    asyncio.run(_wipe(database_url))
    assert asyncio.run(_state(database_url))[2] == []
    restore(database_url, out)
    assert asyncio.run(_state(database_url)) == before
