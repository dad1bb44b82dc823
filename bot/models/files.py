"""Files people and officers attach: notice PDFs, ticket photos, vote records.

Bytes live in the database, so a backup of the database is a backup of everything and
every worker sees every file without a shared disk.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, SQLModel

from bot.models.base import created_at_field, fk


class StoredFile(SQLModel, table=True):
    __tablename__ = "stored_file"

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(max_length=64, index=True)
    filename: str = Field(max_length=255)
    mime_type: str = Field(max_length=100)
    size: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # Telegram's file_id once uploaded, so the same file is not uploaded again.
    telegram_file_id: str | None = Field(default=None, max_length=255)
    uploaded_by_id: int | None = fk("person.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
