"""Phản ánh, kiến nghị, góp ý, khiếu nại, tố cáo: filing, routing, answering, deadlines.

A resident files a ticket; it goes to the office its category maps to; an officer of
that office claims it, may transfer it, ask the resident for more, and closes it with an
answer; the resident rates it and may reopen it within a week. Complaints and
denunciations are first accepted (thụ lý) or declined, a step with its own deadline, and
their decision deadline starts from the acceptance. Every deadline comes from the ward
rule table (``bot.rules``: the law's for khiếu nại and tố cáo, the ward's own for the
others) and is counted on the ward's calendar with ``bot.services.workdays``.

Identity: an anonymous ticket shows nobody's identity to anyone in the ward; a
denouncer's identity (tố cáo, Denunciations Law 2018 Art. 9(1)(b)) is seen only by the
assigned officer and the office head. ``reporter()`` is the one place that decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock, rules
from bot.delivery.outbox import GroupChat, Priority, enqueue, enqueue_chat
from bot.i18n import __
from bot.models import (
    OPEN_STATUSES,
    Household,
    Office,
    Person,
    Resident,
    ResidentialGroup,
    Role,
    RoleGrant,
    StoredFile,
    Ticket,
    TicketAttachment,
    TicketCategory,
    TicketDigest,
    TicketEvent,
    TicketSequence,
    TicketStatus,
    TicketType,
    Ward,
)
from bot.services import audit, files, workdays
from bot.services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.services.people import Actor, clean_text
from bot.services.wards import Step, TicketTypeRule, WardSettings, ward_settings

# The order a resident sees the types in.
TYPES = (
    TicketType.PHAN_ANH,
    TicketType.KIEN_NGHI,
    TicketType.GOP_Y,
    TicketType.KHIEU_NAI,
    TicketType.TO_CAO,
)
CHANNEL = "telegram"
DESCRIPTION_MIN = 10
REASON_MAX = 1000
# An address or a landmark, typed (Zalo has no location sharing).
PLACE_MAX = 200
# A resident unsatisfied with an answer may reopen the ticket within this many days.
REOPEN_DAYS = 7
# "Due soon" in lists and digests.
DUE_SOON_WORKING_DAYS = 2
# The daily digest goes out from this local hour on working days.
DIGEST_HOUR = 7
MB = 1024 * 1024


# --- settings ------------------------------------------------------------------------


def settings_of(ward: Ward) -> WardSettings:
    return ward_settings(ward)


def calendar_of(ward: Ward) -> rules.Calendar:
    """The ward's working days: the official calendar and the ward file's days off."""
    return rules.calendar_for(settings_of(ward))


def _step(resolved: rules.ResolvedRule, **extra: Any) -> Step:
    return Step(days=resolved.value, working_days=resolved.unit == "working_days", **extra)


def rule_for(ward: Ward, ticket_type: str, on: date | None = None) -> TicketTypeRule:
    """The type's prefix and anonymity from the ward file, and its deadlines from the rule
    table as in force on ``on`` (today by default) for this ward."""
    settings = settings_of(ward)
    try:
        kind = TicketType(ticket_type)
        base = settings.ticket_types[kind]
    except (ValueError, KeyError):
        raise InvalidInput(__("This type of ticket does not exist.")) from None
    on = on or ward_today(ward)

    def resolved(rule_id: str) -> rules.ResolvedRule:
        return rules.resolve(rule_id, on=on, ward=settings)

    if kind == TicketType.KHIEU_NAI:
        decide = resolved("complaint.decide_days")
        steps = {
            "accept": _step(resolved("complaint.accept_days")),
            "answer": _step(decide, complex_days=resolved("complaint.decide_days.complex").value),
        }
    elif kind == TicketType.TO_CAO:
        accept = resolved("denunciation.accept_days")
        extended = resolved("denunciation.accept_days.extended")
        extensions = resolved("denunciation.extensions").value["especially_complex"]
        steps = {
            "accept": _step(accept, extension_days=max(extended.value - accept.value, 0)),
            "answer": _step(
                resolved("denunciation.resolve_days"),
                extensions=[resolved("denunciation.extension_days").value] * extensions,
            ),
        }
    else:
        steps = {"accept": None, "answer": _step(resolved(f"feedback.{kind.value}.answer_days"))}
    return base.model_copy(update=steps)


def rule_of(ward: Ward, ticket: Ticket) -> TicketTypeRule:
    """A filed ticket keeps the rules in force on the day it was filed, later changes of
    the law notwithstanding, as transitional provisions usually have it."""
    return rule_for(ward, ticket.type, on=ward_today(ward, ticket.created_at))


def ward_today(ward: Ward, now: datetime | None = None) -> date:
    return workdays.local_date(now or clock.now(), ward.timezone)


def deadline(start: date, step: Step, days: int | None = None, *, ward: Ward) -> date:
    """The last day of ``step`` (or of ``days`` in its unit) after ``start``, on the
    ward's calendar (Civil Code Art. 147–148: start not counted, a day off moves it on)."""
    return workdays.add_days(
        start, days or step.days, working_days=step.working_days, calendar=calendar_of(ward)
    )


def needs_acceptance(ticket: Ticket, rule: TicketTypeRule) -> bool:
    return rule.accept is not None


def awaiting_acceptance(ticket: Ticket, rule: TicketTypeRule) -> bool:
    return rule.accept is not None and ticket.accepted_at is None


def current_due(ticket: Ticket) -> date | None:
    """The deadline that runs now: acceptance until accepted, then the answer's."""
    if ticket.accept_due_on is not None and ticket.accepted_at is None:
        return ticket.accept_due_on
    return ticket.due_on


def is_open(ticket: Ticket) -> bool:
    return ticket.status in OPEN_STATUSES


def is_overdue(ticket: Ticket, today: date) -> bool:
    due = current_due(ticket)
    return is_open(ticket) and due is not None and today > due


def is_due_soon(ticket: Ticket, today: date, calendar: rules.Calendar = rules.NATIONAL) -> bool:
    due = current_due(ticket)
    return (
        is_open(ticket)
        and due is not None
        and today <= due
        and workdays.working_days_between(today, due, calendar=calendar) <= DUE_SOON_WORKING_DAYS
    )


# --- who may file ----------------------------------------------------------------------


def require_filer(actor: Actor) -> Resident:
    """Verified and pending residents may file.

    Pending residents are real people with a Telegram-verified phone whose group leader
    has not yet answered; holding back a report of a broken drain until then would defeat
    the purpose, and the daily limit bounds abuse. A rejected registration means the
    leader found they do not live here, so they file elsewhere.
    """
    resident = actor.resident
    if actor.person is None or resident is None or resident.status not in ("verified", "pending"):
        raise NotAllowed(
            __("Only registered residents can send feedback. Send /start to register.")
        )
    return resident


