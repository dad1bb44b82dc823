"""Demo data for dân bàn: in Khu phố 1, a vote already closed (its result notice and
vote-count record are in everyone's chat), a vote open now that the leader created and
most listed households have answered — the demo's resident (a household representative)
votes from the web chat, the leader follows turnout and who has voted — and an open
consultation on the group's draft charter.

Everything goes through ``bot.services.votes``, as the bot itself would do it; the listed
households, who are not on the messenger, vote as their representatives would.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col, select

from bot import clock
from bot.demo.seed import Seeding, seeder
from bot.models import Household, Person, Resident, Vote
from bot.services import votes
from bot.services.people import actor_for_person


async def _listed_representatives(seeding: Seeding, group_id: int) -> list[Person]:
    """Representatives of the group's listed households, who have no messenger account."""
    return list(
        (
            await seeding.session.exec(
                select(Person)
                .join(Resident, col(Resident.person_id) == Person.id)
                .join(Household, col(Household.id) == Resident.household_id)
                .where(
                    Resident.group_id == group_id,
                    col(Resident.is_representative),
                    Household.source == "roster",
                    col(Person.phone).is_not(None),
                )
                .order_by(col(Person.id))
            )
        ).all()
    )


async def _cast_for(seeding: Seeding, vote: Vote, people: list[Person], share: float) -> None:
    """Most of ``people`` vote, ``share`` of those agreeing."""
    rng = seeding.rng
    for person in people:
        if rng.random() < 0.2:
            continue  # did not vote
        actor = await actor_for_person(seeding.session, person)
        option = 0 if rng.random() < share else 1
        await votes.cast(seeding.session, actor, vote.id, option)  # type: ignore[arg-type]


@seeder(order=60)
async def demo_votes(seeding: Seeding) -> None:
    session = seeding.session
    kp01 = seeding.groups[0]
    leader = seeding.actor("leader")
    listed = await _listed_representatives(seeding, kp01.id)  # type: ignore[arg-type]
    now = clock.now()

    # Last week's vote, closed: its result and record were published to the group.
    closed = await votes.create(
        session,
        leader,
        ward_id=seeding.ward.id,
        group_ids=[kp01.id],
        matter=2,
        question="Có đồng ý thu quỹ vệ sinh môi trường 20.000 đồng/hộ/tháng trong năm 2026 không?",
        explanation="Quỹ dùng để thuê thu gom rác hằng ngày và mua thùng rác công cộng.",
        closes_at=now + timedelta(days=3),
    )
    await _cast_for(seeding, closed, listed, share=0.7)
    # Moved back in time, then closed as the scheduler does once its time is up.
    await session.exec(
        update(Vote)
        .where(col(Vote.id) == closed.id)
        .values(opens_at=now - timedelta(days=8), closes_at=now - timedelta(days=1))
    )
    await session.refresh(closed)
    await votes.close(session, closed.id, now)  # type: ignore[arg-type]

    # Open now: the demo resident (Nguyễn Văn An) has a ballot in the web chat.
    current = await votes.create(
        session,
        leader,
        ward_id=seeding.ward.id,
        group_ids=[kp01.id],
        matter=6,
        question="Có đồng ý tổ chức dọn vệ sinh ngõ xóm vào sáng Chủ nhật đầu tháng không?",
        explanation=(
            "Mỗi hộ cử một người tham gia từ 7 giờ đến 9 giờ; khu phố chuẩn bị dụng cụ. "
            "Nếu được thông qua, bắt đầu từ tháng sau."
        ),
        closes_at=now + timedelta(days=3),
    )
    await _cast_for(seeding, current, listed[: len(listed) // 2], share=0.8)

    await votes.create(
        session,
        leader,
        kind=votes.CONSULTATION,
        ward_id=seeding.ward.id,
        group_ids=[kp01.id],
        matter=None,
        question="Góp ý dự thảo quy ước Khu phố 1 năm 2026",
        explanation=(
            "Điều 1. Giữ gìn vệ sinh chung, không để rác ra ngõ ngoài giờ thu gom.\n"
            "Điều 2. Giữ trật tự, không gây ồn sau 22 giờ.\n"
            "Điều 3. Nuôi chó phải tiêm phòng và rọ mõm khi ra đường."
        ),
        options=["Tán thành", "Cần sửa đổi"],
        closes_at=now + timedelta(days=7),
    )
    await session.flush()
