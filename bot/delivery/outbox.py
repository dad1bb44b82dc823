"""Writing to the outbox: one row per recipient account, in the caller's transaction.

Nothing is sent here. If the transaction that creates a notice, a vote or a ticket
step rolls back, its messages vanish with it; once it commits, the sender delivers
them even across a crash.

Two ways to queue a message for people:

- ``enqueue(person_ids=[...])`` for a handful of people (a leader, a ticket's author);
- ``enqueue_recipients(recipients=<SELECT person_id, segment>)`` for a broadcast: the
  rows are written by one ``INSERT ... SELECT`` inside the database, so queuing a notice
  for 50,000 households moves no rows through Python.

``enqueue_chat`` queues a message to a group chat.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any

from sqlalchemy import Select, and_, case, false, func, insert, literal, null, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.models import ChannelAccount, Delivery, DeliveryStatus, Person
from bot.models.base import JSONType, UTCDateTime

BLOCKED_ERROR = "recipient had blocked the bot"


class Priority(IntEnum):
    """Which rows the sender takes first when several are due."""

    # Broadcasts to many people: notices, vote announcements, reminders.
    BULK = 0
    # One person's own business: a registration decision, an answer to their ticket.
    # It must not wait behind a 50,000-household broadcast.
    PERSONAL = 50
    # Urgent broadcasts (an urgent notice): before everything else.
    URGENT = 100


@dataclass(frozen=True)
class GroupChat:
    """A messenger group chat (a residential group's or an office's)."""

    channel: str
    chat_id: str


async def enqueue(
    session: AsyncSession,
    *,
    kind: str,
    person_ids: Iterable[int],
    params: dict[str, Any] | None = None,
    priority: int = Priority.PERSONAL,
    ref: tuple[str, int] | None = None,
    not_before: datetime | None = None,
    segments: Mapping[int, int | None] | None = None,
) -> int:
    """Queue ``kind`` for every reachable account of these people; return the row count.

    ``segments`` maps a person to the segment their row is counted under in statistics.
    """
    ids = sorted(set(person_ids))
    if not ids:
        return 0
    rows = []
    now = clock.now()
    # Well under the bound-parameter limits of SQLite (32,766) and asyncpg (32,767).
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        accounts = (
            await session.exec(
                select(ChannelAccount, Person.language)
                .join(Person, col(Person.id) == ChannelAccount.person_id)
                .where(
                    col(ChannelAccount.person_id).in_(chunk),
                    col(ChannelAccount.blocked_at).is_(None),
                )
            )
        ).all()
        for account, language in accounts:
            rows.append(
                _row(
                    kind=kind,
                    params=params,
                    priority=priority,
                    ref=ref,
                    now=now,
                    not_before=not_before,
                    person_id=account.person_id,
                    channel=account.channel,
                    chat_id=account.chat_id,
                    is_group=False,
                    language=language,
                    segment=segments.get(account.person_id) if segments else None,  # type: ignore[arg-type]
                )
            )
    await _insert(session, rows)
    return len(rows)


async def enqueue_recipients(
    session: AsyncSession,
    *,
    kind: str,
    recipients: Select[Any],
    params: dict[str, Any] | None = None,
    priority: int = Priority.BULK,
    ref: tuple[str, int] | None = None,
    not_before: datetime | None = None,
    record_unreachable: bool = False,
) -> int:
    """Queue ``kind`` for every account of the people ``recipients`` selects.

    ``recipients`` is a SELECT of two columns, ``person_id`` and ``segment`` (or NULL),
    one row per person. With ``record_unreachable`` the accounts that blocked the bot get
    a row too, written as ``blocked`` and never sent, so statistics can say how many
    people in scope could not be reached. Returns the number of rows queued for sending.
    """
    now = clock.now()
    chosen = recipients.subquery("recipients")
    person_col, segment_col = list(chosen.c)[:2]
    blocked = col(ChannelAccount.blocked_at).is_not(None)
    query = (
        select(
            literal(now, UTCDateTime()),
            literal(kind),
            literal(params or {}, JSONType),
            literal(int(priority)),
            ChannelAccount.person_id,
            ChannelAccount.channel,
            ChannelAccount.chat_id,
            false(),
            Person.language,
            literal(ref[0]) if ref else null(),
            literal(ref[1]) if ref else null(),
            segment_col,
            case((blocked, literal(DeliveryStatus.BLOCKED.value)), else_=DeliveryStatus.PENDING),
            literal(0),
            literal(not_before or now, UTCDateTime()),
            literal(0),
            literal(0),
            case((blocked, literal(BLOCKED_ERROR)), else_=null()),
        )
        .select_from(chosen)
        .join(ChannelAccount, col(ChannelAccount.person_id) == person_col)
        .join(Person, col(Person.id) == ChannelAccount.person_id)
    )
    if not record_unreachable:
        query = query.where(col(ChannelAccount.blocked_at).is_(None))
    columns = [
        "created_at",
        "kind",
        "params",
        "priority",
        "person_id",
        "channel",
        "chat_id",
        "is_group",
        "language",
        "ref_type",
        "ref_id",
        "segment",
        "status",
        "attempts",
        "next_attempt_at",
        "parts_sent",
        "in_doubt",
        "error",
    ]
    await session.exec(insert(Delivery).from_select(columns, query))
    await session.flush()
    queued_filter = [col(Delivery.status) == DeliveryStatus.PENDING]
    if ref is not None:
        queued_filter += [col(Delivery.ref_type) == ref[0], col(Delivery.ref_id) == ref[1]]
    # Counted afterwards: the driver's rowcount for INSERT ... SELECT is not portable.
    queued = (
        await session.exec(
            select(func.count())
            .select_from(Delivery)
            .where(
                *queued_filter,
                col(Delivery.kind) == kind,
                col(Delivery.created_at) == now,
                col(Delivery.is_group).is_(False),
            )
        )
    ).one()
    if queued:
        _wake_after_commit(session)
    return int(queued)


async def enqueue_chat(
    session: AsyncSession,
    *,
    kind: str,
    chat: GroupChat,
    params: dict[str, Any] | None = None,
    priority: int = Priority.PERSONAL,
    ref: tuple[str, int] | None = None,
    language: str = "vi",
    segment: int | None = None,
) -> int:
    """Queue a message to a group chat; group chats speak the ward's language."""
    await _insert(
        session,
        [
            _row(
                kind=kind,
                params=params,
                priority=priority,
                ref=ref,
                now=clock.now(),
                not_before=None,
                person_id=None,
                channel=chat.channel,
                chat_id=chat.chat_id,
                is_group=True,
                language=language,
                segment=segment,
            )
        ],
    )
    return 1


