"""The oversight role (Ban Thanh tra nhân dân, MTTQ): read-only statistics, late tickets,
the audit trail's verification, and supervision recommendations (kiến nghị giám sát)
that the ward must answer within the period of rule ``recommendation.answer_days`` (15
days, Law 10/2022 Art. 40(1)(c); a period ending on a day off ends on the next working day).

Nothing here returns personal data: late tickets are a code, a type, an office and a
number of days; never a name, a phone, an address or the ticket's text.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock, rules
from bot.delivery.outbox import Priority, enqueue
from bot.i18n import __
from bot.models import (
    OPEN_STATUSES,
    Notice,
    NoticeAttachment,
    Office,
    Recommendation,
    StoredFile,
    Ticket,
    Ward,
)
from bot.services import audit, tickets, workdays
from bot.services.errors import Conflict, NotAllowed, NotFound
from bot.services.people import Actor, clean_text
from bot.services.wards import ward_settings

TEXT_MAX = 3000
LIST_MAX = 50


def answer_days(ward: Ward) -> int:
    """How many days the ward has to answer a recommendation (rule recommendation.answer_days)."""
    return int(rules.value("recommendation.answer_days", ward=ward_settings(ward)))


def require_inspector(actor: Actor, ward_id: int | None = None) -> list[int]:
    """The wards the actor inspects (only ``ward_id`` if given); NotAllowed otherwise."""
    wards = actor.inspected_ward_ids()
    if not wards or (ward_id is not None and ward_id not in wards):
        raise NotAllowed(__("Only an inspector of this ward can do this."))
    return [ward_id] if ward_id is not None else wards


async def inspected_ward(session: AsyncSession, actor: Actor, ward_id: int | None = None) -> Ward:
    ward = await session.get(Ward, require_inspector(actor, ward_id)[0])
    if ward is None:
        raise NotFound()
    return ward


# --- late tickets, without personal data ---------------------------------------------------


@dataclass(frozen=True)
class LateTicket:
    code: str
    type: str
    office: str
    due_on: date
    days_late: int


async def late_tickets(
    session: AsyncSession, actor: Actor, ward: Ward, *, now: datetime | None = None
) -> tuple[list[LateTicket], int]:
    """Open tickets past their current deadline, latest first; and how many there are."""
    require_inspector(actor, ward.id)
    today = workdays.local_date(now or clock.now(), ward.timezone)
    due = case(
        (
            and_(col(Ticket.accept_due_on).is_not(None), col(Ticket.accepted_at).is_(None)),
            col(Ticket.accept_due_on),
        ),
        else_=col(Ticket.due_on),
    ).label("due")
    where = (
        col(Ticket.ward_id) == ward.id,
        col(Ticket.status).in_(OPEN_STATUSES),
        due < today,
    )
    total = (await session.exec(select(func.count()).where(*where))).one()
    # Only these columns are read: the query itself cannot leak the ticket's content.
    rows = (
        await session.exec(
            select(Ticket.code, Ticket.type, Office.name, due)
            .join(Office, col(Office.id) == Ticket.office_id)
            .where(*where)
            .order_by(due, col(Ticket.id))
            .limit(LIST_MAX)
        )
    ).all()
    return [
        LateTicket(code, kind, office, d, (today - d).days) for code, kind, office, d in rows
    ], int(total)


# --- the audit trail ---------------------------------------------------------------------------

# Verifying reads the whole trail; inspectors opening /oversight one after another share
# a recent result instead of each re-reading it.
AUDIT_CACHE_SECONDS = 300
_audit_cache: tuple[float, audit.ChainReport] | None = None


async def audit_status(session: AsyncSession, *, fresh: bool = False) -> audit.ChainReport:
    global _audit_cache
    now = time.monotonic()
    if not fresh and _audit_cache is not None and now - _audit_cache[0] < AUDIT_CACHE_SECONDS:
        return _audit_cache[1]
    report = await audit.verify(session)
    _audit_cache = (now, report)
    return report


# --- vote records ---------------------------------------------------------------------------


async def vote_record(session: AsyncSession, actor: Actor, notice_id: int) -> StoredFile:
    """The vote-count record (biên bản kiểm phiếu) attached to a vote's result notice."""
    notice = await session.get(Notice, notice_id)
    if notice is None or notice.source != "vote":
        raise NotFound(__("This record does not exist."))
    require_inspector(actor, notice.ward_id)
    stored = (
        await session.exec(
            select(StoredFile)
            .join(NoticeAttachment, col(NoticeAttachment.file_id) == StoredFile.id)
            .where(NoticeAttachment.notice_id == notice_id)
            .order_by(col(NoticeAttachment.position))
        )
    ).first()
    if stored is None:
        raise NotFound(__("This record does not exist."))
    return stored


# --- supervision recommendations -----------------------------------------------------------


async def recommend(session: AsyncSession, actor: Actor, ward_id: int, body: str) -> Recommendation:
    """An inspector's kiến nghị giám sát to the ward's People's Committee."""
    require_inspector(actor, ward_id)
    person = actor.require_person()
    ward = await session.get(Ward, ward_id)
    if ward is None:
        raise NotFound()
    text = clean_text(body, max_length=TEXT_MAX)
    today = workdays.local_date(clock.now(), ward.timezone)
    rec = Recommendation(
        ward_id=ward_id,
        code="",
        inspector_id=person.id,
        body=text,
        due_on=rules.due("recommendation.answer_days", today, ward=ward_settings(ward)),
    )
    session.add(rec)
    await session.flush()
    rec.code = f"GS-{today.year}-{rec.id:04d}"
    session.add(rec)
    await session.flush()
    await enqueue(
        session,
        kind="oversight.recommendation",
        person_ids=await tickets.ward_admins(session, ward_id),
        params={"id": rec.id},
        ref=("recommendation", rec.id),  # type: ignore[arg-type]
    )
    await _audit(session, actor, rec, "recommendation.send", due_on=rec.due_on.isoformat())
    return rec


