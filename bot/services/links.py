"""One person, one resident: a second messenger account joins the person it belongs to.

Someone registered on Telegram (their phone verified by Telegram's contact sharing)
writes to the bot on Zalo and gives the same phone. The Zalo account then joins that
person, after a code sent to their Telegram account is typed on Zalo: the same phone
alone proves nothing, since anyone can type a number. From then on the person has two
accounts and is still one resident of one household: one vote, one ticket history, and
notices on both channels, counted once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, update
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.delivery.outbox import enqueue
from bot.i18n import __
from bot.models import AccountLink, ChannelAccount, Person, Resident
from bot.services import audit
from bot.services.errors import Conflict, InvalidInput, NotAllowed
from bot.services.people import Actor, actor_for_person, normalise_phone

CODE_TTL = timedelta(minutes=15)
MAX_ATTEMPTS = 5
# Codes one registered person may be sent in an hour: asking again and again must not
# turn the bot into a way to pester them.
MAX_CODES_PER_HOUR = 3
KIND = "account.link_code"


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


async def registered_owner(session: AsyncSession, actor: Actor, phone: str) -> Person | None:
    """The other registered person whose phone this is, if any."""
    phone = normalise_phone(phone)
    return (
        await session.exec(
            select(Person)
            .join(Resident, col(Resident.person_id) == Person.id)
            .where(Person.phone == phone, Person.id != actor.person_id)
        )
    ).first()


@dataclass
class LinkRequest:
    link: AccountLink
    # Accounts the code was sent to (0: the owner cannot be reached, nothing to type).
    sent: int


async def request(session: AsyncSession, actor: Actor, phone: str) -> LinkRequest:
    """Send a code to the accounts of the registered person with this phone."""
    account = actor.account
    if account is None or account.id is None:
        raise NotAllowed()
    if actor.resident is not None:
        raise Conflict(__("This account is already registered."))
    owner = await registered_owner(session, actor, phone)
    if owner is None:
        raise InvalidInput(__("No registered resident has this phone number."))
    now = clock.now()
    recent = (
        await session.exec(
            select(func.count())
            .select_from(AccountLink)
            .where(
                AccountLink.person_id == owner.id,
                col(AccountLink.created_at) > now - timedelta(hours=1),
            )
        )
    ).one()
    if recent >= MAX_CODES_PER_HOUR:
        raise Conflict(
            __("Too many codes were sent to this person in the last hour. Please try later.")
        )
    # An earlier code for this account stops working (kept, so it still counts above).
    await session.exec(
        update(AccountLink)
        .where(col(AccountLink.account_id) == account.id, col(AccountLink.used_at).is_(None))
        .values(expires_at=now)
    )
    code = f"{secrets.randbelow(1_000_000):06d}"
    link = AccountLink(
        person_id=owner.id,
        account_id=account.id,
        code_hash=_hash(code),
        expires_at=now + CODE_TTL,
    )
    session.add(link)
    await session.flush()
    sent = await enqueue(
        session,
        kind=KIND,
        person_ids=[owner.id],  # type: ignore[list-item]
        params={"code": code, "channel": account.channel},
        ref=("account_link", link.id),  # type: ignore[arg-type]
    )
    return LinkRequest(link, sent)


@dataclass
class Confirmation:
    # The person the account joined; None when the code was wrong.
    actor: Actor | None
    tries_left: int


async def confirm(session: AsyncSession, actor: Actor, code: str) -> Confirmation:
    """Join this account to the person the code was sent to.

    A wrong code is an outcome, not an error: the failed try must be written (the caller
    commits), or guessing would cost nothing. Conflict when no code is valid any more."""
    account = actor.account
    if account is None:
        raise NotAllowed()
    link = (
        await session.exec(
            select(AccountLink)
            .where(AccountLink.account_id == account.id, col(AccountLink.used_at).is_(None))
            .order_by(col(AccountLink.id).desc())
        )
    ).first()
    now = clock.now()
    if link is None or link.expires_at <= now or link.attempts >= MAX_ATTEMPTS:
        raise Conflict(__("This code has expired. Please ask for a new one."))
    link.attempts += 1
    session.add(link)
    typed = "".join(ch for ch in code if ch.isdigit())
    if not hmac.compare_digest(_hash(typed), link.code_hash):
        await session.flush()
        return Confirmation(None, MAX_ATTEMPTS - link.attempts)
    link.used_at = now
    provisional = account.person_id
    owner = await session.get(Person, link.person_id)
    assert owner is not None
    # The owner may have had an account on this channel already (an old Zalo account):
    # the new one takes its place, so the person is reached once per channel.
    await session.exec(
        delete(ChannelAccount).where(
            col(ChannelAccount.person_id) == owner.id,
            col(ChannelAccount.channel) == account.channel,
            col(ChannelAccount.id) != account.id,
        )
    )
    account.person_id = owner.id
    session.add(account)
    await session.flush()
    await _drop_provisional(session, provisional)
    await audit.record(
        session,
        actor=audit.actor_of(owner.id),
        action="account.link",
        entity_type="person",
        entity_id=owner.id,
        data={"channel": account.channel, "account_id": account.id},
    )
    return Confirmation(
        await actor_for_person(session, owner, account), MAX_ATTEMPTS - link.attempts
    )


def wrong_code_message(confirmation: Confirmation) -> str:
    """What to tell someone who typed a wrong code, in the current language."""
    if confirmation.tries_left <= 0:
        return str(__("This code is not right, and no tries are left. Please ask for a new one."))
    return str(__("This code is not right. You have {left} tries left.")).format(
        left=confirmation.tries_left
    )


async def _drop_provisional(session: AsyncSession, person_id: int | None) -> None:
    """The person first contact created for the account, now empty, goes."""
    if person_id is None:
        return
    others = (
        await session.exec(select(ChannelAccount.id).where(ChannelAccount.person_id == person_id))
    ).first()
    resident = (
        await session.exec(select(Resident.id).where(Resident.person_id == person_id))
    ).first()
    if others is None and resident is None:
        person = await session.get(Person, person_id)
        if person is not None:
            await session.delete(person)
            await session.flush()


async def linked_channels(session: AsyncSession, person_id: int) -> list[str]:
    rows = await session.exec(
        select(ChannelAccount.channel).where(ChannelAccount.person_id == person_id)
    )
    return sorted(set(rows.all()))


__all__ = ["Confirmation", "LinkRequest", "confirm", "linked_channels", "request"]
