"""Filing notices whose posting period is over."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db import transaction
from bot.scheduler import job
from bot.services import notices


@job("notices.expire", every=300)
async def file_expired(factory: async_sessionmaker[AsyncSession], now: datetime) -> int:
    # Bookkeeping only (an audit entry, queued messages dropped): lists compute expiry
    # from expires_at themselves, so a late or missed run shows nothing wrong.
    async with transaction(factory) as session:
        return await notices.file_expired(session, now)
