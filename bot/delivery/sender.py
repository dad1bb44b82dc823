"""The sender: drains the outbox within the messenger's rate limits.

- a global token bucket (Telegram allows about 30 messages/s per bot; 25 by default),
- at most one message per second to a private chat and 20 a minute to a group,
- 429 → wait ``retry_after`` and retry that message, without counting an attempt,
- 403 → the person blocked the bot: mark them unreachable, stop writing to them,
- any other error → retry with exponential backoff, then fail keeping the error.

Rows are claimed by moving them to ``sending`` in their own short transaction (with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers never take the same row)
and settled in another; a row still ``sending`` when the process starts was in flight
when the previous one died, and is sent again (counted and reported).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.delivery import wakeup
from bot.delivery.outbox import mark_blocked
from bot.delivery.render import Outgoing, get_renderer
from bot.i18n import get_i18n
from bot.models import Delivery, DeliveryStatus

log = logging.getLogger(__name__)


@dataclass
class SendResult:
    ok: bool
    message_id: str | None = None
    retry_after: float | None = None
    blocked: bool = False
    # Retrying cannot help (e.g. the chat does not exist): fail at once.
    permanent: bool = False
    error: str | None = None


class Transport(Protocol):
    channel: str

    async def send(self, chat_id: str, message: Outgoing) -> SendResult: ...


@dataclass
class Limits:
    per_second: float = 25.0
    private_interval: float = 1.0
    group_per_minute: int = 20
    max_attempts: int = 5
    backoff_base: float = 2.0
    batch: int = 200
    concurrency: int = 32


class TokenBucket:
    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)


@dataclass
class ChatPacer:
    """When each chat may receive its next message."""

    private_interval: float
    group_interval: float
    next_free: dict[str, float] = field(default_factory=dict)

    def reserve(self, chat_key: str, is_group: bool) -> float:
        """Book the chat's next slot; returns seconds to wait for it."""
        now = time.monotonic()
        slot = max(now, self.next_free.get(chat_key, 0.0))
        self.next_free[chat_key] = slot + (
            self.group_interval if is_group else self.private_interval
        )
        return slot - now

    def hold(self, chat_key: str, seconds: float) -> None:
        self.next_free[chat_key] = max(
            self.next_free.get(chat_key, 0.0), time.monotonic() + seconds
        )


@dataclass
class Stats:
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    retried_429: int = 0
    dropped: int = 0
    recovered_in_flight: int = 0


