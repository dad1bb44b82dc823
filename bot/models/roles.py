"""Roles held in a ward, granted by one-time invitations."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from bot.models.base import created_at_field, datetime_field, fk


class Role(StrEnum):
    ADMIN = "admin"
    LEADER = "leader"
    OFFICER = "officer"
    OFFICE_HEAD = "office-head"
    INSPECTOR = "inspector"


class RoleGrant(SQLModel, table=True):
    __tablename__ = "role_grant"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int | None = fk("person.id", ondelete="CASCADE", nullable=False)
    role: str = Field(max_length=16)
    ward_id: int | None = fk("ward.id", ondelete="RESTRICT", nullable=False)
    group_id: int | None = fk("residential_group.id", ondelete="RESTRICT")
    office_id: int | None = fk("office.id", ondelete="RESTRICT")
    invite_id: int | None = fk("invite.id", ondelete="SET NULL")
    granted_at: datetime = created_at_field()
    revoked_at: datetime | None = datetime_field()


class Invite(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # Only the hash is kept: a leaked database does not leak usable links.
    token_hash: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)
    ward_id: int | None = fk("ward.id", ondelete="RESTRICT", nullable=False)
    group_id: int | None = fk("residential_group.id", ondelete="RESTRICT")
    office_id: int | None = fk("office.id", ondelete="RESTRICT")
    created_at: datetime = created_at_field()
    expires_at: datetime = datetime_field(nullable=False)
    used_at: datetime | None = datetime_field()
    used_by_id: int | None = fk("person.id", ondelete="SET NULL")
    cancelled_at: datetime | None = datetime_field()
