"""Linking a messenger group chat to a residential group (its notices are posted there)
or to an office (its ticket cards are posted there)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import Office, ResidentialGroup
from bot.services import audit
from bot.services.errors import NotAllowed, NotFound
from bot.services.people import Actor


@dataclass(frozen=True)
class LinkTarget:
    kind: str  # "group" | "office"
    id: int
    name: str
    ward_id: int


async def link_targets(session: AsyncSession, actor: Actor) -> list[LinkTarget]:
    """What this person may link a chat to: the groups they lead, the offices they
    work in; a ward admin may link any group or office of the ward."""
    group_ids = set(actor.led_group_ids())
    office_ids = set(actor.office_ids())
    targets: list[LinkTarget] = []
    ward_ids = actor.admin_ward_ids()
    groups = (
        await session.exec(
            select(ResidentialGroup).where(
                col(ResidentialGroup.active),
                col(ResidentialGroup.id).in_(group_ids)
                | col(ResidentialGroup.ward_id).in_(ward_ids),
            )
        )
    ).all()
    targets += [LinkTarget("group", g.id, g.name, g.ward_id) for g in groups]  # type: ignore[arg-type]
    offices = (
        await session.exec(
            select(Office).where(
                col(Office.active),
                col(Office.id).in_(office_ids) | col(Office.ward_id).in_(ward_ids),
            )
        )
    ).all()
    targets += [LinkTarget("office", o.id, o.name, o.ward_id) for o in offices]  # type: ignore[arg-type]
    return targets


async def link(
    session: AsyncSession, actor: Actor, *, kind: str, target_id: int, chat_id: int
) -> LinkTarget:
    allowed = {(t.kind, t.id): t for t in await link_targets(session, actor)}
    target = allowed.get((kind, target_id))
    if target is None:
        raise NotAllowed()
    model = ResidentialGroup if kind == "group" else Office
    row = await session.get(model, target_id)
    if row is None:
        raise NotFound()
    previous = row.chat_id
    row.chat_id = chat_id
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        actor=audit.actor_of(actor.person_id),
        action=f"{kind}.link_chat",
        entity_type=model.__tablename__,  # type: ignore[attr-defined]
        entity_id=target_id,
        ward_id=target.ward_id,
        data={"chat_id": chat_id, "previous_chat_id": previous},
    )
    return target


async def unlink_chat(session: AsyncSession, chat_id: int) -> int:
    """The bot left or was removed from a chat: stop posting there."""
    count = 0
    for model in (ResidentialGroup, Office):
        rows = (await session.exec(select(model).where(model.chat_id == chat_id))).all()
        for row in rows:
            row.chat_id = None
            session.add(row)
            count += 1
            await audit.record(
                session,
                actor="system",
                action="chat.unlinked",
                entity_type=model.__tablename__,  # type: ignore[attr-defined]
                entity_id=row.id,
                ward_id=row.ward_id,
                data={"chat_id": chat_id},
            )
    await session.flush()
    return count
