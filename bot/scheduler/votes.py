"""Votes and consultations over time: announcing at opening, reminding before closing,
closing and publishing the result.

Each vote is claimed by a conditional UPDATE in its own transaction (see
``bot.services.votes.close``), so several workers may run these jobs at once and a vote
still closes, announces and reminds exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.scheduler import job
from bot.services import votes

log = logging.getLogger(__name__)


async def _each(
    factory: async_sessionmaker[AsyncSession],
    ids: list[int],
    act: Callable[[AsyncSession, int], Awaitable[int | bool]],
    what: str,
) -> int:
    done = 0
    for vote_id in ids:
        async with factory() as session:
            try:
                if await act(session, vote_id):
                    done += 1
                await session.commit()
            except Exception:
                await session.rollback()
                log.exception("%s vote %s failed", what, vote_id)
    return done


@job("votes.close", every=30)
async def close_due_votes(factory: async_sessionmaker[AsyncSession], now: datetime) -> int:
    async with factory() as session:
        ids = await votes.due_closings(session, now)
    return await _each(factory, ids, lambda s, i: votes.close(s, i, now), "closing")


@job("votes.announce", every=30)
async def announce_opened_votes(factory: async_sessionmaker[AsyncSession], now: datetime) -> int:
    async with factory() as session:
        ids = await votes.due_announcements(session, now)
    return await _each(factory, ids, votes.announce, "announcing")


@job("votes.remind", every=300)
async def remind_before_closing(factory: async_sessionmaker[AsyncSession], now: datetime) -> int:
    async with factory() as session:
        ids = await votes.due_reminders(session, now)
    return await _each(factory, ids, lambda s, i: votes.remind(s, i, now), "reminding")
