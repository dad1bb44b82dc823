"""Household votes through the real bot: a leader creates a group vote, households vote
with the ballot's buttons (twice, forged, not the representative), the vote closes by
the scheduler after a clock shift and the result comes as a notice with the PDF record."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.emulator import EmulatorClient
from bot.models import Ballot, ChannelAccount, Person, Resident, Role, Vote
from tests.e2e.conftest import Stack
from tests.e2e.harness import run_db
from tests.e2e.journeys import (
    WAIT,
    become,
    button,
    buttons,
    new_person,
    press,
    settled_deliveries,
    wait_until,
)
from tests.e2e.test_demo import demo  # noqa: F401  (the demo, started once for this module)
from tests.e2e.test_notices import seed_residents, started_users

Json = dict[str, Any]
MENU = "🗳 Biểu quyết"
QUESTION = "Có đồng ý lắp đèn chiếu sáng ngõ 5 bằng quỹ tổ không?"


async def add_member(database_url: str, user: Json, of: Json) -> None:
    """``user`` lives in ``of``'s household, verified, but is not its representative."""

    async def work(session: AsyncSession) -> None:
        rep = (
            await session.exec(
                select(Resident)
                .join(Person, Person.id == Resident.person_id)  # type: ignore[arg-type]
                .join(ChannelAccount, ChannelAccount.person_id == Person.id)  # type: ignore[arg-type]
                .where(ChannelAccount.external_id == str(of["id"]))
            )
        ).one()
        account = (
            await session.exec(
                select(ChannelAccount).where(ChannelAccount.external_id == str(user["id"]))
            )
        ).one()
        session.add(
            Resident(
                person_id=account.person_id,
                ward_id=rep.ward_id,
                group_id=rep.group_id,
                household_id=rep.household_id,
                is_representative=False,
                status="verified",
            )
        )

    await run_db(database_url, work)


async def the_vote(session: AsyncSession) -> Vote:
    """The one vote of a test's private stack."""
    return (await session.exec(select(Vote))).one()


async def ballot_of(people: EmulatorClient, user: Json) -> Json:
    return await people.wait_for_message(
        user["id"], lambda m: QUESTION in (m.get("text") or "") and bool(buttons(m)), timeout=WAIT
    )


async def answer(people: EmulatorClient, query_id: str) -> str:
    return str((await people.callback_answer(query_id, timeout=WAIT))["text"])


