"""People, their messenger accounts, households and residency.

Deleting a ``Person`` is how a resident leaves: every table that points at a person
says with its ON DELETE rule whether the row goes with them (CASCADE) or stays
without the link (SET NULL), as a filed ticket must.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from bot.models.base import created_at_field, datetime_field, fk


class Person(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    full_name: str | None = Field(default=None, max_length=120)
    # E.164, e.g. +84912345678; the key that makes one person of two messenger accounts.
    phone: str | None = Field(default=None, max_length=20, index=True)
    # When the messenger itself vouched for the phone (Telegram's contact button, the
    # person's own number). NULL for a typed number (Zalo): that proves nothing, so it
    # never matches the household list and never holds the number against anyone.
    phone_verified_at: datetime | None = datetime_field()
    language: str = Field(default="vi", max_length=8)
    created_at: datetime = created_at_field()


class ChannelAccount(SQLModel, table=True):
    """A person's identity on one messenger (Telegram now, Zalo later)."""

    __tablename__ = "channel_account"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int | None = fk("person.id", ondelete="CASCADE", nullable=False)
    channel: str = Field(max_length=16)
    external_id: str = Field(sa_column=Column(String(64), nullable=False))
    # Where to write to this person privately on that channel.
    chat_id: str = Field(sa_column=Column(String(64), nullable=False))
    username: str | None = Field(default=None, max_length=64)
    blocked_at: datetime | None = datetime_field()
    created_at: datetime = created_at_field()


class Household(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("group_id", "address_key"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int | None = fk("residential_group.id", ondelete="RESTRICT", nullable=False)
    address: str = Field(max_length=200)
    # The address folded for matching ("Số 5, ngõ 2" == "số 5 ngõ 2").
    address_key: str = Field(max_length=200)
    # registration: created by a resident; roster: from the leader's household list.
    source: str = Field(default="registration", max_length=16)
    # A household counts for votes once the leader approved it or listed it.
    verified: bool = False
    created_at: datetime = created_at_field()
    removed_at: datetime | None = datetime_field()


class Resident(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("person_id"),
        # One representative per household, enforced by the database.
        Index(
            "uq_resident_household_representative",
            "household_id",
            unique=True,
            sqlite_where=text("is_representative"),
            postgresql_where=text("is_representative"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int | None = fk("person.id", ondelete="CASCADE", nullable=False)
    ward_id: int | None = fk("ward.id", ondelete="RESTRICT", nullable=False)
    group_id: int | None = fk("residential_group.id", ondelete="RESTRICT", nullable=False)
    household_id: int | None = fk("household.id", ondelete="SET NULL")
    is_representative: bool = False
    # pending → verified | rejected
    status: str = Field(default="pending", max_length=16)
    requested_at: datetime = created_at_field()
    decided_at: datetime | None = datetime_field()
    decided_by_id: int | None = fk("person.id", ondelete="SET NULL")
    decision_note: str | None = Field(default=None, max_length=500)


class RosterEntry(SQLModel, table=True):
    """A line of the household list a group leader uploaded."""

    __tablename__ = "roster_entry"

    id: int | None = Field(default=None, primary_key=True)
    group_id: int | None = fk("residential_group.id", ondelete="RESTRICT", nullable=False)
    household_id: int | None = fk("household.id", ondelete="CASCADE", nullable=False)
    full_name: str = Field(max_length=120)
    phone: str | None = Field(default=None, max_length=20, index=True)
    is_representative: bool = False
    uploaded_at: datetime = created_at_field()
    uploaded_by_id: int | None = fk("person.id", ondelete="SET NULL")