async def filer_ward(session: AsyncSession, actor: Actor) -> Ward:
    resident = require_filer(actor)
    ward = await session.get(Ward, resident.ward_id)
    if ward is None:
        raise NotFound()
    return ward


async def filed_today(session: AsyncSession, person_id: int, ward: Ward, now: datetime) -> int:
    tz = ZoneInfo(ward.timezone)
    midnight = datetime.combine(ward_today(ward, now), time(0), tzinfo=tz)
    count = (
        await session.exec(
            select(func.count())
            .select_from(Ticket)
            .where(Ticket.person_id == person_id, col(Ticket.created_at) >= midnight)
        )
    ).one()
    return int(count)


async def check_daily_limit(session: AsyncSession, actor: Actor) -> Ward:
    ward = await filer_ward(session, actor)
    limit = settings_of(ward).limits.tickets_per_day
    if await filed_today(session, actor.person_id, ward, clock.now()) >= limit:  # type: ignore[arg-type]
        raise InvalidInput(
            __(
                "You have already sent {limit} tickets today, the most one resident may send "
                "in a day. Please send this one tomorrow."
            ),
            limit=limit,
        )
    return ward


async def categories(session: AsyncSession, ward_id: int) -> list[TicketCategory]:
    return list(
        (
            await session.exec(
                select(TicketCategory)
                .where(TicketCategory.ward_id == ward_id, col(TicketCategory.active))
                .order_by(col(TicketCategory.position), col(TicketCategory.id))
            )
        ).all()
    )


async def category_of_ward(session: AsyncSession, ward_id: int, category_id: int) -> TicketCategory:
    category = await session.get(TicketCategory, category_id)
    if category is None or category.ward_id != ward_id or not category.active:
        raise NotFound(__("This category no longer exists. Please choose again."))
    return category


def clean_description(text: str | None, ward: Ward) -> str:
    limit = settings_of(ward).limits.ticket_text_max
    description = clean_text(text, max_length=limit)
    if len(description) < DESCRIPTION_MIN:
        raise InvalidInput(
            __("Please describe it in a few more words (at least {min} characters)."),
            min=DESCRIPTION_MIN,
        )
    return description


def clean_reason(text: str | None) -> str:
    reason = clean_text(text, max_length=REASON_MAX)
    if len(reason) < 3:
        raise InvalidInput(__("Please write the reason in a few words."))
    return reason


def attachment_limits(ward: Ward) -> tuple[int, int]:
    """How many files a ticket may carry, and the largest one in bytes."""
    limits = settings_of(ward).limits
    return limits.attachments_max, limits.attachment_max_mb * MB


