"""Disclosure notices (công khai thông tin, Law 10/2022 Art. 11–13): what the ward or a
group publishes, to whom, what changed afterwards, and who read it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.models.base import created_at_field, datetime_field, fk, json_field


class Notice(SQLModel, table=True):
    __table_args__ = (Index("ix_notice_current", "ward_id", "expires_at"),)

    id: int | None = Field(default=None, primary_key=True)
    ward_id: int | None = fk("ward.id", ondelete="RESTRICT", nullable=False, index=False)
    category_id: int | None = fk("notice_category.id", ondelete="RESTRICT", nullable=False)
    title: str = Field(max_length=200)
    body: str = Field(sa_column=Column(Text, nullable=False))
    # Title and body folded (lower case, no diacritics, đ → d) for search: "thong bao"
    # finds "Thông báo".
    search_text: str = Field(sa_column=Column(Text, nullable=False))
    # The whole ward, or the groups listed in notice_group.
    whole_ward: bool = True
    urgent: bool = False
    # manual (the bot), cli, or the feature that published it: vote, consultation, ...
    source: str = Field(default="manual", max_length=32)
    # Who published, shown as a role, not a name: "admin" (the ward's People's
    # Committee), "leader" (of publisher_group_id) or "system" (publisher_label).
    publisher_role: str = Field(max_length=16)
    publisher_id: int | None = fk("person.id", ondelete="SET NULL")
    publisher_group_id: int | None = fk("residential_group.id", ondelete="RESTRICT")
    publisher_label: str | None = Field(default=None, max_length=200)
    posting_days: int
    published_at: datetime = created_at_field()
    expires_at: datetime = datetime_field(nullable=False)
    # Set on an edit; the notice then shows "updated" with this time.
    updated_at: datetime | None = datetime_field()
    withdrawn_at: datetime | None = datetime_field()
    withdrawn_reason: str | None = Field(default=None, max_length=500)
    withdrawn_by_id: int | None = fk("person.id", ondelete="SET NULL")
    # When the scheduler filed it in the archive. Lists never rely on it: a notice is
    # current while expires_at is in the future, whether or not the job has run.
    expired_at: datetime | None = datetime_field()


class NoticeGroup(SQLModel, table=True):
    """A group a notice is for, when it is not for the whole ward."""

    __tablename__ = "notice_group"
    __table_args__ = (UniqueConstraint("notice_id", "group_id"),)

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int | None = fk("notice.id", ondelete="CASCADE", nullable=False, index=False)
    group_id: int | None = fk("residential_group.id", ondelete="RESTRICT", nullable=False)


class NoticeAttachment(SQLModel, table=True):
    __tablename__ = "notice_attachment"
    __table_args__ = (UniqueConstraint("notice_id", "file_id"),)

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int | None = fk("notice.id", ondelete="CASCADE", nullable=False, index=False)
    file_id: int | None = fk("stored_file.id", ondelete="RESTRICT", nullable=False)
    position: int = 0


class NoticeRead(SQLModel, table=True):
    """A resident pressed "✅ Read" (once)."""

    __tablename__ = "notice_read"
    __table_args__ = (UniqueConstraint("notice_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int | None = fk("notice.id", ondelete="CASCADE", nullable=False, index=False)
    person_id: int | None = fk("person.id", ondelete="CASCADE", nullable=False)
    # The reader's group at the time, for statistics per group.
    group_id: int | None = fk("residential_group.id", ondelete="RESTRICT")
    read_at: datetime = created_at_field()


class NoticeRevision(SQLModel, table=True):
    """An edit or a withdrawal: who, when, and each changed field's old and new value."""

    __tablename__ = "notice_revision"

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int | None = fk("notice.id", ondelete="CASCADE", nullable=False)
    at: datetime = created_at_field()
    # edit | withdraw
    action: str = Field(max_length=16)
    actor_id: int | None = fk("person.id", ondelete="SET NULL")
    # "person:12", "cli", "system": kept when the person is gone.
    actor: str = Field(max_length=64)
    # {"title": ["old", "new"], ...}; for a withdrawal {"reason": [null, "..."]}.
    changes: dict[str, Any] = json_field()
