"""The oversight role: late tickets without personal data, supervision recommendations
answered within 15 days, report reminders sent once, residents' public figures."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func
from sqlmodel import col, select

from bench.report_data import generate
from bot import clock
from bot.models import (
    AuditEntry,
    Delivery,
    Household,
    Person,
    Role,
    Ticket,
    TicketCategory,
)
from bot.scheduler.reports import remind_late_recommendations, remind_report_due
from bot.services import audit, oversight, report_files, reports, tickets
from bot.services.errors import Conflict, NotAllowed
from tests import factories

NOW = datetime(2025, 6, 20, 3, 0, tzinfo=UTC)


async def _queued(session, kind: str) -> list[int]:  # type: ignore[no-untyped-def]
    rows = (await session.exec(select(Delivery.person_id).where(Delivery.kind == kind))).all()
    return sorted(r for r in rows if r is not None)


async def test_the_inspectors_views_hold_no_personal_data(session, ward) -> None:  # type: ignore[no-untyped-def]
    from handlers.oversight import overview_text

    leader = await factories.with_role(session, Role.LEADER, ward_id=ward.id, group_id=1)
    filer = await factories.resident(
        session, "KP01", name="Trần Thị Bímật", address="Số 77 ngõ Kínđáo", verify_by=leader
    )
    category = (
        await session.exec(select(TicketCategory).where(TicketCategory.code == "ha-tang"))
    ).one()
    filed = await tickets.file_ticket(
        session,
        filer,
        ticket_type="phan_anh",
        category_id=category.id,
        description="Nhà bà Bímật ở số 77 xả rác ra đường",
    )
    await generate(
        session,
        ward,
        start=datetime(2025, 1, 1, tzinfo=UTC),
        end=datetime(2025, 6, 1, tzinfo=UTC),
        households=40,
        registered=1.0,
        notices=4,
        tickets=120,
        now=NOW,
    )
    inspector = await factories.with_role(session, Role.INSPECTOR, ward_id=ward.id)
    await session.commit()
    later = filed.ticket.created_at + timedelta(days=60)

    late, total = await oversight.late_tickets(session, inspector, ward, now=later)
    assert filed.ticket.code in {item.code for item in late}
    assert total >= len(late) > 5
    report = await reports.build(session, ward, reports.parse_period("2025"), actor=inspector)
    text = overview_text(ward.name, report, late, total, await audit.verify(session), 0)
    files = await report_files.produce(session, ward, reports.parse_period("2025"), now=later)
    workbook = load_workbook(io.BytesIO(files.xlsx))
    cells = " ".join(
        str(v) for ws in workbook for row in ws.iter_rows(values_only=True) for v in row if v
    )
    assert filed.ticket.code in text

    names = [n for n in (await session.exec(select(Person.full_name))).all() if n]
    phones = [p for p in (await session.exec(select(Person.phone))).all() if p]
    addresses = list((await session.exec(select(Household.address))).all())
    descriptions = list((await session.exec(select(Ticket.description))).all())
    assert "Trần Thị Bímật" in names and len(addresses) > 40
    for secret in [*names, *phones, *addresses, *descriptions, "Bímật", "Kínđáo"]:
        assert secret not in text, secret
        assert secret not in cells, secret
        assert secret.encode() not in files.pdf


async def test_only_an_inspector_of_the_ward_sees_oversight(session, ward) -> None:  # type: ignore[no-untyped-def]
    admin = await factories.with_role(session, Role.ADMIN, ward_id=ward.id)
    resident = await factories.person(session)
    for actor in (admin, resident):
        with pytest.raises(NotAllowed):
            await oversight.late_tickets(session, actor, ward)
        with pytest.raises(NotAllowed):
            await oversight.recommend(session, actor, ward.id, "Đề nghị công khai dự toán.")
    with pytest.raises(NotAllowed):
        await reports.build(session, ward, reports.parse_period("2025"), actor=resident)


async def test_a_recommendation_is_answered_and_a_late_one_reminded_once(
    session, ward, factory
) -> None:  # type: ignore[no-untyped-def]
    admin = await factories.with_role(session, Role.ADMIN, ward_id=ward.id)
    inspector = await factories.with_role(session, Role.INSPECTOR, ward_id=ward.id)
    first = await oversight.recommend(
        session, inspector, ward.id, "Đề nghị công khai dự toán thu chi quỹ khu phố 3."
    )
    assert first.code.startswith("GS-") and first.status == "open"
    assert (first.due_on - clock.now().date()).days in (14, 15, 16)
    assert await _queued(session, "oversight.recommendation") == [admin.person_id]

    with pytest.raises(NotAllowed):
        await oversight.answer(session, inspector, first.id, "Tự trả lời")
    answered = await oversight.answer(session, admin, first.id, "UBND đã niêm yết ngày 5/6.")
    assert answered.status == "answered" and answered.answered_by_id == admin.person_id
    assert await _queued(session, "oversight.answer") == [inspector.person_id]
    with pytest.raises(Conflict):
        await oversight.answer(session, admin, first.id, "Lần nữa")

    second = await oversight.recommend(session, inspector, ward.id, "Kiểm tra tiến độ đường ngõ 9.")
    await session.commit()
    assert await oversight.late_recommendations(session, clock.now()) == []
    await session.commit()
    # The day after the last day of the period (15 days, moved past a day off).
    late = datetime.combine(second.due_on + timedelta(days=1), time(9), tzinfo=UTC)
    assert await remind_late_recommendations(factory, late) == 1
    assert await remind_late_recommendations(factory, late) == 0
    assert await _queued(session, "oversight.late") == sorted(
        [admin.person_id, inspector.person_id]
    )
    actions = (
        await session.exec(select(AuditEntry.action).where(AuditEntry.entity_id == str(second.id)))
    ).all()
    assert {"recommendation.send", "recommendation.late"} <= set(actions)
    assert (await audit.verify(session)).ok


async def test_report_reminder_goes_to_admins_once_per_due_date(session, ward, factory) -> None:  # type: ignore[no-untyped-def]
    admin = await factories.with_role(session, Role.ADMIN, ward_id=ward.id)
    await factories.with_role(session, Role.INSPECTOR, ward_id=ward.id)
    await session.commit()
    # examples/ward.yaml: the half-year review is due on 06-15, reminded 7 days before.
    before = datetime(2025, 6, 7, 3, tzinfo=UTC)
    assert await remind_report_due(factory, before) == 0
    window = datetime(2025, 6, 8, 3, tzinfo=UTC)
    assert await remind_report_due(factory, window) == 1
    assert await remind_report_due(factory, window + timedelta(days=3)) == 0
    assert await _queued(session, "report.reminder") == [admin.person_id]
    row = (await session.exec(select(Delivery).where(Delivery.kind == "report.reminder"))).one()
    assert row.params["period"] == "2025-H1" and row.params["days_left"] == 7
    await session.commit()
    # The annual review has its own due date.
    assert await remind_report_due(factory, datetime(2025, 12, 10, 3, tzinfo=UTC)) == 1
    assert await remind_report_due(factory, datetime(2026, 6, 15, 3, tzinfo=UTC)) == 1


def test_due_reports_window() -> None:
    from bot.models import Ward

    ward = Ward(
        code="X",
        name="X",
        province_id=1,
        settings={
            "reports": [
                {"period": "year", "name": "Tổng kết", "due": "01-03", "remind_days_before": 5}
            ]
        },
    )
    # Late December: the due date is next January.
    assert [r.due_on for r in reports.due_reports(ward, date(2025, 12, 30))] == [date(2026, 1, 3)]
    assert reports.due_reports(ward, date(2025, 12, 28)) == []
    assert reports.due_reports(ward, date(2026, 1, 4)) == []


async def test_residents_public_figures_of_the_month(session, ward) -> None:  # type: ignore[no-untyped-def]
    data = await generate(
        session,
        ward,
        start=datetime(2025, 5, 20, tzinfo=UTC),
        end=datetime(2025, 6, 25, tzinfo=UTC),
        households=10,
        registered=0.5,
        notices=0,
        tickets=200,
        now=NOW,
    )
    await session.commit()
    today = date(2025, 6, 26)
    figures = await reports.public_figures(session, ward, today)
    local = [t for t in data.tickets if (t["created_at"] + timedelta(hours=7)).month == 6]
    assert figures.received == len(local)
    assert figures.resolved == sum(t["status"] in ("answered", "declined") for t in local)
    assert figures.on_time == sum(
        t["status"] == "answered" and (t["answered_at"] + timedelta(hours=7)).date() <= t["due_on"]
        for t in local
    )
    count = (await session.exec(select(func.count()).where(col(Ticket.ward_id) == ward.id))).one()
    assert count == 200 > figures.received


async def test_an_inspector_gets_a_vote_record_and_nothing_else(session, ward) -> None:  # type: ignore[no-untyped-def]
    from bot.services import files, notices
    from bot.services.errors import NotFound

    inspector = await factories.with_role(session, Role.INSPECTOR, ward_id=ward.id)
    admin = await factories.with_role(session, Role.ADMIN, ward_id=ward.id)
    pdf = b"%PDF-1.4 bien ban kiem phieu"
    stored = await files.save(session, data=pdf, filename="bien-ban-kiem-phieu-1.pdf")
    code = (await notices.categories(session, ward.id))[0].code
    result = await notices.publish(
        session,
        None,
        ward_id=ward.id,
        group_ids=None,
        category_code=code,
        title="Kết quả biểu quyết",
        body="Được thông qua.",
        attachment_ids=[stored.id],
        source="vote",
        publisher_label="UBND phường",
    )
    plain = await notices.publish(
        session,
        admin,
        ward_id=ward.id,
        group_ids=None,
        category_code=code,
        title="Thông báo khác",
        body="Nội dung.",
        attachment_ids=[stored.id],
    )
    record = await oversight.vote_record(session, inspector, result.id)
    assert record.data == pdf and record.filename.startswith("bien-ban")
    with pytest.raises(NotAllowed):
        await oversight.vote_record(session, admin, result.id)
    with pytest.raises(NotFound):
        await oversight.vote_record(session, inspector, plain.id)


async def test_a_real_vote_appears_in_the_report_and_its_record_reaches_the_inspector(
    session, ward, factory
) -> None:  # type: ignore[no-untyped-def]
    from bot.services import votes
    from handlers.oversight import overview_text
    from tests.test_votes import close_now, leader_of, new_vote, representatives

    leader = await leader_of(session, ward)
    reps = await representatives(session, leader, 5)
    inspector = await factories.with_role(session, Role.INSPECTOR, ward_id=ward.id)
    vote = await new_vote(session, leader, ward)
    for rep, option in zip(reps, [0, 0, 0, 1], strict=False):
        await votes.cast(session, rep, vote.id, option)  # type: ignore[arg-type]
    open_report = await reports.build(session, ward, _period_of(vote), actor=inspector)
    [line] = open_report.votes.votes
    assert (line.closed, line.ballots, line.agree, line.adopted) == (False, 4, 3, None)
    vote = await close_now(session, factory, vote)

    report = await reports.build(session, ward, _period_of(vote), actor=inspector)
    [line] = report.votes.votes
    assert (line.closed, line.eligible, line.ballots, line.agree, line.adopted) == (
        True,
        5,
        4,
        3,
        True,
    )
    assert line.scope == "Khu phố 1" and line.record_notice_id == vote.result_notice_id
    record = await oversight.vote_record(session, inspector, line.record_notice_id)
    assert record.data.startswith(b"%PDF")
    text = overview_text(ward.name, report, [], 0, await audit.verify(session), 0)
    assert "4/5 hộ tham gia, đồng ý 3 — Được thông qua" in text
    files = await report_files.produce(session, ward, _period_of(vote))
    summary = {
        r[2]: r[1]
        for r in load_workbook(io.BytesIO(files.xlsx))["Tổng hợp"].iter_rows(
            min_row=5, values_only=True
        )
    }
    assert (summary["votes"], summary["votes_adopted"]) == (1, 1)
    assert summary["votes_turnout"] == pytest.approx(0.8)


def _period_of(vote) -> reports.Period:  # type: ignore[no-untyped-def]
    day = vote.opens_at.astimezone(reports.ZoneInfo("Asia/Ho_Chi_Minh")).date()
    return reports.parse_period(str(day.year))