def check_attachment(ward: Ward, *, count: int, size: int | None) -> None:
    """Refuse a file before it is downloaded: one too many, or too large."""
    most, max_bytes = attachment_limits(ward)
    if count >= most:
        raise InvalidInput(__("You can attach at most {limit} files."), limit=most)
    if size is not None and size > max_bytes:
        raise InvalidInput(__("The file is too large: at most {limit} MB."), limit=max_bytes // MB)


async def save_attachment(
    session: AsyncSession,
    actor: Actor,
    ward: Ward,
    *,
    data: bytes,
    filename: str,
    mime_type: str | None,
    kind: str,
    count: int,
) -> StoredFile:
    check_attachment(ward, count=count, size=len(data))
    _most, max_bytes = attachment_limits(ward)
    return await files.save(
        session,
        data=data,
        filename=filename,
        mime_type=mime_type,
        uploaded_by_id=actor.person_id,
        max_bytes=max_bytes,
        allowed_types=files.PHOTO_TYPES if kind == "photo" else files.DOCUMENT_TYPES,
    )


async def _own_files(
    session: AsyncSession, actor: Actor, attached: list[tuple[int, str]], ward: Ward
) -> list[tuple[StoredFile, str]]:
    """Files a person attached: theirs only (a forged id is refused), within the limits."""
    most, max_bytes = attachment_limits(ward)
    if len(attached) > most:
        raise InvalidInput(__("You can attach at most {limit} files."), limit=most)
    stored = await files.many(session, [file_id for file_id, _kind in attached])
    by_id = {f.id: f for f in stored}
    result = []
    for file_id, kind in attached:
        row = by_id.get(file_id)
        if (
            row is None
            or row.uploaded_by_id != actor.person_id
            or kind not in ("photo", "document")
        ):
            raise NotAllowed()
        if row.size > max_bytes:
            raise InvalidInput(
                __("The file is too large: at most {limit} MB."), limit=max_bytes // MB
            )
        result.append((row, kind))
    return result


def check_anonymity(ticket_type: str, rule: TicketTypeRule, anonymous: bool) -> None:
    if not anonymous or rule.anonymous_allowed:
        return
    if ticket_type == TicketType.TO_CAO:
        raise InvalidInput(
            __(
                "An anonymous denunciation cannot be handled under the Denunciations Law "
                "(Art. 25). You can send it as an anonymous report (phản ánh) instead."
            )
        )
    raise InvalidInput(__("This type of ticket must carry your name; it cannot be anonymous."))


async def _identity_complete(session: AsyncSession, actor: Actor) -> bool:
    person = actor.person
    if person is None or not person.full_name or not person.phone:
        return False
    household = (
        await session.get(Household, actor.resident.household_id)
        if actor.resident and actor.resident.household_id
        else None
    )
    return household is not None


@dataclass
class Filed:
    ticket: Ticket
    office: Office
    category: TicketCategory


async def file_ticket(
    session: AsyncSession,
    actor: Actor,
    *,
    ticket_type: str,
    category_id: int,
    description: str,
    attached: list[tuple[int, str]] | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    place: str | None = None,
    anonymous: bool = False,
) -> Filed:
    """``place``: where it is in the resident's words (an address or a landmark)."""
    resident = require_filer(actor)
    ward = await check_daily_limit(session, actor)
    rule = rule_for(ward, ticket_type)
    check_anonymity(ticket_type, rule, anonymous)
    if ticket_type == TicketType.TO_CAO and not await _identity_complete(session, actor):
        # Denunciations Law 2018 Art. 23: name, address and contact are required.
        raise InvalidInput(
            __("A denunciation needs your full name, address and phone; update your registration.")
        )
    category = await category_of_ward(session, ward.id, category_id)  # type: ignore[arg-type]
    office = await session.get(Office, category.office_id)
    if office is None or not office.active:
        raise NotFound(__("This category no longer exists. Please choose again."))
    text = clean_description(description, ward)
    stored = await _own_files(session, actor, list(attached or []), ward)
    if (latitude is None) != (longitude is None) or (
        latitude is not None and not (-90 <= latitude <= 90 and -180 <= longitude <= 180)  # type: ignore[operator]
    ):
        raise InvalidInput(__("This location is not valid."))
    if place is not None:
        place = clean_text(place, max_length=PLACE_MAX, min_length=3)

    now = clock.now()
    today = ward_today(ward, now)
    seq = await _next_seq(session, ward.id, today.year)  # type: ignore[arg-type]
    ticket = Ticket(
        ward_id=ward.id,
        code=f"{rule.prefix}-{today.year}-{seq:06d}",
        year=today.year,
        seq=seq,
        type=TicketType(ticket_type),
        category_id=category.id,
        office_id=office.id,
        group_id=resident.group_id,
        person_id=actor.person_id,
        anonymous=anonymous,
        description=text,
        latitude=latitude,
        longitude=longitude,
        place=place,
        status=TicketStatus.NEW,
        created_at=now,
        updated_at=now,
    )
    if rule.accept is not None:
        ticket.accept_due_on = deadline(today, rule.accept, ward=ward)
    else:
        ticket.due_on = deadline(today, rule.answer, ward=ward)
    session.add(ticket)
    await session.flush()
    event = await _event(session, ticket, "filed", actor.person_id)
    for row, kind in stored:
        session.add(
            TicketAttachment(ticket_id=ticket.id, event_id=event.id, file_id=row.id, kind=kind)
        )
    await session.flush()
    await audit.record(
        session,
        # An anonymous ticket or a denunciation must not be traceable to its filer
        # through the audit trail either.
        actor="confidential"
        if anonymous or ticket_type == TicketType.TO_CAO
        else audit.actor_of(actor.person_id),
        action="ticket.file",
        entity_type="ticket",
        entity_id=ticket.id,
        ward_id=ward.id,
        data={
            "code": ticket.code,
            "type": ticket.type,
            "category_id": category.id,
            "office_id": office.id,
            "anonymous": anonymous,
            "attachments": len(stored),
        },
    )
    await _send_card(session, ticket, office)
    return Filed(ticket, office, category)


async def _next_seq(session: AsyncSession, ward_id: int, year: int) -> int:
    """Next number in the ward's yearly sequence.

    The UPDATE takes the row's write lock (PostgreSQL) or the database's (SQLite runs
    every transaction as BEGIN IMMEDIATE), so two concurrent filings never share one.
    """
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.exec(
        insert(TicketSequence)  # type: ignore[arg-type]
        .values(ward_id=ward_id, year=year, last=0)
        .on_conflict_do_nothing(index_elements=["ward_id", "year"])
    )
    result = await session.exec(
        update(TicketSequence)  # type: ignore[arg-type]
        .where(col(TicketSequence.ward_id) == ward_id, col(TicketSequence.year) == year)
        .values(last=col(TicketSequence.last) + 1)
        .returning(col(TicketSequence.last))
    )
    return int(result.scalar_one())


# --- events, notifications --------------------------------------------------------------


async def _event(
    session: AsyncSession,
    ticket: Ticket,
    kind: str,
    actor_id: int | None,
    *,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    public: bool = True,
) -> TicketEvent:
    event = TicketEvent(
        ticket_id=ticket.id,
        actor_id=actor_id,
        kind=kind,
        note=note,
        data=data or {},
        public=public,
        at=clock.now(),
    )
    session.add(event)
    ticket.updated_at = event.at
    session.add(ticket)
    await session.flush()
    return event


async def _tell_resident(session: AsyncSession, ticket: Ticket, event: TicketEvent) -> None:
    if ticket.person_id is None:
        return
    await enqueue(
        session,
        kind="ticket.update",
        person_ids=[ticket.person_id],
        params={"ticket_id": ticket.id, "event_id": event.id},
        ref=("ticket", ticket.id),  # type: ignore[arg-type]
    )


async def office_staff(
    session: AsyncSession, office_id: int, *, heads_only: bool = False
) -> list[int]:
    roles = [Role.OFFICE_HEAD] if heads_only else [Role.OFFICER, Role.OFFICE_HEAD]
    rows = (
        await session.exec(
            select(RoleGrant.person_id).where(
                RoleGrant.office_id == office_id,
                col(RoleGrant.role).in_(roles),
                col(RoleGrant.revoked_at).is_(None),
            )
        )
    ).all()
    return sorted({r for r in rows if r is not None})


async def ward_admins(session: AsyncSession, ward_id: int) -> list[int]:
    rows = (
        await session.exec(
            select(RoleGrant.person_id).where(
                RoleGrant.ward_id == ward_id,
                RoleGrant.role == Role.ADMIN,
                col(RoleGrant.revoked_at).is_(None),
            )
        )
    ).all()
    return sorted({r for r in rows if r is not None})


async def _send_card(session: AsyncSession, ticket: Ticket, office: Office) -> None:
    """The ticket's card to the office: its chat if linked, else each officer privately."""
    params = {"ticket_id": ticket.id, "office_id": office.id}
    ref = ("ticket", ticket.id)
    if office.chat_id is not None:
        await enqueue_chat(
            session,
            kind="ticket.card",
            chat=GroupChat(CHANNEL, str(office.chat_id)),
            params=params,
            ref=ref,  # type: ignore[arg-type]
        )
    else:
        await enqueue(
            session,
            kind="ticket.card",
            person_ids=await office_staff(session, office.id),  # type: ignore[arg-type]
            params=params,
            ref=ref,  # type: ignore[arg-type]
        )


async def _tell_office(session: AsyncSession, ticket: Ticket, event: TicketEvent) -> None:
    """A resident's step (information added, a rating, a reopening): to the officer on the
    ticket, or to the office when nobody has it."""
    params = {"ticket_id": ticket.id, "event_id": event.id}
    ref = ("ticket", ticket.id)
    if ticket.assigned_officer_id is not None:
        await enqueue(
            session,
            kind="ticket.note",
            person_ids=[ticket.assigned_officer_id],
            params=params,
            ref=ref,  # type: ignore[arg-type]
        )
        return
    office = await session.get(Office, ticket.office_id)
    if office is not None and office.chat_id is not None:
        await enqueue_chat(
            session,
            kind="ticket.note",
            chat=GroupChat(CHANNEL, str(office.chat_id)),
            params=params,
            ref=ref,  # type: ignore[arg-type]
        )
    elif office is not None:
        await enqueue(
            session,
            kind="ticket.note",
            person_ids=await office_staff(session, office.id),  # type: ignore[arg-type]
            params=params,
            ref=ref,  # type: ignore[arg-type]
        )


async def _audit(
    session: AsyncSession, actor: Actor, ticket: Ticket, action: str, **data: Any
) -> None:
    await audit.record(
        session,
        actor=audit.actor_of(actor.person_id),
        action=f"ticket.{action}",
        entity_type="ticket",
        entity_id=ticket.id,
        ward_id=ticket.ward_id,
        data={"code": ticket.code, **data},
    )


# --- the office's side ---------------------------------------------------------------------


def is_staff(actor: Actor, ticket: Ticket) -> bool:
    return ticket.office_id in actor.office_ids()


def is_head(actor: Actor, ticket: Ticket) -> bool:
    return ticket.office_id in actor.office_ids(heads_only=True)


async def _load(session: AsyncSession, ticket_id: int) -> tuple[Ticket, Ward, TicketTypeRule]:
    # Always read the row afresh: a scheduler in another process may have changed it.
    ticket = await session.get(Ticket, ticket_id, populate_existing=True)
    if ticket is None:
        raise NotFound()
    ward = await session.get(Ward, ticket.ward_id)
    assert ward is not None
    return ticket, ward, rule_of(ward, ticket)


async def _staff_ticket(
    session: AsyncSession, actor: Actor, ticket_id: int
) -> tuple[Ticket, Ward, TicketTypeRule]:
    """The ticket, for an officer or head of the office it sits with; nobody else."""
    ticket, ward, rule = await _load(session, ticket_id)
    if actor.person_id is None or not is_staff(actor, ticket):
        raise NotAllowed(__("Only the officers of the office handling this ticket can do this."))
    return ticket, ward, rule


def _require_open(ticket: Ticket) -> None:
    if not is_open(ticket):
        raise Conflict(__("This ticket is already closed."))


async def _take(session: AsyncSession, actor: Actor, ticket: Ticket) -> TicketEvent | None:
    """The acting officer handles the ticket from now on, unless another one does; the
    office head may take over any ticket of the office."""
    if ticket.assigned_officer_id == actor.person_id:
        return None
    if ticket.assigned_officer_id is not None and not is_head(actor, ticket):
        raise NotAllowed(__("Another officer is handling this ticket; ask the office head."))
    ticket.assigned_officer_id = actor.person_id
    if ticket.status == TicketStatus.NEW:
        ticket.status = TicketStatus.IN_PROGRESS
    session.add(ticket)
    return await _event(session, ticket, "claimed", actor.person_id)


async def claim(session: AsyncSession, actor: Actor, ticket_id: int) -> Ticket:
    ticket, _ward, _rule = await _staff_ticket(session, actor, ticket_id)
    _require_open(ticket)
    if ticket.assigned_officer_id == actor.person_id:
        raise Conflict(__("You are already handling this ticket."))
    event = await _take(session, actor, ticket)
    assert event is not None
    await _tell_resident(session, ticket, event)
    await _audit(session, actor, ticket, "claim")
    return ticket


async def transfer_targets(session: AsyncSession, actor: Actor, ticket_id: int) -> list[Office]:
    ticket, _ward, _rule = await _staff_ticket(session, actor, ticket_id)
    rows = await session.exec(
        select(Office)
        .where(Office.ward_id == ticket.ward_id, col(Office.active), Office.id != ticket.office_id)
        .order_by(col(Office.position), col(Office.id))
    )
    return list(rows.all())


async def transfer(
    session: AsyncSession, actor: Actor, ticket_id: int, *, office_id: int, reason: str
) -> tuple[Ticket, int]:
    """Send the ticket to another office of the ward; returns it and the office it left.
    The deadline keeps running: the resident is not made to wait longer by a misroute."""
    ticket, _ward, _rule = await _staff_ticket(session, actor, ticket_id)
    _require_open(ticket)
    if ticket.assigned_officer_id not in (None, actor.person_id) and not is_head(actor, ticket):
        raise NotAllowed(__("Another officer is handling this ticket; ask the office head."))
    target = await session.get(Office, office_id)
    if target is None or target.ward_id != ticket.ward_id or not target.active:
        raise NotFound(__("This office no longer exists."))
    if target.id == ticket.office_id:
        raise InvalidInput(__("The ticket is already with this office."))
    reason = clean_reason(reason)
    previous = ticket.office_id
    ticket.office_id = target.id
    ticket.assigned_officer_id = None
    ticket.status = TicketStatus.NEW
    session.add(ticket)
    event = await _event(
        session,
        ticket,
        "transferred",
        actor.person_id,
        note=reason,
        data={"from_office_id": previous, "to_office_id": target.id},
    )
    await _tell_resident(session, ticket, event)
    await _send_card(session, ticket, target)
    await _audit(
        session, actor, ticket, "transfer", from_office_id=previous, to_office_id=target.id
    )
    return ticket, previous  # type: ignore[return-value]


async def request_info(
    session: AsyncSession, actor: Actor, ticket_id: int, *, question: str
) -> Ticket:
    ticket, _ward, _rule = await _staff_ticket(session, actor, ticket_id)
    _require_open(ticket)
    question = clean_reason(question)
    await _take(session, actor, ticket)
    ticket.status = TicketStatus.INFO_REQUESTED
    session.add(ticket)
    event = await _event(session, ticket, "info_requested", actor.person_id, note=question)
    await _tell_resident(session, ticket, event)
    await _audit(session, actor, ticket, "request_info")
    return ticket


async def accept(session: AsyncSession, actor: Actor, ticket_id: int) -> Ticket:
    """Thụ lý: the complaint or denunciation is taken up; its decision deadline starts."""
    ticket, ward, rule = await _staff_ticket(session, actor, ticket_id)
    _require_open(ticket)
    if rule.accept is None:
        raise InvalidInput(__("This type of ticket has no acceptance step."))
    if ticket.accepted_at is not None:
        raise Conflict(__("This ticket has already been accepted."))
    await _take(session, actor, ticket)
    now = clock.now()
    ticket.accepted_at = now
    ticket.due_on = deadline(ward_today(ward, now), rule.answer, ward=ward)
    ticket.escalation_level = 0
    if ticket.status == TicketStatus.NEW:
        ticket.status = TicketStatus.IN_PROGRESS
    session.add(ticket)
    event = await _event(
        session, ticket, "accepted", actor.person_id, data={"due_on": ticket.due_on.isoformat()}
    )
    await _tell_resident(session, ticket, event)
    await _audit(session, actor, ticket, "accept", due_on=ticket.due_on.isoformat())
    return ticket


async def decline(session: AsyncSession, actor: Actor, ticket_id: int, *, reason: str) -> Ticket:
    """Từ chối thụ lý, with the reason the law asks for (e.g. not within the ward's
    competence, or already decided)."""
    ticket, _ward, rule = await _staff_ticket(session, actor, ticket_id)
    _require_open(ticket)
    if rule.accept is None:
        raise InvalidInput(__("Only a complaint or a denunciation can be declined."))
    if ticket.accepted_at is not None:
        raise Conflict(__("This ticket has already been accepted."))
    reason = clean_reason(reason)
    await _take(session, actor, ticket)
    ticket.status = TicketStatus.DECLINED
    session.add(ticket)
    event = await _event(session, ticket, "declined", actor.person_id, note=reason)
    await _tell_resident(session, ticket, event)
    await _audit(session, actor, ticket, "decline")
    return ticket


def available_extension(ticket: Ticket, rule: TicketTypeRule) -> str | None:
    """Which extension the rules still allow: "accept" (more days to accept), "complex"
    (a complex case's longer period) or "extend" (the next of the listed extensions)."""
    if not is_open(ticket):
        return None
    if rule.accept is not None and ticket.accepted_at is None:
        return "accept" if rule.accept.extension_days and not ticket.accept_extended else None
    if rule.accept is None and ticket.due_on is None:
        return None
    if rule.answer.complex_days and not ticket.complex_case:
        return "complex"
    if ticket.extensions_used < len(rule.answer.extensions):
        return "extend"
    return None


async def extend(session: AsyncSession, actor: Actor, ticket_id: int, *, reason: str) -> Ticket:
    ticket, ward, rule = await _staff_ticket(session, actor, ticket_id)
    _require_open(ticket)
    which = available_extension(ticket, rule)
    if which is None:
        raise Conflict(__("The rules allow no further extension of this ticket."))
    reason = clean_reason(reason)
    await _take(session, actor, ticket)
    if which == "accept":
        assert rule.accept is not None and ticket.accept_due_on is not None
        ticket.accept_due_on = deadline(
            ticket.accept_due_on, rule.accept, rule.accept.extension_days, ward=ward
        )
        ticket.accept_extended = True
        new_due = ticket.accept_due_on
    elif which == "complex":
        # The longer period of a complex case runs from the same start as the normal one.
        start = (
            ward_today(ward, ticket.accepted_at)
            if ticket.accepted_at is not None
            else ward_today(ward, ticket.created_at)
        )
        ticket.due_on = deadline(start, rule.answer, rule.answer.complex_days, ward=ward)
        ticket.complex_case = True
        new_due = ticket.due_on
    else:
        assert ticket.due_on is not None
        days = rule.answer.extensions[ticket.extensions_used]
        ticket.due_on = deadline(ticket.due_on, rule.answer, days, ward=ward)
        ticket.extensions_used += 1
        new_due = ticket.due_on
    ticket.escalation_level = 0
    session.add(ticket)
    event = await _event(
        session,
        ticket,
        "extended",
        actor.person_id,
        note=reason,
        data={"which": which, "due_on": new_due.isoformat()},
    )
    await _tell_resident(session, ticket, event)
    await _audit(session, actor, ticket, "extend", which=which, due_on=new_due.isoformat())
    return ticket


def _require_accepted(ticket: Ticket, rule: TicketTypeRule) -> None:
    if awaiting_acceptance(ticket, rule):
        raise InvalidInput(__("Accept (thụ lý) this ticket first, or decline it."))


async def write_answer(
    session: AsyncSession,
    actor: Actor,
    ticket_id: int,
    *,
    text: str,
    file_ids: list[int] | None = None,
) -> Ticket:
    """The officer's answer, kept with the ticket until it is closed with it."""
    ticket, ward, rule = await _staff_ticket(session, actor, ticket_id)
    _require_open(ticket)
    _require_accepted(ticket, rule)
    answer = clean_text(text, max_length=settings_of(ward).limits.ticket_text_max)
    stored = await _own_files(session, actor, [(i, "document") for i in file_ids or []], ward)
    await _take(session, actor, ticket)
    ticket.answer_text = answer
    ticket.answer_file_ids = [f.id for f, _kind in stored]  # type: ignore[misc]
    session.add(ticket)
    await _event(session, ticket, "answer_drafted", actor.person_id, public=False)
    await _audit(session, actor, ticket, "answer_draft", attachments=len(stored))
    return ticket


async def close(session: AsyncSession, actor: Actor, ticket_id: int) -> Ticket:
    """Hoàn thành: the resident receives the answer and may rate it."""
    ticket, _ward, rule = await _staff_ticket(session, actor, ticket_id)
    _require_open(ticket)
    _require_accepted(ticket, rule)
    if not ticket.answer_text:
        raise InvalidInput(__("Write the answer first with ✍️ Answer."))
    await _take(session, actor, ticket)
    now = clock.now()
    ticket.status = TicketStatus.ANSWERED
    ticket.answered_at = now
    ticket.answered_by_id = actor.person_id
    ticket.rating = None
    ticket.rated_at = None
    session.add(ticket)
    event = await _event(session, ticket, "answered", actor.person_id, note=ticket.answer_text)
    stored = await files.many(session, list(ticket.answer_file_ids or []))
    for row in stored:
        session.add(
            TicketAttachment(
                ticket_id=ticket.id,
                event_id=event.id,
                file_id=row.id,
                kind="photo" if files.is_photo(row) else "document",
            )
        )
    await session.flush()
    await _tell_resident(session, ticket, event)
    await _audit(session, actor, ticket, "close")
    return ticket


# --- the resident's side --------------------------------------------------------------------


async def own_ticket(session: AsyncSession, actor: Actor, ticket_id: int) -> Ticket:
    """A ticket the actor filed; any other is "not found", so ids reveal nothing."""
    ticket = await session.get(Ticket, ticket_id, populate_existing=True)
    if ticket is None or actor.person_id is None or ticket.person_id != actor.person_id:
        raise NotFound()
    return ticket


async def my_tickets(session: AsyncSession, actor: Actor) -> list[Ticket]:
    if actor.person_id is None:
        return []
    rows = await session.exec(
        select(Ticket)
        .where(Ticket.person_id == actor.person_id)
        .order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc())
    )
    return list(rows.all())


