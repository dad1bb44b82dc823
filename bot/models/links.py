"""Linking a second messenger account to a person who is already registered."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from bot.models.base import created_at_field, datetime_field, fk


class AccountLink(SQLModel, table=True):
    """A pending request to join ``account_id`` to ``person_id``.

    Someone on Zalo gives a phone that a registered person verified on Telegram; a code
    goes to that person's existing accounts, and typing it on Zalo proves the two
    accounts are one person. Only the code's hash is kept.
    """

    __tablename__ = "account_link"

    id: int | None = Field(default=None, primary_key=True)
    # The registered person the account asks to join; NULL when nobody holds the number:
    # the request is answered and counted exactly as a real one, so asking tells nothing.
    person_id: int | None = fk("person.id", ondelete="CASCADE")
    # The new account (Zalo), still on its own provisional person.
    account_id: int | None = fk("channel_account.id", ondelete="CASCADE", nullable=False)
    code_hash: str = Field(max_length=64)
    attempts: int = 0
    expires_at: datetime = datetime_field(nullable=False)
    used_at: datetime | None = datetime_field()
    created_at: datetime = created_at_field()
