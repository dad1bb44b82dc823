"""The annual report of a large ward: a year of activity (50,000 households, 100,000
tickets, 200 notices with their deliveries and reads, 20 votes
when the vote tables exist) written with bulk inserts, then
the seconds to compute the report and to render its files, on SQLite and PostgreSQL.

    .venv/bin/python bench/report.py [--households 50000] [--tickets 100000]
        [--notices 200] [--registered 0.2] [--postgres URL | --no-postgres]

PostgreSQL: a throwaway database is created on the server of --postgres (the admin URL,
default postgresql://postgres@127.0.0.1:5432/postgres) and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func
from sqlmodel import SQLModel, select

from bench.report_data import generate
from bot.db import create_engine, migrate, session_factory
from bot.models import Delivery, NoticeRead
from bot.services import report_files, reports
from bot.services.wards import load_ward_file

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)


async def run(url: str, args: argparse.Namespace) -> dict[str, object]:
    await migrate(url)
    engine = create_engine(url)
    factory = session_factory(engine)
    period = reports.parse_period("2025")
    row: dict[str, object] = {}
    try:
        async with factory() as session:
            await load_ward_file(session, ROOT / "examples" / "ward.yaml")
            await session.commit()
            from bot.services.wards import get_ward_by_code

            ward = await get_ward_by_code(session, "BADINH")
            start, end = period.bounds(ward.timezone)
            t0 = time.perf_counter()
            await generate(
                session,
                ward,
                start=start,
                end=end,
                households=args.households,
                registered=args.registered,
                notices=args.notices,
                tickets=args.tickets,
                now=NOW,
                keep_rows=False,
                votes=args.votes,
                consultations=args.consultations,
            )
            await session.commit()
            row["generate_s"] = time.perf_counter() - t0
            row["deliveries"] = (
                await session.exec(select(func.count()).select_from(Delivery))
            ).one()
            row["reads"] = (await session.exec(select(func.count()).select_from(NoticeRead))).one()
            if session.get_bind().dialect.name == "postgresql":
                from sqlalchemy import text

                await session.exec(text("ANALYZE"))  # type: ignore[call-overload]
                await session.commit()
        async with factory() as session:
            t0 = time.perf_counter()
            report = await reports.build(session, ward, period, now=NOW)
            row["compute_s"] = time.perf_counter() - t0
        async with factory() as session:
            t0 = time.perf_counter()
            files = await report_files.produce(session, ward, period, now=NOW)
            row["compute_and_files_s"] = time.perf_counter() - t0
        row["tickets_in_report"] = report.tickets.total.received
        row["votes_in_report"] = len(report.votes.votes)
        row["notices_in_report"] = report.notices.total
        row["xlsx_kb"] = len(files.xlsx) // 1024
        row["pdf_kb"] = len(files.pdf) // 1024
    finally:
        await engine.dispose()
    return row


async def main(args: argparse.Namespace) -> None:
    from bot.i18n import get_i18n

    get_i18n()  # aiogram's import and the catalogs: once, before any timing
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        print(
            f"SQLite: generating {args.tickets} tickets, {args.households} households…", flush=True
        )
        results["SQLite"] = await run(f"sqlite+aiosqlite:///{tmp}/bench.db", args)
    if not args.no_postgres:
        import asyncpg

        name = f"wardbot_bench_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(args.postgres)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        try:
            print("PostgreSQL: generating…", flush=True)
            url = args.postgres.rsplit("/", 1)[0] + f"/{name}"
            results["PostgreSQL"] = await run(url, args)
        finally:
            admin = await asyncpg.connect(args.postgres)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    votes = "vote" in SQLModel.metadata.tables
    print()
    print(
        f"Annual report, {args.households} households ({args.registered:.0%} on the messenger), "
        f"{args.tickets} tickets, {args.notices} notices; "
        + (
            f"{args.votes} votes and {args.consultations} consultations."
            if votes
            else "no votes: the vote tables do not exist on this branch."
        )
    )
    keys = [
        "generate_s",
        "deliveries",
        "reads",
        "tickets_in_report",
        "notices_in_report",
        "votes_in_report",
        "compute_s",
        "compute_and_files_s",
        "xlsx_kb",
        "pdf_kb",
    ]
    names = list(results)
    print(f"{'':24}" + "".join(f"{n:>14}" for n in names))
    for key in keys:
        cells = []
        for n in names:
            value = results[n].get(key)
            cells.append(f"{value:>14.2f}" if isinstance(value, float) else f"{value!s:>14}")
        print(f"{key:24}" + "".join(cells))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=50_000)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--notices", type=int, default=200)
    parser.add_argument("--registered", type=float, default=0.2)
    parser.add_argument("--votes", type=int, default=20)
    parser.add_argument("--consultations", type=int, default=5)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-postgres", action="store_true")
    asyncio.run(main(parser.parse_args()))
