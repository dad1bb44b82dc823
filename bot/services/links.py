"""One person, one resident: a second messenger account joins the person it belongs to.

Someone registered on Telegram (their phone verified by Telegram's contact sharing)
writes to the bot on Zalo and asks to link. The Zalo account then joins that person,
after a code sent to their Telegram account is typed on Zalo: the same phone alone
proves nothing, since anyone can type a number. From then on the person has two
accounts and is still one resident of one household: one vote, one ticket history, and
notices on both channels, counted once.

Nobody learns from asking whether a number is registered: a request for a number no
verified resident holds is answered, stored and counted exactly like a real one (a code
that nothing can match). Requests are limited per requester and per number. Every other
account of the person is told when an account joins, and any of them can undo it.
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
from bot.services.errors import Conflict, NotAllowed, NotFound
from bot.services.people import Actor, actor_for_person, normalise_phone
from bot.services.registration import holders

CODE_TTL = timedelta(minutes=15)
MAX_ATTEMPTS = 5
# Codes one registered person may be sent in an hour: asking again and again must not
# turn the bot into a way to pester them. Past it, requests are answered as usual but
# send nothing (saying so would tell the asker that the number is registered).
MAX_CODES_PER_HOUR = 3
# Requests one account may make, whatever the numbers: each is a chance to guess a code
# and to probe a number.
MAX_REQUESTS_PER_HOUR = 3
MAX_REQUESTS_PER_DAY = 6
KIND = "account.link_code"
LINKED_KIND = "account.linked"
UNLINKED_KIND = "account.unlinked"


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


async def registered_owner(session: AsyncSession, actor: Actor, phone: str) -> Person | None:
    """The other registered person who holds this phone (verified by their messenger)."""
    return (await session.exec(holders(normalise_phone(phone), other_than=actor.person_id))).first()


@dataclass
class LinkRequest:
    link: AccountLink
    # Accounts the code was sent to. Callers must not show it: it says whether the
    # number is registered.
    sent: int


async def _count(session: AsyncSession, *conditions: object) -> int:
    return int(
        (await session.exec(select(func.count()).select_from(AccountLink).where(*conditions))).one()
    )


async def request(session: AsyncSession, actor: Actor, phone: str) -> LinkRequest:
    """Send a code to the accounts of the registered person who holds this phone."""
    account = actor.account
    if account is None or account.id is None:
        raise NotAllowed()
    if actor.resident is not None and actor.resident.status != "rejected":
        raise Conflict(__("This account is already registered."))
    phone = normalise_phone(phone)
    now = clock.now()
    mine = AccountLink.account_id == account.id
    if (
        await _count(session, mine, col(AccountLink.created_at) > now - timedelta(hours=1))
        >= MAX_REQUESTS_PER_HOUR
        or await _count(session, mine, col(AccountLink.created_at) > now - timedelta(days=1))
        >= MAX_REQUESTS_PER_DAY
    ):
        raise Conflict(__("You have asked for too many codes. Please try again later."))
    owner = await registered_owner(session, actor, phone)
    if owner is not None and (
        await _count(
            session,
            AccountLink.person_id == owner.id,
            col(AccountLink.created_at) > now - timedelta(hours=1),
        )
        >= MAX_CODES_PER_HOUR
    ):
        owner = None
    # An earlier code for this account stops working (kept, so it still counts above).
    await session.exec(
        update(AccountLink)
        .where(col(AccountLink.account_id) == account.id, col(AccountLink.used_at).is_(None))
        .values(expires_at=now)
    )
    code = f"{secrets.randbelow(1_000_000):06d}"
    link = AccountLink(
        person_id=owner.id if owner else None,
        account_id=account.id,
        # Without an owner, the hash of nothing any typed code can produce.
        code_hash=_hash(code) if owner else secrets.token_hex(32),
        expires_at=now + CODE_TTL,
    )
    session.add(link)
    await session.flush()
    sent = 0
    if owner is not None:
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


async def confirm(
    session: AsyncSession, actor: Actor, code: str, *, display_name: str | None = None
) -> Confirmation:
    """Join this account to the person the code was sent to.

    A wrong code is an outcome, not an error: the failed try must be written (the caller
    commits), or guessing would cost nothing. Conflict when no code is valid any more.
    ``display_name`` is the account's name on its messenger, shown to the person's other
    accounts so they recognise (or not) the account that joined."""
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
    if link.person_id is None or not hmac.compare_digest(_hash(typed), link.code_hash):
        await session.flush()
        return Confirmation(None, MAX_ATTEMPTS - link.attempts)
    link.used_at = now
    provisional = account.person_id
    owner = await session.get(Person, link.person_id)
    assert owner is not None
    # Told first, so an account the new one replaces below hears of it too.
    await enqueue(
        session,
        kind=LINKED_KIND,
        person_ids=[owner.id],  # type: ignore[list-item]
        params={
            "account_id": account.id,
            "channel": account.channel,
            "name": (display_name or "").strip()[:64],
            "at": now.isoformat(),
        },
        ref=("account_link", link.id),  # type: ignore[arg-type]
    )
    # The owner may have had an account on this channel already (an old Zalo account):
    # the new one takes its place, so the person is reached once per channel.
    await session.exec(
        delete(ChannelAccount).where(
            col(ChannelAccount.person_id) == owner.id,
            col(ChannelAccount.channel) == account.channel,
            col(ChannelAccount.id) != account.id,
        )
    )
    await _move(session, account, to=owner.id, owner=owner.id, action="account.link")  # type: ignore[arg-type]
    await _drop_provisional(session, provisional)
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


async def linked_account(session: AsyncSession, actor: Actor, account_id: int) -> ChannelAccount:
    """An account that joined the actor's person with a code (the one an undo detaches).

    The person's first account never qualifies: an account that joined cannot undo the
    others."""
    account = await session.get(ChannelAccount, account_id)
    if account is None or actor.person_id is None or account.person_id != actor.person_id:
        raise NotFound(__("This account is no longer linked to your registration."))
    joined = (
        await session.exec(
            select(AccountLink.id).where(
                AccountLink.account_id == account.id,
                AccountLink.person_id == actor.person_id,
                col(AccountLink.used_at).is_not(None),
            )
        )
    ).first()
    if joined is None:
        raise NotAllowed()
    return account


async def unlink(session: AsyncSession, actor: Actor, account_id: int) -> ChannelAccount:
    """Detach an account that joined the actor's person: it becomes a new, unregistered
    person again. Any account of the person may do it (the joined one too)."""
    account = await linked_account(session, actor, account_id)
    owner = actor.require_person()
    fresh = Person(language=owner.language)
    session.add(fresh)
    await session.flush()
    await _move(session, account, to=fresh.id, owner=owner.id, action="account.unlink")  # type: ignore[arg-type]
    await enqueue(
        session,
        kind=UNLINKED_KIND,
        person_ids=[owner.id, fresh.id],  # type: ignore[list-item]
        params={"channel": account.channel},
    )
    return account


async def _move(
    session: AsyncSession, account: ChannelAccount, *, to: int, owner: int, action: str
) -> None:
    """The account now belongs to person ``to``; the owner's audit trail says so."""
    account.person_id = to
    session.add(account)
    await session.flush()
    await audit.record(
        session,
        actor=audit.actor_of(owner),
        action=action,
        entity_type="person",
        entity_id=owner,
        data={"channel": account.channel, "account_id": account.id},
    )


async def _drop_provisional(session: AsyncSession, person_id: int | None) -> None:
    """The person first contact created for the account, now empty, goes. One with a
    registration stays (a rejected one may still be the author of a ticket)."""
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


__all__ = [
    "Confirmation",
    "LinkRequest",
    "confirm",
    "linked_account",
    "linked_channels",
    "request",
    "unlink",
]
