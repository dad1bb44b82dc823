"""Tickets (services): filing, deadlines per type, acceptance, routing, answers, limits."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.models import (
    AuditEntry,
    Delivery,
    Office,
    Person,
    Role,
    Ticket,
    TicketAttachment,
    TicketCategory,
    TicketEvent,
    TicketStatus,
    Ward,
)
from bot.services import files, tickets
from bot.services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.services.people import Actor
from bot.services.wards import find_office
from tests import factories

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def set_now(moment: datetime) -> None:
    """Put the clock at ``moment`` (aware)."""
    clock.reset()
    clock.shift(moment - datetime.now(UTC))


def at_local(day: date, hour: int = 10) -> datetime:
    # Hà Nội is UTC+7 all year.
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hour - 7)


async def category(session: AsyncSession, code: str = "ha-tang") -> TicketCategory:
    row = (await session.exec(select(TicketCategory).where(TicketCategory.code == code))).one()
    return row


async def officer(
    session: AsyncSession, ward: Ward, office_code: str = "DCXD", *, head: bool = False
) -> Actor:
    office = await find_office(session, office_code)
    actor = await factories.person(session)
    actor.person.full_name = "Cán bộ " + office_code  # type: ignore[union-attr]
    return await factories.with_role(
        session,
        Role.OFFICE_HEAD if head else Role.OFFICER,
        ward_id=ward.id,  # type: ignore[arg-type]
        office_id=office.id,
        actor=actor,
    )


async def resident(session: AsyncSession, ward: Ward, *, verified: bool = True) -> Actor:
    leader = None
    if verified:
        group = (await session.exec(select(Office))).first()
        assert group is not None
        from bot.services.wards import find_group

        kp = await find_group(session, "KP01")
        leader = await factories.with_role(
            session,
            Role.LEADER,
            ward_id=ward.id,
            group_id=kp.id,  # type: ignore[arg-type]
        )
    return await factories.resident(session, name="Trần Thị Bình", verify_by=leader)


async def file(
    session: AsyncSession,
    actor: Actor,
    ticket_type: str = "phan_anh",
    *,
    code: str = "ha-tang",
    description: str = "Đèn đường ngõ 5 bị hỏng ba hôm nay.",
    **kwargs: object,
) -> Ticket:
    cat = await category(session, code)
    filed = await tickets.file_ticket(
        session,
        actor,
        ticket_type=ticket_type,
        category_id=cat.id,  # type: ignore[arg-type]
        description=description,
        **kwargs,  # type: ignore[arg-type]
    )
    return filed.ticket


async def deliveries(session: AsyncSession, kind: str) -> list[Delivery]:
    return list(
        (
            await session.exec(select(Delivery).where(Delivery.kind == kind).order_by(Delivery.id))
        ).all()
    )


# --- filing ---------------------------------------------------------------------------------


async def test_a_report_gets_a_code_a_deadline_and_goes_to_its_office(
    session: AsyncSession, ward: Ward
) -> None:
    set_now(at_local(date(2025, 3, 3)))  # a Monday
    staff = await officer(session, ward)
    head = await officer(session, ward, head=True)
    await officer(session, ward, "CA")
    actor = await resident(session, ward)
    photo = await files.save(session, data=PNG, filename="den.png", uploaded_by_id=actor.person_id)
    ticket = await file(
        session, actor, attached=[(photo.id, "photo")], latitude=19.8, longitude=105.77
    )
    assert ticket.code == "PA-2025-000001"
    assert ticket.due_on == date(2025, 3, 17)  # 10 working days
    assert ticket.accept_due_on is None
    assert ticket.status == TicketStatus.NEW
    office = await session.get(Office, ticket.office_id)
    assert office is not None and office.code == "DCXD"
    atts = await tickets.attachments(session, ticket.id)  # type: ignore[arg-type]
    assert [(a.file_id, a.kind) for a in atts] == [(photo.id, "photo")]
    # The office has no chat: each of its officers gets the card privately.
    cards = await deliveries(session, "ticket.card")
    assert sorted(c.person_id for c in cards) == sorted([staff.person_id, head.person_id])
    events = await tickets.history(session, ticket.id)  # type: ignore[arg-type]
    assert [e.kind for e in events] == ["filed"]


async def test_an_office_with_a_chat_gets_the_card_there(session: AsyncSession, ward: Ward) -> None:
    office = await find_office(session, "DCXD")
    office.chat_id = -100123
    await officer(session, ward)
    actor = await resident(session, ward)
    ticket = await file(session, actor)
    cards = await deliveries(session, "ticket.card")
    assert [(c.chat_id, c.is_group, c.params["ticket_id"]) for c in cards] == [
        ("-100123", True, ticket.id)
    ]


async def test_one_sequence_per_ward_and_year_across_types(
    session: AsyncSession, ward: Ward
) -> None:
    set_now(at_local(date(2025, 12, 31), 20))
    actor = await resident(session, ward)
    first = await file(session, actor)
    second = await file(session, actor, "khieu_nai", code="dat-dai")
    third = await file(session, actor, "kien_nghi")
    assert [first.code, second.code, third.code] == [
        "PA-2025-000001",
        "KN-2025-000002",
        "KNG-2025-000003",
    ]
    set_now(at_local(date(2026, 1, 2), 9))
    fourth = await file(session, actor, "gop_y")
    assert fourth.code == "GY-2026-000001"


async def test_concurrent_filings_never_share_a_number(
    factory: async_sessionmaker[AsyncSession], session: AsyncSession, ward: Ward
) -> None:
    # The fixture's session holds SQLite's write lock until it ends its transaction.
    await session.commit()
    async with factory() as session:
        actors = [await resident(session, ward) for _ in range(6)]
        cat = await category(session)
        await session.commit()

    async def one(actor: Actor) -> str:
        async with factory() as session:
            fresh = await factories.refresh(session, actor)
            filed = await tickets.file_ticket(
                session,
                fresh,
                ticket_type="phan_anh",
                category_id=cat.id,  # type: ignore[arg-type]
                description="Cống thoát nước bị tắc sau mưa.",
            )
            await session.commit()
            return filed.ticket.code

    codes = await asyncio.gather(*(one(a) for a in actors))
    numbers = sorted(int(c.rsplit("-", 1)[1]) for c in codes)
    assert numbers == [1, 2, 3, 4, 5, 6]


async def test_who_may_file(session: AsyncSession, ward: Ward) -> None:
    pending = await resident(session, ward, verified=False)
    assert pending.resident.status == "pending"  # type: ignore[union-attr]
    await file(session, pending)  # pending residents may file
    stranger = await factories.person(session)
    with pytest.raises(NotAllowed):
        await file(session, stranger)
    pending.resident.status = "rejected"  # type: ignore[union-attr]
    with pytest.raises(NotAllowed):
        await file(session, pending)
    assert len((await session.exec(select(Ticket))).all()) == 1


async def test_limits_per_day_text_and_attachments(session: AsyncSession, ward: Ward) -> None:
    set_now(at_local(date(2025, 3, 4), 8))
    actor = await resident(session, ward)
    for _ in range(5):
        await file(session, actor)
    with pytest.raises(InvalidInput) as exc:
        await file(session, actor)
    assert "5" in exc.value.render()
    # The limit counts the ward's calendar day.
    set_now(at_local(date(2025, 3, 5), 8))
    await file(session, actor)

    with pytest.raises(InvalidInput):
        await file(session, actor, description="x" * 4001)
    with pytest.raises(InvalidInput):
        await file(session, actor, description="hỏng")
    photos = [
        await files.save(
            session, data=PNG + bytes([i]), filename=f"{i}.png", uploaded_by_id=actor.person_id
        )
        for i in range(6)
    ]
    with pytest.raises(InvalidInput):
        await file(session, actor, attached=[(p.id, "photo") for p in photos])
    # Someone else's file id is refused.
    other = await resident(session, ward)
    theirs = await files.save(
        session, data=PNG + b"x", filename="x.png", uploaded_by_id=other.person_id
    )
    with pytest.raises(NotAllowed):
        await file(session, actor, attached=[(theirs.id, "photo")])
    with pytest.raises(InvalidInput):
        tickets.check_attachment(ward, count=0, size=11 * 1024 * 1024)
    with pytest.raises(InvalidInput):
        tickets.check_attachment(ward, count=5, size=10)
    tickets.check_attachment(ward, count=4, size=10 * 1024 * 1024)
    assert len((await session.exec(select(Ticket))).all()) == 6


async def test_anonymity_where_the_law_allows_it(session: AsyncSession, ward: Ward) -> None:
    actor = await resident(session, ward)
    ticket = await file(session, actor, anonymous=True)
    assert ticket.anonymous
    with pytest.raises(InvalidInput):
        await file(session, actor, "khieu_nai", anonymous=True)
    with pytest.raises(InvalidInput) as exc:
        await file(session, actor, "to_cao", anonymous=True)
    assert "phản ánh" in exc.value.render() or "report" in exc.value.render()
    audit = (await session.exec(select(AuditEntry).where(AuditEntry.action == "ticket.file"))).all()
    assert [a.actor for a in audit] == ["confidential"]


# --- deadlines per type -------------------------------------------------------------------


async def test_a_complaint_is_accepted_first_and_then_decided(
    session: AsyncSession, ward: Ward
) -> None:
    set_now(at_local(date(2025, 3, 3)))
    staff = await officer(session, ward)
    actor = await resident(session, ward)
    ticket = await file(session, actor, "khieu_nai", code="dat-dai")
    # 10 working days to accept (Circular 07/2013 Art. 5(1)); the decision deadline does
    # not run yet.
    assert ticket.accept_due_on == date(2025, 3, 17)
    assert ticket.due_on is None
    assert tickets.current_due(ticket) == date(2025, 3, 17)
    await tickets.claim(session, staff, ticket.id)  # type: ignore[arg-type]
    # Nothing can be answered before acceptance.
    with pytest.raises(InvalidInput):
        await tickets.write_answer(session, staff, ticket.id, text="Đã xem xét.")  # type: ignore[arg-type]
    set_now(at_local(date(2025, 3, 7)))
    await tickets.accept(session, staff, ticket.id)  # type: ignore[arg-type]
    # 30 days from 7 March is Sunday 6 April; Monday 7 April is Giỗ Tổ Hùng Vương.
    assert ticket.due_on == date(2025, 4, 8)
    with pytest.raises(Conflict):
        await tickets.accept(session, staff, ticket.id)  # type: ignore[arg-type]
    with pytest.raises(Conflict):
        await tickets.decline(session, staff, ticket.id, reason="Không thuộc thẩm quyền")  # type: ignore[arg-type]
    # A complex case: 45 days from acceptance, once.
    await tickets.extend(session, staff, ticket.id, reason="Vụ việc phức tạp")  # type: ignore[arg-type]
    assert ticket.due_on == date(2025, 4, 21)
    assert ticket.complex_case
    with pytest.raises(Conflict):
        await tickets.extend(session, staff, ticket.id, reason="Thêm lần nữa")  # type: ignore[arg-type]
    assert ticket.due_on == date(2025, 4, 21)


async def test_a_denunciation_accept_extension_and_two_decision_extensions(
    session: AsyncSession, ward: Ward
) -> None:
    set_now(at_local(date(2026, 2, 13)))  # the Friday before Tết 2026
    staff = await officer(session, ward, "CA")
    actor = await resident(session, ward)
    ticket = await file(session, actor, "to_cao", code="an-ninh")
    assert ticket.code.startswith("TC-2026-")
    assert ticket.accept_due_on == date(2026, 3, 3)  # 7 working days, Tết skipped
    with pytest.raises(InvalidInput):
        await tickets.extend(session, staff, ticket.id, reason="")  # type: ignore[arg-type]
    await tickets.extend(session, staff, ticket.id, reason="Cần xác minh thêm")  # type: ignore[arg-type]
    assert ticket.accept_due_on == date(2026, 3, 6)  # +3 working days
    with pytest.raises(Conflict):
        await tickets.extend(session, staff, ticket.id, reason="Lần nữa")  # type: ignore[arg-type]
    set_now(at_local(date(2026, 3, 2)))
    await tickets.accept(session, staff, ticket.id)  # type: ignore[arg-type]
    assert ticket.due_on == date(2026, 4, 1)  # 30 calendar days
    await tickets.extend(session, staff, ticket.id, reason="Phức tạp")  # type: ignore[arg-type]
    assert ticket.due_on == date(2026, 5, 4)  # +30: Friday 1 May is a holiday, then a weekend
    await tickets.extend(session, staff, ticket.id, reason="Đặc biệt phức tạp")  # type: ignore[arg-type]
    assert ticket.due_on == date(2026, 6, 3)
    with pytest.raises(Conflict):
        await tickets.extend(session, staff, ticket.id, reason="Không còn")  # type: ignore[arg-type]
    kinds = [e.kind for e in await tickets.history(session, ticket.id)]  # type: ignore[arg-type]
    assert kinds.count("extended") == 3


async def test_declining_needs_a_reason_and_only_complaints_or_denunciations(
    session: AsyncSession, ward: Ward
) -> None:
    staff = await officer(session, ward)
    actor = await resident(session, ward)
    report = await file(session, actor)
    with pytest.raises(InvalidInput):
        await tickets.decline(session, staff, report.id, reason="Không")  # type: ignore[arg-type]
    complaint = await file(session, actor, "khieu_nai", code="dat-dai")
    with pytest.raises(InvalidInput):
        await tickets.decline(session, staff, complaint.id, reason=" ")  # type: ignore[arg-type]
    await tickets.decline(session, staff, complaint.id, reason="Đã có quyết định giải quyết")  # type: ignore[arg-type]
    assert complaint.status == TicketStatus.DECLINED
    with pytest.raises(Conflict):
        await tickets.claim(session, staff, complaint.id)  # type: ignore[arg-type]
    updates = await deliveries(session, "ticket.update")
    assert updates[-1].person_id == actor.person_id


# --- handling -------------------------------------------------------------------------------


async def test_claim_answer_close_rate(session: AsyncSession, ward: Ward) -> None:
    staff = await officer(session, ward)
    actor = await resident(session, ward)
    ticket = await file(session, actor)
    await tickets.claim(session, staff, ticket.id)  # type: ignore[arg-type]
    assert ticket.assigned_officer_id == staff.person_id
    assert ticket.status == TicketStatus.IN_PROGRESS
    with pytest.raises(Conflict):
        await tickets.claim(session, staff, ticket.id)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        await tickets.close(session, staff, ticket.id)  # type: ignore[arg-type]
    doc = await files.save(
        session, data=b"%PDF-1.4 ...", filename="bb.pdf", uploaded_by_id=staff.person_id
    )
    await tickets.write_answer(
        session,
        staff,
        ticket.id,  # type: ignore[arg-type]
        text="Đã thay bóng đèn ngày 05/3.",
        file_ids=[doc.id],  # type: ignore[list-item]
    )
    assert ticket.status == TicketStatus.IN_PROGRESS
    await tickets.close(session, staff, ticket.id)  # type: ignore[arg-type]
    assert ticket.status == TicketStatus.ANSWERED
    answered = [e for e in await tickets.history(session, ticket.id) if e.kind == "answered"]  # type: ignore[arg-type]
    assert answered[0].note == "Đã thay bóng đèn ngày 05/3."
    atts = await tickets.attachments(session, ticket.id, event_id=answered[0].id)  # type: ignore[arg-type]
    assert [a.file_id for a in atts] == [doc.id]
    updates = await deliveries(session, "ticket.update")
    assert [u.params["event_id"] for u in updates][-1] == answered[0].id
    # Only the filer rates, once, 1 to 5.
    with pytest.raises(NotFound):
        await tickets.rate(session, staff, ticket.id, stars=5)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        await tickets.rate(session, actor, ticket.id, stars=6)  # type: ignore[arg-type]
    await tickets.rate(session, actor, ticket.id, stars=4)  # type: ignore[arg-type]
    assert ticket.rating == 4
    with pytest.raises(Conflict):
        await tickets.rate(session, actor, ticket.id, stars=1)  # type: ignore[arg-type]
    notes = await deliveries(session, "ticket.note")
    assert [n.person_id for n in notes] == [staff.person_id]


async def test_only_the_offices_officers_act_and_forged_ids_change_nothing(
    session: AsyncSession, ward: Ward
) -> None:
    staff = await officer(session, ward)
    colleague = await officer(session, ward)
    head = await officer(session, ward, head=True)
    police = await officer(session, ward, "CA")
    admin = await factories.with_role(session, Role.ADMIN, ward_id=ward.id)  # type: ignore[arg-type]
    actor = await resident(session, ward)
    ticket = await file(session, actor)
    for outsider in (police, admin, actor):
        with pytest.raises(NotAllowed):
            await tickets.claim(session, outsider, ticket.id)  # type: ignore[arg-type]
        with pytest.raises(NotAllowed):
            await tickets.request_info(session, outsider, ticket.id, question="Ở đâu ạ?")  # type: ignore[arg-type]
        with pytest.raises(NotAllowed):
            await tickets.write_answer(session, outsider, ticket.id, text="Xong")  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        await tickets.claim(session, staff, 999999)
    assert ticket.assigned_officer_id is None and ticket.status == TicketStatus.NEW
    await tickets.claim(session, staff, ticket.id)  # type: ignore[arg-type]
    # A colleague cannot take it over; the head can.
    with pytest.raises(NotAllowed):
        await tickets.claim(session, colleague, ticket.id)  # type: ignore[arg-type]
    with pytest.raises(NotAllowed):
        await tickets.write_answer(session, colleague, ticket.id, text="Đã xử lý")  # type: ignore[arg-type]
    await tickets.claim(session, head, ticket.id)  # type: ignore[arg-type]
    assert ticket.assigned_officer_id == head.person_id
    # A revoked officer is refused at once.
    for grant in staff.grants:
        grant.revoked_at = clock.now()
    staff = await factories.refresh(session, staff)
    with pytest.raises(NotAllowed):
        await tickets.request_info(session, staff, ticket.id, question="Ở đâu ạ?")  # type: ignore[arg-type]


async def test_transfer_to_another_office(session: AsyncSession, ward: Ward) -> None:
    staff = await officer(session, ward)
    police = await officer(session, ward, "CA")
    actor = await resident(session, ward)
    ticket = await file(session, actor, code="trat-tu-do-thi")
    due = ticket.due_on
    await tickets.claim(session, staff, ticket.id)  # type: ignore[arg-type]
    ca = await find_office(session, "CA")
    with pytest.raises(InvalidInput):
        await tickets.transfer(session, staff, ticket.id, office_id=ca.id, reason="")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        await tickets.transfer(
            session,
            staff,
            ticket.id,  # type: ignore[arg-type]
            office_id=ticket.office_id,  # type: ignore[arg-type]
            reason="Nhầm",
        )
    with pytest.raises(NotFound):
        await tickets.transfer(session, staff, ticket.id, office_id=99999, reason="Nhầm")  # type: ignore[arg-type]
    with pytest.raises(NotAllowed):
        await tickets.transfer(session, police, ticket.id, office_id=ca.id, reason="Lấy về")  # type: ignore[arg-type]
    _t, previous = await tickets.transfer(
        session,
        staff,
        ticket.id,  # type: ignore[arg-type]
        office_id=ca.id,  # type: ignore[arg-type]
        reason="Tiếng ồn ban đêm thuộc Công an",
    )
    assert ticket.office_id == ca.id and previous != ca.id
    assert ticket.assigned_officer_id is None and ticket.status == TicketStatus.NEW
    assert ticket.due_on == due
    # The old office can no longer act; the new one can.
    with pytest.raises(NotAllowed):
        await tickets.claim(session, staff, ticket.id)  # type: ignore[arg-type]
    await tickets.claim(session, police, ticket.id)  # type: ignore[arg-type]
    cards = await deliveries(session, "ticket.card")
    assert cards[-1].person_id == police.person_id
    event = next(e for e in await tickets.history(session, ticket.id) if e.kind == "transferred")  # type: ignore[arg-type]
    assert event.data == {"from_office_id": previous, "to_office_id": ca.id}


async def test_asking_the_resident_for_more(session: AsyncSession, ward: Ward) -> None:
    staff = await officer(session, ward)
    actor = await resident(session, ward)
    ticket = await file(session, actor)
    with pytest.raises(Conflict):
        await tickets.add_info(session, actor, ticket.id, text="Thêm ảnh")  # type: ignore[arg-type]
    await tickets.request_info(session, staff, ticket.id, question="Chính xác số nhà nào?")  # type: ignore[arg-type]
    assert ticket.status == TicketStatus.INFO_REQUESTED
    assert ticket.assigned_officer_id == staff.person_id
    stranger = await resident(session, ward)
    with pytest.raises(NotFound):
        await tickets.add_info(session, stranger, ticket.id, text="Số 7")  # type: ignore[arg-type]
    photo = await files.save(session, data=PNG, filename="a.png", uploaded_by_id=actor.person_id)
    await tickets.add_info(
        session,
        actor,
        ticket.id,  # type: ignore[arg-type]
        text="Trước cửa số 7, ngõ 5.",
        attached=[(photo.id, "photo")],  # type: ignore[list-item]
    )
    assert ticket.status == TicketStatus.IN_PROGRESS
    notes = await deliveries(session, "ticket.note")
    assert [n.person_id for n in notes] == [staff.person_id]
    assert len(await tickets.attachments(session, ticket.id)) == 1  # type: ignore[arg-type]


async def test_reopen_within_seven_days_keeps_code_and_history(
    session: AsyncSession, ward: Ward
) -> None:
    set_now(at_local(date(2025, 3, 3)))
    staff = await officer(session, ward)
    actor = await resident(session, ward)
    ticket = await file(session, actor)
    code = ticket.code
    await tickets.write_answer(session, staff, ticket.id, text="Đã sửa.")  # type: ignore[arg-type]
    await tickets.close(session, staff, ticket.id)  # type: ignore[arg-type]
    set_now(at_local(date(2025, 3, 9)))
    await tickets.reopen(session, actor, ticket.id, reason="Đèn vẫn chưa sáng")  # type: ignore[arg-type]
    assert ticket.code == code
    assert ticket.status == TicketStatus.IN_PROGRESS
    assert ticket.assigned_officer_id == staff.person_id
    assert ticket.due_on == date(2025, 3, 21)  # a new answer period from Sunday 9 March
    assert ticket.answer_text is None and ticket.reopen_count == 1
    kinds = [e.kind for e in await tickets.history(session, ticket.id)]  # type: ignore[arg-type]
    assert kinds == ["filed", "claimed", "answer_drafted", "answered", "reopened"]
    with pytest.raises(Conflict):
        await tickets.reopen(session, actor, ticket.id, reason="Lần nữa")  # type: ignore[arg-type]
    # Answered again; eight days later it can no longer be reopened.
    await tickets.write_answer(session, staff, ticket.id, text="Đã thay cả bộ đèn.")  # type: ignore[arg-type]
    await tickets.close(session, staff, ticket.id)  # type: ignore[arg-type]
    set_now(at_local(date(2025, 3, 17)) + timedelta(hours=1))
    with pytest.raises(InvalidInput):
        await tickets.reopen(session, actor, ticket.id, reason="Vẫn hỏng")  # type: ignore[arg-type]
    assert ticket.status == TicketStatus.ANSWERED


async def test_officer_lists_with_filters(session: AsyncSession, ward: Ward) -> None:
    set_now(at_local(date(2025, 3, 3)))
    staff = await officer(session, ward)
    police = await officer(session, ward, "CA")
    actor = await resident(session, ward)
    early = await file(session, actor)
    set_now(at_local(date(2025, 3, 10)))
    late = await file(session, actor)
    await file(session, actor, code="an-ninh")  # to the police
    await tickets.claim(session, staff, late.id)  # type: ignore[arg-type]
    set_now(at_local(date(2025, 3, 14)))  # early is due 17 March: soon
    everything = await tickets.office_tickets(session, staff)
    assert [t.id for t in everything] == [early.id, late.id]
    assert [t.id for t in await tickets.office_tickets(session, staff, filter="mine")] == [late.id]
    assert [t.id for t in await tickets.office_tickets(session, staff, filter="soon")] == [early.id]
    assert await tickets.office_tickets(session, staff, filter="overdue") == []
    set_now(at_local(date(2025, 3, 18)))
    assert [t.id for t in await tickets.office_tickets(session, staff, filter="overdue")] == [
        early.id
    ]
    assert len(await tickets.office_tickets(session, police)) == 1
    with pytest.raises(NotAllowed):
        await tickets.office_tickets(session, actor)


async def test_a_resident_who_leaves_leaves_their_tickets_behind(
    session: AsyncSession, ward: Ward
) -> None:
    actor = await resident(session, ward)
    ticket = await file(session, actor)
    ticket_id = ticket.id
    await session.commit()
    await session.exec(delete(Person).where(col(Person.id) == actor.person_id))  # type: ignore[call-overload]
    await session.commit()
    session.expire_all()
    kept = await session.get(Ticket, ticket_id)
    assert kept is not None and kept.person_id is None
    assert await tickets.reporter(session, kept, None) is None
    assert len(await tickets.history(session, ticket_id)) == 1  # type: ignore[arg-type]
    assert (
        await session.exec(select(TicketAttachment).where(TicketAttachment.ticket_id == ticket_id))
    ).all() == []
    assert (await session.exec(select(TicketEvent))).first() is not None
