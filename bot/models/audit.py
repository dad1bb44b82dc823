"""An append-only log of state changes, each entry chained to the previous by SHA-256."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from bot.models.base import created_at_field, json_field


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = created_at_field()
    # "person:12", "cli", "system": not a foreign key, the trail outlives people.
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64, index=True)
    entity_type: str = Field(max_length=32)
    entity_id: str | None = Field(default=None, max_length=64)
    ward_id: int | None = Field(default=None, index=True)
    data: dict[str, Any] = json_field()
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)
