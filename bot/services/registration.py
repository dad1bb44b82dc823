"""A resident registers: group, name, own phone, household address; the leader decides.

A new address creates a household with the resident as its representative; a known
address adds a member. A phone on the leader's household list verifies at once, but
only a phone the messenger vouched for (Telegram's contact button: the person's own
number). A typed phone (Zalo) proves nothing: it never matches the list, never makes
anyone a representative, and never holds the number against anyone else; the leader
reviews such a registration and calls the number. When the number is later verified
on Telegram by someone, the verified one wins and the typed registration goes back to
the leader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.delivery.outbox import enqueue
from bot.i18n import __
from bot.models import (
    ChannelAccount,
    Household,
    Person,
    Resident,
    ResidentialGroup,
    Role,
    RoleGrant,
)
from bot.services import audit, households
from bot.services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.services.people import Actor, clean_name, clean_text, normalise_phone

ADDRESS_MAX = 200


@dataclass
class Registration:
    resident: Resident
    household: Household
    group: ResidentialGroup
    verified_at_once: bool
    reviewers_notified: int


def holders(phone: str, *, other_than: int | None = None) -> Any:
    """People who hold ``phone``: verified by their messenger, with a registration that
    was not rejected. A typed phone, or a rejected registration, holds nothing."""
    query = (
        select(Person)
        .join(Resident, col(Resident.person_id) == Person.id)
        .where(
            Person.phone == phone,
            col(Person.phone_verified_at).is_not(None),
            Resident.status != "rejected",
        )
    )
    if other_than is not None:
        query = query.where(Person.id != other_than)
    return query


async def check_phone_free(
    session: AsyncSession, actor: Actor, phone: str, *, verified: bool = False
) -> str:
    """Normalise the phone; a verified one is refused if someone else holds it already.

    A typed phone is never refused for being someone else's: refusing it would tell a
    stranger that the number is registered, and accepting it reserves nothing."""
    phone = normalise_phone(phone)
    if not verified:
        return phone
    other = (await session.exec(holders(phone, other_than=actor.person_id))).first()
    if other is not None:
        raise Conflict(
            __(
                "This phone number is already registered to another account. "
                "If it is yours, ask your group leader for help."
            )
        )
    return phone


async def submit(
    session: AsyncSession,
    actor: Actor,
    *,
    group_id: int,
    full_name: str,
    phone: str,
    address: str,
    phone_verified: bool = False,
) -> Registration:
    """``phone_verified``: the messenger itself gave the phone as the person's own
    (Telegram's contact button); False for a typed number."""
    person = actor.require_person()
    if actor.resident is not None and actor.resident.status != "rejected":
        raise Conflict(__("You are already registered. To move, use ⚙️ Settings."))
    group = await session.get(ResidentialGroup, group_id)
    if group is None or not group.active:
        raise NotFound(__("This residential group no longer exists. Please choose again."))
    person.full_name = clean_name(full_name)
    person.phone = await check_phone_free(session, actor, phone, verified=phone_verified)
    person.phone_verified_at = clock.now() if phone_verified else None
    address = clean_text(address, max_length=ADDRESS_MAX, min_length=3)
    session.add(person)

    resident = actor.resident
    if resident is None:
        resident = Resident(person_id=person.id, ward_id=group.ward_id, group_id=group.id)
        session.add(resident)
    else:  # a rejected resident tries again
        resident.ward_id, resident.group_id = group.ward_id, group.id
        resident.household_id, resident.is_representative = None, False
        resident.decided_at = resident.decided_by_id = resident.decision_note = None
    resident.status = "pending"
    resident.requested_at = clock.now()
    await session.flush()
    actor.resident = resident
    if phone_verified:
        await _review_typed_claims(session, person)
    return await _place(session, actor, resident, group, address, action="resident.register")


async def _review_typed_claims(session: AsyncSession, owner: Person) -> None:
    """The number's owner verified it: registrations that only typed it go back to their
    leader, who decides again knowing the number is someone else's."""
    claims = (
        await session.exec(
            select(Resident)
            .join(Person, col(Person.id) == Resident.person_id)
            .where(
                Person.phone == owner.phone,
                Person.id != owner.id,
                col(Person.phone_verified_at).is_(None),
                Resident.status != "rejected",
            )
        )
    ).all()
    for claim in claims:
        group = await session.get(ResidentialGroup, claim.group_id)
        assert group is not None
        was = claim.status
        claim.status = "pending"
        claim.decided_at = claim.decided_by_id = None
        claim.decision_note = None
        session.add(claim)
        await session.flush()
        await audit.record(
            session,
            actor=audit.actor_of(owner.id),
            action="resident.review_again",
            entity_type="resident",
            entity_id=claim.id,
            ward_id=group.ward_id,
            data={"reason": "phone verified by another person", "was": was},
        )
        household = await session.get(Household, claim.household_id) if claim.household_id else None
        if household is not None:
            await _ask_reviewers(session, claim, group, household)
        if was == "verified":
            await enqueue(
                session,
                kind="registration.review_again",
                person_ids=[claim.person_id] if claim.person_id else [],
                params={"group": group.name},
                ref=("resident", claim.id),  # type: ignore[arg-type]
            )


async def move(session: AsyncSession, actor: Actor, *, group_id: int, address: str) -> Registration:
    """Change group or household; the new group's leader verifies again."""
    resident = actor.resident
    if resident is None:
        raise NotAllowed(__("You are not registered yet. Send /start to register."))
    group = await session.get(ResidentialGroup, group_id)
    if group is None or not group.active:
        raise NotFound(__("This residential group no longer exists. Please choose again."))
    address = clean_text(address, max_length=ADDRESS_MAX, min_length=3)
    await households.leave_household(session, resident)
    resident.ward_id, resident.group_id = group.ward_id, group.id
    resident.status = "pending"
    resident.requested_at = clock.now()
    resident.decided_at = resident.decided_by_id = resident.decision_note = None
    session.add(resident)
    await session.flush()
    return await _place(session, actor, resident, group, address, action="resident.move")


async def _place(
    session: AsyncSession,
    actor: Actor,
    resident: Resident,
    group: ResidentialGroup,
    address: str,
    *,
    action: str,
) -> Registration:
    person = actor.require_person()
    # Only a verified phone is evidence of who someone is.
    listed = (
        await households.roster_match(session, group.id, person.phone)
        if person.phone_verified_at is not None
        else None
    )
    if listed is not None:
        household = await session.get(Household, listed.household_id)
        assert household is not None
        await households.join(session, resident, household, representative=listed.is_representative)
        resident.status = "verified"
        resident.decided_at = clock.now()
        resident.decision_note = "roster"
        reviewers = 0
    else:
        household, created = await households.find_or_create(session, group.id, address)
        await households.join(session, resident, household, representative=created)
        reviewers = await _ask_reviewers(session, resident, group, household)
    session.add(resident)
    await session.flush()
    await audit.record(
        session,
        actor=audit.actor_of(person.id),
        action=action,
        entity_type="resident",
        entity_id=resident.id,
        ward_id=group.ward_id,
        data={
            "group_id": group.id,
            "household_id": household.id,
            "status": resident.status,
            "representative": resident.is_representative,
        },
    )
    return Registration(resident, household, group, listed is not None, reviewers)


async def _ask_reviewers(
    session: AsyncSession, resident: Resident, group: ResidentialGroup, household: Household
) -> int:
    reviewers = await reviewers_of(session, group)
    return await enqueue(
        session,
        kind="registration.request",
        person_ids=reviewers,
        params={"resident_id": resident.id},
        ref=("resident", resident.id),
    )


async def reviewers_of(session: AsyncSession, group: ResidentialGroup) -> list[int]:
    """The group's leaders; the ward's admins when the group has no leader yet."""
    for role, column, value in (
        (Role.LEADER, RoleGrant.group_id, group.id),
        (Role.ADMIN, RoleGrant.ward_id, group.ward_id),
    ):
        ids = list(
            (
                await session.exec(
                    select(RoleGrant.person_id).where(
                        RoleGrant.role == role,
                        column == value,
                        col(RoleGrant.revoked_at).is_(None),
                    )
                )
            ).all()
        )
        if ids:
            return [i for i in ids if i is not None]
    return []


@dataclass
class PendingRequest:
    resident: Resident
    person: Person
    household: Household | None
    group: ResidentialGroup
    # The messengers the person uses: a phone is verified by Telegram's contact sharing,
    # but only typed on Zalo, so the reviewer is told to call it.
    channels: list[str] = field(default_factory=list)
    # Someone else verified this (typed) number as their own: the reviewer is told.
    verified_by_other: Person | None = None

    @property
    def phone_verified(self) -> bool:
        return self.person.phone_verified_at is not None


async def get_request(session: AsyncSession, resident_id: int) -> PendingRequest:
    resident = await session.get(Resident, resident_id)
    if resident is None:
        raise NotFound(__("This registration no longer exists."))
    person = await session.get(Person, resident.person_id)
    group = await session.get(ResidentialGroup, resident.group_id)
    household = (
        await session.get(Household, resident.household_id) if resident.household_id else None
    )
    assert person is not None and group is not None
    channels = sorted(
        set(
            (
                await session.exec(
                    select(ChannelAccount.channel).where(ChannelAccount.person_id == person.id)
                )
            ).all()
        )
    )
    other = None
    if person.phone_verified_at is None and person.phone:
        other = (await session.exec(holders(person.phone, other_than=person.id))).first()
    return PendingRequest(resident, person, household, group, channels, other)


def _may_review(actor: Actor, group: ResidentialGroup) -> bool:
    return actor.is_leader_of(group.id) or actor.is_admin_of(group.ward_id)


async def review_request(session: AsyncSession, actor: Actor, resident_id: int) -> PendingRequest:
    """A request as its reviewer may see it (with the phone, to call the resident)."""
    request = await get_request(session, resident_id)
    if not _may_review(actor, request.group):
        raise NotAllowed()
    return request


async def pending(session: AsyncSession, actor: Actor) -> list[PendingRequest]:
    group_ids = set(actor.led_group_ids())
    ward_ids = actor.admin_ward_ids()
    if ward_ids:
        group_ids |= set(
            (
                await session.exec(
                    select(ResidentialGroup.id).where(col(ResidentialGroup.ward_id).in_(ward_ids))
                )
            ).all()
        )
    if not group_ids:
        raise NotAllowed()
    residents = (
        await session.exec(
            select(Resident)
            .where(col(Resident.group_id).in_(group_ids), Resident.status == "pending")
            .order_by(col(Resident.requested_at))
        )
    ).all()
    return [await get_request(session, r.id) for r in residents if r.id is not None]


async def decide(
    session: AsyncSession, actor: Actor, resident_id: int, *, approve: bool, note: str | None = None
) -> PendingRequest:
    request = await get_request(session, resident_id)
    if not _may_review(actor, request.group):
        raise NotAllowed()
    resident = request.resident
    if resident.status != "pending":
        raise Conflict(__("This request has already been decided."))
    if note is not None:
        note = clean_text(note, max_length=500)
    resident.status = "verified" if approve else "rejected"
    resident.decided_at = clock.now()
    resident.decided_by_id = actor.person_id
    resident.decision_note = note
    if approve and request.household is not None:
        request.household.verified = True
        session.add(request.household)
    if not approve:
        await households.leave_household(session, resident)
    session.add(resident)
    await session.flush()
    await audit.record(
        session,
        actor=audit.actor_of(actor.person_id),
        action="resident.approve" if approve else "resident.reject",
        entity_type="resident",
        entity_id=resident.id,
        ward_id=request.group.ward_id,
        data={"group_id": request.group.id, "household_id": resident.household_id},
    )
    await enqueue(
        session,
        kind="registration.decision",
        person_ids=[resident.person_id] if resident.person_id else [],
        params={"approved": approve, "group": request.group.name, "note": note},
        ref=("resident", resident_id),
    )
    return request


def require_text(value: str | None) -> str:
    if value is None:
        raise InvalidInput(__("Please send this as text."))
    return value
