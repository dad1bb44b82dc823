"""Many verified residents at once, for benchmarks and load tests.

The registration journey takes a dozen messages per resident; a broadcast or a vote burst
needs thousands of them already verified, so they are inserted in bulk instead.
"""

from __future__ import annotations

from sqlalchemy import func, insert, text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.models import ChannelAccount, Household, Person, Resident, ResidentialGroup
from bot.services.wards import get_ward_by_code

CHUNK = 5000


async def verified_households(
    session: AsyncSession, ward_code: str, chat_ids: list[int]
) -> tuple[int, list[int]]:
    """One verified household per Telegram chat, each represented by that chat's person,
    spread over the ward's groups. Returns the ward's id and the new people's ids, in the
    order of ``chat_ids``. The ward must be loaded; the caller commits."""
    ward = await get_ward_by_code(session, ward_code)
    groups = list(
        (
            await session.exec(
                select(ResidentialGroup.id)
                .where(ResidentialGroup.ward_id == ward.id)
                .order_by(ResidentialGroup.id)
            )
        ).all()
    )
    now = clock.now()
    last_person = (await session.exec(select(func.coalesce(func.max(Person.id), 0)))).one()
    last_household = (await session.exec(select(func.coalesce(func.max(Household.id), 0)))).one()
    people: list[int] = []
    for start in range(0, len(chat_ids), CHUNK):
        chunk = chat_ids[start : start + CHUNK]
        rows = [
            (int(last_person) + start + n + 1, int(last_household) + start + n + 1, chat)
            for n, chat in enumerate(chunk)
        ]
        await session.exec(
            insert(Person),
            params=[
                {"id": p, "full_name": f"Dân {p}", "language": "vi", "created_at": now}
                for p, _, _ in rows
            ],
        )
        await session.exec(
            insert(ChannelAccount),
            params=[
                {"person_id": p, "channel": "telegram", "external_id": str(c),
                 "chat_id": str(c), "created_at": now}
                for p, _, c in rows
            ],
        )  # fmt: skip
        await session.exec(
            insert(Household),
            params=[
                {"id": h, "group_id": groups[h % len(groups)], "address": f"Số {h}",
                 "address_key": f"so {h}", "source": "roster", "verified": True,
                 "created_at": now}
                for _, h, _ in rows
            ],
        )  # fmt: skip
        await session.exec(
            insert(Resident),
            params=[
                {"person_id": p, "ward_id": ward.id, "group_id": groups[h % len(groups)],
                 "household_id": h, "is_representative": True, "status": "verified",
                 "requested_at": now}
                for p, h, _ in rows
            ],
        )  # fmt: skip
        people.extend(p for p, _, _ in rows)
    if session.get_bind().dialect.name == "postgresql":
        # Explicit ids leave the sequences behind; the next ordinary insert would collide.
        for table in ("person", "household"):
            await session.exec(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), MAX(id)) FROM {table}"
                )
            )
    return ward.id, people  # type: ignore[return-value]
