"""Disclosure notices (services): scope, permissions, expiry, edits, withdrawal, reads,
statistics."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.models import (
    AuditEntry,
    ChannelAccount,
    Delivery,
    DeliveryStatus,
    Notice,
    NoticeRevision,
    ResidentialGroup,
    Role,
    Ward,
)
from bot.services import audit, files, notices, registration
from bot.services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.services.people import Actor
from bot.services.wards import find_group
from tests import factories

PDF = b"%PDF-1.4 test notice"


async def group(session: AsyncSession, code: str) -> ResidentialGroup:
    return await find_group(session, code)


async def leader_of(session: AsyncSession, ward: Ward, code: str) -> Actor:
    g = await group(session, code)
    return await factories.with_role(session, Role.LEADER, ward_id=ward.id, group_id=g.id)  # type: ignore[arg-type]


async def admin_of(session: AsyncSession, ward: Ward) -> Actor:
    return await factories.with_role(session, Role.ADMIN, ward_id=ward.id)  # type: ignore[arg-type]


async def publish(session: AsyncSession, actor: Actor | None, ward: Ward, **kw: Any) -> Notice:
    values: dict[str, Any] = {
        "ward_id": ward.id,
        "group_ids": None,
        "category_code": "ngan-sach",
        "title": "Công khai dự toán ngân sách năm 2027",
        "body": "Ủy ban nhân dân phường thông báo dự toán ngân sách năm 2027.",
    }
    values.update(kw)
    return await notices.publish(session, actor, **values)


async def refused(session: AsyncSession, error: type[Exception], call: Any) -> None:
    """``call()`` raises ``error`` and leaves nothing behind (a savepoint keeps the
    objects the test holds usable, where a full rollback would expire them)."""
    with pytest.raises(error):
        async with session.begin_nested():
            await call()


async def deliveries(session: AsyncSession, notice: Notice) -> list[Delivery]:
    return list(
        (
            await session.exec(
                select(Delivery)
                .where(Delivery.ref_type == "notice", Delivery.ref_id == notice.id)
                .execution_options(populate_existing=True)
            )
        ).all()
    )


@pytest.fixture
async def town(session: AsyncSession, ward: Ward) -> dict[str, Any]:
    """Two groups with residents: KP01 (verified, pending, rejected, blocked) and KP02."""
    kp01_leader = await leader_of(session, ward, "KP01")
    kp02_leader = await leader_of(session, ward, "KP02")
    verified = await factories.resident(session, "KP01", verify_by=kp01_leader)
    pending = await factories.resident(session, "KP01")
    rejected = await factories.resident(session, "KP01")
    await registration.decide(session, kp01_leader, rejected.resident.id, approve=False)  # type: ignore[union-attr]
    blocked = await factories.resident(session, "KP01", verify_by=kp01_leader)
    blocked.account.blocked_at = clock.now()  # type: ignore[union-attr]
    session.add(blocked.account)
    other = await factories.resident(session, "KP02", verify_by=kp02_leader)
    await session.flush()
    return {
        "kp01_leader": kp01_leader,
        "kp02_leader": kp02_leader,
        "verified": await factories.refresh(session, verified),
        "pending": await factories.refresh(session, pending),
        "rejected": await factories.refresh(session, rejected),
        "blocked": await factories.refresh(session, blocked),
        "other": await factories.refresh(session, other),
    }


# --- scope -------------------------------------------------------------------------------


async def test_a_ward_notice_reaches_every_registered_resident_not_rejected_ones(
    session: AsyncSession, ward: Ward, town: dict[str, Any]
) -> None:
    admin = await admin_of(session, ward)
    kp01 = await group(session, "KP01")
    kp01.chat_id = -100123
    session.add(kp01)
    notice = await publish(session, admin, ward, urgent=True)
    rows = await deliveries(session, notice)
    private = {r.person_id: r for r in rows if not r.is_group}
    assert set(private) == {town[k].person_id for k in ("verified", "pending", "blocked", "other")}
    assert private[town["blocked"].person_id].status == DeliveryStatus.BLOCKED
    assert private[town["verified"].person_id].segment == kp01.id
    assert private[town["other"].person_id].segment == (await group(session, "KP02")).id
    assert {r.priority for r in rows} == {100}
    chats = [r for r in rows if r.is_group]
    assert [(c.chat_id, c.segment) for c in chats] == [("-100123", kp01.id)]
    assert notice.whole_ward and notice.publisher_role == "admin"
    assert notice.expires_at - notice.published_at == timedelta(days=30)


async def test_an_admin_may_choose_groups(
    session: AsyncSession, ward: Ward, town: dict[str, Any]
) -> None:
    admin = await admin_of(session, ward)
    kp02 = await group(session, "KP02")
    notice = await publish(session, admin, ward, group_ids=[kp02.id])
    assert {r.person_id for r in await deliveries(session, notice)} == {town["other"].person_id}
    assert not notice.whole_ward


async def test_a_leader_publishes_to_their_own_group_only(
    session: AsyncSession, ward: Ward, town: dict[str, Any]
) -> None:
    leader = town["kp01_leader"]
    kp01, kp02 = await group(session, "KP01"), await group(session, "KP02")
    notice = await publish(session, leader, ward, group_ids=[kp01.id])
    assert {r.person_id for r in await deliveries(session, notice)} == {
        town[k].person_id for k in ("verified", "pending", "blocked")
    }
    assert (notice.publisher_role, notice.publisher_group_id) == ("leader", kp01.id)
    for scope in (None, [kp02.id], [kp01.id, kp02.id]):
        await refused(
            session, NotAllowed, lambda s=scope: publish(session, leader, ward, group_ids=s)
        )
    for outsider in (town["verified"], await factories.person(session)):
        await refused(
            session, NotAllowed, lambda o=outsider: publish(session, o, ward, group_ids=[kp01.id])
        )
    assert (await session.exec(select(func.count()).select_from(Notice))).one() == 1


async def test_groups_of_another_ward_or_made_up_are_refused(
    session: AsyncSession, ward: Ward
) -> None:
    admin = await admin_of(session, ward)
    with pytest.raises(NotFound):
        await publish(session, admin, ward, group_ids=[99999])
    with pytest.raises(InvalidInput):
        await publish(session, admin, ward, group_ids=[])


async def test_the_system_publishes_under_a_label(
    session: AsyncSession, ward: Ward, town: dict[str, Any]
) -> None:
    notice = await publish(
        session, None, ward, source="vote", publisher_label="Ban kiểm phiếu", posting_days=7
    )
    assert (notice.publisher_role, notice.publisher_label, notice.source) == (
        "system",
        "Ban kiểm phiếu",
        "vote",
    )
    assert notice.expires_at - notice.published_at == timedelta(days=7)
    entry = (
        await session.exec(select(AuditEntry).where(AuditEntry.action == "notice.publish"))
    ).one()
    assert entry.actor == "system" and entry.data["recipients"] == 3


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "x" * 201),
        ("title", "  "),
        ("body", ""),
        ("body", "x" * (notices.BODY_MAX + 1)),
        ("category_code", "no-such"),
        ("posting_days", 0),
        ("posting_days", 4000),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_stored(
    session: AsyncSession, ward: Ward, town: dict[str, Any], field: str, value: Any
) -> None:
    admin = await admin_of(session, ward)
    await session.commit()
    with pytest.raises(InvalidInput):
        await publish(session, admin, ward, **{field: value})
    await session.rollback()
    assert (await session.exec(select(func.count()).select_from(Notice))).one() == 0
    queued = select(func.count()).select_from(Delivery).where(Delivery.ref_type == "notice")
    assert (await session.exec(queued)).one() == 0


async def test_attachments_are_pdfs_or_photos_within_the_ward_limit(
    session: AsyncSession, ward: Ward
) -> None:
    admin = await admin_of(session, ward)
    pdf = await files.save(session, data=PDF, filename="du-toan.pdf")
    notice = await publish(session, admin, ward, attachment_ids=[pdf.id, pdf.id])
    view = await notices.get(session, admin, notice.id)  # type: ignore[arg-type]
    assert [a.filename for a in view.attachments] == ["du-toan.pdf"]
    text = await files.save(session, data=b"hello", filename="note.txt")
    with pytest.raises(InvalidInput):
        await publish(session, admin, ward, attachment_ids=[text.id])
    many = [
        (await files.save(session, data=PDF + bytes([i]), filename=f"{i}.pdf")).id for i in range(6)
    ]
    with pytest.raises(InvalidInput):
        await publish(session, admin, ward, attachment_ids=many)
    with pytest.raises(NotFound):
        await publish(session, admin, ward, attachment_ids=[123456])


# --- what residents see ---------------------------------------------------------------


async def test_residents_see_their_groups_and_the_wards_notices_newest_first(
    session: AsyncSession, ward: Ward, town: dict[str, Any]
) -> None:
    admin = await admin_of(session, ward)
    kp01, kp02 = await group(session, "KP01"), await group(session, "KP02")
    first = await publish(session, admin, ward, title="Lịch tiếp công dân tháng 12")
    clock.shift(timedelta(minutes=1))
    second = await publish(session, admin, ward, group_ids=[kp01.id], title="Họp tổ dân phố")
    clock.shift(timedelta(minutes=1))
    await publish(session, admin, ward, group_ids=[kp02.id], title="Việc riêng khu phố 2")
    page = await notices.browse(session, town["pending"])
    assert [v.notice.id for v in page.items] == [second.id, first.id]
    with pytest.raises(NotFound):
        await notices.get(session, town["pending"], page.items[0].id + 1)
    with pytest.raises(NotAllowed):
        await notices.browse(session, town["rejected"])
    everyone = await notices.browse(session, admin)
    assert everyone.total == 3


async def test_search_ignores_case_and_diacritics(
    session: AsyncSession, ward: Ward, town: dict[str, Any]
) -> None:
    admin = await admin_of(session, ward)
    await publish(session, admin, ward, title="Thông báo thu hồi đất dự án đường Lê Lợi")
    await publish(session, admin, ward, title="Lịch tiếp công dân", body="Thứ Năm hằng tuần.")
    resident = town["verified"]
    assert [
        v.notice.title
        for v in (await notices.browse(session, resident, query="thong bao dat")).items
    ] == ["Thông báo thu hồi đất dự án đường Lê Lợi"]
    assert (await notices.browse(session, resident, query="HẰNG TUẦN")).total == 1
    assert (await notices.browse(session, resident, query="50%_")).total == 0
    assert notices.fold("Đường Lê Lợi, ĐỒNG") == "duong le loi, dong"


async def test_an_expired_notice_is_never_current_even_before_the_job_runs(
    session: AsyncSession, ward: Ward, town: dict[str, Any], factory: Any
) -> None:
    admin = await admin_of(session, ward)
    notice = await publish(session, admin, ward, posting_days=2)
    resident = town["verified"]
    assert (await notices.browse(session, resident)).total == 1
    clock.shift(timedelta(days=2, seconds=1))
    assert (await notices.browse(session, resident)).total == 0
    archive = await notices.browse(session, resident, archive=True)
    assert [v.state for v in archive.items] == ["expired"]
    assert notice.expired_at is None
    # The job files it once and drops what was still queued.
    assert await notices.file_expired(session, clock.now()) == 1
    assert await notices.file_expired(session, clock.now()) == 0
    statuses = Counter(r.status for r in await deliveries(session, notice))
    assert statuses == {DeliveryStatus.DROPPED: 3, DeliveryStatus.BLOCKED: 1}


# --- edit and withdraw ------------------------------------------------------------------


async def test_an_edit_sends_nothing_again_and_is_recorded(
    session: AsyncSession, ward: Ward, town: dict[str, Any]
) -> None:
    leader = town["kp01_leader"]
    kp01 = await group(session, "KP01")
    notice = await publish(session, leader, ward, group_ids=[kp01.id])
    before = len(await deliveries(session, notice))
    clock.shift(timedelta(hours=1))
    started = clock.now()
    await notices.edit(
        session, leader, notice.id, title="Công khai dự toán (bản sửa)", posting_days=45
    )
    assert len(await deliveries(session, notice)) == before
    # Stamped with the (shifted) time of the edit, an hour after publishing.
    assert notice.updated_at is not None
    assert started <= notice.updated_at <= clock.now()
    assert notice.updated_at - notice.published_at >= timedelta(hours=1)
    assert notice.expires_at == notice.published_at + timedelta(days=45)
    (revision,) = (await session.exec(select(NoticeRevision))).all()
    assert revision.action == "edit" and revision.actor == f"person:{leader.person_id}"
    assert revision.changes == {
        "title": ["Công khai dự toán ngân sách năm 2027", "Công khai dự toán (bản sửa)"],
        "posting_days": [30, 45],
    }
    entry = (await session.exec(select(AuditEntry).where(AuditEntry.action == "notice.edit"))).one()
    assert entry.data == {"fields": ["posting_days", "title"]}
    assert (await audit.verify(session)).ok
    with pytest.raises(InvalidInput):
        await notices.edit(session, leader, notice.id, title="Công khai dự toán (bản sửa)")


async def test_only_the_publisher_or_an_admin_may_edit_or_withdraw(
    session: AsyncSession, ward: Ward, town: dict[str, Any]
) -> None:
    kp01 = await group(session, "KP01")
    notice = await publish(session, town["kp01_leader"], ward, group_ids=[kp01.id])
    notice_id: int = notice.id  # type: ignore[assignment]
    for outsider in (town["kp02_leader"], town["verified"], await factories.person(session)):
        await refused(
            session,
            NotAllowed,
            lambda o=outsider: notices.edit(session, o, notice_id, title="Đã bị sửa trái phép"),
        )
        await refused(
            session,
            NotAllowed,
            lambda o=outsider: notices.withdraw(session, o, notice_id, reason="Không có quyền"),
        )
    assert notice.withdrawn_at is None and notice.updated_at is None
    assert (await session.exec(select(func.count()).select_from(NoticeRevision))).one() == 0
    admin = await admin_of(session, ward)
    await notices.edit(session, admin, notice.id, body="Nội dung đã được bổ sung.")  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        await notices.edit(session, admin, 987654, title="Không tồn tại")


async def test_withdrawing_keeps_the_notice_in_the_archive_and_drops_the_queue(
    session: AsyncSession, ward: Ward, town: dict[str, Any]
) -> None:
    admin = await admin_of(session, ward)
    notice = await publish(session, admin, ward)
    await notices.withdraw(session, admin, notice.id, reason="Số liệu chưa chính xác")  # type: ignore[arg-type]
    resident = town["verified"]
    assert (await notices.browse(session, resident)).total == 0
    (archived,) = (await notices.browse(session, resident, archive=True)).items
    assert archived.state == "withdrawn"
    assert archived.notice.withdrawn_reason == "Số liệu chưa chính xác"
    statuses = Counter(r.status for r in await deliveries(session, notice))
    assert statuses[DeliveryStatus.PENDING] == 0 and statuses[DeliveryStatus.DROPPED] == 3
    revisions = await notices.revisions(session, admin, notice.id)  # type: ignore[arg-type]
    assert [(r.action, r.changes) for r in revisions] == [
        ("withdraw", {"reason": [None, "Số liệu chưa chính xác"]})
    ]
    with pytest.raises(Conflict):
        await notices.withdraw(session, admin, notice.id, reason="Lần nữa")  # type: ignore[arg-type]
    with pytest.raises(Conflict):
        await notices.edit(session, admin, notice.id, title="Sửa sau khi thu hồi")  # type: ignore[arg-type]


# --- reading and statistics -------------------------------------------------------------


async def test_a_read_is_recorded_once_and_only_for_recipients(
    session: AsyncSession, ward: Ward, town: dict[str, Any]
) -> None:
    admin = await admin_of(session, ward)
    kp01 = await group(session, "KP01")
    notice = await publish(session, admin, ward, group_ids=[kp01.id])
    assert await notices.mark_read(session, town["verified"], notice.id) is True  # type: ignore[arg-type]
    assert await notices.mark_read(session, town["verified"], notice.id) is False  # type: ignore[arg-type]
    with pytest.raises(NotAllowed):
        await notices.mark_read(session, town["other"], notice.id)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        await notices.mark_read(session, town["verified"], 424242)
    view = await notices.get(session, town["verified"], notice.id)  # type: ignore[arg-type]
    assert view.read_at is not None


async def test_statistics_per_group_for_the_publisher_and_leaders(
    session: AsyncSession, ward: Ward, town: dict[str, Any]
) -> None:
    admin = await admin_of(session, ward)
    notice = await publish(session, admin, ward)
    rows = {r.person_id: r for r in await deliveries(session, notice)}
    await session.exec(
        update(Delivery)
        .where(col(Delivery.id) == rows[town["verified"].person_id].id)
        .values(status=DeliveryStatus.SENT, in_doubt=1)
    )
    await session.exec(
        update(Delivery)
        .where(col(Delivery.id) == rows[town["other"].person_id].id)
        .values(status=DeliveryStatus.FAILED)
    )
    await notices.mark_read(session, town["verified"], notice.id)  # type: ignore[arg-type]
    stats = await notices.stats(session, admin, notice.id)  # type: ignore[arg-type]
    t = stats.total
    assert (t.recipients, t.sent, t.pending, t.failed, t.blocked, t.read, t.in_doubt) == (
        4,
        1,
        1,
        1,
        1,
        1,
        1,
    )
    by_code = {g.group.code: g.tally for g in stats.groups if g.group}
    assert (by_code["KP01"].recipients, by_code["KP01"].read) == (3, 1)
    assert by_code["KP02"].failed == 1
    # A leader of a group in scope sees their own group only.
    own = await notices.stats(session, town["kp02_leader"], notice.id)  # type: ignore[arg-type]
    assert [g.group.code for g in own.groups if g.group] == ["KP02"]
    assert own.total.recipients == 1
    with pytest.raises(NotAllowed):
        await notices.stats(session, town["verified"], notice.id)  # type: ignore[arg-type]
    inspector = await factories.with_role(session, Role.INSPECTOR, ward_id=ward.id)  # type: ignore[arg-type]
    assert (await notices.stats(session, inspector, notice.id)).total.recipients == 4  # type: ignore[arg-type]


async def test_someone_who_blocked_the_bot_is_counted_not_sent_to(
    session: AsyncSession, ward: Ward, town: dict[str, Any]
) -> None:
    account = await session.get(ChannelAccount, town["verified"].account.id)
    account.blocked_at = clock.now()  # type: ignore[union-attr]
    session.add(account)
    notice = await publish(session, await admin_of(session, ward), ward)
    stats = await notices.stats(session, None, notice.id)  # type: ignore[arg-type]
    assert (stats.total.blocked, stats.total.pending) == (2, 2)


def test_a_markdown_file_gives_title_and_text() -> None:
    title, body = notices.parse_markdown(
        "# Thông báo lịch tiếp công dân\n\nChủ tịch UBND phường tiếp công dân.\n\n"
        "## Địa điểm\nTrụ sở"
    )
    assert title == "Thông báo lịch tiếp công dân"
    assert body.startswith("Chủ tịch") and "## Địa điểm" in body
    with pytest.raises(InvalidInput):
        notices.parse_markdown("no heading here")


async def test_the_expiry_job_is_registered_and_files_each_notice_once(
    session: AsyncSession, ward: Ward, factory: Any
) -> None:
    from bot.scheduler import Scheduler

    await publish(session, None, ward, posting_days=1)
    await session.commit()
    scheduler = Scheduler(factory)
    assert "notices.expire" in scheduler.jobs
    assert (await scheduler.run_once())["notices.expire"] == 0
    later = clock.now() + timedelta(days=1, minutes=1)
    assert (await scheduler.run_once(later))["notices.expire"] == 1
    assert (await scheduler.run_once(later))["notices.expire"] == 0