async def test_a_group_vote_from_creation_to_published_result(
    bot_factory: Callable[..., Stack], people: EmulatorClient
) -> None:
    stack = await asyncio.to_thread(bot_factory)
    async with EmulatorClient(stack.emulator.base_url, timeout=30) as client:
        leader = await new_person(client, "Hạnh", "Đỗ Thị")
        await become(client, leader, stack.database_url, Role.LEADER, unit="KP07")
        lid = leader["id"]
        households = await started_users(client, 3, "Hộ")
        await seed_residents(stack.database_url, households, "KP07")
        [member] = await started_users(client, 1, "Con")
        await add_member(stack.database_url, member, households[0])
        [outsider] = await started_users(client, 1, "Ngoài")
        await seed_residents(stack.database_url, [outsider], "KP06")

        # The leader creates the vote: matter, question, default options, 3 days.
        await client.send_text(lid, MENU)
        menu = await client.wait_for_message(lid, "Biểu quyết và lấy ý kiến", timeout=WAIT)
        await press(client, leader, menu, "Tạo biểu quyết")
        matters = await client.wait_for_message(lid, "Điều 15", timeout=WAIT)
        await press(client, leader, matters, "6.")
        await client.wait_for_message(lid, "câu hỏi", timeout=WAIT)
        await client.send_text(lid, QUESTION)
        skip = await client.wait_for_message(lid, "giải thích", timeout=WAIT)
        await client.send_text(lid, "Chi phí dự kiến 12 triệu đồng từ quỹ tổ.")
        options = await client.wait_for_message(lid, "Giữ nguyên", timeout=WAIT)
        assert skip
        await press(client, leader, options, "Giữ các phương án")
        closing = await client.wait_for_message(lid, "Khi nào kết thúc", timeout=WAIT)
        await press(client, leader, closing, "Sau 3 ngày")
        files = await client.wait_for_message(lid, "đính kèm", timeout=WAIT)
        await press(client, leader, files, "Tiếp tục")
        confirm = await client.wait_for_message(lid, "Gửi tới", timeout=WAIT)
        preview = [
            m
            for m in await client.messages(lid)
            if m["from_bot"] and QUESTION in (m.get("text") or "")
        ]
        assert preview and "khoản 6" in preview[0]["text"] and "TỔNG SỐ" in preview[0]["text"]
        await press(client, leader, confirm, "Xác nhận và gửi")
        created = await client.wait_for_message(lid, "Đã tạo", timeout=WAIT)
        assert "3 người" in created["text"]

        ballots = [await ballot_of(client, h) for h in households]
        assert [b["text"] for b in buttons(ballots[0])] == ["Đồng ý", "Không đồng ý"]
        # Every ballot the vote queued has gone out, one per household: neither the
        # non-representative member nor the other group got one, nor ever will.
        vote_id = (await run_db(stack.database_url, the_vote)).id
        assert len(await settled_deliveries(stack.database_url, ref=("vote", vote_id))) == 3
        assert not [
            m for m in await client.messages(member["id"]) if QUESTION in (m.get("text") or "")
        ]
        assert not [
            m for m in await client.messages(outsider["id"]) if QUESTION in (m.get("text") or "")
        ]

        first = await press(client, households[0], ballots[0], "Đồng ý")
        assert "Đã ghi nhận biểu quyết “Đồng ý”" in await answer(client, first)
        again = await press(client, households[0], ballots[0], "Đồng ý")
        assert "đã biểu quyết “Đồng ý” rồi" in await answer(client, again)
        await press(client, households[1], ballots[1], "Không đồng ý")
        changed = await press(client, households[1], ballots[1], "Đồng ý")
        assert "Đã đổi sang “Đồng ý”" in await answer(client, changed)

        # Forged data: another household's ballot, an option that does not exist.
        data = button(ballots[2], "Đồng ý")
        prefix, vote_id, _option, household = data.split(":")
        other = button(ballots[0], "Đồng ý").split(":")[3]
        forged = await client.press(
            households[2]["id"],
            ballots[2]["message_id"],
            f"{prefix}:{vote_id}:0:{other}",
            forge=True,
        )
        assert "hộ gia đình khác" in await answer(client, forged)
        forged = await client.press(
            households[2]["id"],
            ballots[2]["message_id"],
            f"{prefix}:{vote_id}:7:{household}",
            forge=True,
        )
        assert "Phương án này không có" in await answer(client, forged)

        # The member opens the vote from the menu: a press is refused.
        await client.send_command(member["id"], "cancel")
        await client.wait_for_message(member["id"], "Đã hủy", timeout=WAIT)
        await client.send_text(member["id"], MENU)
        listing = await client.wait_for_message(member["id"], "Đang mở", timeout=WAIT)
        await press(client, member, listing, QUESTION[:20])
        shown = await client.wait_for_message(
            member["id"], lambda m: QUESTION in (m.get("text") or "") and bool(buttons(m))
        )
        refused = await press(client, member, shown, "Không đồng ý")
        assert "không phải là người đại diện hộ" in await answer(client, refused)

        # The leader sees who has voted (not how) and the turnout.
        await client.send_text(lid, MENU)
        menu = await client.wait_for_message(
            lid, lambda m: "tổ chức hoặc theo dõi" in (m.get("text") or ""), timeout=WAIT
        )
        await press(client, leader, menu, QUESTION[:20])
        detail = await client.wait_for_message(
            lid, lambda m: any("Hộ đã biểu quyết" in b["text"] for b in buttons(m)), timeout=WAIT
        )
        await press(client, leader, detail, "Hộ đã biểu quyết")
        who = await client.wait_for_message(lid, "Các hộ đã biểu quyết", timeout=WAIT)
        assert "(2/3)" in who["text"] and "Đồng ý" not in who["text"]
        await press(client, leader, detail, "Tỷ lệ tham gia")
        turnout = await client.wait_for_message(lid, "Tổng cộng", timeout=WAIT)
        assert "Khu phố 7: 2/3 hộ" in turnout["text"]

        async def stored(session: AsyncSession) -> list[Ballot]:
            return list((await session.exec(select(Ballot))).all())

        assert sorted(b.option for b in await run_db(stack.database_url, stored)) == [0, 0]

        # Three days later the scheduler closes it and publishes the result.
        stack.bot.stop()
        stack.bot.env["WARDBOT_CLOCK_OFFSET_SECONDS"] = str(3 * 24 * 3600 + 3600)
        stack.bot.start()
        for user in [*households, member]:
            result = await client.wait_for_message(user["id"], "Kết quả biểu quyết", timeout=90)
            assert "ĐƯỢC THÔNG QUA: 2/3 hộ gia đình" in result["text"]
            record = await client.wait_for_message(
                user["id"], lambda m: bool(m.get("document")), timeout=WAIT
            )
            assert record["document"]["file_name"].startswith("bien-ban-kiem-phieu")
        result_id = (await run_db(stack.database_url, the_vote)).result_notice_id
        assert result_id is not None
        published = await settled_deliveries(stack.database_url, ref=("notice", result_id))
        assert not [
            m
            for m in await client.messages(outsider["id"])
            if "Kết quả biểu quyết" in (m.get("text") or "")
        ]
        late = await press(client, households[2], ballots[2], "Đồng ý")
        assert "đã kết thúc" in await answer(client, late)

        vote = await run_db(stack.database_url, the_vote)
        assert vote.closed_at is not None and vote.result["adopted"] is True
        # Restarting does not close or publish twice: once the restarted scheduler has
        # run its jobs and the result's rows are all sent, still one result.
        offset = stack.bot.log_size()
        stack.bot.stop()
        stack.bot.start()
        await stack.bot.logged("scheduler: first round", offset)
        again = await settled_deliveries(stack.database_url, ref=("notice", result_id))
        assert len(again) == len(published)
        assert (await run_db(stack.database_url, the_vote)).result_notice_id == result_id
        await client.send_command(lid, "votes")
        await client.wait_for_message(lid, "Biểu quyết và lấy ý kiến", timeout=WAIT)
        results = [
            m
            for m in await client.messages(households[0]["id"])
            if "Kết quả biểu quyết" in (m.get("text") or "")
        ]
        assert len(results) == 1