async def add_info(
    session: AsyncSession,
    actor: Actor,
    ticket_id: int,
    *,
    text: str,
    attached: list[tuple[int, str]] | None = None,
) -> Ticket:
    ticket = await own_ticket(session, actor, ticket_id)
    if ticket.status != TicketStatus.INFO_REQUESTED:
        raise Conflict(__("The office has not asked for more information on this ticket."))
    ward = await session.get(Ward, ticket.ward_id)
    assert ward is not None
    note = clean_text(text, max_length=settings_of(ward).limits.ticket_text_max)
    already = (
        await session.exec(
            select(func.count())
            .select_from(TicketAttachment)
            .where(TicketAttachment.ticket_id == ticket.id)
        )
    ).one()
    stored = await _own_files(session, actor, list(attached or []), ward)
    most, _max = attachment_limits(ward)
    if stored and int(already) + len(stored) > most * 2:
        raise InvalidInput(__("You can attach at most {limit} files."), limit=most)
    ticket.status = TicketStatus.IN_PROGRESS
    session.add(ticket)
    event = await _event(session, ticket, "info_added", actor.person_id, note=note)
    for row, kind in stored:
        session.add(
            TicketAttachment(ticket_id=ticket.id, event_id=event.id, file_id=row.id, kind=kind)
        )
    await session.flush()
    await _tell_office(session, ticket, event)
    await audit.record(
        session,
        actor="confidential" if _confidential(ticket) else audit.actor_of(actor.person_id),
        action="ticket.add_info",
        entity_type="ticket",
        entity_id=ticket.id,
        ward_id=ticket.ward_id,
        data={"code": ticket.code, "attachments": len(stored)},
    )
    return ticket


