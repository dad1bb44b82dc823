"""Dân bàn (Law 10/2022 Art. 15, 25–26): household votes and consultations.

A ``Vote`` row is either a vote (biểu quyết: one ballot per household, cast by its
representative) or a consultation (lấy ý kiến: one opinion per verified resident on a
draft). Ballots carry no link to the person's choice that anyone but the tally reads:
nobody is shown who voted what.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.models.base import created_at_field, datetime_field, fk, json_field


class Vote(SQLModel, table=True):
    __table_args__ = (Index("ix_vote_due", "closed_at", "closes_at"),)

    id: int | None = Field(default=None, primary_key=True)
    ward_id: int | None = fk("ward.id", ondelete="RESTRICT", nullable=False)
    # vote | consultation
    kind: str = Field(default="vote", max_length=16)
    # Law Art. 15 clause 1–6 for a vote; None for a consultation.
    matter: int | None = None
    question: str = Field(max_length=300)
    explanation: str = Field(default="", sa_column=Column(Text, nullable=False))
    # The choices, in order; for a vote the first one is "agree".
    options: list[str] = json_field(list)
    # The whole ward, or the groups listed in vote_group.
    whole_ward: bool = False
    # admin | leader: how the creator is shown and who may follow it.
    creator_role: str = Field(max_length=16)
    creator_id: int | None = fk("person.id", ondelete="SET NULL")
    creator_group_id: int | None = fk("residential_group.id", ondelete="RESTRICT")
    attachment_id: int | None = fk("stored_file.id", ondelete="RESTRICT")
    opens_at: datetime = datetime_field(nullable=False)
    closes_at: datetime = datetime_field(nullable=False)
    created_at: datetime = created_at_field()
    # Claimed by conditional updates, so several workers act once.
    announced_at: datetime | None = datetime_field()
    reminded_at: datetime | None = datetime_field()
    closed_at: datetime | None = datetime_field()
    # The tally written at closing (eligible, ballots, per option, outcome).
    result: dict[str, Any] = json_field()
    result_notice_id: int | None = fk("notice.id", ondelete="SET NULL")
    # A consultation's published response (tiếp thu, giải trình).
    response_notice_id: int | None = fk("notice.id", ondelete="SET NULL")


class VoteGroup(SQLModel, table=True):
    __tablename__ = "vote_group"
    __table_args__ = (UniqueConstraint("vote_id", "group_id"),)

    id: int | None = Field(default=None, primary_key=True)
    vote_id: int | None = fk("vote.id", ondelete="CASCADE", nullable=False, index=False)
    group_id: int | None = fk("residential_group.id", ondelete="RESTRICT", nullable=False)


class Ballot(SQLModel, table=True):
    """A household's vote; the last choice before closing counts."""

    # One ballot per household and vote, whoever in the household presses and however
    # many workers handle the presses at once.
    __table_args__ = (UniqueConstraint("vote_id", "household_id"),)

    id: int | None = Field(default=None, primary_key=True)
    vote_id: int | None = fk("vote.id", ondelete="CASCADE", nullable=False, index=False)
    household_id: int | None = fk("household.id", ondelete="CASCADE", nullable=False)
    group_id: int | None = fk("residential_group.id", ondelete="RESTRICT", nullable=False)
    option: int
    cast_by_id: int | None = fk("person.id", ondelete="SET NULL")
    cast_at: datetime = created_at_field()
    changed_at: datetime | None = datetime_field()
    changes: int = 0


class Opinion(SQLModel, table=True):
    """A resident's opinion in a consultation: an option, a comment, or both."""

    __table_args__ = (UniqueConstraint("vote_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    vote_id: int | None = fk("vote.id", ondelete="CASCADE", nullable=False, index=False)
    person_id: int | None = fk("person.id", ondelete="CASCADE", nullable=False)
    group_id: int | None = fk("residential_group.id", ondelete="RESTRICT", nullable=False)
    option: int | None = None
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    given_at: datetime = created_at_field()
    changed_at: datetime | None = datetime_field()
