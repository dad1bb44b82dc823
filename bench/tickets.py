"""Ticket throughput: filing (alone and concurrent), officers' lists, the escalation scan
and a digest, on a fresh database. Prints a table.

    .venv/bin/python bench/tickets.py [--tickets 2000] [--database-url URL]

Without --database-url it uses a temporary SQLite file. With a PostgreSQL URL the
database must be empty (it is migrated first).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import select

from bot import clock
from bot.db import create_engine, migrate, session_factory
from bot.models import Person, Role, RoleGrant, Ticket, TicketCategory
from bot.services import registration, tickets
from bot.services.people import actor_for_person, ensure_person
from bot.services.wards import find_group, find_office, load_ward_file

ROOT = Path(__file__).resolve().parent.parent


async def main(count: int, url: str | None) -> None:
    tmp = tempfile.TemporaryDirectory()
    url = url or f"sqlite+aiosqlite:///{tmp.name}/bench.db"
    await migrate(url)
    engine = create_engine(url)
    factory = session_factory(engine)
    residents = 200
    async with factory() as session:
        ward = await load_ward_file(session, ROOT / "examples" / "ward.yaml")
        group = await find_group(session, "KP01")
        office = await find_office(session, "DCXD")
        actors = []
        for n in range(residents):
            actor = await ensure_person(
                session,
                channel="telegram",
                external_id=f"b{n}",
                chat_id=f"b{n}",
                username=None,
                language="vi",
            )
            await registration.submit(
                session,
                actor,
                group_id=group.id,  # type: ignore[arg-type]
                full_name="Nguyễn Văn An",
                phone=f"+849120{n:05d}",
                address=f"Số {n}, ngõ 1",
            )
            actors.append(actor.person.id)  # type: ignore[union-attr]
        officer = await ensure_person(
            session,
            channel="telegram",
            external_id="off",
            chat_id="off",
            username=None,
            language="vi",
        )
        session.add(
            RoleGrant(
                person_id=officer.person_id,
                role=Role.OFFICER,
                ward_id=office.ward_id,
                office_id=office.id,
            )
        )
        category = (
            await session.exec(select(TicketCategory).where(TicketCategory.code == "ha-tang"))
        ).one()
        await session.commit()
    del ward

    async def file_one(person_id: int) -> float:
        start = time.perf_counter()
        async with factory() as session:
            actor = await actor_for_person(session, await session.get(Person, person_id))
            await tickets.file_ticket(
                session,
                actor,
                ticket_type="phan_anh",
                category_id=category.id,  # type: ignore[arg-type]
                description="Đèn đường ngõ 5 bị hỏng ba hôm nay.",
            )
            await session.commit()
        return (time.perf_counter() - start) * 1000

    rows: list[tuple[str, str]] = []
    # The daily limit (5 per resident) is per ward day: move the clock a day per round.
    sequential = []
    done = 0
    while done < count // 2:
        for person_id in actors[: min(residents, count // 2 - done)]:
            sequential.append(await file_one(person_id))
            done += 1
        clock.shift(timedelta(days=1))
    rows.append(
        (
            f"file one ticket, sequential ({len(sequential)})",
            f"median {statistics.median(sequential):.1f} ms, p95 "
            f"{sorted(sequential)[int(len(sequential) * 0.95)]:.1f} ms",
        )
    )
    start = time.perf_counter()
    concurrent = 0
    while concurrent < count - count // 2:
        batch = actors[: min(residents, count - count // 2 - concurrent)]
        await asyncio.gather(*(file_one(p) for p in batch))
        concurrent += len(batch)
        clock.shift(timedelta(days=1))
    elapsed = time.perf_counter() - start
    rows.append(
        (
            f"file tickets, {residents} at once ({concurrent})",
            f"{concurrent / elapsed:.0f} tickets/s",
        )
    )
    async with factory() as session:
        codes = (await session.exec(select(Ticket.code))).all()
        rows.append(("codes issued / distinct", f"{len(codes)} / {len(set(codes))}"))
        actor = await actor_for_person(session, await session.get(Person, officer.person_id))
        start = time.perf_counter()
        listed = await tickets.office_tickets(session, actor, filter="overdue")
        rows.append(
            (
                f"/tickets overdue filter over {len(codes)} open",
                f"{(time.perf_counter() - start) * 1000:.0f} ms ({len(listed)} overdue)",
            )
        )
        late = clock.now() + timedelta(days=30)
        start = time.perf_counter()
        due = await tickets.due_escalations(session, late)
        rows.append(
            (
                "escalation scan (all late)",
                f"{(time.perf_counter() - start) * 1000:.0f} ms for {len(due)} tickets",
            )
        )
        start = time.perf_counter()
        sample = due[:200]
        for item in sample:
            await tickets.escalate(session, item)
        await session.commit()
        per = (time.perf_counter() - start) * 1000 / max(len(sample), 1)
        rows.append(("escalate one ticket (claim + notify)", f"{per:.1f} ms"))
        start = time.perf_counter()
        digest = await tickets.digest(session, office.id, late)  # type: ignore[arg-type]
        rows.append(
            (
                "office digest",
                f"{(time.perf_counter() - start) * 1000:.0f} ms ({len(digest.open)} open)",
            )
        )
    await engine.dispose()
    width = max(len(a) for a, _b in rows)
    print(f"database: {url.split('://')[0]}")
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    asyncio.run(main(args.tickets, args.database_url))
