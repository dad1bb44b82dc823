"""Half-year and annual reports (sơ kết 6 tháng, tổng kết năm): what the ward sends upward.

Every figure is aggregated inside the database (GROUP BY, conditional sums), so a year of
a large ward (100,000 tickets) never moves its rows through Python. Dates are the ward's
local calendar days; a period ``2025-H1`` runs from 1 January 00:00 to 1 July 00:00 in the
ward's time zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, Float, and_, case, cast, func, literal, or_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.delivery.outbox import enqueue
from bot.i18n import N_, __
from bot.models import (
    OPEN_STATUSES,
    Delivery,
    Notice,
    NoticeCategory,
    NoticeGroup,
    NoticeRead,
    Office,
    ReportReminder,
    ResidentialGroup,
    Role,
    RoleGrant,
    Ticket,
    TicketCategory,
    TicketStatus,
    TicketType,
    Ward,
)
from bot.models.delivery import DeliveryStatus
from bot.services import audit, workdays
from bot.services.errors import InvalidInput, NotAllowed
from bot.services.people import Actor
from bot.services.wards import ward_settings

TYPE_NAMES = {
    TicketType.PHAN_ANH: N_("Report (phản ánh)"),
    TicketType.KIEN_NGHI: N_("Petition (kiến nghị)"),
    TicketType.GOP_Y: N_("Comment (góp ý)"),
    TicketType.KHIEU_NAI: N_("Complaint (khiếu nại)"),
    TicketType.TO_CAO: N_("Denunciation (tố cáo)"),
}
WHOLE_WARD = N_("Whole ward")
NO_GROUP = N_("No group")

# --- periods ---------------------------------------------------------------------------

_YEAR = re.compile(r"^(\d{4})$")
_HALF = re.compile(r"^(\d{4})-H([12])$", re.IGNORECASE)
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
MAX_DAYS = 366 * 5


@dataclass(frozen=True)
class Period:
    """Calendar days ``start`` to ``end``, both included."""

    start: date
    end: date
    label: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self, timezone: str) -> tuple[datetime, datetime]:
        """The period as UTC instants: [first midnight, the midnight after the last day)."""
        zone = ZoneInfo(timezone)
        first = datetime.combine(self.start, time(), zone).astimezone(UTC)
        after = datetime.combine(self.end + timedelta(days=1), time(), zone).astimezone(UTC)
        return first, after


def parse_period(text: str | None) -> Period:
    """``2025``, ``2025-H1``, ``2025-Q3``, ``2025-07`` or ``2025-01-01..2025-03-31``."""
    raw = (text or "").strip()
    try:
        if m := _YEAR.match(raw):
            year = int(m[1])
            return Period(date(year, 1, 1), date(year, 12, 31), raw)
        if m := _HALF.match(raw):
            year, half = int(m[1]), int(m[2])
            if half == 1:
                return Period(date(year, 1, 1), date(year, 6, 30), f"{year}-H1")
            return Period(date(year, 7, 1), date(year, 12, 31), f"{year}-H2")
        if m := _QUARTER.match(raw):
            year, quarter = int(m[1]), int(m[2])
            start = date(year, 3 * quarter - 2, 1)
            return Period(start, _month_end(year, 3 * quarter), f"{year}-Q{quarter}")
        if m := _MONTH.match(raw):
            year, month = int(m[1]), int(m[2])
            return Period(date(year, month, 1), _month_end(year, month), raw)
        if m := _RANGE.match(raw):
            start, end = date.fromisoformat(m[1]), date.fromisoformat(m[2])
            if end < start:
                raise InvalidInput(__("The period ends before it starts."))
            if (end - start).days + 1 > MAX_DAYS:
                raise InvalidInput(__("A report covers at most five years."))
            return Period(start, end, raw)
    except ValueError:
        raise InvalidInput(
            __("“{text}” is not a real date. Check the month and the day."), text=raw[:40]
        ) from None
    raise InvalidInput(
        __(
            "“{text}” is not a period. Write 2025-H1 (first half-year), 2025-H2, 2025 "
            "(the year), 2025-Q1, 2025-07 (a month) or 2025-01-01..2025-03-31."
        ),
        text=raw[:40],
    )


def _month_end(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)


def month_period(today: date) -> Period:
    return Period(
        today.replace(day=1), _month_end(today.year, today.month), today.strftime("%Y-%m")
    )


# --- the report ------------------------------------------------------------------------


@dataclass
class Breakdown:
    """Tickets of one type, category, office or group."""

    name: str
    received: int = 0
    answered: int = 0
    declined: int = 0
    on_time: int = 0
    overdue_now: int = 0
    rated: int = 0
    rating_sum: int = 0

    @property
    def on_time_pct(self) -> float | None:
        return self.on_time / self.answered if self.answered else None

    @property
    def mean_rating(self) -> float | None:
        return self.rating_sum / self.rated if self.rated else None


@dataclass
class NoticeLine:
    notice_id: int
    title: str
    category: str
    published_at: datetime
    whole_ward: bool
    recipients: int = 0
    delivered: int = 0
    read: int = 0


@dataclass
class NoticeSection:
    total: int = 0
    by_category: list[tuple[str, int]] = field(default_factory=list)
    by_group: list[tuple[str, int]] = field(default_factory=list)
    recipients: int = 0
    delivered: int = 0
    read: int = 0
    lines: list[NoticeLine] = field(default_factory=list)

    @property
    def delivered_pct(self) -> float | None:
        return self.delivered / self.recipients if self.recipients else None

    @property
    def read_pct(self) -> float | None:
        return self.read / self.delivered if self.delivered else None


@dataclass
class TicketSection:
    total: Breakdown
    by_type: list[Breakdown]
    by_category: list[Breakdown]
    by_office: list[Breakdown]
    by_group: list[Breakdown]
    still_open: int
    mean_hours: float | None
    median_hours: float | None
    ratings: dict[int, int]
    reopened_tickets: int
    reopen_count: int


@dataclass
class VoteLine:
    vote_id: int
    title: str
    scope: str
    # Law 10/2022 Art. 15 clause (1–6).
    matter: int | None
    closes_at: datetime
    closed: bool
    # Households in scope at closing (the tally's); None while the vote is open.
    eligible: int | None
    ballots: int
    agree: int
    adopted: bool | None
    # The result notice carrying the vote-count record (biên bản kiểm phiếu).
    record_notice_id: int | None = None

    @property
    def turnout(self) -> float | None:
        return self.ballots / self.eligible if self.eligible else None


@dataclass
class ConsultationLine:
    vote_id: int
    title: str
    scope: str
    closed: bool
    opinions: int
    comments: int
    # Residents in scope at closing; None while it is open.
    residents: int | None
    responded: bool


@dataclass
class VoteSection:
    # False while the ward's deployment has no vote tables (the votes feature is absent).
    available: bool
    votes: list[VoteLine] = field(default_factory=list)
    consultations: list[ConsultationLine] = field(default_factory=list)


@dataclass
class Report:
    ward_id: int
    ward_name: str
    ward_code: str
    period: Period
    generated_at: datetime
    today: date
    notices: NoticeSection
    tickets: TicketSection
    votes: VoteSection


def may_report(actor: Actor, ward_id: int) -> bool:
    return actor.is_admin_of(ward_id) or ward_id in actor.inspected_ward_ids()


def report_wards(actor: Actor) -> list[int]:
    return sorted(set(actor.admin_ward_ids()) | set(actor.inspected_ward_ids()))


async def build(
    session: AsyncSession,
    ward: Ward,
    period: Period,
    *,
    actor: Actor | None = None,
    now: datetime | None = None,
) -> Report:
    """The report of ``ward`` over ``period``; ``actor`` None means the operator (CLI)."""
    if actor is not None and not may_report(actor, ward.id):  # type: ignore[arg-type]
        raise NotAllowed()
    now = now or clock.now()
    today = workdays.local_date(now, ward.timezone)
    start, end = period.bounds(ward.timezone)
    names = await _names(session, ward.id)  # type: ignore[arg-type]
    return Report(
        ward_id=ward.id,  # type: ignore[arg-type]
        ward_name=ward.name,
        ward_code=ward.code,
        period=period,
        generated_at=now,
        today=today,
        notices=await _notices(session, ward, start, end, names),
        tickets=await _tickets(session, ward, start, end, today, names),
        votes=await _votes(session, ward, start, end),
    )


@dataclass
class _Names:
    groups: dict[int, str]
    offices: dict[int, str]
    ticket_categories: dict[int, str]
    notice_categories: dict[int, str]


async def _names(session: AsyncSession, ward_id: int) -> _Names:
    async def of(model: Any) -> dict[int, str]:
        rows = await session.exec(
            select(model.id, model.name).where(model.ward_id == ward_id).order_by(model.position)
        )
        return dict(rows.all())

    return _Names(
        groups=await of(ResidentialGroup),
        offices=await of(Office),
        ticket_categories=await of(TicketCategory),
        notice_categories=await of(NoticeCategory),
    )


# --- notices ---------------------------------------------------------------------------


async def _notices(
    session: AsyncSession, ward: Ward, start: datetime, end: datetime, names: _Names
) -> NoticeSection:
    where = (
        col(Notice.ward_id) == ward.id,
        col(Notice.published_at) >= start,
        col(Notice.published_at) < end,
    )
    section = NoticeSection()
    ids = select(Notice.id).where(*where)
    rows = (
        await session.exec(
            select(Notice.id, Notice.title, Notice.category_id, Notice.published_at)
            .add_columns(Notice.whole_ward)
            .where(*where)
            .order_by(col(Notice.published_at))
        )
    ).all()
    lines = {
        nid: NoticeLine(nid, title, names.notice_categories.get(cat, "?"), published, bool(whole))
        for nid, title, cat, published, whole in rows
    }
    section.total = len(lines)
    by_category = (
        await session.exec(
            select(Notice.category_id, func.count()).where(*where).group_by(Notice.category_id)
        )
    ).all()
    order = list(names.notice_categories)
    section.by_category = [
        (names.notice_categories.get(cat, "?"), int(n))
        for cat, n in sorted(by_category, key=lambda r: _pos(order, r[0]))
    ]
    whole = (await session.exec(select(func.count()).where(*where, col(Notice.whole_ward)))).one()
    by_group = (
        await session.exec(
            select(NoticeGroup.group_id, func.count())
            .where(col(NoticeGroup.notice_id).in_(ids))
            .group_by(NoticeGroup.group_id)
        )
    ).all()
    groups = dict(by_group)
    section.by_group = [(str(__(WHOLE_WARD)), int(whole))] + [
        (name, int(groups[gid])) for gid, name in names.groups.items() if gid in groups
    ]
    reach = (
        await session.exec(
            select(Delivery.ref_id, Delivery.status, func.count())
            .where(
                Delivery.ref_type == "notice",
                col(Delivery.ref_id).in_(ids),
                col(Delivery.is_group).is_(False),
            )
            .group_by(Delivery.ref_id, Delivery.status)
        )
    ).all()
    for nid, status, n in reach:
        line = lines.get(nid)
        if line is None:
            continue
        line.recipients += int(n)
        if status == DeliveryStatus.SENT:
            line.delivered += int(n)
    reads = (
        await session.exec(
            select(NoticeRead.notice_id, func.count())
            .where(col(NoticeRead.notice_id).in_(ids))
            .group_by(NoticeRead.notice_id)
        )
    ).all()
    for nid, n in reads:
        if nid in lines:
            lines[nid].read = int(n)
    section.lines = list(lines.values())
    section.recipients = sum(line.recipients for line in section.lines)
    section.delivered = sum(line.delivered for line in section.lines)
    section.read = sum(line.read for line in section.lines)
    return section


def _pos(order: list[int], key: Any) -> int:
    return order.index(key) if key in order else len(order)


# --- tickets ---------------------------------------------------------------------------


def _epoch(dialect: str, value: Any) -> Any:
    """Seconds since 1970 of a naive-UTC timestamp or a date, in either database."""
    if dialect == "postgresql":
        return func.extract("epoch", cast(value, DateTime))
    return (func.julianday(value) - 2440587.5) * 86400.0


def _ticket_measures(dialect: str, today: date, offset_seconds: float) -> list[Any]:
    answered = col(Ticket.status) == TicketStatus.ANSWERED
    due = case(
        (
            and_(col(Ticket.accept_due_on).is_not(None), col(Ticket.accepted_at).is_(None)),
            col(Ticket.accept_due_on),
        ),
        else_=col(Ticket.due_on),
    )
    # Answered on or before the deadline's day, counted in the ward's time zone.
    in_time = or_(
        col(Ticket.due_on).is_(None),
        _epoch(dialect, col(Ticket.answered_at)) + offset_seconds
        < _epoch(dialect, col(Ticket.due_on)) + 86400,
    )
    overdue = and_(col(Ticket.status).in_(OPEN_STATUSES), due < today)
    one = literal(1)
    return [
        func.count(),
        func.coalesce(func.sum(case((answered, one), else_=0)), 0),
        func.coalesce(
            func.sum(case((col(Ticket.status) == TicketStatus.DECLINED, one), else_=0)), 0
        ),
        func.coalesce(func.sum(case((and_(answered, in_time), one), else_=0)), 0),
        func.coalesce(func.sum(case((overdue, one), else_=0)), 0),
        func.count(col(Ticket.rating)),
        func.coalesce(func.sum(col(Ticket.rating)), 0),
    ]


def _breakdown(name: str, values: Any) -> Breakdown:
    received, answered, declined, on_time, overdue, rated, rating_sum = (int(v) for v in values)
    return Breakdown(name, received, answered, declined, on_time, overdue, rated, rating_sum)


async def _tickets(
    session: AsyncSession,
    ward: Ward,
    start: datetime,
    end: datetime,
    today: date,
    names: _Names,
) -> TicketSection:
    dialect = session.get_bind().dialect.name
    offset = ZoneInfo(ward.timezone).utcoffset(datetime.combine(today, time()))
    offset_seconds = offset.total_seconds() if offset else 0.0
    where = (
        col(Ticket.ward_id) == ward.id,
        col(Ticket.created_at) >= start,
        col(Ticket.created_at) < end,
    )
    measures = _ticket_measures(dialect, today, offset_seconds)
    total_row = (await session.exec(select(*measures).where(*where))).one()
    total = _breakdown("", total_row)

    async def by(column: Any, label: dict[Any, str], order: list[Any]) -> list[Breakdown]:
        rows = (await session.exec(select(column, *measures).where(*where).group_by(column))).all()
        found = {row[0]: row[1:] for row in rows}
        keys = [k for k in order if k in found] + [k for k in found if k not in order]
        return [_breakdown(label.get(k, str(__(NO_GROUP))), found[k]) for k in keys]

    types = list(TicketType)
    type_names = {t.value: str(__(TYPE_NAMES[t])) for t in types}
    by_type = await by(col(Ticket.type), type_names, [t.value for t in types])
    by_category = await by(
        col(Ticket.category_id), names.ticket_categories, list(names.ticket_categories)
    )
    by_office = await by(col(Ticket.office_id), names.offices, list(names.offices))
    by_group = await by(col(Ticket.group_id), names.groups, [*names.groups, None])

    still_open = (
        await session.exec(
            select(func.count()).where(*where, col(Ticket.status).in_(OPEN_STATUSES))
        )
    ).one()
    seconds = (
        _epoch(dialect, col(Ticket.answered_at)) - _epoch(dialect, col(Ticket.created_at))
    ).label("seconds")
    answered = (*where, col(Ticket.status) == TicketStatus.ANSWERED)
    mean = (await session.exec(select(func.avg(cast(seconds, Float))).where(*answered))).one()
    median = await _median(session, seconds, answered, total.answered)
    ratings = dict(
        (
            await session.exec(
                select(Ticket.rating, func.count())
                .where(*where, col(Ticket.rating).is_not(None))
                .group_by(Ticket.rating)
            )
        ).all()
    )
    reopened, reopen_count = (
        await session.exec(
            select(func.count(), func.coalesce(func.sum(Ticket.reopen_count), 0)).where(
                *where, col(Ticket.reopen_count) > 0
            )
        )
    ).one()
    return TicketSection(
        total=total,
        by_type=by_type,
        by_category=by_category,
        by_office=by_office,
        by_group=by_group,
        still_open=int(still_open),
        mean_hours=float(mean) / 3600 if mean is not None else None,
        median_hours=median / 3600 if median is not None else None,
        ratings={stars: int(ratings.get(stars, 0)) for stars in range(1, 6)},
        reopened_tickets=int(reopened),
        reopen_count=int(reopen_count),
    )


async def _median(
    session: AsyncSession, seconds: Any, where: tuple[Any, ...], count: int
) -> float | None:
    """The middle value(s) by ORDER BY … OFFSET: SQLite has no percentile function."""
    if count == 0:
        return None
    middle = (count - 1) // 2
    take = 1 if count % 2 else 2
    values = (
        await session.exec(
            select(seconds).where(*where).order_by(seconds).offset(middle).limit(take)
        )
    ).all()
    return sum(float(v) for v in values) / len(values)


# --- votes -----------------------------------------------------------------------------


async def _votes(session: AsyncSession, ward: Ward, start: datetime, end: datetime) -> VoteSection:
    """Votes and consultations opened in the period: closed ones with their tally, open
    ones with the ballots so far. Read through the tables, so this module works with or
    without the votes feature installed."""
    tables = SQLModel.metadata.tables
    vote = tables.get("vote")
    if vote is None:
        return VoteSection(available=False)
    vote_group, ballot, opinion = tables["vote_group"], tables["ballot"], tables["opinion"]
    rows = (
        await session.exec(
            select(  # type: ignore[call-overload]
                vote.c.id,
                vote.c.kind,
                vote.c.question,
                vote.c.matter,
                vote.c.whole_ward,
                vote.c.closes_at,
                vote.c.closed_at,
                vote.c.result,
                vote.c.result_notice_id,
                vote.c.response_notice_id,
            )
            .where(vote.c.ward_id == ward.id, vote.c.opens_at >= start, vote.c.opens_at < end)
            .order_by(vote.c.opens_at, vote.c.id)
        )
    ).all()
    ids = [r.id for r in rows]
    scopes: dict[int, list[str]] = {}
    if ids:
        for vote_id, name in (
            await session.exec(
                select(vote_group.c.vote_id, ResidentialGroup.name)  # type: ignore[call-overload]
                .join(ResidentialGroup, col(ResidentialGroup.id) == vote_group.c.group_id)
                .where(vote_group.c.vote_id.in_(ids))
                .order_by(col(ResidentialGroup.position))
            )
        ).all():
            scopes.setdefault(vote_id, []).append(name)
    ballots: dict[int, tuple[int, int]] = {}
    opinions: dict[int, tuple[int, int]] = {}
    if ids:
        for vote_id, total, agree in (
            await session.exec(
                select(  # type: ignore[call-overload]
                    ballot.c.vote_id,
                    func.count(),
                    func.coalesce(func.sum(case((ballot.c.option == 0, 1), else_=0)), 0),
                )
                .where(ballot.c.vote_id.in_(ids))
                .group_by(ballot.c.vote_id)
            )
        ).all():
            ballots[vote_id] = (int(total), int(agree))
        for vote_id, total, comments in (
            await session.exec(
                select(  # type: ignore[call-overload]
                    opinion.c.vote_id, func.count(), func.count(opinion.c.comment)
                )
                .where(opinion.c.vote_id.in_(ids))
                .group_by(opinion.c.vote_id)
            )
        ).all():
            opinions[vote_id] = (int(total), int(comments))
    section = VoteSection(available=True)
    for r in rows:
        scope = str(__(WHOLE_WARD)) if r.whole_ward else ", ".join(scopes.get(r.id, []))
        result = r.result or {}
        closed = r.closed_at is not None and bool(result)
        if r.kind == "consultation":
            given, comments = opinions.get(r.id, (0, 0))
            section.consultations.append(
                ConsultationLine(
                    r.id,
                    r.question,
                    scope,
                    closed,
                    int(result.get("opinions", given)) if closed else given,
                    int(result.get("comments", comments)) if closed else comments,
                    int(result["residents"]) if closed and "residents" in result else None,
                    r.response_notice_id is not None,
                )
            )
            continue
        cast_total, agree = ballots.get(r.id, (0, 0))
        counts = result.get("counts") or []
        section.votes.append(
            VoteLine(
                r.id,
                r.question,
                scope,
                r.matter,
                r.closes_at if r.closes_at.tzinfo else r.closes_at.replace(tzinfo=UTC),
                closed,
                int(result["eligible"]) if closed else None,
                int(result["ballots"]) if closed else cast_total,
                int(counts[0]) if closed and counts else agree,
                bool(result.get("adopted")) if closed else None,
                r.result_notice_id,
            )
        )
    return section


# --- residents' public figures -----------------------------------------------------------


@dataclass(frozen=True)
class PublicFigures:
    period: Period
    received: int
    resolved: int
    on_time: int


async def public_figures(
    session: AsyncSession, ward: Ward, today: date | None = None
) -> PublicFigures:
    """The month's tickets received, answered and answered on time: no names, no text."""
    today = today or workdays.local_date(clock.now(), ward.timezone)
    period = month_period(today)
    start, end = period.bounds(ward.timezone)
    dialect = session.get_bind().dialect.name
    offset = ZoneInfo(ward.timezone).utcoffset(datetime.combine(today, time()))
    measures = _ticket_measures(dialect, today, offset.total_seconds() if offset else 0.0)
    row = (
        await session.exec(
            select(*measures).where(
                col(Ticket.ward_id) == ward.id,
                col(Ticket.created_at) >= start,
                col(Ticket.created_at) < end,
            )
        )
    ).one()
    figures = _breakdown("", row)
    return PublicFigures(
        period, figures.received, figures.answered + figures.declined, figures.on_time
    )