def group_hidden(ticket: Ticket) -> bool:
    """A denouncer's group narrows down who they are: shown only with their identity."""
    return ticket.type == TicketType.TO_CAO


def _confidential(ticket: Ticket) -> bool:
    return ticket.anonymous or ticket.type == TicketType.TO_CAO


async def rate(session: AsyncSession, actor: Actor, ticket_id: int, *, stars: int) -> Ticket:
    ticket = await own_ticket(session, actor, ticket_id)
    if ticket.status != TicketStatus.ANSWERED:
        raise Conflict(__("You can rate a ticket once it has been answered."))
    if stars not in range(1, 6):
        raise InvalidInput(__("Please rate from 1 to 5 stars."))
    if ticket.rating is not None:
        raise Conflict(__("You have already rated this answer."))
    ticket.rating = stars
    ticket.rated_at = clock.now()
    session.add(ticket)
    event = await _event(session, ticket, "rated", actor.person_id, data={"stars": stars})
    await _tell_office(session, ticket, event)
    await audit.record(
        session,
        actor="confidential" if _confidential(ticket) else audit.actor_of(actor.person_id),
        action="ticket.rate",
        entity_type="ticket",
        entity_id=ticket.id,
        ward_id=ticket.ward_id,
        data={"code": ticket.code, "stars": stars},
    )
    return ticket


