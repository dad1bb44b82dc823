"""Every state change the issue names leaves an entry in the hash-chained trail: the
ward file, a role granted and revoked, a notice, each step of a ticket."""

from __future__ import annotations

from sqlmodel import col, select

from bot.models import AuditEntry, Role, TicketCategory
from bot.services import audit, notices, roles, tickets
from tests import factories
from tests.test_tickets import officer


async def test_each_state_change_is_in_the_chain(session, ward) -> None:  # type: ignore[no-untyped-def]
    invite = await roles.create_invite(session, role=Role.ADMIN, ward=ward)
    admin = await factories.person(session)
    granted = await roles.accept_invite(session, admin, invite.token)
    admin = await factories.refresh(session, admin)
    await notices.publish(
        session,
        admin,
        ward_id=ward.id,
        group_ids=None,
        category_code=(await notices.categories(session, ward.id))[0].code,
        title="Lịch tiếp công dân tháng 7",
        body="Chủ tịch UBND phường tiếp công dân sáng thứ Năm hằng tuần.",
    )
    leader = await factories.with_role(session, Role.LEADER, ward_id=ward.id, group_id=1)
    filer = await factories.resident(session, "KP01", verify_by=leader)
    category = (
        await session.exec(select(TicketCategory).where(TicketCategory.code == "ha-tang"))
    ).one()
    filed = await tickets.file_ticket(
        session,
        filer,
        ticket_type="phan_anh",
        category_id=category.id,
        description="Cống ngõ 3 bị tắc.",
    )
    staff = await officer(session, ward)
    await tickets.claim(session, staff, filed.ticket.id)
    await tickets.write_answer(session, staff, filed.ticket.id, text="Đã thông cống.")
    await tickets.close(session, staff, filed.ticket.id)
    await tickets.rate(session, filer, filed.ticket.id, stars=5)
    await roles.revoke(session, granted.grant.id)
    await session.commit()

    actions = (await session.exec(select(AuditEntry.action).order_by(col(AuditEntry.id)))).all()
    for action in (
        "ward.load",
        "invite.create",
        "role.grant",
        "notice.publish",
        "resident.approve",
        "ticket.file",
        "ticket.claim",
        "ticket.answer_draft",
        "ticket.close",
        "ticket.rate",
        "role.revoke",
    ):
        assert action in actions, action
    report = await audit.verify(session)
    assert report.ok and report.entries == len(actions)