async def test_in_the_demo_the_resident_votes_from_the_web_chat(demo: str) -> None:  # noqa: F811
    async with EmulatorClient(demo) as client:
        users = await client.users()
        resident = next(u for u in users if "resident" in u["persona"] and u["first_name"] == "An")
        leader = next(u for u in users if "leader" in u["persona"])
        rid = resident["id"]
        # Last week's vote: its result and vote-count record are in the chat.
        result = await client.wait_for_message(rid, "Kết quả biểu quyết", timeout=90)
        assert "quỹ vệ sinh môi trường" in result["text"]
        assert "Số hộ có quyền biểu quyết" in result["text"]
        await client.wait_for_message(rid, lambda m: bool(m.get("document")), timeout=WAIT)

        async def having(words: str) -> Json:
            # Maybe received before the result: look through the whole chat.
            async def found() -> Json | None:
                for m in await client.messages(rid):
                    if words in (m.get("text") or "") and buttons(m):
                        return m
                return None

            return await wait_until(found, within=90, what=f"a message with {words!r}")

        ballot = await having("dọn vệ sinh ngõ xóm")
        pressed = await press(client, resident, ballot, "Đồng ý")
        assert "Đã ghi nhận" in await answer(client, pressed)
        consultation = await having("quy ước")
        given = await press(client, resident, consultation, "Tán thành")
        assert "Đã ghi nhận lựa chọn" in await answer(client, given)
        # The leader follows the open vote.
        await client.send_text(leader["id"], MENU)
        menu = await client.wait_for_message(
            leader["id"], lambda m: "tổ chức hoặc theo dõi" in (m.get("text") or ""), timeout=WAIT
        )
        await press(client, leader, menu, "dọn vệ sinh")
        detail = await client.wait_for_message(
            leader["id"],
            lambda m: any("Tỷ lệ tham gia" in b["text"] for b in buttons(m)),
            timeout=WAIT,
        )
        await press(client, leader, detail, "Tỷ lệ tham gia")
        turnout = await client.wait_for_message(leader["id"], "Tổng cộng", timeout=WAIT)
        assert "Khu phố 1:" in turnout["text"]