def reopen_until(ticket: Ticket) -> datetime | None:
    if ticket.status != TicketStatus.ANSWERED or ticket.answered_at is None:
        return None
    return ticket.answered_at + timedelta(days=REOPEN_DAYS)


def may_reopen(ticket: Ticket, now: datetime | None = None) -> bool:
    until = reopen_until(ticket)
    return until is not None and (now or clock.now()) <= until


async def reopen(session: AsyncSession, actor: Actor, ticket_id: int, *, reason: str) -> Ticket:
    """The resident is not satisfied: the ticket goes back to the office with a new answer
    deadline, keeping its code and its history."""
    ticket = await own_ticket(session, actor, ticket_id)
    if ticket.status != TicketStatus.ANSWERED:
        raise Conflict(__("Only an answered ticket can be reopened."))
    if not may_reopen(ticket):
        raise InvalidInput(
            __("An answer can be reopened within {days} days; this one is older."),
            days=REOPEN_DAYS,
        )
    reason = clean_reason(reason)
    ward = await session.get(Ward, ticket.ward_id)
    assert ward is not None
    rule = rule_of(ward, ticket)
    now = clock.now()
    ticket.status = TicketStatus.IN_PROGRESS
    ticket.reopen_count += 1
    ticket.due_on = deadline(ward_today(ward, now), rule.answer, ward=ward)
    ticket.escalation_level = 0
    ticket.answer_text = None
    ticket.answer_file_ids = []
    ticket.answered_at = None
    ticket.rating = None
    ticket.rated_at = None
    if ticket.assigned_officer_id is not None:
        # The officer may have left the office since.
        still = (
            await session.exec(
                select(RoleGrant.id).where(
                    RoleGrant.person_id == ticket.assigned_officer_id,
                    RoleGrant.office_id == ticket.office_id,
                    col(RoleGrant.revoked_at).is_(None),
                )
            )
        ).first()
        if still is None:
            ticket.assigned_officer_id = None
            ticket.status = TicketStatus.NEW
    session.add(ticket)
    event = await _event(
        session,
        ticket,
        "reopened",
        actor.person_id,
        note=reason,
        data={"due_on": ticket.due_on.isoformat()},
    )
    await _tell_office(session, ticket, event)
    await _tell_resident(session, ticket, event)
    await audit.record(
        session,
        actor="confidential" if _confidential(ticket) else audit.actor_of(actor.person_id),
        action="ticket.reopen",
        entity_type="ticket",
        entity_id=ticket.id,
        ward_id=ticket.ward_id,
        data={"code": ticket.code, "due_on": ticket.due_on.isoformat()},
    )
    return ticket


# --- reading ----------------------------------------------------------------------------------


async def history(
    session: AsyncSession, ticket_id: int, *, public_only: bool = False
) -> list[TicketEvent]:
    query = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
    if public_only:
        query = query.where(col(TicketEvent.public))
    rows = await session.exec(query.order_by(col(TicketEvent.at), col(TicketEvent.id)))
    return list(rows.all())


async def attachments(
    session: AsyncSession, ticket_id: int, *, event_id: int | None = None
) -> list[TicketAttachment]:
    query = select(TicketAttachment).where(TicketAttachment.ticket_id == ticket_id)
    if event_id is not None:
        query = query.where(TicketAttachment.event_id == event_id)
    return list((await session.exec(query.order_by(col(TicketAttachment.id)))).all())


async def get_event(session: AsyncSession, ticket_id: int, event_id: int) -> TicketEvent:
    event = await session.get(TicketEvent, event_id)
    if event is None or event.ticket_id != ticket_id:
        raise NotFound()
    return event


async def get_ticket(session: AsyncSession, ticket_id: int) -> Ticket:
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound()
    return ticket


async def viewable_ticket(session: AsyncSession, actor: Actor, ticket_id: int) -> Ticket:
    """An officer sees their office's tickets, a ward admin those of the ward."""
    ticket = await get_ticket(session, ticket_id)
    if not (is_staff(actor, ticket) or actor.is_admin_of(ticket.ward_id)):
        raise NotAllowed()
    return ticket


def is_reader(actor: Actor) -> bool:
    return bool(actor.office_ids() or actor.admin_ward_ids())


LIST_FILTERS = ("all", "mine", "overdue", "soon")


