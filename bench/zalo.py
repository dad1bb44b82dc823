"""Zalo channel benchmark: the real Zalo handlers (``ZaloChannel``, long polling, SQLite)
against the Zalo emulator, both in this process.

    .venv/bin/python bench/zalo.py [--users 100] [--messages 5] [--latency-samples 30]

Printed:
- answer latency for one text message ("0": the main menu, read from the database and
  rendered), from the user's send to the bot's answer arriving at the emulator,
  median and 95th percentile, one user at a time;
- throughput with ``--users`` Zalo users writing at once, each sending ``--messages``
  messages one after another (waiting for each answer), in messages a second;
- a notice broadcast to ``--recipients`` residents on Zalo by the real sender, with its
  Zalo limit (``ChannelLimits``) under, then over, the rate the emulator allows: the rate
  achieved, the 429s received, and duplicates or losses counted per user;
- one notice to as many residents on Telegram (a transport that accepts at once) as on
  Zalo (40 a second): how soon Telegram's rows are out while Zalo's wait for their limit.

Zalo's getUpdates returns one update per call (bot/zalo/api.py), so throughput includes
one long-poll round trip per message. Over the rate, Zalo answers 429 without saying
how long to wait: wardbot's waits grow (bot/zalo/quota.py), which the rate shows. Not a
test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import update  # noqa: E402

from bot.db import create_engine, migrate, session_factory  # noqa: E402
from bot.delivery.render import Outgoing  # noqa: E402
from bot.delivery.sender import ChannelLimits, Limits, Sender, SendResult  # noqa: E402
from bot.demo.bulk import verified_households  # noqa: E402
from bot.emulator import start_emulator  # noqa: E402
from bot.emulator.zalo import ZaloEmulator  # noqa: E402
from bot.i18n import get_i18n  # noqa: E402
from bot.models import ChannelAccount, Delivery, DeliveryStatus, Notice  # noqa: E402
from bot.services import notices  # noqa: E402
from bot.services.wards import load_ward_file  # noqa: E402
from bot.zalo.api import ZaloApi  # noqa: E402
from bot.zalo.bot import ZaloChannel  # noqa: E402
from bot.zalo.quota import QuotaWatch  # noqa: E402
from bot.zalo.transport import ZaloTransport  # noqa: E402

TOKEN = "5000000001:bench-zalo-token"
WARD_FILE = ROOT / "examples" / "ward.yaml"


async def _answer(zalo: ZaloEmulator, user_id: str, text: str) -> float:
    """Send ``text`` as the user; seconds until the bot's next message arrives."""
    user = zalo.users[user_id]
    seen = len(user.messages)
    start = time.perf_counter()
    await zalo.user_sends(user, "message.text.received", text=text)
    while not any(m["sender"] == "bot" for m in user.messages[seen:]):
        changed = user.changed
        await changed.wait()
    return time.perf_counter() - start


async def publish_to_ward(session: Any, ward_id: int, title: str, body: str) -> Notice:
    """A notice to every resident of the ward, as the ward office publishes it."""
    return await notices.publish(
        session,
        None,
        ward_id=ward_id,
        group_ids=None,
        category_code="khac",
        title=title,
        body=body,
        publisher_label="UBND phường",
    )


async def broadcast(
    factory: object,
    zalo: ZaloEmulator,
    api: ZaloApi,
    people: list[int],
    ward_id: int,
    *,
    ours: float,
    theirs: float,
    title: str,
) -> None:
    """Publish a notice to the whole ward and send it to Zalo at ``ours`` messages a
    second while the emulator allows ``theirs``."""
    async with factory() as session:  # type: ignore[operator]
        notice = await publish_to_ward(
            session, ward_id, title, "Lịch tiêm chủng mở rộng tháng này. " * 20
        )
        await session.commit()
    for bot in zalo.bots.values():
        bot.rate, bot.tokens = theirs, theirs
    before = zalo.counters["quota_exceeded"]
    quota = QuotaWatch()
    transport = ZaloTransport(
        api, ChannelLimits(per_second=ours, private_interval=1.0), quota=quota
    )
    sender = Sender(
        factory,  # type: ignore[arg-type]
        {"zalo": transport},
        Limits(per_second=1000, private_interval=0),
        poll_interval=0.05,
    )
    stop = asyncio.Event()
    start = time.perf_counter()
    task = asyncio.create_task(sender.run(stop))
    while True:
        async with factory() as session:  # type: ignore[operator]
            left = (
                await session.exec(
                    select(func.count())
                    .select_from(Delivery)
                    .where(
                        Delivery.ref_type == notices.KIND,
                        Delivery.ref_id == notice.id,
                        col(Delivery.status).in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
                    )
                )
            ).one()
        if not left:
            break
        await asyncio.sleep(0.1)
    elapsed = time.perf_counter() - start
    stop.set()
    await task
    got = [
        sum(1 for m in user.messages if title in (m.get("text") or ""))
        for user in zalo.users.values()
        if user.name.startswith("Cư dân")
    ]
    print(
        f"broadcast to {len(people)} Zalo residents, wardbot at {ours:g}/s, Zalo allows "
        f"{theirs:g}/s: {len(people) / elapsed:.1f} messages/s, "
        f"{zalo.counters['quota_exceeded'] - before} x 429 (longest wait "
        f"{quota.longest:.0f} s), "
        f"duplicates {sum(max(0, g - 1) for g in got)}, lost {sum(1 for g in got if g == 0)}"
    )


