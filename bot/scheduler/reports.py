"""Reminding the ward's admins, N days before, of each report the ward file says is due.

Each reminder is claimed by inserting its row (``bot.services.reports.send_reminder``):
several workers may run this job at once and the admins are still told once per due date.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.scheduler import job
from bot.services import oversight, reports

log = logging.getLogger(__name__)


@job("reports.remind", every=3600)
async def remind_report_due(factory: async_sessionmaker[AsyncSession], now: datetime) -> int:
    async with factory() as session:
        items = await reports.reminders_due(session, now)
        await session.commit()
    done = 0
    for item in items:
        async with factory() as session:
            try:
                if await reports.send_reminder(session, item):
                    done += 1
                await session.commit()
            except Exception:
                await session.rollback()
                log.exception("report reminder for ward %s failed", item.ward_id)
    return done


@job("oversight.late", every=900)
async def remind_late_recommendations(
    factory: async_sessionmaker[AsyncSession], now: datetime
) -> int:
    async with factory() as session:
        ids = await oversight.late_recommendations(session, now)
        await session.commit()
    done = 0
    for rec_id in ids:
        async with factory() as session:
            try:
                if await oversight.remind_late(session, rec_id):
                    done += 1
                await session.commit()
            except Exception:
                await session.rollback()
                log.exception("reminding recommendation %s failed", rec_id)
    return done
