"""People and who they are in the ward: their accounts, residency and roles.

``Actor`` is what every handler passes to a service: the server-side truth about the
person behind an update, loaded fresh for each update, so a role revoked a minute ago
is already gone.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import phonenumbers
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import __, normalise_language
from bot.models import ChannelAccount, Person, Resident, Role, RoleGrant
from bot.services.errors import InvalidInput, NotAllowed

NAME_MAX = 100


@dataclass
class Actor:
    person: Person | None
    account: ChannelAccount | None = None
    resident: Resident | None = None
    grants: list[RoleGrant] = field(default_factory=list)

    @property
    def person_id(self) -> int | None:
        return self.person.id if self.person else None

    @property
    def language(self) -> str | None:
        return self.person.language if self.person else None

    @property
    def is_verified_resident(self) -> bool:
        return self.resident is not None and self.resident.status == "verified"

    def has_role(self, role: Role) -> bool:
        return any(g.role == role for g in self.grants)

    def is_admin_of(self, ward_id: int | None) -> bool:
        return any(g.role == Role.ADMIN and g.ward_id == ward_id for g in self.grants)

    def is_leader_of(self, group_id: int | None) -> bool:
        return any(g.role == Role.LEADER and g.group_id == group_id for g in self.grants)

    def led_group_ids(self) -> list[int]:
        return [g.group_id for g in self.grants if g.role == Role.LEADER and g.group_id]

    def admin_ward_ids(self) -> list[int]:
        return [g.ward_id for g in self.grants if g.role == Role.ADMIN and g.ward_id]

    def office_ids(self, *, heads_only: bool = False) -> list[int]:
        roles = {Role.OFFICE_HEAD} if heads_only else {Role.OFFICER, Role.OFFICE_HEAD}
        return [g.office_id for g in self.grants if g.role in roles and g.office_id]

    def inspected_ward_ids(self) -> list[int]:
        return [g.ward_id for g in self.grants if g.role == Role.INSPECTOR and g.ward_id]

    def require_person(self) -> Person:
        if self.person is None or self.person.id is None:
            raise NotAllowed()
        return self.person


async def load_actor(session: AsyncSession, channel: str, external_id: str) -> Actor:
    account = (
        await session.exec(
            select(ChannelAccount).where(
                ChannelAccount.channel == channel, ChannelAccount.external_id == external_id
            )
        )
    ).first()
    if account is None:
        return Actor(person=None)
    person = await session.get(Person, account.person_id)
    return await actor_for_person(session, person, account)


async def actor_for_person(
    session: AsyncSession, person: Person | None, account: ChannelAccount | None = None
) -> Actor:
    if person is None:
        return Actor(person=None)
    resident = (await session.exec(select(Resident).where(Resident.person_id == person.id))).first()
    grants = list(
        (
            await session.exec(
                select(RoleGrant).where(
                    RoleGrant.person_id == person.id, col(RoleGrant.revoked_at).is_(None)
                )
            )
        ).all()
    )
    return Actor(person=person, account=account, resident=resident, grants=grants)


async def ensure_person(
    session: AsyncSession,
    *,
    channel: str,
    external_id: str,
    chat_id: str,
    username: str | None,
    language: str | None,
) -> Actor:
    """The person behind a messenger account, created on first contact."""
    actor = await load_actor(session, channel, external_id)
    if actor.person is not None and actor.account is not None:
        if actor.account.username != username or actor.account.blocked_at is not None:
            # Writing to us again means they unblocked the bot.
            actor.account.username = username
            actor.account.blocked_at = None
        return actor
    person = Person(language=normalise_language(language))
    session.add(person)
    await session.flush()
    account = ChannelAccount(
        person_id=person.id,
        channel=channel,
        external_id=external_id,
        chat_id=chat_id,
        username=username,
    )
    session.add(account)
    await session.flush()
    return Actor(person=person, account=account)


async def set_language(session: AsyncSession, actor: Actor, language: str) -> None:
    person = actor.require_person()
    person.language = normalise_language(language)
    session.add(person)
    await session.flush()


async def accounts_of(
    session: AsyncSession, person_ids: list[int], channel: str | None = None
) -> list[ChannelAccount]:
    if not person_ids:
        return []
    query = select(ChannelAccount).where(col(ChannelAccount.person_id).in_(person_ids))
    if channel:
        query = query.where(ChannelAccount.channel == channel)
    return list((await session.exec(query)).all())


# --- input cleaning ----------------------------------------------------------------

_INVISIBLE = {"Cc", "Cf", "Co", "Cs", "Cn"}


def clean_text(value: str | None, *, max_length: int, min_length: int = 1) -> str:
    """NFC, collapsed whitespace, no control or invisible characters."""
    if value is None:
        raise InvalidInput(__("Please send this as text."))
    text = unicodedata.normalize("NFC", value)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in _INVISIBLE or ch == "\n")
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if len(text) < min_length:
        raise InvalidInput(__("This is empty. Please write it again."))
    if len(text) > max_length:
        raise InvalidInput(
            __("This is too long: at most {limit} characters, you sent {length}."),
            limit=max_length,
            length=len(text),
        )
    return text


def clean_name(value: str | None) -> str:
    name = clean_text(value, max_length=NAME_MAX)
    name = " ".join(name.split())
    # A name needs letters: emoji, digits or punctuation alone are not a name.
    if sum(1 for ch in name if ch.isalpha()) < 2:
        raise InvalidInput(__("Please write your full name in letters, e.g. Nguyễn Văn An."))
    return name


def profile_name(*parts: str | None) -> str | None:
    """The name a messenger profile shows (Telegram sends first and last name with every
    message), cleaned as a typed name is; None when it holds no usable name."""
    try:
        return clean_name(" ".join(p for p in parts if p)[:NAME_MAX])
    except InvalidInput:
        return None


async def fill_name(session: AsyncSession, actor: Actor, name: str | None) -> None:
    """Give someone with no name the one their profile shows. People who hold a role by
    invitation never type a name, and every card they act on must say who acted."""
    person = actor.person
    if person is None or person.full_name or not name:
        return
    person.full_name = name
    session.add(person)
    await session.flush()


def normalise_phone(raw: str | None) -> str:
    """E.164 for a Vietnamese or international number; InvalidInput otherwise."""
    if not raw:
        raise InvalidInput(__("This phone number is not valid."))
    candidate = raw.strip()
    if candidate.startswith("84") and not candidate.startswith("+"):
        candidate = "+" + candidate
    try:
        number = phonenumbers.parse(candidate, "VN")
    except phonenumbers.NumberParseException:
        raise InvalidInput(__("This phone number is not valid.")) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(__("This phone number is not valid."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(phone: str | None) -> str:
    """+84912345678 → +849•••••678, for lists where the full number is not needed."""
    if not phone:
        return "—"
    return phone[:4] + "•" * max(len(phone) - 7, 0) + phone[-3:]