async def test_a_consultation_with_comments_summary_and_response(
    bot_factory: Callable[..., Stack], people: EmulatorClient
) -> None:
    stack = await asyncio.to_thread(bot_factory)
    async with EmulatorClient(stack.emulator.base_url, timeout=30) as client:
        leader = await new_person(client, "Khoa", "Trương Văn")
        await become(client, leader, stack.database_url, Role.LEADER, unit="KP05")
        lid = leader["id"]
        residents = await started_users(client, 2, "Dân")
        await seed_residents(stack.database_url, residents, "KP05")
        for resident in residents:
            await client.send_command(resident["id"], "cancel")
            await client.wait_for_message(resident["id"], "Đã hủy", timeout=WAIT)

        await client.send_text(lid, MENU)
        menu = await client.wait_for_message(lid, "Biểu quyết và lấy ý kiến", timeout=WAIT)
        await press(client, leader, menu, "Tạo lấy ý kiến")
        await client.wait_for_message(lid, "câu hỏi", timeout=WAIT)
        await client.send_text(lid, "Góp ý dự thảo nội quy nhà văn hóa Khu phố 5")
        await client.wait_for_message(lid, "dự thảo", timeout=WAIT)
        await client.send_text(lid, "Điều 1. Nhà văn hóa mở cửa từ 7 giờ đến 21 giờ.")
        options = await client.wait_for_message(lid, "Giữ nguyên", timeout=WAIT)
        await press(client, leader, options, "Giữ các phương án")
        closing = await client.wait_for_message(lid, "Khi nào kết thúc", timeout=WAIT)
        await press(client, leader, closing, "Sau 7 ngày")
        files = await client.wait_for_message(lid, "đính kèm", timeout=WAIT)
        await press(client, leader, files, "Tiếp tục")
        confirm = await client.wait_for_message(lid, "Gửi tới", timeout=WAIT)
        assert "người dân đã xác nhận của Khu phố 5" in confirm["text"]
        await press(client, leader, confirm, "Xác nhận và gửi")
        created = await client.wait_for_message(lid, "Đã tạo", timeout=WAIT)
        assert "2 người" in created["text"]

        first, second = residents
        asked = await client.wait_for_message(
            first["id"], lambda m: "nội quy nhà văn hóa" in (m.get("text") or ""), timeout=WAIT
        )
        chose = await press(client, first, asked, "Đồng ý")
        assert "Đã ghi nhận lựa chọn" in await answer(client, chose)
        await press(client, first, asked, "Viết ý kiến")
        await client.wait_for_message(first["id"], "Hãy viết ý kiến", timeout=WAIT)
        await client.send_text(first["id"], "Đề nghị mở cửa đến 22 giờ vào cuối tuần.")
        await client.wait_for_message(first["id"], "Đã ghi nhận ý kiến", timeout=WAIT)
        asked2 = await client.wait_for_message(
            second["id"], lambda m: "nội quy nhà văn hóa" in (m.get("text") or ""), timeout=WAIT
        )
        # Answered means recorded: only then may the bot be stopped (else the press may
        # reach it after the restart, a week later, when the consultation is closed).
        disagreed = await press(client, second, asked2, "Không đồng ý")
        assert "Đã ghi nhận lựa chọn" in await answer(client, disagreed)

        # A week later the leader gets the summary and every comment as a spreadsheet.
        stack.bot.stop()
        stack.bot.env["WARDBOT_CLOCK_OFFSET_SECONDS"] = str(7 * 24 * 3600 + 3600)
        stack.bot.start()
        summary = await client.wait_for_message(lid, "Đợt lấy ý kiến đã kết thúc", timeout=90)
        assert "Số ý kiến đã gửi: 2" in summary["text"]
        sheet = await client.wait_for_message(lid, lambda m: bool(m.get("document")), timeout=WAIT)
        assert sheet["document"]["file_name"].endswith(".xlsx")
        respond = next(
            m
            for m in await client.messages(lid)
            if any("tiếp thu" in b["text"] for b in buttons(m))
        )
        await press(client, leader, respond, "tiếp thu")
        await client.wait_for_message(lid, "nội dung tiếp thu", timeout=WAIT)
        await client.send_text(lid, "Tiếp thu: mở cửa đến 22 giờ vào thứ Bảy và Chủ nhật.")
        preview = await client.wait_for_message(
            lid, lambda m: "mở cửa đến 22 giờ" in (m.get("text") or "") and bool(buttons(m))
        )
        await press(client, leader, preview, "Đăng")
        await client.wait_for_message(lid, "đã được đăng thành thông báo", timeout=WAIT)
        for resident in residents:
            notice = await client.wait_for_message(
                resident["id"], "Tiếp thu, giải trình ý kiến", timeout=WAIT
            )
            assert "mở cửa đến 22 giờ" in notice["text"]
