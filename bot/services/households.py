"""Households of a residential group and the leader's household list.

A household votes once, through its representative (Decree 59/2023 Art. 3(2)).
The database allows one representative per household; these functions keep every
household with a representative as long as it has a verified member.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field

from sqlmodel import col, delete, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.delivery.outbox import enqueue
from bot.i18n import __
from bot.models import Household, Person, Resident, ResidentialGroup, RosterEntry
from bot.services import audit
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.people import Actor, clean_name, clean_text, normalise_phone

ROSTER_MAX_BYTES = 5 * 1024 * 1024
ROSTER_MAX_ROWS = 20000


def address_key(address: str) -> str:
    """Fold an address for matching: case, punctuation and spacing do not matter."""
    text = unicodedata.normalize("NFC", address).casefold()
    text = re.sub(r"[^\w]+", " ", text)
    return " ".join(text.split())[:200]


async def find_or_create(
    session: AsyncSession, group_id: int, address: str
) -> tuple[Household, bool]:
    key = address_key(address)
    household = (
        await session.exec(
            select(Household).where(Household.group_id == group_id, Household.address_key == key)
        )
    ).first()
    if household is not None:
        if household.removed_at is None:
            return household, False
        household.removed_at = None
        household.verified = False
        household.address = address
        session.add(household)
        await session.flush()
        return household, True
    household = Household(group_id=group_id, address=address, address_key=key)
    session.add(household)
    await session.flush()
    return household, True


async def join(
    session: AsyncSession, resident: Resident, household: Household, *, representative: bool
) -> None:
    if representative:
        await session.exec(
            _unset_representative(household.id)  # type: ignore[arg-type]
        )
    resident.household_id = household.id
    resident.is_representative = representative
    session.add(resident)
    await session.flush()


def _unset_representative(household_id: int):  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    return (
        update(Resident)
        .where(col(Resident.household_id) == household_id, col(Resident.is_representative))
        .values(is_representative=False)
    )


async def leave_household(session: AsyncSession, resident: Resident) -> None:
    """Take the resident out of their household, handing the representative role on."""
    household_id = resident.household_id
    was_representative = resident.is_representative
    resident.household_id = None
    resident.is_representative = False
    session.add(resident)
    await session.flush()
    if household_id is None:
        return
    others = list(
        (
            await session.exec(
                select(Resident)
                .where(Resident.household_id == household_id, Resident.id != resident.id)
                .order_by(col(Resident.requested_at))
            )
        ).all()
    )
    household = await session.get(Household, household_id)
    assert household is not None
    if was_representative:
        successor = next((r for r in others if r.status == "verified"), None) or (
            others[0] if others else None
        )
        if successor is not None:
            successor.is_representative = True
            session.add(successor)
    if not others and household.source == "registration":
        # Nobody lives there as far as wardbot knows; a listed household stays.
        household.removed_at = clock.now()
        household.verified = False
        session.add(household)
    await session.flush()


async def roster_match(
    session: AsyncSession, group_id: int, phone: str | None
) -> RosterEntry | None:
    if not phone:
        return None
    return (
        await session.exec(
            select(RosterEntry).where(RosterEntry.group_id == group_id, RosterEntry.phone == phone)
        )
    ).first()


@dataclass
class GroupSummary:
    group: ResidentialGroup
    households: int
    verified_households: int
    residents: int
    pending: int


async def summary(session: AsyncSession, actor: Actor, group_id: int) -> GroupSummary:
    group = await _group_for_leader(session, actor, group_id)

    async def count(query) -> int:  # type: ignore[no-untyped-def]
        return int((await session.exec(query)).one())

    live = (Household.group_id == group_id, col(Household.removed_at).is_(None))
    return GroupSummary(
        group=group,
        households=await count(select(func.count()).select_from(Household).where(*live)),
        verified_households=await count(
            select(func.count()).select_from(Household).where(*live, col(Household.verified))
        ),
        residents=await count(
            select(func.count())
            .select_from(Resident)
            .where(Resident.group_id == group_id, Resident.status == "verified")
        ),
        pending=await count(
            select(func.count())
            .select_from(Resident)
            .where(Resident.group_id == group_id, Resident.status == "pending")
        ),
    )


async def _group_for_leader(session: AsyncSession, actor: Actor, group_id: int) -> ResidentialGroup:
    group = await session.get(ResidentialGroup, group_id)
    if group is None:
        raise NotFound()
    if not (actor.is_leader_of(group.id) or actor.is_admin_of(group.ward_id)):
        raise NotAllowed()
    return group


# --- the household list ------------------------------------------------------------

_HEADERS = {
    "address": {"address", "địa chỉ", "dia chi", "địa chỉ hộ", "số nhà"},
    "name": {"name", "họ tên", "ho ten", "họ và tên", "chủ hộ", "tên chủ hộ", "representative"},
    "phone": {"phone", "số điện thoại", "so dien thoai", "điện thoại", "sđt", "sdt"},
    "role": {"role", "vai trò", "quan hệ", "quan hệ với chủ hộ"},
}
_REPRESENTATIVE_WORDS = {"chủ hộ", "chu ho", "đại diện", "representative", "head"}


@dataclass
class RosterRow:
    line: int
    address: str
    name: str
    phone: str | None
    representative: bool


@dataclass
class RosterReport:
    households_created: int = 0
    households_listed: int = 0
    entries: int = 0
    verified: list[int] = field(default_factory=list)


def parse_roster(filename: str, content: bytes) -> list[RosterRow]:
    """Rows of a .csv or .xlsx household list; InvalidInput names every bad line."""
    if len(content) > ROSTER_MAX_BYTES:
        raise InvalidInput(__("The file is too large (at most 5 MB)."))
    lower = filename.lower()
    try:
        if lower.endswith(".csv"):
            table = _csv_rows(content)
        elif lower.endswith(".xlsx"):
            # Imported here: openpyxl is half of every `wardbot` command's start-up.
            from openpyxl import load_workbook

            workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            sheet = workbook.worksheets[0]
            table = [
                ["" if v is None else str(v) for v in row]
                for row in sheet.iter_rows(values_only=True)
            ]
        else:
            raise InvalidInput(__("Please send the household list as a .xlsx or .csv file."))
    except InvalidInput:
        raise
    except Exception:
        raise InvalidInput(__("This file could not be read as a spreadsheet.")) from None

    header_index = next((i for i, row in enumerate(table[:10]) if _columns(row)), None)
    if header_index is None:
        raise InvalidInput(
            __(
                "The first row must name the columns: address (Địa chỉ), name (Họ tên) "
                "and phone (Số điện thoại)."
            )
        )
    columns = _columns(table[header_index])
    assert columns is not None
    rows: list[RosterRow] = []
    problems: list[str] = []
    seen_addresses: set[str] = set()
    for offset, raw in enumerate(table[header_index + 1 :], start=header_index + 2):
        cells = {k: (raw[i].strip() if i < len(raw) and raw[i] else "") for k, i in columns.items()}
        if not any(cells.values()):
            continue
        try:
            address = clean_text(cells.get("address"), max_length=200, min_length=1)
            name = clean_name(cells.get("name"))
            phone = normalise_phone(cells["phone"]) if cells.get("phone") else None
        except InvalidInput as exc:
            problems.append(f"{offset}: {exc.render()}")
            continue
        key = address_key(address)
        role = cells.get("role", "").casefold()
        representative = role in _REPRESENTATIVE_WORDS if role else key not in seen_addresses
        seen_addresses.add(key)
        rows.append(RosterRow(offset, address, name, phone, representative))
    if len(rows) > ROSTER_MAX_ROWS:
        raise InvalidInput(__("The list has too many rows (at most 20,000)."))
    if problems:
        raise InvalidInput(
            __("Nothing was imported. Fix these lines and send the file again:\n{lines}"),
            lines="\n".join(problems[:15]),
        )
    if not rows:
        raise InvalidInput(__("The list has no households."))
    return rows


def _csv_rows(content: bytes) -> list[list[str]]:
    text = content.decode("utf-8-sig", errors="strict")
    dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t") if text.strip() else csv.excel
    return list(csv.reader(io.StringIO(text), dialect))


def _columns(row: list[str]) -> dict[str, int] | None:
    found: dict[str, int] = {}
    for index, cell in enumerate(row):
        label = " ".join(str(cell).casefold().split())
        for key, names in _HEADERS.items():
            if label in names and key not in found:
                found[key] = index
    return found if {"address", "name"} <= found.keys() else None


async def import_roster(
    session: AsyncSession, actor: Actor, group_id: int, filename: str, content: bytes
) -> RosterReport:
    """Replace the group's list; verify at once every resident whose verified phone is on
    it (a phone typed on Zalo proves nothing and is left to the leader's review)."""
    group = await _group_for_leader(session, actor, group_id)
    rows = parse_roster(filename, content)
    report = RosterReport()
    await session.exec(delete(RosterEntry).where(col(RosterEntry.group_id) == group.id))  # type: ignore[call-overload]
    households_by_key: dict[str, Household] = {}
    for row in rows:
        key = address_key(row.address)
        household = households_by_key.get(key)
        if household is None:
            household, created = await find_or_create(session, group.id, row.address)  # type: ignore[arg-type]
            if created or household.source != "roster":
                household.source = "roster"
            household.verified = True
            session.add(household)
            households_by_key[key] = household
            report.households_created += int(created)
            report.households_listed += 1
        session.add(
            RosterEntry(
                group_id=group.id,
                household_id=household.id,
                full_name=row.name,
                phone=row.phone,
                is_representative=row.representative,
                uploaded_by_id=actor.person_id,
            )
        )
        report.entries += 1
    await session.flush()

    phones = {row.phone: row for row in rows if row.phone}
    candidates = (
        await session.exec(
            select(Resident, Person)
            .join(Person, col(Person.id) == Resident.person_id)
            .where(
                Resident.group_id == group.id,
                col(Person.phone).in_(list(phones)),
                # A typed phone is not evidence: the leader reviews those registrations.
                col(Person.phone_verified_at).is_not(None),
            )
        )
    ).all()
    for resident, person in candidates:
        row = phones[person.phone]  # type: ignore[index]
        household = households_by_key[address_key(row.address)]
        if resident.household_id != household.id:
            await leave_household(session, resident)
        await join(session, resident, household, representative=row.representative)
        if resident.status != "verified":
            resident.status = "verified"
            resident.decided_at = clock.now()
            resident.decided_by_id = actor.person_id
            resident.decision_note = "roster"
            report.verified.append(resident.person_id)  # type: ignore[arg-type]
        session.add(resident)
    await session.flush()
    await audit.record(
        session,
        actor=audit.actor_of(actor.person_id),
        action="households.import",
        entity_type="residential_group",
        entity_id=group.id,
        ward_id=group.ward_id,
        data={
            "entries": report.entries,
            "households": report.households_listed,
            "created": report.households_created,
            "verified": len(report.verified),
        },
    )
    await enqueue(
        session,
        kind="registration.decision",
        person_ids=report.verified,
        params={"approved": True, "group": group.name, "note": None},
    )
    return report
