"""Wakes the sender in this process as soon as new outbox rows are committed.

The sender also polls, so a row written by another process is found within the poll
interval; the wake-up only makes single-process replies feel instant.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import event
from sqlmodel.ext.asyncio.session import AsyncSession

_event: asyncio.Event | None = None


def bind(ev: asyncio.Event) -> None:
    global _event
    _event = ev


def after_commit(session: AsyncSession) -> None:
    sync_session = session.sync_session
    if sync_session.info.get("wardbot_wakeup"):
        return
    sync_session.info["wardbot_wakeup"] = True

    def _fire(sess: object) -> None:
        sync_session.info.pop("wardbot_wakeup", None)
        if _event is not None:
            _event.set()

    def _forget(sess: object) -> None:
        sync_session.info.pop("wardbot_wakeup", None)

    event.listen(sync_session, "after_commit", _fire, once=True)
    event.listen(sync_session, "after_rollback", _forget, once=True)