async def office_tickets(
    session: AsyncSession, actor: Actor, *, filter: str = "all", now: datetime | None = None
) -> list[Ticket]:
    """Open tickets of the offices the actor works in (a ward admin: the whole ward),
    the nearest deadline first."""
    if filter not in LIST_FILTERS:
        raise InvalidInput()
    office_ids = actor.office_ids()
    ward_ids = actor.admin_ward_ids()
    if not office_ids and not ward_ids:
        raise NotAllowed()
    query = select(Ticket).where(
        col(Ticket.status).in_(OPEN_STATUSES),
        col(Ticket.office_id).in_(office_ids) | col(Ticket.ward_id).in_(ward_ids),
    )
    if filter == "mine":
        query = query.where(Ticket.assigned_officer_id == actor.person_id)
    rows = list((await session.exec(query)).all())
    if filter in ("overdue", "soon"):
        ward_cache: dict[int, tuple[date, rules.Calendar]] = {}
        kept = []
        for ticket in rows:
            if ticket.ward_id not in ward_cache:
                ward = await session.get(Ward, ticket.ward_id)
                ward_cache[ticket.ward_id] = (ward_today(ward, now), calendar_of(ward))  # type: ignore[arg-type]
            today, calendar = ward_cache[ticket.ward_id]  # type: ignore[index]
            if (filter == "overdue" and is_overdue(ticket, today)) or (
                filter == "soon" and is_due_soon(ticket, today, calendar)
            ):
                kept.append(ticket)
        rows = kept
    return sorted(rows, key=lambda t: (current_due(t) or date.max, t.id))


# --- identity -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reporter:
    name: str
    phone: str | None = None
    address: str | None = None


def may_see_identity(actor: Actor | None, ticket: Ticket) -> bool:
    """Anonymous: nobody. Denunciation: the assigned officer and the office head only.
    Other tickets: the office's officers. ``None`` is the office's group chat."""
    if ticket.anonymous or ticket.person_id is None:
        return False
    if ticket.type == TicketType.TO_CAO:
        if actor is None or actor.person_id is None:
            return False
        assigned = ticket.assigned_officer_id == actor.person_id and is_staff(actor, ticket)
        return assigned or is_head(actor, ticket)
    return actor is None or is_staff(actor, ticket)


async def reporter(session: AsyncSession, ticket: Ticket, viewer: Actor | None) -> Reporter | None:
    """Who filed the ticket, as far as ``viewer`` may know (``None``: the office chat,
    which gets the name only); ``None`` when it is masked for them."""
    if not may_see_identity(viewer, ticket):
        return None
    person = await session.get(Person, ticket.person_id)
    if person is None:
        return None
    if viewer is None:
        return Reporter(name=person.full_name or "—")
    resident = (await session.exec(select(Resident).where(Resident.person_id == person.id))).first()
    household = (
        await session.get(Household, resident.household_id)
        if resident is not None and resident.household_id
        else None
    )
    return Reporter(
        name=person.full_name or "—",
        phone=person.phone,
        address=household.address if household else None,
    )


# --- scheduled work ---------------------------------------------------------------------------


@dataclass
class Escalation:
    ticket_id: int
    level: int


async def due_escalations(session: AsyncSession, now: datetime) -> list[Escalation]:
    """Open late tickets and the level each should now be at, where it is not yet."""
    bound = (now + timedelta(days=1)).date()
    rows = (
        await session.exec(
            select(Ticket, Ward)
            .join(Ward, col(Ward.id) == Ticket.ward_id)
            .where(
                col(Ticket.status).in_(OPEN_STATUSES),
                col(Ticket.escalation_level) < 2,
                # No ward is a day ahead of UTC: tickets due later cannot be late yet.
                (col(Ticket.due_on) < bound) | (col(Ticket.accept_due_on) < bound),
            )
        )
    ).all()
    result = []
    for ticket, ward in rows:
        today = ward_today(ward, now)
        due = current_due(ticket)
        if due is None or today <= due:
            continue
        after = settings_of(ward).limits.escalate_to_admin_after_days
        # Late by at least `after` working days (counted after the deadline day).
        late = workdays.working_days_between(due, today, calendar=calendar_of(ward))
        level = 2 if late > after else 1
        if after == 0:
            level = 2
        if level > ticket.escalation_level:
            result.append(Escalation(ticket.id, level))  # type: ignore[arg-type]
    return result


async def escalate(session: AsyncSession, item: Escalation) -> bool:
    """Raise one ticket to ``item.level``, telling each level's people once.

    The conditional UPDATE is the claim: of several workers running this at once, one
    changes the row and tells people; the others change nothing and stay silent.
    """
    ticket = await session.get(Ticket, item.ticket_id)
    if ticket is None:
        return False
    previous = ticket.escalation_level
    due = current_due(ticket)
    result = await session.exec(
        update(Ticket)  # type: ignore[arg-type]
        .where(
            col(Ticket.id) == item.ticket_id,
            col(Ticket.escalation_level) == previous,
            col(Ticket.escalation_level) < item.level,
            col(Ticket.status).in_(OPEN_STATUSES),
            col(Ticket.due_on) == ticket.due_on
            if ticket.due_on is not None
            else col(Ticket.due_on).is_(None),
            col(Ticket.accept_due_on) == ticket.accept_due_on
            if ticket.accept_due_on is not None
            else col(Ticket.accept_due_on).is_(None),
        )
        .values(escalation_level=item.level)
        .execution_options(synchronize_session=False)
    )
    if (result.rowcount or 0) != 1:  # type: ignore[attr-defined]
        return False
    await session.refresh(ticket)
    recipients: set[int] = set()
    for level in range(previous + 1, item.level + 1):
        if level == 1:
            recipients |= set(await office_staff(session, ticket.office_id, heads_only=True))  # type: ignore[arg-type]
        else:
            recipients |= set(await ward_admins(session, ticket.ward_id))  # type: ignore[arg-type]
        await _event(
            session,
            ticket,
            "escalated",
            None,
            data={"level": level, "due_on": due.isoformat() if due else None},
            public=False,
        )
    await enqueue(
        session,
        kind="ticket.escalation",
        person_ids=recipients,
        params={"ticket_id": ticket.id, "level": item.level},
        # Just above the other personal messages (bot.delivery.outbox.Priority).
        priority=Priority.PERSONAL + 1,
        ref=("ticket", ticket.id),  # type: ignore[arg-type]
    )
    await audit.record(
        session,
        actor="system",
        action="ticket.escalate",
        entity_type="ticket",
        entity_id=ticket.id,
        ward_id=ticket.ward_id,
        data={"code": ticket.code, "level": item.level},
    )
    return True


@dataclass
class Digest:
    office: Office
    today: date
    open: list[Ticket] = field(default_factory=list)
    due_soon: list[Ticket] = field(default_factory=list)
    overdue: list[Ticket] = field(default_factory=list)


