"""Invitations: one use, expiry, unknown tokens; listing and revoking roles."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.models import Role, Ward
from bot.services import roles
from bot.services.errors import Conflict, InvalidInput, NotFound
from bot.services.wards import find_group, find_office
from tests import factories


async def test_an_invitation_grants_its_role_once(session: AsyncSession, ward: Ward) -> None:
    group = await find_group(session, "KP03")
    created = await roles.create_invite(session, role=Role.LEADER, ward=ward, group=group)
    assert created.start_payload.startswith("inv_") and len(created.start_payload) <= 64
    actor = await factories.person(session)
    granted = await roles.accept_invite(session, actor, created.token)
    assert granted.group is not None and granted.group.code == "KP03"
    assert actor.is_leader_of(group.id)
    again = await factories.person(session)
    with pytest.raises(Conflict):
        await roles.accept_invite(session, again, created.token)
    assert not again.grants


async def test_an_expired_or_unknown_invitation_is_refused(
    session: AsyncSession, ward: Ward
) -> None:
    office = await find_office(session, "DCXD")
    created = await roles.create_invite(session, role=Role.OFFICER, ward=ward, office=office)
    actor = await factories.person(session)
    clock.shift(timedelta(days=7, seconds=1))
    with pytest.raises(Conflict):
        await roles.accept_invite(session, actor, created.token)
    with pytest.raises(NotFound):
        await roles.accept_invite(session, actor, "not-a-token")
    assert actor.grants == []


async def test_a_cancelled_invitation_is_refused(session: AsyncSession, ward: Ward) -> None:
    created = await roles.create_invite(session, role=Role.INSPECTOR, ward=ward)
    await roles.cancel_invite(session, created.invite.id)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        await roles.accept_invite(session, await factories.person(session), created.token)


async def test_invitations_need_their_scope(session: AsyncSession, ward: Ward) -> None:
    with pytest.raises(InvalidInput):
        await roles.create_invite(session, role=Role.LEADER, ward=ward)
    with pytest.raises(InvalidInput):
        await roles.create_invite(session, role=Role.OFFICE_HEAD, ward=ward)


async def test_revoked_roles_disappear_from_the_list(session: AsyncSession, ward: Ward) -> None:
    created = await roles.create_invite(session, role=Role.ADMIN, ward=ward)
    actor = await factories.person(session)
    granted = await roles.accept_invite(session, actor, created.token)
    listed = await roles.list_roles(session)
    assert [(r.grant.role, r.scope) for r in listed] == [("admin", "Phường Ba Đình")]
    await roles.revoke(session, granted.grant.id)  # type: ignore[arg-type]
    assert await roles.list_roles(session) == []
    actor = await factories.refresh(session, actor)
    assert not actor.is_admin_of(ward.id)
    with pytest.raises(NotFound):
        await roles.revoke(session, granted.grant.id)  # type: ignore[arg-type]
