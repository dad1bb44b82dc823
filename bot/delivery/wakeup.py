"""Wakes the sender in this process as soon as new outbox rows are committed.

The sender also polls, so a row written by another process (``wardbot notice publish``)
is found within the poll interval; the wake-up only makes single-process replies and
broadcasts start at once.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlmodel.ext.asyncio.session import AsyncSession

_event: asyncio.Event | None = None
_FLAG = "wardbot_wakeup"


def bind(ev: asyncio.Event | None) -> None:
    global _event
    _event = ev


def after_commit(session: AsyncSession) -> None:
    """Set the sender's event once this session's transaction commits (not on rollback)."""
    session.sync_session.info[_FLAG] = True


# Listening on the Session class, once: a per-session listener per transaction would
# pile up on long-lived sessions (the CLI, tests), since SQLAlchemy cannot remove a
# listener while it runs.
@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.info.pop(_FLAG, None) and _event is not None:
        _event.set()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_FLAG, None)
