"""The outbox: one row per message to one recipient, drained by the sender."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from bot.models.base import created_at_field, datetime_field, fk, json_field


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    # The recipient blocked the bot; nothing more is sent to them.
    BLOCKED = "blocked"


class Delivery(SQLModel, table=True):
    __table_args__ = (
        Index("ix_delivery_due", "status", "priority", "next_attempt_at"),
        Index("ix_delivery_ref", "ref_type", "ref_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = created_at_field()
    # What to render: a renderer registered for this kind builds the message
    # in the recipient's language at send time.
    kind: str = Field(max_length=48)
    params: dict[str, Any] = json_field()
    # Higher goes first (urgent notices).
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
    status: str = Field(default=DeliveryStatus.PENDING, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = datetime_field()
    sent_at: datetime | None = datetime_field()
    external_message_id: str | None = Field(default=None, max_length=64)
    error: str | None = Field(default=None, max_length=500)
