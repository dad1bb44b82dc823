"""Sample data for the demo: a few hundred households of Phường Ba Đình, and the people a
visitor can play (a resident, a group leader, an officer, an administrator...).

Each feature adds what it needs to show (notices, an open vote, tickets) with a function
registered by ``@seeder``; it runs after the households and people exist, through the
feature's own services, so the demo shows what the product really does.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.emulator import EmulatorClient
from bot.models import (
    ChannelAccount,
    Household,
    Office,
    Person,
    Resident,
    ResidentialGroup,
    Role,
    RoleGrant,
    RosterEntry,
    Ward,
)
from bot.services.households import address_key
from bot.services.people import Actor, actor_for_person
from bot.services.wards import active_groups, find_office

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô", "Dương", "Lý"]
MIDDLE_MALE = ["Văn", "Đức", "Minh", "Quang", "Hữu"]
MIDDLE_FEMALE = ["Thị", "Thu", "Ngọc", "Thanh", "Kim"]
GIVEN_MALE = ["An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khánh", "Long", "Nam", "Phúc", "Quân"]
GIVEN_FEMALE = ["Anh", "Châu", "Dung", "Giang", "Hà", "Hoa", "Lan", "Mai", "Nga", "Oanh", "Yến"]
STREETS = ["Lê Lợi", "Trần Phú", "Nguyễn Huệ", "Quang Trung", "Hai Bà Trưng", "Lý Thường Kiệt"]


@dataclass
class Persona:
    key: str
    tag: str
    label: str
    first_name: str
    last_name: str
    user_id: int = 0
    actor: Actor | None = None


@dataclass
class Seeding:
    """What feature seeders get: the open session, the ward and the people to act as."""

    session: AsyncSession
    ward: Ward
    groups: list[ResidentialGroup]
    personas: dict[str, Persona] = field(default_factory=dict)
    group_chats: dict[str, int] = field(default_factory=dict)
    rng: random.Random = field(default_factory=lambda: random.Random(2025))

    def actor(self, key: str) -> Actor:
        actor = self.personas[key].actor
        assert actor is not None
        return actor


Seeder = Callable[[Seeding], Awaitable[None]]
_seeders: list[tuple[int, Seeder]] = []


def seeder(order: int = 50) -> Callable[[Seeder], Seeder]:
    def register(func: Seeder) -> Seeder:
        _seeders.append((order, func))
        return func

    return register


def full_name(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_MALE)} {rng.choice(GIVEN_MALE)}"
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_FEMALE)} {rng.choice(GIVEN_FEMALE)}"


async def households(seeding: Seeding, per_group: int) -> int:
    """Households as a leader's list would give them, each with a verified representative
    who is not on the messenger (most residents at first are not)."""
    session, rng = seeding.session, seeding.rng
    count = 0
    for group in seeding.groups:
        for n in range(1, per_group + 1):
            address = f"Số {n}, ngõ {rng.randint(1, 30)}, đường {rng.choice(STREETS)}"
            household = Household(
                group_id=group.id,
                address=address,
                address_key=address_key(address),
                source="roster",
                verified=True,
            )
            session.add(household)
            await session.flush()
            name = full_name(rng)
            phone = f"+849{rng.randint(10_000_000, 99_999_999)}"
            session.add(
                RosterEntry(
                    group_id=group.id,
                    household_id=household.id,
                    full_name=name,
                    phone=phone,
                    is_representative=True,
                )
            )
            person = Person(full_name=name, phone=phone)
            session.add(person)
            await session.flush()
            session.add(
                Resident(
                    person_id=person.id,
                    ward_id=group.ward_id,
                    group_id=group.id,
                    household_id=household.id,
                    is_representative=True,
                    status="verified",
                )
            )
            count += 1
    await session.flush()
    return count


PERSONAS = [
    Persona("newcomer", "newcomer", "Người mới — chưa đăng ký (thử đăng ký)", "Khách", "Người"),
    Persona(
        "resident", "resident", "Người dân — Nguyễn Văn An, Khu phố 1 (chủ hộ)", "An", "Nguyễn Văn"
    ),
    Persona("resident2", "resident", "Người dân — Trần Thị Bình, Khu phố 1", "Bình", "Trần Thị"),
    Persona("leader", "leader", "Tổ trưởng — Lê Văn Cường, Khu phố 1", "Cường", "Lê Văn"),
    Persona(
        "officer", "officer", "Cán bộ — Phạm Thị Dung, Địa chính - Xây dựng", "Dung", "Phạm Thị"
    ),
    Persona("head", "officer", "Lãnh đạo bộ phận — Hoàng Văn Em, Địa chính", "Em", "Hoàng Văn"),
    Persona("admin", "admin", "Văn phòng UBND phường — Vũ Thị Giang", "Giang", "Vũ Thị"),
    Persona("inspector", "inspector", "Ban Thanh tra nhân dân — Đặng Văn Hùng", "Hùng", "Đặng Văn"),
]


async def personas(seeding: Seeding, people: EmulatorClient) -> None:
    session = seeding.session
    kp01 = seeding.groups[0]
    office = await find_office(session, "DCXD", seeding.ward.code)
    for template in PERSONAS:
        persona = Persona(**{**template.__dict__})
        user = await people.create_user(
            persona.first_name,
            last_name=persona.last_name,
            username=f"demo_{persona.key}",
            label=persona.label,
            persona=[persona.tag],
        )
        persona.user_id = int(user["id"])
        seeding.personas[persona.key] = persona
        if persona.key == "newcomer":
            continue
        person = Person(
            full_name=f"{persona.last_name} {persona.first_name}",
            # The number the emulator's contact button shares for this person.
            phone=user.get("phone_number"),
        )
        session.add(person)
        await session.flush()
        session.add(
            ChannelAccount(
                person_id=person.id,
                channel="telegram",
                external_id=str(persona.user_id),
                chat_id=str(persona.user_id),
                username=user.get("username"),
            )
        )
        if persona.key in ("resident", "resident2", "leader"):
            household = await _household_for(session, kp01, persona.key)
            session.add(
                Resident(
                    person_id=person.id,
                    ward_id=kp01.ward_id,
                    group_id=kp01.id,
                    household_id=household.id,
                    is_representative=persona.key != "resident2",
                    status="verified",
                )
            )
        for role, scope in _roles(persona.key, seeding.ward, kp01, office):
            session.add(RoleGrant(person_id=person.id, role=role, **scope))
        await session.flush()
        persona.actor = await actor_for_person(session, person)
        # As on Telegram, the bot may only write to people who started it; the bot answers
        # this /start with the person's menu once it runs.
        await people.send_command(persona.user_id, "start")


HOMES = {
    "resident": "Số 12, ngõ 5, đường Lê Lợi",
    "resident2": "Số 12, ngõ 5, đường Lê Lợi",
    "leader": "Số 3, ngõ 1, đường Trần Phú",
}


async def _household_for(session: AsyncSession, group: ResidentialGroup, key: str) -> Household:
    address = HOMES[key]
    found = (
        await session.exec(
            select(Household).where(
                Household.group_id == group.id, Household.address_key == address_key(address)
            )
        )
    ).first()
    if found is not None:
        return found
    household = Household(
        group_id=group.id,
        address=address,
        address_key=address_key(address),
        source="roster",
        verified=True,
    )
    session.add(household)
    await session.flush()
    return household


def _roles(
    key: str, ward: Ward, group: ResidentialGroup, office: Office
) -> list[tuple[Role, dict[str, int | None]]]:
    return {
        "leader": [(Role.LEADER, {"ward_id": ward.id, "group_id": group.id})],
        "officer": [(Role.OFFICER, {"ward_id": ward.id, "office_id": office.id})],
        "head": [(Role.OFFICE_HEAD, {"ward_id": ward.id, "office_id": office.id})],
        "admin": [(Role.ADMIN, {"ward_id": ward.id})],
        "inspector": [(Role.INSPECTOR, {"ward_id": ward.id})],
    }.get(key, [])


async def group_chats(seeding: Seeding, people: EmulatorClient, bot_id: int) -> None:
    """The group's residents' chat and the office's working chat, the bot in both."""
    session = seeding.session
    p = seeding.personas
    kp01 = seeding.groups[0]
    office = await find_office(session, "DCXD", seeding.ward.code)
    plans = [
        ("group", kp01, f"{kp01.name} — nhóm cư dân", ["leader", "resident", "resident2"]),
        ("office", office, f"Bộ phận {office.name}", ["head", "officer"]),
    ]
    for kind, row, title, members in plans:
        chat = await people.create_group(
            title,
            members=[(p[members[0]].user_id, "creator")]
            + [(p[m].user_id, "member") for m in members[1:]],
        )
        await people.add_bot_to_group(chat["id"], bot_id=bot_id, by_user_id=p[members[0]].user_id)
        row.chat_id = int(chat["id"])
        session.add(row)
        seeding.group_chats[kind] = int(chat["id"])
    await session.flush()


def _load_feature_seeders() -> None:
    """Import every module of ``bot.demo`` so their ``@seeder`` functions register."""
    import importlib
    import pkgutil

    import bot.demo

    for module in pkgutil.iter_modules(bot.demo.__path__):
        importlib.import_module(f"bot.demo.{module.name}")


async def seed(
    session: AsyncSession, ward: Ward, people: EmulatorClient, bot_id: int, per_group: int
) -> Seeding:
    _load_feature_seeders()
    seeding = Seeding(session, ward, await active_groups(session, ward.id))  # type: ignore[arg-type]
    await households(seeding, per_group)
    await personas(seeding, people)
    await group_chats(seeding, people, bot_id)
    for _order, func in sorted(_seeders, key=lambda item: item[0]):
        await func(seeding)
    return seeding
