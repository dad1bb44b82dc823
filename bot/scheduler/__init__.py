"""Deadlines: closing votes, reminders, expiring notices, escalating late tickets.

Each feature adds a module here with functions decorated by ``@job``. The scheduler calls
every job on its period in whichever process runs it (``wardbot run`` for one ward,
``wardbot worker`` in production), so several may run the same job at once. A job must
therefore claim each piece of work with a conditional update, e.g.
``UPDATE vote SET status='closed' WHERE id=:id AND status='open'``, and act only when it
changed a row: that is what makes a vote close exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import pkgutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock

log = logging.getLogger(__name__)

JobFunc = Callable[[async_sessionmaker[AsyncSession], datetime], Awaitable[int]]


@dataclass
class Job:
    name: str
    every: float
    func: JobFunc


_jobs: dict[str, Job] = {}


def job(name: str, *, every: float) -> Callable[[JobFunc], JobFunc]:
    """Register ``func(factory, now) -> count of things done`` to run every ``every`` s."""

    def register(func: JobFunc) -> JobFunc:
        _jobs[name] = Job(name, every, func)
        return func

    return register


def load_jobs() -> dict[str, Job]:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return dict(_jobs)


class Scheduler:
    def __init__(self, factory: async_sessionmaker[AsyncSession], tick: float = 5.0) -> None:
        self.factory = factory
        self.tick = tick
        self.jobs = load_jobs()
        self.last_run: dict[str, float] = {}

    async def run_once(self, now: datetime | None = None, *, force: bool = True) -> dict[str, int]:
        """Run every job (or only those due, with ``force=False``); returns work done."""
        done = {}
        moment = time.monotonic()
        for name, item in self.jobs.items():
            if not force and moment - self.last_run.get(name, -1e9) < item.every:
                continue
            self.last_run[name] = moment
            try:
                done[name] = await item.func(self.factory, now or clock.now())
            except Exception:
                log.exception("scheduled job %s failed", name)
                done[name] = 0
        return done

    async def run(self, stop: asyncio.Event) -> None:
        first = True
        while not stop.is_set():
            await self.run_once(force=False)
            if first:
                # Every job has looked once: from here deadlines are watched.
                log.info("scheduler: first round of %d jobs done", len(self.jobs))
                first = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.tick)
