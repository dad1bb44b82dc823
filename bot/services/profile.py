"""What residents manage themselves: language, and leaving wardbot."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services import audit, households
from bot.services.people import Actor, set_language

__all__ = ["leave", "set_language"]


async def leave(session: AsyncSession, actor: Actor) -> None:
    """Erase the person. Rows that must be kept (filed tickets) lose the link to them
    through their ON DELETE SET NULL foreign keys; the rest goes with the person."""
    person = actor.require_person()
    ward_id = actor.resident.ward_id if actor.resident else None
    if actor.resident is not None:
        await households.leave_household(session, actor.resident)
    await audit.record(
        session,
        actor=audit.actor_of(person.id),
        action="person.leave",
        entity_type="person",
        entity_id=person.id,
        ward_id=ward_id,
        data={},
    )
    await session.delete(person)
    await session.flush()
