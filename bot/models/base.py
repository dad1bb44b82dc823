"""Column types shared by every table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, ForeignKey, Integer, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from bot import clock

# Stable constraint names, so Alembic can alter them on SQLite and PostgreSQL alike.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC (SQLite has no time zones); always read back as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


def created_at_field() -> Any:
    return Field(default_factory=clock.now, sa_column=Column(UTCDateTime(), nullable=False))


def datetime_field(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def json_field(default_factory: Any = dict) -> Any:
    return Field(default_factory=default_factory, sa_column=Column(JSONType, nullable=False))


def fk(target: str, *, ondelete: str, nullable: bool = True, index: bool = True) -> Any:
    """A foreign key whose ON DELETE rule is explicit: erasing a person relies on it."""
    return Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index
        ),
    )


def chat_id_field(*, nullable: bool = True) -> Any:
    """Telegram chat ids exceed 32 bits."""
    return Field(default=None, sa_column=Column(BigInteger, nullable=nullable))
