"""The outbox and the sender: claiming, settling, limits, errors and crash recovery."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.delivery import outbox, sender, wakeup
from bot.delivery.outbox import Priority
from bot.delivery.render import Attachment, Outgoing, renderer, split_html
from bot.delivery.sender import HOST, Limits, Sender, SendResult
from bot.models import ChannelAccount, Delivery, DeliveryStatus, Person
from tests import factories

RENDERS: Counter[str] = Counter()


@renderer("test.hello")
async def _hello(session: AsyncSession, row: Delivery) -> Outgoing | None:
    RENDERS["hello"] += 1
    return Outgoing(text=f"hello {row.params.get('n', '')}".strip())


@renderer("test.shared", shared=True)
async def _shared(session: AsyncSession, row: Delivery) -> Outgoing | None:
    RENDERS["shared"] += 1
    return Outgoing(text=f"shared {row.params['n']} {row.language}")


@renderer("test.parts")
async def _parts(session: AsyncSession, row: Delivery) -> Outgoing | None:
    return Outgoing(
        text="one two three",
        markup="buttons",
        attachments=[Attachment(kind="document", filename="a.pdf", data=b"%PDF")],
    )


@renderer("test.gone")
async def _gone(session: AsyncSession, row: Delivery) -> Outgoing | None:
    return None


class FakeTransport:
    """Records every request; answers with scripted results, then OK."""

    channel = "telegram"

    def __init__(self, *, limit: int = 4096, latency: float = 0.0) -> None:
        self.limit = limit
        self.latency = latency
        self.sent: list[tuple[str, Any, float]] = []
        self.script: dict[str, list[SendResult]] = {}
        self.always: dict[str, SendResult] = {}

    def split(self, message: Outgoing) -> Sequence[Any]:
        parts: list[Any] = [("text", t) for t in split_html(message.text, self.limit)]
        if message.markup is not None:
            parts[-1] = ("text+markup", parts[-1][1])
        return parts + [("file", a.filename) for a in message.attachments]

    async def send(self, chat_id: str, part: Any) -> SendResult:
        if self.latency:
            await asyncio.sleep(self.latency)
        self.sent.append((chat_id, part, time.monotonic()))
        if chat_id in self.always:
            return self.always[chat_id]
        scripted = self.script.get(chat_id)
        if scripted:
            return scripted.pop(0)
        return SendResult(ok=True, message_id=str(len(self.sent)))

    def chats(self) -> Counter[str]:
        return Counter(chat for chat, _part, _at in self.sent)


FAST = Limits(per_second=1000, private_interval=0, backoff_base=2, settle_interval=0.01)


def make_sender(
    factory: async_sessionmaker[AsyncSession], transport: FakeTransport, **limits: Any
) -> Sender:
    values = {**FAST.__dict__, **limits}
    return Sender(factory, {"telegram": transport}, Limits(**values), poll_interval=0.05)


async def people(session: AsyncSession, count: int) -> list[factories.Actor]:  # type: ignore[name-defined]
    made = [await factories.person(session) for _ in range(count)]
    await session.commit()
    return made


async def rows(session: AsyncSession) -> list[Delivery]:
    query = select(Delivery).order_by(col(Delivery.id)).execution_options(populate_existing=True)
    found = list((await session.exec(query)).all())
    # On SQLite every transaction holds the write lock: end it before the sender writes.
    await session.commit()
    return found


async def run_until(sender_: Sender, condition: Callable[[], bool], within: float = 60) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(sender_.run(stop))
    deadline = time.monotonic() + within
    try:
        while not condition():
            assert time.monotonic() < deadline, f"timed out: {sender_.stats}"
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


# --- the outbox ----------------------------------------------------------------------


async def test_enqueue_skips_accounts_that_blocked_the_bot(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession]
) -> None:
    a, b = await people(session, 2)
    b.account.blocked_at = clock.now()  # type: ignore[union-attr]
    session.add(b.account)
    count = await outbox.enqueue(
        session,
        kind="test.hello",
        person_ids=[a.person_id, b.person_id, a.person_id],  # type: ignore[list-item]
        segments={a.person_id: 7},  # type: ignore[dict-item]
    )
    assert count == 1
    (row,) = await rows(session)
    assert (row.person_id, row.segment, row.priority) == (a.person_id, 7, Priority.PERSONAL)


async def test_enqueue_recipients_writes_one_row_per_account_in_sql(
    session: AsyncSession,
) -> None:
    made = await people(session, 5)
    made[4].account.blocked_at = clock.now()  # type: ignore[union-attr]
    session.add(made[4].account)
    await session.flush()
    ids = [m.person_id for m in made]
    recipients = select(Person.id, Person.id % 2).where(col(Person.id).in_(ids))
    queued = await outbox.enqueue_recipients(
        session,
        kind="test.hello",
        recipients=recipients,
        params={"n": 1, "nested": {"ok": True}},
        ref=("test", 9),
        record_unreachable=True,
    )
    assert queued == 4
    written = await rows(session)
    assert len(written) == 5
    by_person = {r.person_id: r for r in written}
    assert by_person[ids[4]].status == DeliveryStatus.BLOCKED
    assert {by_person[i].status for i in ids[:4]} == {DeliveryStatus.PENDING}
    assert all(r.params == {"n": 1, "nested": {"ok": True}} for r in written)
    assert all((r.ref_type, r.ref_id, r.priority) == ("test", 9, 0) for r in written)
    assert [by_person[i].segment for i in ids] == [i % 2 for i in ids]
    assert all(r.next_attempt_at is not None for r in written)


async def test_the_wakeup_fires_on_commit_only_and_leaves_no_listeners(
    session: AsyncSession,
) -> None:
    (a,) = await people(session, 1)
    person_id: int = a.person_id  # type: ignore[assignment]
    woken = asyncio.Event()
    wakeup.bind(woken)
    try:
        await outbox.enqueue(session, kind="test.hello", person_ids=[person_id])
        await session.rollback()
        assert not woken.is_set()
        for _ in range(3):
            await outbox.enqueue(session, kind="test.hello", person_ids=[person_id])
            await session.commit()
            assert woken.is_set()
            woken.clear()
        dispatch = session.sync_session.dispatch
        # One class-wide listener each, whatever the number of transactions.
        assert len(dispatch.after_commit) == 1 and len(dispatch.after_rollback) == 1
    finally:
        wakeup.bind(None)


# --- splitting ---------------------------------------------------------------------


def _words(html: str) -> list[str]:
    return re.sub(r"<[^>]+>", " ", html).split()


def test_split_html_cuts_at_paragraphs_and_words_and_keeps_tags_balanced() -> None:
    paragraph = "Thông báo về việc thu phí vệ sinh &amp; môi trường năm 2026. " * 12
    text = (
        "<b>Tiêu đề</b>\n\n"
        + "\n\n".join(f"<i>{i}</i> {paragraph}" for i in range(12))
        + " <b>"
        + "rất dài " * 300
        + "</b>"
    )
    parts = split_html(text, 1000)
    assert len(parts) > 5
    assert all(len(p) <= 1000 for p in parts)
    assert _words(" ".join(parts)) == _words(text)
    for part in parts:
        assert part.count("<b>") == part.count("</b>")
        assert part.count("<i>") == part.count("</i>")
        assert not re.search(r"&[#\w]*$", part), "an entity was cut"
    # The bold run that spans several parts is reopened in each.
    assert parts[-1].startswith("<b>") and parts[-1].endswith("</b>")


def test_split_html_hard_cuts_only_a_word_longer_than_the_limit() -> None:
    assert split_html("short", 10) == ["short"]
    parts = split_html("x" * 25 + " tail", 10)
    assert all(len(p) <= 10 for p in parts)
    assert "".join(parts).replace(" ", "") == "x" * 25 + "tail"


# --- the sender --------------------------------------------------------------------


async def test_each_row_is_sent_once_and_settled(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession]
) -> None:
    made = await people(session, 3)
    await outbox.enqueue(
        session, kind="test.hello", person_ids=[m.person_id for m in made], params={"n": 1}
    )  # type: ignore[misc]
    await session.commit()
    transport = FakeTransport()
    s = make_sender(factory, transport)
    assert await s.drain() == 3
    assert sorted(transport.chats().values()) == [1, 1, 1]
    settled = await rows(session)
    assert {r.status for r in settled} == {DeliveryStatus.SENT}
    assert all(r.attempts == 1 and r.claimed_by is None and r.sent_at for r in settled)
    assert await s.drain() == 0


async def test_urgent_rows_go_first(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession]
) -> None:
    made = await people(session, 6)
    await outbox.enqueue(
        session,
        kind="test.hello",
        person_ids=[m.person_id for m in made[:5]],  # type: ignore[misc]
        priority=Priority.BULK,
    )
    await outbox.enqueue(
        session,
        kind="test.hello",
        person_ids=[made[5].person_id],  # type: ignore[list-item]
        priority=Priority.URGENT,
    )
    await session.commit()
    transport = FakeTransport()
    await make_sender(factory, transport, claim_max=2).drain()
    assert transport.sent[0][0] == made[5].account.chat_id  # type: ignore[union-attr]


async def test_a_429_waits_and_retries_without_counting_an_attempt(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession]
) -> None:
    (a,) = await people(session, 1)
    chat = a.account.chat_id  # type: ignore[union-attr]
    await outbox.enqueue(session, kind="test.hello", person_ids=[a.person_id])  # type: ignore[list-item]
    await session.commit()
    transport = FakeTransport()
    transport.script[chat] = [SendResult(ok=False, retry_after=0.3, error="Too Many Requests")]
    s = make_sender(factory, transport)
    asked = time.monotonic()
    await s.drain(max_rows=1)
    (row,) = await rows(session)
    assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 0)
    assert row.next_attempt_at > clock.now()  # type: ignore[operator]
    # The whole bot waits: the bucket gives no token before retry_after (counted from the
    # answer, which came after we asked, however slow the machine).
    assert s.bucket.paused_until >= asked + 0.3
    start = time.monotonic()
    await s.drain()
    assert len(transport.sent) == 2
    assert time.monotonic() - start >= 0.2
    (row,) = await rows(session)
    assert (row.status, row.attempts, s.stats.retried_429) == (DeliveryStatus.SENT, 1, 1)


async def test_a_403_marks_the_person_unreachable_and_drops_their_queue(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession]
) -> None:
    a, b = await people(session, 2)
    ids = [a.person_id, b.person_id]
    await outbox.enqueue(session, kind="test.hello", person_ids=ids, params={"n": 1})  # type: ignore[arg-type]
    await outbox.enqueue(session, kind="test.hello", person_ids=ids, params={"n": 2})  # type: ignore[arg-type]
    await session.commit()
    transport = FakeTransport()
    transport.always[a.account.chat_id] = SendResult(  # type: ignore[union-attr]
        ok=False, blocked=True, error="Forbidden: bot was blocked by the user"
    )
    s = make_sender(factory, transport, claim_max=2)
    await s.drain()
    assert transport.chats()[a.account.chat_id] == 1  # type: ignore[union-attr]
    assert transport.chats()[b.account.chat_id] == 2  # type: ignore[union-attr]
    statuses = {(r.person_id, r.params["n"]): r.status for r in await rows(session)}
    assert statuses[(a.person_id, 1)] == DeliveryStatus.BLOCKED
    assert statuses[(a.person_id, 2)] == DeliveryStatus.BLOCKED
    account = await session.get(ChannelAccount, a.account.id)  # type: ignore[union-attr]
    await session.refresh(account)
    assert account.blocked_at is not None  # type: ignore[union-attr]
    # Later broadcasts skip them.
    assert await outbox.enqueue(session, kind="test.hello", person_ids=ids) == 1  # type: ignore[arg-type]


async def test_errors_back_off_exponentially_then_fail_keeping_the_error(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession]
) -> None:
    (a,) = await people(session, 1)
    await outbox.enqueue(session, kind="test.hello", person_ids=[a.person_id])  # type: ignore[list-item]
    await session.commit()
    transport = FakeTransport()
    transport.always[a.account.chat_id] = SendResult(ok=False, error="Bad Gateway")  # type: ignore[union-attr]
    s = make_sender(factory, transport, max_attempts=4, backoff_base=3)
    delays = []
    for attempt in range(1, 5):
        before = clock.now()
        await s.drain()
        (row,) = await rows(session)
        assert row.attempts == attempt and row.error == "Bad Gateway"
        if attempt < 4:
            assert row.status == DeliveryStatus.PENDING
            delays.append(round((row.next_attempt_at - before).total_seconds()))  # type: ignore[operator]
            assert await s.drain() == 0  # not due yet
            clock.shift(timedelta(seconds=delays[-1] + 1))
    assert delays == [3, 9, 27]
    assert row.status == DeliveryStatus.FAILED
    assert len(transport.sent) == 4


async def test_a_permanent_error_fails_at_once(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession]
) -> None:
    (a,) = await people(session, 1)
    await outbox.enqueue(session, kind="test.hello", person_ids=[a.person_id])  # type: ignore[list-item]
    await session.commit()
    transport = FakeTransport()
    transport.always[a.account.chat_id] = SendResult(  # type: ignore[union-attr]
        ok=False, permanent=True, error="Bad Request: chat not found"
    )
    await make_sender(factory, transport).drain()
    (row,) = await rows(session)
    assert (row.status, row.attempts, row.error) == (
        DeliveryStatus.FAILED,
        1,
        "Bad Request: chat not found",
    )


async def test_a_message_in_parts_resumes_at_the_part_that_failed(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession]
) -> None:
    (a,) = await people(session, 1)
    chat = a.account.chat_id  # type: ignore[union-attr]
    await outbox.enqueue(session, kind="test.parts", person_ids=[a.person_id])  # type: ignore[list-item]
    await session.commit()
    transport = FakeTransport(limit=5)
    transport.script[chat] = [
        SendResult(ok=True, message_id="m1"),
        SendResult(ok=False, error="Internal Server Error"),
    ]
    s = make_sender(factory, transport)
    await s.drain()
    (row,) = await rows(session)
    assert (row.status, row.parts_sent, row.attempts) == (DeliveryStatus.PENDING, 1, 1)
    clock.shift(timedelta(seconds=10))
    await s.drain()
    parts = [part for _chat, part, _at in transport.sent]
    assert parts == [
        ("text", "one"),
        ("text", "two"),
        ("text", "two"),
        ("text+markup", "three"),
        ("file", "a.pdf"),
    ]
    (row,) = await rows(session)
    assert (row.status, row.parts_sent, row.external_message_id) == (DeliveryStatus.SENT, 4, "m1")


async def test_a_row_whose_subject_is_gone_is_dropped(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession]
) -> None:
    (a,) = await people(session, 1)
    await outbox.enqueue(session, kind="test.gone", person_ids=[a.person_id])  # type: ignore[list-item]
    await session.commit()
    transport = FakeTransport()
    await make_sender(factory, transport).drain()
    (row,) = await rows(session)
    assert row.status == DeliveryStatus.DROPPED and transport.sent == []


async def test_a_shared_renderer_runs_once_per_language(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession]
) -> None:
    made = await people(session, 6)
    for m in made[:2]:
        m.person.language = "en"  # type: ignore[union-attr]
        session.add(m.person)
    await session.flush()
    await outbox.enqueue(
        session, kind="test.shared", person_ids=[m.person_id for m in made], params={"n": 5}
    )  # type: ignore[misc]
    await session.commit()
    RENDERS["shared"] = 0
    transport = FakeTransport()
    await make_sender(factory, transport).drain()
    assert RENDERS["shared"] == 2
    texts = Counter(part[1] for _chat, part, _at in transport.sent)
    assert texts == {"shared 5 vi": 4, "shared 5 en": 2}


async def test_the_global_rate_and_the_private_chat_interval_hold(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession]
) -> None:
    made = await people(session, 30)
    await outbox.enqueue(session, kind="test.hello", person_ids=[m.person_id for m in made])  # type: ignore[misc]
    # Three messages to one chat.
    for n in range(2):
        await outbox.enqueue(
            session,
            kind="test.hello",
            person_ids=[made[0].person_id],  # type: ignore[list-item]
            params={"n": n},
        )
    await session.commit()
    transport = FakeTransport()
    s = make_sender(factory, transport, per_second=40, burst=2, private_interval=0.3)
    await run_until(s, lambda: len(transport.sent) == 32)
    times = sorted(at for _chat, _part, at in transport.sent)
    # 32 messages at 40/s with a burst of 2: at least 30 / 40 s.
    assert times[-1] - times[0] >= 0.7
    for window_start in times:
        in_window = [t for t in times if window_start <= t < window_start + 0.5]
        assert len(in_window) <= 0.5 * 40 + 2 + 1
    own = sorted(at for chat, _part, at in transport.sent if chat == made[0].account.chat_id)  # type: ignore[union-attr]
    assert len(own) == 3
    assert all(b - a >= 0.29 for a, b in itertools.pairwise(own))
    assert {r.status for r in await rows(session)} == {DeliveryStatus.SENT}


async def test_two_senders_never_claim_or_send_the_same_row(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession]
) -> None:
    made = await people(session, 120)
    await outbox.enqueue(session, kind="test.hello", person_ids=[m.person_id for m in made])  # type: ignore[misc]
    await session.commit()
    first, second = make_sender(factory, FakeTransport()), make_sender(factory, FakeTransport())
    # Claims racing each other take disjoint rows.
    claimed: list[int] = []
    for _ in range(3):
        a, b = await asyncio.gather(first._claim(9), second._claim(11))
        assert a and b
        claimed += [r.id for r in a + b]
    assert len(claimed) == len(set(claimed)) == 60
    async with factory() as fresh:
        await fresh.exec(
            update(Delivery).values(
                status=DeliveryStatus.PENDING, claimed_by=None, next_attempt_at=clock.now()
            )
        )
        await fresh.commit()
    # Running side by side, every row goes out once.
    transport = FakeTransport(latency=0.002)
    first = make_sender(factory, transport, claim_max=7, per_second=100, burst=5)
    second = make_sender(factory, transport, claim_max=5, per_second=100, burst=5)
    # A long deadline: on a loaded machine two SQLite writers may wait on each other.
    await asyncio.gather(
        run_until(first, lambda: len(transport.sent) >= 120, within=60),
        run_until(second, lambda: len(transport.sent) >= 120, within=60),
    )
    assert len(transport.sent) == 120 and max(transport.chats().values()) == 1
    assert {r.status for r in await rows(session)} == {DeliveryStatus.SENT}


# --- a sender that died ------------------------------------------------------------


async def _claim_as(
    factory: async_sessionmaker[AsyncSession], worker_id: str, count: int
) -> list[int]:
    dead = Sender(factory, {"telegram": FakeTransport()}, Limits(per_second=1000))
    dead.worker_id = worker_id
    return [r.id for r in await dead._claim(count)]


async def test_rows_a_dead_sender_left_in_flight_are_sent_again_and_counted(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession], caplog: Any
) -> None:
    made = await people(session, 10)
    await outbox.enqueue(session, kind="test.hello", person_ids=[m.person_id for m in made])  # type: ignore[misc]
    await session.commit()
    # A process on this host that no longer exists claimed four rows and died.
    claimed = await _claim_as(factory, f"{HOST}:999999999:deadbeef", 4)
    assert len(claimed) == 4
    transport = FakeTransport()
    s = make_sender(factory, transport)
    with caplog.at_level(logging.WARNING, logger="bot.delivery.sender"):
        await run_until(s, lambda: len(transport.sent) == 10)
    assert "4 outbox messages were in flight" in caplog.text
    assert s.stats.recovered_in_flight == 4
    settled = await rows(session)
    assert {r.status for r in settled} == {DeliveryStatus.SENT}
    assert sorted(r.id for r in settled if r.in_doubt) == sorted(claimed)
    assert max(transport.chats().values()) == 1


async def test_rows_of_a_sender_elsewhere_wait_for_its_lease(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession]
) -> None:
    made = await people(session, 3)
    await outbox.enqueue(session, kind="test.hello", person_ids=[m.person_id for m in made])  # type: ignore[misc]
    await session.commit()
    await _claim_as(factory, "other-host:12:cafe", 2)
    s = make_sender(factory, FakeTransport(), lease=60)
    assert await s.recover() == 0
    clock.shift(timedelta(seconds=121))
    assert await s.recover() == 2
    # A live sender in this very process is never taken for dead.
    own = make_sender(factory, FakeTransport())
    sender._LIVE.add(own.worker_id)
    try:
        async with factory() as fresh:
            await fresh.exec(update(Delivery).values(status=DeliveryStatus.PENDING))
            await fresh.commit()
        await _claim_as(factory, own.worker_id, 3)
        assert await s.recover() == 0
    finally:
        sender._LIVE.discard(own.worker_id)


async def test_a_late_settle_does_not_overwrite_a_row_taken_over(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession]
) -> None:
    (a,) = await people(session, 1)
    await outbox.enqueue(session, kind="test.hello", person_ids=[a.person_id])  # type: ignore[list-item]
    await session.commit()
    slow = make_sender(factory, FakeTransport())
    (claimed,) = await slow._claim(1)
    # Another worker took the row over (lease expired) and sent it.
    async with factory() as other:
        await other.exec(
            update(Delivery).values(status=DeliveryStatus.SENT, claimed_by=None, attempts=1)
        )
        await other.commit()
    outcome = slow._failure(claimed, "timeout")
    await slow._write_outcomes([outcome])
    (row,) = await rows(session)
    assert (row.status, row.error) == (DeliveryStatus.SENT, None)


@pytest.mark.parametrize("kind", ["test.hello"])
async def test_cancel_drops_only_what_is_still_queued(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession], kind: str
) -> None:
    made = await people(session, 3)
    await outbox.enqueue(
        session,
        kind=kind,
        person_ids=[m.person_id for m in made],  # type: ignore[misc]
        ref=("notice", 5),
    )
    await session.commit()
    await make_sender(factory, FakeTransport()).drain(max_rows=1)
    assert await outbox.cancel(session, ("notice", 5), "withdrawn") == 2
    statuses = Counter(r.status for r in await rows(session))
    assert statuses == {DeliveryStatus.SENT: 1, DeliveryStatus.DROPPED: 2}


async def test_parts_go_together_in_a_group_within_its_minute_but_apart_in_private(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession]
) -> None:
    (a,) = await people(session, 1)
    await outbox.enqueue(session, kind="test.parts", person_ids=[a.person_id])  # type: ignore[list-item]
    await outbox.enqueue_chat(
        session, kind="test.parts", chat=outbox.GroupChat("telegram", "-100777")
    )
    await session.commit()
    transport = FakeTransport(limit=5)
    s = make_sender(factory, transport, private_interval=1.0, group_per_minute=3)
    await s.drain(max_rows=2)
    group_row, private_row = sorted(await rows(session), key=lambda r: r.is_group, reverse=True)
    # The group got three parts at once, the fourth waits for the minute to pass.
    assert [c for c, _p, _t in transport.sent].count("-100777") == 3
    assert (group_row.status, group_row.parts_sent) == (DeliveryStatus.PENDING, 3)
    assert 55 < (group_row.next_attempt_at - clock.now()).total_seconds() <= 60  # type: ignore[operator]
    # The private chat got one part; the next is due a second later.
    assert (private_row.status, private_row.parts_sent) == (DeliveryStatus.PENDING, 1)
    assert 0 < (private_row.next_attempt_at - clock.now()).total_seconds() <= 1  # type: ignore[operator]
    assert s.pacer.try_book("telegram:-100777", True) > 55