class InstantTelegram:
    """A Telegram that accepts everything at once and notes when: what is measured is
    whether Zalo's slower limit holds Telegram's rows back in the shared sender."""

    channel = "telegram"

    def __init__(self) -> None:
        self.limits = None
        self.sent_at: list[float] = []

    def split(self, message: Outgoing) -> list[str]:
        return [message.text]

    async def send(self, chat_id: str, part: str) -> SendResult:
        self.sent_at.append(time.perf_counter())
        return SendResult(ok=True, message_id=str(len(self.sent_at)))


async def mixed(
    factory: object, zalo: ZaloEmulator, api: ZaloApi, ward_id: int, recipients: int
) -> None:
    """One notice to residents on both channels: Telegram's rows go at Telegram's pace
    while Zalo's wait for Zalo's limit (the figure tests/test_zalo.py no longer times)."""
    async with factory() as session:  # type: ignore[operator]
        chats = list(range(2 * 10**12, 2 * 10**12 + recipients))
        await verified_households(session, "BADINH", chats)
        notice = await publish_to_ward(session, ward_id, "Thông báo C", "Lịch họp tổ dân phố.")
        await session.commit()
    for bot in zalo.bots.values():
        bot.rate = None
    telegram = InstantTelegram()
    zalo_rate = 40.0
    transport = ZaloTransport(api, ChannelLimits(per_second=zalo_rate, private_interval=0))
    sender = Sender(
        factory,  # type: ignore[arg-type]
        {"telegram": telegram, "zalo": transport},
        Limits(per_second=1000, private_interval=0),
        poll_interval=0.05,
    )
    before = zalo.counters["sendMessage"]
    stop = asyncio.Event()
    start = time.perf_counter()
    task = asyncio.create_task(sender.run(stop))
    while True:
        zalo_sent = zalo.counters["sendMessage"] - before
        if len(telegram.sent_at) >= recipients and zalo_sent >= recipients:
            break
        await asyncio.sleep(0.05)
    zalo_done = time.perf_counter() - start
    stop.set()
    await task
    print(
        f"one notice to {recipients} residents on Telegram and {recipients} on Zalo "
        f"(Zalo at {zalo_rate:g}/s): Telegram's rows sent in "
        f"{max(telegram.sent_at) - start:.2f} s, Zalo's in {zalo_done:.2f} s "
        f"(notice {notice.id})"
    )


async def main(users: int, messages: int, samples: int, recipients: int) -> None:
    get_i18n()
    workdir = Path(tempfile.mkdtemp(prefix="wardbot-bench-zalo-"))
    url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    emulator = await start_emulator()
    engine = create_engine(url)
    try:
        await migrate(url)
        factory = session_factory(engine)
        async with factory() as session:
            await load_ward_file(session, WARD_FILE, actor="bench")
            await session.commit()
        zalo: ZaloEmulator = emulator.emulator.zalo  # type: ignore[attr-defined]
        api = ZaloApi(TOKEN, f"{emulator.base_url}/zalo")
        channel = ZaloChannel(api, factory)
        stop = asyncio.Event()
        await api.get_me()  # registers the bot with the emulator
        poller = asyncio.create_task(channel.run_polling(stop))

        # Latency: one user, one message at a time (the first creates the person).
        one = zalo.create_user("Độ trễ")
        await _answer(zalo, one.id, "Xin chào")
        latencies = [await _answer(zalo, one.id, "0") for _ in range(samples)]
        latencies.sort()
        p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
        print(
            f"answer latency, one text message (n={samples}): "
            f"median {statistics.median(latencies) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"
        )

        # Throughput: many users at once, each waiting for each answer.
        crowd = [zalo.create_user(f"Người {n}") for n in range(users)]

        async def converse(user_id: str) -> None:
            for n in range(messages):
                await _answer(zalo, user_id, "Xin chào" if n == 0 else "0")

        start = time.perf_counter()
        await asyncio.gather(*(converse(u.id) for u in crowd))
        elapsed = time.perf_counter() - start
        total = users * messages
        print(
            f"throughput, {users} concurrent Zalo users x {messages} messages on SQLite: "
            f"{total} answers in {elapsed:.2f} s = {total / elapsed:.1f} messages/s "
            f"(handled {channel.handled})"
        )
        stop.set()
        zalo.only_bot().arrived.set()
        await asyncio.wait_for(poller, 60)

        # Broadcast: residents on Zalo only, verified in bulk.
        crowd = [zalo.create_user(f"Cư dân {n}") for n in range(recipients)]
        async with factory() as session:
            fake_chats = list(range(10**12, 10**12 + recipients))
            loaded = await verified_households(session, "BADINH", fake_chats)
            ward_id, people = loaded.ward_id, loaded.person_ids
            for person_id, user in zip(people, crowd, strict=True):
                await session.exec(
                    update(ChannelAccount)
                    .where(col(ChannelAccount.person_id) == person_id)
                    .values(channel="zalo", external_id=user.id, chat_id=user.id)
                )
            await session.commit()
        for ours, theirs, title in ((40, 50, "Thông báo A"), (80, 40, "Thông báo B")):
            await broadcast(
                factory, zalo, api, people, ward_id, ours=ours, theirs=theirs, title=title
            )
        await mixed(factory, zalo, api, ward_id, recipients)
        await api.close()
    finally:
        await engine.dispose()
        await emulator.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--latency-samples", type=int, default=30)
    parser.add_argument("--recipients", type=int, default=400)
    args = parser.parse_args()
    asyncio.run(main(args.users, args.messages, args.latency_samples, args.recipients))
