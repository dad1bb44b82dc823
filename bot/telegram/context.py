"""The database session of the update being handled, for code aiogram calls on its own
(FSM storage, the request middleware) that cannot receive it as an argument."""

from __future__ import annotations

from contextvars import ContextVar

from sqlmodel.ext.asyncio.session import AsyncSession

current_session: ContextVar[AsyncSession | None] = ContextVar("wardbot_session", default=None)
