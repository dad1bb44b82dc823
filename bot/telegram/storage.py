"""aiogram FSM storage in wardbot's own database.

A resident half-way through registering or filing a ticket keeps their answers when
the bot restarts, without Redis. Inside an update it writes through the update's own
session, so the state commits together with what the handler changed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StorageKey
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.models import FsmRecord
from bot.telegram.context import current_session


class SQLStorage(BaseStorage):
    def __init__(
        self, factory: async_sessionmaker[AsyncSession], key_builder: KeyBuilder | None = None
    ) -> None:
        self.factory = factory
        self.key_builder = key_builder or DefaultKeyBuilder(with_destiny=True)

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        session = current_session.get()
        if session is not None:
            yield session
            return
        async with self.factory() as own:
            yield own
            await own.commit()

    async def _record(self, session: AsyncSession, key: StorageKey) -> FsmRecord:
        name = self.key_builder.build(key)
        record = await session.get(FsmRecord, name)
        if record is None:
            record = FsmRecord(key=name)
            session.add(record)
        return record

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        async with self._session() as session:
            record = await self._record(session, key)
            record.state = state.state if isinstance(state, State) else state
            record.updated_at = clock.now()
            await self._save(session, record)

    async def get_state(self, key: StorageKey) -> str | None:
        async with self._session() as session:
            record = await session.get(FsmRecord, self.key_builder.build(key))
            return record.state if record else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        async with self._session() as session:
            record = await self._record(session, key)
            record.data = dict(data)
            record.updated_at = clock.now()
            await self._save(session, record)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with self._session() as session:
            record = await session.get(FsmRecord, self.key_builder.build(key))
            return dict(record.data) if record else {}

    async def _save(self, session: AsyncSession, record: FsmRecord) -> None:
        if record.state is None and not record.data:
            state = inspect(record)
            if state.persistent:
                await session.delete(record)
            elif state.pending:
                session.expunge(record)
        else:
            session.add(record)
        await session.flush()

    async def close(self) -> None:
        return None
