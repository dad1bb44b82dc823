"""Writing to the outbox: one row per recipient account, in the caller's transaction.

Nothing is sent here. If the transaction that creates a notice, a vote or a ticket
step rolls back, its messages vanish with it; once it commits, the sender delivers
them even across a crash.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.models import ChannelAccount, Delivery, DeliveryStatus, Person


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
    priority: int = 0,
    ref: tuple[str, int] | None = None,
    not_before: datetime | None = None,
) -> int:
    """Queue ``kind`` for every reachable account of these people; return the row count."""
    ids = sorted(set(person_ids))
    if not ids:
        return 0
    rows = []
    now = clock.now()
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
                )
            )
    await _insert(session, rows)
    return len(rows)


async def enqueue_chat(
    session: AsyncSession,
    *,
    kind: str,
    chat: GroupChat,
    params: dict[str, Any] | None = None,
    priority: int = 0,
    ref: tuple[str, int] | None = None,
    language: str = "vi",
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
) -> dict[str, Any]:
    return {
        "created_at": now,
        "kind": kind,
        "params": params or {},
        "priority": priority,
        "person_id": person_id,
        "channel": channel,
        "chat_id": chat_id,
        "is_group": is_group,
        "language": language,
        "ref_type": ref[0] if ref else None,
        "ref_id": ref[1] if ref else None,
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": not_before or now,
    }


async def _insert(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    # Core bulk insert: a broadcast to 50,000 households must not build 50,000 ORM objects.
    for start in range(0, len(rows), 1000):
        await session.exec(insert(Delivery), params=rows[start : start + 1000])
    if rows:
        from bot.delivery import wakeup

        wakeup.after_commit(session)


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
                col(Delivery.channel) == channel,
                col(Delivery.chat_id) == chat_id,
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
