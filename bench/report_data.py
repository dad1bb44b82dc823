"""Synthetic activity of a ward over a period, written with bulk inserts: households and
residents, notices with their deliveries and reads, tickets in every state.

Used by bench/report.py (a large ward's year) and tests/test_reports.py (a half-year
whose totals the test recomputes from the rows returned here). Deterministic for a seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import (
    Delivery,
    Household,
    Notice,
    NoticeCategory,
    NoticeGroup,
    NoticeRead,
    Person,
    Resident,
    ResidentialGroup,
    Ticket,
    TicketCategory,
    TicketType,
    Ward,
)

PREFIX = {"phan_anh": "PA", "kien_nghi": "KNG", "gop_y": "GY", "khieu_nai": "KN", "to_cao": "TC"}
TYPES = [t.value for t in TicketType]
TYPE_WEIGHTS = [50, 20, 15, 10, 5]
OPEN = ("new", "in_progress", "info_requested")
CHUNK = 2000


@dataclass
class Generated:
    households: int = 0
    persons: list[int] = field(default_factory=list)
    notices: list[dict[str, Any]] = field(default_factory=list)
    notice_groups: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[tuple[int, str]] = field(default_factory=list)  # (notice_id, status)
    reads: list[int] = field(default_factory=list)  # notice ids
    tickets: list[dict[str, Any]] = field(default_factory=list)
    # What each vote and consultation should show: kind, closed, eligible, ballots...
    votes: list[dict[str, Any]] = field(default_factory=list)


async def _bulk(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        await session.exec(insert(model), params=rows[start : start + CHUNK])  # type: ignore[call-overload]


async def _next_id(session: AsyncSession, model: Any) -> int:
    from sqlalchemy import func

    last = (await session.exec(select(func.max(model.id)))).one()
    return int(last or 0) + 1


def _moment(rng: random.Random, start: datetime, end: datetime) -> datetime:
    span = (end - start).total_seconds()
    return (start + timedelta(seconds=rng.uniform(0, span))).replace(microsecond=0)


async def generate(
    session: AsyncSession,
    ward: Ward,
    *,
    start: datetime,
    end: datetime,
    households: int,
    registered: float,
    notices: int,
    tickets: int,
    now: datetime,
    seed: int = 8,
    keep_rows: bool = True,
    votes: int = 0,
    consultations: int = 0,
) -> Generated:
    """Write the activity; ``registered`` is the share of households on the messenger."""
    rng = random.Random(seed)
    out = Generated()
    groups = list(
        (
            await session.exec(
                select(ResidentialGroup.id).where(ResidentialGroup.ward_id == ward.id)
            )
        ).all()
    )
    categories = list(
        (
            await session.exec(
                select(TicketCategory.id, TicketCategory.office_id).where(
                    TicketCategory.ward_id == ward.id
                )
            )
        ).all()
    )
    notice_categories = list(
        (
            await session.exec(select(NoticeCategory.id).where(NoticeCategory.ward_id == ward.id))
        ).all()
    )

    # Households, and a representative on the messenger for a share of them.
    hh_first = await _next_id(session, Household)
    hh_rows = []
    for n in range(households):
        address = f"Số {n + 1}, ngõ {n % 97 + 1}"
        hh_rows.append(
            {
                "id": hh_first + n,
                "group_id": groups[n % len(groups)],
                "address": address,
                "address_key": f"so {n + 1} ngo {n % 97 + 1}",
                "source": "roster",
                "verified": True,
                "created_at": start,
            }
        )
    await _bulk(session, Household, hh_rows)
    out.households = households
    person_first = await _next_id(session, Person)
    person_rows, resident_rows = [], []
    members: dict[int, list[int]] = {g: [] for g in groups}
    for n, hh in enumerate(hh_rows):
        if rng.random() >= registered:
            continue
        pid = person_first + len(person_rows)
        person_rows.append(
            {
                "id": pid,
                "full_name": f"Cư dân {n}",
                "phone": f"+8490{n:07d}",
                "language": "vi",
                "created_at": start,
            }
        )
        resident_rows.append(
            {
                "person_id": pid,
                "ward_id": ward.id,
                "group_id": hh["group_id"],
                "household_id": hh["id"],
                "is_representative": True,
                "status": "verified",
                "requested_at": start,
            }
        )
        members[hh["group_id"]].append(pid)
    await _bulk(session, Person, person_rows)
    await _bulk(session, Resident, resident_rows)
    out.persons = [p["id"] for p in person_rows]

    # Notices: a third for the whole ward, the rest for one or two groups.
    notice_first = await _next_id(session, Notice)
    notice_rows, group_rows, scopes = [], [], []
    for n in range(notices):
        nid = notice_first + n
        published = _moment(rng, start, end)
        whole = n % 3 == 0
        scope = groups if whole else rng.sample(groups, rng.choice([1, 2]))
        scopes.append(scope)
        notice_rows.append(
            {
                "id": nid,
                "ward_id": ward.id,
                "category_id": rng.choice(notice_categories),
                "title": f"Thông báo số {n + 1}",
                "body": "Nội dung công khai.",
                "search_text": f"thong bao so {n + 1}",
                "whole_ward": whole,
                "urgent": False,
                "source": "manual",
                "publisher_role": "admin",
                "posting_days": 30,
                "published_at": published,
                "expires_at": published + timedelta(days=30),
            }
        )
        if not whole:
            group_rows += [{"notice_id": nid, "group_id": g} for g in scope]
    await _bulk(session, Notice, notice_rows)
    await _bulk(session, NoticeGroup, group_rows)
    out.notices = notice_rows
    out.notice_groups = group_rows
    delivery_rows: list[dict[str, Any]] = []
    read_rows: list[dict[str, Any]] = []
    for notice, scope in zip(notice_rows, scopes, strict=True):
        nid, published = notice["id"], notice["published_at"]
        for g in scope:
            for pid in members[g]:
                status = rng.choices(["sent", "failed", "blocked", "pending"], [90, 4, 3, 3])[0]
                delivery_rows.append(
                    {
                        "created_at": published,
                        "kind": "notice",
                        "params": {"notice_id": nid},
                        "priority": 0,
                        "person_id": pid,
                        "channel": "telegram",
                        "chat_id": str(pid),
                        "is_group": False,
                        "language": "vi",
                        "ref_type": "notice",
                        "ref_id": nid,
                        "segment": g,
                        "status": status,
                        "sent_at": published if status == "sent" else None,
                    }
                )
                if keep_rows:
                    out.deliveries.append((nid, status))
                if status == "sent" and rng.random() < 0.45:
                    read_rows.append(
                        {"notice_id": nid, "person_id": pid, "group_id": g, "read_at": published}
                    )
                    if keep_rows:
                        out.reads.append(nid)
        # The group's chat gets a copy too: it must not count as a resident reached.
        delivery_rows.append(
            {
                "created_at": published,
                "kind": "notice",
                "params": {"notice_id": nid},
                "priority": 0,
                "chat_id": "-100",
                "is_group": True,
                "ref_type": "notice",
                "ref_id": nid,
                "segment": scope[0],
                "status": "sent",
            }
        )
        # Written as they come: a large ward's deliveries do not all fit in memory.
        if len(delivery_rows) >= 20 * CHUNK:
            await _bulk(session, Delivery, delivery_rows)
            await _bulk(session, NoticeRead, read_rows)
            delivery_rows, read_rows = [], []
    await _bulk(session, Delivery, delivery_rows)
    await _bulk(session, NoticeRead, read_rows)

    if votes or consultations:
        out.votes = await _votes(
            session, ward, rng, start, end, now, hh_rows, resident_rows, votes, consultations
        )

    # Tickets.
    ticket_rows = []
    seqs: dict[int, int] = {}
    for _n in range(tickets):
        created = _moment(rng, start, end)
        kind = rng.choices(TYPES, TYPE_WEIGHTS)[0]
        category, office = rng.choice(categories)
        group = rng.choice([*groups, None])
        year = created.year
        seqs[year] = seqs.get(year, 0) + 1
        due = created.date() + timedelta(days=rng.choice([14, 30, 45]))
        accept_due = (
            created.date() + timedelta(days=10) if kind in ("khieu_nai", "to_cao") else None
        )
        roll = rng.random()
        answered_at = None
        accepted_at = None
        rating = None
        reopen_count = 0
        if roll < 0.70:
            status = "answered"
            answered_at = min(created + timedelta(hours=rng.uniform(2, 24 * 40)), now)
            accepted_at = created + timedelta(days=2) if accept_due else None
            if rng.random() < 0.6:
                rating = rng.choices([1, 2, 3, 4, 5], [5, 8, 17, 35, 35])[0]
            if rng.random() < 0.05:
                reopen_count = rng.choice([1, 2])
        elif roll < 0.75 and accept_due:
            status = "declined"
        else:
            status = rng.choice(OPEN)
            if accept_due and rng.random() < 0.5:
                accepted_at = created + timedelta(days=3)
        ticket_rows.append(
            {
                "ward_id": ward.id,
                "code": f"{PREFIX[kind]}-{year}-{seqs[year]:06d}",
                "year": year,
                "seq": seqs[year],
                "type": kind,
                "category_id": category,
                "office_id": office,
                "group_id": group,
                "person_id": rng.choice(out.persons) if out.persons else None,
                "anonymous": False,
                "description": "Đường ngõ 5 bị ngập khi mưa.",
                "status": status,
                "created_at": created,
                "accept_due_on": accept_due,
                "accepted_at": accepted_at,
                "due_on": due,
                "answered_at": answered_at,
                "answer_text": "Đã xử lý." if answered_at else None,
                "rating": rating,
                "rated_at": answered_at if rating else None,
                "reopen_count": reopen_count,
                "answer_file_ids": [],
            }
        )
    await _bulk(session, Ticket, ticket_rows)
    if keep_rows:
        out.tickets = ticket_rows
    if session.get_bind().dialect.name == "postgresql":
        # Ids were given explicitly: move the sequences past them for later inserts.
        for table in ("household", "person", "notice"):
            await session.exec(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                )
            )
    await session.flush()
    return out


def utc(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


async def ticket_count(session: AsyncSession, ward_id: int) -> int:
    from sqlalchemy import func

    return int(
        (await session.exec(select(func.count()).where(col(Ticket.ward_id) == ward_id))).one()
    )


async def _votes(
    session: AsyncSession,
    ward: Ward,
    rng: random.Random,
    start: datetime,
    end: datetime,
    now: datetime,
    households: list[dict[str, Any]],
    residents: list[dict[str, Any]],
    votes: int,
    consultations: int,
) -> list[dict[str, Any]]:
    """Votes (the last one still open) and consultations, through the vote tables: the
    votes feature's models are not imported, so this runs with or without it."""
    tables = SQLModel.metadata.tables
    if "vote" not in tables:
        return []
    vote, vote_group, ballot, opinion = (
        tables["vote"],
        tables["vote_group"],
        tables["ballot"],
        tables["opinion"],
    )
    groups = sorted({h["group_id"] for h in households})
    voters = {r["household_id"]: r for r in residents}
    expected = []
    for n in range(votes + consultations):
        kind = "vote" if n < votes else "consultation"
        opens = _moment(rng, start, end - (end - start) / 10)
        closes = opens + timedelta(days=7)
        closed = closes <= now and n != votes - 1
        whole = n % 2 == 0
        scope = groups if whole else rng.sample(groups, 2)
        vote_id = (
            await session.exec(
                insert(vote)
                .values(
                    ward_id=ward.id,
                    kind=kind,
                    matter=6 if kind == "vote" else None,
                    question=f"Biểu quyết số {n + 1}" if kind == "vote" else f"Lấy ý kiến {n}",
                    explanation="",
                    options=["Đồng ý", "Không đồng ý"],
                    whole_ward=whole,
                    creator_role="admin",
                    opens_at=opens,
                    closes_at=closes,
                    created_at=opens,
                    announced_at=opens,
                    closed_at=closes if closed else None,
                    result={},
                )
                .returning(vote.c.id)
            )
        ).one()[0]
        if not whole:
            await _bulk_table(
                session, vote_group, [{"vote_id": vote_id, "group_id": g} for g in scope]
            )
        in_scope = [h for h in households if h["group_id"] in scope]
        item: dict[str, Any] = {"id": vote_id, "kind": kind, "closed": closed}
        if kind == "vote":
            rows = []
            for h in in_scope:
                voter = voters.get(h["id"])
                if voter is None or rng.random() > 0.8:
                    continue
                rows.append(
                    {
                        "vote_id": vote_id,
                        "household_id": h["id"],
                        "group_id": h["group_id"],
                        "option": 0 if rng.random() < 0.7 else 1,
                        "cast_by_id": voter["person_id"],
                        "cast_at": opens,
                        "changes": 0,
                    }
                )
            await _bulk_table(session, ballot, rows)
            agree = sum(r["option"] == 0 for r in rows)
            counts = [agree, len(rows) - agree]
            eligible = len(in_scope)
            item.update(eligible=eligible, ballots=len(rows), agree=agree)
            item["adopted"] = agree * 2 > eligible
            if closed:
                result = {
                    "eligible": eligible,
                    "ballots": len(rows),
                    "counts": counts,
                    "majority": 0 if item["adopted"] else None,
                    "adopted": item["adopted"],
                    "not_counted": 0,
                }
                await session.exec(vote.update().where(vote.c.id == vote_id).values(result=result))
        else:
            people = [r for r in residents if r["group_id"] in scope]
            rows = []
            for r in people:
                if rng.random() > 0.5:
                    continue
                rows.append(
                    {
                        "vote_id": vote_id,
                        "person_id": r["person_id"],
                        "group_id": r["group_id"],
                        "option": rng.choice([0, 1, None]),
                        "comment": "Nên làm sớm." if rng.random() < 0.3 else None,
                        "given_at": opens,
                    }
                )
            await _bulk_table(session, opinion, rows)
            comments = sum(r["comment"] is not None for r in rows)
            item.update(opinions=len(rows), comments=comments, residents=len(people))
            if closed:
                result = {
                    "residents": len(people),
                    "opinions": len(rows),
                    "counts": [0, 0],
                    "comments": comments,
                }
                await session.exec(vote.update().where(vote.c.id == vote_id).values(result=result))
        expected.append(item)
    return expected


async def _bulk_table(session: AsyncSession, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        await session.exec(table.insert(), params=rows[start : start + CHUNK])  # type: ignore[call-overload]
