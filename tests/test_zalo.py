"""The Zalo channel's parts against the platform as documented: the API module against the
emulator (the webhook's wrapper, photo_url, 408, 403, 429), text splitting in UTF-16
units, the transport (files by signed links, errors), the sender's handling of Zalo's
errors and quota, the webhook's secret, and reach counted once per person."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.delivery import outbox
from bot.delivery.render import Attachment, Outgoing
from bot.delivery.sender import ChannelLimits, Limits, Sender, SendResult
from bot.emulator import run_emulator
from bot.emulator.zalo import ZaloPeople
from bot.models import ChannelAccount, Delivery, DeliveryStatus, Role
from bot.services import links, notices
from bot.services.file_links import FileLinks
from bot.services.people import ensure_person
from bot.services.wards import get_ward_by_code
from bot.zalo.api import SECRET_HEADER, TEXT_LIMIT, ZaloApi, ZaloError, ZaloUpdate, utf16_len
from bot.zalo.bot import ZaloChannel
from bot.zalo.quota import KIND as QUOTA_KIND
from bot.zalo.quota import QuotaWatch
from bot.zalo.text import plain, split_plain
from bot.zalo.transport import ZaloPart, ZaloPhoto, ZaloTransport
from tests import factories
from tests.test_delivery import FAST, FakeTransport, rows

TOKEN = "1234567890:zalo-test-token"
LINKS = FileLinks("https://ward.example.vn", b"k" * 32)


# --- the API module, against the emulator ----------------------------------------------------


async def test_the_api_speaks_to_the_emulator_as_zalo_documents() -> None:
    async with run_emulator() as emu:
        api = ZaloApi(TOKEN, f"{emu.base_url}/zalo", poll_timeout=1)
        people = ZaloPeople(emu.base_url)
        try:
            me = await api.get_me()
            assert (me["id"], me["account_type"]) == ("1234567890", "BASIC")
            user = await people.create_user("Hoa")
            await people.send_text(user["id"], "xin chào")
            (update,) = await api.get_updates()
            assert (update.user_id, update.name, update.text, update.is_private) == (
                user["id"],
                "Hoa",
                "xin chào",
                True,
            )
            # An empty long poll: Zalo answers 408, which is "nothing new", not an error.
            assert await api.get_updates(timeout=0) == []
            assert (await people.counters())["poll_timeouts"] == 1

            sent = await api.send_message(user["id"], "chào bạn")
            assert sent["message_id"] and sent["date"]
            with pytest.raises(ZaloError) as missing:
                await api.send_message("404", "hello")
            assert missing.value.permanent and missing.value.error_code == 400
        finally:
            await api.close()
            await people.close()


async def test_the_2000_limit_counts_utf16_units_on_both_sides() -> None:
    emoji_text = "🙂" * 1001  # 1,001 characters, 2,002 UTF-16 units
    assert len(emoji_text) <= TEXT_LIMIT < utf16_len(emoji_text)
    async with run_emulator() as emu:
        api = ZaloApi(TOKEN, f"{emu.base_url}/zalo")
        people = ZaloPeople(emu.base_url)
        try:
            user = await people.create_user("Hoa")
            await api.get_me()
            with pytest.raises(ValueError):
                await api.send_message(user["id"], emoji_text)
            # The emulator refuses it too (as Zalo may): the client cannot rely on it.
            with pytest.raises(ZaloError) as refused:
                await api.call("sendMessage", {"chat_id": user["id"], "text": emoji_text})
            assert refused.value.error_code == 400
            for part in split_plain(emoji_text + " và chữ " * 300):
                await api.send_message(user["id"], part)
        finally:
            await api.close()
            await people.close()


async def test_403_is_a_server_error_and_429_a_used_up_quota() -> None:
    async with run_emulator() as emu:
        api = ZaloApi(TOKEN, f"{emu.base_url}/zalo")
        people = ZaloPeople(emu.base_url)
        try:
            user = await people.create_user("Hoa")
            await api.get_me()
            await people.fail("sendMessage", 403, chat_id=user["id"])
            with pytest.raises(ZaloError) as internal:
                await api.send_message(user["id"], "one")
            assert internal.value.server_error and not internal.value.permanent
            assert "Internal server error" in internal.value.description
            await api.send_message(user["id"], "two")  # the fault was for one call

            await people.set_quota(1)
            await api.send_message(user["id"], "three")
            with pytest.raises(ZaloError) as quota:
                await api.send_message(user["id"], "four")
            assert quota.value.quota_exceeded and "Quota exceeded" in quota.value.description
            await people.set_quota(None)
            await api.send_message(user["id"], "five")
            assert (await people.counters())["quota_exceeded"] == 1
        finally:
            await api.close()
            await people.close()


async def test_a_photo_arrives_as_photo_url_or_photo_and_downloads() -> None:
    async with run_emulator() as emu:
        api = ZaloApi(TOKEN, f"{emu.base_url}/zalo", poll_timeout=1)
        people = ZaloPeople(emu.base_url)
        try:
            user = await people.create_user("Hoa")
            await api.get_me()
            await people.send_photo(user["id"], caption="đèn hỏng")
            (photo,) = await api.get_updates()
            assert photo.photo_url and photo.text == "đèn hỏng"
            assert (await api.download(photo.photo_url, 10_000)).startswith(b"\x89PNG")
            with pytest.raises(ValueError):
                await api.download(photo.photo_url, 10)
            await people._post(f"/_control/zalo/users/{user['id']}/photo", {"field": "photo"})
            (documented,) = await api.get_updates()
            assert documented.photo_url and documented.photo_url != photo.photo_url
        finally:
            await api.close()
            await people.close()


def test_updates_are_parsed_from_the_webhook_wrapper_and_defensively() -> None:
    message = {
        "from": {"id": "6ede9afa66b88fe6d6a9", "display_name": "Ted", "is_bot": False},
        "chat": {"id": "6ede9afa66b88fe6d6a9", "chat_type": "PRIVATE"},
        "text": "Xin chào",
        "message_id": "2d758cb5e222177a4e35",
        "date": 1750316131602,
    }
    # Zalo's documentation: the webhook body is wrapped.
    wrapped = ZaloUpdate.parse(
        {"ok": True, "result": {"message": message, "event_name": "message.text.received"}}
    )
    bare = ZaloUpdate.parse({"message": message, "event_name": "message.text.received"})
    assert wrapped == bare
    assert wrapped is not None and (wrapped.user_id, wrapped.name, wrapped.text) == (
        "6ede9afa66b88fe6d6a9",
        "Ted",
        "Xin chào",
    )
    assert ZaloUpdate.parse(None) is None
    assert ZaloUpdate.parse({"ok": True, "result": {"event_name": "x"}}) is None
    assert ZaloUpdate.parse({"message": {"text": "no sender"}}) is None
    assert ZaloUpdate.parse({"message": {"from": {"id": {"nested": 1}}}}) is None
    group = ZaloUpdate.parse(
        {"message": {"from": {"id": 42}, "chat": {"id": 7, "chat_type": "GROUP"}, "text": 5}}
    )
    assert group is not None and not group.is_private and group.text is None
    image = ZaloUpdate.parse(
        {
            "event_name": "message.image.received",
            "message": {"from": {"id": 1}, "photo_url": "https://cdn.zalo/p.jpg", "photo": 3},
        }
    )
    assert image is not None and image.photo_url == "https://cdn.zalo/p.jpg"
    for odd in ("file:///etc/passwd", "javascript:x"):
        not_a_url = ZaloUpdate.parse({"message": {"from": {"id": 1}, "photo_url": odd}})
        assert not_a_url is not None and not_a_url.photo_url is None


# --- text -------------------------------------------------------------------------------------


def test_html_becomes_plain_text() -> None:
    assert plain("<b>A &amp; B</b><br>next") == "A & B\nnext"
    assert plain('<a href="https://x.vn">site</a>') == "site (https://x.vn)"


def test_long_text_is_split_at_word_boundaries_within_the_limit() -> None:
    sentence = "Thông báo lịch tiêm chủng mở rộng cho trẻ em dưới 5 tuổi & <phụ nữ> 💉. "
    text = sentence * 100
    parts = split_plain(text)
    assert len(parts) >= 4
    assert all(utf16_len(p) <= TEXT_LIMIT for p in parts)
    assert " ".join(parts).split() == text.split()
    words = set(sentence.split())
    assert all(p.split()[0] in words and p.split()[-1] in words for p in parts)
    assert split_plain("  ") == []
    # Emoji only: every part fits in UTF-16 units although it would in characters anyway.
    emoji = split_plain("😀 " * 1500)
    assert all(utf16_len(p) <= TEXT_LIMIT for p in emoji) and "".join(emoji).count("😀") == 1500


# --- the transport ----------------------------------------------------------------------------


def test_photos_go_by_signed_url_and_documents_as_links_in_the_text() -> None:
    transport = ZaloTransport(ZaloApi(TOKEN, "http://127.0.0.1:9"), links=LINKS)
    parts = transport.split(
        Outgoing(
            text="<b>Lịch cắt điện</b>",
            markup=object(),
            attachments=[
                Attachment("document", "lich-cat-dien.pdf", stored_file_id=7),
                Attachment("photo", "so-do.png", stored_file_id=8),
                Attachment("document", "bytes-only.pdf", data=b"%PDF"),
            ],
        )
    )
    text, photo = parts
    assert isinstance(text, ZaloPart) and isinstance(photo, ZaloPhoto)
    assert "<b>" not in text.text and "Gõ 0" in text.text
    link = next(w for w in text.text.split() if "/files/7/" in w)
    _, _, _, _, file_id, expires, signature = link.split("/")
    assert LINKS.check(int(file_id), int(expires), signature)
    assert "lich-cat-dien.pdf" in text.text and "bytes-only.pdf" in text.text
    assert "/files/8/" in photo.url and "/files/8/" not in text.text

    unlinked = ZaloTransport(ZaloApi(TOKEN, "http://127.0.0.1:9")).split(
        Outgoing(text="x", attachments=[Attachment("photo", "a.png", stored_file_id=1)])
    )
    assert len(unlinked) == 1 and "a.png" in unlinked[0].text  # type: ignore[union-attr]


class _Api:
    def __init__(self, error: ZaloError | None) -> None:
        self.error = error

    async def send_message(self, chat_id: str, text: str) -> dict[str, Any]:
        if self.error:
            raise self.error
        return {"message_id": "m9"}


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (None, SendResult(ok=True, message_id="m9")),
        # Zalo's 403 is its own internal error: retried later, never "blocked".
        (ZaloError("internal", error_code=403), SendResult(ok=False, error="internal")),
        (ZaloError("bad", error_code=400), SendResult(ok=False, permanent=True, error="bad")),
        (
            ZaloError("t", network=True, uncertain=True),
            SendResult(ok=False, uncertain=True, error="network: t"),
        ),
    ],
)
async def test_the_transport_maps_zalo_answers(
    error: ZaloError | None, expected: SendResult
) -> None:
    transport = ZaloTransport(_Api(error))  # type: ignore[arg-type]
    assert await transport.send("1", ZaloPart("hi")) == expected


async def test_429s_in_a_row_wait_longer_each_time() -> None:
    quota = QuotaWatch()
    transport = ZaloTransport(_Api(ZaloError("Quota exceeded", error_code=429)), quota=quota)  # type: ignore[arg-type]
    waits = []
    for _ in range(4):
        result = await transport.send("1", ZaloPart("hi"))
        assert result.quota and not result.blocked and not result.permanent
        waits.append(result.retry_after)
        # The next try comes once the wait is over.
        clock.shift(timedelta(seconds=result.retry_after or 0))
    assert waits == [2.0, 4.0, 8.0, 16.0]
    # Refusals of requests already in flight do not make the wait grow.
    assert (await transport.send("1", ZaloPart("hi"))).retry_after == 32.0
    in_flight = (await transport.send("1", ZaloPart("hi"))).retry_after
    assert in_flight is not None and 31 < in_flight <= 32.0
    transport.api = _Api(None)  # type: ignore[assignment]
    assert (await transport.send("1", ZaloPart("hi"))).ok
    assert quota.refusals == 0 and quota.remaining() == 0


# --- the sender with Zalo's answers ---------------------------------------------------------


class FakeZalo(FakeTransport):
    channel = "zalo"

    def __init__(self, per_second: float) -> None:
        super().__init__(limit=TEXT_LIMIT)
        self.limits = ChannelLimits(per_second=per_second, private_interval=0)


async def _zalo_people(session: AsyncSession, count: int) -> list[int]:
    ids = []
    for n in range(count):
        actor = await ensure_person(
            session,
            channel="zalo",
            external_id=f"z{time.monotonic_ns()}{n}",
            chat_id=f"z{time.monotonic_ns()}{n}",
            username=None,
            language="vi",
        )
        ids.append(actor.person_id)
    await session.commit()
    return ids  # type: ignore[return-value]


async def _one_zalo_row(session: AsyncSession) -> ChannelAccount:
    (zid,) = await _zalo_people(session, 1)
    (account,) = (
        await session.exec(select(ChannelAccount).where(ChannelAccount.person_id == zid))
    ).all()
    await outbox.enqueue(session, kind="test.hello", person_ids=[zid])
    await session.commit()
    return account


async def test_zalo_rows_keep_zalos_rate_while_telegram_goes_at_its_own(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession]
) -> None:
    zalo_ids = await _zalo_people(session, 12)
    telegram = [a.person_id for a in [await factories.person(session) for _ in range(12)]]
    await outbox.enqueue(session, kind="test.hello", person_ids=zalo_ids + telegram)  # type: ignore[list-item]
    await session.commit()
    tg, zalo = FakeTransport(), FakeZalo(per_second=8)
    s = Sender(factory, {"telegram": tg, "zalo": zalo}, FAST, poll_interval=0.02)
    start = time.monotonic()
    deadline = start + 120  # a guard against a hang, not a target (bench/zalo.py times it)
    while len(zalo.sent) < 12:
        await s.drain()
        assert time.monotonic() < deadline, f"{len(zalo.sent)} of 12 Zalo rows sent"
        await asyncio.sleep(0.05)
    zalo_times = sorted(at for _c, _p, at in zalo.sent)
    assert len(tg.sent) == 12
    # Zalo's 12 at 8 a second (a burst of 1.6) cannot take less than 1.2 s...
    assert zalo_times[-1] - start >= 1.2
    # ...and Telegram is not held to Zalo's pace: all of its rows went out before Zalo's
    # seventh could (at least 0.6 s in), however slow the machine.
    assert max(at for _c, _p, at in tg.sent) < zalo_times[6]
    assert all(r.status == DeliveryStatus.SENT for r in await rows(session))


async def test_a_used_up_zalo_quota_pauses_zalo_only_and_counts_the_tries(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession]
) -> None:
    account = await _one_zalo_row(session)
    tg, zalo = FakeTransport(), FakeZalo(per_second=100)
    zalo.script[account.chat_id] = [
        SendResult(ok=False, retry_after=2, quota=True, error="429 Quota exceeded")
    ]
    s = Sender(factory, {"telegram": tg, "zalo": zalo}, FAST, poll_interval=0.02)
    asked = time.monotonic()
    await s.drain(max_rows=1)
    (row,) = await rows(session)
    assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 1)
    assert s._buckets["zalo"].paused_until >= asked + 2
    assert s.bucket.paused_until <= time.monotonic()


async def test_a_quota_that_never_comes_back_fails_the_row_after_its_own_limit(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession]
) -> None:
    account = await _one_zalo_row(session)
    zalo = FakeZalo(per_second=1000)
    zalo.always[account.chat_id] = SendResult(ok=False, retry_after=0.01, quota=True, error="429")
    limits = Limits(**{**FAST.__dict__, "quota_max_attempts": 3, "max_attempts": 2})
    s = Sender(factory, {"zalo": zalo}, limits, poll_interval=0.02)
    for _ in range(200):
        await s.drain()
        (row,) = await rows(session)
        if row.status != DeliveryStatus.PENDING:
            break
        await asyncio.sleep(0.02)
    # Not failed after max_attempts (2): a quota has its own, longer patience.
    assert (row.status, row.attempts) == (DeliveryStatus.FAILED, 3)


async def test_a_zalo_403_is_retried_and_never_marks_the_resident_unreachable(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession]
) -> None:
    account = await _one_zalo_row(session)
    await outbox.enqueue(session, kind="test.hello", person_ids=[account.person_id])  # type: ignore[list-item]
    await session.commit()
    transport = ZaloTransport(_Api(ZaloError("Internal server error", error_code=403)))  # type: ignore[arg-type]
    s = Sender(factory, {"zalo": transport}, FAST, poll_interval=0.02)
    await s.drain()
    found = await rows(session)
    assert [(r.status, r.attempts) for r in found] == [(DeliveryStatus.PENDING, 1)] * 2
    await session.refresh(account)
    assert account.blocked_at is None
    # Zalo recovers: both queued messages go out.
    transport.api = _Api(None)  # type: ignore[assignment]
    for row in found:
        row.next_attempt_at = clock.now()
        session.add(row)
    await session.commit()
    await s.drain()
    assert [r.status for r in await rows(session)] == [DeliveryStatus.SENT] * 2


# --- the quota's report to the ward's admins ---------------------------------------------------


async def test_admins_hear_of_a_quota_used_up_for_n_minutes_and_of_its_end(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession], ward: Any
) -> None:
    admin = await factories.with_role(session, Role.ADMIN, ward_id=ward.id)
    await session.commit()
    quota = QuotaWatch(factory, report_after=timedelta(minutes=15))

    async def reports() -> list[Delivery]:
        found = (await session.exec(select(Delivery).where(Delivery.kind == QUOTA_KIND))).all()
        await session.commit()
        return list(found)

    await quota.refused()
    clock.shift(timedelta(minutes=14))
    await quota.refused()
    assert await reports() == []
    clock.shift(timedelta(minutes=1, seconds=1))
    await quota.refused()
    await quota.refused()
    (report,) = await reports()
    assert report.person_id == admin.person_id and report.params["exceeded"]
    assert report.params["count"] == 3
    # Another process of the deployment, refused too: the admins were told already.
    other = QuotaWatch(factory, report_after=timedelta(minutes=15))
    await other.refused()
    clock.shift(timedelta(minutes=16))
    await other.refused()
    assert len(await reports()) == 1
    await quota.accepted()
    await other.accepted()
    done = await reports()
    assert [r.params["exceeded"] for r in done] == [True, False]
    # A new streak, after Zalo had recovered, is news again.
    await quota.refused()
    clock.shift(timedelta(minutes=16))
    await quota.refused()
    assert [r.params["exceeded"] for r in await reports()] == [True, False, True]


# --- answers to a Zalo user ---------------------------------------------------------------------


async def test_an_answer_survives_zalos_internal_errors(
    factory: async_sessionmaker[AsyncSession], session: AsyncSession, ward: Any
) -> None:
    # The fixtures' session must not hold SQLite's lock while the channel writes.
    await session.commit()
    async with run_emulator() as emu:
        api = ZaloApi(TOKEN, f"{emu.base_url}/zalo", poll_timeout=1)
        people = ZaloPeople(emu.base_url)
        channel = ZaloChannel(api, factory)
        user = await people.create_user("Hà")
        await api.get_me()
        await people.fail("sendMessage", 403, times=2, chat_id=user["id"])
        await people.send_text(user["id"], "xin chào")
        try:
            (update,) = await api.get_updates()
            await channel.handle(update)
            await people.wait_for(user["id"], "Gõ 1 để đăng ký cư trú", timeout=5)
            assert (await people.counters())["faults"] == 2
        finally:
            await api.close()
            await people.close()


async def test_empty_long_polls_are_neither_failures_nor_warnings(
    factory: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    ward: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The fixtures' session must not hold SQLite's lock while the channel writes.
    await session.commit()
    async with run_emulator() as emu:
        api = ZaloApi(TOKEN, f"{emu.base_url}/zalo", poll_timeout=1)
        people = ZaloPeople(emu.base_url)
        channel = ZaloChannel(api, factory)
        stop = asyncio.Event()
        caplog.set_level(logging.INFO, logger="bot.zalo")
        poller = asyncio.create_task(channel.run_polling(stop))
        try:
            deadline = time.monotonic() + 20
            while (await people.counters())["poll_timeouts"] < 3:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.1)
            user = await people.create_user("Hà")
            await people.send_text(user["id"], "xin chào")
            await people.wait_for(user["id"], "Gõ 1 để đăng ký cư trú", timeout=5)
        finally:
            stop.set()
            await asyncio.wait_for(poller, 10)
            await api.close()
            await people.close()
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# --- the webhook ---------------------------------------------------------------------------


def _update(user: dict[str, Any], text: str, message_id: str = "1") -> dict[str, Any]:
    return {
        "event_name": "message.text.received",
        "message": {
            "message_id": message_id,
            "date": 1750316131602,
            "from": {"id": user["id"], "display_name": user["name"], "is_bot": False},
            "chat": {"id": user["id"], "chat_type": "PRIVATE"},
            "text": text,
        },
    }


async def test_the_webhook_takes_zalos_wrapped_body_and_refuses_a_wrong_secret(
    factory: async_sessionmaker[AsyncSession], session: AsyncSession, ward: Any
) -> None:
    async with run_emulator() as emu:
        api = ZaloApi(TOKEN, f"{emu.base_url}/zalo")
        people = ZaloPeople(emu.base_url)
        user = await people.create_user("Hà")
        channel = ZaloChannel(api, factory)
        app = web.Application()
        channel.mount(app, "/zalo/webhook", "s" * 24)
        wrapped = {"ok": True, "result": _update(user, "xin chào")}
        client = TestClient(TestServer(app))
        await client.start_server()
        try:
            for headers in ({}, {SECRET_HEADER: "s" * 23}, {SECRET_HEADER: "t" * 24}):
                reply = await client.post("/zalo/webhook", json=wrapped, headers=headers)
                assert reply.status == 401
            assert channel.handled == 0
            assert (await session.exec(select(ChannelAccount))).all() == []
            await session.commit()

            reply = await client.post(
                "/zalo/webhook", json=wrapped, headers={SECRET_HEADER: "s" * 24}
            )
            assert reply.status == 200 and channel.handled == 1
            (account,) = (await session.exec(select(ChannelAccount))).all()
            assert (account.channel, account.external_id) == ("zalo", user["id"])
            messages = await people.messages(user["id"])
            assert any("Gõ 1 để đăng ký cư trú" in (m.get("text") or "") for m in messages)
            # A body without a message is answered (Zalo must not resend it) and skipped.
            reply = await client.post(
                "/zalo/webhook", json={"ok": True, "result": {}}, headers={SECRET_HEADER: "s" * 24}
            )
            assert reply.status == 200 and channel.handled == 1
        finally:
            await client.close()
            await api.close()
            await people.close()


# --- one person, one resident ---------------------------------------------------------------


async def test_a_person_on_two_channels_counts_once_in_notice_reach(
    session: AsyncSession, ward: Any
) -> None:
    both = await factories.resident(session, "KP03", number=521)
    only = await factories.resident(session, "KP03", number=522)
    zalo = await factories.zalo_person(session, "z-521")
    await links.request(session, zalo, factories.phone(521))
    (queued,) = (await session.exec(select(Delivery).where(Delivery.kind == links.KIND))).all()
    await links.confirm(session, zalo, queued.params["code"])
    badinh = await get_ward_by_code(session, "BADINH")
    notice = await notices.publish(
        session,
        None,
        ward_id=badinh.id,  # type: ignore[arg-type]
        group_ids=[both.resident.group_id],  # type: ignore[union-attr,list-item]
        category_code="khac",
        publisher_label="UBND phường",
        title="Họp tổ dân phố",
        body="Họp lúc 19 giờ.",
        posting_days=7,
    )
    await session.flush()
    of_notice = select(Delivery).where(
        Delivery.ref_type == notices.KIND, Delivery.ref_id == notice.id
    )
    rows_ = (await session.exec(of_notice)).all()
    mine = [r for r in rows_ if r.person_id == both.person_id]
    assert sorted(r.channel for r in mine) == ["telegram", "zalo"]
    # One of the two accounts got it, the other failed: reached, once.
    mine[0].status, mine[1].status = DeliveryStatus.SENT, DeliveryStatus.FAILED
    for r in rows_:
        if r.person_id == only.person_id:
            r.status = DeliveryStatus.PENDING
    await session.flush()
    result = await notices.stats(session, None, notice.id)  # type: ignore[arg-type]
    assert (result.total.recipients, result.total.sent, result.total.pending) == (2, 1, 1)
    assert result.total.failed == 0


def test_the_emulator_takes_none_of_its_constants_from_the_client() -> None:
    import ast
    from pathlib import Path

    source = Path(__file__).resolve().parents[1] / "bot" / "emulator" / "zalo.py"
    imported = {
        node.module
        for node in ast.walk(ast.parse(source.read_text()))
        if isinstance(node, ast.ImportFrom)
    }
    assert not any(module and module.startswith("bot.zalo") for module in imported)