# --- reminders of the report due dates -----------------------------------------------------


@dataclass(frozen=True)
class DueReport:
    ward_id: int
    # "H1" or "year", as in the ward file.
    kind: str
    name: str
    period: str
    due_on: date
    days_left: int


def due_reports(ward: Ward, today: date) -> list[DueReport]:
    """The reports of the ward file whose reminder window (N days before) holds today."""
    result = []
    for item in ward_settings(ward).reports:
        month, day = (int(part) for part in item.due.split("-"))
        for year in (today.year, today.year + 1):
            try:
                due = date(year, month, day)
            except ValueError:  # 02-29 in a common year: the last day of February
                due = date(year, 3, 1) - timedelta(days=1)
            if due - timedelta(days=item.remind_days_before) <= today <= due:
                label = f"{year}-H1" if item.period == "H1" else str(year)
                result.append(
                    DueReport(
                        ward.id,  # type: ignore[arg-type]
                        item.period,
                        item.name,
                        label,
                        due,
                        (due - today).days,
                    )
                )
    return result


async def reminders_due(session: AsyncSession, now: datetime) -> list[DueReport]:
    """Reports entering their reminder window, not yet reminded."""
    result = []
    for ward in (await session.exec(select(Ward))).all():
        for item in due_reports(ward, workdays.local_date(now, ward.timezone)):
            sent = await session.get(ReportReminder, (ward.id, item.period, item.due_on))
            if sent is None:
                result.append(item)
    return result


