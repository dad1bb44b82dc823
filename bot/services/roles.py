"""Roles granted by one-time invitation links, listed and revoked from the CLI."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.i18n import __
from bot.models import (
    ChannelAccount,
    Invite,
    Office,
    Person,
    ResidentialGroup,
    Role,
    RoleGrant,
    Ward,
)
from bot.services import audit
from bot.services.errors import Conflict, InvalidInput, NotFound
from bot.services.people import Actor

INVITE_PREFIX = "inv_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class NewInvite:
    invite: Invite
    token: str

    @property
    def start_payload(self) -> str:
        return INVITE_PREFIX + self.token


async def create_invite(
    session: AsyncSession,
    *,
    role: Role,
    ward: Ward,
    group: ResidentialGroup | None = None,
    office: Office | None = None,
    ttl: timedelta = timedelta(days=7),
    actor: str = "cli",
) -> NewInvite:
    if role == Role.LEADER and group is None:
        raise InvalidInput(__("A group leader invitation needs a group."))
    if role in (Role.OFFICER, Role.OFFICE_HEAD) and office is None:
        raise InvalidInput(__("An officer invitation needs an office."))
    # 24 random bytes: unguessable, and "inv_" + token fits Telegram's 64-character payload.
    token = secrets.token_urlsafe(24)
    invite = Invite(
        token_hash=_hash(token),
        role=role,
        ward_id=ward.id,
        group_id=group.id if group else None,
        office_id=office.id if office else None,
        expires_at=clock.now() + ttl,
    )
    session.add(invite)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="invite.create",
        entity_type="invite",
        entity_id=invite.id,
        ward_id=ward.id,
        data={"role": role, "group_id": invite.group_id, "office_id": invite.office_id},
    )
    return NewInvite(invite, token)


@dataclass
class Granted:
    grant: RoleGrant
    ward: Ward
    group: ResidentialGroup | None
    office: Office | None


async def accept_invite(session: AsyncSession, actor: Actor, token: str) -> Granted:
    person = actor.require_person()
    invite = (await session.exec(select(Invite).where(Invite.token_hash == _hash(token)))).first()
    if invite is None or invite.cancelled_at is not None:
        raise NotFound(__("This invitation link is not valid. Ask for a new one."))
    if invite.used_at is not None:
        raise Conflict(__("This invitation link has already been used. Ask for a new one."))
    if invite.expires_at <= clock.now():
        raise Conflict(__("This invitation link has expired. Ask for a new one."))
    invite.used_at = clock.now()
    invite.used_by_id = person.id
    session.add(invite)
    existing = (
        await session.exec(
            select(RoleGrant).where(
                RoleGrant.person_id == person.id,
                RoleGrant.role == invite.role,
                RoleGrant.ward_id == invite.ward_id,
                RoleGrant.group_id == invite.group_id,
                RoleGrant.office_id == invite.office_id,
                col(RoleGrant.revoked_at).is_(None),
            )
        )
    ).first()
    grant = existing or RoleGrant(
        person_id=person.id,
        role=invite.role,
        ward_id=invite.ward_id,
        group_id=invite.group_id,
        office_id=invite.office_id,
        invite_id=invite.id,
    )
    session.add(grant)
    await session.flush()
    actor.grants = [g for g in actor.grants if g.id != grant.id] + [grant]
    await audit.record(
        session,
        actor=audit.actor_of(person.id),
        action="role.grant",
        entity_type="role_grant",
        entity_id=grant.id,
        ward_id=invite.ward_id,
        data={"role": invite.role, "invite_id": invite.id, "person_id": person.id},
    )
    return await describe(session, grant)


async def describe(session: AsyncSession, grant: RoleGrant) -> Granted:
    ward = await session.get(Ward, grant.ward_id)
    assert ward is not None
    group = await session.get(ResidentialGroup, grant.group_id) if grant.group_id else None
    office = await session.get(Office, grant.office_id) if grant.office_id else None
    return Granted(grant, ward, group, office)


@dataclass
class RoleRow:
    grant: RoleGrant
    person: Person
    account: ChannelAccount | None
    ward: Ward
    scope: str


async def list_roles(session: AsyncSession, ward_code: str | None = None) -> list[RoleRow]:
    query = (
        select(RoleGrant, Person, Ward)
        .join(Person, col(Person.id) == RoleGrant.person_id)
        .join(Ward, col(Ward.id) == RoleGrant.ward_id)
        .where(col(RoleGrant.revoked_at).is_(None))
        .order_by(col(Ward.code), col(RoleGrant.role), col(RoleGrant.id))
    )
    if ward_code:
        query = query.where(Ward.code == ward_code)
    rows = []
    for grant, person, ward in (await session.exec(query)).all():
        account = (
            await session.exec(select(ChannelAccount).where(ChannelAccount.person_id == person.id))
        ).first()
        described = await describe(session, grant)
        scope = (
            described.group.name
            if described.group
            else described.office.name
            if described.office
            else ward.name
        )
        rows.append(RoleRow(grant, person, account, ward, scope))
    return rows


async def revoke(session: AsyncSession, grant_id: int, *, actor: str = "cli") -> RoleGrant:
    grant = await session.get(RoleGrant, grant_id)
    if grant is None or grant.revoked_at is not None:
        raise NotFound(__("No active role has this number."))
    grant.revoked_at = clock.now()
    session.add(grant)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="role.revoke",
        entity_type="role_grant",
        entity_id=grant.id,
        ward_id=grant.ward_id,
        data={"role": grant.role, "person_id": grant.person_id},
    )
    return grant


async def cancel_invite(session: AsyncSession, invite_id: int, *, actor: str = "cli") -> Invite:
    invite = await session.get(Invite, invite_id)
    if invite is None or invite.used_at is not None or invite.cancelled_at is not None:
        raise NotFound(__("No unused invitation has this number."))
    invite.cancelled_at = clock.now()
    session.add(invite)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="invite.cancel",
        entity_type="invite",
        entity_id=invite.id,
        ward_id=invite.ward_id,
        data={"role": invite.role},
    )
    return invite