def _row(
    *,
    kind: str,
    params: dict[str, Any] | None,
    priority: int,
    ref: tuple[str, int] | None,
    now: datetime,
    not_before: datetime | None,
    person_id: int | None,
    channel: str,
    chat_id: str,
    is_group: bool,
    language: str,
    segment: int | None,
) -> dict[str, Any]:
    return {
        "created_at": now,
        "kind": kind,
        "params": params or {},
        "priority": int(priority),
        "person_id": person_id,
        "channel": channel,
        "chat_id": chat_id,
        "is_group": is_group,
        "language": language,
        "ref_type": ref[0] if ref else None,
        "ref_id": ref[1] if ref else None,
        "segment": segment,
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": not_before or now,
        "parts_sent": 0,
        "in_doubt": 0,
    }


async def _insert(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    # Core bulk insert: a broadcast to 50,000 households must not build 50,000 ORM objects.
    for start in range(0, len(rows), 1000):
        await session.exec(insert(Delivery), params=rows[start : start + 1000])
    if rows:
        _wake_after_commit(session)


def _wake_after_commit(session: AsyncSession) -> None:
    from bot.delivery import wakeup

    wakeup.after_commit(session)


async def cancel(session: AsyncSession, ref: tuple[str, int], reason: str) -> int:
    """Drop what is still queued about ``ref`` (a withdrawn notice); returns the count.

    Rows already on their way are left to finish: their renderer drops them if it can.
    """
    result = await session.exec(
        update(Delivery)
        .where(
            col(Delivery.ref_type) == ref[0],
            col(Delivery.ref_id) == ref[1],
            col(Delivery.status) == DeliveryStatus.PENDING,
        )
        .values(status=DeliveryStatus.DROPPED, error=reason[:500], claimed_by=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def mark_blocked(session: AsyncSession, channel: str, chat_id: str) -> None:
    """The person blocked the bot: remember it and drop what was still queued for them."""
    await session.exec(
        update(ChannelAccount)
        .where(
            col(ChannelAccount.channel) == channel,
            col(ChannelAccount.chat_id) == chat_id,
            col(ChannelAccount.blocked_at).is_(None),
        )
        .values(blocked_at=clock.now())
    )
    await session.exec(
        update(Delivery)
        .where(
            and_(
                col(Delivery.chat_id) == chat_id,
                col(Delivery.channel) == channel,
                col(Delivery.status) == DeliveryStatus.PENDING,
                col(Delivery.is_group).is_(False),
            )
        )
        .values(status=DeliveryStatus.BLOCKED, error="recipient blocked the bot")
    )


async def mark_unblocked(session: AsyncSession, channel: str, chat_id: str) -> None:
    await session.exec(
        update(ChannelAccount)
        .where(col(ChannelAccount.channel) == channel, col(ChannelAccount.chat_id) == chat_id)
        .values(blocked_at=None)
    )