async def send_reminder(session: AsyncSession, item: DueReport) -> bool:
    """Claim the reminder (one row per ward, period and due date) and queue it to the
    ward's admins; another worker that lost the claim queues nothing."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    result = await session.exec(
        insert(ReportReminder)  # type: ignore[arg-type]
        .values(ward_id=item.ward_id, period=item.period, due_on=item.due_on, sent_at=clock.now())
        .on_conflict_do_nothing(index_elements=["ward_id", "period", "due_on"])
    )
    if (result.rowcount or 0) != 1:  # type: ignore[attr-defined]
        return False
    admins = (
        await session.exec(
            select(RoleGrant.person_id).where(
                RoleGrant.ward_id == item.ward_id,
                RoleGrant.role == Role.ADMIN,
                col(RoleGrant.revoked_at).is_(None),
            )
        )
    ).all()
    await enqueue(
        session,
        kind="report.reminder",
        person_ids=[p for p in admins if p is not None],
        params={
            "name": item.name,
            "period": item.period,
            "due_on": item.due_on.isoformat(),
            "days_left": item.days_left,
        },
        ref=("ward", item.ward_id),
    )
    await audit.record(
        session,
        actor="system",
        action="report.remind",
        entity_type="ward",
        entity_id=item.ward_id,
        ward_id=item.ward_id,
        data={"period": item.period, "due_on": item.due_on.isoformat()},
    )
    return True
