"""Places and the ward's own configuration: province → ward/commune → residential group."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.models.base import chat_id_field, created_at_field, datetime_field, fk, json_field


class TicketType(StrEnum):
    """The five kinds of resident feedback; the law gives each its own deadlines."""

    PHAN_ANH = "phan_anh"  # report of a problem
    KIEN_NGHI = "kien_nghi"  # petition, proposal
    GOP_Y = "gop_y"  # comment
    KHIEU_NAI = "khieu_nai"  # complaint (Complaints Law 2011)
    TO_CAO = "to_cao"  # denunciation (Denunciations Law 2018)


class Province(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=200)


class Ward(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=16, default="phuong")
    province_id: int | None = fk("province.id", ondelete="RESTRICT", nullable=False)
    timezone: str = Field(max_length=64, default="Asia/Ho_Chi_Minh")
    # Deadlines, limits, report dates: validated by bot.services.wards.WardSettings.
    settings: dict[str, Any] = json_field()
    created_at: datetime = created_at_field()
    updated_at: datetime | None = datetime_field()


class ResidentialGroup(SQLModel, table=True):
    """A tổ dân phố, khu phố or thôn."""

    __tablename__ = "residential_group"
    __table_args__ = (UniqueConstraint("ward_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    ward_id: int | None = fk("ward.id", ondelete="RESTRICT", nullable=False)
    code: str = Field(max_length=32)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=16, default="to_dan_pho")
    position: int = 0
    active: bool = True
    # The group's own Telegram chat, linked by its leader with /link.
    chat_id: int | None = chat_id_field()


class Office(SQLModel, table=True):
    """A department of the ward's People's Committee that answers tickets."""

    __table_args__ = (UniqueConstraint("ward_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    ward_id: int | None = fk("ward.id", ondelete="RESTRICT", nullable=False)
    code: str = Field(max_length=32)
    name: str = Field(max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    position: int = 0
    active: bool = True
    # The office's working group chat, where ticket cards are posted.
    chat_id: int | None = chat_id_field()


class TicketCategory(SQLModel, table=True):
    __tablename__ = "ticket_category"
    __table_args__ = (UniqueConstraint("ward_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    ward_id: int | None = fk("ward.id", ondelete="RESTRICT", nullable=False)
    code: str = Field(max_length=32)
    name: str = Field(max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    office_id: int | None = fk("office.id", ondelete="RESTRICT", nullable=False)
    position: int = 0
    active: bool = True


class NoticeCategory(SQLModel, table=True):
    """Disclosure categories of Law 10/2022 Art. 11, as the ward names them."""

    __tablename__ = "notice_category"
    __table_args__ = (UniqueConstraint("ward_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    ward_id: int | None = fk("ward.id", ondelete="RESTRICT", nullable=False)
    code: str = Field(max_length=32)
    name: str = Field(max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    position: int = 0
    active: bool = True
