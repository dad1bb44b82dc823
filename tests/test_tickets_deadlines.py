"""Ticket deadlines: escalation once per level (even with several workers), daily digests."""

from __future__ import annotations

import asyncio
from datetime import date

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import Delivery, Role, Ticket, TicketEvent, Ward
from bot.scheduler.tickets import escalate_late_tickets, send_office_digests
from bot.services import tickets
from bot.services.wards import find_office
from tests import factories
from tests.test_tickets import at_local, file, officer, resident, set_now


async def _deliveries(factory: async_sessionmaker[AsyncSession], kind: str) -> list[Delivery]:
    async with factory() as session:
        rows = await session.exec(select(Delivery).where(Delivery.kind == kind))
        return list(rows.all())


async def _setup(session: AsyncSession, ward: Ward):  # type: ignore[no-untyped-def]
    set_now(at_local(date(2025, 3, 3)))  # Monday; a report is due on 17 March
    staff = await officer(session, ward)
    head = await officer(session, ward, head=True)
    admin = await factories.with_role(session, Role.ADMIN, ward_id=ward.id)  # type: ignore[arg-type]
    actor = await resident(session, ward)
    ticket = await file(session, actor)
    await session.commit()
    return staff, head, admin, actor, ticket


async def test_a_late_ticket_escalates_once_per_level(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession], ward: Ward
) -> None:
    _staff, head, admin, _actor, ticket = await _setup(session, ward)
    # On the due day it is not late yet.
    assert await escalate_late_tickets(factory, at_local(date(2025, 3, 17), 16)) == 0
    late = at_local(date(2025, 3, 18), 8)
    assert await escalate_late_tickets(factory, late) == 1
    assert await escalate_late_tickets(factory, late) == 0
    assert await escalate_late_tickets(factory, at_local(date(2025, 3, 19), 8)) == 0
    first = await _deliveries(factory, "ticket.escalation")
    assert [(d.person_id, d.params["level"]) for d in first] == [(head.person_id, 1)]
    # Two working days after the deadline it goes to the ward admin, once.
    assert await escalate_late_tickets(factory, at_local(date(2025, 3, 20), 8)) == 1
    assert await escalate_late_tickets(factory, at_local(date(2025, 3, 21), 8)) == 0
    assert await escalate_late_tickets(factory, at_local(date(2025, 4, 21), 8)) == 0
    second = await _deliveries(factory, "ticket.escalation")
    assert [(d.person_id, d.params["level"]) for d in second] == [
        (head.person_id, 1),
        (admin.person_id, 2),
    ]
    async with factory() as s:
        events = (await s.exec(select(TicketEvent).where(TicketEvent.kind == "escalated"))).all()
        assert [(e.data["level"], e.public) for e in events] == [(1, False), (2, False)]
        row = await s.get(Ticket, ticket.id)
        assert row is not None and row.escalation_level == 2


async def test_several_workers_escalate_exactly_once(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession], ward: Ward
) -> None:
    await _setup(session, ward)
    late = at_local(date(2025, 3, 18), 8)
    done = await asyncio.gather(*(escalate_late_tickets(factory, late) for _ in range(4)))
    assert sum(done) == 1
    assert len(await _deliveries(factory, "ticket.escalation")) == 1


async def test_answered_tickets_do_not_escalate_and_an_extension_starts_over(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession], ward: Ward
) -> None:
    staff, _head, _admin, actor, ticket = await _setup(session, ward)
    await tickets.write_answer(session, staff, ticket.id, text="Đã sửa xong.")  # type: ignore[arg-type]
    await tickets.close(session, staff, ticket.id)  # type: ignore[arg-type]
    police = await officer(session, ward, "CA")
    await officer(session, ward, "CA", head=True)
    complaint = await file(session, actor, "to_cao", code="an-ninh")
    assert complaint.accept_due_on == date(2025, 3, 12)
    await session.commit()
    assert await escalate_late_tickets(factory, at_local(date(2025, 3, 13), 8)) == 1
    await tickets.extend(session, police, complaint.id, reason="Cần xác minh")  # type: ignore[arg-type]
    assert complaint.accept_due_on == date(2025, 3, 17)
    assert complaint.escalation_level == 0
    await session.commit()
    assert await escalate_late_tickets(factory, at_local(date(2025, 3, 14), 8)) == 0
    assert await escalate_late_tickets(factory, at_local(date(2025, 3, 18), 8)) == 1
    escalated = await _deliveries(factory, "ticket.escalation")
    assert [d.params["ticket_id"] for d in escalated] == [complaint.id, complaint.id]


async def test_daily_digest_once_per_office_and_working_day(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession], ward: Ward
) -> None:
    staff, head, _admin, _actor, _ticket = await _setup(session, ward)
    police_office = await find_office(session, "CA")
    police_office.chat_id = -1005
    await session.commit()
    # Before 07:00 nothing; from 07:00 once.
    assert await send_office_digests(factory, at_local(date(2025, 3, 4), 6)) == 0
    tuesday = at_local(date(2025, 3, 4), 8)
    assert await send_office_digests(factory, tuesday) == 1
    assert await send_office_digests(factory, tuesday) == 0
    digests = await _deliveries(factory, "ticket.digest")
    # DCXD has no chat: its officers get it privately. CA has no open ticket: nothing.
    assert sorted(d.person_id for d in digests) == sorted([staff.person_id, head.person_id])
    # Saturday: no digest.
    assert await send_office_digests(factory, at_local(date(2025, 3, 8), 9)) == 0
    results = await asyncio.gather(
        *(send_office_digests(factory, at_local(date(2025, 3, 10), 9)) for _ in range(3))
    )
    assert sum(results) == 1
