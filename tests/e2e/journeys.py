"""What people do, step by step, through the emulator: reused by every e2e test."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.emulator import EmulatorClient
from bot.models import Delivery, DeliveryStatus, Role
from bot.services import roles
from bot.services.wards import find_group, find_office, get_ward_by_code
from tests.e2e.harness import run_db

Json = dict[str, Any]
_numbers = itertools.count(1)
# A wait returns as soon as the bot answers; this long only for a busy machine.
WAIT = 30.0


def phone_for(user: Json) -> str:
    return f"+8491{user['id'] % 10_000_000:07d}"


def buttons(message: Json) -> list[Json]:
    markup = message.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def button(message: Json, text: str) -> str:
    """The callback data of the inline button whose label contains ``text``."""
    for candidate in buttons(message):
        if text in candidate["text"]:
            return str(candidate["callback_data"])
    labels = [b["text"] for b in buttons(message)]
    raise AssertionError(f"no button {text!r} on message {message['message_id']}: {labels}")


async def press(people: EmulatorClient, user: Json, message: Json, text: str, **kw: Any) -> str:
    chat_id = message["chat_id"]
    return await people.press(
        user["id"],
        message["message_id"],
        button(message, text),
        chat_id=None if chat_id == user["id"] else chat_id,
        **kw,
    )


async def new_person(
    people: EmulatorClient, first_name: str = "An", last_name: str = "Nguyễn Văn", **kw: Any
) -> Json:
    n = next(_numbers)
    return await people.create_user(
        first_name, last_name=last_name, username=f"p{n}_{first_name.lower()}", **kw
    )


async def register(
    people: EmulatorClient,
    user: Json,
    *,
    group: str = "Khu phố 1",
    name: str = "Nguyễn Văn An",
    address: str | None = None,
    language: str = "vi",
    phone: str | None = None,
) -> Json:
    """/start → language → group → name → own contact → address → send; returns the
    bot's final answer."""
    uid = user["id"]
    await people.send_command(uid, "start")
    choose = await people.wait_for_message(uid, "Choose your language", timeout=WAIT)
    await press(people, user, choose, "Tiếng Việt" if language == "vi" else "English")
    question = "tổ dân phố" if language == "vi" else "residential group"
    groups = await people.wait_for_message(uid, question, timeout=WAIT)
    while not any(group == b["text"] for b in buttons(groups)):
        await press(people, user, groups, "▶️")
        groups = await people.wait_for_message(
            uid, lambda m: any(group == b["text"] for b in buttons(m)) or False, timeout=WAIT
        )
    await people.press(
        uid,
        groups["message_id"],
        next(b["callback_data"] for b in buttons(groups) if b["text"] == group),
    )
    await people.wait_for_message(
        uid, "Nguyễn Văn An" if language == "vi" else "full name", timeout=WAIT
    )
    await people.send_text(uid, name)
    await people.wait_for_message(
        uid, lambda m: bool((m.get("reply_markup") or {}).get("keyboard")), timeout=WAIT
    )
    await people.share_contact(uid, phone_number=phone or phone_for(user))
    await people.wait_for_message(uid, "Số 12" if language == "vi" else "address", timeout=WAIT)
    await people.send_text(uid, address or f"Số {uid % 1000}, ngõ {next(_numbers)}, đường Lê Lợi")
    summary = await people.wait_for_message(uid, lambda m: bool(buttons(m)), timeout=WAIT)
    await press(people, user, summary, "✅")
    return await people.wait_for_message(
        uid, lambda m: not buttons(m) and not m.get("edited"), timeout=WAIT
    )


async def create_invite(
    database_url: str, role: Role, *, unit: str | None = None, office: str | None = None
) -> str:
    """What `wardbot invite` does, returning the /start payload."""

    async def work(session: AsyncSession) -> str:
        ward = await get_ward_by_code(session, "BADINH")
        created = await roles.create_invite(
            session,
            role=role,
            ward=ward,
            group=await find_group(session, unit) if unit else None,
            office=await find_office(session, office) if office else None,
        )
        return created.start_payload

    return await run_db(database_url, work)


async def become(
    people: EmulatorClient, user: Json, database_url: str, role: Role, **scope: str
) -> Json:
    payload = await create_invite(database_url, role, **scope)
    await people.send_command(user["id"], "start", payload=payload)
    return await people.wait_for_message(user["id"], "✅", timeout=WAIT)


async def wait_until(
    check: Callable[[], Any], within: float = 60, every: float = 0.2, what: str = ""
) -> Any:
    """Until ``await check()`` is truthy (returned): a positive sign to wait for."""
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(every)


async def settled_deliveries(
    database_url: str,
    *,
    ref: tuple[str, int] | None = None,
    kind: str | None = None,
    within: float = 120,
) -> list[Delivery]:
    """The outbox rows about ``ref`` (or of ``kind``) once there are some and none is
    waiting or being sent: from then on nothing more goes out for them, so what the chats
    hold is final and an absence can be asserted."""

    async def rows(session: AsyncSession) -> list[Delivery]:
        query = select(Delivery)
        if ref is not None:
            query = query.where(Delivery.ref_type == ref[0], Delivery.ref_id == ref[1])
        if kind is not None:
            query = query.where(Delivery.kind == kind)
        return list((await session.exec(query)).all())

    waiting = {DeliveryStatus.PENDING, DeliveryStatus.SENDING}

    async def settled() -> list[Delivery] | None:
        found = await run_db(database_url, rows)
        return found if found and not any(r.status in waiting for r in found) else None

    return await wait_until(settled, within=within, what=f"the outbox rows {ref or kind}")
