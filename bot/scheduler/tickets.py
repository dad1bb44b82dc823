"""Ticket deadlines: escalating late tickets and the offices' daily digest.

Each ticket and each digest is claimed in its own short transaction by a conditional
write (see ``bot.services.tickets.escalate`` and ``send_digest``), so several workers may
run these jobs at once and people are still told exactly once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.scheduler import job
from bot.services import tickets

log = logging.getLogger(__name__)


@job("tickets.escalate", every=300)
async def escalate_late_tickets(factory: async_sessionmaker[AsyncSession], now: datetime) -> int:
    async with factory() as session:
        items = await tickets.due_escalations(session, now)
        await session.commit()
    done = 0
    for item in items:
        async with factory() as session:
            try:
                if await tickets.escalate(session, item):
                    done += 1
                await session.commit()
            except Exception:
                await session.rollback()
                log.exception("escalating ticket %s failed", item.ticket_id)
    return done


@job("tickets.digest", every=600)
async def send_office_digests(factory: async_sessionmaker[AsyncSession], now: datetime) -> int:
    async with factory() as session:
        due = await tickets.digest_offices(session, now)
        await session.commit()
    done = 0
    for office_id, day in due:
        async with factory() as session:
            if await tickets.send_digest(session, office_id, day):
                done += 1
            await session.commit()
    return done
