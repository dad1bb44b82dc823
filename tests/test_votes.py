"""Household votes and consultations (services): who may vote, one ballot per household,
closing exactly once, the more-than-half-of-all-households rule, the published result."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.models import (
    Ballot,
    Delivery,
    Household,
    Notice,
    NoticeAttachment,
    Person,
    Role,
    StoredFile,
    Vote,
    Ward,
)
from bot.scheduler import votes as vote_jobs
from bot.services import households, registration, votes
from bot.services.errors import Conflict, InvalidInput, NotAllowed, StaleButton
from bot.services.people import Actor, actor_for_person
from bot.services.wards import find_group
from tests import factories


async def leader_of(session: AsyncSession, ward: Ward, code: str = "KP01") -> Actor:
    group = await find_group(session, code)
    return await factories.with_role(session, Role.LEADER, ward_id=ward.id, group_id=group.id)  # type: ignore[arg-type]


async def representatives(session: AsyncSession, leader: Actor, n: int, code: str = "KP01"):  # type: ignore[no-untyped-def]
    return [await factories.resident(session, code, verify_by=leader) for _ in range(n)]


async def new_vote(session: AsyncSession, actor: Actor, ward: Ward, **kw: Any) -> Vote:
    group = await find_group(session, kw.pop("code", "KP01"))
    values: dict[str, Any] = {
        "ward_id": ward.id,
        "group_ids": [group.id],
        "matter": 6,
        "question": "Có đồng ý lắp camera an ninh ở đầu ngõ không?",
        "closes_at": clock.now() + timedelta(days=3),
    }
    values.update(kw)
    vote = await votes.create(session, actor, **values)
    await session.commit()
    return vote


async def refused(session: AsyncSession, error: type[Exception], call: Any) -> None:
    with pytest.raises(error):
        async with session.begin_nested():
            await call()


async def ballots(session: AsyncSession, vote: Vote) -> list[Ballot]:
    return list(
        (
            await session.exec(
                select(Ballot)
                .where(Ballot.vote_id == vote.id)
                .execution_options(populate_existing=True)
            )
        ).all()
    )


async def close_now(session: AsyncSession, factory: Any, vote: Vote) -> Vote:
    # On SQLite every transaction holds the write lock: end the test's own first.
    await session.commit()
    clock.shift(vote.closes_at - clock.now() + timedelta(minutes=1))
    await vote_jobs.close_due_votes(factory, clock.now())
    await session.refresh(vote)
    return vote


async def test_leader_creates_a_group_vote_and_every_representative_gets_a_ballot(
    session: AsyncSession, ward: Ward
) -> None:
    leader = await leader_of(session, ward)
    reps = await representatives(session, leader, 3)
    # A second member of the first household: not its representative, gets no ballot.
    member = await factories.resident(session, "KP01")
    await factories.resident(session, "KP02", verify_by=await leader_of(session, ward, "KP02"))
    vote = await new_vote(session, leader, ward)
    assert vote.options == ["Đồng ý", "Không đồng ý"]
    rows = (await session.exec(select(Delivery).where(Delivery.kind == votes.BALLOT))).all()
    assert sorted(r.person_id for r in rows) == sorted(r.person_id for r in reps)  # type: ignore[misc]
    assert member.person_id not in {r.person_id for r in rows}


async def test_only_admins_and_own_group_leaders_create(session: AsyncSession, ward: Ward) -> None:
    leader = await leader_of(session, ward)
    other = await find_group(session, "KP02")
    resident = await factories.resident(session, "KP01", verify_by=leader)
    await refused(session, NotAllowed, lambda: new_vote(session, leader, ward, code="KP02"))
    await refused(session, NotAllowed, lambda: new_vote(session, resident, ward))
    await refused(session, NotAllowed, lambda: new_vote(session, leader, ward, group_ids=None))
    admin = await factories.with_role(session, Role.ADMIN, ward_id=ward.id)  # type: ignore[arg-type]
    vote = await new_vote(session, admin, ward, group_ids=None)
    assert vote.whole_ward and len(await votes.scope_groups(session, vote.id)) == 10  # type: ignore[arg-type]
    assert other.id in {g.id for g in await votes.scope_groups(session, vote.id)}  # type: ignore[arg-type]
    await refused(session, InvalidInput, lambda: new_vote(session, leader, ward, matter=7))
    await refused(
        session,
        InvalidInput,
        lambda: new_vote(session, leader, ward, closes_at=clock.now() + timedelta(minutes=5)),
    )
    await refused(
        session, InvalidInput, lambda: new_vote(session, leader, ward, options=["Có", "có"])
    )


async def test_cast_change_and_press_twice(session: AsyncSession, ward: Ward) -> None:
    leader = await leader_of(session, ward)
    [rep] = await representatives(session, leader, 1)
    vote = await new_vote(session, leader, ward)
    first = await votes.cast(session, rep, vote.id, 0)  # type: ignore[arg-type]
    assert (first.outcome, first.label) == ("cast", "Đồng ý")
    again = await votes.cast(session, rep, vote.id, 0)  # type: ignore[arg-type]
    assert again.outcome == "unchanged"
    changed = await votes.cast(session, rep, vote.id, 1)  # type: ignore[arg-type]
    assert (changed.outcome, changed.previous) == ("changed", 0)
    await session.commit()
    [ballot] = await ballots(session, vote)
    assert (ballot.option, ballot.changes) == (1, 1)
    assert await votes.my_choice(session, rep, vote.id) == 1  # type: ignore[arg-type]


async def test_every_refusal_changes_nothing(session: AsyncSession, ward: Ward) -> None:
    leader = await leader_of(session, ward)
    [rep] = await representatives(session, leader, 1)
    household_id = rep.resident.household_id  # type: ignore[union-attr]
    # A second member of the same household, verified: not the representative.
    member = await factories.resident(session, "KP01", address="Số 999, ngõ 1")
    await households.join(
        session,
        member.resident,  # type: ignore[arg-type]
        await session.get(Household, household_id),  # type: ignore[arg-type]
        representative=False,
    )
    await registration.decide(session, leader, member.resident.id, approve=True)  # type: ignore[union-attr]
    member = await factories.refresh(session, member)
    pending = await factories.resident(session, "KP01")
    stranger = await factories.person(session)
    other_group = await factories.resident(
        session, "KP02", verify_by=await leader_of(session, ward, "KP02")
    )
    vote = await new_vote(session, leader, ward)
    vid: int = vote.id  # type: ignore[assignment]
    await refused(session, NotAllowed, lambda: votes.cast(session, member, vid, 0))
    await refused(session, NotAllowed, lambda: votes.cast(session, pending, vid, 0))
    await refused(session, NotAllowed, lambda: votes.cast(session, stranger, vid, 0))
    await refused(session, NotAllowed, lambda: votes.cast(session, other_group, vid, 0))
    await refused(session, StaleButton, lambda: votes.cast(session, rep, vid, 5))
    await refused(session, StaleButton, lambda: votes.cast(session, rep, vid, -1))
    await refused(session, StaleButton, lambda: votes.cast(session, rep, vid + 100, 0))
    await refused(
        session,
        StaleButton,
        lambda: votes.cast(session, rep, vid, 0, household_id=household_id + 1),
    )
    later = await new_vote(session, leader, ward, opens_at=clock.now() + timedelta(days=1))
    await refused(session, Conflict, lambda: votes.cast(session, rep, later.id, 0))  # type: ignore[arg-type]
    clock.shift(timedelta(days=4))
    await refused(session, Conflict, lambda: votes.cast(session, rep, vid, 0))
    assert await ballots(session, vote) == []


async def test_two_presses_of_one_household_at_once_make_one_ballot(
    factory: async_sessionmaker[AsyncSession], session: AsyncSession, ward: Ward
) -> None:
    leader = await leader_of(session, ward)
    reps = await representatives(session, leader, 6)
    vote = await new_vote(session, leader, ward)
    await session.commit()
    vid: int = vote.id  # type: ignore[assignment]
    person_ids = [r.person_id for r in reps]

    async def press(person_id: int, option: int) -> str:
        async with factory() as own:
            actor = await actor_for_person(own, await own.get(Person, person_id))
            result = await votes.cast(own, actor, vid, option)
            await own.commit()
            return result.outcome

    # Each household presses twice at the same moment (two phones, two workers).
    outcomes = await asyncio.gather(
        *(press(p, o) for p in person_ids for o in (0, 1)), return_exceptions=True
    )
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert not errors, errors
    stored = await ballots(session, vote)
    assert len(stored) == len(reps)
    assert len({b.household_id for b in stored}) == len(reps)
    # The database itself refuses a second ballot for a household.
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        async with session.begin_nested():
            session.add(
                Ballot(
                    vote_id=vid,
                    household_id=stored[0].household_id,
                    group_id=stored[0].group_id,
                    option=0,
                )
            )
            await session.flush()


async def test_closes_exactly_once_and_publishes_result_with_record(
    factory: async_sessionmaker[AsyncSession], session: AsyncSession, ward: Ward
) -> None:
    leader = await leader_of(session, ward)
    reps = await representatives(session, leader, 5)
    vote = await new_vote(session, leader, ward)
    for rep, option in zip(reps, [0, 0, 0, 1], strict=False):
        await votes.cast(session, rep, vote.id, option)  # type: ignore[arg-type]
    await session.commit()
    # Not yet due: nothing closes.
    assert await vote_jobs.close_due_votes(factory, clock.now()) == 0
    clock.shift(timedelta(days=3, minutes=1))
    now = clock.now()
    # Several workers run the job at once.
    done = await asyncio.gather(*(vote_jobs.close_due_votes(factory, now) for _ in range(4)))
    assert sum(done) == 1
    await session.refresh(vote)
    assert vote.closed_at is not None
    assert vote.result == {
        "eligible": 5,
        "ballots": 4,
        "counts": [3, 1],
        "majority": 0,
        "adopted": True,
        "not_counted": 0,
    }
    notice = await session.get(Notice, vote.result_notice_id)
    assert notice is not None and notice.source == "vote" and not notice.whole_ward
    assert "ĐƯỢC THÔNG QUA" in notice.body and "3/5" not in notice.title
    assert "Số hộ có quyền biểu quyết: 5" in notice.body
    [attached] = (
        await session.exec(select(NoticeAttachment).where(NoticeAttachment.notice_id == notice.id))
    ).all()
    pdf = await session.get(StoredFile, attached.file_id)
    assert pdf is not None and pdf.data.startswith(b"%PDF") and pdf.mime_type == "application/pdf"
    # Sent to everyone of the group (the residents, the leader if resident).
    sent = (
        await session.exec(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.ref_type == "notice", Delivery.ref_id == notice.id)
        )
    ).one()
    assert sent == 5
    await session.commit()
    assert await vote_jobs.close_due_votes(factory, clock.now()) == 0


def test_more_than_half_of_all_households() -> None:
    assert votes.decide(10, [6, 0]) == 0
    # Exactly half is not enough.
    assert votes.decide(10, [5, 0]) is None
    # A majority of ballots cast is not a majority of households.
    assert votes.decide(10, [4, 1]) is None
    # A tie.
    assert votes.decide(4, [2, 2]) is None
    assert votes.decide(0, [0, 0]) is None
    assert votes.decide(3, [0, 2]) == 1


async def test_exactly_half_is_not_adopted(
    factory: async_sessionmaker[AsyncSession], session: AsyncSession, ward: Ward
) -> None:
    leader = await leader_of(session, ward)
    reps = await representatives(session, leader, 4)
    vote = await new_vote(session, leader, ward)
    for rep in reps[:2]:
        await votes.cast(session, rep, vote.id, 0)  # type: ignore[arg-type]
    await session.commit()
    vote = await close_now(session, factory, vote)
    assert vote.result["counts"] == [2, 0] and vote.result["adopted"] is False
    notice = await session.get(Notice, vote.result_notice_id)
    assert "KHÔNG ĐƯỢC THÔNG QUA" in notice.body  # type: ignore[union-attr]


async def test_no_ballots_and_tie(
    factory: async_sessionmaker[AsyncSession], session: AsyncSession, ward: Ward
) -> None:
    leader = await leader_of(session, ward)
    reps = await representatives(session, leader, 2)
    empty = await new_vote(session, leader, ward)
    tie = await new_vote(session, leader, ward, question="Có đồng ý đổi giờ họp tổ không?")
    await votes.cast(session, reps[0], tie.id, 0)  # type: ignore[arg-type]
    await votes.cast(session, reps[1], tie.id, 1)  # type: ignore[arg-type]
    await session.commit()
    empty = await close_now(session, factory, empty)
    await session.refresh(tie)
    assert empty.result["ballots"] == 0 and empty.result["eligible"] == 2
    assert empty.result["adopted"] is False and empty.result_notice_id is not None
    assert tie.result["counts"] == [1, 1] and tie.result["majority"] is None


async def test_household_added_and_removed_while_open(
    factory: async_sessionmaker[AsyncSession], session: AsyncSession, ward: Ward
) -> None:
    leader = await leader_of(session, ward)
    reps = await representatives(session, leader, 3)
    vote = await new_vote(session, leader, ward)
    for rep in reps:
        await votes.cast(session, rep, vote.id, 0)  # type: ignore[arg-type]
    # One household leaves (its only member moves away): its ballot no longer counts.
    await registration.move(
        session,
        reps[2],
        group_id=(await find_group(session, "KP02")).id,
        address="Số 1 ngõ 9",  # type: ignore[arg-type]
    )
    # Two households are verified while the vote is open: they count, and may vote.
    late = await representatives(session, leader, 2)
    await votes.cast(session, late[0], vote.id, 1)  # type: ignore[arg-type]
    await session.commit()
    vote = await close_now(session, factory, vote)
    assert vote.result["eligible"] == 4
    assert vote.result["counts"] == [2, 1] and vote.result["not_counted"] == 1
    # 2 of 4 households: exactly half, not adopted.
    assert vote.result["adopted"] is False


async def test_representative_changed_while_open(session: AsyncSession, ward: Ward) -> None:
    leader = await leader_of(session, ward)
    [rep] = await representatives(session, leader, 1)
    household = await session.get(Household, rep.resident.household_id)  # type: ignore[union-attr]
    member = await factories.resident(session, "KP01", address="Số 998, ngõ 1")
    await households.join(session, member.resident, household, representative=False)  # type: ignore[arg-type]
    await registration.decide(session, leader, member.resident.id, approve=True)  # type: ignore[union-attr]
    vote = await new_vote(session, leader, ward)
    await votes.cast(session, rep, vote.id, 0)  # type: ignore[arg-type]
    # The household's representative changes: the new one may change the ballot, the old
    # one can no longer vote; still one ballot for the household.
    await households.join(session, member.resident, household, representative=True)  # type: ignore[arg-type]
    rep, member = await factories.refresh(session, rep), await factories.refresh(session, member)
    await refused(session, NotAllowed, lambda: votes.cast(session, rep, vote.id, 1))  # type: ignore[arg-type]
    result = await votes.cast(session, member, vote.id, 1)  # type: ignore[arg-type]
    assert (result.outcome, result.previous) == ("changed", 0)
    [ballot] = await ballots(session, vote)
    assert ballot.option == 1 and ballot.cast_by_id == member.person_id


async def test_reminder_once_to_households_that_have_not_voted(
    factory: async_sessionmaker[AsyncSession], session: AsyncSession, ward: Ward
) -> None:
    leader = await leader_of(session, ward)
    reps = await representatives(session, leader, 3)
    vote = await new_vote(session, leader, ward)
    await votes.cast(session, reps[0], vote.id, 0)  # type: ignore[arg-type]
    await session.commit()
    assert await vote_jobs.remind_before_closing(factory, clock.now()) == 0
    clock.shift(timedelta(days=2, hours=1))
    runs = await asyncio.gather(
        *(vote_jobs.remind_before_closing(factory, clock.now()) for _ in range(3))
    )
    assert sum(runs) == 1
    reminded = (
        await session.exec(
            select(Delivery.person_id).where(
                Delivery.kind == votes.BALLOT, col(Delivery.params)["reminder"].as_boolean()
            )
        )
    ).all()
    assert sorted(reminded) == sorted(r.person_id for r in reps[1:])  # type: ignore[misc]


async def test_scheduled_vote_is_announced_when_it_opens(
    factory: async_sessionmaker[AsyncSession], session: AsyncSession, ward: Ward
) -> None:
    leader = await leader_of(session, ward)
    await representatives(session, leader, 2)
    await new_vote(session, leader, ward, opens_at=clock.now() + timedelta(hours=2))
    count = select(func.count()).select_from(Delivery).where(Delivery.kind == votes.BALLOT)
    assert (await session.exec(count)).one() == 0
    await session.commit()
    assert await vote_jobs.announce_opened_votes(factory, clock.now()) == 0
    clock.shift(timedelta(hours=2, minutes=1))
    assert await vote_jobs.announce_opened_votes(factory, clock.now()) == 1
    assert await vote_jobs.announce_opened_votes(factory, clock.now()) == 0
    assert (await session.exec(count)).one() == 2


async def test_turnout_and_who_has_voted(session: AsyncSession, ward: Ward) -> None:
    leader = await leader_of(session, ward)
    leader2 = await leader_of(session, ward, "KP02")
    reps = await representatives(session, leader, 3)
    await representatives(session, leader2, 2, "KP02")
    admin = await factories.with_role(session, Role.ADMIN, ward_id=ward.id)  # type: ignore[arg-type]
    groups = [await find_group(session, c) for c in ("KP01", "KP02")]
    vote = await new_vote(session, admin, ward, group_ids=[g.id for g in groups])
    await votes.cast(session, reps[0], vote.id, 1)  # type: ignore[arg-type]
    lines = await votes.turnout(session, admin, vote.id)  # type: ignore[arg-type]
    assert [(t.group.code, t.eligible, t.voted) for t in lines] == [("KP01", 3, 1), ("KP02", 2, 0)]
    await refused(session, NotAllowed, lambda: votes.turnout(session, leader, vote.id))  # type: ignore[arg-type]
    seen = await votes.who_has_voted(session, leader, vote.id, groups[0].id)  # type: ignore[arg-type]
    assert sorted(line.voted for line in seen) == [False, False, True]
    await refused(
        session,
        NotAllowed,
        lambda: votes.who_has_voted(session, leader2, vote.id, groups[0].id),  # type: ignore[arg-type]
    )
    await refused(
        session,
        NotAllowed,
        lambda: votes.who_has_voted(session, admin, vote.id, groups[0].id),  # type: ignore[arg-type]
    )


async def test_matters_one_to_five_say_the_tally_supports_the_meeting(
    factory: async_sessionmaker[AsyncSession], session: AsyncSession, ward: Ward
) -> None:
    leader = await leader_of(session, ward)
    await representatives(session, leader, 1)
    vote = await new_vote(session, leader, ward, matter=1)
    vote = await close_now(session, factory, vote)
    notice = await session.get(Notice, vote.result_notice_id)
    assert "phiếu lấy ý kiến" in notice.body  # type: ignore[union-attr]
    assert "Khoản 1" in notice.body  # type: ignore[union-attr]


async def test_ballot_rows_carry_no_choice_in_the_audit(session: AsyncSession, ward: Ward) -> None:
    from bot.models import AuditEntry

    leader = await leader_of(session, ward)
    [rep] = await representatives(session, leader, 1)
    vote = await new_vote(session, leader, ward)
    await votes.cast(session, rep, vote.id, 1)  # type: ignore[arg-type]
    entries = (await session.exec(select(AuditEntry).where(AuditEntry.action == "vote.cast"))).all()
    assert len(entries) == 1 and "option" not in (entries[0].data or {})


# --- consultations ----------------------------------------------------------------------


async def new_consultation(session: AsyncSession, actor: Actor, ward: Ward, **kw: Any) -> Vote:
    return await new_vote(
        session,
        actor,
        ward,
        kind=votes.CONSULTATION,
        matter=None,
        question="Góp ý dự thảo quy ước tổ dân phố năm 2027",
        explanation="Điều 1. Giữ gìn vệ sinh chung. Điều 2. Giờ giấc sinh hoạt.",
        options=["Tán thành", "Cần sửa đổi"],
        **kw,
    )


async def test_consultation_opinions_summary_and_response(
    factory: async_sessionmaker[AsyncSession], session: AsyncSession, ward: Ward
) -> None:
    from openpyxl import load_workbook

    leader = await leader_of(session, ward)
    residents = await representatives(session, leader, 3)
    pending = await factories.resident(session, "KP01")
    consultation = await new_consultation(session, leader, ward)
    cid: int = consultation.id  # type: ignore[assignment]
    # Every verified resident is asked (not only representatives); not the pending one.
    asked = (
        await session.exec(select(Delivery.person_id).where(Delivery.kind == votes.CONSULT))
    ).all()
    assert sorted(asked) == sorted(r.person_id for r in residents)  # type: ignore[type-var]
    assert (await votes.give_opinion(session, residents[0], cid, option=0))[0] == "given"
    outcome, opinion = await votes.give_opinion(
        session, residents[0], cid, comment="Đề nghị bổ sung quy định về nuôi chó."
    )
    assert outcome == "changed" and opinion.option == 0 and opinion.comment
    assert (await votes.give_opinion(session, residents[0], cid, option=0))[0] == "unchanged"
    await votes.give_opinion(session, residents[1], cid, option=1, comment="Giờ nghỉ trưa 12h")
    await refused(session, NotAllowed, lambda: votes.give_opinion(session, pending, cid, option=0))
    await refused(
        session, StaleButton, lambda: votes.give_opinion(session, residents[2], cid, option=9)
    )
    await refused(session, InvalidInput, lambda: votes.give_opinion(session, residents[2], cid))
    # A vote's ballot cannot be cast on a consultation, nor an opinion given on a vote.
    await refused(session, StaleButton, lambda: votes.cast(session, residents[2], cid, 0))
    await refused(
        session, Conflict, lambda: votes.publish_response(session, leader, cid, body="Tiếp thu")
    )
    consultation = await close_now(session, factory, consultation)
    assert consultation.result["counts"] == [1, 1] and consultation.result["comments"] == 2
    await refused(
        session, Conflict, lambda: votes.give_opinion(session, residents[2], cid, option=0)
    )
    [summary] = (await session.exec(select(Delivery).where(Delivery.kind == votes.SUMMARY))).all()
    assert summary.person_id == leader.person_id
    stored = await session.get(StoredFile, summary.params["file_id"])
    sheet = load_workbook(io.BytesIO(stored.data)).active  # type: ignore[union-attr]
    cells = [c for row in sheet.iter_rows(values_only=True) for c in row if c]  # type: ignore[union-attr]
    assert "Đề nghị bổ sung quy định về nuôi chó." in cells and "Giờ nghỉ trưa 12h" in cells
    await refused(
        session,
        NotAllowed,
        lambda: votes.publish_response(session, residents[0], cid, body="Tiếp thu"),
    )
    notice = await votes.publish_response(
        session, leader, cid, body="Tiếp thu ý kiến về nuôi chó; giữ nguyên giờ nghỉ trưa."
    )
    await session.commit()
    await session.refresh(consultation)
    assert consultation.response_notice_id == notice.id and notice.source == "consultation"
    assert "Góp ý dự thảo quy ước" in notice.title
    await refused(
        session, Conflict, lambda: votes.publish_response(session, leader, cid, body="Lần hai")
    )


# --- many presses at once ---------------------------------------------------------------


def press_of(actor: Actor, vote: Vote, option: int, household_id: int = 0) -> votes.BallotPress:
    assert actor.account is not None
    return votes.BallotPress(
        "telegram",
        actor.account.external_id,
        vote.id,
        option,
        household_id,  # type: ignore[arg-type]
    )


async def test_cast_many_applies_every_rule_per_press(session: AsyncSession, ward: Ward) -> None:
    leader = await leader_of(session, ward)
    reps = await representatives(session, leader, 3)
    pending = await factories.resident(session, "KP01")
    stranger = await factories.person(session)
    vote = await new_vote(session, leader, ward)
    other = reps[1].resident.household_id  # type: ignore[union-attr]
    results = await votes.cast_many(
        session,
        [
            press_of(reps[0], vote, 0),
            press_of(reps[0], vote, 0),  # the same again: unchanged
            press_of(reps[1], vote, 0),
            press_of(reps[1], vote, 1),  # changed within the batch
            press_of(reps[2], vote, 5),  # no such option
            press_of(reps[2], vote, 0, household_id=other),  # another household's ballot
            press_of(pending, vote, 0),
            press_of(stranger, vote, 0),
            votes.BallotPress("telegram", "no-such-account", vote.id, 0),  # type: ignore[arg-type]
        ],
    )
    await session.commit()
    kinds = [r.outcome if isinstance(r, votes.CastResult) else type(r).__name__ for r in results]
    assert kinds == [
        "cast",
        "unchanged",
        "cast",
        "changed",
        "StaleButton",
        "StaleButton",
        "NotAllowed",
        "NotAllowed",
        "NotAllowed",
    ]
    stored = {b.household_id: (b.option, b.changes) for b in await ballots(session, vote)}
    assert stored == {reps[0].resident.household_id: (0, 0), other: (1, 1)}  # type: ignore[union-attr]
    # A later batch changes a stored ballot; the last press counts.
    [again] = await votes.cast_many(session, [press_of(reps[0], vote, 1)])
    await session.commit()
    assert isinstance(again, votes.CastResult) and (again.outcome, again.previous) == ("changed", 0)
    stored = {b.household_id: (b.option, b.changes) for b in await ballots(session, vote)}
    assert stored[reps[0].resident.household_id] == (1, 1)  # type: ignore[union-attr]


async def test_the_ballot_box_batches_concurrent_presses(
    factory: async_sessionmaker[AsyncSession], session: AsyncSession, ward: Ward
) -> None:
    leader = await leader_of(session, ward)
    reps = await representatives(session, leader, 20)
    vote = await new_vote(session, leader, ward)
    await session.commit()
    box = votes.BallotBox(factory, max_batch=8)
    presses = [press_of(r, vote, n % 2) for n, r in enumerate(reps)] + [press_of(reps[0], vote, 0)]
    results = await asyncio.gather(*(box.submit(p) for p in presses))
    assert [r.outcome for r in results] == ["cast"] * 20 + ["unchanged"]  # type: ignore[union-attr]
    stored = await ballots(session, vote)
    assert len(stored) == 20 and sorted(b.option for b in stored) == [0] * 10 + [1] * 10
    await session.commit()  # SQLite: the test's read holds the write lock until then
    # Closed: the box answers with the refusal, and writes nothing.
    clock.shift(timedelta(days=4))
    [late] = await asyncio.gather(box.submit(press_of(reps[0], vote, 1)))
    assert isinstance(late, Conflict)
    assert sorted(b.option for b in await ballots(session, vote)) == [0] * 10 + [1] * 10


async def test_a_short_vote_is_reminded_only_in_its_second_half(
    factory: async_sessionmaker[AsyncSession], session: AsyncSession, ward: Ward
) -> None:
    leader = await leader_of(session, ward)
    await representatives(session, leader, 2)
    await new_vote(session, leader, ward, closes_at=clock.now() + timedelta(hours=6))
    await session.commit()
    # 24 hours before closing is already past, but the ballot has only just gone out.
    assert await vote_jobs.remind_before_closing(factory, clock.now()) == 0
    clock.shift(timedelta(hours=3, minutes=1))
    assert await vote_jobs.remind_before_closing(factory, clock.now()) == 1


async def test_reminders_can_be_turned_off(
    factory: async_sessionmaker[AsyncSession], session: AsyncSession, ward: Ward
) -> None:
    ward.settings = {**ward.settings, "vote_reminder_hours": 0}
    session.add(ward)
    leader = await leader_of(session, ward)
    await representatives(session, leader, 2)
    await new_vote(session, leader, ward)
    await session.commit()
    clock.shift(timedelta(days=2, hours=23))
    assert await vote_jobs.remind_before_closing(factory, clock.now()) == 0


def test_the_record_font_has_every_vietnamese_letter() -> None:
    from fontTools.ttLib import TTFont

    from bot.services import vote_documents

    cmap = TTFont(vote_documents.font_path()).getBestCmap()
    letters = (
        "aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệghiìíỉĩịklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụưừứửữựvxyỳýỷỹỵ"
    )
    missing = [ch for ch in letters + letters.upper() + "“”–…%" if ord(ch) not in cmap]
    assert missing == []