async def answer(session: AsyncSession, actor: Actor, rec_id: int, text: str) -> Recommendation:
    """The ward admin's answer; the inspector is told."""
    rec = await session.get(Recommendation, rec_id)
    if rec is None:
        raise NotFound(__("This recommendation does not exist."))
    if not actor.is_admin_of(rec.ward_id):
        raise NotAllowed(__("Only the ward's administrator can answer a recommendation."))
    if rec.status != "open":
        raise Conflict(__("This recommendation has already been answered."))
    person = actor.require_person()
    answer_text = clean_text(text, max_length=TEXT_MAX)
    # Conditional: two admins answering at once cannot both answer.
    result = await session.exec(
        update(Recommendation)  # type: ignore[arg-type]
        .where(col(Recommendation.id) == rec_id, col(Recommendation.status) == "open")
        .values(
            status="answered",
            answer_text=answer_text,
            answered_at=clock.now(),
            answered_by_id=person.id,
        )
        .execution_options(synchronize_session=False)
    )
    if (result.rowcount or 0) != 1:  # type: ignore[attr-defined]
        raise Conflict(__("This recommendation has already been answered."))
    await session.refresh(rec)
    if rec.inspector_id is not None:
        await enqueue(
            session,
            kind="oversight.answer",
            person_ids=[rec.inspector_id],
            params={"id": rec.id},
            ref=("recommendation", rec.id),  # type: ignore[arg-type]
        )
    await _audit(session, actor, rec, "recommendation.answer")
    return rec


async def get_for(session: AsyncSession, actor: Actor, rec_id: int) -> Recommendation:
    """A recommendation the actor may read: its ward's admins and inspectors."""
    rec = await session.get(Recommendation, rec_id)
    if rec is None:
        raise NotFound(__("This recommendation does not exist."))
    if not (actor.is_admin_of(rec.ward_id) or rec.ward_id in actor.inspected_ward_ids()):
        raise NotAllowed()
    return rec


async def listing(
    session: AsyncSession, actor: Actor, *, open_only: bool = False
) -> list[Recommendation]:
    """Recommendations of the wards the actor administers or inspects, newest first."""
    wards = sorted(set(actor.admin_ward_ids()) | set(actor.inspected_ward_ids()))
    if not wards:
        raise NotAllowed()
    query = select(Recommendation).where(col(Recommendation.ward_id).in_(wards))
    if open_only:
        query = query.where(Recommendation.status == "open")
    query = query.order_by(col(Recommendation.id).desc()).limit(LIST_MAX)
    return list((await session.exec(query)).all())


def is_late(rec: Recommendation, today: date) -> bool:
    return rec.status == "open" and today > rec.due_on


async def late_recommendations(session: AsyncSession, now: datetime) -> list[int]:
    """Open recommendations past their deadline whose reminder has not gone out."""
    # No ward is a day ahead of UTC: one due later cannot be late yet.
    bound = now.date() + timedelta(days=1)
    rows = (
        await session.exec(
            select(Recommendation, Ward)
            .join(Ward, col(Ward.id) == Recommendation.ward_id)
            .where(
                Recommendation.status == "open",
                Recommendation.reminded == 0,
                col(Recommendation.due_on) < bound,
            )
        )
    ).all()
    return [
        rec.id  # type: ignore[misc]
        for rec, ward in rows
        if is_late(rec, workdays.local_date(now, ward.timezone))
    ]


async def remind_late(session: AsyncSession, rec_id: int) -> bool:
    """Tell the admins (and the inspector) once that the answer is late."""
    result = await session.exec(
        update(Recommendation)  # type: ignore[arg-type]
        .where(
            col(Recommendation.id) == rec_id,
            col(Recommendation.status) == "open",
            col(Recommendation.reminded) == 0,
        )
        .values(reminded=1)
        .execution_options(synchronize_session=False)
    )
    if (result.rowcount or 0) != 1:  # type: ignore[attr-defined]
        return False
    rec = await session.get(Recommendation, rec_id)
    assert rec is not None
    await session.refresh(rec)
    people = set(await tickets.ward_admins(session, rec.ward_id))  # type: ignore[arg-type]
    if rec.inspector_id is not None:
        people.add(rec.inspector_id)
    await enqueue(
        session,
        kind="oversight.late",
        person_ids=people,
        params={"id": rec.id},
        priority=Priority.PERSONAL + 1,
        ref=("recommendation", rec.id),  # type: ignore[arg-type]
    )
    await audit.record(
        session,
        actor="system",
        action="recommendation.late",
        entity_type="recommendation",
        entity_id=rec.id,
        ward_id=rec.ward_id,
        data={"code": rec.code, "due_on": rec.due_on.isoformat()},
    )
    return True


async def _audit(
    session: AsyncSession, actor: Actor, rec: Recommendation, action: str, **data: str
) -> None:
    await audit.record(
        session,
        actor=audit.actor_of(actor.person_id),
        action=action,
        entity_type="recommendation",
        entity_id=rec.id,
        ward_id=rec.ward_id,
        data={"code": rec.code, **data},
    )
