"""Oversight by the People's Inspection Board and the Fatherland Front: supervision
recommendations (kiến nghị giám sát) to the ward, and the report reminders sent."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Date, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.models.base import created_at_field, datetime_field, fk


class Recommendation(SQLModel, table=True):
    """A supervision recommendation an inspector sends the ward's People's Committee,
    which must answer it within a deadline, like a ticket."""

    __tablename__ = "supervision_recommendation"
    __table_args__ = (
        UniqueConstraint("ward_id", "code"),
        Index("ix_supervision_recommendation_open", "status", "due_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ward_id: int | None = fk("ward.id", ondelete="RESTRICT", nullable=False)
    # GS-2025-0007: shown to both sides, quoted in the ward's answer.
    code: str = Field(max_length=32)
    # The inspector who sent it; NULL once they left wardbot (the record stays).
    inspector_id: int | None = fk("person.id", ondelete="SET NULL")
    body: str = Field(sa_column=Column(Text, nullable=False))
    # open → answered
    status: str = Field(default="open", max_length=16)
    created_at: datetime = created_at_field()
    due_on: date = Field(sa_column=Column(Date, nullable=False))
    answer_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answered_at: datetime | None = datetime_field()
    answered_by_id: int | None = fk("person.id", ondelete="SET NULL")
    # 1 once the admins and the inspector were told it is late (claimed by an UPDATE).
    reminded: int = 0


class ReportReminder(SQLModel, table=True):
    """Admins were reminded of this report's due date (claimed by inserting the row)."""

    __tablename__ = "report_reminder"

    ward_id: int = Field(foreign_key="ward.id", primary_key=True, ondelete="RESTRICT")
    period: str = Field(primary_key=True, max_length=16)
    due_on: date = Field(primary_key=True)
    sent_at: datetime = created_at_field()