async def digest(session: AsyncSession, office_id: int, now: datetime) -> Digest:
    office = await session.get(Office, office_id)
    if office is None:
        raise NotFound()
    ward = await session.get(Ward, office.ward_id)
    today = ward_today(ward, now)  # type: ignore[arg-type]
    rows = (
        await session.exec(
            select(Ticket).where(
                Ticket.office_id == office_id, col(Ticket.status).in_(OPEN_STATUSES)
            )
        )
    ).all()
    ordered = sorted(rows, key=lambda t: (current_due(t) or date.max, t.id))
    return Digest(
        office=office,
        today=today,
        open=ordered,
        due_soon=[t for t in ordered if is_due_soon(t, today, calendar_of(ward))],  # type: ignore[arg-type]
        overdue=[t for t in ordered if is_overdue(t, today)],
    )


async def digest_offices(session: AsyncSession, now: datetime) -> list[tuple[int, date]]:
    """Offices whose digest is due today (a working day, from DIGEST_HOUR local time) and
    that have open tickets."""
    result = []
    rows = (
        await session.exec(
            select(Office, Ward)
            .join(Ward, col(Ward.id) == Office.ward_id)
            .where(
                col(Office.active),
                col(Office.id).in_(
                    select(Ticket.office_id).where(col(Ticket.status).in_(OPEN_STATUSES))
                ),
            )
        )
    ).all()
    for office, ward in rows:
        local = now.astimezone(ZoneInfo(ward.timezone))
        if local.hour < DIGEST_HOUR or not workdays.is_working_day(
            local.date(), calendar=calendar_of(ward)
        ):
            continue
        result.append((office.id, local.date()))
    return result


async def send_digest(session: AsyncSession, office_id: int, day: date) -> bool:
    """Claim today's digest of the office (one row per office and day) and queue it."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    result = await session.exec(
        insert(TicketDigest)  # type: ignore[arg-type]
        .values(office_id=office_id, day=day, sent_at=clock.now())
        .on_conflict_do_nothing(index_elements=["office_id", "day"])
    )
    if (result.rowcount or 0) != 1:  # type: ignore[attr-defined]
        return False
    office = await session.get(Office, office_id)
    assert office is not None
    params = {"office_id": office_id, "day": day.isoformat()}
    if office.chat_id is not None:
        await enqueue_chat(
            session,
            kind="ticket.digest",
            chat=GroupChat(CHANNEL, str(office.chat_id)),
            params=params,
            ref=("office", office_id),
        )
    else:
        await enqueue(
            session,
            kind="ticket.digest",
            person_ids=await office_staff(session, office_id),
            params=params,
            ref=("office", office_id),
        )
    return True


# --- export -----------------------------------------------------------------------------------


EXPORT_COLUMNS = (
    "code",
    "type",
    "category",
    "office",
    "group",
    "status",
    "filed_on",
    "due_on",
    "answered_on",
    "rating",
    "reopened",
    "identity",
)


async def export_rows(session: AsyncSession, ward_id: int) -> list[dict[str, Any]]:
    """Every ticket of the ward for reports; no personal data, only whether the ticket
    is named, anonymous or confidential."""
    tickets = (
        await session.exec(select(Ticket).where(Ticket.ward_id == ward_id).order_by(col(Ticket.id)))
    ).all()
    names: dict[tuple[str, int | None], str] = {}
    for model, key in (
        (TicketCategory, "category"),
        (Office, "office"),
        (ResidentialGroup, "group"),
    ):
        for row in (await session.exec(select(model).where(model.ward_id == ward_id))).all():
            names[(key, row.id)] = row.name
    ward = await session.get(Ward, ward_id)
    result = []
    for t in tickets:
        result.append(
            {
                "code": t.code,
                "type": t.type,
                "category": names.get(("category", t.category_id), ""),
                "office": names.get(("office", t.office_id), ""),
                "group": "" if group_hidden(t) else names.get(("group", t.group_id), ""),
                "status": t.status,
                "filed_on": ward_today(ward, t.created_at).isoformat(),  # type: ignore[arg-type]
                "due_on": (current_due(t) or "") and current_due(t).isoformat(),  # type: ignore[union-attr]
                "answered_on": ward_today(ward, t.answered_at).isoformat()  # type: ignore[arg-type]
                if t.answered_at
                else "",
                "rating": t.rating or "",
                "reopened": t.reopen_count,
                "identity": "anonymous"
                if t.anonymous
                else ("confidential" if t.type == TicketType.TO_CAO else "named"),
            }
        )
    return result


# --- for the messenger layers -------------------------------------------------------------


async def authorize_staff(session: AsyncSession, actor: Actor, ticket_id: int) -> Ticket:
    """Refuse anyone who is not an officer or head of the ticket's office."""
    ticket, _ward, _rule = await _staff_ticket(session, actor, ticket_id)
    return ticket


@dataclass
class TicketView:
    ticket: Ticket
    ward: Ward
    rule: TicketTypeRule
    category: TicketCategory
    office: Office
    group: ResidentialGroup | None
    officer: Person | None

    @property
    def today(self) -> date:
        return ward_today(self.ward)


async def view(session: AsyncSession, ticket: Ticket) -> TicketView:
    ward = await session.get(Ward, ticket.ward_id)
    category = await session.get(TicketCategory, ticket.category_id)
    office = await session.get(Office, ticket.office_id)
    assert ward is not None and category is not None and office is not None
    group = await session.get(ResidentialGroup, ticket.group_id) if ticket.group_id else None
    officer = (
        await session.get(Person, ticket.assigned_officer_id)
        if ticket.assigned_officer_id
        else None
    )
    return TicketView(ticket, ward, rule_of(ward, ticket), category, office, group, officer)


async def office_names(session: AsyncSession, ward_id: int) -> dict[int, str]:
    rows = (await session.exec(select(Office).where(Office.ward_id == ward_id))).all()
    return {row.id: row.name for row in rows}  # type: ignore[misc]


async def card_messages(session: AsyncSession, ticket_id: int) -> list[tuple[str, int, int]]:
    """Where the ticket's cards were posted in group chats: (chat, message, office)."""
    from bot.models import Delivery, DeliveryStatus

    rows = (
        await session.exec(
            select(Delivery).where(
                Delivery.kind == "ticket.card",
                Delivery.ref_type == "ticket",
                Delivery.ref_id == ticket_id,
                col(Delivery.is_group),
                Delivery.status == DeliveryStatus.SENT,
                col(Delivery.external_message_id).is_not(None),
            )
        )
    ).all()
    return [
        (row.chat_id, int(row.external_message_id), int(row.params.get("office_id") or 0))  # type: ignore[arg-type]
        for row in rows
    ]
