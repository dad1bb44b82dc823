"""Conversation state kept in the database, so a half-filled form survives a restart."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from bot.models.base import created_at_field, json_field


class FsmRecord(SQLModel, table=True):
    __tablename__ = "fsm_record"

    key: str = Field(primary_key=True, max_length=200)
    state: str | None = Field(default=None, max_length=200)
    data: dict[str, Any] = json_field()
    updated_at: datetime = created_at_field()
