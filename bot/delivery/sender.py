"""The sender: drains the outbox within the messenger's rate limits.

- a global token bucket (Telegram allows about 30 messages/s per bot; 25 by default),
- at most one message per second to a private chat and 20 a minute to a group,
- per messenger (a transport with ``limits``, e.g. Zalo): its own rate and chat pacing,
  on top of the global bucket,
- 429 → wait ``retry_after`` and retry that message, without counting an attempt,
- a quota used up (Zalo's 429, ``quota``): wait as the transport says (its waits grow)
  and retry, counting an attempt, and give up only after ``quota_max_attempts``,
- blocked (Telegram's 403) → mark the person unreachable, stop writing to them,
- any other error → retry with exponential backoff, then fail keeping the error.

How a row travels, and why it is sent exactly once:

1. **Claim.** The sender first takes tokens from the bucket, then claims that many due
   rows in one statement (``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)``
   on PostgreSQL, so several workers never take the same row; SQLite serialises writers
   anyway). A claimed row is ``sending``, owned by this sender (``claimed_by``), with a
   lease in ``next_attempt_at``. Because tokens come first, a claimed row goes out at
   once: the rows ``sending`` at any moment are the messages really in flight.
2. **Send one part.** A message the messenger must split (long text, attachments) goes
   out one part per claim; ``parts_sent`` records progress, and the next part is due
   when the chat may receive again. A retry or a restart resumes at the unsent part.
3. **Settle.** Outcomes are written in small batches (every few tens of milliseconds),
   each update conditional on the row still being ``sending`` and owned by this sender.

A sender that dies leaves its in-flight rows ``sending``. Any sender (the restarted one
at start, the others every few seconds) puts them back: at once when the owner was a
process on this host that no longer exists, otherwise when the lease has expired. Each
such row may have reached its recipient just before the crash, so its ``in_doubt``
counter goes up, the count is logged, and delivery statistics report it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import secrets
import socket
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import bindparam, func, or_, text, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.delivery import wakeup
from bot.delivery.outbox import mark_blocked
from bot.delivery.render import Outgoing, get_renderer, is_shared
from bot.i18n import get_i18n
from bot.models import Delivery, DeliveryStatus

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

HOST = socket.gethostname()
# Senders alive in this process, so a restarted container that reuses a pid (pid 1)
# still tells its own live senders from the dead one before it.
_LIVE: set[str] = set()


@dataclass
class SendResult:
    ok: bool
    message_id: str | None = None
    retry_after: float | None = None
    blocked: bool = False
    # Retrying cannot help (e.g. the chat does not exist): fail at once.
    permanent: bool = False
    # The request may have reached the messenger although it failed (a timeout).
    uncertain: bool = False
    # The messenger's quota is used up (with ``retry_after``): an attempt is counted.
    quota: bool = False
    error: str | None = None


class Transport(Protocol):
    """One messenger. ``split`` turns a message into the requests it takes, in order.

    A transport may carry ``limits`` (ChannelLimits): that messenger's own rate and chat
    pacing; without them it shares the sender's (Telegram's)."""

    channel: str

    def split(self, message: Outgoing) -> Sequence[Any]: ...

    async def send(self, chat_id: str, part: Any) -> SendResult: ...


@dataclass
class Limits:
    per_second: float = 25.0
    # Tokens the bucket may hold: a short burst. Kept well below the messenger's own
    # bucket (Telegram's holds about a second), so jitter on the way does not trip it.
    burst: float | None = None
    private_interval: float = 1.0
    group_per_minute: int = 20
    max_attempts: int = 5
    # Tries refused for a used-up quota before a message is given up: with waits that
    # grow to 10 minutes (bot/zalo/quota.py), about three hours.
    quota_max_attempts: int = 24
    backoff_base: float = 2.0
    backoff_max: float = 900.0
    # Requests in flight at once (a slow messenger must not stall the whole queue).
    concurrency: int = 64
    # Seconds a claim lasts before another sender may take the row over.
    lease: float = 120.0
    # How long to gather tokens for one claim, and outcomes for one write: a few rows
    # each rather than one transaction per message (default: scaled to the rate).
    gather: float | None = None
    claim_max: int = 200
    settle_interval: float | None = None

    @property
    def gather_seconds(self) -> float:
        if self.gather is not None:
            return self.gather
        return min(0.25, max(0.05, 5 / self.per_second))

    @property
    def settle_seconds(self) -> float:
        if self.settle_interval is not None:
            return self.settle_interval
        return min(0.25, max(0.05, 10 / self.per_second))

    @property
    def capacity(self) -> float:
        return self.burst if self.burst is not None else max(1.0, self.per_second / 5)

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            per_second=settings.delivery_rate,
            burst=settings.delivery_burst,
            private_interval=settings.delivery_private_interval,
            group_per_minute=settings.delivery_group_per_minute,
            max_attempts=settings.delivery_max_attempts,
            concurrency=settings.delivery_concurrency,
            lease=settings.delivery_lease,
        )


@dataclass
class ChannelLimits:
    """One messenger's limits, applied on top of the sender's global ones."""

    per_second: float
    private_interval: float = 1.0
    group_per_minute: int = 20


class TokenBucket:
    """The global rate: ``rate`` tokens a second, at most ``capacity`` saved up."""

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, capacity)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self.paused_until = 0.0
        self._lock = asyncio.Lock()

    def _refill(self, now: float) -> None:
        start = max(self.updated, self.paused_until)
        if now > start:
            self.tokens = min(self.capacity, self.tokens + (now - start) * self.rate)
        self.updated = max(self.updated, now)

    async def take(self, wanted: int, gather: float = 0.0) -> int:
        """Wait for at least one token, then up to ``gather`` seconds for ``wanted``;
        take and return as many whole tokens as are there (at most ``wanted``)."""
        wanted = max(1, wanted)
        async with self._lock:
            deadline: float | None = None
            while True:
                now = time.monotonic()
                if now < self.paused_until:
                    await asyncio.sleep(self.paused_until - now)
                    continue
                self._refill(now)
                target = min(wanted, int(self.capacity))
                if self.tokens >= target or (
                    self.tokens >= 1 and deadline is not None and now >= deadline
                ):
                    taken = min(wanted, int(self.tokens))
                    self.tokens -= taken
                    return taken
                if self.tokens >= 1 and deadline is None:
                    deadline = now + gather
                need = (1 if deadline is None else target) - self.tokens
                delay = need / self.rate
                if deadline is not None:
                    delay = min(delay, max(0.0, deadline - now))
                await asyncio.sleep(max(delay, 0.001))

    def try_take(self) -> bool:
        """One token now if there is one, without waiting."""
        now = time.monotonic()
        if now < self.paused_until:
            return False
        self._refill(now)
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def give_back(self, count: int) -> None:
        self.tokens = min(self.capacity, self.tokens + count)

    def pause(self, seconds: float) -> None:
        """Send nothing for a while: the messenger said we went too fast."""
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)
        self.tokens = 0.0


class ChatPacer:
    """When each chat may receive its next message (this process's view).

    A private chat gets at most one message per ``private_interval``. A group chat gets
    at most ``group_per_minute`` in any 60 seconds (Telegram's rule is a window, not a
    rate): a notice's parts or a ticket card and its photo go out together, a busy
    group waits.
    """

    def __init__(self, private_interval: float, group_per_minute: int) -> None:
        self.private_interval = private_interval
        self.group_per_minute = group_per_minute
        self.next_free: dict[str, float] = {}
        self.group_sent: dict[str, deque[float]] = {}

    def wait(self, chat_key: str) -> float:
        """Seconds until the chat is free for a private message; 0 when it is."""
        return max(0.0, self.next_free.get(chat_key, 0.0) - time.monotonic())

    def try_book(self, chat_key: str, is_group: bool) -> float:
        """Book the chat for a message now if it is free (returns 0), else return the
        seconds until it is. Check and booking are one step: two rows for one chat
        sent side by side must not both find it free."""
        now = time.monotonic()
        free_at = self.next_free.get(chat_key, 0.0)
        if free_at > now:
            return free_at - now
        if is_group:
            sent = self.group_sent.setdefault(chat_key, deque())
            while sent and sent[0] <= now - 60.0:
                sent.popleft()
            if len(sent) >= self.group_per_minute:
                return sent[0] + 60.0 - now
            sent.append(now)
        else:
            self.next_free[chat_key] = now + self.private_interval
        if len(self.next_free) > 50_000:
            self._forget_past(now)
        return 0.0

    def sent(self, chat_key: str, is_group: bool) -> None:
        """The booked message went out just now (rendering or the network may have taken
        a while since the booking): count the interval from now."""
        now = time.monotonic()
        if is_group:
            stamps = self.group_sent.get(chat_key)
            if stamps:
                stamps[-1] = max(stamps[-1], now)
        else:
            self.next_free[chat_key] = max(
                self.next_free.get(chat_key, 0.0), now + self.private_interval
            )

    def release(self, chat_key: str, is_group: bool) -> None:
        """Undo the last booking: the message was not sent after all."""
        if is_group:
            sent = self.group_sent.get(chat_key)
            if sent:
                sent.pop()
        else:
            self.next_free.pop(chat_key, None)

    def hold(self, chat_key: str, seconds: float) -> None:
        """Nothing to this chat for a while (the messenger answered 429)."""
        self.next_free[chat_key] = max(
            self.next_free.get(chat_key, 0.0), time.monotonic() + seconds
        )

    def _forget_past(self, now: float) -> None:
        self.next_free = {k: v for k, v in self.next_free.items() if v > now}
        self.group_sent = {k: v for k, v in self.group_sent.items() if v and v[-1] > now - 60}


@dataclass
class Stats:
    sent: int = 0
    # Parts of multi-part messages sent (the message counts in ``sent`` when complete).
    parts: int = 0
    failed: int = 0
    blocked: int = 0
    retried_429: int = 0
    retried: int = 0
    deferred: int = 0
    dropped: int = 0
    recovered_in_flight: int = 0
    requests: int = 0


@dataclass
class Claimed:
    """A claimed row: the columns the sender needs, without an ORM object."""

    id: int
    kind: str
    params: dict[str, Any]
    priority: int
    person_id: int | None
    channel: str
    chat_id: str
    is_group: bool
    language: str
    ref_type: str | None
    ref_id: int | None
    attempts: int
    parts_sent: int
    external_message_id: str | None

    @property
    def chat_key(self) -> str:
        return f"{self.channel}:{self.chat_id}"

    def as_delivery(self) -> Delivery:
        return Delivery(
            id=self.id,
            kind=self.kind,
            params=self.params,
            priority=self.priority,
            person_id=self.person_id,
            channel=self.channel,
            chat_id=self.chat_id,
            is_group=self.is_group,
            language=self.language,
            ref_type=self.ref_type,
            ref_id=self.ref_id,
            attempts=self.attempts,
            parts_sent=self.parts_sent,
        )


# Written as SQL literals, not bound parameters: only then can SQLite (and PostgreSQL's
# generic plans) see that the partial indexes on pending and sending rows apply.
_PENDING = text("delivery.status = 'pending'")
_SENDING = text("delivery.status = 'sending'")

_CLAIMED_COLUMNS = [
    Delivery.id,
    Delivery.kind,
    Delivery.params,
    Delivery.priority,
    Delivery.person_id,
    Delivery.channel,
    Delivery.chat_id,
    Delivery.is_group,
    Delivery.language,
    Delivery.ref_type,
    Delivery.ref_id,
    Delivery.attempts,
    Delivery.parts_sent,
    Delivery.external_message_id,
]


@dataclass
class Outcome:
    """What becomes of a claimed row; written by the settler."""

    row: Claimed
    status: DeliveryStatus
    attempts: int
    parts_sent: int
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    external_message_id: str | None = None
    error: str | None = None
    in_doubt: int = 0
    blocked_chat: bool = False


@dataclass
class _Rendered:
    message: Outgoing | None
    parts: Sequence[Any]
    expires: float


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
        self.bucket = TokenBucket(self.limits.per_second, self.limits.capacity)
        self.pacer = ChatPacer(self.limits.private_interval, self.limits.group_per_minute)
        # Messengers with limits of their own: a bucket and a pacer each.
        self._buckets: dict[str, TokenBucket] = {}
        self._pacers: dict[str, ChatPacer] = {}
        for name, transport in transports.items():
            own: ChannelLimits | None = getattr(transport, "limits", None)
            if own is not None:
                self._buckets[name] = TokenBucket(own.per_second, max(1.0, own.per_second / 5))
                self._pacers[name] = ChatPacer(own.private_interval, own.group_per_minute)
        self.stats = Stats()
        self.wake = asyncio.Event()
        self.worker_id = f"{HOST}:{os.getpid()}:{secrets.token_hex(6)}"[-96:]
        self._inflight: set[asyncio.Task[None]] = set()
        self._slot_freed = asyncio.Event()
        self._outcomes: list[Outcome] = []
        self._outcome_added = asyncio.Event()
        self._render_cache: dict[tuple[Any, ...], asyncio.Future[_Rendered]] = {}
        self._dialect: str | None = None

    # --- running -----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        _LIVE.add(self.worker_id)
        wakeup.bind(self.wake)
        done = asyncio.Event()
        settler = asyncio.create_task(self._settle_loop(done), name="sender-settle")
        keeper = asyncio.create_task(self._recovery_loop(done), name="sender-recover")
        try:
            try:
                await self.recover()
            except Exception:
                log.exception("recovering outbox rows failed; trying again later")
            while not stop.is_set():
                try:
                    claimed = await self._claim_next()
                except Exception:
                    log.exception("claiming outbox rows failed")
                    claimed = 0
                    await _sleep_or_stop(stop, self.poll_interval)
                if not claimed and not stop.is_set():
                    await self._idle(stop)
        finally:
            # Let the requests already made finish and record what became of them.
            await self._finish_inflight()
            done.set()
            await asyncio.gather(settler, keeper, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self._flush_outcomes()
            _LIVE.discard(self.worker_id)
            wakeup.bind(None)

    async def drain(self, *, max_rows: int | None = None) -> int:
        """Send everything due now and wait for it to settle (tests, one-off commands).
        Returns how many rows were claimed (a multi-part row counts once per part)."""
        _LIVE.add(self.worker_id)
        total = 0
        try:
            while max_rows is None or total < max_rows:
                claimed = await self._claim_next(limit=max_rows and max_rows - total)
                if not claimed:
                    break
                total += claimed
                await self._finish_inflight()
                await self._flush_outcomes()
            await self._finish_inflight()
            await self._flush_outcomes()
        finally:
            _LIVE.discard(self.worker_id)
        return total

    async def _claim_next(self, limit: int | None = None) -> int:
        """Take tokens, claim that many due rows, start sending them."""
        self.wake.clear()
        while len(self._inflight) >= self.limits.concurrency:
            self._slot_freed.clear()
            await self._slot_freed.wait()
        free = self.limits.concurrency - len(self._inflight)
        wanted = min(free, self.limits.claim_max, limit or self.limits.claim_max)
        tokens = await self.bucket.take(wanted, self.limits.gather_seconds)
        rows = await self._claim(tokens)
        if len(rows) < tokens:
            self.bucket.give_back(tokens - len(rows))
        for row in rows:
            task = asyncio.create_task(self._deliver(row))
            self._inflight.add(task)
            task.add_done_callback(self._task_done)
        return len(rows)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._slot_freed.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed", exc_info=task.exception())

    async def _idle(self, stop: asyncio.Event) -> None:
        """Nothing due: wait for new rows, the next deferred one, or the poll interval."""
        timeout = self.poll_interval
        with contextlib.suppress(Exception):
            due = await self._next_due()
            if due is not None:
                timeout = min(timeout, max(0.01, (due - clock.now()).total_seconds()))
        waiters = [
            asyncio.ensure_future(self.wake.wait()),
            asyncio.ensure_future(stop.wait()),
        ]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _finish_inflight(self) -> None:
        while self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)

    # --- claiming ----------------------------------------------------------------------

    async def _claim(self, count: int) -> list[Claimed]:
        if count <= 0:
            return []
        now = clock.now()
        async with self.factory() as session:
            if self._dialect is None:
                self._dialect = session.get_bind().dialect.name
            due = (
                select(Delivery.id)
                .where(_PENDING, col(Delivery.next_attempt_at) <= now)
                .order_by(
                    col(Delivery.priority).desc(), col(Delivery.next_attempt_at), col(Delivery.id)
                )
                .limit(count)
            )
            if self._dialect == "postgresql":
                due = due.with_for_update(skip_locked=True)
            # A CTE, not "id IN (subquery)": PostgreSQL may run an IN subquery more than
            # once, and with SKIP LOCKED each run finds other rows, claiming too many.
            chosen = due.cte("chosen")
            statement = (
                update(Delivery)
                .where(
                    col(Delivery.id) == chosen.c.id,
                    col(Delivery.status) == DeliveryStatus.PENDING,
                )
                .values(
                    status=DeliveryStatus.SENDING,
                    claimed_by=self.worker_id,
                    next_attempt_at=now + timedelta(seconds=self.limits.lease),
                )
                .returning(*_CLAIMED_COLUMNS)
            )
            connection = await session.connection()
            result = await connection.execute(statement)
            rows = [Claimed(*r) for r in result.all()]
            await session.commit()
        rows.sort(key=lambda r: (-r.priority, r.id))
        return rows

    async def _next_due(self) -> datetime | None:
        async with self.factory() as session:
            return (
                await session.exec(select(func.min(Delivery.next_attempt_at)).where(_PENDING))
            ).one()

    # --- sending -----------------------------------------------------------------------

    async def _deliver(self, row: Claimed) -> None:
        """Send the row's next part; the token for it was taken before the claim."""
        outcome = await self._attempt(row)
        self._outcomes.append(outcome)
        self._outcome_added.set()

    async def _attempt(self, row: Claimed) -> Outcome:
        now = clock.now()
        keep = {"attempts": row.attempts, "parts_sent": row.parts_sent}
        transport = self.transports.get(row.channel)
        render = get_renderer(row.kind)
        if transport is None or render is None:
            return self._failure(row, f"no transport or renderer for {row.channel}/{row.kind}")
        pacer = self._pacers.get(row.channel, self.pacer)
        channel_bucket = self._buckets.get(row.channel)
        if channel_bucket is not None and not channel_bucket.try_take():
            # This messenger's own rate is used up: back to the queue, spread out a little
            # so the deferred rows do not all return at once.
            self.bucket.give_back(1)
            self.stats.deferred += 1
            wait = max(
                channel_bucket.paused_until - time.monotonic(),
                (1 + random.random() * channel_bucket.capacity) / channel_bucket.rate,
            )
            return Outcome(
                row,
                DeliveryStatus.PENDING,
                next_attempt_at=now + timedelta(seconds=wait),
                external_message_id=row.external_message_id,
                **keep,
            )
        wait = pacer.try_book(row.chat_key, row.is_group)
        if wait > 0:
            # The chat had a message moments ago: give the row back for later and the
            # token back to the others.
            self._give_back(channel_bucket)
            self.stats.deferred += 1
            return Outcome(
                row,
                DeliveryStatus.PENDING,
                next_attempt_at=now + timedelta(seconds=wait),
                external_message_id=row.external_message_id,
                **keep,
            )
        try:
            rendered = await self._render(row, transport)
        except Exception as exc:
            log.exception("rendering %s #%s failed", row.kind, row.id)
            self._give_back(channel_bucket)
            pacer.release(row.chat_key, row.is_group)
            return self._failure(row, f"render: {exc}")
        if rendered.message is None or row.parts_sent >= len(rendered.parts):
            self._give_back(channel_bucket)
            pacer.release(row.chat_key, row.is_group)
            self.stats.dropped += 1
            return Outcome(
                row,
                DeliveryStatus.DROPPED,
                error="no longer relevant",
                external_message_id=row.external_message_id,
                **keep,
            )
        parts = rendered.parts
        while True:
            self.stats.requests += 1
            try:
                result = await transport.send(row.chat_id, parts[row.parts_sent])
            except Exception as exc:
                log.exception("sending %s #%s failed", row.kind, row.id)
                result = SendResult(ok=False, error=f"{type(exc).__name__}: {exc}")
            pacer.sent(row.chat_key, row.is_group)
            if not result.ok or row.parts_sent + 1 >= len(parts):
                return self._outcome(row, result, len(parts))
            # More parts: go on at once if the chat allows it (a group gets a notice's
            # parts, a ticket card its photo, together), else give the row back until
            # it does. The row is already in flight, so it may wait its turn for a token.
            row = replace(
                row,
                parts_sent=row.parts_sent + 1,
                external_message_id=row.external_message_id or result.message_id,
            )
            self.stats.parts += 1
            wait = pacer.try_book(row.chat_key, row.is_group)
            if wait > 0:
                return Outcome(
                    row,
                    DeliveryStatus.PENDING,
                    attempts=row.attempts,
                    parts_sent=row.parts_sent,
                    next_attempt_at=clock.now() + timedelta(seconds=wait),
                    external_message_id=row.external_message_id,
                )
            await self.bucket.take(1)
            if channel_bucket is not None:
                await channel_bucket.take(1)

    def _give_back(self, channel_bucket: TokenBucket | None) -> None:
        """Nothing was sent after all: the tokens taken for the row go back."""
        self.bucket.give_back(1)
        if channel_bucket is not None:
            channel_bucket.give_back(1)

    def _outcome(self, row: Claimed, result: SendResult, parts: int) -> Outcome:
        now = clock.now()
        message_id = row.external_message_id or result.message_id
        if result.ok:
            self.stats.sent += 1
            # Which process sent what: how a test proves two workers never send one row twice.
            log.debug("delivery %s sent by %s", row.id, self.worker_id)
            return Outcome(
                row,
                DeliveryStatus.SENT,
                attempts=row.attempts + 1,
                parts_sent=parts,
                sent_at=now,
                external_message_id=message_id,
            )
        if result.retry_after:
            # Too fast: wait as told, and retry this very part; no attempt is counted,
            # unless a quota is used up: then the wait grows and the tries are counted.
            self.stats.retried_429 += 1
            attempts = row.attempts + 1 if result.quota else row.attempts
            if result.quota and attempts >= self.limits.quota_max_attempts:
                return self._failure(row, result.error or "quota exceeded", permanent=True)
            self._pacers.get(row.channel, self.pacer).hold(row.chat_key, result.retry_after)
            if not row.is_group:
                # A private chat tolerates bursts; a 429 there means the bot as a whole
                # went too fast (or another process shares the token): everyone on that
                # messenger waits (a Zalo 429 does not hold Telegram back).
                self._buckets.get(row.channel, self.bucket).pause(result.retry_after)
            return Outcome(
                row,
                DeliveryStatus.PENDING,
                attempts=attempts,
                parts_sent=row.parts_sent,
                next_attempt_at=now + timedelta(seconds=result.retry_after),
                external_message_id=message_id,
                error=(result.error or "429")[:500],
            )
        if result.blocked:
            self.stats.blocked += 1
            return Outcome(
                row,
                DeliveryStatus.BLOCKED,
                attempts=row.attempts + 1,
                parts_sent=row.parts_sent,
                external_message_id=message_id,
                error=(result.error or "blocked")[:500],
                blocked_chat=not row.is_group,
            )
        outcome = self._failure(row, result.error or "unknown error", permanent=result.permanent)
        outcome.external_message_id = message_id
        if result.uncertain:
            outcome.in_doubt = 1
        return outcome

    def _failure(self, row: Claimed, error: str, *, permanent: bool = False) -> Outcome:
        attempts = row.attempts + 1
        if permanent or attempts >= self.limits.max_attempts:
            self.stats.failed += 1
            return Outcome(
                row,
                DeliveryStatus.FAILED,
                attempts=attempts,
                parts_sent=row.parts_sent,
                external_message_id=row.external_message_id,
                error=error[:500],
            )
        self.stats.retried += 1
        delay = min(self.limits.backoff_max, self.limits.backoff_base**attempts)
        return Outcome(
            row,
            DeliveryStatus.PENDING,
            attempts=attempts,
            parts_sent=row.parts_sent,
            next_attempt_at=clock.now() + timedelta(seconds=delay),
            external_message_id=row.external_message_id,
            error=error[:500],
        )

    async def _render(self, row: Claimed, transport: Transport) -> _Rendered:
        """Render the row, sharing one rendering among rows of a ``shared`` kind."""
        if not is_shared(row.kind):
            return await self._render_now(row, transport, expires=0.0)
        key = (
            row.kind,
            row.channel,
            row.language,
            row.is_group,
            json.dumps(row.params, sort_keys=True, default=str),
        )
        now = time.monotonic()
        cached = self._render_cache.get(key)
        if cached is not None and (not cached.done() or cached.result().expires > now):
            return await asyncio.shield(cached)
        future: asyncio.Future[_Rendered] = asyncio.get_running_loop().create_future()
        self._render_cache[key] = future
        if len(self._render_cache) > 1000:
            self._render_cache = {
                k: v
                for k, v in self._render_cache.items()
                if not v.done() or (v.exception() is None and v.result().expires > now)
            }
            self._render_cache[key] = future
        try:
            # A notice edited or withdrawn shows within this many seconds.
            rendered = await self._render_now(row, transport, expires=now + 2.0)
        except BaseException as exc:
            self._render_cache.pop(key, None)
            future.set_exception(exc)
            # Retrieved here, so an unawaited failure is not logged twice.
            future.exception()
            raise
        future.set_result(rendered)
        return rendered

    async def _render_now(self, row: Claimed, transport: Transport, expires: float) -> _Rendered:
        render = get_renderer(row.kind)
        assert render is not None
        async with self.factory() as session:
            with get_i18n().use_locale(row.language):
                message = await render(session, row.as_delivery())
        parts = transport.split(message) if message is not None else []
        return _Rendered(message, parts, expires)

    # --- settling ----------------------------------------------------------------------

    async def _settle_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set() or self._outcomes:
            if not self._outcomes:
                self._outcome_added.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._outcome_added.wait(), timeout=0.5)
                continue
            await asyncio.sleep(self.limits.settle_seconds)
            try:
                await self._flush_outcomes()
            except Exception:
                log.exception("settling outbox rows failed; retrying")
                await asyncio.sleep(1.0)
                if stop.is_set():
                    break

    async def _flush_outcomes(self) -> None:
        if not self._outcomes:
            return
        batch, self._outcomes = self._outcomes, []
        try:
            await self._write_outcomes(batch)
        except BaseException:
            # Kept for the next flush; if the process dies, the rows stay ``sending``
            # and are recovered as in doubt.
            self._outcomes = batch + self._outcomes
            raise

    async def _write_outcomes(self, batch: list[Outcome]) -> None:
        table = Delivery.__table__  # type: ignore[attr-defined]
        statement = (
            update(table)
            .where(
                table.c.id == bindparam("b_id"),
                table.c.status == DeliveryStatus.SENDING,
                table.c.claimed_by == self.worker_id,
            )
            .values(
                status=bindparam("b_status"),
                attempts=bindparam("b_attempts"),
                parts_sent=bindparam("b_parts"),
                next_attempt_at=bindparam("b_next"),
                sent_at=bindparam("b_sent"),
                external_message_id=bindparam("b_message"),
                error=bindparam("b_error"),
                in_doubt=table.c.in_doubt + bindparam("b_doubt"),
                claimed_by=None,
            )
        )
        params = [
            {
                "b_id": o.row.id,
                "b_status": o.status.value,
                "b_attempts": o.attempts,
                "b_parts": o.parts_sent,
                "b_next": o.next_attempt_at,
                "b_sent": o.sent_at,
                "b_message": o.external_message_id,
                "b_error": o.error,
                "b_doubt": o.in_doubt,
            }
            for o in batch
        ]
        blocked = {(o.row.channel, o.row.chat_id) for o in batch if o.blocked_chat}
        async with self.factory() as session:
            connection = await session.connection()
            await connection.execute(statement, params)
            for channel, chat_id in blocked:
                await mark_blocked(session, channel, chat_id)
            await session.commit()

    # --- recovering from a dead sender -------------------------------------------------

    async def _recovery_loop(self, stop: asyncio.Event) -> None:
        period = max(1.0, self.limits.lease / 4)
        while not stop.is_set():
            await _sleep_or_stop(stop, period)
            if stop.is_set():
                return
            try:
                await self.recover()
            except Exception:
                log.exception("recovering outbox rows failed")

    async def recover(self) -> int:
        """Put back rows a dead sender left in flight; returns how many (each counted
        as in doubt: its recipient may already have it)."""
        now = clock.now()
        async with self.factory() as session:
            owners = (
                await session.exec(select(Delivery.claimed_by).where(_SENDING).distinct())
            ).all()
            dead = [o for o in owners if o is not None and o != self.worker_id and _is_dead(o)]
            condition = [col(Delivery.next_attempt_at) < now, col(Delivery.claimed_by).is_(None)]
            if dead:
                condition.append(col(Delivery.claimed_by).in_(dead))
            result = await session.exec(
                update(Delivery)
                .where(
                    _SENDING,
                    or_(*condition),
                    or_(
                        col(Delivery.claimed_by).is_(None),
                        col(Delivery.claimed_by) != self.worker_id,
                    ),
                )
                .values(
                    status=DeliveryStatus.PENDING,
                    claimed_by=None,
                    next_attempt_at=now,
                    in_doubt=col(Delivery.in_doubt) + 1,
                )
            )
            await session.commit()
        count = int(result.rowcount or 0)  # type: ignore[attr-defined]
        if count:
            log.warning(
                "%d outbox messages were in flight when a sender stopped (%s); they are "
                "sent again, and their recipients may receive them twice",
                count,
                ", ".join(dead) or "lease expired",
            )
            self.stats.recovered_in_flight += count
            self.wake.set()
        return count


def _is_dead(owner: str) -> bool:
    """Whether the sender named ``owner`` ("host:pid:token") is known to be gone."""
    try:
        host, pid_text, _token = owner.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return True
    if host != HOST:
        return False  # another machine: only its lease can tell
    if pid == os.getpid():
        return owner not in _LIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    # A killed child its parent has not reaped yet still has a pid, as a zombie.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
