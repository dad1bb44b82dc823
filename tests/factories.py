"""Small builders for service tests: people with accounts, residents, roles."""

from __future__ import annotations

import itertools

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import Role, RoleGrant
from bot.services import registration
from bot.services.people import Actor, actor_for_person, ensure_person
from bot.services.wards import find_group

_ids = itertools.count(1000)


async def person(session: AsyncSession, language: str = "vi") -> Actor:
    external = str(next(_ids))
    return await ensure_person(
        session,
        channel="telegram",
        external_id=external,
        chat_id=external,
        username=f"user{external}",
        language=language,
    )


async def zalo_person(session: AsyncSession, external: str) -> Actor:
    """Someone who wrote to the bot on Zalo (first contact, nothing registered)."""
    return await ensure_person(
        session,
        channel="zalo",
        external_id=external,
        chat_id=external,
        username=None,
        language="vi",
    )


def phone(n: int) -> str:
    return f"+849123{n:05d}"


async def resident(
    session: AsyncSession,
    group_code: str = "KP01",
    *,
    name: str = "Nguyễn Văn An",
    number: int | None = None,
    address: str | None = None,
    verify_by: Actor | None = None,
) -> Actor:
    actor = await person(session)
    number = number if number is not None else next(_ids)
    group = await find_group(session, group_code)
    await registration.submit(
        session,
        actor,
        group_id=group.id,  # type: ignore[arg-type]
        full_name=name,
        phone=phone(number),
        address=address or f"Số {number}, ngõ 1",
        # A Telegram resident: the phone came from Telegram's contact button.
        phone_verified=True,
    )
    if verify_by is not None:
        await registration.decide(session, verify_by, actor.resident.id, approve=True)  # type: ignore[union-attr]
    return await refresh(session, actor)


async def refresh(session: AsyncSession, actor: Actor) -> Actor:
    return await actor_for_person(session, actor.person, actor.account)


async def with_role(
    session: AsyncSession,
    role: Role,
    *,
    ward_id: int,
    group_id: int | None = None,
    office_id: int | None = None,
    actor: Actor | None = None,
) -> Actor:
    actor = actor or await person(session)
    session.add(
        RoleGrant(
            person_id=actor.person_id,
            role=role,
            ward_id=ward_id,
            group_id=group_id,
            office_id=office_id,
        )
    )
    await session.flush()
    return await refresh(session, actor)