class Sender:
    def __init__(
        self,
        factory: async_sessionmaker[AsyncSession],
        transports: dict[str, Transport],
        limits: Limits | None = None,
        poll_interval: float = 1.0,
    ) -> None:
        self.factory = factory
        self.transports = transports
        self.limits = limits or Limits()
        self.poll_interval = poll_interval
        self.bucket = TokenBucket(self.limits.per_second)
        self.pacer = ChatPacer(self.limits.private_interval, 60.0 / self.limits.group_per_minute)
        self.stats = Stats()
        self.wake = asyncio.Event()

    async def recover(self) -> int:
        """Put back rows a killed process left in flight; returns how many."""
        async with self.factory() as session:
            result = await session.exec(
                update(Delivery)
                .where(col(Delivery.status) == DeliveryStatus.SENDING)
                .values(status=DeliveryStatus.PENDING)
            )
            await session.commit()
        count = result.rowcount or 0  # type: ignore[attr-defined]
        if count:
            log.warning("%d outbox messages were in flight when the last process stopped", count)
        self.stats.recovered_in_flight += count
        return count

    async def run(self, stop: asyncio.Event) -> None:
        wakeup.bind(self.wake)
        await self.recover()
        while not stop.is_set():
            try:
                handled = await self.drain_once()
            except Exception:
                log.exception("sender pass failed")
                handled = 0
            if handled:
                continue
            self.wake.clear()
            waiter = asyncio.ensure_future(self.wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait(
                {waiter, stopper}, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED
            )
            waiter.cancel()
            stopper.cancel()

    async def drain_once(self) -> int:
        """Claim a batch of due rows and send them; returns how many were handled."""
        rows = await self._claim()
        if not rows:
            return 0
        semaphore = asyncio.Semaphore(self.limits.concurrency)
        later: list[tuple[int, float]] = []
        tasks = []
        for row in rows:
            wait = self.pacer.reserve(f"{row.channel}:{row.chat_id}", row.is_group)
            if wait > 1.0:
                # The chat is busy for a while: give the row back instead of blocking others.
                later.append((row.id, wait))  # type: ignore[arg-type]
                continue
            tasks.append(asyncio.create_task(self._send(row, wait, semaphore)))
        results = await asyncio.gather(*tasks)
        await self._settle(results, later)
        return len(rows)

    async def _claim(self) -> list[Delivery]:
        now = clock.now()
        async with self.factory() as session:
            query = (
                select(Delivery)
                .where(
                    col(Delivery.status) == DeliveryStatus.PENDING,
                    or_(
                        col(Delivery.next_attempt_at).is_(None),
                        col(Delivery.next_attempt_at) <= now,
                    ),
                )
                .order_by(col(Delivery.priority).desc(), col(Delivery.id))
                .limit(self.limits.batch)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = list((await session.exec(query)).all())
            if rows:
                await session.exec(
                    update(Delivery)
                    .where(col(Delivery.id).in_([r.id for r in rows]))
                    .values(status=DeliveryStatus.SENDING)
                )
            await session.commit()
            return rows

    async def _send(
        self, row: Delivery, wait: float, semaphore: asyncio.Semaphore
    ) -> tuple[Delivery, SendResult | None]:
        if wait > 0:
            await asyncio.sleep(wait)
        async with semaphore:
            transport = self.transports.get(row.channel)
            render = get_renderer(row.kind)
            if transport is None or render is None:
                return row, SendResult(ok=False, error=f"no transport or renderer for {row.kind}")
            try:
                async with self.factory() as session:
                    with get_i18n().use_locale(row.language):
                        message = await render(session, row)
            except Exception as exc:
                log.exception("rendering %s #%s failed", row.kind, row.id)
                return row, SendResult(ok=False, error=f"render: {exc}"[:500])
            if message is None:
                return row, None
            await self.bucket.acquire()
            try:
                result = await transport.send(row.chat_id, message)
            except Exception as exc:
                log.exception("sending %s #%s failed", row.kind, row.id)
                result = SendResult(ok=False, error=str(exc)[:500])
            if result.retry_after:
                self.pacer.hold(f"{row.channel}:{row.chat_id}", result.retry_after)
            return row, result

    async def _settle(
        self, results: list[tuple[Delivery, SendResult | None]], later: list[tuple[int, float]]
    ) -> None:
        now = clock.now()
        async with self.factory() as session:
            for row_id, wait in later:
                await session.exec(
                    update(Delivery)
                    .where(col(Delivery.id) == row_id)
                    .values(
                        status=DeliveryStatus.PENDING, next_attempt_at=now + timedelta(seconds=wait)
                    )
                )
            blocked_chats: set[tuple[str, str]] = set()
            for row, result in results:
                values: dict[str, object]
                if result is None:
                    self.stats.dropped += 1
                    values = {"status": DeliveryStatus.FAILED, "error": "no longer relevant"}
                elif result.ok:
                    self.stats.sent += 1
                    values = {
                        "status": DeliveryStatus.SENT,
                        "sent_at": now,
                        "attempts": row.attempts + 1,
                        "external_message_id": result.message_id,
                        "error": None,
                    }
                elif result.retry_after:
                    self.stats.retried_429 += 1
                    values = {
                        "status": DeliveryStatus.PENDING,
                        "next_attempt_at": now + timedelta(seconds=result.retry_after),
                    }
                elif result.blocked:
                    self.stats.blocked += 1
                    blocked_chats.add((row.channel, row.chat_id))
                    values = {"status": DeliveryStatus.BLOCKED, "error": result.error}
                elif result.permanent or row.attempts + 1 >= self.limits.max_attempts:
                    self.stats.failed += 1
                    values = {
                        "status": DeliveryStatus.FAILED,
                        "attempts": row.attempts + 1,
                        "error": (result.error or "")[:500],
                    }
                else:
                    delay = self.limits.backoff_base ** (row.attempts + 1)
                    values = {
                        "status": DeliveryStatus.PENDING,
                        "attempts": row.attempts + 1,
                        "next_attempt_at": now + timedelta(seconds=delay),
                        "error": (result.error or "")[:500],
                    }
                await session.exec(
                    update(Delivery).where(col(Delivery.id) == row.id).values(**values)
                )
            for channel, chat_id in blocked_chats:
                await mark_blocked(session, channel, chat_id)
            await session.commit()
