"""The outbox: one row per message to one recipient, drained by the sender."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from bot.models.base import created_at_field, datetime_field, fk, json_field


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    # Claimed by one sender (``claimed_by``) and being sent right now.
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    # The recipient blocked the bot; nothing more is sent to them.
    BLOCKED = "blocked"
    # No longer worth sending (the notice was withdrawn or has expired).
    DROPPED = "dropped"


class Delivery(SQLModel, table=True):
    __table_args__ = (
        # What the sender claims next: due rows, urgent first, then oldest first. Partial,
        # so the millions of settled rows a ward accumulates do not weigh on every claim.
        # Rows in flight, looked up when a sender died with them.
        Index(
            "ix_delivery_claimed",
            "claimed_by",
            sqlite_where=text("status = 'sending'"),
            postgresql_where=text("status = 'sending'"),
        ),
        Index("ix_delivery_ref", "ref_type", "ref_id"),
        # A recipient who blocked the bot: their queued rows are found at once.
        Index("ix_delivery_chat", "chat_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = created_at_field()
    # What to render: a renderer registered for this kind builds the message
    # in the recipient's language at send time.
    kind: str = Field(max_length=48)
    params: dict[str, Any] = json_field()
    # Higher goes first; see bot.delivery.outbox.Priority.
    priority: int = 0
    person_id: int | None = fk("person.id", ondelete="CASCADE")
    channel: str = Field(default="telegram", max_length=16)
    chat_id: str = Field(max_length=64)
    # Group chats have their own, stricter rate limit.
    is_group: bool = False
    language: str = Field(default="vi", max_length=8)
    # What the message is about, for delivery statistics ("notice", 17).
    ref_type: str | None = Field(default=None, max_length=32)
    ref_id: int | None = None
    # How statistics break the recipients down, chosen by the feature (notices: the
    # recipient's residential group).
    segment: int | None = None
    status: str = Field(default=DeliveryStatus.PENDING, max_length=16)
    attempts: int = 0
    # Pending: not before then. Sending: the claim's lease, after which another sender
    # may take the row over from one that died.
    next_attempt_at: datetime | None = datetime_field()
    # The sender that holds the row while it is ``sending``: "host:pid:token".
    claimed_by: str | None = Field(default=None, max_length=96)
    # A message longer than the messenger allows goes out in parts (text pieces, then
    # attachments); after a failure or a crash the row resumes from the first unsent one.
    parts_sent: int = 0
    # Times a sender died while this row was on its way: its recipient may have received
    # that part twice. Reported, never hidden.
    in_doubt: int = 0
    sent_at: datetime | None = datetime_field()
    external_message_id: str | None = Field(default=None, max_length=64)
    error: str | None = Field(default=None, max_length=500)


# What the sender claims next: due rows, urgent first, then oldest first. Partial, so the
# millions of settled rows a ward accumulates do not weigh on every claim.
Index(
    "ix_delivery_due",
    Delivery.priority.desc(),  # type: ignore[attr-defined]
    Delivery.next_attempt_at,
    Delivery.id,
    sqlite_where=text("status = 'pending'"),
    postgresql_where=text("status = 'pending'"),
)
