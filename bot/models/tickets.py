"""Residents' tickets (phản ánh, kiến nghị, góp ý, khiếu nại, tố cáo) and their history.

A ticket outlives the resident who filed it: when they leave wardbot the person link is
set to NULL and the ticket, its code and its history stay with the office.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Date, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.models.base import created_at_field, datetime_field, fk, json_field


class TicketStatus(StrEnum):
    NEW = "new"  # filed, nobody has taken it yet
    IN_PROGRESS = "in_progress"  # an officer handles it
    INFO_REQUESTED = "info_requested"  # waiting for the resident to add information
    ANSWERED = "answered"  # closed with an answer; the resident may rate or reopen it
    DECLINED = "declined"  # not accepted (khiếu nại, tố cáo), with a reason


OPEN_STATUSES = (TicketStatus.NEW, TicketStatus.IN_PROGRESS, TicketStatus.INFO_REQUESTED)


class Ticket(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("ward_id", "code"),
        UniqueConstraint("ward_id", "year", "seq"),
        Index("ix_ticket_office_status", "office_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ward_id: int | None = fk("ward.id", ondelete="RESTRICT", nullable=False)
    # PA-2025-000123: the type's prefix, the year, a per-ward per-year sequence.
    code: str = Field(max_length=32)
    year: int
    seq: int
    type: str = Field(max_length=16)
    category_id: int | None = fk("ticket_category.id", ondelete="RESTRICT", nullable=False)
    office_id: int | None = fk("office.id", ondelete="RESTRICT", nullable=False)
    group_id: int | None = fk("residential_group.id", ondelete="RESTRICT")
    # The resident who filed it; NULL once they left wardbot.
    person_id: int | None = fk("person.id", ondelete="SET NULL")
    anonymous: bool = False
    description: str = Field(sa_column=Column(Text, nullable=False))
    latitude: float | None = None
    longitude: float | None = None
    # Where it is, in the resident's words (an address or a landmark): Zalo's bots
    # receive no location, so a Zalo resident types it.
    place: str | None = Field(default=None, max_length=200)
    status: str = Field(default=TicketStatus.NEW, max_length=16, index=True)
    assigned_officer_id: int | None = fk("person.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    updated_at: datetime | None = datetime_field()
    # Acceptance (thụ lý) of complaints and denunciations: a step with its own deadline.
    accept_due_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    accept_extended: bool = False
    accepted_at: datetime | None = datetime_field()
    # The answer (or decision) deadline; for complaints and denunciations it starts
    # when the ticket is accepted.
    due_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    complex_case: bool = False
    extensions_used: int = 0
    # 0 none, 1 the office head was told it is late, 2 the ward admin was told too.
    escalation_level: int = 0
    # The answer an officer wrote (a draft until the ticket is closed with it).
    answer_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answer_file_ids: list[int] = json_field(list)
    answered_at: datetime | None = datetime_field()
    answered_by_id: int | None = fk("person.id", ondelete="SET NULL")
    rating: int | None = None
    rated_at: datetime | None = datetime_field()
    reopen_count: int = 0


class TicketEvent(SQLModel, table=True):
    """One step of a ticket's history."""

    __tablename__ = "ticket_event"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int | None = fk("ticket.id", ondelete="CASCADE", nullable=False)
    at: datetime = created_at_field()
    actor_id: int | None = fk("person.id", ondelete="SET NULL")
    # filed, claimed, transferred, info_requested, info_added, accepted, declined,
    # extended, answer_drafted, answered, rated, reopened, escalated
    kind: str = Field(max_length=24)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    data: dict[str, Any] = json_field()
    # Shown to the resident in their history; internal steps (escalations) are not.
    public: bool = True


class TicketAttachment(SQLModel, table=True):
    __tablename__ = "ticket_attachment"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int | None = fk("ticket.id", ondelete="CASCADE", nullable=False)
    event_id: int | None = fk("ticket_event.id", ondelete="CASCADE")
    file_id: int | None = fk("stored_file.id", ondelete="RESTRICT", nullable=False)
    # photo or document
    kind: str = Field(max_length=16)


class TicketSequence(SQLModel, table=True):
    """The last number given in a ward and year; incremented under a row lock."""

    __tablename__ = "ticket_sequence"

    ward_id: int = Field(foreign_key="ward.id", primary_key=True, ondelete="RESTRICT")
    year: int = Field(primary_key=True)
    last: int = 0


class TicketDigest(SQLModel, table=True):
    """An office's daily digest was sent on that day (claimed by inserting the row)."""

    __tablename__ = "ticket_digest"

    office_id: int = Field(foreign_key="office.id", primary_key=True, ondelete="RESTRICT")
    day: date = Field(primary_key=True)
    sent_at: datetime = created_at_field()
